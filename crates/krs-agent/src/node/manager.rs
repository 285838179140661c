//! The real node: registration and the status loop (conditions, capacity, images), as
//! upstream's kubelet_node_status.go.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ContainerImage, Node, NodeAddress, NodeCondition, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use parking_lot::Mutex;

use super::host;
use super::object::{self, Health, KUBELET_VERSION, NodeDescription};
use crate::error::{Result, kube_conflict};
use crate::events::{Events, NORMAL};
use crate::eviction::{EvictionHard, Observations};
use crate::options::AgentOptions;
use crate::ratelimit::RateLimiter;
use crate::runtime::DynRuntime;

pub struct NodeManager {
    api: Api<Node>,
    limiter: Arc<RateLimiter>,
    runtime: DynRuntime,
    /// Where the node's own files (nodefs) and the runtime's images (imagefs) are.
    data_dir: PathBuf,
    image_dir: PathBuf,
    eviction_hard: EvictionHard,
    pub description: NodeDescription,
    report_every: Duration,
    last: Mutex<Option<(NodeStatus, Instant)>>,
    /// The Node as the API last showed it (labels and taints set by others included).
    latest: Mutex<Option<Arc<Node>>>,
    /// Set while the node shuts down: it reports NotReady.
    shutting_down: Mutex<bool>,
    events: Events,
}

impl NodeManager {
    pub async fn new(
        client: Client,
        limiter: Arc<RateLimiter>,
        runtime: DynRuntime,
        o: &AgentOptions,
        events: Events,
    ) -> NodeManager {
        let cap = host::capacity(&o.data_dir);
        let id = host::identity();
        let hostname = host::hostname();
        let ip = o.node_ip.unwrap_or_else(host::default_ip);
        let hugepages_total: u64 = cap.hugepages.values().sum();
        let capacity = object::resource_list(
            cap.cpus * 1000,
            cap.memory_bytes,
            cap.ephemeral_storage_bytes,
            o.max_pods,
            &cap.hugepages,
        );
        // Upstream's allocatable: capacity less the hard eviction thresholds of memory and nodefs.
        let evict = &o.eviction_hard;
        let memory_threshold = evict.memory_available.map_or(0, |t| t.amount(cap.memory_bytes));
        let nodefs_threshold = evict.nodefs_available.map_or(0, |t| t.amount(cap.ephemeral_storage_bytes));
        let allocatable = object::resource_list(
            cap.cpus * 1000,
            cap.memory_bytes.saturating_sub(memory_threshold).saturating_sub(hugepages_total),
            cap.ephemeral_storage_bytes.saturating_sub(nodefs_threshold),
            o.max_pods,
            &cap.hugepages,
        );
        let runtime_version = runtime.version().await.unwrap_or_else(|_| "containerd://unknown".into());
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        let description = NodeDescription {
            name: o.node_name.clone(),
            hostname: hostname.clone(),
            labels: object::labels(&o.node_name, &o.node_labels),
            taints: o.register_with_taints.clone(),
            addresses: vec![
                NodeAddress { type_: "InternalIP".into(), address: ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: hostname },
            ],
            capacity,
            allocatable,
            node_info: NodeSystemInfo {
                machine_id: id.machine_id,
                system_uuid: id.system_uuid,
                boot_id: id.boot_id,
                kernel_version: id.kernel_version,
                os_image: id.os_image,
                container_runtime_version: runtime_version,
                kubelet_version: KUBELET_VERSION.into(),
                operating_system: "linux".into(),
                architecture: arch.into(),
                ..Default::default()
            },
            kubelet_port: i32::from(o.port),
        };
        NodeManager {
            api: Api::all(client),
            limiter,
            runtime,
            data_dir: o.data_dir.clone(),
            image_dir: image_dir(o),
            eviction_hard: o.eviction_hard.clone(),
            description,
            report_every: o.node_status_report_frequency,
            last: Mutex::new(None),
            latest: Mutex::new(None),
            shutting_down: Mutex::new(false),
            events,
        }
    }

    pub fn host_ips(&self) -> Vec<String> {
        self.description.addresses.iter().filter(|a| a.type_ == "InternalIP").map(|a| a.address.clone()).collect()
    }

    pub fn allocatable(&self) -> BTreeMap<String, Quantity> {
        self.description.allocatable.clone()
    }

