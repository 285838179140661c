//! Scheduler benchmark: upstream's scheduler_perf workloads (test/integration/scheduler_perf)
//! with the same node and pod templates and counts, against the real `krs server`. Objects are
//! created through the API server over HTTPS; the krs scheduler binds through pods/binding.
//!
//! Where the scheduler runs:
//! - by default inside `krs server`, as a cluster started with `krs server` runs it (a kube-rs
//!   client on the in-process transport). The benchmark follows its progress as upstream's
//!   does, with a watch of bound pods, and reads the scheduling queue from `/metrics`.
//! - with `--standalone`, in this process as a kube-rs client over HTTPS, as
//!   `krs scheduler --kubeconfig` runs.
//!
//! Run: `cargo build --release -p krs -p krs-bench && target/release/scheduler_perf [--standalone] [NAME...]`
//! (KRS_BIN overrides the krs binary; names select workloads.)
//!
//! The figure is the measured pods divided by the time from the first measured create to the
//! last measured binding, beside upstream's threshold for the workload (the minimum average
//! throughput its CI accepts).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use krs_bench::client::{Client, Credentials, Error};
use krs_scheduler::{Metrics, SchedulerOptions};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// With the `mimalloc` feature (the default, as in `krs`), the krs binary's allocator, so the
/// in-process scheduler runs as `krs scheduler` does.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Requests in flight per connection while creating objects.
const IN_FLIGHT: usize = 32;
const CONNECTIONS: usize = 8;
/// How long a phase may take before the workload is abandoned.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Basic,
    PodAntiAffinity,
    PodAffinity,
    NodeAffinity,
    TopologySpreading,
    PreemptionAsync,
    Unschedulable,
    WhileGated,
    MixedChurn,
}

struct Workload {
    name: &'static str,
    kind: Kind,
    /// Upstream's threshold in pods/s.
    threshold: f64,
}

const WORKLOADS: &[Workload] = &[
    Workload { name: "SchedulingBasic/5000Nodes_10000Pods", kind: Kind::Basic, threshold: 680.0 },
    Workload { name: "SchedulingPodAntiAffinity/5000Nodes_2000Pods", kind: Kind::PodAntiAffinity, threshold: 60.0 },
    Workload { name: "SchedulingPodAffinity/5000Nodes_5000Pods", kind: Kind::PodAffinity, threshold: 35.0 },
    Workload { name: "SchedulingNodeAffinity/5000Nodes_10000Pods", kind: Kind::NodeAffinity, threshold: 220.0 },
    Workload { name: "TopologySpreading/5000Nodes_5000Pods", kind: Kind::TopologySpreading, threshold: 460.0 },
    Workload { name: "PreemptionAsync/5000Nodes", kind: Kind::PreemptionAsync, threshold: 570.0 },
    Workload { name: "Unschedulable/5kNodes/100Init/10kPods", kind: Kind::Unschedulable, threshold: 590.0 },
    Workload { name: "SchedulingWhileGated/1Node_10000GatedPods", kind: Kind::WhileGated, threshold: 910.0 },
    Workload { name: "SchedulingWithMixedChurn/5000Nodes_10000Pods", kind: Kind::MixedChurn, threshold: 710.0 },
];

// The templates of upstream's scheduler_perf (templates/*.yaml), as JSON.

/// templates/node-default.yaml
fn node_default(name: &str, zone: Option<&str>) -> Value {
    let mut n = json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {},
        "status": {"capacity": {"pods": "110", "cpu": "4", "memory": "32Gi"}, "conditions": [{"status": "True", "type": "Ready"}], "phase": "Running"},
    });
    if let Some(z) = zone {
        n["metadata"]["labels"] = json!({"topology.kubernetes.io/zone": z});
    }
    n
}

/// templates/node-with-name.yaml
fn node_with_name() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "scheduler-perf-node", "labels": {"kubernetes.io/hostname": "scheduler-perf-node"}}, "spec": {},
        "status": {"capacity": {"pods": "90000", "cpu": "4", "memory": "32Gi"}, "conditions": [{"status": "True", "type": "Ready"}], "phase": "Running"},
    })
}

