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
use crate::framework::node_memo::{self, NodeMemo};
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
/// Counts per topology key and value, looked up by `&str` so that filtering a node allocates
/// nothing.
#[derive(Clone, Debug, Default)]
pub(crate) struct TopologyCounts(HashMap<String, HashMap<String, i64>>);

impl TopologyCounts {
    pub fn new() -> TopologyCounts {
        TopologyCounts::default()
    }

    pub fn get(&self, key: &str, value: &str) -> i64 {
        self.0.get(key).and_then(|m| m.get(value)).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `delta` at (key, value), keeping a zero entry.
    pub fn add(&mut self, key: &str, value: &str, delta: i64) {
        if let Some(m) = self.0.get_mut(key) {
            if let Some(c) = m.get_mut(value) {
                *c += delta;
            } else {
                m.insert(value.to_string(), delta);
            }
        } else {
            self.0.insert(key.to_string(), HashMap::from([(value.to_string(), delta)]));
        }
    }

    /// Adds `delta` at (key, value), dropping the entry when it reaches zero.
    fn add_dropping_zero(&mut self, key: &str, value: &str, delta: i64) {
        self.add(key, value, delta);
        if let Some(m) = self.0.get_mut(key)
            && m.get(value) == Some(&0)
        {
            m.remove(value);
            if m.is_empty() {
                self.0.remove(key);
            }
        }
    }

    pub fn into_inner(self) -> HashMap<String, HashMap<String, i64>> {
        self.0
    }

    /// Adds (sign 1) or takes back (sign -1) what one node contributed.
    fn apply(&mut self, entries: &Entries, sign: i64, drop_zero: bool) {
        for (k, v, n) in entries {
            if drop_zero {
                self.add_dropping_zero(k, v, sign * n);
            } else {
                self.add(k, v, sign * n);
            }
        }
    }

    /// The entries of a count computed for one node.
    fn entries(self) -> Entries {
        self.0.into_iter().flat_map(|(k, m)| m.into_iter().map(move |(v, n)| (k.clone(), v, n))).collect()
    }

    /// Whether any (key, value) of `labels` has a positive count.
    pub fn any_positive(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().any(|(k, m)| labels.get(k).is_some_and(|v| m.get(v).is_some_and(|c| *c > 0)))
    }
}

/// What one node adds to a `TopologyCounts`: (topology key, value, count).
pub(crate) type Entries = Vec<(String, String, i64)>;

/// A memo of per-node entries with their running total.
type Memo = (NodeMemo<Entries>, TopologyCounts);

/// A memo of two per-node entry lists (required affinity, required anti-affinity) and totals.
type TermsMemo = (NodeMemo<(Entries, Entries)>, (TopologyCounts, TopologyCounts));

/// The running totals of PreFilter and PreScore, per kind of incoming pod (see `NodeMemo`):
/// recounting every pod of the cluster in every cycle made affinity workloads crawl.
pub(crate) struct Memos {
    /// Existing pods' required anti-affinity matching the incoming pod.
    pub existing_anti_affinity: node_memo::Memos<Memo>,
    /// Pods matching the incoming pod's required affinity, and its required anti-affinity.
    pub terms: node_memo::Memos<TermsMemo>,
    /// PreScore's weighted matches.
    pub scores: node_memo::Memos<Memo>,
}

/// How many kinds of incoming pod each memo remembers.
const MEMO_ENTRIES: usize = 16;

impl Default for Memos {
    fn default() -> Memos {
        Memos {
            existing_anti_affinity: node_memo::Memos::new(MEMO_ENTRIES),
            terms: node_memo::Memos::new(MEMO_ENTRIES),
            scores: node_memo::Memos::new(MEMO_ENTRIES),
        }
    }
}

/// A term as a memo signature (namespaces sorted: a HashSet's order is not stable).
pub(crate) fn term_signature(t: &AffinityTerm) -> String {
    let mut ns: Vec<&String> = t.namespaces.iter().collect();
    ns.sort();
    format!("{ns:?}{:?}{}{:?};", t.selector, t.topology_key, t.namespace_selector)
}

pub struct InterPodAffinity {
    args: InterPodAffinityArgs,
    handle: Arc<Handle>,
    pub(crate) memos: parking_lot::Mutex<Memos>,
}

impl InterPodAffinity {
    pub fn new(args: InterPodAffinityArgs, handle: Arc<Handle>) -> InterPodAffinity {
        InterPodAffinity { args, handle, memos: Default::default() }
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
        counts.add_dropping_zero(key, v, delta);
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
