//! NodeResourcesBalancedAllocation: prefers nodes where, with the pod added, the requested
//! fractions of the resources are close to each other (one minus their standard deviation).

use serde::Deserialize;

use super::scoring::{ResourceSpec, ScoredResource, allocatable_and_requested, default_resources};
use crate::cache::Snapshot;
use crate::framework::events::{
    ADD, ClusterEvent, DELETE, EventResource, UPDATE_NODE_ALLOCATABLE, UPDATE_POD_SCALE_DOWN,
};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeSet, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Status,
};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// `NodeResourcesBalancedAllocationArgs`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalancedAllocationArgs {
    #[serde(default = "default_resources")]
    pub resources: Vec<ResourceSpec>,
}

impl Default for BalancedAllocationArgs {
    fn default() -> BalancedAllocationArgs {
        BalancedAllocationArgs { resources: default_resources() }
    }
}

pub struct BalancedAllocation {
    resources: Vec<ScoredResource>,
}

impl BalancedAllocation {
    pub fn new(args: BalancedAllocationArgs) -> BalancedAllocation {
        BalancedAllocation { resources: ScoredResource::resolve(&args.resources) }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Pod, DELETE | UPDATE_POD_SCALE_DOWN),
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_ALLOCATABLE),
        ]
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    /// Best-effort pods (no request for any scored resource) are not scored, so they do not
    /// all pile onto one balanced node.
    fn pre_score(&self, _state: &mut CycleState, pod: &PodInfo, _nodes: NodeSet<'_>, _snapshot: &Snapshot) -> Status {
        if self.resources.iter().all(|r| pod.requests.get_key(&r.key) == 0) {
            return Status::skip();
        }
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        // The fractions of the resources a node has (cpu and memory by default: no allocation
        // for the usual few).
        let fraction = |r: &ScoredResource| {
            let (alloc, req) = allocatable_and_requested(node, &pod.requests, r, false);
            (alloc != 0).then(|| (req as f64 / alloc as f64).min(1.0))
        };
        let (mut n, mut first, mut second) = (0usize, 0.0, 0.0);
        for f in self.resources.iter().filter_map(fraction) {
            match n {
                0 => first = f,
                1 => second = f,
                _ => {}
            }
            n += 1;
        }
        let std = match n {
            0 | 1 => 0.0,
            // For two resources the deviation is half the difference (`balancedResourceScorer`).
            2 => (first - second).abs() / 2.0,
            n => {
                let fractions: Vec<f64> = self.resources.iter().filter_map(fraction).collect();
                let mean = fractions.iter().sum::<f64>() / n as f64;
                (fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
            }
        };
        Ok(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
    }
}
