//! The Node object: what the agent registers and the status it reports. Shared by the real
//! agent and the simulated nodes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus, NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::eviction::Pressure;

/// The kubelet version this agent reports (it implements upstream 1.34's kubelet).
pub const KUBELET_VERSION: &str = "v1.34.0-krs";

/// What a node is made of, before it becomes an object.
#[derive(Clone, Debug, Default)]
pub struct NodeDescription {
    pub name: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub addresses: Vec<NodeAddress>,
    pub capacity: BTreeMap<String, Quantity>,
    pub allocatable: BTreeMap<String, Quantity>,
    pub node_info: NodeSystemInfo,
    pub kubelet_port: i32,
}

/// The node's health as the agent sees it, turned into conditions.
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// The hard eviction thresholds crossed, by condition.
    pub pressure: Pressure,
    /// Why the node is not ready (the container runtime or its network is not), if it is not.
    pub not_ready: Option<String>,
}

/// The standard labels of every node plus the configured ones.
pub fn labels(hostname: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut l = BTreeMap::from([
        ("kubernetes.io/hostname".to_owned(), hostname.to_owned()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), arch.to_owned()),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("beta.kubernetes.io/arch".to_owned(), arch.to_owned()),
    ]);
    l.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    l
}

/// The Node to create at registration, its status included.
pub fn initial_node(d: &NodeDescription, health: &Health, now: jiff::Timestamp) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(d.name.clone()),
            labels: Some(d.labels.clone()),
            annotations: Some(BTreeMap::from([(
                // The attach/detach controller owns volume attachment, as upstream's default.
                "volumes.kubernetes.io/controller-managed-attach-detach".to_owned(),
                "true".to_owned(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec { taints: (!d.taints.is_empty()).then(|| d.taints.clone()), ..Default::default() }),
        status: Some(status(d, health, &[], now)),
    }
}

/// The node status the agent owns. Conditions keep their lastTransitionTime while unchanged.
pub fn status(d: &NodeDescription, health: &Health, previous: &[NodeCondition], now: jiff::Timestamp) -> NodeStatus {
    NodeStatus {
        addresses: Some(d.addresses.clone()),
        capacity: Some(d.capacity.clone()),
        allocatable: Some(d.allocatable.clone()),
        conditions: Some(conditions(health, previous, now)),
        daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: d.kubelet_port }) }),
        node_info: Some(d.node_info.clone()),
        ..Default::default()
    }
}

