//! Builders for unit tests: pods and nodes in a few words, and helpers that run a plugin the
//! way the framework does.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerImage, ContainerPort, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, NodeSpec, NodeStatus, Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity, PodSchedulingGate,
    PodSpec, PodStatus, PreferredSchedulingTerm, ResourceRequirements, Taint, Toleration, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::cache::Snapshot;
use crate::framework::{CycleState, NodeInfo, NodeScore, NodeSet, Plugin, PodInfo};

fn quantities(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

pub fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        match_expressions: None,
    }
}

pub struct PodBuilder(Pod);

impl PodBuilder {
    pub fn new(name: &str) -> PodBuilder {
        PodBuilder(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), image: Some("pause".into()), ..Default::default() }],
                ..Default::default()
            }),
            status: Some(PodStatus::default()),
        })
    }

    fn spec(&mut self) -> &mut PodSpec {
        self.0.spec.get_or_insert_with(PodSpec::default)
    }

    fn affinity(&mut self) -> &mut Affinity {
        self.spec().affinity.get_or_insert_with(Affinity::default)
    }

    pub fn namespace(mut self, ns: &str) -> Self {
        self.0.metadata.namespace = Some(ns.into());
        self.0.metadata.uid = Some(format!("uid-{ns}-{}", self.0.metadata.name.clone().unwrap_or_default()));
        self
    }

    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }

    pub fn priority(mut self, p: i32) -> Self {
        self.spec().priority = Some(p);
        self
    }

    pub fn node_name(mut self, n: &str) -> Self {
        self.spec().node_name = Some(n.into());
        self
    }

    pub fn nominated(mut self, n: &str) -> Self {
        self.0.status.get_or_insert_with(PodStatus::default).nominated_node_name = Some(n.into());
        self
    }

    pub fn req(mut self, items: &[(&str, &str)]) -> Self {
        let c = &mut self.spec().containers[0];
        c.resources.get_or_insert_with(ResourceRequirements::default).requests = Some(quantities(items));
        self
    }

    pub fn limits(mut self, items: &[(&str, &str)]) -> Self {
        let c = &mut self.spec().containers[0];
        c.resources.get_or_insert_with(ResourceRequirements::default).limits = Some(quantities(items));
        self
    }

    pub fn pod_level_req(mut self, items: &[(&str, &str)]) -> Self {
        self.spec().resources = Some(ResourceRequirements { requests: Some(quantities(items)), ..Default::default() });
        self
    }

    pub fn init_container(mut self, items: &[(&str, &str)], sidecar: bool) -> Self {
        let c = Container {
            name: "init".into(),
            resources: Some(ResourceRequirements { requests: Some(quantities(items)), ..Default::default() }),
            restart_policy: sidecar.then(|| "Always".into()),
            ..Default::default()
        };
        self.spec().init_containers.get_or_insert_with(Vec::new).push(c);
        self
    }

    pub fn image(mut self, image: &str) -> Self {
        self.spec().containers[0].image = Some(image.into());
        self
    }

    pub fn gates(mut self, names: &[&str]) -> Self {
        self.spec().scheduling_gates = Some(names.iter().map(|n| PodSchedulingGate { name: n.to_string() }).collect());
        self
    }

    pub fn toleration(mut self, key: &str, op: &str, value: &str, effect: &str) -> Self {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: (!value.is_empty()).then(|| value.into()),
            effect: (!effect.is_empty()).then(|| effect.into()),
            ..Default::default()
        };
        self.spec().tolerations.get_or_insert_with(Vec::new).push(t);
        self
    }

    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec().node_selector.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }

    fn requirement(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    pub fn required_node_affinity(mut self, key: &str, op: &str, values: &[&str]) -> Self {
        let term =
            NodeSelectorTerm { match_expressions: Some(vec![Self::requirement(key, op, values)]), match_fields: None };
        self.affinity()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .required_during_scheduling_ignored_during_execution =
            Some(NodeSelector { node_selector_terms: vec![term] });
        self
    }

    pub fn required_node_name_field(mut self, names: &[&str]) -> Self {
        let term = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![Self::requirement("metadata.name", "In", names)]),
        };
        self.affinity()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .required_during_scheduling_ignored_during_execution =
            Some(NodeSelector { node_selector_terms: vec![term] });
        self
    }

    pub fn preferred_node_affinity(mut self, weight: i32, key: &str, op: &str, values: &[&str]) -> Self {
        let term = PreferredSchedulingTerm {
            weight,
            preference: NodeSelectorTerm {
                match_expressions: Some(vec![Self::requirement(key, op, values)]),
                match_fields: None,
            },
        };
        self.affinity()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term);
        self
    }

    pub fn host_port(mut self, port: i32, protocol: &str, ip: &str) -> Self {
        let p = ContainerPort {
            container_port: port,
            host_port: Some(port),
            protocol: Some(protocol.into()),
            host_ip: (!ip.is_empty()).then(|| ip.into()),
            ..Default::default()
        };
        self.spec().containers[0].ports.get_or_insert_with(Vec::new).push(p);
        self
    }

    pub fn pod_affinity(mut self, anti: bool, term: PodAffinityTerm) -> Self {
        let a = self.affinity();
        if anti {
            a.pod_anti_affinity
                .get_or_insert_with(PodAntiAffinity::default)
                .required_during_scheduling_ignored_during_execution
                .get_or_insert_with(Vec::new)
                .push(term);
        } else {
            a.pod_affinity
                .get_or_insert_with(PodAffinity::default)
                .required_during_scheduling_ignored_during_execution
                .get_or_insert_with(Vec::new)
                .push(term);
        }
        self
    }

    pub fn preferred_pod_affinity(mut self, anti: bool, weight: i32, term: PodAffinityTerm) -> Self {
        let w = WeightedPodAffinityTerm { weight, pod_affinity_term: term };
        let a = self.affinity();
        if anti {
            a.pod_anti_affinity
                .get_or_insert_with(PodAntiAffinity::default)
                .preferred_during_scheduling_ignored_during_execution
                .get_or_insert_with(Vec::new)
                .push(w);
        } else {
            a.pod_affinity
                .get_or_insert_with(PodAffinity::default)
                .preferred_during_scheduling_ignored_during_execution
                .get_or_insert_with(Vec::new)
                .push(w);
        }
        self
    }

    pub fn spread(mut self, c: TopologySpreadConstraint) -> Self {
        self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(c);
        self
    }

    pub fn pvc(mut self, claim: &str) -> Self {
        let v = k8s_openapi::api::core::v1::Volume {
            name: format!("v-{claim}"),
            persistent_volume_claim: Some(k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                claim_name: claim.into(),
                read_only: None,
            }),
            ..Default::default()
        };
        self.spec().volumes.get_or_insert_with(Vec::new).push(v);
        self
    }

    pub fn info(self) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(self.0)))
    }

    pub fn pod(self) -> Pod {
        self.0
    }
}

