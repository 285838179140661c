//! API server benchmark: start-up time, idle memory, create throughput and server CPU per
//! create with 16 concurrent clients, list latency at 10,000 and 100,000 objects, memory with
//! 100,000 ConfigMaps stored and while listing them, and watch fan-out to 1,000 watchers.
//!
//! Run: `cargo build --release -p krs -p krs-bench && target/release/apiserver`
//! (KRS_BIN overrides the path of the krs binary; BENCH_OBJECTS the 100,000.)
//!
//! The reference figures are those of a peer Rust implementation measured on this kind of
//! machine (issue 3): idle at 35 MB, ready ~180 ms after exec, 1.3–1.7 ms of server CPU per
//! ConfigMap create. Targets: idle RSS under 20 MB, ready under 100 ms, under 0.25 ms CPU per
//! create.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use krs_bench::client::{Client, Credentials, Error};
use krs_bench::proc;

const PEER_IDLE_MB: f64 = 35.0;
const PEER_READY_MS: f64 = 180.0;
const PEER_CPU_PER_CREATE_MS: f64 = 1.3;
const TARGET_IDLE_MB: f64 = 20.0;
const TARGET_READY_MS: f64 = 100.0;
const TARGET_CPU_PER_CREATE_MS: f64 = 0.25;

struct Server {
    child: Child,
    kubeconfig: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `krs server` on `dir` and returns once it printed that it serves, with the time
    /// that took from exec.
    fn start(krs: &Path, dir: &Path) -> Result<(Server, Duration), Error> {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = Command::new(krs)
            .args(["server", "--data-dir"])
            .arg(dir)
            .args(["--secure-port", &port.to_string(), "--log-level", "warn"])
            .args(["--no-agent", "--no-scheduler", "--no-controller-manager"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut kubeconfig = None;
        let mut ready = None;
        while let Some(line) = lines.next().transpose()? {
            if line.starts_with("krs: serving on") {
                ready = Some(started.elapsed());
            }
            if let Some(p) = line.strip_prefix("krs: admin kubeconfig: ") {
                kubeconfig = Some(PathBuf::from(p));
                break;
            }
        }
        let (Some(ready), Some(kubeconfig)) = (ready, kubeconfig) else {
            let _ = child.kill();
            return Err("krs server did not start".into());
        };
        Ok((Server { child, kubeconfig, _dir: None }, ready))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
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

fn free_port() -> Result<u16, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn krs_binary() -> Result<PathBuf, Error> {
    if let Ok(p) = std::env::var("KRS_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let sibling = exe.parent().ok_or("no parent dir")?.join("krs");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(format!("{} not found: build it with `cargo build --release -p krs` or set KRS_BIN", sibling.display())
            .into())
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn config_map(namespace: &str, name: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "bench"}},
        "data": {"key": "a value of moderate length, as configuration usually is", "other": "x"},
    }))
    .unwrap_or_default()
}

async fn create_many(clients: &[Client], namespace: &str, from: usize, count: usize) -> Result<(), Error> {
    let next = Arc::new(AtomicUsize::new(from));
    let end = from + count;
    let mut tasks = Vec::new();
    for c in clients {
        let (c, next, ns) = (c.clone(), next.clone(), namespace.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<(), Error>(());
                }
                let body = config_map(&ns, &format!("cm-{i:07}"));
                let (status, resp) = c
                    .send(
                        Method::POST,
                        &format!("/api/v1/namespaces/{ns}/configmaps"),
                        Some((body, "application/json")),
                    )
                    .await?;
                if status != StatusCode::CREATED {
                    return Err(format!("create: {status}: {}", String::from_utf8_lossy(&resp)).into());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn connect_many(creds: &Credentials, n: usize) -> Result<Vec<Client>, Error> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(creds).await?);
    }
    Ok(clients)
}

async fn ensure_namespace(c: &Client, name: &str) -> Result<(), Error> {
    let body =
        serde_json::to_vec(&serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))?;
    let (status, resp) = c.send(Method::POST, "/api/v1/namespaces", Some((body, "application/json"))).await?;
    if status != StatusCode::CREATED && status != StatusCode::CONFLICT {
        return Err(format!("namespace: {status}: {}", String::from_utf8_lossy(&resp)).into());
    }
    Ok(())
}

