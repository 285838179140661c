//! Pod start-up latency on a real node: `krs server` (control plane) plus the node agent with
//! containerd, pods of a local busybox image (already on the node, as upstream's density
//! test pre-pulls), from the create request to the Running status the agent reports.
//!
//! Run as root with containerd, runc and the CNI plugins installed:
//! `cargo build --release -p krs -p krs-bench && target/release/pod_startup`
//! (KRS_BIN overrides the krs binary; BENCH_PODS the 100 pods; BENCH_RATE the 5 creates/s;
//! BENCH_HOLD_S the 10 s the node idles with the paced round's pods before they are deleted.)
//!
//! Three rounds of `BENCH_PODS` pods each: paced at `BENCH_RATE` (5/s, the rate of
//! clusterloader2's latency pods, `Uniform5QPS`, which is how upstream measures its start-up
//! SLO), then at 20/s (the density test's whole-cluster throughput, aimed here at a single
//! node: a saturation figure), then all created at once. The target verdict is on the first.
//!
//! Everything runs inside a network namespace of the benchmark's own; containers, mounts and
//! CNI state are removed at the end.
//!
//! Reference: upstream's SLO is p99 ≤ 5 s (stateless pods, image pre-pulled); the target here
//! is p99 under 1 s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, ServiceAccount};
use krs_bench::util::{env_usize, percentile, start_server};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;

const UPSTREAM_SLO_P99_S: f64 = 5.0;
const TARGET_P99_S: f64 = 1.0;
/// The second round's rate: clusterloader2's density throughput, all on this one node.
const SATURATION_RATE: f64 = 20.0;

struct Server {
    child: Child,
    kubeconfig: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let (child, kubeconfig) = start_server(dir);
        Server { child, kubeconfig }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

async fn client(kubeconfig: &Path) -> Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"bench": "startup"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": krs_agent::testing::BUSYBOX_IMAGE, "command": ["sleep", "3600"]}]
        }
    }))
    .expect("pod")
}

