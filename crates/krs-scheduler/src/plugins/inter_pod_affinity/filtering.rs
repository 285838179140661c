//! PreFilter and Filter of InterPodAffinity.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, InterPodAffinity, TopologyCounts, bump, matches_all,
    term_signature,
};
use crate::cache::Snapshot;
use crate::framework::types::AffinityTerm;
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, PodInfo, PreFilterExtensions, PreFilterPlugin, PreFilterResult, Status,
};

const PRE_FILTER_STATE_KEY: &str = "PreFilterInterPodAffinity";

#[derive(Clone)]
pub(crate) struct PreFilterState {
    /// Domains with an existing pod whose required anti-affinity the incoming pod matches.
    existing_anti_affinity: TopologyCounts,
    /// Domains with pods matching all the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Domains with pods matching one of the incoming pod's required anti-affinity terms.
    anti_affinity: TopologyCounts,
    affinity_terms: Arc<Vec<AffinityTerm>>,
    anti_affinity_terms: Arc<Vec<AffinityTerm>>,
    /// The labels of the incoming pod's namespace (existing pods' namespaceSelectors).
    namespace_labels: Arc<BTreeMap<String, String>>,
}

impl PreFilterState {
    /// Accounts for `other` added to (+1) or removed from (-1) `node` (`updateWithPod`).
    fn update(&mut self, incoming: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        let labels = node.labels();
        for t in &other.required_anti_affinity_terms {
            if t.matches(incoming, &self.namespace_labels) {
                bump(&mut self.existing_anti_affinity, labels, &t.topology_key, delta);
            }
        }
        if matches_all(&self.affinity_terms, other) {
            for t in self.affinity_terms.iter() {
                bump(&mut self.affinity, labels, &t.topology_key, delta);
            }
        }
        for t in self.anti_affinity_terms.iter() {
            if t.matches(other, crate::framework::types::no_labels()) {
                bump(&mut self.anti_affinity, labels, &t.topology_key, delta);
            }
        }
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let has_terms = !pod.required_affinity_terms.is_empty() || !pod.required_anti_affinity_terms.is_empty();
        if !has_terms && snapshot.have_pods_with_required_anti_affinity.is_empty() {
            return (None, Status::skip());
        }
        let namespace_labels = Arc::new(self.handle.listers.namespace_labels(&pod.namespace));
        let mut s = PreFilterState {
            existing_anti_affinity: TopologyCounts::new(),
            affinity: TopologyCounts::new(),
            anti_affinity: TopologyCounts::new(),
            affinity_terms: Arc::new(self.resolve(&pod.required_affinity_terms)),
            anti_affinity_terms: Arc::new(self.resolve(&pod.required_anti_affinity_terms)),
            namespace_labels,
        };
        let mut memos = self.memos.lock();
        // Only nodes holding pods with required anti-affinity can repel the pod.
        let signature = format!("{}\u{0}{:?}\u{0}{:?}", pod.namespace, pod.labels(), s.namespace_labels);
        let (memo, totals) = memos.existing_anti_affinity.get(signature);
        let ns_labels = &s.namespace_labels;
        // Every node, not only those holding such pods: positions in the full list stay put as
        // pods come and go, so the memo recounts only the nodes that changed.
        memo.update(
            &snapshot.node_info_list,
            totals,
            |totals, node| {
                let labels = node.labels();
                let mut e = TopologyCounts::new();
                for existing in &node.pods_with_required_anti_affinity {
                    for t in &existing.required_anti_affinity_terms {
                        if t.matches(pod, ns_labels) {
                            bump(&mut e, labels, &t.topology_key, 1);
                        }
                    }
                }
                let e = e.entries();
                totals.apply(&e, 1, true);
                e
            },
            |totals, old| totals.apply(old, -1, true),
        );
        s.existing_anti_affinity = totals.clone();
        if has_terms {
            let signature: String = s
                .affinity_terms
                .iter()
                .map(term_signature)
                .chain(std::iter::once("|".to_string()))
                .chain(s.anti_affinity_terms.iter().map(term_signature))
                .collect();
            let (memo, totals) = memos.terms.get(signature);
            let (affinity_terms, anti_affinity_terms) = (&s.affinity_terms, &s.anti_affinity_terms);
            memo.update(
                &snapshot.node_info_list,
                totals,
                |(affinity, anti_affinity), node| {
                    let labels = node.labels();
                    let (mut aff, mut anti) = (TopologyCounts::new(), TopologyCounts::new());
                    for existing in &node.pods {
                        if matches_all(affinity_terms, existing) {
                            for t in affinity_terms.iter() {
                                bump(&mut aff, labels, &t.topology_key, 1);
                            }
                        }
                        for t in anti_affinity_terms.iter() {
                            if t.matches(existing, crate::framework::types::no_labels()) {
                                bump(&mut anti, labels, &t.topology_key, 1);
                            }
                        }
                    }
                    let (aff, anti) = (aff.entries(), anti.entries());
                    affinity.apply(&aff, 1, true);
                    anti_affinity.apply(&anti, 1, true);
                    (aff, anti)
                },
                |(affinity, anti_affinity), (aff, anti)| {
                    affinity.apply(aff, -1, true);
                    anti_affinity.apply(anti, -1, true);
                },
            );
            s.affinity = totals.0.clone();
            s.anti_affinity = totals.1.clone();
        }
        drop(memos);
        state.write(PRE_FILTER_STATE_KEY, s);
        (None, Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for InterPodAffinity {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &Arc<PodInfo>, node: &NodeInfo) -> Status {
        match state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            Some(s) => {
                s.update(pod, added, node, 1);
                Status::success()
            }
            None => Status::error(format!("reading {PRE_FILTER_STATE_KEY} from cycleState: not found")),
        }
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &Arc<PodInfo>, node: &NodeInfo) -> Status {
        match state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            Some(s) => {
                s.update(pod, removed, node, -1);
                Status::success()
            }
            None => Status::error(format!("reading {PRE_FILTER_STATE_KEY} from cycleState: not found")),
        }
    }
}

