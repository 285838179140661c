//! Integration harness: starts the real `krs server` binary on a throwaway data directory,
//! runs the controller manager against its admin kubeconfig, and plays the kubelet's part by
//! writing pod status through pods/status (as upstream's integration tests do).

#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use krs_controllers::ControllerManagerOptions;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DEADLINE: Duration = Duration::from_secs(60);
pub const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// The krs binary: built by `cargo build -p krs` into the workspace target directory.
fn krs_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KRS_BIN") {
        return PathBuf::from(p);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| manifest.join("../../target"));
    target.join("debug/krs")
}

/// A running `krs server`, killed when dropped.
pub struct Server {
    child: Child,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of a child this harness started and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
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

impl Server {
    pub fn start() -> Server {
        let bin = krs_binary();
        assert!(bin.is_file(), "{} is missing: run `cargo build -p krs` first", bin.display());
        let dir = tempfile::Builder::new().prefix("krs-ctrl-").tempdir().expect("temporary directory");
        let log = dir.path().join("server.log");
        let logfile = std::fs::File::create(&log).expect("server log");
        let mut child = Command::new(&bin)
            .arg("server")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--secure-port", "0", "--bind-address", "127.0.0.1"])
            // The tests run their own controller manager and play the kubelet themselves.
            .args(["--no-agent", "--no-scheduler", "--no-controller-manager"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logfile)
            .spawn()
            .expect("cannot run krs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut kubeconfig = None;
        let mut serving = false;
        while kubeconfig.is_none() || !serving {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("krs did not start: {}", std::fs::read_to_string(&log).unwrap_or_default()));
            if let Some(p) = line.strip_prefix("krs: admin kubeconfig: ") {
                kubeconfig = Some(PathBuf::from(p.trim()));
            }
            serving |= line.starts_with("krs: serving on ");
        }
        Server { child, kubeconfig: kubeconfig.unwrap_or_default(), dir, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn client(&self) -> Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("client config");
        Client::try_from(config).expect("client")
    }

    /// The CA bundle of the admin kubeconfig (what kube-root-ca.crt publishes).
    pub fn root_ca(&self) -> String {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let data = kc
            .clusters
            .first()
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.certificate_authority_data.clone())
            .unwrap_or_default();
        String::from_utf8(base64_decode(&data)).unwrap_or_default()
    }

    /// Runs a pinned kubectl against this server.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(KUBECTL)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .output()
            .expect("cannot run kubectl")
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else { continue };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// A running controller manager, stopped when dropped.
pub struct Manager {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), krs_controllers::Error>>,
}

impl Manager {
    pub fn start(client: Client, controllers: &[&str], root_ca: Option<String>) -> Manager {
        let options = ControllerManagerOptions {
            controllers: controllers.iter().map(|s| s.to_string()).collect(),
            leader_elect: false,
            root_ca_pem: root_ca,
            ..Default::default()
        };
        Manager::with_options(client, options)
    }

    pub fn with_options(client: Client, options: ControllerManagerOptions) -> Manager {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(krs_controllers::run(client, options, async move {
            let _ = rx.await;
        }));
        Manager { stop: Some(tx), task }
    }

    pub async fn stop(mut self) -> Result<(), krs_controllers::Error> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => panic!("controller manager panicked: {e}"),
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Polls `f` until it returns Some, or panics after `DEADLINE` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn create_namespace(client: &Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    api.create(&PostParams::default(), &ns).await.expect("create namespace");
}

pub async fn create_nodes(client: &Client, n: usize) {
    let api: Api<Node> = Api::all(client.clone());
    for i in 0..n {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": format!("node-{i}")}})).expect("node");
        api.create(&PostParams::default(), &node).await.expect("create node");
    }
}

/// What the kubelet would report: the pod bound to `node`, Running, and Ready since `ready_since`.
pub async fn run_pod(client: &Client, pod: &Pod, node: &str, ready: bool, ready_since: jiff::Timestamp) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_none() {
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": node}});
        let req = http::Request::post(format!("/api/v1/namespaces/{ns}/pods/{name}/binding"))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&binding).expect("json"))
            .expect("request");
        let _ = client.request_text(req).await;
    }
    let t = ready_since.to_string();
    let status = json!({"status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": t},
            {"type": "ContainersReady", "status": if ready {"True"} else {"False"}, "lastTransitionTime": t},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
        ],
        "startTime": t,
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("pod status");
}

pub async fn list_pods(client: &Client, ns: &str, selector: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default().labels(selector)).await.expect("list pods").items
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "krs_controllers=info".into()))
        .with_test_writer()
        .try_init();
}

/// Plays the kubelets of `nodes` nodes in namespace `ns`: binds pending pods round-robin,
/// reports them Running and Ready (when `ready`), and completes graceful deletions.
pub fn spawn_kubelet(client: Client, ns: &str, nodes: usize, ready: bool) -> JoinHandle<()> {
    let ns = ns.to_string();
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let mut next = 0usize;
        loop {
            if let Ok(list) = api.list(&ListParams::default()).await {
                for p in list.items {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    if p.metadata.deletion_timestamp.is_some() {
                        let _ = api.delete(&name, &kube::api::DeleteParams::default().grace_period(0)).await;
                        continue;
                    }
                    let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                    let has_ready = p
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready"));
                    if phase == "Succeeded" || phase == "Failed" || has_ready {
                        continue;
                    }
                    // A pod pinned to a node by affinity (daemon pods) goes there, as the
                    // scheduler would place it; others round-robin.
                    let pinned = p
                        .spec
                        .as_ref()
                        .and_then(|s| {
                            s.affinity
                                .as_ref()?
                                .node_affinity
                                .as_ref()?
                                .required_during_scheduling_ignored_during_execution
                                .as_ref()
                        })
                        .and_then(|r| {
                            r.node_selector_terms
                                .iter()
                                .flat_map(|t| t.match_fields.iter().flatten())
                                .find(|f| f.key == "metadata.name")
                        })
                        .and_then(|f| f.values.as_ref()?.first().cloned());
                    let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).or(pinned).unwrap_or_else(|| {
                        next += 1;
                        format!("node-{}", next % nodes.max(1))
                    });
                    run_pod(&client, &p, &node, ready, jiff::Timestamp::now()).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// Runs kubectl off the async runtime's threads.
pub async fn kubectl(server: &Server, args: &[&str]) -> Output {
    let kubeconfig = server.kubeconfig.clone();
    let home = server.dir.path().to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(KUBECTL)
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", home)
            .output()
            .expect("cannot run kubectl")
    })
    .await
    .expect("kubectl task")
}

/// kubectl's stdout, asserting it succeeded.
pub async fn kubectl_ok(server: &Server, args: &[&str]) -> String {
    let out = kubectl(server, args).await;
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the kubelet reports when a pod's container `c` exits: Succeeded for 0, else Failed.
pub async fn finish_pod(client: &Client, pod: &Pod, exit_code: i32) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let now = jiff::Timestamp::now().to_string();
    let container = pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).unwrap_or_default();
    let status = json!({"status": {
        "phase": if exit_code == 0 {"Succeeded"} else {"Failed"},
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
        "containerStatuses": [{
            "name": container, "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit_code, "startedAt": now, "finishedAt": now, "reason": if exit_code == 0 {"Completed"} else {"Error"}}}
        }],
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("pod status");
}

/// The job's pods that are not terminal and not being deleted.
pub async fn running_pods(client: &Client, ns: &str, job: &str) -> Vec<Pod> {
    list_pods(client, ns, &format!("batch.kubernetes.io/job-name={job}"))
        .await
        .into_iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
        })
        .collect()
}
