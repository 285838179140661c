//! Label selectors (`k8s.io/apimachinery/pkg/labels`).
//!
//! A selector is parsed from the string syntax of `?labelSelector=` and `kubectl -l`
//! ([`Selector::parse`]) or converted from a `metav1.LabelSelector`
//! ([`Selector::from_label_selector`]), matched against an object's labels
//! ([`Selector::matches`]), and printed back in upstream's canonical form (`Display`).
//! [`Requirement`] matching, including the `Gt`/`Lt` operators of node affinity, is usable on
//! its own.

mod lexer;
mod parser;
mod requirement;
mod selector;

use std::collections::BTreeMap;

pub use crate::selection::Operator;
pub use parser::ParseError;
pub use requirement::{Labels, Requirement};
pub use selector::{LabelSelectorError, Selector};

/// Labels as `k=v` pairs joined by `,`, or `<none>` when there are none
/// (`labels.FormatLabels`), as kubectl prints them. Upstream sorts the `k=v` strings, not the
/// keys, so `a.b=1` comes before `a=2`.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".to_owned();
    }
    let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join(",")
}

/// True if a key is in both maps with different values (`labels.Conflicts`).
pub fn conflicts(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.iter().any(|(k, v)| b.get(k).is_some_and(|w| w != v))
}

#[cfg(test)]
mod tests;
