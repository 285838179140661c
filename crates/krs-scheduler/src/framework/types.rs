//! The scheduler's view of pods and nodes: `PodInfo` (a pod with everything the plugins need
//! parsed once, when the pod is added or updated) and `NodeInfo` (a node with the aggregate of
//! the pods on it). Both are shared as `Arc`s between the cache, the snapshot and the queue, so
//! a scheduling cycle never copies them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm, Taint};
use krs_apimachinery::labels::Selector;

use super::node_labels::NodeLabels;
use super::pod_list::{ListSlot, PodList};
use super::resource::{self, Resource};

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// A fresh generation number: every change to a `NodeInfo` takes one, so the snapshot copies
/// only the nodes that changed since its own generation.
pub fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// An empty label map, for objects without labels.
pub fn no_labels() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

/// A pod affinity term with its selectors compiled (`fwk.AffinityTerm`).
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    pub namespaces: HashSet<String>,
    pub selector: Selector,
    pub topology_key: String,
    /// `Selector::Nothing` when the term has no namespaceSelector.
    pub namespace_selector: Selector,
}

impl AffinityTerm {
    /// Whether `pod` (with its namespace's labels) is selected by the term (`AffinityTerm.Matches`).
    pub fn matches(&self, pod: &PodInfo, ns_labels: &BTreeMap<String, String>) -> bool {
        (self.namespaces.contains(&pod.namespace) || self.namespace_selector.matches(ns_labels))
            && self.selector.matches(pod.labels())
    }

    /// Builds a term for `pod` (`newAffinityTerm`): without namespaces and namespaceSelector the
    /// term selects the pod's own namespace. Terms with invalid selectors are dropped, as
    /// upstream ignores the parse error of assigned pods.
    fn from_api(namespace: &str, term: &PodAffinityTerm, labels: &BTreeMap<String, String>) -> Option<AffinityTerm> {
        let mut selector = Selector::from_label_selector(term.label_selector.as_ref()).ok()?;
        // matchLabelKeys / mismatchLabelKeys (beta, on): the incoming pod's values for those keys
        // become extra `in` / `notin` requirements.
        let mut extra = Vec::new();
        for key in term.match_label_keys.iter().flatten() {
            if let Some(v) = labels.get(key)
                && let Ok(r) = krs_apimachinery::labels::Requirement::new(
                    key.clone(),
                    krs_apimachinery::labels::Operator::In,
                    vec![v.clone()],
                )
            {
                extra.push(r);
            }
        }
        for key in term.mismatch_label_keys.iter().flatten() {
            if let Some(v) = labels.get(key)
                && let Ok(r) = krs_apimachinery::labels::Requirement::new(
                    key.clone(),
                    krs_apimachinery::labels::Operator::NotIn,
                    vec![v.clone()],
                )
            {
                extra.push(r);
            }
        }
        if !extra.is_empty() && term.label_selector.is_some() {
            selector = selector.add(extra);
        }
        let namespaces: HashSet<String> =
            if term.namespaces.as_ref().is_none_or(|n| n.is_empty()) && term.namespace_selector.is_none() {
                HashSet::from([namespace.to_string()])
            } else {
                term.namespaces.iter().flatten().cloned().collect()
            };
        let namespace_selector = Selector::from_label_selector(term.namespace_selector.as_ref()).ok()?;
        Some(AffinityTerm { namespaces, selector, topology_key: term.topology_key.clone(), namespace_selector })
    }
}

/// A preferred affinity term with its weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

/// A host port a container asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