/// templates/churn/node-default.yaml
fn node_churn(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"capacity": {"pods": "0"}, "conditions": [{"status": "True", "type": "Ready"}], "phase": "Running"},
    })
}

fn container(cpu: &str, limits: bool) -> Value {
    let mut c = json!({"image": "registry.k8s.io/pause:3.10", "name": "pause", "ports": [{"containerPort": 80}],
        "resources": {"requests": {"cpu": cpu, "memory": "500Mi"}}});
    if limits {
        c["resources"]["limits"] = json!({"cpu": cpu, "memory": "500Mi"});
    }
    c
}

/// templates/pod-default.yaml
fn pod_default() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"containers": [container("100m", true)]}})
}

/// templates/pod-with-pod-anti-affinity.yaml
fn pod_anti_affinity() -> Value {
    let mut p = pod_default();
    p["metadata"]["labels"] = json!({"color": "green"});
    p["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": "kubernetes.io/hostname", "namespaces": ["sched-1", "sched-0"]}]}});
    p
}

/// templates/pod-with-pod-affinity.yaml
fn pod_affinity() -> Value {
    let mut p = pod_default();
    p["metadata"]["labels"] = json!({"color": "blue"});
    p["spec"]["affinity"] = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"color": "blue"}}, "topologyKey": "topology.kubernetes.io/zone", "namespaces": ["sched-1", "sched-0"]}]}});
    p
}

/// templates/pod-with-node-affinity.yaml
fn pod_node_affinity() -> Value {
    let mut p = pod_default();
    p["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone1", "zone2"]}]}]}}});
    p
}

/// templates/pod-with-topology-spreading.yaml
fn pod_topology_spreading() -> Value {
    let mut p = pod_default();
    p["metadata"]["labels"] = json!({"color": "blue"});
    p["spec"]["topologySpreadConstraints"] = json!([{"maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"color": "blue"}}}]);
    p
}

/// templates/pod-low-priority.yaml
fn pod_low_priority() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"terminationGracePeriodSeconds": 0, "containers": [container("900m", true)]}})
}

/// templates/pod-high-priority.yaml
fn pod_high_priority() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"priority": 10, "containers": [container("3000m", true)]}})
}

/// templates/pod-high-priority-large-cpu.yaml
fn pod_high_priority_large_cpu() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"priority": 10, "containers": [container("9", false)]}})
}

/// templates/light-pod.yaml
fn light_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"containers": [{"image": "registry.k8s.io/pause:3.10.2", "name": "pause"}], "terminationGracePeriodSeconds": 0}})
}

/// templates/gated-pod.yaml
fn gated_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"schedulingGates": [{"name": "test.k8s.io/hold"}], "containers": [{"image": "registry.k8s.io/pause:3.10", "name": "pause"}]}})
}

/// templates/churn/service-default.yaml
fn service_churn(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": "foo"}, "ports": [{"protocol": "TCP", "port": 8080, "targetPort": 8080}]}})
}