    /// Whether the last status this agent wrote had the node Ready.
    pub fn reported_ready(&self) -> bool {
        self.last
            .lock()
            .as_ref()
            .is_some_and(|(s, _)| s.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True"))
    }

    /// Whether the node would report Ready now (runtime and network up), asked locally.
    pub async fn ready_now(&self) -> bool {
        self.health().await.not_ready.is_none()
    }

    pub fn set_shutting_down(&self) {
        *self.shutting_down.lock() = true;
    }

    async fn health(&self) -> Health {
        let mut h = Health::default();
        match self.runtime.health().await {
            Ok(r) if r.runtime_ready && r.network_ready => {}
            Ok(r) => h.not_ready = Some(r.message),
            Err(e) => h.not_ready = Some(format!("container runtime is down: {e}")),
        }
        if *self.shutting_down.lock() {
            h.not_ready = Some("node is shutting down".into());
        }
        h.pressure = self.eviction_hard.pressure(&Observations::read(&self.data_dir, &self.image_dir));
        h
    }

    async fn images(&self) -> Vec<ContainerImage> {
        let mut images = self.runtime.images().await.unwrap_or_default();
        images.sort_by_key(|i| std::cmp::Reverse(i.size));
        images
            .into_iter()
            .take(50)
            .map(|i| ContainerImage { names: Some(i.names), size_bytes: Some(i.size as i64) })
            .collect()
    }

    /// Creates the Node, or brings an existing one (a restarted agent) up to date.
    pub async fn register(&self) -> Result<Node> {
        let now = jiff::Timestamp::now();
        let health = self.health().await;
        let mut node = object::initial_node(&self.description, &health, now);
        if let Some(s) = node.status.as_mut() {
            s.images = Some(self.images().await);
        }
        self.events.node(&self.description.name, NORMAL, "Starting", "Starting kubelet.");
        self.limiter.acquire().await;
        match self.api.create(&PostParams::default(), &node).await {
            Ok(n) => {
                tracing::info!(node = %self.description.name, "node registered");
                let conditions = n.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
                self.record_transitions(&[], conditions);
                *self.last.lock() = n.status.clone().map(|s| (s, Instant::now()));
                *self.latest.lock() = Some(Arc::new(n.clone()));
                Ok(n)
            }
            Err(e) if kube_conflict(&e) => {
                let labels = serde_json::json!({"metadata": {"labels": self.description.labels}});
                self.limiter.acquire().await;
                self.api.patch(&self.description.name, &PatchParams::default(), &Patch::Merge(&labels)).await?;
                let n = self.sync_status(true).await?;
                tracing::info!(node = %self.description.name, "node already registered; status updated");
                Ok(n)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Computes the status and writes it if it changed or the report interval passed. Returns
    /// the node as the API has it.
    pub async fn sync_status(&self, force: bool) -> Result<Node> {
        self.limiter.acquire().await;
        let current = self.api.get(&self.description.name).await?;
        let previous = current.status.clone().unwrap_or_default();
        let health = self.health().await;
        let mut status = object::status(
            &self.description,
            &health,
            previous.conditions.as_deref().unwrap_or_default(),
            jiff::Timestamp::now(),
        );
        status.images = Some(self.images().await);
        let due = self.last.lock().as_ref().is_none_or(|(_, at)| at.elapsed() >= self.report_every);
        if !force && !due && !object::status_changed(&previous, &status) {
            *self.latest.lock() = Some(Arc::new(current.clone()));
            return Ok(current);
        }
        let patch = serde_json::json!({"status": status});
        self.limiter.acquire().await;
        let n = self.api.patch_status(&self.description.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.record_transitions(
            previous.conditions.as_deref().unwrap_or_default(),
            status.conditions.as_deref().unwrap_or_default(),
        );
        *self.last.lock() = Some((status, Instant::now()));
        *self.latest.lock() = Some(Arc::new(n.clone()));
        Ok(n)
    }

    /// Upstream's node status events (NodeReady, NodeHasDiskPressure, ...) for every condition
    /// whose status changed.
    fn record_transitions(&self, before: &[NodeCondition], after: &[NodeCondition]) {
        for c in after {
            if before.iter().any(|b| b.type_ == c.type_ && b.status == c.status) {
                continue;
            }
            let reason = match (c.type_.as_str(), c.status == "True") {
                ("Ready", true) => "NodeReady",
                ("Ready", false) => "NodeNotReady",
                ("MemoryPressure", true) => "NodeHasInsufficientMemory",
                ("MemoryPressure", false) => "NodeHasSufficientMemory",
                ("DiskPressure", true) => "NodeHasDiskPressure",
                ("DiskPressure", false) => "NodeHasNoDiskPressure",
                ("PIDPressure", true) => "NodeHasInsufficientPID",
                ("PIDPressure", false) => "NodeHasSufficientPID",
                _ => continue,
            };
            let name = &self.description.name;
            self.events.node(name, NORMAL, reason, format!("Node {name} status is now: {reason}"));
        }
    }

    /// The Node as last seen, else the one this agent would register.
    pub fn node(&self) -> Arc<Node> {
        if let Some(n) = self.latest.lock().clone() {
            return n;
        }
        let status = self.last.lock().as_ref().map(|(s, _)| s.clone());
        let mut n = object::initial_node(&self.description, &Health::default(), jiff::Timestamp::now());
        if status.is_some() {
            n.status = status;
        }
        Arc::new(n)
    }

    /// Reads the Node from the API again (its labels or taints may have changed since).
    pub async fn refresh(&self) -> Result<Arc<Node>> {
        self.limiter.acquire().await;
        let n = Arc::new(self.api.get(&self.description.name).await?);
        *self.latest.lock() = Some(n.clone());
        Ok(n)
    }

    /// The node's pressure conditions that are True (MemoryPressure, DiskPressure, PIDPressure).
    pub fn pressure_conditions(&self) -> Vec<&'static str> {
        let node = self.node();
        let conditions = node.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
        ["MemoryPressure", "DiskPressure", "PIDPressure"]
            .into_iter()
            .filter(|t| conditions.iter().any(|c| c.type_ == *t && c.status == "True"))
            .collect()
    }
}

/// The file system of the runtime's images: the supervised containerd's root in the data dir,
/// else a containerd's default root when it exists, else the data dir's.
fn image_dir(o: &AgentOptions) -> PathBuf {
    match &o.runtime {
        crate::RuntimeKind::Cri { socket: None } => crate::containerd::Layout::new(&o.data_dir).dir,
        _ => {
            let default = PathBuf::from("/var/lib/containerd");
            if default.is_dir() { default } else { o.data_dir.clone() }
        }
    }
}
