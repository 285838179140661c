//! The extension points (`fwk.Plugin` and friends). A plugin is one value implementing
//! [`Plugin`]; it exposes each extension point it implements through an `as_*` accessor, so the
//! framework builds one list per point from the profile's configuration.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::events::ClusterEvent;
use super::node_set::NodeSet;
use super::status::{CycleState, Status};
use super::types::{NodeInfo, PodInfo};
use crate::cache::Snapshot;
use crate::queue::QueuedPodInfo;

/// The highest score a Score plugin gives a node after normalization (`MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// A node's score from one plugin or in total. The name is borrowed from the cycle's nodes, as
/// a reference to the node's own `Arc`: a cycle scores hundreds of nodes, and counting
/// references to each name, or even reading where each name is, costs a cache miss per node
/// when the plugins at hand never look at names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore<'a> {
    pub name: &'a Arc<str>,
    pub score: i64,
}

/// What PreFilter may narrow the candidate nodes to (`PreFilterResult`); `None` means all nodes.
#[derive(Clone, Debug, Default)]
pub struct PreFilterResult {
    pub node_names: Option<HashSet<String>>,
    /// The plugins whose results were merged into this one.
    pub sources: Vec<&'static str>,
}

impl PreFilterResult {
    /// The intersection of two results (`PreFilterResult.Merge`).
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        let mut sources = self.sources;
        sources.extend(other.sources);
        let node_names = match (self.node_names, other.node_names) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        };
        PreFilterResult { node_names, sources }
    }
}

/// What a PostFilter plugin decided: the node the pod is nominated to (`PostFilterResult`).
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    pub nominated_node_name: Option<String>,
}

/// Every plugin: a name, the cluster events that may make a pod it rejected schedulable, and an
/// accessor per extension point it implements.
pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;

    /// Events that may turn this plugin's rejection into a fit (`EventsToRegister`). A pod
    /// rejected by a plugin returning none is moved back only by the periodic flush.
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        Vec::new()
    }

    /// True when this plugin's Filter status and raw Score for a node are a function of the
    /// pod and that node's `NodeInfo` alone (with what its PreFilter and PreScore derive from
    /// the pod, the plugin's arguments, and the snapshot's node count and image spread, which
    /// change its `epoch`). A cycle whose every running Filter and Score plugin says so may
    /// reuse an earlier cycle's results for an unchanged node (`scheduler::results_memo`).
    fn node_local(&self) -> bool {
        false
    }

    /// For a Filter plugin that is not node-local: everything of `node` its Filter reads, as a
    /// text computed from the pod and that node alone (PodTopologySpread: the node's values of
    /// the constraints' topology keys), such that within one cycle nodes with equal texts get
    /// equal Filter statuses. None when the plugin cannot say. A memo cycle then runs the
    /// Filter once per distinct text instead of once per node (`scheduler::results_memo`).
    fn filter_node_key(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Option<String> {
        None
    }

    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        None
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        None
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    fn as_permit(&self) -> Option<&dyn PermitPlugin> {
        None
    }
    fn as_pre_bind(&self) -> Option<&dyn PreBindPlugin> {
        None
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
    fn as_post_bind(&self) -> Option<&dyn PostBindPlugin> {
        None
    }
}

/// Decides whether a pod may enter activeQ at all (`PreEnqueuePlugin`); runs for every pod
/// entering activeQ, from outside or from backoffQ.
pub trait PreEnqueuePlugin: Send + Sync {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// Orders activeQ (`QueueSortPlugin`).
pub trait QueueSortPlugin: Send + Sync {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

/// Runs once per cycle before filtering; may reject the pod or narrow the nodes.
pub trait PreFilterPlugin: Send + Sync {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);

    /// Incremental updates of the PreFilter state when preemption or nominated pods add or remove
    /// a pod on a node (`PreFilterExtensions`); `None` when the state does not depend on other pods.
    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
}

/// Updates a plugin's cycle state for a pod added to or removed from a node.
pub trait PreFilterExtensions: Send + Sync {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &Arc<PodInfo>, node: &NodeInfo) -> Status;
    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &Arc<PodInfo>, node: &NodeInfo) -> Status;
}

/// Whether the pod fits one node; called in parallel for many nodes.
pub trait FilterPlugin: Send + Sync {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// What a PostFilter plugin may use: the framework to simulate filtering, the snapshot, the API.
pub struct PostFilterContext<'a> {
    pub framework: &'a super::runtime::Framework,
    pub snapshot: &'a Snapshot,
    /// Nodes the filters rejected, with their statuses.
    pub node_statuses: &'a super::runtime::NodeToStatus,
}

/// Runs when no node fits (`PostFilterPlugin`): preemption.
pub trait PostFilterPlugin: Send + Sync {
    fn post_filter(
        &self,
        ctx: &PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
    ) -> (Option<PostFilterResult>, Status);
}

/// Runs once per cycle before scoring, with the feasible nodes.
pub trait PreScorePlugin: Send + Sync {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: NodeSet<'_>, snapshot: &Snapshot) -> Status;
}

/// Scores one node (`ScorePlugin`); `normalize` maps the raw scores of all nodes to 0..=100.
pub trait ScorePlugin: Send + Sync {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;

    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [NodeScore]) -> Status {
        Status::success()
    }
}

/// Reserves cluster state for the pod on the chosen node, undone on failure.
pub trait ReservePlugin: Send + Sync {
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// May hold the pod before binding (`PermitPlugin`): Success, a rejection, or Wait with a timeout.
pub trait PermitPlugin: Send + Sync {
    fn permit(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> (Status, Duration);
}

/// Runs before binding, in the binding cycle (may call the API).
#[async_trait]
pub trait PreBindPlugin: Send + Sync {
    async fn pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
}

/// Binds the pod; Skip passes to the next bind plugin.
#[async_trait]
pub trait BindPlugin: Send + Sync {
    async fn bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
}

/// Informational, after a successful bind.
pub trait PostBindPlugin: Send + Sync {
    fn post_bind(&self, state: &CycleState, pod: &PodInfo, node: &str);
}