struct Server {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where the scheduler runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Placement {
    /// Inside `krs server`.
    Server,
    /// In this process, as `krs scheduler --kubeconfig` (a client over HTTPS).
    Standalone,
}

impl Server {
    fn start(krs: &Path, placement: Placement) -> Result<Server, Error> {
        let dir = tempfile::Builder::new().prefix("krs-sched-bench-").tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(krs);
        command
            .args(["server", "--data-dir"])
            .arg(dir.path())
            .args(["--secure-port", &port.to_string(), "--log-level", "warn"])
            .args(["--no-agent", "--no-controller-manager"]);
        if placement == Placement::Standalone {
            command.arg("--no-scheduler");
        }
        let mut child = command
            // Upstream's scheduler_perf runs its API server without the ServiceAccount plugin
            // (no token volume in its pods) and the Priority plugin (the templates give pods
            // `priority` directly); TaintNodesByCondition, which it turns off too, krs lacks.
            .arg("--disable-admission-plugins=ServiceAccount,Priority")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let kubeconfig = krs_bench::util::admin_kubeconfig(stdout);
        let Some(kubeconfig) = kubeconfig else {
            let _ = child.kill();
            return Err("krs server did not start".into());
        };
        Ok(Server { child, kubeconfig, _dir: dir })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The API connections of one workload, used round-robin.
#[derive(Clone)]
struct Api {
    clients: Arc<Vec<Client>>,
}

impl Api {
    async fn send(
        &self,
        i: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, bytes::Bytes), Error> {
        let c = &self.clients[i % self.clients.len()];
        let body = body.map(|b| (serde_json::to_vec(b).unwrap_or_default(), "application/json"));
        c.send(method, path, body).await
    }

    async fn create(&self, i: usize, path: &str, obj: &Value) -> Result<(), Error> {
        let (status, body) = self.send(i, Method::POST, path, Some(obj)).await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(())
    }

    /// Creates `count` objects built by `make(i)` at `path`, IN_FLIGHT per connection.
    async fn create_many(
        &self,
        path: &str,
        count: usize,
        make: impl Fn(usize) -> Value + Send + Sync + 'static,
    ) -> Result<(), Error> {
        let make = Arc::new(make);
        let workers = (CONNECTIONS * IN_FLIGHT).min(count.max(1));
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (api, make, next, path) = (self.clone(), make.clone(), next.clone(), path.to_string());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok::<(), Error>(());
                    }
                    api.create(w, &path, &make(i)).await?;
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    }

    async fn create_pods(&self, ns: &str, prefix: &str, count: usize, template: fn() -> Value) -> Result<(), Error> {
        let prefix = prefix.to_string();
        let tmpl = template();
        self.create_many(&format!("/api/v1/namespaces/{ns}/pods"), count, move |i| {
            let mut p = tmpl.clone();
            p["metadata"]["name"] = json!(format!("{prefix}-{i}"));
            p
        })
        .await
    }

    async fn create_nodes(
        &self,
        count: usize,
        zone: impl Fn(usize) -> Option<&'static str> + Send + Sync + 'static,
    ) -> Result<(), Error> {
        self.create_many("/api/v1/nodes", count, move |i| node_default(&format!("scheduler-perf-{i}"), zone(i))).await
    }

    async fn namespace(&self, name: &str) -> Result<(), Error> {
        self.create(
            0,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        )
        .await
    }

    async fn delete(&self, i: usize, path: &str) {
        let _ = self.send(i, Method::DELETE, path, None).await;
    }
}

/// What the benchmark knows of the scheduler's progress.
#[derive(Clone)]
enum Progress {
    /// The counters of the scheduler running in this process.
    InProcess(Arc<Metrics>),
    /// Pods seen bound by a watch (as upstream's informer counts them), and the server's
    /// `/metrics` for the scheduling queue of the scheduler running inside it.
    Server { bound: Arc<AtomicU64>, api: Api },
}

impl Progress {
    /// Starts watching bound pods (every namespace; none is bound yet). Like an informer, the
    /// watch resumes from the last version it saw when the server closes it (a watcher that
    /// falls behind a burst is closed).
    async fn watch(api: &Api) -> Result<Progress, Error> {
        const PATH: &str = "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%21%3D&timeoutSeconds=3600";
        let (status, body) = api.clients[0].stream(PATH).await?;
        if !status.is_success() {
            return Err(format!("GET {PATH}: {status}").into());
        }
        let bound = Arc::new(AtomicU64::new(0));
        let (count, client) = (bound.clone(), api.clients[0].clone());
        tokio::spawn(async move {
            let (mut body, mut version) = (body, String::new());
            loop {
                if let Err(e) = count_added(&mut body, &count, &mut version).await {
                    eprintln!("watch of bound pods: {e}");
                    return;
                }
                let path = format!("{PATH}&resourceVersion={version}");
                match client.stream(&path).await {
                    Ok((status, b)) if status.is_success() => body = b,
                    Ok((status, _)) => return eprintln!("GET {path}: {status}"),
                    // The server is gone, as at the end of every workload.
                    Err(_) => return,
                }
            }
        });
        Ok(Progress::Server { bound, api: api.clone() })
    }

    /// Pods bound so far.
    fn scheduled(&self) -> u64 {
        match self {
            Progress::InProcess(m) => m.scheduled_pods(),
            Progress::Server { bound, .. } => bound.load(Ordering::Relaxed),
        }
    }