/// A pod with what the plugins read parsed once (`fwk.PodInfo`).
#[derive(Clone, Debug)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    /// The cache key: the UID (falls back to namespace/name for objects without one).
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub priority: i32,
    /// Effective requests with missing values as zero (what NodeResourcesFit checks).
    pub requests: Resource,
    /// Effective requests with missing CPU and memory defaulted (what the scores use).
    pub non_zero_requests: Resource,
    pub host_ports: Vec<HostPort>,
    pub required_affinity_terms: Vec<AffinityTerm>,
    pub required_anti_affinity_terms: Vec<AffinityTerm>,
    pub preferred_affinity_terms: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity_terms: Vec<WeightedAffinityTerm>,
    /// PersistentVolumeClaims the pod uses (`namespace/name`), including generic ephemeral volumes.
    pub pvc_keys: Vec<String>,
    /// The node the cache assumes the pod on while it is being bound ([`PodInfo::assumed_on`]);
    /// it stands for `spec.nodeName`, which the pod object itself does not carry yet.
    assumed_node: Option<Arc<str>>,
    /// Where the node's pod list holds this pod (a hint, `framework::pod_list`).
    pub(super) list_slot: ListSlot,
}

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let key = pod.metadata.uid.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| format!("{namespace}/{name}"));
        let spec = pod.spec.as_ref();
        let labels = pod.metadata.labels.as_ref().unwrap_or(no_labels());
        let affinity = spec.and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let terms = |ts: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            ts.into_iter().flatten().filter_map(|t| AffinityTerm::from_api(&namespace, t, labels)).collect()
        };
        let weighted =
            |ts: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>| -> Vec<WeightedAffinityTerm> {
                ts.into_iter()
                    .flatten()
                    .filter_map(|t| {
                        AffinityTerm::from_api(&namespace, &t.pod_affinity_term, labels)
                            .map(|term| WeightedAffinityTerm { term, weight: t.weight })
                    })
                    .collect()
            };
        let mut host_ports = Vec::new();
        for c in spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|hp| *hp > 0) {
                    host_ports.push(HostPort {
                        ip: p.host_ip.clone().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
                        protocol: p.protocol.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "TCP".into()),
                        port: hp,
                    });
                }
            }
        }
        let mut pvc_keys = Vec::new();
        for v in spec.and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
            if let Some(c) = &v.persistent_volume_claim {
                pvc_keys.push(format!("{namespace}/{}", c.claim_name));
            } else if v.ephemeral.is_some() {
                pvc_keys.push(format!("{namespace}/{name}-{}", v.name));
            }
        }
        PodInfo {
            key,
            priority: spec.and_then(|s| s.priority).unwrap_or(0),
            requests: resource::pod_requests(&pod),
            non_zero_requests: resource::pod_non_zero_requests(&pod),
            host_ports,
            required_affinity_terms: terms(
                pa.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            ),
            required_anti_affinity_terms: terms(
                paa.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            ),
            preferred_affinity_terms: weighted(
                pa.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
            ),
            preferred_anti_affinity_terms: weighted(
                paa.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
            ),
            pvc_keys,
            namespace,
            name,
            pod,
            assumed_node: None,
            list_slot: ListSlot::default(),
        }
    }

    /// The PodInfo of a newer version of this pod. What is parsed from the pod is kept when
    /// everything it is parsed from is unchanged, as it is when the pod is bound or its status
    /// changes; otherwise the pod is parsed afresh.
    pub fn updated(&self, pod: Arc<Pod>) -> PodInfo {
        if same_parsed_inputs(&self.pod, &pod) {
            PodInfo { pod, assumed_node: None, ..self.clone() }
        } else {
            PodInfo::new(pod)
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.pod.metadata.labels.as_ref().unwrap_or(no_labels())
    }

    pub fn node_name(&self) -> &str {
        match &self.assumed_node {
            Some(node) => node,
            None => self.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default(),
        }
    }

    pub fn scheduler_name(&self) -> &str {
        self.pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).unwrap_or("default-scheduler")
    }

    pub fn nominated_node_name(&self) -> &str {
        self.pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).unwrap_or_default()
    }

    pub fn is_terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }

    pub fn has_affinity(&self) -> bool {
        !self.required_affinity_terms.is_empty()
            || !self.required_anti_affinity_terms.is_empty()
            || !self.preferred_affinity_terms.is_empty()
            || !self.preferred_anti_affinity_terms.is_empty()
    }

    /// This pod assigned to `node` (what the cache assumes while binding). The pod object is
    /// shared, not copied: its node is [`PodInfo::node_name`], and everything parsed from the
    /// spec stays valid.
    pub fn assumed_on(&self, node: &str) -> PodInfo {
        PodInfo { assumed_node: Some(Arc::from(node)), ..self.clone() }
    }

    /// The pod's QoS class is BestEffort: no container requests or limits anything.
    pub fn is_best_effort(&self) -> bool {
        let Some(spec) = self.pod.spec.as_ref() else { return true };
        spec.containers.iter().chain(spec.init_containers.iter().flatten()).all(|c| {
            c.resources.as_ref().is_none_or(|r| {
                r.requests.as_ref().is_none_or(|m| m.is_empty()) && r.limits.as_ref().is_none_or(|m| m.is_empty())
            })
        }) && !resource::has_pod_level_resources(&self.pod)
    }
}

