//! Controller-manager scale: one Deployment of 10,000 replicas on 1,000 Node objects. The API
//! server runs alone (`krs server --no-scheduler --no-controller-manager --no-agent`) and the
//! controller manager as its own process (`krs controller-manager`), so the memory of each is
//! read from /proc separately. This process plays the scheduler and the kubelets: it creates
//! the nodes (Ready, with a Lease renewed every 10 s as a kubelet does), watches the pods, binds
//! each new one round-robin through `pods/binding` and reports it Running and Ready through
//! `pods/status`. Prints the time from the Deployment's create until it is Available with every
//! replica available, the API requests the controller manager made per pod (from the server's
//! request log, by connection), and the RSS of the server and of the controller manager.
//!
//! Run: `cargo build --release -p krs -p krs-bench && target/release/deployment_scale`
//! (KRS_BIN: the krs binary; BENCH_REPLICAS, BENCH_NODES: 10000 and 1000; BENCH_IN_FLIGHT: the
//! harness's concurrent bindings and status writes, 128; BENCH_TIMEOUT: seconds to wait for the
//! Deployment, 1800; BENCH_KEEP=1 keeps the temporary directory with the server's and the
//! controller manager's logs.)
//!
//! Attribution: kube-rs sends no User-Agent and neither does the harness's client, so the
//! server's log lines (`krs::request`, with the client's `peer` address) are attributed by
//! connection: the local ports of this process's connections to the server (from
//! /proc/self/fd and /proc/net/tcp) are the harness's, those of the controller manager's
//! sockets (sampled every 200 ms) are the controller manager's. The harness also counts its own
//! requests, as a check of the attribution.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use krs_bench::client::{Client, Credentials, Error};
use krs_bench::util::{env_usize, krs_binary, mib, percentile};
use parking_lot::Mutex;
use serde_json::{Value, json};

const NS: &str = "default";
const DEPLOYMENT: &str = "bench";
/// Requests in flight for node creation, binding and status writes (BENCH_IN_FLIGHT). With 64
/// the harness fell ~5 s behind the controller manager's pod creates on a 2-core VM; with 128 it
/// keeps up, so the time measured is the controller manager's.
const IN_FLIGHT: usize = 128;
/// Connections the harness spreads its writes over (HTTP/2, multiplexed).
const WRITERS: usize = 4;
/// How long the controller manager's requests are still counted after Available.
const SETTLE: Duration = Duration::from_secs(5);
const LEASE_RENEW: Duration = Duration::from_secs(10);
const JSON: &str = "application/json";
const SMP: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";

/// RFC 3339 in UTC with `digits` fractional digits (0 or 6), as Kubernetes' Time and
/// MicroTime, and as the server's log timestamps (6 digits) for comparing them as strings.
fn rfc3339(t: SystemTime, digits: u32) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if digits == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:06}Z", d.subsec_micros())
    }
}

fn now_time() -> String {
    rfc3339(SystemTime::now(), 0)
}

fn now_micro() -> String {
    rfc3339(SystemTime::now(), 6)
}

