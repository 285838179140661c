//! NodeUnschedulable: rejects nodes with `spec.unschedulable` unless the pod tolerates the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1::Taint;

use crate::framework::events::{ADD, ClusterEvent, EventResource, UPDATE_NODE_TAINT, UPDATE_POD_TOLERATION};
use crate::framework::helpers::{pod_tolerations, tolerates};
use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};

pub const NAME: &str = "NodeUnschedulable";
/// The node is marked unschedulable (`ErrReasonUnschedulable`).
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The node object is unknown (`ErrReasonUnknownCondition`).
pub const ERR_REASON_UNKNOWN_CONDITION: &str = "node(s) had unknown conditions";

const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
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
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.node.is_none() {
            return Status::unresolvable(ERR_REASON_UNKNOWN_CONDITION);
        }
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint { key: TAINT_NODE_UNSCHEDULABLE.into(), effect: "NoSchedule".into(), ..Default::default() };
        if pod_tolerations(&pod.pod).iter().any(|t| tolerates(t, &taint)) {
            return Status::success();
        }
        Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NodeBuilder, PodBuilder};

    #[test]
    fn unschedulable_nodes_are_rejected_unless_tolerated() {
        let node = NodeBuilder::new("n").unschedulable().info();
        let s = NodeUnschedulable.filter(&CycleState::default(), &PodBuilder::new("p").info(), &node);
        assert_eq!(s.message(), ERR_REASON_UNSCHEDULABLE);
        let tolerant = PodBuilder::new("p").toleration(TAINT_NODE_UNSCHEDULABLE, "Exists", "", "NoSchedule").info();
        assert!(NodeUnschedulable.filter(&CycleState::default(), &tolerant, &node).is_success());
        let ok = NodeBuilder::new("n").info();
        assert!(NodeUnschedulable.filter(&CycleState::default(), &PodBuilder::new("p").info(), &ok).is_success());
    }
}
