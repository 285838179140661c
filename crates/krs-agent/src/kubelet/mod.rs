//! The kubelet with a real container runtime: it registers the node, watches the pods bound to
//! it, runs one worker per pod, relists the runtime (PLEG) and reports status.

mod logrotate;
mod status;
mod sync;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::admission::{self, Rejection, SysctlAllowlist};
use crate::apicache::ApiCache;
use crate::containerd::{self, Supervised};
use crate::error::{Error, Result};
use crate::events::{Events, WARNING};
use crate::lease::{LeaseRenewer, RENEW_INTERVAL};
use crate::node::manager::NodeManager;
use crate::options::AgentOptions;
use crate::podworkers::{PodWorkers, Work};
use crate::probes::ProbeManager;
use crate::ratelimit::RateLimiter;
use crate::runtime::cri::client::CriClient;
use crate::runtime::cri::{CriRuntime, CriSettings};
use crate::runtime::{ContainerState, DnsSettings, DynRuntime};
use crate::status::manager::StatusManager;
use crate::volumes::VolumeManager;
use crate::{cni, dns};

/// Annotation of mirror pods (the API's copy of a static pod): not pods to run.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// How often a node not yet Ready checks its runtime and network after registering.
const FAST_STATUS_PERIOD: Duration = Duration::from_millis(100);
/// How long it keeps checking that often (upstream's nodeReadyGracePeriod).
const NODE_READY_GRACE: Duration = Duration::from_secs(120);

/// Container name → (waiting reason, message).
type Reasons = HashMap<String, (String, String)>;

pub struct Kubelet {
    opts: AgentOptions,
    client: Client,
    rt: DynRuntime,
    node: Arc<NodeManager>,
    status: StatusManager,
    probes: ProbeManager,
    volumes: VolumeManager,
    cache: Arc<ApiCache>,
    workers: Mutex<Option<PodWorkers>>,
    /// The pods the API binds to this node, by UID.
    pods: Mutex<HashMap<String, Arc<Pod>>>,
    /// Pods refused at admission (Failed, never started), by UID.
    rejected: Mutex<HashSet<String>>,
    sysctls: SysctlAllowlist,
    events: Events,
    /// Per pod: why containers are waiting (ErrImagePull, CrashLoopBackOff, ...).
    reasons: Mutex<HashMap<String, Reasons>>,
    /// Per pod: its last detailed runtime status (upstream's pod cache). A worker's sync reads
    /// it instead of asking the runtime again; the PLEG drops an entry (and wakes the worker)
    /// as soon as a relist shows the pod's containers or sandboxes in another state.
    runtime_cache: Mutex<HashMap<String, crate::runtime::RuntimePodStatus>>,
    /// The first list of pods has been seen: runtime pods unknown to it are orphans.
    synced: AtomicBool,
    host_dns: DnsSettings,
    node_uid: Mutex<Option<String>>,
    cluster_dns: Vec<String>,
    log_root: PathBuf,
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// Whether an update of a pod can change what its worker does: its spec, labels,
/// annotations or deletion changed, or its status did in a way the worker must react to (a
/// terminal phase set by someone else, conditions of its readiness gates).
fn needs_sync(old: &Pod, new: &Pod) -> bool {
    let (o, n) = (&old.metadata, &new.metadata);
    if old.spec != new.spec
        || o.labels != n.labels
        || o.annotations != n.annotations
        || o.deletion_timestamp != n.deletion_timestamp
        || o.deletion_grace_period_seconds != n.deletion_grace_period_seconds
    {
        return true;
    }
    if old.status == new.status {
        return false;
    }
    let terminal = matches!(new.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
    let gated = new.spec.as_ref().and_then(|s| s.readiness_gates.as_ref()).is_some_and(|g| !g.is_empty());
    terminal || gated
}

/// A pod no agent has started yet and that is still to run: it goes through admission.
/// Pods that already started (a restarted agent adopting them) are not judged again.
fn needs_admission(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    pod.metadata.deletion_timestamp.is_none()
        && !sync::is_terminal(status)
        && status.is_none_or(|s| s.start_time.is_none())
}

fn is_mirror(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR_ANNOTATION))
}

