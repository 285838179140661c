//! Label selectors: a conjunction of requirements, or the selector that matches nothing.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::parser::{ParseError, parse_requirements};
use super::requirement::{Labels, Requirement};
use crate::gofmt;
use crate::selection::Operator;
use crate::validation::{ErrorList, Path};

/// A label selector (`labels.Selector`).
///
/// [`Selector::everything`] (no requirement) matches every object; [`Selector::Nothing`] matches
/// none. The distinction matters for `metav1.LabelSelector`: an empty selector `{}` selects
/// everything, while an absent (nil) one selects nothing (see
/// [`Selector::from_label_selector`]).
///
/// ```
/// use std::collections::BTreeMap;
/// use krs_apimachinery::labels::Selector;
/// let s = Selector::parse("tier in (web, api), env!=dev, !legacy").unwrap();
/// assert_eq!(s.to_string(), "env!=dev,!legacy,tier in (api,web)");
/// let labels = BTreeMap::from([("tier".to_string(), "web".to_string())]);
/// assert!(s.matches(&labels));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// Matches objects satisfying every requirement (all objects when there is none). Upstream
    /// keeps requirements sorted by key; the constructors here do too.
    Requirements(Vec<Requirement>),
    /// Matches no object (`labels.Nothing()`).
    Nothing,
}

/// Why a `metav1.LabelSelector` cannot be converted to a selector.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LabelSelectorError {
    /// An expression uses an operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error("{} is not a valid label selector operator", gofmt::quote(.0))]
    InvalidOperator(String),
    /// A requirement is invalid (bad key, value, or value count).
    #[error("{0}")]
    InvalidRequirement(ErrorList),
}

impl Default for Selector {
    fn default() -> Self {
        Selector::everything()
    }
}

impl Selector {
    /// The selector matching everything (`labels.Everything()`).
    pub fn everything() -> Selector {
        Selector::Requirements(Vec::new())
    }

    /// Parses upstream's selector syntax (`labels.Parse`):
    ///
    /// ```text
    /// <selector-syntax>         ::= <requirement> | <requirement> "," <selector-syntax>
    /// <requirement>             ::= [!] KEY [ <set-based-restriction> | <exact-match-restriction> ]
    /// <set-based-restriction>   ::= "" | <inclusion-exclusion> <value-set>
    /// <inclusion-exclusion>     ::= "in" | "notin"
    /// <value-set>               ::= "(" <values> ")"
    /// <values>                  ::= VALUE | VALUE "," <values>
    /// <exact-match-restriction> ::= ["="|"=="|"!="|">"|"<"] VALUE
    /// ```
    ///
    /// Whitespace (space, tab, CR, LF) separates tokens; the empty string selects everything.
    /// Requirements come out sorted by key.
    pub fn parse(selector: &str) -> Result<Selector, ParseError> {
        Selector::parse_with_path(selector, &Path::default())
    }

    /// [`Selector::parse`] with field errors reported under `path` (`field.WithPath`).
    pub fn parse_with_path(selector: &str, path: &Path) -> Result<Selector, ParseError> {
        parse_requirements(selector, path).map(Selector::Requirements)
    }

    /// A selector requiring exactly the given labels, without validation
    /// (`labels.SelectorFromSet`); an empty map selects everything.
    pub fn from_set(labels: &BTreeMap<String, String>) -> Selector {
        Selector::Requirements(
            labels
                .iter()
                .map(|(k, v)| Requirement::new_unchecked(k.clone(), Operator::Equals, vec![v.clone()]))
                .collect(),
        )
    }

    /// [`Selector::from_set`] with validation of keys and values
    /// (`labels.ValidatedSelectorFromSet`).
    pub fn validated_from_set(labels: &BTreeMap<String, String>) -> Result<Selector, ErrorList> {
        let mut requirements = Vec::with_capacity(labels.len());
        for (k, v) in labels {
            requirements.push(Requirement::new(k.clone(), Operator::Equals, vec![v.clone()])?);
        }
        Ok(Selector::Requirements(requirements))
    }

