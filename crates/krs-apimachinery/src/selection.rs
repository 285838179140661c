//! Selector operators (`k8s.io/apimachinery/pkg/selection`), shared by label and field
//! selectors.

use std::fmt;

/// How a selector requirement relates a key to its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `!key`: the key is absent.
    DoesNotExist,
    /// `key=value`.
    Equals,
    /// `key==value` (same meaning as `=`, printed back as `==`).
    DoubleEquals,
    /// `key in (a,b)`.
    In,
    /// `key!=value`.
    NotEquals,
    /// `key notin (a,b)`.
    NotIn,
    /// `key`: the key is present.
    Exists,
    /// `key>5`: the value is an integer greater than the given one.
    GreaterThan,
    /// `key<5`: the value is an integer less than the given one.
    LessThan,
}

impl Operator {
    /// Upstream's string for the operator (`selection.Operator`): `!`, `=`, `==`, `in`, `!=`,
    /// `notin`, `exists`, `gt`, `lt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::DoesNotExist => "!",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::In => "in",
            Operator::NotEquals => "!=",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }

    /// The operator of a `metav1.LabelSelectorRequirement` (`In`, `NotIn`, `Exists`,
    /// `DoesNotExist`).
    pub fn from_label_selector_operator(op: &str) -> Option<Operator> {
        match op {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }

    /// The operator of a `NodeSelectorRequirement` as node affinity reads it: the label
    /// selector operators plus `Gt` and `Lt`.
    pub fn from_node_selector_operator(op: &str) -> Option<Operator> {
        match op {
            "Gt" => Some(Operator::GreaterThan),
            "Lt" => Some(Operator::LessThan),
            other => Operator::from_label_selector_operator(other),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
