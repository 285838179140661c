//! Simulated nodes: a fleet of "hollow" kubelets in one task set, as KWOK's. They register
//! Nodes, renew their Leases, and move the pods bound to them through realistic statuses
//! (Pending, Running with a pod IP and ready containers, Succeeded/Failed for Job pods,
//! terminal then gone on deletion) without running containers.
//!
//! Built for upstream's scalability limits in one process (5,000 nodes, 150,000 pods): one pod
//! watch for the whole fleet, a compact record per pod, one timer queue, and a bounded pool of
//! concurrent writes.

mod pods;
mod timers;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeSystemInfo, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use self::pods::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};
use self::pods::{SimPod, Stage};
use self::timers::{Action, Timers};
use crate::error::{Error, Result, kube_conflict, kube_not_found};
use crate::lease::{LeaseRenewer, RENEW_INTERVAL};
use crate::node::object::{self, Health, KUBELET_VERSION, NodeDescription};
use crate::options::SimOptions;

/// Label on every simulated node, so tests and benchmarks can select them.
pub const SIM_NODE_LABEL: &str = "node.krs.io/simulated";

struct SimNode {
    name: String,
    ip: Ipv4Addr,
    next_pod: AtomicU32,
}

struct StatusWrite {
    namespace: Box<str>,
    name: Box<str>,
    patch: serde_json::Value,
}

struct Fleet {
    opts: SimOptions,
    nodes: Vec<SimNode>,
    index: HashMap<String, u32>,
    pod_ip_base: u32,
    pods: Mutex<HashMap<Arc<str>, SimPod>>,
    timers: Timers,
    writes: Arc<Semaphore>,
    pods_api: Api<Pod>,
    nodes_api: Api<Node>,
}

/// Runs the fleet until `shutdown` completes. Nodes stay registered afterwards (as when
/// kubelets stop): the node lifecycle controller notices the expired leases.
pub async fn run(client: Client, opts: SimOptions, shutdown: impl Future<Output = ()>) -> Result<()> {
    let pod_ip_base = parse_v4_cidr(&opts.pod_ip_range)
        .ok_or_else(|| Error::Config(format!("sim pod IP range {:?} is not an IPv4 CIDR", opts.pod_ip_range)))?;
    let nodes: Vec<SimNode> = (0..opts.nodes)
        .map(|i| SimNode {
            name: format!("{}{i}", opts.name_prefix),
            // Node addresses: 172.16.0.0/12, one per node.
            ip: Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 16, 0, 1)) + i as u32),
            next_pod: AtomicU32::new(0),
        })
        .collect();
    let index = nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i as u32)).collect();
    let fleet = Arc::new(Fleet {
        writes: Arc::new(Semaphore::new(opts.write_concurrency.max(1))),
        opts,
        nodes,
        index,
        pod_ip_base,
        pods: Mutex::new(HashMap::new()),
        timers: Timers::default(),
        pods_api: Api::all(client.clone()),
        nodes_api: Api::all(client.clone()),
    });
    let started = std::time::Instant::now();
    let uids = fleet.register_nodes().await;
    tracing::info!(nodes = fleet.nodes.len(), elapsed = ?started.elapsed(), "simulated nodes registered");

    let tasks = [
        tokio::spawn(fleet.clone().heartbeats(client.clone(), uids)),
        tokio::spawn(fleet.clone().watch_pods()),
        tokio::spawn(fleet.clone().dispatch()),
    ];
    shutdown.await;
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// The network address of an IPv4 CIDR.
fn parse_v4_cidr(s: &str) -> Option<u32> {
    let (addr, len) = s.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(u32::from(addr) & mask)
}

