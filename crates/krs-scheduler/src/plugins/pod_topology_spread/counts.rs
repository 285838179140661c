//! Matching pods per topology domain, kept across scheduling cycles. Upstream counts them again
//! in every PreFilter, walking every pod of every node; here the per-node contributions of the
//! last cycles are kept, for the same constraints of the same kind of pod, and only the nodes
//! whose `NodeInfo` changed since are counted again (`NodeMemo`). A 5,000-node cycle then costs
//! one pointer comparison per unchanged node.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::{Constraint, count_pods_match_selector, node_has_all_keys};
use crate::framework::helpers::RequiredNodeAffinity;
use crate::framework::node_memo::{Memos, NodeMemo};
use crate::framework::{NodeInfo, PodInfo};

/// How many distinct (pod kind, constraints) pairs are remembered.
const MAX_ENTRIES: usize = 16;

/// One constraint's domains: their names, eligible nodes and matching pods.
#[derive(Default)]
struct Domains {
    index: HashMap<String, u32>,
    names: Vec<String>,
    nodes: Vec<i64>,
    pods: Vec<i64>,
}

impl Domains {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(name.to_string(), i);
        self.names.push(name.to_string());
        self.nodes.push(0);
        self.pods.push(0);
        i
    }

    fn apply(&mut self, c: Option<(u32, i64)>, sign: i64) {
        if let Some((d, pods)) = c {
            self.nodes[d as usize] += sign;
            self.pods[d as usize] += sign * pods;
        }
    }
}

/// A node's contribution per constraint: its domain and matching pods, `None` when the node
/// does not count for the constraint.
type Contribution = Box<[Option<(u32, i64)>]>;

/// The counts for one (pod kind, constraints) pair.
#[derive(Default)]
struct Counter {
    memo: NodeMemo<Contribution>,
    domains: Vec<Domains>,
}

fn contribution(
    domains: &mut [Domains],
    constraints: &[Constraint],
    pod: &PodInfo,
    affinity: &RequiredNodeAffinity<'_>,
    node: &NodeInfo,
) -> Contribution {
    let labels = node.node_labels();
    if !node_has_all_keys(labels, constraints) {
        return vec![None; constraints.len()].into_boxed_slice();
    }
    let c: Contribution = constraints
        .iter()
        .zip(domains.iter_mut())
        .map(|(c, domains)| {
            if !c.matches_node_inclusion_policies(pod, affinity, node) {
                return None;
            }
            let value = labels.get(&c.topology_key)?;
            Some((domains.intern(value), count_pods_match_selector(&node.pods, &c.selector, &pod.namespace)))
        })
        .collect();
    for (d, x) in domains.iter_mut().zip(c.iter()) {
        d.apply(*x, 1);
    }
    c
}

impl Counter {
    fn update(
        &mut self,
        constraints: &[Constraint],
        pod: &PodInfo,
        affinity: &RequiredNodeAffinity<'_>,
        nodes: &[Arc<NodeInfo>],
    ) {
        if self.domains.len() != constraints.len() {
            *self =
                Counter { domains: (0..constraints.len()).map(|_| Domains::default()).collect(), ..Counter::default() };
        }
        self.memo.update(
            nodes,
            &mut self.domains,
            |domains, node| contribution(domains, constraints, pod, affinity, node),
            |domains, old| {
                for (d, x) in domains.iter_mut().zip(old.iter()) {
                    d.apply(*x, -1);
                }
            },
        );
    }

    /// Matching pods per domain that has at least one eligible node, per constraint.
    fn counts(&self) -> Vec<HashMap<String, i64>> {
        self.domains
            .iter()
            .map(|d| (0..d.names.len()).filter(|&i| d.nodes[i] > 0).map(|i| (d.names[i].clone(), d.pods[i])).collect())
            .collect()
    }

    /// Domains whose nodes all went away keep their slot; true when they are most of them.
    fn stale(&self) -> bool {
        self.domains
            .iter()
            .any(|d| d.names.len() > 1024 && d.nodes.iter().filter(|n| **n > 0).count() < d.names.len() / 2)
    }
}

/// What the per-node contributions depend on besides the node: the pod's namespace, the
/// constraints, and the node affinity or tolerations when a constraint honors them.
fn signature(pod: &PodInfo, constraints: &[Constraint]) -> String {
    let mut s = format!("{}\u{0}{constraints:?}", pod.namespace);
    let spec = pod.pod.spec.as_ref();
    if constraints.iter().any(|c| c.honor_node_affinity) {
        let affinity = spec.and_then(|s| s.affinity.as_ref()).and_then(|a| a.node_affinity.as_ref());
        let required = affinity.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        let _ = write!(s, "\u{0}{:?}\u{0}{required:?}", spec.and_then(|s| s.node_selector.as_ref()));
    }
    if constraints.iter().any(|c| c.honor_node_taints) {
        let _ = write!(s, "\u{0}{:?}", spec.and_then(|s| s.tolerations.as_ref()));
    }
    s
}

/// The counters of the recent (pod kind, constraints) pairs.
pub(crate) struct CountsCache(Memos<Counter>);

impl Default for CountsCache {
    fn default() -> CountsCache {
        CountsCache(Memos::new(MAX_ENTRIES))
    }
}

impl CountsCache {
    /// Matching pods per domain of each constraint, over `nodes` (`preFilterState.TpValueToMatchNum`).
    pub fn counts(
        &mut self,
        constraints: &[Constraint],
        pod: &PodInfo,
        affinity: &RequiredNodeAffinity<'_>,
        nodes: &[Arc<NodeInfo>],
    ) -> Vec<HashMap<String, i64>> {
        let counter = self.0.get(signature(pod, constraints));
        counter.update(constraints, pod, affinity, nodes);
        if counter.stale() {
            *counter = Counter::default();
            counter.update(constraints, pod, affinity, nodes);
        }
        counter.counts()
    }
}