    /// Pods in the scheduler's queue of gated pods.
    async fn gated(&self) -> Result<u64, Error> {
        match self {
            Progress::InProcess(m) => Ok(m.pending_pods("gated")),
            Progress::Server { api, .. } => {
                let (status, body) = api.send(0, Method::GET, "/metrics", None).await?;
                if !status.is_success() {
                    return Err(format!("GET /metrics: {status}").into());
                }
                let text = String::from_utf8_lossy(&body);
                let gated = text
                    .lines()
                    .find_map(|l| l.strip_prefix("scheduler_pending_pods{queue=\"gated\"} "))
                    .ok_or("no scheduler_pending_pods in /metrics")?;
                Ok(gated.trim().parse()?)
            }
        }
    }
}

/// Counts the ADDED events of a watch of bound pods (each is a pod bound) until the server
/// ends it, keeping the resourceVersion of the last event to resume from. Objects are not
/// decoded: an event is a line, its type first and the object's metadata before anything else
/// with a resourceVersion.
async fn count_added(body: &mut hyper::body::Incoming, count: &AtomicU64, version: &mut String) -> Result<(), Error> {
    const ADDED: &[u8] = br#"{"type":"ADDED""#;
    const ERROR: &[u8] = br#"{"type":"ERROR""#;
    const RV: &[u8] = br#""resourceVersion":""#;
    let mut line = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else { continue };
        for chunk in data.split_inclusive(|b| *b == b'\n') {
            line.extend_from_slice(chunk);
            if line.last() != Some(&b'\n') {
                continue;
            }
            if line.starts_with(ERROR) {
                return Err(String::from_utf8_lossy(&line).into_owned().into());
            }
            if line.starts_with(ADDED) {
                count.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(at) = line.windows(RV.len()).position(|w| w == RV) {
                let rest = &line[at + RV.len()..];
                let end = rest.iter().position(|b| *b == b'"').unwrap_or(0);
                *version = String::from_utf8_lossy(&rest[..end]).into_owned();
            }
            line.clear();
        }
    }
    Ok(())
}

/// Waits until the scheduler has bound `target` pods in total.
async fn wait_bound(progress: &Progress, target: u64) -> Result<Instant, Error> {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        if progress.scheduled() >= target {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out: {} of {target} pods bound", progress.scheduled()).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A background loop (churn, deletions) stopped when dropped.
struct Background(Arc<AtomicBool>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn every(
    period: Duration,
    mut f: impl FnMut(usize) -> Option<tokio::task::JoinHandle<()>> + Send + 'static,
) -> Background {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        let mut i = 0;
        while !s.load(Ordering::Relaxed) {
            tick.tick().await;
            if let Some(h) = f(i) {
                let _ = h.await;
            }
            i += 1;
        }
    });
    Background(stop)
}

struct Result_ {
    pods_per_second: f64,
    measured: usize,
    seconds: f64,
}

/// Runs the setup of a workload, then measures its last createPods op.
async fn run(w: &Workload, krs: &Path, placement: Placement) -> Result<Result_, Error> {
    let server = Server::start(krs, placement)?;
    let creds = Credentials::from_kubeconfig(&server.kubeconfig)?;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(Client::connect(&creds).await?);
    }
    let api = Api { clients: Arc::new(clients) };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (progress, scheduler) = match placement {
        Placement::Standalone => {
            let kc = kube::config::Kubeconfig::read_from(&server.kubeconfig)?;
            let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
            let kube_client = kube::Client::try_from(config)?;
            let metrics = Metrics::new();
            let options = SchedulerOptions { leader_elect: false, metrics: metrics.clone(), ..Default::default() };
            let scheduler = tokio::spawn(krs_scheduler::run(kube_client, options, async {
                let _ = stop_rx.await;
            }));
            (Progress::InProcess(metrics), Some(scheduler))
        }
        Placement::Server => (Progress::watch(&api).await?, None),
    };

    let zone1 = |_| Some("zone1");
    let (ns, measured, template): (&str, usize, fn() -> Value) = match w.kind {
        Kind::Basic => {
            api.create_nodes(5000, |_| None).await?;
            api.create_pods("default", "init", 1000, pod_default).await?;
            wait_bound(&progress, 1000).await?;
            ("default", 10000, pod_default)
        }
        Kind::PodAntiAffinity => {
            api.create_nodes(5000, |_| None).await?;
            api.namespace("sched-0").await?;
            api.namespace("sched-1").await?;
            api.create_pods("sched-0", "init", 1000, pod_anti_affinity).await?;
            wait_bound(&progress, 1000).await?;
            ("sched-1", 2000, pod_anti_affinity)
        }
        Kind::PodAffinity => {
            api.create_nodes(5000, zone1).await?;
            api.namespace("sched-0").await?;
            api.namespace("sched-1").await?;
            api.create_pods("sched-0", "init", 5000, pod_affinity).await?;
            wait_bound(&progress, 5000).await?;
            ("sched-1", 5000, pod_affinity)
        }
        Kind::NodeAffinity => {
            api.create_nodes(5000, zone1).await?;
            api.create_pods("default", "init", 5000, pod_node_affinity).await?;
            wait_bound(&progress, 5000).await?;
            ("default", 10000, pod_node_affinity)
        }
        Kind::TopologySpreading => {
            const MOONS: [&str; 3] = ["moon-1", "moon-2", "moon-3"];
            api.create_nodes(5000, |i| Some(MOONS[i % 3])).await?;
            api.create_pods("default", "init", 5000, pod_default).await?;
            wait_bound(&progress, 5000).await?;
            ("default", 5000, pod_topology_spreading)
        }
        Kind::PreemptionAsync | Kind::Unschedulable => {
            let (init, churn): (usize, fn() -> Value) = if w.kind == Kind::PreemptionAsync {
                (20000, pod_high_priority)
            } else {
                (100, pod_high_priority_large_cpu)
            };
            api.create_nodes(5000, |_| None).await?;
            let tmpl = if w.kind == Kind::PreemptionAsync { pod_low_priority } else { pod_default };
            api.create_pods("default", "init", init, tmpl).await?;
            wait_bound(&progress, init as u64).await?;
            let churn_api = api.clone();
            let bg = every(Duration::from_millis(200), move |i| {
                let api = churn_api.clone();
                let mut p = churn();
                p["metadata"]["name"] = json!(format!("churn-{i}"));
                Some(tokio::spawn(async move {
                    let _ = api.create(i, "/api/v1/namespaces/default/pods", &p).await;
                }))
            });
            let r = measure(
                &api,
                &progress,
                "default",
                10000_usize.min(if w.kind == Kind::PreemptionAsync { 5000 } else { 10000 }),
                pod_default,
            )
            .await;
            drop(bg);
            return finish(r, stop_tx, scheduler).await;
        }
        Kind::WhileGated => {
            api.create(0, "/api/v1/nodes", &node_with_name()).await?;
            for n in ["namespace-1", "namespace-3", "namespace-5"] {
                api.namespace(n).await?;
            }
            api.create_pods("namespace-1", "gated", 10000, gated_pod).await?;
            // Barrier: every gated pod went through PreEnqueue.
            let deadline = Instant::now() + PHASE_TIMEOUT;
            while progress.gated().await? < 10000 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            api.create_pods("namespace-3", "deleting", 20000, light_pod).await?;
            wait_bound(&progress, 20000).await?;
            // Deleting the scheduled pods at 50/s makes a stream of AssignedPodDelete events.
            let del_api = api.clone();
            let bg = every(Duration::from_millis(20), move |i| {
                let api = del_api.clone();
                (i < 20000).then(|| {
                    tokio::spawn(async move {
                        api.delete(i, &format!("/api/v1/namespaces/namespace-3/pods/deleting-{i}")).await
                    })
                })
            });
            let r = measure(&api, &progress, "namespace-5", 20000, light_pod).await;
            drop(bg);
            return finish(r, stop_tx, scheduler).await;
        }
        Kind::MixedChurn => {
            api.create_nodes(5000, |_| None).await?;
            let churn_api = api.clone();
            // Every second one node, one unschedulable pod and one service are recreated.
            let bg = every(Duration::from_millis(1000), move |i| {
                let api = churn_api.clone();
                Some(tokio::spawn(async move {
                    if i > 0 {
                        api.delete(0, &format!("/api/v1/nodes/node-churn-{}", i - 1)).await;
                        api.delete(1, &format!("/api/v1/namespaces/default/pods/pod-h-{}", i - 1)).await;
                        api.delete(2, &format!("/api/v1/namespaces/default/services/service-churn-{}", i - 1)).await;
                    }
                    let _ = api.create(0, "/api/v1/nodes", &node_churn(&format!("node-churn-{i}"))).await;
                    let mut p = pod_high_priority_large_cpu();
                    p["metadata"]["name"] = json!(format!("pod-h-{i}"));
                    let _ = api.create(1, "/api/v1/namespaces/default/pods", &p).await;
                    let _ = api
                        .create(2, "/api/v1/namespaces/default/services", &service_churn(&format!("service-churn-{i}")))
                        .await;
                }))
            });
            let r = measure(&api, &progress, "default", 10000, pod_default).await;
            drop(bg);
            return finish(r, stop_tx, scheduler).await;
        }
    };
    let r = measure(&api, &progress, ns, measured, template).await;
    finish(r, stop_tx, scheduler).await
}

/// Creates the measured pods and waits until all of them are bound.
async fn measure(
    api: &Api,
    progress: &Progress,
    ns: &str,
    count: usize,
    template: fn() -> Value,
) -> Result<Result_, Error> {
    let base = progress.scheduled();
    phase_mark("measure");
    let start = Instant::now();
    let create = api.create_pods(ns, "measure", count, template);
    let (created, done) = tokio::join!(create, wait_bound(progress, base + count as u64));
    phase_mark("done");
    created?;
    let secs = done?.duration_since(start).as_secs_f64();
    Ok(Result_ { pods_per_second: count as f64 / secs, measured: count, seconds: secs })
}

/// Writes the phase (`measure` when the measured pods start, `done` when they are bound) to
/// the file named by `KRS_BENCH_PHASE_FILE`, for profilers that record only the measured part.
fn phase_mark(phase: &str) {
    if let Some(path) = std::env::var_os("KRS_BENCH_PHASE_FILE") {
        let _ = std::fs::write(path, phase);
    }
}

async fn finish(
    r: Result<Result_, Error>,
    stop: oneshot::Sender<()>,
    scheduler: Option<tokio::task::JoinHandle<Result<(), krs_scheduler::Error>>>,
) -> Result<Result_, Error> {
    let _ = stop.send(());
    if let Some(scheduler) = scheduler {
        let _ = tokio::time::timeout(Duration::from_secs(10), scheduler).await;
    }
    r
}

fn krs_binary() -> Result<PathBuf, Error> {
    if let Ok(p) = std::env::var("KRS_BIN") {
        return Ok(PathBuf::from(p));
    }
    let sibling = std::env::current_exe()?.parent().ok_or("no parent dir")?.join("krs");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(format!("{} not found: build it with `cargo build --release -p krs` or set KRS_BIN", sibling.display())
            .into())
    }
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let krs = krs_binary()?;
        let mut only: Vec<String> = std::env::args().skip(1).collect();
        let placement = if only.iter().any(|a| a == "--standalone") {
            only.retain(|a| a != "--standalone");
            Placement::Standalone
        } else {
            Placement::Server
        };
        println!(
            "Scheduler: {}",
            match placement {
                Placement::Server => "inside krs server (the default deployment)",
                Placement::Standalone => "standalone, a client over HTTPS (krs scheduler --kubeconfig)",
            }
        );
        println!();
        println!("| workload | measured pods | seconds | pods/s | upstream threshold | ratio |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for w in WORKLOADS {
            if !only.is_empty() && !only.iter().any(|o| w.name.contains(o.as_str())) {
                continue;
            }
            match run(w, &krs, placement).await {
                Ok(r) => println!(
                    "| {} | {} | {:.1} | {:.0} | {:.0} | {:.1}x |",
                    w.name,
                    r.measured,
                    r.seconds,
                    r.pods_per_second,
                    w.threshold,
                    r.pods_per_second / w.threshold
                ),
                Err(e) => println!("| {} | failed: {e} | | | {:.0} | |", w.name, w.threshold),
            }
        }
        Ok(())
    })
}