/// The two krs processes; stopped with SIGTERM (then SIGKILL after 20 s) when dropped, also
/// on an error or a panic.
#[derive(Default)]
struct Procs {
    children: Vec<(&'static str, Child)>,
}

impl Procs {
    fn alive(&mut self, name: &str) -> bool {
        self.children.iter_mut().any(|(n, c)| *n == name && matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        // The controller manager first, so it does not log errors about a vanished server.
        for (_, child) in self.children.iter_mut().rev() {
            if matches!(child.try_wait(), Ok(None)) {
                // SAFETY: kill(2) on the PID of our own child, which has not been reaped.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn start_server(bin: &Path, dir: &Path, procs: &mut Procs) -> Result<(u32, PathBuf, PathBuf), Error> {
    let log = dir.join("server.log");
    let mut cmd = Command::new(bin);
    cmd.arg("server").arg("--data-dir").arg(dir.join("server"));
    cmd.args(["--secure-port", "0", "--bind-address", "127.0.0.1"]);
    cmd.args(["--no-agent", "--no-scheduler", "--no-controller-manager", "--log-level", "info"]);
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log)?)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    procs.children.push(("server", child));
    let Some(kubeconfig) = krs_bench::util::admin_kubeconfig(stdout) else {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!("krs server exited during start-up:\n{tail}").into());
    };
    Ok((pid, kubeconfig, log))
}

fn start_controller_manager(bin: &Path, kubeconfig: &Path, dir: &Path, procs: &mut Procs) -> Result<u32, Error> {
    let mut cmd = Command::new(bin);
    cmd.arg("controller-manager").arg("--kubeconfig").arg(kubeconfig);
    cmd.args(["--leader-elect=false", "--log-level", "warn"]);
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(dir.join("controller-manager.log"))?)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let pid = child.id();
    procs.children.push(("controller-manager", child));
    Ok(pid)
}

/// Local ports of `pid`'s TCP connections to `server_port` on the loopback.
fn socket_ports(pid: u32, server_port: u16) -> HashSet<u16> {
    let mut inodes = HashSet::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Ok(target) = std::fs::read_link(e.path())
                && let Some(inode) =
                    target.to_str().and_then(|t| t.strip_prefix("socket:[")).and_then(|t| t.strip_suffix(']'))
            {
                inodes.insert(inode.to_string());
            }
        }
    }
    let mut ports = HashSet::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || !inodes.contains(f[9]) {
                continue;
            }
            let port = |addr: &str| addr.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if port(f[2]) == Some(server_port)
                && let Some(local) = port(f[1])
            {
                ports.insert(local);
            }
        }
    }
    ports
}

/// One line of the server's request log.
struct Req {
    ts: String,
    /// Kubernetes' verb (get, list, watch, create, update, patch, delete, deletecollection).
    verb: &'static str,
    /// resource[/subresource]
    resource: String,
    port: Option<u16>,
    /// The server's time in the handler, in ms.
    latency_ms: f64,
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &line[start..];
    Some(rest.split(' ').next().unwrap_or(rest).trim_matches('"'))
}

fn parse_request(raw: &str) -> Option<Req> {
    if !raw.contains("krs::request") {
        return None;
    }
    let line = if raw.contains('\x1b') { strip_ansi(raw) } else { raw.to_string() };
    let ts = line.split_whitespace().next()?.to_string();
    let method = field(&line, "verb")?;
    let uri = field(&line, "uri")?;
    let latency_ms = field(&line, "latency_us").and_then(|l| l.parse::<f64>().ok()).unwrap_or(f64::NAN) / 1e3;
    let port = field(&line, "peer").and_then(|p| p.rsplit_once(':')).and_then(|(_, p)| p.parse().ok());
    // HTTP/2 clients may send the absolute form (`https://host:port/path`).
    let uri = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => uri,
    };
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segs.first() {
        Some(&"api") if segs.len() >= 2 => &segs[2..],
        Some(&"apis") if segs.len() >= 3 => &segs[3..],
        _ => &[],
    };
    let (resource, name, sub) = match rest {
        // /api, /apis, /apis/{group}/{version}, /openapi/...
        [] => ("discovery".to_string(), Some(&""), None),
        ["namespaces", _, r, tail @ ..] => (r.to_string(), tail.first(), tail.get(1)),
        [r, tail @ ..] => (r.to_string(), tail.first(), tail.get(1)),
    };
    let watch = query.split('&').any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (method, name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "other",
    };
    let resource = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource,
    };
    Some(Req { ts, verb, resource, port, latency_ms })
}

fn read_requests(log: &Path) -> Vec<Req> {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter_map(parse_request).collect()
}

/// The harness's API client: writes spread over a few connections, every request counted.
struct Harness {
    writers: Vec<Client>,
    next: AtomicUsize,
    requests: AtomicU64,
}