/// Whether two versions of a pod agree on everything [`PodInfo::new`] reads: the identity and
/// labels, and the parts of the spec that requests, host ports, affinity terms and claims come
/// from.
fn same_parsed_inputs(a: &Pod, b: &Pod) -> bool {
    let (ma, mb) = (&a.metadata, &b.metadata);
    if ma.uid != mb.uid || ma.namespace != mb.namespace || ma.name != mb.name || ma.labels != mb.labels {
        return false;
    }
    match (a.spec.as_ref(), b.spec.as_ref()) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            x.priority == y.priority
                && x.containers == y.containers
                && x.init_containers == y.init_containers
                && x.overhead == y.overhead
                && x.resources == y.resources
                && x.affinity == y.affinity
                && x.volumes == y.volumes
        }
        _ => false,
    }
}

/// An image on a node: its size, and on how many nodes it is (`ImageStateSummary`).
#[derive(Clone, Debug, Default)]
pub struct ImageState {
    pub size: i64,
}

/// A node and the aggregate of the pods on it (`framework.NodeInfo`).
///
/// The layout is fixed (`repr(C)`) so that what the default filters and scores read for every
/// node of a cycle (the node's presence, unschedulable flag, taints, resources, pod count,
/// ports, images) sits together in the first few cache lines: a cycle visits hundreds of nodes
/// once each, and their cache misses were most of the scheduler's time (see [`NodeInfo::prefetch`]).
/// The name comes first, beside the `Arc`'s reference count: a node whose results come from
/// `scheduler::results_memo` is touched there only.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct NodeInfo {
    pub name: Arc<str>,
    /// `None` while pods are known on a node the cache has not seen yet.
    pub node: Option<Arc<Node>>,
    pub unschedulable: bool,
    /// NoSchedule and NoExecute taints (the ones the filter considers).
    pub taints: Vec<Taint>,
    /// PreferNoSchedule taints (the ones TaintToleration scores).
    pub prefer_no_schedule_taints: Vec<Taint>,
    pub requested: Resource,
    pub non_zero_requested: Resource,
    pub allocatable: Resource,
    pub pods: PodList,
    pub used_ports: Vec<HostPort>,
    /// Images on the node by every name they are known by.
    pub images: HashMap<String, ImageState>,
    /// The node's labels, in the form every cycle reads them ([`NodeInfo::label`]).
    node_labels: NodeLabels,
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// PVC `namespace/name` to the number of pods on the node using it.
    pub pvc_ref_counts: HashMap<String, usize>,
    pub generation: u64,
}

/// The bytes of a NodeInfo every cycle reads (everything up to the labels).
const NODE_INFO_HOT_BYTES: usize = std::mem::offset_of!(NodeInfo, node_labels) + std::mem::size_of::<NodeLabels>();

