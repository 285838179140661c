//! NodeAffinity: the pod's nodeSelector and required node affinity (and the profile's
//! `addedAffinity`) must match the node; preferred terms add their weights to the score.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{NodeAffinity as ApiNodeAffinity, PreferredSchedulingTerm};
use serde::Deserialize;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, EventResource, UPDATE_NODE_LABEL};
use crate::framework::helpers::{RequiredNodeAffinity, default_normalize_score, node_selector_matches, term_matches};
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeScore, NodeSet, Plugin, PodInfo, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ScorePlugin, Status,
};

pub const NAME: &str = "NodeAffinity";
/// The pod's own selector or affinity does not match (`ErrReasonPod`).
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// The profile's addedAffinity does not match (`errReasonEnforced`).
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// Required terms that select by node name select none (`errReasonConflict`).
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

const PRE_SCORE_STATE_KEY: &str = "PreScoreNodeAffinity";

/// `NodeAffinityArgs`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinityArgs {
    #[serde(default)]
    pub added_affinity: Option<ApiNodeAffinity>,
}

pub struct NodeAffinity {
    added: Option<ApiNodeAffinity>,
}

impl NodeAffinity {
    pub fn new(args: NodeAffinityArgs) -> NodeAffinity {
        NodeAffinity { added: args.added_affinity }
    }

    fn added_required_matches(&self, node: &NodeInfo) -> bool {
        self.added
            .as_ref()
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
            .is_none_or(|r| node_selector_matches(r, node.node_labels(), &node.name))
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_LABEL)]
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

impl PreFilterPlugin for NodeAffinity {
    /// Skips when nothing constrains the pod; narrows the nodes when every required term names
    /// nodes through `metadata.name In` (`PreFilter`).
    fn pre_filter(
        &self,
        _state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let required = RequiredNodeAffinity::of(&pod.pod);
        let added_required =
            self.added.as_ref().and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        if required.is_empty() && added_required.is_none() {
            return (None, Status::skip());
        }
        let terms = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref())
            .map(|r| r.node_selector_terms.as_slice())
            .unwrap_or_default();
        if terms.is_empty() {
            return (None, Status::success());
        }
        let mut names: HashSet<String> = HashSet::new();
        for t in terms {
            let fields = t.match_fields.as_deref().unwrap_or_default();
            let named: Vec<&String> = fields
                .iter()
                .filter(|r| r.key == "metadata.name" && r.operator == "In")
                .flat_map(|r| r.values.iter().flatten())
                .collect();
            // One term without a name restriction lets every node through.
            if named.is_empty() {
                return (None, Status::success());
            }
            names.extend(named.into_iter().cloned());
        }
        if names.is_empty() {
            return (None, Status::unresolvable(ERR_REASON_CONFLICT));
        }
        (Some(PreFilterResult { node_names: Some(names), sources: Vec::new() }), Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !self.added_required_matches(node) {
            return Status::unresolvable(ERR_REASON_ENFORCED);
        }
        if !RequiredNodeAffinity::of(&pod.pod).matches(node) {
            return Status::unresolvable(ERR_REASON_POD);
        }
        Status::success()
    }
}

#[derive(Clone)]
struct PreScoreState(Arc<Vec<PreferredSchedulingTerm>>);

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _nodes: NodeSet<'_>, _snapshot: &Snapshot) -> Status {
        let mut terms: Vec<PreferredSchedulingTerm> = Vec::new();
        let pod_terms = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| na.preferred_during_scheduling_ignored_during_execution.as_ref());
        terms.extend(pod_terms.into_iter().flatten().cloned());
        if let Some(added) =
            self.added.as_ref().and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())
        {
            terms.extend(added.iter().cloned());
        }
        if terms.is_empty() {
            return Status::skip();
        }
        state.write(PRE_SCORE_STATE_KEY, PreScoreState(Arc::new(terms)));
        Status::success()
    }
}

impl ScorePlugin for NodeAffinity {
    /// The sum of the weights of the preferred terms the node matches.
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(PreScoreState(terms)) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Err(Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found")));
        };
        let labels = node.node_labels();
        Ok(terms
            .iter()
            .filter(|t| t.weight != 0 && term_matches(&t.preference, labels, &node.name))
            .map(|t| i64::from(t.weight))
            .sum())
    }

    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests;