impl Harness {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<(StatusCode, Bytes), Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let c = &self.writers[self.next.fetch_add(1, Ordering::Relaxed) % self.writers.len()];
        c.send(method, path, body).await
    }

    /// Retries transport errors, 5xx and 429 with backoff (9 attempts).
    async fn send_retry(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ct: &str,
    ) -> Result<(StatusCode, Bytes), Error> {
        let bytes = body.map(serde_json::to_vec).transpose()?;
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = self.send(method.clone(), path, bytes.clone().map(|b| (b, ct))).await;
            match r {
                Ok((s, b)) if !(s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS) || attempt >= 9 => {
                    return Ok((s, b));
                }
                Err(e) if attempt >= 9 => return Err(e),
                _ => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// A request that must succeed with 2xx.
    async fn expect(&self, method: Method, path: &str, body: Option<&Value>, ct: &str) -> Result<Value, Error> {
        let (s, b) = self.send_retry(method.clone(), path, body, ct).await?;
        if !s.is_success() {
            return Err(format!("{method} {path}: {s}: {}", String::from_utf8_lossy(&b)).into());
        }
        Ok(serde_json::from_slice(&b)?)
    }
}

fn node_name(i: usize) -> String {
    format!("node-{i:05}")
}

fn node_ip(i: usize) -> String {
    format!("172.{}.{}.{}", 16 + (i >> 16), (i >> 8) & 255, i & 255)
}

async fn create_node(h: &Harness, i: usize) -> Result<(), Error> {
    let name = node_name(i);
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node.krs.io/bench": "true"}},
        "spec": {"podCIDR": format!("10.{}.{}.0/24", 64 + (i >> 8), i & 255)}
    });
    h.expect(Method::POST, "/api/v1/nodes", Some(&node), JSON).await?;
    let now = now_time();
    let resources = json!({"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    let cond = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": reason,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let status = json!({"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
            cond("Ready", "True", "KubeletReady"),
        ],
        "addresses": [{"type": "InternalIP", "address": node_ip(i)}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "6.1.0",
                     "osImage": "bench", "containerRuntimeVersion": "bench://1", "kubeletVersion": "v1.33.0",
                     "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}
    }});
    h.expect(Method::PATCH, &format!("/api/v1/nodes/{name}/status"), Some(&status), SMP).await?;
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_micro()}
    });
    h.expect(Method::POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Some(&lease), JSON)
        .await?;
    Ok(())
}

/// Renews every node's Lease every 10 s, as kubelets do.
async fn renew_leases(h: Arc<Harness>, nodes: usize) {
    loop {
        tokio::time::sleep(LEASE_RENEW).await;
        futures::stream::iter(0..nodes)
            .for_each_concurrent(16, |i| {
                let h = h.clone();
                async move {
                    let body = json!({"spec": {"renewTime": now_micro()}});
                    let path =
                        format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}", node_name(i));
                    if let Err(e) = h.expect(Method::PATCH, &path, Some(&body), MERGE).await {
                        eprintln!("lease renewal: {e}");
                    }
                }
            })
            .await;
    }
}

/// What the harness saw of the pods.
struct Pods {
    nodes: usize,
    seen: Mutex<HashSet<String>>,
    bound: AtomicUsize,
    running: AtomicUsize,
    failed: AtomicUsize,
    next_node: AtomicUsize,
    next_ip: AtomicUsize,
    permits: Arc<tokio::sync::Semaphore>,
    /// Latencies (ms) of bindings and status writes as the harness sees them.
    bind_ms: Mutex<Vec<f64>>,
    status_ms: Mutex<Vec<f64>>,
}