impl NodeInfo {
    /// Asks the CPU to start loading the fields a cycle reads, so that a loop over nodes can
    /// fetch the next nodes while it works on this one. It has no effect on the program's state.
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let base = (self as *const NodeInfo).cast::<i8>();
            // Every cache line the hot bytes touch: the value need not start on a line.
            let skew = (base as usize % 64) as isize;
            let mut off = -skew;
            while off < NODE_INFO_HOT_BYTES as isize {
                // SAFETY: a prefetch is a hint that never faults and reads nothing the program
                // sees, whatever the address; the pointer is only computed, never dereferenced.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_offset(off)) };
                off += 64;
            }
        }
    }

    /// Asks the CPU to start loading the node's labels; the node itself should have been
    /// fetched (`prefetch`) a little earlier, since the labels' address is read from it.
    #[inline]
    pub fn prefetch_labels(&self) {
        self.node_labels.prefetch();
    }

    pub fn new(name: &str) -> NodeInfo {
        NodeInfo {
            name: Arc::from(name),
            node: None,
            pods: PodList::default(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            used_ports: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            allocatable: Resource::default(),
            images: HashMap::new(),
            node_labels: NodeLabels::default(),
            pvc_ref_counts: HashMap::new(),
            taints: Vec::new(),
            prefer_no_schedule_taints: Vec::new(),
            unschedulable: false,
            generation: next_generation(),
        }
    }

    /// A NodeInfo for `node` without pods.
    pub fn from_node(node: Arc<Node>) -> NodeInfo {
        let mut ni = NodeInfo::new(node.metadata.name.as_deref().unwrap_or_default());
        ni.set_node(node);
        ni
    }

    /// Replaces the node object, keeping the pods (`SetNode`).
    pub fn set_node(&mut self, node: Arc<Node>) {
        let status = node.status.as_ref();
        self.allocatable = status.and_then(|s| s.allocatable.as_ref()).map(Resource::from_list).unwrap_or_default();
        self.images.clear();
        for image in status.and_then(|s| s.images.as_ref()).into_iter().flatten() {
            for name in image.names.iter().flatten() {
                self.images.insert(normalized_image_name(name), ImageState { size: image.size_bytes.unwrap_or(0) });
            }
        }
        let spec = node.spec.as_ref();
        self.taints = spec
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .cloned()
            .collect();
        self.prefer_no_schedule_taints = spec
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .filter(|t| t.effect == "PreferNoSchedule")
            .cloned()
            .collect();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        self.node_labels = NodeLabels::new(node.metadata.labels.as_ref().unwrap_or(no_labels()));
        self.node = Some(node);
        self.generation = next_generation();
    }

    /// Forgets the node object, keeping the pods (the node was deleted before its pods).
    pub fn clear_node(&mut self) {
        self.node = None;
        self.node_labels = NodeLabels::default();
        self.generation = next_generation();
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.node.as_ref().and_then(|n| n.metadata.labels.as_ref()).unwrap_or(no_labels())
    }

    /// The node's labels, for lookups by key in the loops over nodes (faster than `labels`).
    pub fn node_labels(&self) -> &NodeLabels {
        &self.node_labels
    }

    /// One label of the node.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.node_labels.get(key)
    }

    /// Adds a pod's requests, ports and PVCs (`AddPodInfo`).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.milli_cpu += pod.non_zero_requests.milli_cpu;
        self.non_zero_requested.memory += pod.non_zero_requests.memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        for k in &pod.pvc_keys {
            *self.pvc_ref_counts.entry(k.clone()).or_default() += 1;
        }
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity_terms.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
        self.generation = next_generation();
    }

    /// Removes a pod (found by identity, else by key); false when it is not on this node
    /// (`RemovePod`).
    pub fn remove_pod(&mut self, pod: &PodInfo) -> bool {
        let key = pod.key.as_str();
        let Some(pod) = self.pods.remove(pod) else { return false };
        self.pods_with_affinity.retain(|p| p.key != key);
        self.pods_with_required_anti_affinity.retain(|p| p.key != key);
        self.requested.sub(&pod.requests);
        self.non_zero_requested.milli_cpu -= pod.non_zero_requests.milli_cpu;
        self.non_zero_requested.memory -= pod.non_zero_requests.memory;
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        for k in &pod.pvc_keys {
            if let Some(c) = self.pvc_ref_counts.get_mut(k) {
                *c -= 1;
                if *c == 0 {
                    self.pvc_ref_counts.remove(k);
                }
            }
        }
        self.generation = next_generation();
        true
    }
}