    /// Converts an API label selector (`metav1.LabelSelectorAsSelector`): `None` selects
    /// nothing, an empty selector everything; `matchLabels` become `=` requirements and
    /// `matchExpressions` `in`, `notin`, exists and `!` requirements.
    ///
    /// ```
    /// use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    /// use krs_apimachinery::labels::Selector;
    /// assert_eq!(Selector::from_label_selector(None).unwrap(), Selector::Nothing);
    /// assert!(Selector::from_label_selector(Some(&LabelSelector::default())).unwrap().is_empty());
    /// ```
    pub fn from_label_selector(selector: Option<&LabelSelector>) -> Result<Selector, LabelSelectorError> {
        let Some(selector) = selector else {
            return Ok(Selector::Nothing);
        };
        let mut requirements = Vec::new();
        for (k, v) in selector.match_labels.iter().flatten() {
            let r = Requirement::new(k.clone(), Operator::Equals, vec![v.clone()])
                .map_err(LabelSelectorError::InvalidRequirement)?;
            requirements.push(r);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let op = Operator::from_label_selector_operator(&expr.operator)
                .ok_or_else(|| LabelSelectorError::InvalidOperator(expr.operator.clone()))?;
            let values = expr.values.clone().unwrap_or_default();
            let r = Requirement::build(expr.key.clone(), op, values, &Path::default(), true)
                .map_err(LabelSelectorError::InvalidRequirement)?;
            requirements.push(r);
        }
        Ok(Selector::everything().add(requirements))
    }

    /// Whether the selector matches `labels` (`Selector.Matches`).
    pub fn matches(&self, labels: &impl Labels) -> bool {
        match self {
            Selector::Requirements(rs) => rs.iter().all(|r| r.matches(labels)),
            Selector::Nothing => false,
        }
    }

    /// True when the selector does not restrict anything (`Selector.Empty`); false for
    /// [`Selector::Nothing`].
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Requirements(rs) if rs.is_empty())
    }

    /// True only for [`Selector::Nothing`] (`labels.MatchesNothing`); contradictory
    /// requirements such as `a,!a` are not detected, as upstream does not.
    pub fn matches_nothing(&self) -> bool {
        matches!(self, Selector::Nothing)
    }

    /// The requirements, or `None` for a selector that selects nothing
    /// (`Selector.Requirements`' "selectable").
    pub fn requirements(&self) -> Option<&[Requirement]> {
        match self {
            Selector::Requirements(rs) => Some(rs),
            Selector::Nothing => None,
        }
    }

    /// A copy with more requirements, re-sorted by key (`Selector.Add`); adding to
    /// [`Selector::Nothing`] leaves it unchanged.
    #[must_use]
    pub fn add(&self, requirements: impl IntoIterator<Item = Requirement>) -> Selector {
        match self {
            Selector::Nothing => Selector::Nothing,
            Selector::Requirements(rs) => {
                let mut all = rs.clone();
                all.extend(requirements);
                // Upstream's sort.Sort is not stable beyond 12 elements; a stable sort keeps
                // equal keys in insertion order, which upstream does for small selectors.
                all.sort_by(|a, b| a.key().cmp(b.key()));
                Selector::Requirements(all)
            }
        }
    }

    /// If the first requirement on `label` pins it to a single value (`=`, `==`, or `in` with
    /// one value), that value (`Selector.RequiresExactMatch`). Used to narrow list queries.
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements()?.iter().find(|r| r.key() == label)?;
        match (r.operator(), r.values()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [only]) => Some(only),
            _ => None,
        }
    }
}

/// Requirements joined by `,` in key order; [`Selector::Nothing`] prints as the empty string.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Selector::Requirements(rs) = self {
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                r.fmt(f)?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Selector {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Selector, ParseError> {
        Selector::parse(s)
    }
}