impl Pods {
    /// A pod seen in a list or a watch event: the first time, bind it if it is not and report it
    /// Running.
    fn consider(self: &Arc<Self>, h: &Arc<Harness>, pod: &Value) {
        let meta = &pod["metadata"];
        let Some(name) = meta["name"].as_str() else { return };
        if !meta["deletionTimestamp"].is_null() || !self.seen.lock().insert(name.to_string()) {
            return;
        }
        let bound_to = pod["spec"]["nodeName"].as_str().map(str::to_string);
        let running = pod["status"]["phase"].as_str() == Some("Running");
        let containers: Vec<(String, String)> = pod["spec"]["containers"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        (c["name"].as_str().unwrap_or("").to_string(), c["image"].as_str().unwrap_or("").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (me, h, name) = (self.clone(), h.clone(), name.to_string());
        tokio::spawn(async move {
            let Ok(_permit) = me.permits.clone().acquire_owned().await else { return };
            if let Err(e) = me.start(&h, &name, bound_to, running, &containers).await
                && me.failed.fetch_add(1, Ordering::Relaxed) < 10
            {
                eprintln!("pod {name}: {e}");
            }
        });
    }

    async fn start(
        &self,
        h: &Harness,
        name: &str,
        bound_to: Option<String>,
        running: bool,
        containers: &[(String, String)],
    ) -> Result<(), Error> {
        let node = match bound_to {
            Some(n) => n,
            None => {
                let n = self.next_node.fetch_add(1, Ordering::Relaxed) % self.nodes;
                let node = node_name(n);
                let binding = json!({"apiVersion": "v1", "kind": "Binding",
                                     "metadata": {"name": name, "namespace": NS},
                                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}});
                let path = format!("/api/v1/namespaces/{NS}/pods/{name}/binding");
                let t = Instant::now();
                let (s, b) = h.send_retry(Method::POST, &path, Some(&binding), JSON).await?;
                self.bind_ms.lock().push(t.elapsed().as_secs_f64() * 1e3);
                match s {
                    s if s.is_success() => {}
                    // Gone: deleted by its ReplicaSet meanwhile.
                    StatusCode::NOT_FOUND => return Ok(()),
                    s => return Err(format!("binding: {s}: {}", String::from_utf8_lossy(&b)).into()),
                }
                node
            }
        };
        self.bound.fetch_add(1, Ordering::Relaxed);
        if running {
            self.running.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let node_ip = node.strip_prefix("node-").and_then(|n| n.parse().ok()).map(node_ip).unwrap_or_default();
        let i = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let ip = format!("10.{}.{}.{}", 128 + (i >> 16), (i >> 8) & 255, i & 255);
        let now = now_time();
        let cond =
            |type_: &str| json!({"type": type_, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
        let statuses: Vec<Value> = containers
            .iter()
            .enumerate()
            .map(|(k, (c, image))| {
                json!({"name": c, "image": image, "imageID": format!("{image}@sha256:0"),
                       "containerID": format!("bench://{name}-{k}"), "ready": true, "started": true,
                       "restartCount": 0, "state": {"running": {"startedAt": now}}})
            })
            .collect();
        let status = json!({"status": {
            "phase": "Running",
            "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady")],
            "hostIP": node_ip, "hostIPs": [{"ip": node_ip}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": now,
            "containerStatuses": statuses,
        }});
        let path = format!("/api/v1/namespaces/{NS}/pods/{name}/status");
        let t = Instant::now();
        let (s, b) = h.send_retry(Method::PATCH, &path, Some(&status), SMP).await?;
        self.status_ms.lock().push(t.elapsed().as_secs_f64() * 1e3);
        match s {
            s if s.is_success() => {
                self.running.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            StatusCode::NOT_FOUND => Ok(()),
            s => Err(format!("status: {s}: {}", String::from_utf8_lossy(&b)).into()),
        }
    }
}

/// Lists the pods, then watches them from the list's revision; relists on 410.
async fn watch_pods(h: Arc<Harness>, watcher: Client, pods: Arc<Pods>) {
    let mut rv: Option<String> = None;
    loop {
        let from = match rv.clone() {
            Some(rv) => rv,
            None => match h.expect(Method::GET, &format!("/api/v1/namespaces/{NS}/pods"), None, JSON).await {
                Ok(list) => {
                    for p in list["items"].as_array().into_iter().flatten() {
                        pods.consider(&h, p);
                    }
                    list["metadata"]["resourceVersion"].as_str().unwrap_or("0").to_string()
                }
                Err(e) => {
                    eprintln!("pod list: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        rv = Some(from.clone());
        let path = format!("/api/v1/namespaces/{NS}/pods?watch=1&allowWatchBookmarks=true&resourceVersion={from}");
        h.requests.fetch_add(1, Ordering::Relaxed);
        let mut body = match watcher.stream(&path).await {
            Ok((StatusCode::OK, body)) => body,
            Ok((s, _)) => {
                eprintln!("pod watch: {s}");
                rv = None;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => {
                eprintln!("pod watch: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut buf: Vec<u8> = Vec::new();
        'stream: while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Ok(data) = frame.into_data() else { continue };
            buf.extend_from_slice(&data);
            while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                let Ok(ev) = serde_json::from_slice::<Value>(&line) else { continue };
                let obj = &ev["object"];
                if ev["type"] == "ERROR" {
                    if obj["code"] == 410 {
                        rv = None;
                    } else {
                        eprintln!("pod watch error: {obj}");
                    }
                    break 'stream;
                }
                if let Some(v) = obj["metadata"]["resourceVersion"].as_str() {
                    rv = Some(v.to_string());
                }
                if ev["type"] == "ADDED" || ev["type"] == "MODIFIED" {
                    pods.consider(&h, obj);
                }
            }
        }
    }
}

/// The Deployment's status as the harness polls it.
#[derive(Default)]
struct DeploymentStatus {
    replicas: i64,
    updated: i64,
    ready: i64,
    available: i64,
    available_condition: bool,
    observed: bool,
}

fn deployment_status(d: &Value) -> DeploymentStatus {
    let s = &d["status"];
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    DeploymentStatus {
        replicas: n("replicas"),
        updated: n("updatedReplicas"),
        ready: n("readyReplicas"),
        available: n("availableReplicas"),
        available_condition: s["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Available" && c["status"] == "True")),
        observed: s["observedGeneration"].as_i64() >= d["metadata"]["generation"].as_i64(),
    }
}

/// Request counts of one party in one window: total, and by "verb resource".
#[derive(Default)]
struct Counts {
    total: usize,
    by: BTreeMap<String, usize>,
}

impl Counts {
    fn add(&mut self, r: &Req) {
        self.total += 1;
        *self.by.entry(format!("{} {}", r.verb, r.resource)).or_default() += 1;
    }

    fn breakdown(&self) -> String {
        let mut v: Vec<(&String, &usize)> = self.by.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
    }
}

/// The benchmark's parameters.
struct Params {
    replicas: usize,
    nodes: usize,
    in_flight: usize,
    timeout: Duration,
}

/// The API server as the benchmark sees it.
struct Server {
    pid: u32,
    kubeconfig: PathBuf,
    log: PathBuf,
    creds: Credentials,
    port: u16,
}

fn main() -> Result<(), Error> {
    let params = Params {
        replicas: env_usize("BENCH_REPLICAS", 10_000),
        nodes: env_usize("BENCH_NODES", 1000).max(1),
        in_flight: env_usize("BENCH_IN_FLIGHT", IN_FLIGHT).max(1),
        timeout: Duration::from_secs(env_usize("BENCH_TIMEOUT", 1800) as u64),
    };
    let bin = krs_binary();
    // Declared before the processes, so they are stopped before the directory is removed.
    let dir = tempfile::Builder::new().prefix("krs-deployment-scale-").tempdir()?;
    let mut procs = Procs::default();
    let (pid, kubeconfig, log) = start_server(&bin, dir.path(), &mut procs)?;
    let creds = Credentials::from_kubeconfig(&kubeconfig)?;
    let port: u16 =
        creds.server.trim_end_matches('/').rsplit_once(':').and_then(|(_, p)| p.parse().ok()).ok_or("server port")?;
    let server = Server { pid, kubeconfig, log, creds, port };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = rt.block_on(run(&bin, dir.path(), &mut procs, &server, &params));
    drop(rt);
    drop(procs);
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!("logs kept in {}", dir.keep().display());
    } else if let Err(e) = &result {
        eprintln!("deployment_scale failed: {e} (BENCH_KEEP=1 keeps the logs)");
    }
    result
}

async fn run(bin: &Path, dir: &Path, procs: &mut Procs, server: &Server, params: &Params) -> Result<(), Error> {
    let Params { replicas, nodes: n_nodes, in_flight, timeout } = *params;
    let (server_pid, kubeconfig, log, creds, server_port) =
        (server.pid, &server.kubeconfig, &server.log, &server.creds, server.port);
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        writers.push(Client::connect(creds).await?);
    }
    let watcher = Client::connect(creds).await?;
    // The Deployment is polled on a connection of its own, which also measures the round trip of
    // a cheap request apart from the writers' connections.
    let poller = Client::connect(creds).await?;
    let h = Arc::new(Harness { writers, next: AtomicUsize::new(0), requests: AtomicU64::new(0) });
    let harness_ports = socket_ports(std::process::id(), server_port);
    if harness_ports.len() != WRITERS + 2 {
        return Err(format!("found {} harness connections, expected {}", harness_ports.len(), WRITERS + 2).into());
    }

    // The controller manager, and its informers' watches in the log before anything starts.
    let cm_pid = start_controller_manager(bin, kubeconfig, dir, procs)?;
    let cm_ports: Arc<Mutex<HashSet<u16>>> = Arc::default();
    let sample_cm = |ports: &Mutex<HashSet<u16>>| ports.lock().extend(socket_ports(cm_pid, server_port));
    let t_nodes = Instant::now();
    futures::stream::iter(0..n_nodes)
        .map(|i| {
            let h = h.clone();
            async move { create_node(&h, i).await }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<()>, Error>>()?;
    let nodes_s = t_nodes.elapsed().as_secs_f64();
    let renewer = tokio::spawn(renew_leases(h.clone(), n_nodes));
    let synced = Instant::now();
    loop {
        sample_cm(&cm_ports);
        let ports = cm_ports.lock().clone();
        let watching: HashSet<String> = read_requests(log)
            .into_iter()
            .filter(|r| r.verb == "watch" && r.port.is_some_and(|p| ports.contains(&p)))
            .map(|r| r.resource)
            .collect();
        if ["deployments", "replicasets", "pods"].iter().all(|r| watching.contains(*r)) {
            break;
        }
        if !procs.alive("controller-manager") {
            let text = std::fs::read_to_string(dir.join("controller-manager.log")).unwrap_or_default();
            return Err(format!("the controller manager exited:\n{text}").into());
        }
        if synced.elapsed() > Duration::from_secs(60) {
            return Err("the controller manager did not watch deployments, replicasets and pods within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the informers' initial lists land.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_idle = krs_bench::proc::rss_bytes(server_pid);
    let cm_idle = krs_bench::proc::rss_bytes(cm_pid);
    let cpu = || [server_pid, cm_pid, std::process::id()].map(|p| krs_bench::proc::cpu_seconds(p).unwrap_or(f64::NAN));

    let pods = Arc::new(Pods {
        nodes: n_nodes,
        seen: Mutex::default(),
        bound: AtomicUsize::new(0),
        running: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        next_node: AtomicUsize::new(0),
        next_ip: AtomicUsize::new(0),
        permits: Arc::new(tokio::sync::Semaphore::new(in_flight)),
        bind_ms: Mutex::default(),
        status_ms: Mutex::default(),
    });
    let pod_watch = tokio::spawn(watch_pods(h.clone(), watcher, pods.clone()));

    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": DEPLOYMENT}},
            "template": {
                "metadata": {"labels": {"app": DEPLOYMENT}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                                         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    });
    // How late this process's runtime wakes a task (a busy harness would inflate every figure).
    let lag_stop = Arc::new(AtomicUsize::new(0));
    let lag = {
        let stop = lag_stop.clone();
        tokio::spawn(async move {
            let mut lag = Vec::new();
            while stop.load(Ordering::Relaxed) == 0 {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(5)).await;
                lag.push((t.elapsed().as_secs_f64() - 0.005) * 1e3);
            }
            lag
        })
    };
    let created_at = now_micro();
    let cpu_before = cpu();
    let machine_before = krs_bench::proc::machine_cpu_seconds().unwrap_or_default();
    let t0 = Instant::now();
    h.expect(Method::POST, &format!("/apis/apps/v1/namespaces/{NS}/deployments"), Some(&deployment), JSON).await?;
    let path = format!("/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}");
    let (mut all_seen, mut all_running, mut first_seen) = (None, None, None);
    let mut last_progress = Instant::now();
    let mut status = DeploymentStatus::default();
    let mut poll_ms = Vec::new();
    let available = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sample_cm(&cm_ports);
        let seen = pods.seen.lock().len();
        let running = pods.running.load(Ordering::Relaxed);
        if first_seen.is_none() && seen > 0 {
            first_seen = Some(t0.elapsed());
        }
        if all_seen.is_none() && seen >= replicas {
            all_seen = Some(t0.elapsed());
        }
        if all_running.is_none() && running >= replicas {
            all_running = Some(t0.elapsed());
        }
        h.requests.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let got = poller.send(Method::GET, &path, None).await;
        poll_ms.push(t.elapsed().as_secs_f64() * 1e3);
        match got {
            Ok((StatusCode::OK, b)) => status = deployment_status(&serde_json::from_slice(&b)?),
            Ok((s, b)) => eprintln!("deployment: {s}: {}", String::from_utf8_lossy(&b)),
            Err(e) => eprintln!("deployment: {e}"),
        }
        if status.observed && status.available_condition && status.available == replicas as i64 {
            break Some(t0.elapsed());
        }
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = Instant::now();
            eprintln!(
                "  {:.0} s: pods seen {seen}, bound {}, Running {running}; deployment replicas {}, updated {}, ready {}, available {}",
                t0.elapsed().as_secs_f64(),
                pods.bound.load(Ordering::Relaxed),
                status.replicas,
                status.updated,
                status.ready,
                status.available
            );
        }
        if !procs.alive("controller-manager") || !procs.alive("server") {
            eprintln!("a krs process exited");
            break None;
        }
        if t0.elapsed() > timeout {
            break None;
        }
    };
    let available_at = now_micro();
    let cpu_after = cpu();
    let machine_after = krs_bench::proc::machine_cpu_seconds().unwrap_or_default();
    lag_stop.store(1, Ordering::Relaxed);
    let mut lag = lag.await.unwrap_or_default();
    tokio::time::sleep(SETTLE).await;
    sample_cm(&cm_ports);
    let settled_at = now_micro();
    let (server_rss, server_peak) =
        (krs_bench::proc::rss_bytes(server_pid), krs_bench::proc::peak_rss_bytes(server_pid));
    let (cm_rss, cm_peak) = (krs_bench::proc::rss_bytes(cm_pid), krs_bench::proc::peak_rss_bytes(cm_pid));
    let harness_rss = krs_bench::proc::rss_bytes(std::process::id());
    pod_watch.abort();
    renewer.abort();
    let harness_counted = h.requests.load(Ordering::Relaxed);

    // The server's request log, by party and window.
    let cm_ports = cm_ports.lock().clone();
    let (mut cm_setup, mut cm_rollout, mut cm_after) = (Counts::default(), Counts::default(), Counts::default());
    let (mut harness_logged, mut unattributed, mut in_process) = (0, Counts::default(), 0);
    let (mut server_bind_ms, mut server_status_ms, mut server_create_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut server_poll_ms = Vec::new();
    for r in read_requests(log) {
        let Some(port) = r.port else {
            in_process += 1;
            continue;
        };
        if harness_ports.contains(&port) {
            harness_logged += 1;
            match (r.verb, r.resource.as_str()) {
                ("create", "pods/binding") => server_bind_ms.push(r.latency_ms),
                ("patch", "pods/status") => server_status_ms.push(r.latency_ms),
                ("get", "deployments") if r.ts >= created_at => server_poll_ms.push(r.latency_ms),
                _ => {}
            }
        } else if cm_ports.contains(&port) {
            if r.verb == "create" && r.resource == "pods" {
                server_create_ms.push(r.latency_ms);
            }
            if r.ts < created_at {
                cm_setup.add(&r);
            } else if r.ts <= available_at {
                cm_rollout.add(&r);
            } else if r.ts <= settled_at {
                cm_after.add(&r);
            }
        } else {
            unattributed.add(&r);
        }
    }

    let secs = |d: Option<Duration>| d.map(|d| format!("{:.1} s", d.as_secs_f64())).unwrap_or_else(|| "never".into());
    println!(
        "deployment scale: {replicas} replicas on {n_nodes} nodes (controller manager in its own process; this process binds the pods and reports them Running, {in_flight} requests in flight)"
    );
    println!("  {n_nodes} nodes created, Ready, with Leases in {nodes_s:.1} s");
    match available {
        Some(d) => println!(
            "  Deployment Available with {replicas}/{replicas} available {:.1} s after its create: {:.0} pods/s",
            d.as_secs_f64(),
            replicas as f64 / d.as_secs_f64()
        ),
        None => println!(
            "  Deployment NOT Available after {:.1} s: replicas {}, updated {}, ready {}, available {}, Available condition {}",
            t0.elapsed().as_secs_f64() - SETTLE.as_secs_f64(),
            status.replicas,
            status.updated,
            status.ready,
            status.available,
            status.available_condition
        ),
    }
    println!(
        "    first pod seen {}, all {replicas} pods created {}, all bound and reported Running {} (pods seen: {}, binding/status failures: {})",
        secs(first_seen),
        secs(all_seen),
        secs(all_running),
        pods.seen.lock().len(),
        pods.failed.load(Ordering::Relaxed)
    );
    println!(
        "  controller-manager API requests from the create to Available: {} = {:.2} per pod",
        cm_rollout.total,
        cm_rollout.total as f64 / replicas as f64
    );
    println!("    by verb: {}", cm_rollout.breakdown());
    println!(
        "    {} more in the {} s after Available ({}); {} at start-up before the create",
        cm_after.total,
        SETTLE.as_secs(),
        if cm_after.total == 0 { "none".into() } else { cm_after.breakdown() },
        cm_setup.total
    );
    println!(
        "  harness API requests: {harness_counted} sent, {harness_logged} in the server log; unattributed log lines: {}{}",
        unattributed.total + in_process,
        if unattributed.total > 0 { format!(" ({})", unattributed.breakdown()) } else { String::new() }
    );
    let pct = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        format!("p50 {:.1} ms, p99 {:.1} ms", percentile(v, 50.0), percentile(v, 99.0))
    };
    println!("  latency of the controller manager's pod creates, in the server: {}", pct(&mut server_create_ms));
    println!(
        "  latency of the harness's bindings: {} (in the server: {}); status writes: {} (in the server: {})",
        pct(&mut pods.bind_ms.lock()),
        pct(&mut server_bind_ms),
        pct(&mut pods.status_ms.lock()),
        pct(&mut server_status_ms)
    );
    println!(
        "  latency of the Deployment polls (own connection): {} (in the server: {}); harness timer lateness {}",
        pct(&mut poll_ms),
        pct(&mut server_poll_ms),
        pct(&mut lag)
    );
    println!(
        "  server RSS {:.0} MiB (peak {:.0} MiB; {:.0} MiB before the Deployment)",
        mib(server_rss),
        mib(server_peak),
        mib(server_idle)
    );
    println!(
        "  controller manager RSS {:.0} MiB (peak {:.0} MiB; {:.0} MiB before the Deployment)",
        mib(cm_rss),
        mib(cm_peak),
        mib(cm_idle)
    );
    println!("  this process (harness) RSS {:.0} MiB", mib(harness_rss));
    let used = |i: usize| cpu_after[i] - cpu_before[i];
    let busy = machine_after.0 - machine_before.0;
    println!(
        "  CPU from the create to Available: server {:.1} s, controller manager {:.1} s, harness {:.1} s; machine busy {:.1} of {:.1} CPU-s ({} cores), other processes {:.1} s",
        used(0),
        used(1),
        used(2),
        busy,
        machine_after.1 - machine_before.1,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        busy - used(0) - used(1) - used(2)
    );
    if available.is_none() {
        return Err("the Deployment did not become Available".into());
    }
    Ok(())
}