/// Creates `n` pods at `rate` per second and returns each one's create-to-Running latency.
async fn measure(pods: &Api<Pod>, node: &str, prefix: &str, n: usize, rate: f64) -> Vec<f64> {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let running: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watch = {
        let (pods, running) = (pods.clone(), running.clone());
        tokio::spawn(async move {
            let mut stream = watcher(pods, watcher::Config::default().labels("bench=startup")).boxed();
            while let Ok(Some(ev)) = stream.try_next().await {
                if let watcher::Event::Apply(p) | watcher::Event::InitApply(p) = ev
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                {
                    let name = p.metadata.name.unwrap_or_default();
                    running.lock().entry(name).or_insert_with(Instant::now);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    for i in 0..n {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let name = format!("{prefix}-{i}");
        let (pods, created, p) = (pods.clone(), created.clone(), pod(&name, node));
        tokio::spawn(async move {
            created.lock().insert(name, Instant::now());
            if let Err(e) = pods.create(&PostParams::default(), &p).await {
                eprintln!("create: {e}");
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = running.lock().keys().filter(|k| k.starts_with(&format!("{prefix}-"))).count();
        if done >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watch.abort();
    let created = created.lock();
    let running = running.lock();
    let mut lat: Vec<f64> = created
        .iter()
        .filter_map(|(name, c)| running.get(name).map(|r| r.saturating_duration_since(*c).as_secs_f64()))
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    lat
}

async fn delete_all(pods: &Api<Pod>) {
    let lp = ListParams::default().labels("bench=startup");
    let _ = pods.delete_collection(&DeleteParams::default(), &lp).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    while pods.list(&lp).await.map(|l| !l.items.is_empty()).unwrap_or(false) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || krs_agent::containerd::which("containerd").is_none() {
        eprintln!("pod_startup needs root and containerd, runc and the CNI plugins installed");
        std::process::exit(2);
    }
    // SAFETY: unshare affects only this (still single-threaded) process's main thread; every
    // thread and process started afterwards lives in the new network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
        std::process::exit(2);
    }
    let _ = Command::new("ip").args(["link", "set", "lo", "up"]).status();
    let n = env_usize("BENCH_PODS", 100);
    let rate: f64 = std::env::var("BENCH_RATE").ok().and_then(|v| v.parse().ok()).unwrap_or(5.0);
    let dir = tempfile::Builder::new().prefix("krs-pod-startup-").tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server"));
    let agent_dir = dir.path().join("agent");
    let socket = krs_agent::containerd::Layout::new(&agent_dir).socket();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = client(&server.kubeconfig).await;
        let pp = PostParams::default();
        let sa: ServiceAccount =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}})).expect("sa");
        let _ = Api::<ServiceAccount>::namespaced(client.clone(), "default").create(&pp, &sa).await;
        let cm: ConfigMap = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "x"}}),
        )
        .expect("cm");
        let _ = Api::<ConfigMap>::namespaced(client.clone(), "default").create(&pp, &cm).await;
        let mut o = krs_agent::AgentOptions::new("bench-node", &agent_dir);
        o.runtime = krs_agent::RuntimeKind::Cri { socket: None };
        o.sandbox_image = krs_agent::testing::PAUSE_IMAGE.into();
        o.pod_cidr = "10.90.0.0/16".into();
        o.max_pods = 1000;
        // As `krs server`'s own node: a nearly full disk must not taint the node away.
        o.eviction_hard = krs_agent::EvictionHard::memory_only();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let agent_started = Instant::now();
        let agent = tokio::spawn(krs_agent::run(client.clone(), o, async move {
            let _ = stop_rx.await;
        }));
        // With the local sandbox image the agent builds and imports the busybox images itself
        // (before it registers the node), as `krs server` does.
        let nodes: Api<Node> = Api::all(client.clone());
        loop {
            let ready = nodes
                .get("bench-node")
                .await
                .ok()
                .and_then(|n| n.status?.conditions)
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "node Ready {:.2} s after the agent started (containerd started, local images built and imported)",
            agent_started.elapsed().as_secs_f64()
        );
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        // Warm-up: the first pod pays for one-time costs (image unpack, CNI bridge creation).
        let _ = measure(&pods, "bench-node", "warm", 1, 1.0).await;
        delete_all(&pods).await;
        let (cpu0, steal0, t0) =
            (krs_bench::proc::machine_cpu_seconds(), krs_bench::proc::machine_steal_seconds(), Instant::now());
        let lat = measure(&pods, "bench-node", "p", n, rate).await;
        let round = t0.elapsed().as_secs_f64() * krs_bench::proc::cores() as f64;
        let busy = krs_bench::proc::machine_cpu_seconds().zip(cpu0).map(|((b, _), (b0, _))| b - b0);
        let steal = krs_bench::proc::machine_steal_seconds().zip(steal0).map(|(s, s0)| s - s0);
        let (p50, p90, p99) = (percentile(&lat, 50.0), percentile(&lat, 90.0), percentile(&lat, 99.0));
        println!("pod start-up latency, create to Running, {n} pods at {rate}/s, local image:");
        println!("  running: {}/{n}", lat.len());
        println!(
            "  p50 {:.3} s, p90 {:.3} s, p99 {:.3} s, max {:.3} s",
            p50,
            p90,
            p99,
            lat.last().copied().unwrap_or(f64::NAN)
        );
        println!(
            "  upstream SLO p99 <= {UPSTREAM_SLO_P99_S} s: {:.1}x under; target p99 < {TARGET_P99_S} s: {}",
            UPSTREAM_SLO_P99_S / p99,
            if p99 < TARGET_P99_S { "met" } else { "missed" }
        );
        if let (Some(busy), Some(steal)) = (busy, steal) {
            println!(
                "  machine CPU during the round: {:.0}% busy, of which {:.1}% stolen by the hypervisor",
                100.0 * busy / round.max(1e-9),
                100.0 * steal / round.max(1e-9)
            );
        }
        // The node's standing cost: machine CPU while the pods just run (relists, resyncs,
        // containerd and shims), which every later pod start competes with.
        let hold = Duration::from_secs(env_usize("BENCH_HOLD_S", 10) as u64);
        let before = krs_bench::proc::machine_cpu_seconds();
        tokio::time::sleep(hold).await;
        if let Some(((busy, total), (busy0, total0))) = krs_bench::proc::machine_cpu_seconds().zip(before) {
            println!(
                "  {} running pods, nothing starting: machine CPU {:.1}% busy over {} s",
                lat.len(),
                100.0 * (busy - busy0) / (total - total0).max(1e-9),
                hold.as_secs()
            );
        }
        delete_all(&pods).await;
        let cpu = krs_bench::proc::machine_cpu_seconds().map(|(busy, _)| busy);
        let t = Instant::now();
        let sat = measure(&pods, "bench-node", "s", n, SATURATION_RATE).await;
        let wall = t.elapsed().as_secs_f64();
        let cpu = krs_bench::proc::machine_cpu_seconds().zip(cpu).map(|((busy, _), before)| busy - before);
        println!(
            "  at {SATURATION_RATE}/s: p50 {:.3} s, p99 {:.3} s, running {}/{n}; machine CPU busy {}",
            percentile(&sat, 50.0),
            percentile(&sat, 99.0),
            sat.len(),
            cpu.map(|c| format!("{:.1} s of {:.1} s x {} cores", c, wall, krs_bench::proc::cores()))
                .unwrap_or_else(|| "unknown".into())
        );
        delete_all(&pods).await;
        let burst = measure(&pods, "bench-node", "b", n, 10_000.0).await;
        println!(
            "  burst ({n} created at once): p50 {:.3} s, p99 {:.3} s, running {}/{n}",
            percentile(&burst, 50.0),
            percentile(&burst, 99.0),
            burst.len()
        );
        delete_all(&pods).await;
        krs_agent::testing::remove_all_pods(&socket).await;
        let _ = stop_tx.send(());
        let _ = agent.await;
    });
    drop(rt);
    krs_agent::testing::remove_leftovers(&agent_dir, &socket);
    drop(server);
}
