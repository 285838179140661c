//! Matching helpers shared by plugins: node selectors and affinity (`nodeaffinity` of
//! component-helpers), taints and tolerations (`v1helper`), score normalization.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration};

use super::interface::NodeScore;
use super::node_labels::LabelLookup;
use super::types::NodeInfo;

/// Whether one node selector requirement matches the labels (`nodeSelectorRequirementsAsSelector`).
fn requirement_matches(r: &NodeSelectorRequirement, labels: &(impl LabelLookup + ?Sized)) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let v = labels.label(&r.key);
    match r.operator.as_str() {
        "In" => v.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => v.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => v.is_some(),
        "DoesNotExist" => v.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (v, values) else { return false };
            let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else { return false };
            if r.operator == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether a matchFields requirement matches the node name (only `metadata.name` is supported).
fn field_requirement_matches(r: &NodeSelectorRequirement, node_name: &str) -> bool {
    if r.key != "metadata.name" {
        return false;
    }
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => values.len() == 1 && values[0] == node_name,
        "NotIn" => values.len() == 1 && values[0] != node_name,
        _ => false,
    }
}

/// Whether a term matches: all expressions and fields; an empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, labels: &(impl LabelLookup + ?Sized), node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, labels))
        && fields.iter().all(|r| field_requirement_matches(r, node_name))
}

/// Whether any term of the selector matches (`NodeSelector` terms are ORed).
pub fn node_selector_matches(sel: &NodeSelector, labels: &(impl LabelLookup + ?Sized), node_name: &str) -> bool {
    sel.node_selector_terms.iter().any(|t| term_matches(t, labels, node_name))
}

/// A pod's nodeSelector and required node affinity (`RequiredNodeAffinity`).
pub struct RequiredNodeAffinity<'a> {
    node_selector: Option<&'a BTreeMap<String, String>>,
    required: Option<&'a NodeSelector>,
}

impl<'a> RequiredNodeAffinity<'a> {
    pub fn of(pod: &'a Pod) -> RequiredNodeAffinity<'a> {
        let spec = pod.spec.as_ref();
        RequiredNodeAffinity {
            node_selector: spec.and_then(|s| s.node_selector.as_ref()).filter(|m| !m.is_empty()),
            required: spec
                .and_then(|s| s.affinity.as_ref())
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.node_selector.is_none() && self.required.is_none()
    }

    pub fn matches(&self, node: &NodeInfo) -> bool {
        let labels = node.node_labels();
        if let Some(sel) = self.node_selector
            && !sel.iter().all(|(k, v)| labels.get(k) == Some(v.as_str()))
        {
            return false;
        }
        self.required.is_none_or(|r| node_selector_matches(r, labels, &node.name))
    }
}

/// Whether the toleration tolerates the taint (`Toleration.ToleratesTaint`).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default(),
        _ => false,
    }
}

/// The first taint (of those passing `filter`) no toleration tolerates
/// (`FindMatchingUntoleratedTaint`).
pub fn find_untolerated_taint<'t>(
    taints: &'t [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'t Taint> {
    taints.iter().filter(|t| filter(t)).find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

/// Maps scores to 0..=max_priority relative to the highest, optionally reversed
/// (`helper.DefaultNormalizeScore`).
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [NodeScore]) {
    let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
    if max == 0 {
        if reverse {
            for s in scores.iter_mut() {
                s.score = max_priority;
            }
        }
        return;
    }
    for s in scores.iter_mut() {
        s.score = max_priority * s.score / max;
        if reverse {
            s.score = max_priority - s.score;
        }
    }
}

pub fn pod_tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or_default()
}
