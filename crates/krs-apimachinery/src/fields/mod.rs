//! Field selectors (`k8s.io/apimachinery/pkg/fields`).
//!
//! A field selector (`?fieldSelector=metadata.name=foo,status.phase!=Running`) is a
//! conjunction of `field=value` / `field==value` / `field!=value` terms. Values may contain
//! `,`, `=` and `\` escaped with a backslash ([`escape_value`], [`unescape_value`]). An API
//! server inspects [`Selector::requirements`] to refuse fields a kind does not support
//! ([`FieldLabelError`]) and matches objects through their selectable fields
//! ([`Selector::matches`]).

mod escape;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

pub use crate::selection::Operator;
pub use escape::{escape_value, unescape_value};

use crate::gofmt;

/// The selectable fields of an object (`fields.Fields`); a missing field reads as the empty
/// string.
pub trait Fields {
    /// The value of `field`, if the object has it.
    fn field_value(&self, field: &str) -> Option<&str>;
}

impl Fields for BTreeMap<String, String> {
    fn field_value(&self, field: &str) -> Option<&str> {
        self.get(field).map(String::as_str)
    }
}

impl<S: BuildHasher> Fields for HashMap<String, String, S> {
    fn field_value(&self, field: &str) -> Option<&str> {
        self.get(field).map(String::as_str)
    }
}

impl<T: Fields + ?Sized> Fields for &T {
    fn field_value(&self, field: &str) -> Option<&str> {
        (**self).field_value(field)
    }
}

/// One term of a field selector (`fields.Requirement`): the operator is
/// [`Operator::Equals`] (for `=` and `==`) or [`Operator::NotEquals`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// `Equals` or `NotEquals`.
    pub operator: Operator,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
    /// The unescaped value.
    pub value: String,
}

impl Requirement {
    fn matches(&self, fields: &impl Fields) -> bool {
        let actual = fields.field_value(&self.field).unwrap_or_default();
        match self.operator {
            Operator::NotEquals => actual != self.value,
            _ => actual == self.value,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.operator == Operator::NotEquals { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// Why a field selector does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    CantUnderstand {
        /// The whole selector.
        selector: String,
        /// The offending term.
        term: String,
    },
    /// A backslash is followed by something other than `\`, `,` or `=` (or ends the value).
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscapeSequence(String),
    /// A `,` or `=` appears unescaped in a value. Upstream prints the character's code point
    /// as a number.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    UnescapedRune(char),
}

/// A field a kind cannot be selected by, as the conversion functions of an API server report
/// it (the message reaches the client inside a BadRequest).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldLabelError {
    /// From a kind's own conversion function: `field label not supported: spec.foo`.
    #[error("field label not supported: {0}")]
    NotSupported(String),
    /// From the default conversion (only `metadata.name` and `metadata.namespace`).
    #[error("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", gofmt::quote(.0))]
    NotKnown(String),
}

/// The conversion used for kinds that declare no selectable fields
/// (`runtime.DefaultMetaV1FieldSelectorConversion`).
pub fn default_meta_v1_field_selector_conversion(
    label: &str,
    value: &str,
) -> Result<(String, String), FieldLabelError> {
    match label {
        "metadata.name" | "metadata.namespace" => Ok((label.to_owned(), value.to_owned())),
        _ => Err(FieldLabelError::NotKnown(label.to_owned())),
    }
}

/// A field selector (`fields.Selector`): terms that must all hold, or the selector that matches
/// nothing.
///
/// ```
/// use std::collections::BTreeMap;
/// use krs_apimachinery::fields::Selector;
/// let s = Selector::parse(r"spec.nodeName=node-1,metadata.name!=a\,b").unwrap();
/// assert_eq!(s.to_string(), r"metadata.name!=a\,b,spec.nodeName=node-1");
/// let fields = BTreeMap::from([("spec.nodeName".to_string(), "node-1".to_string())]);
/// assert!(s.matches(&fields));
/// let used: Vec<&str> = s.requirements().iter().map(|r| r.field.as_str()).collect();
/// assert_eq!(used, ["metadata.name", "spec.nodeName"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// All terms must hold; no term selects everything.
    Terms(Vec<Requirement>),
    /// Matches nothing (`fields.Nothing()`).
    Nothing,
}

impl Default for Selector {
    fn default() -> Self {
        Selector::everything()
    }
}

/// Splits at unescaped commas; escapes stay in the terms.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at its first operator (`!=` before `==` before `=` at each position); the left
/// side cannot contain escapes.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

