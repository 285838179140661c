//! NodePorts: rejects nodes where a host port the pod asks for is already in use.

use crate::framework::events::{ADD, ClusterEvent, DELETE, EventResource, UPDATE};
use crate::framework::types::HostPort;
use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};

pub const NAME: &str = "NodePorts";
/// `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(EventResource::Pod, DELETE), ClusterEvent::new(EventResource::Node, ADD | UPDATE)]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

/// Two host ports conflict on the same protocol and port when either binds all addresses or
/// both bind the same one (`HostPortInfo.CheckConflict`).
fn conflicts(a: &HostPort, b: &HostPort) -> bool {
    a.port == b.port && a.protocol == b.protocol && (a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0")
}

/// Whether none of the pod's host ports is in use on the node (`nodeports.Fits`).
pub fn fits(pod: &PodInfo, node: &NodeInfo) -> bool {
    !pod.host_ports.iter().any(|want| node.used_ports.iter().any(|used| conflicts(want, used)))
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        // The pod's ports are parsed once in PodInfo, so no PreFilter state is needed.
        if !fits(pod, node) {
            return Status::unschedulable(ERR_REASON);
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NodeBuilder, PodBuilder};

    #[test]
    fn used_host_ports_conflict() {
        let mut node = NodeBuilder::new("n").info();
        node.add_pod(PodBuilder::new("old").host_port(8080, "TCP", "").node_name("n").info());
        let same = PodBuilder::new("p").host_port(8080, "TCP", "10.0.0.1").info();
        assert_eq!(NodePorts.filter(&CycleState::default(), &same, &node).message(), ERR_REASON);
        let udp = PodBuilder::new("p").host_port(8080, "UDP", "").info();
        assert!(NodePorts.filter(&CycleState::default(), &udp, &node).is_success());
        let other = PodBuilder::new("p").host_port(8081, "TCP", "").info();
        assert!(NodePorts.filter(&CycleState::default(), &other, &node).is_success());
    }
}
