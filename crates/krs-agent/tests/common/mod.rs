//! End-to-end harness: a real `krs server` (the binary next to the test executable, built by
//! `cargo build -p krs` or by a workspace test run), and clients for it.
//!
//! Every process, mount and directory a test creates is cleaned up on drop, also when the test
//! fails (panics unwind through the guards).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod apiproxy;
pub mod cri;
pub mod https;

pub const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// The directory holding the workspace's binaries (target/debug): the test executable lives in
/// its deps/ subdirectory.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target directory").to_path_buf()
}

pub fn krs_binary() -> PathBuf {
    let p = bin_dir().join("krs");
    assert!(p.is_file(), "{} is missing: run `cargo build -p krs` first", p.display());
    p
}

/// Makes a child die with the test process.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no state of the parent process.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Stops a child by its PID: SIGTERM, then SIGKILL after `grace`.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) on the PID of a child we started and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A running `krs server` (control plane only), stopped when dropped.
pub struct Cluster {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new().prefix("krs-agent-e2e-").tempdir().expect("temp dir");
        let bin = krs_binary();
        let mut cmd = Command::new(&bin);
        cmd.arg("server").arg("--data-dir").arg(dir.path().join("server")).args([
            "--secure-port",
            "0",
            "--bind-address",
            "127.0.0.1",
        ]);
        // The tests run their own agents, on pods bound by hand.
        cmd.args(["--no-agent", "--no-scheduler", "--no-controller-manager"]);
        let log = std::fs::File::create(dir.path().join("server.log")).expect("server log");
        die_with_parent(&mut cmd);
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log).spawn().expect("run krs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut cluster = Cluster { child, url: String::new(), kubeconfig: PathBuf::new(), dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while cluster.url.is_empty() || cluster.kubeconfig.as_os_str().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("krs did not start:\n{}", cluster.log()));
            if let Some(url) = line.strip_prefix("krs: serving on ") {
                cluster.url = url.trim().to_owned();
            } else if let Some(path) = line.strip_prefix("krs: admin kubeconfig: ") {
                cluster.kubeconfig = PathBuf::from(path.trim());
            }
        }
        cluster
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("client config");
        kube::Client::try_from(config).expect("client")
    }

    /// Runs the pinned kubectl against this cluster.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd.env("HOME", self.dir.path());
        die_with_parent(&mut cmd);
        cmd.stdin(Stdio::null()).output().expect("run kubectl")
    }

    /// kubectl that must succeed; returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(10));
    }
}

/// Polls `f` until it returns Some, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An agent running in this test process, stopped when dropped (or by `stop`).
pub struct RunningAgent {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<Result<(), krs_agent::Error>>>,
}

impl RunningAgent {
    pub fn start(client: kube::Client, options: krs_agent::AgentOptions) -> RunningAgent {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(krs_agent::run(client, options, async move {
            let _ = rx.await;
        }));
        RunningAgent { stop: Some(tx), task: Some(task) }
    }

    /// Stops the agent and returns how it ended.
    pub async fn stop(mut self) -> Result<(), krs_agent::Error> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap_or_else(|e| Err(krs_agent::Error::Pod(format!("agent task: {e}")))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Creates what the controller manager would (the default service account and the root CA
/// config map) in `ns`, so pods' service account volumes can be set up.
pub async fn prepare_namespace(client: &kube::Client, ns: &str) {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
    use kube::api::PostParams;
    let pp = PostParams::default();
    if ns != "default" {
        let n: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).expect("ns");
        let _ = kube::Api::<Namespace>::all(client.clone()).create(&pp, &n).await;
    }
    let sa: ServiceAccount = serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}})).expect("sa");
    let _ = kube::Api::<ServiceAccount>::namespaced(client.clone(), ns).create(&pp, &sa).await;
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test CA"}
    }))
    .expect("cm");
    let _ = kube::Api::<ConfigMap>::namespaced(client.clone(), ns).create(&pp, &cm).await;
}

/// A pod from JSON, bound to `node`.
pub fn pod(node: &str, spec: serde_json::Value) -> k8s_openapi::api::core::v1::Pod {
    let mut v = spec;
    v["spec"]["nodeName"] = serde_json::json!(node);
    serde_json::from_value(v).expect("pod")
}

/// Waits for a pod to satisfy `f`, returning it.
pub async fn wait_pod(
    api: &kube::Api<k8s_openapi::api::core::v1::Pod>,
    name: &str,
    timeout: Duration,
    what: &str,
    f: impl Fn(&k8s_openapi::api::core::v1::Pod) -> bool,
) -> k8s_openapi::api::core::v1::Pod {
    let deadline = Instant::now() + timeout;
    loop {
        let p = api.get(name).await.ok();
        if let Some(p) = p.as_ref().filter(|p| f(p)) {
            return p.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for pod {name} to be {what}; last seen: {}",
            serde_json::to_string_pretty(&p.map(|p| p.status)).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn phase(p: &k8s_openapi::api::core::v1::Pod) -> &str {
    p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

pub fn ready(p: &k8s_openapi::api::core::v1::Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