/// Median latency of listing a namespace's ConfigMaps, and the item count.
async fn list_latency(c: &Client, namespace: &str, runs: usize) -> Result<(Duration, usize), Error> {
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (status, body) = c.send(Method::GET, &format!("/api/v1/namespaces/{namespace}/configmaps"), None).await?;
        times.push(t.elapsed());
        if status != StatusCode::OK {
            return Err(format!("list: {status}").into());
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        count = v["items"].as_array().map(|a| a.len()).unwrap_or(0);
    }
    times.sort();
    Ok((times[times.len() / 2], count))
}

/// Streams a list without keeping it, returning the bytes received.
async fn list_streamed(c: &Client, namespace: &str) -> Result<usize, Error> {
    let (status, mut body) = c.stream(&format!("/api/v1/namespaces/{namespace}/configmaps")).await?;
    if status != StatusCode::OK {
        return Err(format!("list: {status}").into());
    }
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            total += data.len();
        }
    }
    Ok(total)
}

async fn watch_fan_out(
    creds: &Credentials,
    writer: &Client,
    watchers: usize,
    events: usize,
) -> Result<Duration, Error> {
    ensure_namespace(writer, "fanout").await?;
    let (_, body) = writer.send(Method::GET, "/api/v1/namespaces/fanout/configmaps?limit=1", None).await?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let rv = v["metadata"]["resourceVersion"].as_str().unwrap_or("0").to_string();
    // 250 streams per connection, as a client-go process multiplexes watches.
    let conns = connect_many(creds, watchers.div_ceil(250)).await?;
    let received = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..watchers {
        let c = conns[i % conns.len()].clone();
        let path = format!("/api/v1/namespaces/fanout/configmaps?watch=1&resourceVersion={rv}");
        let (status, mut body) = c.stream(&path).await?;
        if status != StatusCode::OK {
            return Err(format!("watch: {status}").into());
        }
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            let mut lines = 0;
            while lines < events {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            let n = data.iter().filter(|b| **b == b'\n').count();
                            lines += n;
                            received.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    let started = Instant::now();
    create_many(std::slice::from_ref(writer), "fanout", 0, events).await?;
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(120), t).await;
    }
    let elapsed = started.elapsed();
    let got = received.load(Ordering::Relaxed);
    if got < watchers * events {
        return Err(format!("watchers received {got} of {} events", watchers * events).into());
    }
    Ok(elapsed)
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run())
}