impl Selector {
    /// The selector matching everything (`fields.Everything()`).
    pub fn everything() -> Selector {
        Selector::Terms(Vec::new())
    }

    /// Parses a field selector (`fields.ParseSelector`). Terms are sorted by their text, so the
    /// string form is deterministic; empty terms are skipped.
    pub fn parse(selector: &str) -> Result<Selector, FieldSelectorError> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let (lhs, op, rhs) = split_term(part).ok_or_else(|| FieldSelectorError::CantUnderstand {
                selector: selector.to_owned(),
                term: part.to_owned(),
            })?;
            let value = unescape_value(rhs)?;
            let operator = if op == "!=" { Operator::NotEquals } else { Operator::Equals };
            terms.push(Requirement { operator, field: lhs.to_owned(), value });
        }
        Ok(Selector::Terms(terms))
    }

    /// Parses, then rewrites each term with `transform` (`fields.ParseAndTransformSelector`);
    /// see [`Selector::transform`].
    pub fn parse_and_transform<E: From<FieldSelectorError>>(
        selector: &str,
        transform: impl FnMut(&str, &str) -> Result<(String, String), E>,
    ) -> Result<Selector, E> {
        Selector::parse(selector)?.transform(transform)
    }

    /// A selector requiring exactly the given fields (`fields.SelectorFromSet`).
    pub fn from_set(fields: &BTreeMap<String, String>) -> Selector {
        Selector::Terms(
            fields
                .iter()
                .map(|(k, v)| Requirement { operator: Operator::Equals, field: k.clone(), value: v.clone() })
                .collect(),
        )
    }

    /// `field=value` (`fields.OneTermEqualSelector`).
    pub fn one_term_equal(field: impl Into<String>, value: impl Into<String>) -> Selector {
        Selector::Terms(vec![Requirement { operator: Operator::Equals, field: field.into(), value: value.into() }])
    }

    /// `field!=value` (`fields.OneTermNotEqualSelector`).
    pub fn one_term_not_equal(field: impl Into<String>, value: impl Into<String>) -> Selector {
        Selector::Terms(vec![Requirement { operator: Operator::NotEquals, field: field.into(), value: value.into() }])
    }

    /// The conjunction of several selectors (`fields.AndSelectors`); any
    /// [`Selector::Nothing`] makes it nothing.
    pub fn and(selectors: impl IntoIterator<Item = Selector>) -> Selector {
        let mut terms = Vec::new();
        for s in selectors {
            match s {
                Selector::Nothing => return Selector::Nothing,
                Selector::Terms(t) => terms.extend(t),
            }
        }
        Selector::Terms(terms)
    }

    /// Whether the selector matches an object's fields (`Selector.Matches`).
    pub fn matches(&self, fields: &impl Fields) -> bool {
        match self {
            Selector::Terms(terms) => terms.iter().all(|t| t.matches(fields)),
            Selector::Nothing => false,
        }
    }

    /// True when the selector restricts nothing (`Selector.Empty`).
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Terms(t) if t.is_empty())
    }

    /// The terms (`Selector.Requirements`); none for [`Selector::Nothing`].
    pub fn requirements(&self) -> &[Requirement] {
        match self {
            Selector::Terms(t) => t,
            Selector::Nothing => &[],
        }
    }

    /// The value an `=` term pins `field` to, if any (`Selector.RequiresExactMatch`); the first
    /// such term wins.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements()
            .iter()
            .find(|r| r.operator == Operator::Equals && r.field == field)
            .map(|r| r.value.as_str())
    }

    /// Rewrites every term's field and value (`Selector.Transform`); a term rewritten to an
    /// empty field and value is dropped. API servers use this to map field labels to their
    /// internal names and to refuse unsupported ones.
    pub fn transform<E>(
        &self,
        mut transform: impl FnMut(&str, &str) -> Result<(String, String), E>,
    ) -> Result<Selector, E> {
        let Selector::Terms(terms) = self else {
            return Ok(Selector::Nothing);
        };
        let mut out = Vec::with_capacity(terms.len());
        for t in terms {
            let (field, value) = transform(&t.field, &t.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            out.push(Requirement { operator: t.operator, field, value });
        }
        Ok(Selector::Terms(out))
    }
}

/// Terms joined by `,` with values escaped; [`Selector::Nothing`] prints as the empty string.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.requirements().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            t.fmt(f)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Selector {
    type Err = FieldSelectorError;
    fn from_str(s: &str) -> Result<Selector, FieldSelectorError> {
        Selector::parse(s)
    }
}

#[cfg(test)]
mod tests;
