//! InterPodAffinity: required pod affinity and anti-affinity of the incoming pod, and the
//! required anti-affinity of the pods already running, filter nodes by topology domain;
//! preferred terms (both ways) and existing pods' required affinity score them. Matching pods
//! are counted per (topologyKey, value) once in PreFilter/PreScore, so Filter and Score are
//! lookups (`preFilterState`, `preScoreState`).

mod filtering;
mod scoring;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Deserialize;

use crate::framework::events::{ADD, ALL, ClusterEvent, EventResource, UPDATE_NODE_LABEL};
use crate::framework::types::AffinityTerm;
use crate::framework::{FilterPlugin, Handle, Plugin, PodInfo, PreFilterPlugin, PreScorePlugin, ScorePlugin};

pub const NAME: &str = "InterPodAffinity";
/// `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// `ErrReasonAffinityRulesNotMatch`.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// `ErrReasonAntiAffinityRulesNotMatch`.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";

/// `InterPodAffinityArgs`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterPodAffinityArgs {
    #[serde(default = "one")]
    pub hard_pod_affinity_weight: i32,
    #[serde(default)]
    pub ignore_preferred_terms_of_existing_pods: bool,
}

fn one() -> i32 {
    1
}

impl Default for InterPodAffinityArgs {
    fn default() -> InterPodAffinityArgs {
        InterPodAffinityArgs { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

/// Counts per topology pair.
pub(crate) type TopologyCounts = HashMap<(String, String), i64>;

pub struct InterPodAffinity {
    args: InterPodAffinityArgs,
    handle: Arc<Handle>,
}

impl InterPodAffinity {
    pub fn new(args: InterPodAffinityArgs, handle: Arc<Handle>) -> InterPodAffinity {
        InterPodAffinity { args, handle }
    }

    /// The incoming pod's terms with namespaceSelector resolved to namespace names, so matching
    /// an existing pod needs no namespace lookup (`mergeAffinityTermNamespacesIfNotEmpty`).
    fn resolve(&self, terms: &[AffinityTerm]) -> Vec<AffinityTerm> {
        terms
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if !t.namespace_selector.matches_nothing() {
                    for (ns, labels) in self.handle.listers.namespaces.read().iter() {
                        if t.namespace_selector.matches(labels) {
                            t.namespaces.insert(ns.clone());
                        }
                    }
                    t.namespace_selector = krs_apimachinery::labels::Selector::Nothing;
                }
                t
            })
            .collect()
    }
}

/// Whether `pod` matches all the terms (namespaces already resolved) (`podMatchesAllAffinityTerms`).
pub(crate) fn matches_all(terms: &[AffinityTerm], pod: &PodInfo) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, crate::framework::types::no_labels()))
}

/// Adds `delta` at the node's value of `key`, if the node has the label.
pub(crate) fn bump(counts: &mut TopologyCounts, labels: &BTreeMap<String, String>, key: &str, delta: i64) {
    if let Some(v) = labels.get(key) {
        let e = counts.entry((key.to_string(), v.clone())).or_default();
        *e += delta;
        if *e == 0 {
            counts.remove(&(key.to_string(), v.clone()));
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Pod, ALL),
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_LABEL),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