/// Runs the kubelet until `shutdown` completes.
pub async fn run(
    client: Client,
    opts: AgentOptions,
    socket: Option<PathBuf>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let data = opts.data_dir.clone();
    let mkdir = |p: &PathBuf| std::fs::create_dir_all(p).map_err(|e| Error::io(format!("creating {}", p.display()), e));
    for d in ["pods", "logs", "seccomp"] {
        mkdir(&data.join(d))?;
    }
    let log_root = data.join("logs");
    let mut supervised = None;
    let socket = match socket {
        Some(s) => s,
        None => {
            let cni_bin_dir = containerd::config::find_cni_bin_dir().ok_or_else(|| {
                Error::Containerd(
                    "no CNI plugins found in /usr/lib/cni or /opt/cni/bin: install containernetworking-plugins".into(),
                )
            })?;
            let settings = containerd::Settings {
                sandbox_image: opts.sandbox_image.clone(),
                cni_bin_dir,
                cni_conf_dir: cni::conf_dir(&data),
                insecure_registries: opts.insecure_registries.clone(),
            };
            let s = Supervised::start(&data, &settings).await?;
            let path = s.socket.clone();
            if opts.sandbox_image == crate::testing::PAUSE_IMAGE {
                import_local_images(&path, &data).await;
            }
            supervised = Some(s);
            path
        }
    };
    let result = run_with_runtime(client, opts, socket, log_root, shutdown).await;
    if let Some(s) = supervised {
        s.stop().await;
    }
    result
}

/// Builds krs's own sandbox image (and a busybox image) from the host's busybox-static and
/// imports them into the supervised containerd, so pods start without any registry. Without
/// busybox the agent still runs; pods then fail to start with the image error in their status.
async fn import_local_images(socket: &std::path::Path, data: &std::path::Path) {
    let (socket, work) = (socket.to_path_buf(), data.join("images"));
    let imported = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&work)?;
        crate::testing::import_test_images(&socket, &work)
    })
    .await;
    match imported {
        Ok(Ok(())) => tracing::info!(
            images = ?[crate::testing::PAUSE_IMAGE, crate::testing::BUSYBOX_IMAGE],
            "local images imported"
        ),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot build the local sandbox image (is busybox-static installed?)"),
        Err(e) => tracing::warn!(error = %e, "importing local images"),
    }
}

