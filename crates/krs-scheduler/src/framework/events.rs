//! Cluster events (`fwk.ClusterEvent`): what changed in the cluster, so the queue moves back only
//! the unschedulable pods whose rejecting plugins registered interest in that change.

/// The kind of object that changed (`fwk.EventResource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventResource {
    /// Any pod: matches AssignedPod and UnscheduledPod events.
    Pod,
    AssignedPod,
    UnscheduledPod,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    StorageClass,
    CsiNode,
    /// Everything (`WildCard`): used for forced moves.
    WildCard,
}

impl EventResource {
    fn as_str(self) -> &'static str {
        match self {
            EventResource::Pod => "Pod",
            EventResource::AssignedPod => "AssignedPod",
            EventResource::UnscheduledPod => "UnscheduledPod",
            EventResource::Node => "Node",
            EventResource::PersistentVolume => "PersistentVolume",
            EventResource::PersistentVolumeClaim => "PersistentVolumeClaim",
            EventResource::StorageClass => "storage.k8s.io/StorageClass",
            EventResource::CsiNode => "storage.k8s.io/CSINode",
            EventResource::WildCard => "*",
        }
    }
}

/// What happened, as bits so a registration can cover several (`fwk.ActionType`).
pub type ActionType = u32;
pub const ADD: ActionType = 1;
pub const DELETE: ActionType = 1 << 1;
pub const UPDATE_NODE_ALLOCATABLE: ActionType = 1 << 2;
pub const UPDATE_NODE_LABEL: ActionType = 1 << 3;
pub const UPDATE_NODE_TAINT: ActionType = 1 << 4;
pub const UPDATE_NODE_CONDITION: ActionType = 1 << 5;
pub const UPDATE_NODE_ANNOTATION: ActionType = 1 << 6;
pub const UPDATE_POD_LABEL: ActionType = 1 << 7;
pub const UPDATE_POD_SCALE_DOWN: ActionType = 1 << 8;
pub const UPDATE_POD_TOLERATION: ActionType = 1 << 9;
pub const UPDATE_POD_SCHEDULING_GATES_ELIMINATED: ActionType = 1 << 10;
/// Any other update (`updatePodOther`, `updateNodeOther`).
pub const UPDATE_OTHER: ActionType = 1 << 11;
pub const UPDATE: ActionType = UPDATE_NODE_ALLOCATABLE
    | UPDATE_NODE_LABEL
    | UPDATE_NODE_TAINT
    | UPDATE_NODE_CONDITION
    | UPDATE_NODE_ANNOTATION
    | UPDATE_POD_LABEL
    | UPDATE_POD_SCALE_DOWN
    | UPDATE_POD_TOLERATION
    | UPDATE_POD_SCHEDULING_GATES_ELIMINATED
    | UPDATE_OTHER;
pub const ALL: ActionType = ADD | DELETE | UPDATE;

/// One change in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClusterEvent {
    pub resource: EventResource,
    pub action: ActionType,
}

impl ClusterEvent {
    pub const fn new(resource: EventResource, action: ActionType) -> ClusterEvent {
        ClusterEvent { resource, action }
    }

    /// Whether this registration covers `incoming` (`MatchClusterEvents`): the same resource (Pod
    /// covers assigned and unscheduled pods), and every bit of the incoming action registered.
    pub fn matches(&self, incoming: &ClusterEvent) -> bool {
        if self.resource == EventResource::WildCard && self.action == ALL {
            return true;
        }
        let resource_match = self.resource == EventResource::WildCard
            || self.resource == incoming.resource
            || (self.resource == EventResource::Pod
                && matches!(incoming.resource, EventResource::AssignedPod | EventResource::UnscheduledPod));
        resource_match && self.action & incoming.action == incoming.action && incoming.action != 0
    }

    /// The label the metrics use, e.g. `NodeAdd`, `AssignedPodDelete` (`ClusterEvent.Label`).
    pub fn label(&self) -> String {
        let action = match self.action {
            ADD => "Add",
            DELETE => "Delete",
            UPDATE_NODE_ALLOCATABLE => "UpdateNodeAllocatable",
            UPDATE_NODE_LABEL => "UpdateNodeLabel",
            UPDATE_NODE_TAINT => "UpdateNodeTaint",
            UPDATE_NODE_CONDITION => "UpdateNodeCondition",
            UPDATE_POD_LABEL => "UpdatePodLabel",
            UPDATE_POD_SCALE_DOWN => "UpdatePodScaleDown",
            UPDATE_POD_TOLERATION => "UpdatePodToleration",
            UPDATE_POD_SCHEDULING_GATES_ELIMINATED => "UpdatePodSchedulingGatesEliminated",
            ALL => "All",
            _ => "Update",
        };
        format!("{}{action}", self.resource.as_str())
    }
}

/// Forced move after a pod stayed unschedulable too long (`UnschedulableTimeout`).
pub const UNSCHEDULABLE_TIMEOUT: ClusterEvent = ClusterEvent::new(EventResource::WildCard, ALL);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_match_more_specific_events() {
        let node_update = ClusterEvent::new(EventResource::Node, UPDATE);
        assert!(node_update.matches(&ClusterEvent::new(EventResource::Node, UPDATE_NODE_TAINT)));
        assert!(!node_update.matches(&ClusterEvent::new(EventResource::Node, ADD)));
        let label_only = ClusterEvent::new(EventResource::Node, UPDATE_NODE_LABEL);
        assert!(!label_only.matches(&ClusterEvent::new(EventResource::Node, UPDATE_NODE_TAINT | UPDATE_NODE_LABEL)));
        let pod_delete = ClusterEvent::new(EventResource::Pod, DELETE);
        assert!(pod_delete.matches(&ClusterEvent::new(EventResource::AssignedPod, DELETE)));
        assert!(!pod_delete.matches(&ClusterEvent::new(EventResource::Node, DELETE)));
        assert_eq!(ClusterEvent::new(EventResource::Node, ADD).label(), "NodeAdd");
    }
}
