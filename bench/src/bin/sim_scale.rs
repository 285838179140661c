//! Simulated-node scale: upstream's scalability limits (5,000 nodes, 150,000 pods) against
//! one `krs server`. The simulated nodes (krs-agent's sim runtime) run in this process as an
//! API client, as `krs server --sim-nodes` runs them in the server's; pods are created bound
//! to the nodes round-robin (no scheduler in the loop). Prints the time until every pod is
//! Running, the server's memory, and API latency measured while the pods start.
//!
//! Run: `cargo build --release -p krs -p krs-bench && target/release/sim_scale`
//! (KRS_BIN: the krs binary; BENCH_NODES, BENCH_PODS: 5000 and 150000; BENCH_PENDING=0 skips
//! the intermediate Pending status write.)
//!
//! Reference: KWOK's documentation claims 1,000 nodes and 100,000 pods on a laptop.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use krs_bench::util::{env_usize, mib, percentile, start_server};
use kube::api::{ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;

const KWOK_NODES: f64 = 1000.0;
const KWOK_PODS: f64 = 100_000.0;

/// Latencies (ms) of a few representative requests, sampled every 500 ms while `stop` is 0.
async fn probe_latency(client: Client, stop: Arc<AtomicUsize>) -> Vec<(&'static str, Vec<f64>)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<Node> = Api::all(client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let (mut get, mut list, mut create) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while stop.load(Ordering::Relaxed) == 0 {
        let t = Instant::now();
        let _ = pods.get_opt("p-0").await;
        get.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = nodes.list(&ListParams::default().limit(500)).await;
        list.push(t.elapsed().as_secs_f64() * 1e3);
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": format!("probe-{i}")}})).expect("cm");
        let t = Instant::now();
        let _ = cms.create(&PostParams::default(), &cm).await;
        create.push(t.elapsed().as_secs_f64() * 1e3);
        i += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for v in [&mut get, &mut list, &mut create] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    vec![("GET pod", get), ("LIST 500 nodes", list), ("CREATE configmap", create)]
}

fn main() {
    let n_nodes = env_usize("BENCH_NODES", 5000);
    let n_pods = env_usize("BENCH_PODS", 150_000);
    let pending = std::env::var("BENCH_PENDING").map(|v| v != "0").unwrap_or(true);
    let dir = tempfile::Builder::new().prefix("krs-sim-scale-").tempdir().expect("tempdir");
    let (mut server, kubeconfig) = start_server(&dir.path().join("server"));
    let server_pid = server.id();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
        let client = Client::try_from(config).expect("client");
        let idle = proc_rss(server_pid);
        let sim = krs_agent::SimOptions { nodes: n_nodes, report_pending: pending, ..Default::default() };
        let mut o = krs_agent::AgentOptions::new("unused", dir.path().join("agent"));
        o.runtime = krs_agent::RuntimeKind::Sim(sim);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let agent = tokio::spawn(krs_agent::run(client.clone(), o, async move {
            let _ = stop_rx.await;
        }));
        let nodes: Api<Node> = Api::all(client.clone());
        loop {
            let list = nodes.list(&ListParams::default().labels("node.krs.io/simulated=true")).await;
            let ready = list.map(|l| l.items.len()).unwrap_or(0);
            if ready >= n_nodes {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let nodes_s = started.elapsed().as_secs_f64();
        println!("simulated-node scale: {n_nodes} nodes, {n_pods} pods (Pending status written: {pending})");
        println!(
            "  {n_nodes} nodes registered in {nodes_s:.1} s; server RSS {:.0} MiB (idle {:.0} MiB)",
            mib(proc_rss(server_pid)),
            mib(idle)
        );

        // Count pods turning Running through a watch on that phase.
        let running: Arc<Mutex<HashSet<String>>> = Arc::default();
        let pods_all: Api<Pod> = Api::all(client.clone());
        let watch = {
            let running = running.clone();
            tokio::spawn(async move {
                let cfg = watcher::Config::default().fields("status.phase=Running").page_size(5000);
                let mut stream = watcher(pods_all, cfg).boxed();
                loop {
                    match stream.try_next().await {
                        Ok(Some(watcher::Event::Apply(p) | watcher::Event::InitApply(p))) => {
                            if let Some(n) = p.metadata.name {
                                running.lock().insert(n);
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => return,
                        Err(e) => {
                            eprintln!("watch: {e}");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            })
        };
        let stop = Arc::new(AtomicUsize::new(0));
        let prober = tokio::spawn(probe_latency(client.clone(), stop.clone()));
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let t0 = Instant::now();
        let created = Arc::new(AtomicUsize::new(0));
        futures::stream::iter(0..n_pods)
            .for_each_concurrent(128, |i| {
                let pods = pods.clone();
                let created = created.clone();
                async move {
                    let p: Pod = serde_json::from_value(serde_json::json!({
                        "metadata": {"name": format!("p-{i}"), "labels": {"app": format!("app-{}", i % 100)}},
                        "spec": {"nodeName": format!("krs-sim-{}", i % n_nodes),
                                 "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                                 "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]}
                    }))
                    .expect("pod");
                    for _ in 0..5 {
                        match pods.create(&PostParams::default(), &p).await {
                            Ok(_) => {
                                created.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                            Err(kube::Error::Api(s)) if s.code == 409 => return,
                            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        }
                    }
                }
            })
            .await;
        let create_s = t0.elapsed().as_secs_f64();
        println!(
            "  {} pods created in {create_s:.1} s ({:.0}/s)",
            created.load(Ordering::Relaxed),
            created.load(Ordering::Relaxed) as f64 / create_s
        );
        let deadline = Instant::now() + Duration::from_secs(1800);
        loop {
            let n = running.lock().len();
            if n >= n_pods || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let all_s = t0.elapsed().as_secs_f64();
        stop.store(1, Ordering::Relaxed);
        let lat = prober.await.unwrap_or_default();
        watch.abort();
        println!("  all {} pods Running {all_s:.1} s after the first create", running.lock().len());
        println!(
            "  server RSS {:.0} MiB (peak {:.0} MiB); this process (simulated nodes, clients) {:.0} MiB",
            mib(proc_rss(server_pid)),
            mib(krs_bench::proc::peak_rss_bytes(server_pid)),
            mib(proc_rss(std::process::id()))
        );
        for (what, v) in &lat {
            println!(
                "  API latency while pods start, {what}: p50 {:.1} ms, p99 {:.1} ms ({} samples)",
                percentile(v, 50.0),
                percentile(v, 99.0),
                v.len()
            );
        }
        println!(
            "  vs KWOK's claim ({KWOK_NODES} nodes, {KWOK_PODS} pods): {:.1}x the nodes, {:.1}x the pods",
            n_nodes as f64 / KWOK_NODES,
            n_pods as f64 / KWOK_PODS
        );
        let _ = stop_tx.send(());
        let _ = agent.await;
    });
    drop(rt);
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(server_pid as i32, libc::SIGTERM) };
    let _ = server.wait();
}

fn proc_rss(pid: u32) -> Option<u64> {
    krs_bench::proc::rss_bytes(pid)
}