/// Every required affinity term's domain on the node holds a matching pod; or no pod anywhere
/// matches and the pod matches its own terms (the first pod of a group) (`satisfyPodAffinity`).
fn satisfies_pod_affinity(s: &PreFilterState, pod: &PodInfo, labels: &BTreeMap<String, String>) -> bool {
    let mut pods_exist = true;
    for t in s.affinity_terms.iter() {
        match labels.get(&t.topology_key) {
            Some(v) => {
                if s.affinity.get(&t.topology_key, v) <= 0 {
                    pods_exist = false;
                }
            }
            None => return false,
        }
    }
    pods_exist || (s.affinity.is_empty() && matches_all(&s.affinity_terms, pod))
}

fn satisfies_pod_anti_affinity(s: &PreFilterState, labels: &BTreeMap<String, String>) -> bool {
    !s.anti_affinity_terms
        .iter()
        .any(|t| labels.get(&t.topology_key).is_some_and(|v| s.anti_affinity.get(&t.topology_key, v) > 0))
}

fn satisfies_existing_pods_anti_affinity(s: &PreFilterState, labels: &BTreeMap<String, String>) -> bool {
    if s.existing_anti_affinity.is_empty() {
        return true;
    }
    !s.existing_anti_affinity.any_positive(labels)
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) else {
            return Status::error(format!("reading {PRE_FILTER_STATE_KEY} from cycleState: not found"));
        };
        let labels = node.labels();
        if !s.affinity_terms.is_empty() && !satisfies_pod_affinity(s, pod, labels) {
            return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        if !satisfies_pod_anti_affinity(s, labels) {
            return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if !satisfies_existing_pods_anti_affinity(s, labels) {
            return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }
}
