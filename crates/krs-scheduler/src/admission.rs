//! The checks a node agent repeats before it runs a pod (upstream's `scheduler.AdmissionCheck`,
//! which the kubelet's predicate admission calls): resources, node affinity, node name and host
//! ports, judged on the agent's own view of its node and the pods it runs.

use crate::framework::NodeInfo;
use crate::framework::PodInfo;
use crate::framework::helpers::RequiredNodeAffinity;
use crate::plugins::node_resources::{InsufficientResource, insufficient_resources};
use crate::plugins::{node_affinity, node_name, node_ports};

/// Why a pod does not fit a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdmissionFailure {
    /// Too little of a resource is left.
    Insufficient(InsufficientResource),
    /// A plugin's predicate failed: its name and reason.
    Predicate { plugin: &'static str, reason: &'static str },
}

/// Every reason the pod does not fit the node, in upstream's order: insufficient resources,
/// node affinity, node name, host ports. Scalar resources the node does not have at all are
/// not checked (cluster-level extended resources, unknown to nodes).
pub fn admission_check(pod: &PodInfo, node: &NodeInfo) -> Vec<AdmissionFailure> {
    let mut out: Vec<AdmissionFailure> =
        insufficient_resources(pod, node, |name| !node.allocatable.scalar.contains_key(name))
            .into_iter()
            .map(AdmissionFailure::Insufficient)
            .collect();
    if !RequiredNodeAffinity::of(&pod.pod).matches(node) {
        out.push(AdmissionFailure::Predicate { plugin: node_affinity::NAME, reason: node_affinity::ERR_REASON_POD });
    }
    let wanted = pod.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default();
    if !wanted.is_empty() && wanted != &*node.name {
        out.push(AdmissionFailure::Predicate { plugin: node_name::NAME, reason: node_name::ERR_REASON });
    }
    if !node_ports::fits(pod, node) {
        out.push(AdmissionFailure::Predicate { plugin: node_ports::NAME, reason: node_ports::ERR_REASON });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NodeBuilder, PodBuilder};

    #[test]
    fn every_failure_is_reported_in_upstreams_order() {
        let mut node = NodeBuilder::new("n")
            .allocatable(&[("cpu", "1"), ("memory", "1Gi"), ("pods", "2")])
            .label("zone", "a")
            .info();
        node.add_pod(PodBuilder::new("old").req(&[("cpu", "600m")]).host_port(80, "TCP", "").node_name("n").info());
        let fits = PodBuilder::new("p").req(&[("cpu", "400m")]).node_name("n").info();
        assert_eq!(admission_check(&fits, &node), []);

        let misfit = PodBuilder::new("p")
            .req(&[("cpu", "500m"), ("example.com/gpu", "1")])
            .node_selector("zone", "b")
            .host_port(80, "TCP", "")
            .node_name("other")
            .info();
        let failures = admission_check(&misfit, &node);
        assert_eq!(
            failures,
            [
                AdmissionFailure::Insufficient(InsufficientResource {
                    resource: "cpu".into(),
                    reason: "Insufficient cpu".into(),
                    requested: 500,
                    used: 600,
                    capacity: 1000,
                }),
                AdmissionFailure::Predicate { plugin: "NodeAffinity", reason: node_affinity::ERR_REASON_POD },
                AdmissionFailure::Predicate { plugin: "NodeName", reason: node_name::ERR_REASON },
                AdmissionFailure::Predicate { plugin: "NodePorts", reason: node_ports::ERR_REASON },
            ],
            "an extended resource the node does not have is not checked"
        );

        node.add_pod(PodBuilder::new("old2").node_name("n").info());
        let third = PodBuilder::new("p").node_name("n").info();
        let failures = admission_check(&third, &node);
        assert!(
            matches!(&failures[..], [AdmissionFailure::Insufficient(r)] if r.resource == "pods" && r.used == 2 && r.capacity == 2),
            "{failures:?}"
        );
    }
}