/// A pod affinity term selecting `labels` over `topology_key`.
pub fn affinity_term(labels: &[(&str, &str)], topology_key: &str) -> PodAffinityTerm {
    PodAffinityTerm { label_selector: Some(selector(labels)), topology_key: topology_key.into(), ..Default::default() }
}

#[derive(Clone)]
pub struct NodeBuilder(Node);

impl NodeBuilder {
    pub fn new(name: &str) -> NodeBuilder {
        let mut labels = BTreeMap::new();
        labels.insert("kubernetes.io/hostname".to_string(), name.to_string());
        NodeBuilder(Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                allocatable: Some(quantities(&[("cpu", "4"), ("memory", "32Gi"), ("pods", "110")])),
                capacity: Some(quantities(&[("cpu", "4"), ("memory", "32Gi"), ("pods", "110")])),
                ..Default::default()
            }),
        })
    }

    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }

    pub fn allocatable(mut self, items: &[(&str, &str)]) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.allocatable = Some(quantities(items));
            s.capacity = Some(quantities(items));
        }
        self
    }

    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let t = Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        };
        self.0.spec.get_or_insert_with(NodeSpec::default).taints.get_or_insert_with(Vec::new).push(t);
        self
    }

    pub fn unschedulable(mut self) -> Self {
        self.0.spec.get_or_insert_with(NodeSpec::default).unschedulable = Some(true);
        self
    }

    pub fn image(mut self, name: &str, size: i64) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.images
                .get_or_insert_with(Vec::new)
                .push(ContainerImage { names: Some(vec![name.into()]), size_bytes: Some(size) });
        }
        self
    }

    pub fn node(self) -> Node {
        self.0
    }

    pub fn info(self) -> NodeInfo {
        NodeInfo::from_node(Arc::new(self.0))
    }
}

/// Runs a plugin's PreScore (if any), Score for every node and Normalize, like the framework.
pub fn score_nodes(plugin: &dyn Plugin, pod: &Arc<PodInfo>, nodes: &[NodeInfo]) -> Vec<i64> {
    let snapshot = Snapshot::from_nodes(nodes.to_vec());
    let mut state = CycleState::default();
    if let Some(pf) = plugin.as_pre_filter() {
        let (_, s) = pf.pre_filter(&mut state, pod, &snapshot);
        assert!(s.is_success() || s.is_skip(), "PreFilter failed: {s:?}");
    }
    if let Some(ps) = plugin.as_pre_score() {
        let s = ps.pre_score(&mut state, pod, NodeSet::all(&snapshot.node_info_list), &snapshot);
        if s.is_skip() {
            return vec![0; nodes.len()];
        }
        assert!(s.is_success(), "PreScore failed: {s:?}");
    }
    let Some(sp) = plugin.as_score() else { panic!("{} is not a score plugin", plugin.name()) };
    let mut scores: Vec<NodeScore> = snapshot
        .node_info_list
        .iter()
        .map(|n| NodeScore {
            name: &n.name,
            score: sp.score(&state, pod, n).unwrap_or_else(|s| panic!("Score failed: {s:?}")),
        })
        .collect();
    let s = sp.normalize(&state, pod, &mut scores);
    assert!(s.is_success());
    scores.into_iter().map(|s| s.score).collect()
}

