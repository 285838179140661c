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

/// Per DoNotSchedule constraint: matching pods per domain value (`preFilterState`).
#[derive(Clone)]
pub(crate) struct PreFilterState {
    pub constraints: Arc<Vec<Constraint>>,
    pub counts: Vec<HashMap<String, i64>>,
    /// The minimum count over the domains of each constraint, computed once per change rather than per node.
    mins: Vec<i64>,
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
    }

    /// Adds `delta` for a pod placed on or removed from `node` (`updateWithPod`).
    fn update(&mut self, incoming: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        if other.namespace != incoming.namespace || !node_has_all_keys(node.labels(), &self.constraints) {
            return;
        }
        let affinity = RequiredNodeAffinity::of(&incoming.pod);
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.matches_node_inclusion_policies(incoming, &affinity, node) || !c.selector.matches(other.labels()) {
                continue;
            }
            if let Some(v) = node.labels().get(&c.topology_key) {
                *self.counts[i].entry(v.clone()).or_default() += delta;
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
        let mut s = PreFilterState { constraints: Arc::new(constraints), counts, mins: Vec::new() };
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

impl FilterPlugin for PodTopologySpread {
    /// 'matching pods in the node's domain' + 'the pod itself if it matches' - 'the minimum over
    /// domains' must not exceed maxSkew, for every constraint.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) else {
            return Status::error(format!("reading {PRE_FILTER_STATE_KEY} from cycleState: not found"));
        };
        let labels = node.labels();
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selector.matches(pod.labels()));
            let match_num = s.counts[i].get(value).copied().unwrap_or(0);
            if match_num + self_match - s.mins[i] > c.max_skew {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}