fn conditions(h: &Health, previous: &[NodeCondition], now: jiff::Timestamp) -> Vec<NodeCondition> {
    let cond = |type_: &str, status: bool, reason: &str, message: &str| {
        let status = if status { "True" } else { "False" };
        let transition = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        NodeCondition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_heartbeat_time: Some(Time(now)),
            last_transition_time: Some(transition),
        }
    };
    let mut out = vec![
        match &h.pressure.memory {
            Some(why) => cond(
                "MemoryPressure",
                true,
                "KubeletHasInsufficientMemory",
                &format!("kubelet has insufficient memory available: {why}"),
            ),
            None => {
                cond("MemoryPressure", false, "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
            }
        },
        match &h.pressure.disk {
            Some(why) => {
                cond("DiskPressure", true, "KubeletHasDiskPressure", &format!("kubelet has disk pressure: {why}"))
            }
            None => cond("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        },
        match &h.pressure.pid {
            Some(why) => cond(
                "PIDPressure",
                true,
                "KubeletHasInsufficientPID",
                &format!("kubelet has insufficient PID available: {why}"),
            ),
            None => cond("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        },
    ];
    out.push(match &h.not_ready {
        None => cond("Ready", true, "KubeletReady", "kubelet is posting ready status"),
        Some(why) => cond("Ready", false, "KubeletNotReady", why),
    });
    out
}

/// Whether two statuses differ in anything but heartbeat times: upstream writes an unchanged
/// status only every nodeStatusReportFrequency.
pub fn status_changed(old: &NodeStatus, new: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        if let Some(cs) = s.conditions.as_mut() {
            for c in cs.iter_mut() {
                c.last_heartbeat_time = None;
            }
            cs.sort_by(|a, b| a.type_.cmp(&b.type_));
        }
        // Images and volumes are reported by others or change constantly; they alone don't
        // warrant a write.
        s.images = None;
        s.volumes_attached = None;
        s.volumes_in_use = None;
        s.config = None;
        s.features = None;
        s.runtime_handlers = None;
        s.phase = None;
        s
    };
    strip(old) != strip(new)
}

/// The capacity map of a node: cpu, memory, ephemeral-storage, pods and hugepages.
pub fn resource_list(
    cpu_millis: u64,
    memory_bytes: u64,
    ephemeral_bytes: u64,
    pods: u32,
    hugepages: &BTreeMap<u64, u64>,
) -> BTreeMap<String, Quantity> {
    let mut m = BTreeMap::new();
    let cpu = if cpu_millis.is_multiple_of(1000) { (cpu_millis / 1000).to_string() } else { format!("{cpu_millis}m") };
    m.insert("cpu".to_owned(), Quantity(cpu));
    m.insert("memory".to_owned(), Quantity(kib(memory_bytes)));
    m.insert("ephemeral-storage".to_owned(), Quantity(kib(ephemeral_bytes)));
    m.insert("pods".to_owned(), Quantity(pods.to_string()));
    for (&page, &total) in hugepages {
        m.insert(super::host::hugepage_resource(page), Quantity(super::host::quantity_bytes(total)));
    }
    m
}

/// Bytes in Ki, as upstream reports memory ("24568124Ki").
fn kib(bytes: u64) -> String {
    format!("{}Ki", bytes / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc() -> NodeDescription {
        NodeDescription {
            name: "n1".into(),
            hostname: "n1".into(),
            labels: labels("n1", &BTreeMap::from([("role".to_owned(), "x".to_owned())])),
            kubelet_port: 10250,
            capacity: resource_list(2000, 4 << 30, 10 << 30, 110, &BTreeMap::from([(2 << 20, 0)])),
            ..Default::default()
        }
    }

    #[test]
    fn node_shape() {
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap_or_default();
        let n = initial_node(&desc(), &Health::default(), now);
        let labels = n.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get("kubernetes.io/hostname").map(String::as_str), Some("n1"));
        assert_eq!(labels.get("kubernetes.io/os").map(String::as_str), Some("linux"));
        assert_eq!(labels.get("role").map(String::as_str), Some("x"));
        let status = n.status.unwrap_or_default();
        let cap = status.capacity.unwrap_or_default();
        assert_eq!(cap.get("cpu"), Some(&Quantity("2".into())));
        assert_eq!(cap.get("memory"), Some(&Quantity("4194304Ki".into())));
        assert_eq!(cap.get("pods"), Some(&Quantity("110".into())));
        assert_eq!(cap.get("hugepages-2Mi"), Some(&Quantity("0".into())));
        let conds = status.conditions.unwrap_or_default();
        let types: Vec<_> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]);
        assert_eq!(conds[3].status, "True");
    }

    #[test]
    fn transitions_and_heartbeats() {
        let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap_or_default();
        let t1 = jiff::Timestamp::from_second(1_700_000_010).unwrap_or_default();
        let d = desc();
        let ready = status(&d, &Health::default(), &[], t0);
        let again = status(&d, &Health::default(), ready.conditions.as_deref().unwrap_or_default(), t1);
        // Only heartbeats moved: not a change; the transition time stayed.
        assert!(!status_changed(&ready, &again));
        let r = |s: &NodeStatus| s.conditions.clone().unwrap_or_default().into_iter().find(|c| c.type_ == "Ready");
        assert_eq!(r(&again).and_then(|c| c.last_transition_time), Some(Time(t0)));
        let unhealthy = Health { not_ready: Some("container runtime is down".into()), ..Default::default() };
        let down = status(&d, &unhealthy, again.conditions.as_deref().unwrap_or_default(), t1);
        assert!(status_changed(&again, &down));
        let c = r(&down);
        assert_eq!(c.as_ref().map(|c| c.status.as_str()), Some("False"));
        assert_eq!(c.and_then(|c| c.last_transition_time), Some(Time(t1)));
    }
}