async fn run() -> Result<(), Error> {
    let krs = krs_binary()?;
    let objects: usize = std::env::var("BENCH_OBJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    println!("krs API server benchmark ({})", krs.display());

    // Start-up: exec to serving, on an empty data dir (first start: PKI, store, bootstrap) and
    // on the same dir again (restart).
    let mut first = Vec::new();
    let mut restart = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir()?;
        let (s, t) = Server::start(&krs, dir.path())?;
        first.push(t);
        s.stop();
        let (s, t) = Server::start(&krs, dir.path())?;
        restart.push(t);
        s.stop();
    }
    first.sort();
    restart.sort();
    let ready_ms = first[first.len() / 2].as_secs_f64() * 1000.0;
    let restart_ms = restart[restart.len() / 2].as_secs_f64() * 1000.0;

    let dir = tempfile::tempdir()?;
    let (mut server, _) = Server::start(&krs, dir.path())?;
    let pid = server.pid();
    let creds = Credentials::from_kubeconfig(&server.kubeconfig)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = proc::rss_bytes(pid).ok_or("no RSS")?;

    // Creates with 16 concurrent clients, each on its own connection.
    let clients = connect_many(&creds, 16).await?;
    ensure_namespace(&clients[0], "bench").await?;
    let n_creates = 10_000.min(objects);
    let cpu0 = proc::cpu_seconds(pid).ok_or("no CPU time")?;
    let t = Instant::now();
    create_many(&clients, "bench", 0, n_creates).await?;
    let create_time = t.elapsed();
    let cpu1 = proc::cpu_seconds(pid).ok_or("no CPU time")?;
    let creates_per_s = n_creates as f64 / create_time.as_secs_f64();
    let cpu_per_create_ms = (cpu1 - cpu0) * 1000.0 / n_creates as f64;

    // Lists at 10,000 and at `objects` objects.
    let mut total = n_creates;
    if total < 10_000 {
        create_many(&clients, "bench", total, 10_000 - total).await?;
        total = 10_000;
    }
    let (list_10k, count_10k) = list_latency(&clients[0], "bench", 5).await?;
    if total < objects {
        create_many(&clients, "bench", total, objects - total).await?;
        total = objects;
    }
    let (list_big, count_big) = list_latency(&clients[0], "bench", 3).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_full = proc::rss_bytes(pid).ok_or("no RSS")?;
    proc::reset_peak(pid);
    let before_list = proc::rss_bytes(pid).ok_or("no RSS")?;
    let bytes = list_streamed(&clients[0], "bench").await?;
    let peak_list = proc::peak_rss_bytes(pid).ok_or("no RSS")?;

    // Watch fan-out.
    let watchers = 1000;
    let events = 100;
    let fan_out = watch_fan_out(&creds, &clients[0], watchers, events).await?;
    let deliveries = (watchers * events) as f64 / fan_out.as_secs_f64();

    let _ = server.child.try_wait();
    server.stop();

    println!();
    println!("{:<52} {:>14} {:>14} {:>10}", "figure", "krs", "reference", "ratio");
    let row = |name: &str, v: f64, unit: &str, reference: f64, lower_is_better: bool| {
        let ratio = if lower_is_better { reference / v } else { v / reference };
        println!("{name:<52} {:>11.2} {unit:<2} {reference:>11.2} {unit:<2} {ratio:>9.1}x", v);
    };
    row("ready after exec, empty store (ms)", ready_ms, "ms", PEER_READY_MS, true);
    println!("{:<52} {:>11.2} ms", "ready after exec, restart on the same dir (ms)", restart_ms);
    row("idle RSS (MB)", mb(idle), "MB", PEER_IDLE_MB, true);
    row("server CPU per ConfigMap create (ms)", cpu_per_create_ms, "ms", PEER_CPU_PER_CREATE_MS, true);
    println!("{:<52} {:>11.0} /s", "creates with 16 concurrent clients", creates_per_s);
    println!(
        "{:<52} {:>11.2} ms ({count_10k} items)",
        "list latency at 10,000 ConfigMaps",
        list_10k.as_secs_f64() * 1000.0
    );
    println!(
        "{:<52} {:>11.2} ms ({count_big} items)",
        format!("list latency at {total} ConfigMaps"),
        list_big.as_secs_f64() * 1000.0
    );
    println!("{:<52} {:>11.1} MB", format!("RSS with {total} ConfigMaps"), mb(rss_full));
    println!(
        "{:<52} {:>11.1} MB (peak {:.1} MB, list of {:.1} MB)",
        "RSS growth while streaming that list",
        mb(peak_list.saturating_sub(before_list)),
        mb(peak_list),
        mb(bytes as u64)
    );
    println!(
        "{:<52} {:>11.0} /s ({watchers} watchers x {events} events in {:.2} s)",
        "watch events delivered",
        deliveries,
        fan_out.as_secs_f64()
    );
    println!();
    let check = |name: &str, ok: bool| println!("target {name}: {}", if ok { "met" } else { "NOT met" });
    check(&format!("idle RSS under {TARGET_IDLE_MB} MB"), mb(idle) < TARGET_IDLE_MB);
    check(&format!("ready under {TARGET_READY_MS} ms"), ready_ms < TARGET_READY_MS);
    check(
        &format!("under {TARGET_CPU_PER_CREATE_MS} ms server CPU per create"),
        cpu_per_create_ms < TARGET_CPU_PER_CREATE_MS,
    );
    Ok(())
}
