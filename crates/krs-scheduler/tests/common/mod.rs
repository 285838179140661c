//! The integration harness: starts the real `krs server` binary on a throwaway data directory
//! and gives a kube-rs client for it, as the scheduler would get from a kubeconfig.
//!
//! The binary is found next to the test executable's target directory (`target/debug/krs`),
//! built with `cargo build -p krs` when it is missing. Waits are polls with deadlines.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long anything the tests wait for may take.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A running `krs server`, killed when dropped.
pub struct Server {
    child: Child,
    pub kubeconfig: PathBuf,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `target/debug/krs`, located from the test executable (`target/debug/deps/<test>`).
fn krs_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile> directory");
    let bin = profile_dir.join("krs");
    if !bin.is_file() {
        let workspace = profile_dir.parent().and_then(Path::parent).expect("workspace directory");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "krs"])
            .current_dir(workspace)
            .status()
            .expect("running cargo build -p krs");
        assert!(status.success(), "cargo build -p krs failed");
    }
    bin
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::Builder::new().prefix("krs-sched-").tempdir().expect("temporary directory");
        let log = dir.path().join("krs.log");
        let mut cmd = Command::new(krs_binary());
        cmd.arg("server").arg("--data-dir").arg(dir.path().join("data")).args([
            "--secure-port",
            "0",
            "--bind-address",
            "127.0.0.1",
            // The tests run their own scheduler, and no kubelet.
            "--no-agent",
            "--no-scheduler",
            "--no-controller-manager",
        ]);
        // SAFETY: prctl(PR_SET_PDEATHSIG) in the child before exec only sets a process attribute.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("starting krs server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + DEADLINE;
        let mut kubeconfig = None;
        let mut serving = false;
        while kubeconfig.is_none() || !serving {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("krs server did not start:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            });
            if let Some(p) = line.strip_prefix("krs: admin kubeconfig: ") {
                kubeconfig = Some(PathBuf::from(p.trim()));
            }
            serving |= line.starts_with("krs: serving on ");
        }
        Server { child, kubeconfig: kubeconfig.unwrap_or_default(), log, _dir: dir }
    }

    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("reading the admin kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("kubeconfig");
        kube::Client::try_from(config).expect("kube client")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, or panics with `what` after the deadline.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
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