impl Fleet {
    fn description(&self, node: &SimNode) -> NodeDescription {
        let mut extra = BTreeMap::from([(SIM_NODE_LABEL.to_owned(), "true".to_owned())]);
        extra.insert("type".to_owned(), "krs-sim".to_owned());
        let mut resources = BTreeMap::new();
        resources.insert("cpu".to_owned(), Quantity(self.opts.cpu.clone()));
        resources.insert("memory".to_owned(), Quantity(self.opts.memory.clone()));
        resources.insert("ephemeral-storage".to_owned(), Quantity("100Gi".into()));
        resources.insert("pods".to_owned(), Quantity(self.opts.max_pods.to_string()));
        resources.insert("hugepages-2Mi".to_owned(), Quantity("0".into()));
        resources.insert("hugepages-1Gi".to_owned(), Quantity("0".into()));
        NodeDescription {
            name: node.name.clone(),
            hostname: node.name.clone(),
            labels: object::labels(&node.name, &extra),
            taints: Vec::new(),
            addresses: vec![
                NodeAddress { type_: "InternalIP".into(), address: node.ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: node.name.clone() },
            ],
            capacity: resources.clone(),
            allocatable: resources,
            node_info: NodeSystemInfo {
                architecture: "amd64".into(),
                operating_system: "linux".into(),
                os_image: "krs simulated node".into(),
                kernel_version: "sim".into(),
                container_runtime_version: "sim://1.0.0".into(),
                kubelet_version: KUBELET_VERSION.into(),
                machine_id: node.name.clone(),
                system_uuid: node.name.clone(),
                boot_id: node.name.clone(),
                ..Default::default()
            },
            kubelet_port: 10250,
        }
    }

