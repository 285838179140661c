//! The label selector parser: a recursive-descent parser over the lexer's tokens, producing
//! validated requirements and upstream's exact error messages.

use std::collections::BTreeSet;

use super::lexer::{Lexer, Token};
use super::requirement::{Requirement, validate_label_key};
use crate::selection::Operator;
use crate::validation::{ErrorList, Path};

/// Why a label selector string does not parse.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The selector is malformed between requirements, e.g.
    /// `found 'b', expected: ',' or 'end of string'`.
    #[error("{0}")]
    Syntax(String),
    /// A requirement is malformed, e.g.
    /// `unable to parse requirement: found 'x', expected: '('`.
    #[error("unable to parse requirement: {0}")]
    RequirementSyntax(String),
    /// A requirement is well-formed but invalid (bad key or value); the field errors say why.
    #[error("unable to parse requirement: {0}")]
    InvalidRequirement(ErrorList),
}

/// In value position the keywords `in` and `notin` are ordinary identifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

type Values = BTreeSet<String>;

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
    path: Path,
}

impl Parser {
    fn new(selector: &str, path: &Path) -> Parser {
        let mut lexer = Lexer::new(selector);
        let mut items = Vec::new();
        loop {
            let (token, literal) = lexer.lex();
            items.push((token, literal));
            if token == Token::EndOfString {
                break;
            }
        }
        Parser { items, position: 0, path: path.clone() }
    }

    fn in_context(token: Token, context: Context) -> Token {
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => token,
        }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        match self.items.get(self.position) {
            Some((token, literal)) => (Parser::in_context(*token, context), literal.clone()),
            None => (Token::EndOfString, String::new()),
        }
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, ParseError> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(ParseError::Syntax(format!(
                                    "found '{l2}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(ParseError::Syntax(format!("found '{l}', expected: ',' or 'end of string'")));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(ParseError::Syntax(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, ParseError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = inferred {
            return Requirement::new_with_path(key, op, Vec::new(), &self.path).map_err(ParseError::InvalidRequirement);
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new_with_path(key, operator, values.into_iter().collect(), &self.path)
            .map_err(ParseError::InvalidRequirement)
    }

    /// Reads `[!]key` and infers `Exists`/`DoesNotExist` when no operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), ParseError> {
        let mut operator = None;
        let (mut token, mut literal) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(ParseError::RequirementSyntax(format!("found '{literal}', expected: identifier")));
        }
        if let Some(e) = validate_label_key(&literal, &self.path) {
            return Err(ParseError::InvalidRequirement(e.into()));
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && operator != Some(Operator::DoesNotExist) {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, ParseError> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(ParseError::RequirementSyntax(format!(
                    "found '{literal}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            }
        })
    }

    /// `( v1, v2, ... )`; empty entries stand for the empty value.
    fn parse_values(&mut self) -> Result<Values, ParseError> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(ParseError::RequirementSyntax(format!("found '{literal}' expected: '('")));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    // Upstream reports the token that opened the list, not the one found.
                    return Err(ParseError::RequirementSyntax(format!("found '{literal}', expected: ')'")));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(Values::from([String::new()]))
            }
            _ => Err(ParseError::RequirementSyntax(format!("found '{literal}', expected: ',', ')' or identifier"))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Values, ParseError> {
        let mut values = Values::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, next_literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        _ => {
                            return Err(ParseError::RequirementSyntax(format!(
                                "found '{next_literal}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Token::Comma => {
                    // `(,` `,,` and `,)` each stand for the empty value.
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values);
                    }
                    if next == Token::Comma {
                        self.consume(Context::Values);
                        values.insert(String::new());
                    }
                }
                _ => {
                    return Err(ParseError::RequirementSyntax(format!(
                        "found '{literal}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; nothing means the empty value.
    fn parse_exact_value(&mut self) -> Result<Values, ParseError> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(Values::from([String::new()]));
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            return Ok(Values::from([literal]));
        }
        Err(ParseError::RequirementSyntax(format!("found '{literal}', expected: identifier")))
    }
}

/// Parses a selector into requirements sorted by key (`labels.ParseToRequirements`).
pub(crate) fn parse_requirements(selector: &str, path: &Path) -> Result<Vec<Requirement>, ParseError> {
    let mut requirements = Parser::new(selector, path).parse()?;
    requirements.sort_by(|a, b| a.key().cmp(b.key()));
    Ok(requirements)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream's TestParseOperator.
    #[test]
    fn operators() {
        for ok in ["in", "=", "==", ">", "<", "notin", "!="] {
            assert!(Parser::new(ok, &Path::default()).parse_operator().is_ok(), "{ok}");
        }
        for (s, lit) in [("!", "!"), ("exists", "exists"), ("(", "(")] {
            assert_eq!(
                Parser::new(s, &Path::default()).parse_operator(),
                Err(ParseError::RequirementSyntax(format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt")))
            );
        }
    }

    // Upstream's TestParserLookahead.
    #[test]
    fn lookahead_and_consume_agree() {
        for s in
            ["key in ( value )", "key notin ( value )", "!key", "()", "", "x in (),y", "== != (), = notin", "key>2"]
        {
            let mut p = Parser::new(s, &Path::default());
            loop {
                let ahead = p.lookahead(Context::KeyAndOperator);
                let consumed = p.consume(Context::KeyAndOperator);
                assert_eq!(ahead, consumed);
                if ahead.0 == Token::EndOfString {
                    break;
                }
            }
        }
        assert_eq!(Parser::new("key in ( value1, value2 )", &Path::default()).items.len(), 8);
    }
}
