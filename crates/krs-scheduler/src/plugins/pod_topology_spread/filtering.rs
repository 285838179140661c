//! PreFilter and Filter of PodTopologySpread: matching pods per topology domain of each
//! DoNotSchedule constraint, the minimum over domains, and the skew check.

use std::collections::HashMap;
use std::sync::Arc;

use super::{
    Constraint, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, PodTopologySpread, node_has_all_keys,
};
use crate::cache::Snapshot;
use crate::framework::helpers::RequiredNodeAffinity;
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, PodInfo, PreFilterExtensions, PreFilterPlugin, PreFilterResult, Status,
};

const PRE_FILTER_STATE_KEY: &str = "PreFilterPodTopologySpread";

/// Up to this many domains, a constraint's counts are also kept in a list that the Filter of
/// every node scans instead of hashing the node's domain.
const FEW_DOMAINS: usize = 16;

/// Per DoNotSchedule constraint: matching pods per domain value (`preFilterState`).
#[derive(Clone)]
pub(crate) struct PreFilterState {
    pub constraints: Arc<Vec<Constraint>>,
    pub counts: Vec<HashMap<String, i64>>,
    /// The minimum count over the domains of each constraint, computed once per change rather than per node.
    mins: Vec<i64>,
    /// The counts of constraints with few domains as lists (`FEW_DOMAINS`), kept with `mins`.
    few: Vec<Option<Vec<(String, i64)>>>,
    /// Whether the incoming pod matches each constraint's selector (1) or not (0).
    self_match: Vec<i64>,
}

impl PreFilterState {
    /// The minimum count over the domains; 0 when fewer domains than minDomains exist
    /// (`minMatchNum`).
    fn compute_min_match(&self, i: usize) -> i64 {
        let counts = &self.counts[i];
        if (counts.len() as i64) < self.constraints[i].min_domains {
            return 0;
        }
        counts.values().copied().min().unwrap_or(0)
    }

    fn update_mins(&mut self) {
        self.mins = (0..self.counts.len()).map(|i| self.compute_min_match(i)).collect();
        self.few = self
            .counts
            .iter()
            .map(|c| (c.len() <= FEW_DOMAINS).then(|| c.iter().map(|(k, v)| (k.clone(), *v)).collect()))
            .collect();
    }

    /// Matching pods in the domain `value` of constraint `i`.
    fn count(&self, i: usize, value: &str) -> i64 {
        match &self.few[i] {
            Some(few) => few.iter().find(|(k, _)| k == value).map_or(0, |(_, n)| *n),
            None => self.counts[i].get(value).copied().unwrap_or(0),
        }
    }

    /// Adds `delta` for a pod placed on or removed from `node` (`updateWithPod`).
    fn update(&mut self, incoming: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        if other.namespace != incoming.namespace || !node_has_all_keys(node.node_labels(), &self.constraints) {
            return;
        }
        let affinity = RequiredNodeAffinity::of(&incoming.pod);
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.matches_node_inclusion_policies(incoming, &affinity, node) || !c.selector.matches(other.labels()) {
                continue;
            }
            if let Some(v) = node.label(&c.topology_key) {
                *self.counts[i].entry(v.to_owned()).or_default() += delta;
            }
        }
        self.update_mins();
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let constraints = self.constraints(pod, "DoNotSchedule");
        if constraints.is_empty() {
            return (None, Status::skip());
        }
        let affinity = RequiredNodeAffinity::of(&pod.pod);
        let counts = self.counts.lock().counts(&constraints, pod, &affinity, &snapshot.node_info_list);
        let self_match = constraints.iter().map(|c| i64::from(c.selector.matches(pod.labels()))).collect();
        let mut s = PreFilterState {
            constraints: Arc::new(constraints),
            counts,
            mins: Vec::new(),
            few: Vec::new(),
            self_match,
        };
        s.update_mins();
        state.write(PRE_FILTER_STATE_KEY, s);
        (None, Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for PodTopologySpread {
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

/// What the Filter reads of a node: its value of each constraint's topology key, or that it has
/// none (see `Plugin::filter_node_key`). Lengths prefix the keys and values, so distinct label
/// sets never give the same text.
pub(super) fn node_key(state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Option<String> {
    let s = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)?;
    let labels = node.node_labels();
    let mut key = String::new();
    for c in s.constraints.iter() {
        key.push_str(&format!("{}:{}", c.topology_key.len(), c.topology_key));
        match labels.get(&c.topology_key) {
            Some(v) => key.push_str(&format!("={}:{v};", v.len())),
            None => key.push_str("-;"),
        }
    }
    Some(key)
}

impl FilterPlugin for PodTopologySpread {
    /// 'matching pods in the node's domain' + 'the pod itself if it matches' - 'the minimum over
    /// domains' must not exceed maxSkew, for every constraint.
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) else {
            return Status::error(format!("reading {PRE_FILTER_STATE_KEY} from cycleState: not found"));
        };
        let labels = node.node_labels();
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            if s.count(i, value) + s.self_match[i] - s.mins[i] > c.max_skew {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}