/// Runs a plugin's PreFilter then Filter on each node; the reasons per node ("" when it fits).
pub fn filter_nodes(plugin: &dyn Plugin, pod: &Arc<PodInfo>, snapshot: &Snapshot) -> Vec<String> {
    let mut state = CycleState::default();
    if let Some(pf) = plugin.as_pre_filter() {
        let (_, s) = pf.pre_filter(&mut state, pod, snapshot);
        if s.is_skip() {
            return vec![String::new(); snapshot.num_nodes()];
        }
        if !s.is_success() {
            return vec![format!("PreFilter: {}", s.message()); snapshot.num_nodes()];
        }
    }
    let Some(f) = plugin.as_filter() else { panic!("{} is not a filter plugin", plugin.name()) };
    snapshot
        .node_info_list
        .iter()
        .map(|n| {
            let s = f.filter(&state, pod, n);
            if s.is_success() { String::new() } else { s.message() }
        })
        .collect()
}

/// A node with pods already placed on it.
pub fn node_with_pods(node: NodeBuilder, pods: Vec<Arc<PodInfo>>) -> NodeInfo {
    let mut ni = node.info();
    for p in pods {
        ni.add_pod(p);
    }
    ni
}

/// The default profile's framework on `handle`.
pub fn default_framework(handle: Arc<crate::framework::Handle>) -> crate::framework::Framework {
    let profile = crate::config::Profile { scheduler_name: Some("default-scheduler".into()), ..Default::default() };
    match crate::plugins::build_framework(&profile, None, handle) {
        Ok(fw) => fw,
        Err(e) => panic!("default profile: {e}"),
    }
}

/// A topology spread constraint.
pub fn spread(key: &str, skew: i32, when: &str, labels: &[(&str, &str)]) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.into(),
        when_unsatisfiable: when.into(),
        label_selector: Some(selector(labels)),
        ..Default::default()
    }
}

/// Stores a PVC in the listers.
pub fn add_pvc(
    listers: &crate::framework::Listers,
    name: &str,
    modes: &[&str],
    class: &str,
    storage: &str,
    volume: Option<&str>,
) {
    let pvc: k8s_openapi::api::core::v1::PersistentVolumeClaim = from_json(serde_json::json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("pvc-uid-{name}")},
        "spec": {"accessModes": modes, "storageClassName": class, "volumeName": volume,
                 "resources": {"requests": {"storage": storage}}},
    }));
    listers.pvcs.write().insert(format!("default/{name}"), Arc::new(pvc));
}

/// Stores a PV reachable from `node` in the listers.
pub fn add_pv(listers: &crate::framework::Listers, name: &str, class: &str, storage: &str, node: &str) {
    let pv: k8s_openapi::api::core::v1::PersistentVolume = from_json(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class, "capacity": {"storage": storage},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}},
        "status": {"phase": "Available"},
    }));
    listers.pvs.write().insert(name.into(), Arc::new(pv));
}

/// Stores a StorageClass in the listers.
pub fn add_storage_class(listers: &crate::framework::Listers, name: &str, provisioner: &str, mode: &str) {
    let sc: k8s_openapi::api::storage::v1::StorageClass = from_json(
        serde_json::json!({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode}),
    );
    listers.storage_classes.write().insert(name.into(), Arc::new(sc));
}

pub fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    match serde_json::from_value(v) {
        Ok(t) => t,
        Err(e) => panic!("test object: {e}"),
    }
}

/// Runs PreFilter and Filter of the whole framework on every node: the state and the
/// statuses of the nodes that do not fit.
pub fn run_filters(
    fw: &crate::framework::Framework,
    pod: &Arc<PodInfo>,
    snap: &Snapshot,
) -> (CycleState, crate::framework::NodeToStatus) {
    let mut state = CycleState::default();
    let (_, s, _) = fw.run_pre_filter(&mut state, pod, snap);
    let mut statuses = crate::framework::NodeToStatus::default();
    if !s.is_success() {
        statuses.absent = Some(s);
        return (state, statuses);
    }
    for n in &snap.node_info_list {
        let s = fw.run_filter_with_nominated_pods(&state, pod, n);
        if !s.is_success() {
            statuses.statuses.insert(n.name.clone(), s);
        }
    }
    (state, statuses)
}
