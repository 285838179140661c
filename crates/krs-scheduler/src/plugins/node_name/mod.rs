//! NodeName: a pod that names its node (`spec.nodeName`) fits only that node.

use crate::framework::events::{ADD, ClusterEvent, EventResource};
use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};

pub const NAME: &str = "NodeName";
/// `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(EventResource::Node, ADD)]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let wanted = pod.node_name();
        if wanted.is_empty() || wanted == &*node.name { Status::success() } else { Status::unresolvable(ERR_REASON) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NodeBuilder, PodBuilder};

    #[test]
    fn only_the_named_node_fits() {
        let pod = PodBuilder::new("p").node_name("a").info();
        assert!(NodeName.filter(&CycleState::default(), &pod, &NodeBuilder::new("a").info()).is_success());
        assert_eq!(NodeName.filter(&CycleState::default(), &pod, &NodeBuilder::new("b").info()).message(), ERR_REASON);
        assert!(
            NodeName
                .filter(&CycleState::default(), &PodBuilder::new("p").info(), &NodeBuilder::new("b").info())
                .is_success()
        );
    }
}