async fn run_with_runtime(
    client: Client,
    opts: AgentOptions,
    socket: PathBuf,
    log_root: PathBuf,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let sysctls = SysctlAllowlist::new(&opts.allowed_unsafe_sysctls, kernel.trim()).map_err(Error::Config)?;
    let events = Events::new(krs_events::EventBroadcaster::start(client.clone(), &opts.node_name).recorder("kubelet"));
    let cri = CriClient::connect_waiting(&socket, Duration::from_secs(30)).await?;
    let limiter = Arc::new(RateLimiter::new(opts.kube_api_qps, opts.kube_api_burst));
    let host_cap = crate::node::host::capacity(&opts.data_dir);
    let settings = CriSettings {
        log_root: log_root.clone(),
        seccomp_default: opts.seccomp_default,
        seccomp_dir: opts.data_dir.join("seccomp"),
        memory_capacity: host_cap.memory_bytes as i64,
    };
    let rt: DynRuntime = Arc::new(CriRuntime::new(cri, settings));
    let node = Arc::new(NodeManager::new(client.clone(), limiter.clone(), rt.clone(), &opts, events.clone()).await);
    let registered = loop {
        match node.register().await {
            Ok(n) => break n,
            Err(e) => {
                tracing::warn!(error = %e, "registering the node; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    ensure_pod_network(&opts, &registered);
    let cache = Arc::new(ApiCache::new(client.clone(), limiter.clone(), Duration::from_secs(5)));
    let (probe_tx, mut probe_rx) = mpsc::unbounded_channel();
    let kubelet = Arc::new(Kubelet {
        client: client.clone(),
        rt: rt.clone(),
        node: node.clone(),
        status: StatusManager::new(client.clone(), limiter.clone()),
        probes: ProbeManager::new(rt.clone(), probe_tx, events.clone()),
        events,
        volumes: VolumeManager::new(opts.data_dir.join("pods"), cache.clone()),
        cache,
        workers: Mutex::new(None),
        pods: Mutex::new(HashMap::new()),
        rejected: Mutex::new(HashSet::new()),
        sysctls,
        runtime_cache: Mutex::new(HashMap::new()),
        reasons: Mutex::new(HashMap::new()),
        synced: AtomicBool::new(false),
        host_dns: dns::host_resolv_conf(),
        node_uid: Mutex::new(registered.metadata.uid.clone()),
        cluster_dns: opts.cluster_dns.iter().map(|ip| ip.to_string()).collect(),
        log_root,
        opts,
    });
    let weak = Arc::downgrade(&kubelet);
    let workers = PodWorkers::new(Arc::new(move |work| {
        let weak = weak.clone();
        Box::pin(async move {
            match weak.upgrade() {
                Some(k) => k.handle(work).await,
                None => crate::podworkers::Outcome::Done,
            }
        })
    }));
    *kubelet.workers.lock() = Some(workers.clone());

    let mut tasks = vec![
        tokio::spawn(kubelet.status.clone().run(8)),
        tokio::spawn(kubelet.clone().watch_pods()),
        tokio::spawn(kubelet.clone().pleg()),
        tokio::spawn(kubelet.clone().node_status_loop()),
        tokio::spawn(kubelet.clone().eviction_loop()),
        tokio::spawn(lease_loop(client.clone(), kubelet.opts.node_name.clone(), registered.metadata.uid.clone())),
    ];
    tasks.push(tokio::spawn(logrotate::run(kubelet.clone())));
    let w = workers.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(uid) = probe_rx.recv().await {
            w.wake(&uid);
        }
    }));
    if let Some(server) = crate::server::start(kubelet.clone()).await? {
        tasks.push(server);
    }
    if let Some(dir) = kubelet.opts.static_pod_path.clone() {
        tasks.push(tokio::spawn(crate::staticpods::run(kubelet.clone(), dir)));
    }
    shutdown.await;
    tracing::info!("node agent stopping");
    if !kubelet.opts.shutdown_grace_period.is_zero() {
        kubelet.shutdown_node().await;
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// Writes the CNI config for the node's pod CIDR(s): the API's (set by the IPAM controller)
/// when it has one, else the configured one.
fn ensure_pod_network(opts: &AgentOptions, node: &k8s_openapi::api::core::v1::Node) {
    let spec = node.spec.as_ref();
    let mut cidrs = spec.and_then(|s| s.pod_cidrs.clone()).unwrap_or_default();
    if cidrs.is_empty() {
        cidrs.extend(spec.and_then(|s| s.pod_cidr.clone()));
    }
    if cidrs.is_empty() {
        cidrs.push(opts.pod_cidr.clone());
    }
    if let Err(e) = cni::ensure(&opts.data_dir, &cidrs) {
        tracing::error!(error = %e, "writing the CNI configuration");
    }
    if let Err(e) = cni::ensure_egress(&cidrs) {
        tracing::warn!(error = %e, "setting up pod egress masquerade");
    }
}

async fn lease_loop(client: Client, node: String, node_uid: Option<String>) {
    let mut renewer = LeaseRenewer::new(client, &node, node_uid);
    let mut tick = tokio::time::interval(RENEW_INTERVAL);
    loop {
        tick.tick().await;
        if let Err(e) = renewer.renew().await {
            tracing::warn!(error = %e, "renewing the node lease");
        }
    }
}

impl Kubelet {
    pub fn node_uid(&self) -> Option<String> {
        self.node_uid.lock().clone()
    }

    /// A static pod's mirror pod (its status is written there).
    pub fn set_mirror(&self, static_uid: &str, mirror_uid: Option<&str>) {
        self.status.set_mirror(static_uid, mirror_uid);
    }

    pub fn runtime(&self) -> &DynRuntime {
        &self.rt
    }

    pub fn options(&self) -> &AgentOptions {
        &self.opts
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn log_root(&self) -> &std::path::Path {
        &self.log_root
    }

    /// The pods this node runs (from the API and static manifests), by UID.
    pub fn pods(&self) -> Vec<Arc<Pod>> {
        self.pods.lock().values().cloned().collect()
    }

    /// Finds a pod by namespace and name.
    pub fn pod(&self, ns: &str, name: &str) -> Option<Arc<Pod>> {
        self.pods
            .lock()
            .values()
            .find(|p| p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name))
            .cloned()
    }

    fn workers(&self) -> Option<PodWorkers> {
        self.workers.lock().clone()
    }

    /// A pod to run (or one that changed). A pod new to the agent is admitted first (see
    /// [`crate::admission`]); a rejected one is Failed and never started. An update that changes
    /// nothing the worker acts on (the kubelet's own status writes coming back through the
    /// watch, mostly) only hands the worker the newer object, as upstream's pod config does
    /// (podsDifferSemantically).
    pub async fn upsert_pod(&self, pod: Arc<Pod>) {
        let u = uid(&pod);
        let known = self.pods.lock().contains_key(&u);
        if !known
            && needs_admission(&pod)
            && let Err(r) = self.admit(&pod).await
        {
            self.reject(&pod, r);
        }
        let previous = self.pods.lock().insert(u.clone(), pod.clone());
        if self.rejected.lock().contains(&u) {
            return;
        }
        if let Some(w) = self.workers() {
            if previous.is_some_and(|old| !needs_sync(&old, &pod)) {
                w.refresh(Work::Sync(pod));
            } else {
                w.update(Work::Sync(pod));
            }
        }
    }

    /// Upstream's admit handlers in their order: node pressure, sysctls, the predicates. The
    /// node is read again when a failure may come from a stale view of its labels or taints.
    async fn admit(&self, pod: &Arc<Pod>) -> std::result::Result<(), Rejection> {
        admission::admit_under_pressure(pod, &self.node.pressure_conditions())?;
        self.sysctls.admit(pod)?;
        let u = uid(pod);
        let others: Vec<Arc<Pod>> = {
            let rejected = self.rejected.lock();
            self.pods
                .lock()
                .iter()
                .filter(|(id, p)| {
                    **id != u
                        && !rejected.contains(*id)
                        && !sync::is_terminal(p.status.as_ref())
                        && !self.status.is_terminal(id)
                })
                .map(|(_, p)| p.clone())
                .collect()
        };
        match admission::admit_on_node(pod, &self.node.node(), &others) {
            Err(r) if admission::may_be_stale(&r) => match self.node.refresh().await {
                Ok(fresh) => admission::admit_on_node(pod, &fresh, &others),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the node again for admission");
                    Err(r)
                }
            },
            other => other,
        }
    }

    /// A pod the node cannot run: Failed with the admission's reason, never started.
    fn reject(&self, pod: &Pod, r: Rejection) {
        tracing::warn!(pod = %sync::pod_name(pod), reason = %r.reason, message = %r.message, "pod rejected");
        self.events.pod(pod, WARNING, &r.reason, r.message.clone());
        self.rejected.lock().insert(uid(pod));
        let status = PodStatus {
            phase: Some("Failed".into()),
            reason: Some(r.reason),
            message: Some(format!("Pod was rejected: {}", r.message)),
            qos_class: Some(crate::runtime::cri::resources::qos_class(pod).as_str().to_owned()),
            ..Default::default()
        };
        self.status.set(pod, status);
    }

    /// A pod that is gone from its source.
    pub fn remove_pod(&self, pod: Arc<Pod>) {
        self.pods.lock().remove(&uid(&pod));
        self.rejected.lock().remove(&uid(&pod));
        if let Some(w) = self.workers() {
            w.update(Work::Remove(pod));
        }
    }

    async fn watch_pods(self: Arc<Self>) {
        let api: Api<Pod> = Api::all(self.client.clone());
        let config = watcher::Config::default().fields(&format!("spec.nodeName={}", self.opts.node_name));
        let mut stream = watcher(api, config).boxed();
        let mut relisted: Option<HashSet<String>> = None;
        // A (re)list's pods are admitted once it is complete, oldest first, as upstream's
        // HandlePodAdditions sorts them: the earlier pod gets the node's resources.
        let mut listed: Vec<Pod> = Vec::new();
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Apply(pod))) => {
                    if !is_mirror(&pod) {
                        self.upsert_pod(Arc::new(pod)).await;
                    }
                }
                Ok(Some(watcher::Event::Delete(pod))) => {
                    if !is_mirror(&pod) {
                        self.remove_pod(Arc::new(pod));
                    }
                }
                Ok(Some(watcher::Event::Init)) => {
                    relisted = Some(HashSet::new());
                    listed.clear();
                }
                Ok(Some(watcher::Event::InitApply(pod))) => {
                    if is_mirror(&pod) {
                        continue;
                    }
                    if let Some(seen) = relisted.as_mut() {
                        seen.insert(uid(&pod));
                    }
                    listed.push(pod);
                }
                Ok(Some(watcher::Event::InitDone)) => {
                    listed.sort_by(|a, b| {
                        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
                        created(a).cmp(&created(b)).then_with(|| uid(a).cmp(&uid(b)))
                    });
                    for pod in listed.drain(..) {
                        self.upsert_pod(Arc::new(pod)).await;
                    }
                    if let Some(seen) = relisted.take() {
                        let gone: Vec<Arc<Pod>> = self
                            .pods
                            .lock()
                            .values()
                            .filter(|p| !seen.contains(&uid(p)) && !crate::staticpods::is_static(p))
                            .cloned()
                            .collect();
                        for p in gone {
                            self.remove_pod(p);
                        }
                    }
                    self.synced.store(true, Ordering::Release);
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "pod watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// The pod lifecycle event generator: relists the runtime every second and wakes the
    /// workers of pods whose containers changed state. Every few relists it also stops
    /// runtime pods the API no longer has (deleted while the agent was down).
    async fn pleg(self: Arc<Self>) {
        let mut previous: HashMap<String, Vec<(String, u8)>> = HashMap::new();
        let mut tick = tokio::time::interval(self.opts.pleg_relist_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round: u64 = 0;
        loop {
            tick.tick().await;
            round += 1;
            let list = match self.rt.list().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "PLEG relist failed");
                    continue;
                }
            };
            let mut current = HashMap::new();
            for (uid, p) in &list {
                let fp = p.fingerprint();
                if previous.get(uid) != Some(&fp)
                    && let Some(w) = self.workers()
                {
                    w.wake(uid);
                }
                current.insert(uid.clone(), fp);
            }
            previous = current;
            // Cached statuses the relist contradicts are dropped, and their workers woken: a
            // sync that cached what it read just before a container changed must look again.
            let stale: Vec<String> = {
                let mut cache = self.runtime_cache.lock();
                let stale: Vec<String> = cache
                    .iter()
                    .filter(|(uid, s)| match previous.get(*uid) {
                        Some(fp) => *fp != s.fingerprint(),
                        None => !s.sandboxes.is_empty() || !s.containers.is_empty(),
                    })
                    .map(|(uid, _)| uid.clone())
                    .collect();
                for uid in &stale {
                    cache.remove(uid);
                }
                stale
            };
            if let Some(w) = self.workers() {
                for uid in &stale {
                    w.wake(uid);
                }
            }
            if round.is_multiple_of(2) && self.synced.load(Ordering::Acquire) {
                self.housekeeping(&list).await;
            }
        }
    }

    async fn housekeeping(&self, list: &crate::runtime::PodStatuses) {
        let Some(workers) = self.workers() else { return };
        let known: HashSet<String> = self.pods.lock().keys().cloned().collect();
        for (uid, p) in list {
            if known.contains(uid) || workers.has(uid) {
                continue;
            }
            let active =
                p.containers.iter().any(|c| c.state == ContainerState::Running) || p.sandboxes.iter().any(|s| s.ready);
            tracing::info!(pod = %uid, active, "cleaning up a pod the API no longer has");
            if active && let Err(e) = self.rt.kill_pod(None, p, Some(2)).await {
                tracing::warn!(pod = %uid, error = %e, "stopping an orphaned pod");
                continue;
            }
            if let Ok(full) = self.rt.pod_status(uid).await {
                let _ = self.rt.remove_pod(&full).await;
            }
            let _ = self.volumes.teardown(uid);
        }
        for uid in self.volumes.pod_dirs() {
            if !known.contains(&uid) && !workers.has(&uid) && !list.contains_key(&uid) {
                let _ = self.volumes.teardown(&uid);
            }
        }
    }

    async fn node_status_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.opts.node_status_update_frequency);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        // Upstream's fastStatusUpdateOnce: a node registered before its runtime and network were
        // up checks them locally every 100 ms and reports Ready at once, instead of at the next
        // regular update (up to 10 s later), for at most the node-ready grace period.
        let mut fast = tokio::time::interval(FAST_STATUS_PERIOD);
        let fast_until = tokio::time::Instant::now() + NODE_READY_GRACE;
        let mut fast_done = self.node.reported_ready();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = fast.tick(), if !fast_done => {
                    fast_done = tokio::time::Instant::now() >= fast_until;
                    if !self.node.ready_now().await {
                        continue;
                    }
                }
            }
            match self.node.sync_status(false).await {
                Ok(n) => ensure_pod_network(&self.opts, &n),
                Err(e) => tracing::warn!(error = %e, "updating node status"),
            }
            fast_done = fast_done || self.node.reported_ready();
        }
    }

    /// Graceful node shutdown: the node reports NotReady, then every pod gets its termination
    /// (grace capped by the shutdown period, critical pods last) and a terminal status.
    async fn shutdown_node(self: &Arc<Self>) {
        self.node.set_shutting_down();
        let _ = self.node.sync_status(true).await;
        let total = self.opts.shutdown_grace_period;
        let critical = self.opts.shutdown_grace_period_critical_pods.min(total);
        let regular_budget = (total - critical).as_secs() as i64;
        let pods = self.pods();
        let is_critical = |p: &Pod| {
            p.spec.as_ref().and_then(|s| s.priority_class_name.as_deref()).is_some_and(|c| c.starts_with("system-"))
        };
        for (group, budget) in [(false, regular_budget), (true, critical.as_secs() as i64)] {
            let batch: Vec<_> = pods.iter().filter(|p| is_critical(p) == group).cloned().collect();
            futures::future::join_all(batch.iter().map(|p| self.shutdown_pod(p, budget))).await;
        }
    }

    /// The eviction manager: while memory.available is below its hard threshold, evicts one
    /// running pod per interval, chosen by [`crate::eviction::rank_for_memory`]; critical pods
    /// (static, mirror, system-critical priority) are never picked.
    async fn eviction_loop(self: Arc<Self>) {
        let Some(threshold) = self.opts.eviction_hard.memory_available else { return };
        let every = self.opts.eviction_monitoring_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let meminfo = tokio::fs::read_to_string("/proc/meminfo").await.unwrap_or_default();
            let host = crate::node::host::meminfo_field;
            let Some((available, capacity)) = host(&meminfo, "MemAvailable").zip(host(&meminfo, "MemTotal")) else {
                continue;
            };
            let amount = threshold.amount(capacity);
            if available >= amount {
                continue;
            }
            self.evict_one_for_memory(amount, available).await;
        }
    }

    async fn evict_one_for_memory(&self, threshold: u64, available: u64) {
        let stats = match self.rt.container_stats().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading container stats for eviction");
                return;
            }
        };
        let pods: Vec<Arc<Pod>> = self
            .pods()
            .into_iter()
            .filter(|p| !crate::admission::is_critical(p) && !self.status.is_terminal(&uid(p)))
            .collect();
        let mut candidates: Vec<crate::eviction::Candidate<'_>> = pods
            .iter()
            .map(|p| {
                let u = uid(p);
                let containers =
                    stats.iter().filter(|s| s.pod_uid == u).map(|s| (s.name.clone(), s.memory_working_set)).collect();
                crate::eviction::Candidate { pod: p.as_ref(), containers }
            })
            .collect();
        crate::eviction::rank_for_memory(&mut candidates);
        let Some(victim) = candidates.first() else {
            tracing::warn!("memory.available is below its threshold and no pod can be evicted");
            return;
        };
        let message = crate::eviction::memory_eviction_message(threshold, available, victim);
        let pod = pods.iter().find(|p| std::ptr::eq(p.as_ref(), victim.pod)).cloned();
        drop(candidates);
        if let Some(pod) = pod {
            self.evict(&pod, message).await;
        }
    }

    /// Evicts a pod as upstream's eviction manager does: the Evicted event, the containers
    /// killed with a one-second grace period, and a Failed status with reason Evicted and the
    /// DisruptionTarget condition.
    async fn evict(&self, pod: &Arc<Pod>, message: String) {
        tracing::warn!(pod = %sync::pod_name(pod), %message, "evicting");
        self.events.pod(pod, WARNING, "Evicted", message.clone());
        let u = uid(pod);
        let Ok(rt) = self.rt.pod_status(&u).await else { return };
        let _ = self.rt.kill_pod(Some(pod), &rt, Some(1)).await;
        let after = self.rt.pod_status(&u).await.unwrap_or(rt);
        let mut s = self.report(pod, &after, true);
        s.phase = Some("Failed".into());
        s.reason = Some("Evicted".into());
        s.message = Some(message.clone());
        let conditions = s.conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "DisruptionTarget");
        conditions.push(k8s_openapi::api::core::v1::PodCondition {
            type_: "DisruptionTarget".into(),
            status: "True".into(),
            reason: Some("TerminationByKubelet".into()),
            message: Some(message),
            ..Default::default()
        });
        self.status.set(pod, s);
        if let Some(w) = self.workers() {
            w.wake(&u);
        }
    }

    async fn shutdown_pod(&self, pod: &Arc<Pod>, budget: i64) {
        let u = uid(pod);
        let Ok(rt) = self.rt.pod_status(&u).await else { return };
        let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).min(budget.max(1));
        let _ = self.rt.kill_pod(Some(pod), &rt, Some(grace)).await;
        let after = self.rt.pod_status(&u).await.unwrap_or(rt);
        let mut s = self.report(pod, &after, true);
        s.phase = Some("Failed".into());
        s.reason = Some("Terminated".into());
        s.message = Some("Pod was terminated in response to imminent node shutdown.".into());
        self.status.set(pod, s);
        self.status.flush(&u, Duration::from_secs(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_only_updates_need_no_sync() {
        let base = serde_json::json!({
            "metadata": {"name": "p", "uid": "u", "resourceVersion": "1", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending"}
        });
        let old = pod(base.clone());
        let mut v = base.clone();
        v["metadata"]["resourceVersion"] = "2".into();
        v["status"] = serde_json::json!({"phase": "Running", "podIP": "10.0.0.2"});
        assert!(!needs_sync(&old, &pod(v.clone())), "the kubelet's own status write");
        v["status"]["phase"] = "Failed".into();
        assert!(needs_sync(&old, &pod(v)), "a terminal phase set elsewhere (eviction)");
        let mut v = base.clone();
        v["metadata"]["labels"]["a"] = "c".into();
        assert!(needs_sync(&old, &pod(v)));
        let mut v = base.clone();
        v["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        assert!(needs_sync(&old, &pod(v)));
        let mut v = base.clone();
        v["spec"]["containers"][0]["image"] = "j".into();
        assert!(needs_sync(&old, &pod(v)));
        let mut gated = base.clone();
        gated["spec"]["readinessGates"] = serde_json::json!([{"conditionType": "example.com/ready"}]);
        let mut v = gated.clone();
        v["status"]["conditions"] = serde_json::json!([{"type": "example.com/ready", "status": "True"}]);
        assert!(needs_sync(&pod(gated), &pod(v)), "readiness gates follow status conditions");
    }

    #[test]
    fn fingerprints_see_container_and_sandbox_states() {
        use crate::runtime::{ContainerRecord, RuntimePodStatus, SandboxRecord};
        let c = |id: &str, state| ContainerRecord {
            id: id.into(),
            sandbox_id: "s".into(),
            name: "c".into(),
            attempt: 0,
            state,
            created_at: 0,
            started_at: 0,
            finished_at: 0,
            exit_code: 0,
            reason: String::new(),
            message: String::new(),
            image: String::new(),
            image_ref: String::new(),
            spec_hash: String::new(),
            annotations: HashMap::new(),
        };
        let s = RuntimePodStatus {
            uid: "u".into(),
            sandboxes: vec![SandboxRecord {
                id: "s".into(),
                attempt: 0,
                ready: true,
                ips: vec!["10.0.0.2".into()],
                created_at: 0,
                name: "p".into(),
                namespace: "ns".into(),
            }],
            containers: vec![c("a", ContainerState::Running), c("b", ContainerState::Exited)],
        };
        let mut swapped = s.clone();
        swapped.containers.reverse();
        assert_eq!(s.fingerprint(), swapped.fingerprint(), "order does not matter");
        let mut died = s.clone();
        died.containers[0].state = ContainerState::Exited;
        assert_ne!(s.fingerprint(), died.fingerprint());
        let mut sandbox_down = s.clone();
        sandbox_down.sandboxes[0].ready = false;
        assert_ne!(s.fingerprint(), sandbox_down.fingerprint());
    }
}