/// An image name as the kubelet reports it and as a pod names it, compared the same way
/// (`normalizedImageName`): a name without tag or digest means `:latest`.
pub fn normalized_image_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') || last.contains(':') { name.to_string() } else { format!("{name}:latest") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{PodBuilder, affinity_term};

    fn parsed(p: &PodInfo) -> (Resource, Resource, Vec<HostPort>, Vec<String>, usize, i32) {
        let terms = p.required_affinity_terms.len() + p.preferred_anti_affinity_terms.len();
        (p.requests.clone(), p.non_zero_requests.clone(), p.host_ports.clone(), p.pvc_keys.clone(), terms, p.priority)
    }

    fn sample() -> PodBuilder {
        PodBuilder::new("p")
            .label("app", "web")
            .priority(7)
            .req(&[("cpu", "250m"), ("memory", "64Mi")])
            .init_container(&[("cpu", "1")], true)
            .host_port(8080, "TCP", "")
            .pvc("data")
            .pod_affinity(false, affinity_term(&[("app", "db")], "zone"))
            .preferred_pod_affinity(true, 3, affinity_term(&[("app", "web")], "kubernetes.io/hostname"))
    }

    #[test]
    fn an_update_keeps_or_reparses_what_the_pod_gives() {
        let old = sample().info();
        // Bound, with a status: everything parsed is the same, and is what a fresh parse gives.
        let mut bound = sample().node_name("n1").pod();
        bound.status =
            Some(k8s_openapi::api::core::v1::PodStatus { phase: Some("Running".into()), ..Default::default() });
        let kept = old.updated(Arc::new(bound.clone()));
        assert_eq!(kept.node_name(), "n1");
        // An assumed pod shares the object; its node is the assumed one until the bound pod
        // arrives.
        let assumed = old.assumed_on("n9");
        assert!(Arc::ptr_eq(&assumed.pod, &old.pod));
        assert_eq!((assumed.node_name(), old.node_name()), ("n9", ""));
        assert_eq!(parsed(&assumed), parsed(&old));
        assert_eq!(assumed.updated(Arc::new(sample().node_name("n1").pod())).node_name(), "n1");
        assert_eq!(assumed.updated(Arc::new(sample().pod())).node_name(), "");
        assert_eq!(parsed(&kept), parsed(&PodInfo::new(Arc::new(bound))));
        // A resize, a new priority or port is parsed afresh.
        for changed in
            [sample().req(&[("cpu", "2")]).pod(), sample().priority(9).pod(), sample().host_port(9090, "UDP", "").pod()]
        {
            let fresh = PodInfo::new(Arc::new(changed.clone()));
            assert_ne!(parsed(&fresh), parsed(&old), "the sample change must change what is parsed");
            assert_eq!(parsed(&old.updated(Arc::new(changed))), parsed(&fresh));
        }
        // Labels feed the affinity terms (matchLabelKeys): a term keyed on a label picks up
        // the label's new value.
        let keyed = |value: &str| {
            let mut term = affinity_term(&[("app", "db")], "zone");
            term.match_label_keys = Some(vec!["tier".into()]);
            PodBuilder::new("p").label("tier", value).pod_affinity(false, term).pod()
        };
        let before = PodInfo::new(Arc::new(keyed("front")));
        let after = before.updated(Arc::new(keyed("back")));
        let selects = |p: &PodInfo, tier: &str| {
            let other = PodBuilder::new("o").label("app", "db").label("tier", tier).info();
            p.required_affinity_terms[0].matches(&other, &BTreeMap::new())
        };
        assert!(selects(&before, "front") && !selects(&before, "back"));
        assert!(selects(&after, "back") && !selects(&after, "front"));
    }
}