    /// Registers every node (creating it, or refreshing an existing one's status) and returns
    /// their UIDs. Failures are retried until they succeed.
    async fn register_nodes(self: &Arc<Self>) -> Vec<Option<String>> {
        let concurrency = self.opts.write_concurrency.max(1);
        futures::stream::iter(0..self.nodes.len())
            .map(|i| {
                let fleet = self.clone();
                async move {
                    let mut delay = Duration::from_millis(200);
                    loop {
                        match fleet.register(i).await {
                            Ok(uid) => return uid,
                            Err(e) => {
                                tracing::warn!(node = %fleet.nodes[i].name, error = %e, "registering simulated node");
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(5));
                            }
                        }
                    }
                }
            })
            .buffered(concurrency)
            .collect()
            .await
    }

    async fn register(&self, i: usize) -> Result<Option<String>> {
        let d = self.description(&self.nodes[i]);
        let node = object::initial_node(&d, &Health::default(), jiff::Timestamp::now());
        match self.nodes_api.create(&PostParams::default(), &node).await {
            Ok(n) => Ok(n.metadata.uid),
            Err(e) if kube_conflict(&e) => {
                let patch = serde_json::json!({"metadata": {"labels": d.labels}});
                self.nodes_api.patch(&d.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
                let status = serde_json::json!({"status": node.status});
                let n = self.nodes_api.patch_status(&d.name, &PatchParams::default(), &Patch::Merge(&status)).await?;
                Ok(n.metadata.uid)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Renews every node's lease each 10 s, spread over the interval, and re-reports each
    /// node's status every nodeStatusReportFrequency (5 min), as upstream kubelets do.
    async fn heartbeats(self: Arc<Self>, client: Client, uids: Vec<Option<String>>) {
        const SLOTS: usize = 100;
        const REPORT_EVERY: u64 = 30; // rounds of RENEW_INTERVAL: 5 minutes
        let renewers: Vec<tokio::sync::Mutex<LeaseRenewer>> = self
            .nodes
            .iter()
            .zip(uids)
            .map(|(n, uid)| tokio::sync::Mutex::new(LeaseRenewer::new(client.clone(), &n.name, uid)))
            .collect();
        let renewers = Arc::new(renewers);
        let mut tick = tokio::time::interval(RENEW_INTERVAL / SLOTS as u32);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            let slot = (n % SLOTS as u64) as usize;
            let round = n / SLOTS as u64;
            n += 1;
            let fleet = self.clone();
            let renewers = renewers.clone();
            // Each slot runs on its own so one slow slot doesn't delay the others' heartbeats.
            tokio::spawn(async move {
                let members = (slot..fleet.nodes.len()).step_by(SLOTS);
                futures::stream::iter(members)
                    .for_each_concurrent(fleet.opts.write_concurrency.max(1), |i| {
                        let fleet = fleet.clone();
                        let renewers = renewers.clone();
                        async move {
                            let _permit = fleet.writes.acquire().await;
                            if let Err(e) = renewers[i].lock().await.renew().await {
                                tracing::warn!(node = %fleet.nodes[i].name, error = %e, "renewing simulated node lease");
                            }
                            if round > 0 && round.is_multiple_of(REPORT_EVERY) {
                                fleet.report_node_status(i).await;
                            }
                        }
                    })
                    .await;
            });
        }
    }

    async fn report_node_status(&self, i: usize) {
        let d = self.description(&self.nodes[i]);
        let previous = match self.nodes_api.get_status(&d.name).await {
            Ok(n) => n.status.and_then(|s| s.conditions).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(node = %d.name, error = %e, "reading simulated node");
                return;
            }
        };
        let status = object::status(&d, &Health::default(), &previous, jiff::Timestamp::now());
        let patch = serde_json::json!({"status": status});
        if let Err(e) = self.nodes_api.patch_status(&d.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            tracing::warn!(node = %d.name, error = %e, "reporting simulated node status");
        }
    }

    /// One watch of every scheduled pod; the fleet keeps those bound to its nodes.
    async fn watch_pods(self: Arc<Self>) {
        let config = watcher::Config::default().fields("spec.nodeName!=");
        let mut stream = watcher(self.pods_api.clone(), config).boxed();
        let mut relisted: Option<HashSet<Arc<str>>> = None;
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Apply(pod))) => self.observe(&pod),
                Ok(Some(watcher::Event::Delete(pod))) => {
                    if let Some(uid) = pod.metadata.uid.as_deref() {
                        self.pods.lock().remove(uid);
                    }
                }
                Ok(Some(watcher::Event::Init)) => relisted = Some(HashSet::new()),
                Ok(Some(watcher::Event::InitApply(pod))) => {
                    if let (Some(seen), Some(uid)) = (relisted.as_mut(), pod.metadata.uid.as_deref()) {
                        seen.insert(uid.into());
                    }
                    self.observe(&pod);
                }
                Ok(Some(watcher::Event::InitDone)) => {
                    // Pods missing from a relist were deleted while the watch was down.
                    if let Some(seen) = relisted.take() {
                        self.pods.lock().retain(|uid, _| seen.contains(uid));
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "simulated nodes: pod watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn allocate_ip(&self, node: u32) -> Ipv4Addr {
        let n = self.nodes[node as usize].next_pod.fetch_add(1, Ordering::Relaxed);
        Ipv4Addr::from(self.pod_ip_base.wrapping_add(node << 8).wrapping_add(2 + n % 253))
    }

    fn observe(&self, pod: &Pod) {
        let Some(uid) = pod.metadata.uid.as_deref() else { return };
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(|n| self.index.get(n)) else {
            return;
        };
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let now = Instant::now();
        let mut pods = self.pods.lock();
        if let Some(p) = pods.get_mut(uid) {
            if deleting {
                self.start_termination(p, uid.into(), now);
            }
            return;
        }
        let status = pod.status.as_ref();
        let ip = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse().ok())
            .unwrap_or_else(|| self.allocate_ip(*node));
        let Some(mut p) = SimPod::new(pod, *node, ip, self.opts.job_duration, self.opts.job_exit_code) else { return };
        let uid: Arc<str> = uid.into();
        match status.and_then(|s| s.phase.as_deref()) {
            Some("Succeeded" | "Failed") => p.stage = Stage::Completed,
            Some("Running") => {
                // Adopted after a restart of the fleet: it keeps running.
                p.stage = Stage::Running;
                p.running_since = Some(jiff::Timestamp::now());
                if let Some(d) = p.run_for {
                    self.timers.schedule(now + d, uid.clone(), Action::Exit);
                }
            }
            _ if !deleting => {
                if self.opts.report_pending {
                    self.timers.schedule(now, uid.clone(), Action::Pending);
                }
                self.timers.schedule(now + self.opts.start_delay, uid.clone(), Action::Run);
            }
            _ => {}
        }
        if deleting {
            self.start_termination(&mut p, uid.clone(), now);
        }
        pods.insert(uid, p);
    }

    fn start_termination(&self, p: &mut SimPod, uid: Arc<str>, now: Instant) {
        if p.delete_scheduled {
            return;
        }
        p.delete_scheduled = true;
        // A pod already terminal is only deleted; others get their terminal status first.
        if p.stage != Stage::Completed {
            p.stage = Stage::Terminating;
        }
        self.timers.schedule(now + self.opts.delete_delay, uid, Action::Terminate);
    }

    /// Hands due timer entries to concurrent writers.
    async fn dispatch(self: Arc<Self>) {
        loop {
            for (uid, action) in self.timers.next_due().await {
                let Ok(permit) = self.writes.clone().acquire_owned().await else { return };
                let fleet = self.clone();
                tokio::spawn(async move {
                    fleet.act(uid, action).await;
                    drop(permit);
                });
            }
        }
    }

    /// Moves the pod's state for `action`. Returns the status patch to write (namespace, name,
    /// body) and whether the pod is then deleted; stale actions (the pod moved on) return
    /// nothing.
    fn advance(&self, uid: &Arc<str>, action: Action, now: jiff::Timestamp) -> (Option<StatusWrite>, bool) {
        let mut pods = self.pods.lock();
        let Some(p) = pods.get_mut(uid) else { return (None, false) };
        match (action, p.stage) {
            (Action::Pending, Stage::New) => p.stage = Stage::Pending,
            (Action::Run, Stage::New | Stage::Pending) => {
                p.stage = Stage::Running;
                p.running_since = Some(now);
                if let Some(d) = p.run_for {
                    self.timers.schedule(Instant::now() + d, uid.clone(), Action::Exit);
                }
            }
            (Action::Exit, Stage::Running) => {
                let started = p.running_since.unwrap_or(now);
                p.last_exit = Some((p.exit_code, started, now));
                if p.restarts_after_exit() {
                    p.restarts += 1;
                    p.running_since = Some(now);
                    if let Some(d) = p.run_for {
                        self.timers.schedule(Instant::now() + d, uid.clone(), Action::Exit);
                    }
                } else {
                    p.stage = Stage::Completed;
                }
            }
            (Action::Terminate, Stage::Terminating) => {}
            (Action::Terminate, Stage::Completed) => return (None, true),
            _ => return (None, false),
        }
        let host = self.nodes[p.node as usize].ip;
        let patch = p.status_patch(uid, host, now);
        (Some(StatusWrite { namespace: p.namespace.clone(), name: p.name.clone(), patch }), action == Action::Terminate)
    }

    async fn act(&self, uid: Arc<str>, action: Action) {
        let (write, delete) = self.advance(&uid, action, jiff::Timestamp::now());
        if let Some(w) = write {
            let api: Api<Pod> = Api::namespaced(self.pods_api.clone().into_client(), &w.namespace);
            for attempt in 0..5 {
                match api.patch_status(&w.name, &PatchParams::default(), &Patch::Strategic(&w.patch)).await {
                    Ok(_) => break,
                    Err(e) if kube_not_found(&e) || kube_conflict(&e) => {
                        // Gone, or a new pod of the same name: this one is over.
                        self.pods.lock().remove(&uid);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(pod = %format!("{}/{}", w.namespace, w.name), error = %e, attempt, "simulated pod status");
                        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    }
                }
            }
        }
        if delete {
            self.delete(&uid).await;
        }
    }

    /// The final deletion of a terminated pod (grace period 0, only this pod's UID).
    async fn delete(&self, uid: &Arc<str>) {
        let Some((ns, name)) = self.pods.lock().get(uid).map(|p| (p.namespace.clone(), p.name.clone())) else { return };
        let api: Api<Pod> = Api::namespaced(self.pods_api.clone().into_client(), &ns);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(uid.to_string()), resource_version: None }),
            ..Default::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => {}
            Err(e) if kube_not_found(&e) || kube_conflict(&e) => {
                self.pods.lock().remove(uid);
            }
            Err(e) => tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "deleting simulated pod"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_v4_cidr("10.128.0.0/9"), Some(u32::from(Ipv4Addr::new(10, 128, 0, 0))));
        assert_eq!(parse_v4_cidr("10.200.3.4/9"), Some(u32::from(Ipv4Addr::new(10, 128, 0, 0))));
        assert_eq!(parse_v4_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_v4_cidr("nonsense"), None);
    }
}
