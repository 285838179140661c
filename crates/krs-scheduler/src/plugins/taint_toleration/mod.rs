//! TaintToleration: rejects nodes with a NoSchedule or NoExecute taint the pod does not
//! tolerate; prefers nodes with fewer untolerated PreferNoSchedule taints.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Toleration;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, EventResource, UPDATE_NODE_TAINT, UPDATE_POD_TOLERATION};
use crate::framework::helpers::{default_normalize_score, find_untolerated_taint, pod_tolerations, tolerates};
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeScore, NodeSet, Plugin, PodInfo, PreScorePlugin,
    ScorePlugin, Status,
};

pub const NAME: &str = "TaintToleration";
const PRE_SCORE_STATE_KEY: &str = "PreScoreTaintToleration";

/// The message for a node whose taint the pod does not tolerate (`ErrReasonNotMatch` format).
pub fn untolerated_taint_reason(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_TAINT),
            ClusterEvent::new(EventResource::Pod, UPDATE_POD_TOLERATION),
        ]
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

impl FilterPlugin for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        // NodeInfo keeps only the NoSchedule and NoExecute taints.
        match find_untolerated_taint(&node.taints, pod_tolerations(&pod.pod), |_| true) {
            None => Status::success(),
            Some(t) => Status::unresolvable(untolerated_taint_reason(&t.key, t.value.as_deref().unwrap_or_default())),
        }
    }
}

/// The pod's tolerations that can tolerate PreferNoSchedule taints.
#[derive(Clone)]
struct PreScoreState(Arc<Vec<Toleration>>);

impl PreScorePlugin for TaintToleration {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: NodeSet<'_>, _snapshot: &Snapshot) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let tolerations: Vec<Toleration> = pod_tolerations(&pod.pod)
            .iter()
            .filter(|t| t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
            .cloned()
            .collect();
        state.write(PRE_SCORE_STATE_KEY, PreScoreState(Arc::new(tolerations)));
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    /// The number of PreferNoSchedule taints the pod does not tolerate (fewer is better).
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(PreScoreState(tolerations)) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Err(Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found")));
        };
        // NodeInfo keeps the PreferNoSchedule taints apart: most nodes have none.
        let count =
            node.prefer_no_schedule_taints.iter().filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t))).count();
        Ok(count as i64)
    }

    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests;
