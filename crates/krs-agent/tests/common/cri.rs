//! A real node for end-to-end tests: containerd with the agent's generated configuration in a
//! temporary directory, inside a network namespace of the test's own (so bridges, pod
//! addresses and iptables rules never touch the host), with the busybox test images imported.
//!
//! Cleanup on drop, also after a failure: every sandbox is stopped and removed through the
//! CRI, containerd is stopped, leftover shims are killed by PID, mounts under the directory are
//! detached, and libcni's cache entries of this test's network are removed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{die_with_parent, stop_child};

/// Why the CRI tests cannot run here, if they cannot.
pub fn missing_prerequisites() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for bin in ["containerd", "runc", "ctr", "ip"] {
        if krs_agent::containerd::which(bin).is_none() {
            return Some(format!("{bin} is not installed"));
        }
    }
    if krs_agent::containerd::config::find_cni_bin_dir().is_none() {
        return Some("the CNI plugins are not installed".into());
    }
    if !Path::new("/bin/busybox").is_file() {
        return Some("busybox-static is not installed".into());
    }
    None
}

/// Moves the calling thread into a new network namespace with loopback up. Threads and
/// processes it creates afterwards (the tokio runtime, krs server, containerd) live there too.
pub fn enter_netns() {
    // SAFETY: unshare affects only the calling thread's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
    let st = Command::new("ip").args(["link", "set", "lo", "up"]).status().expect("ip link");
    assert!(st.success(), "ip link set lo up");
}

pub struct CriNode {
    pub dir: PathBuf,
    pub socket: PathBuf,
    containerd: Option<Child>,
}

impl CriNode {
    /// Starts containerd under `dir` and imports the test images.
    pub fn start(dir: &Path) -> CriNode {
        let data = dir.to_path_buf();
        let layout = krs_agent::containerd::Layout::new(&data);
        std::fs::create_dir_all(&layout.dir).expect("containerd dir");
        let settings = krs_agent::containerd::Settings {
            sandbox_image: krs_agent::testing::PAUSE_IMAGE.into(),
            cni_bin_dir: krs_agent::containerd::config::find_cni_bin_dir().expect("CNI plugins"),
            cni_conf_dir: krs_agent::cni::conf_dir(&data),
            insecure_registries: vec![],
        };
        std::fs::write(layout.config(), krs_agent::containerd::config::render(&layout, &settings)).expect("config");
        let log = std::fs::File::create(layout.log()).expect("log");
        let log2 = log.try_clone().expect("log");
        let mut cmd = Command::new("containerd");
        cmd.arg("--config").arg(layout.config()).stdin(Stdio::null()).stdout(log).stderr(log2);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("start containerd");
        let node = CriNode { dir: data.clone(), socket: layout.socket(), containerd: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&node.socket).is_err() {
            assert!(Instant::now() < deadline, "containerd did not start:\n{}", node.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        let images = data.join("images");
        std::fs::create_dir_all(&images).expect("images dir");
        krs_agent::testing::import_test_images(&node.socket, &images).expect("import test images");
        node
    }

    /// Cleanup duty for a containerd someone else (the agent) runs in `dir`.
    pub fn adopt(dir: &Path) -> CriNode {
        CriNode { dir: dir.to_path_buf(), socket: krs_agent::containerd::Layout::new(dir).socket(), containerd: None }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(krs_agent::containerd::Layout::new(&self.dir).log()).unwrap_or_default()
    }

    /// Stops and removes every sandbox through the CRI (this stops their containers).
    fn remove_all_pods(&self) {
        if std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            rt.block_on(krs_agent::testing::remove_all_pods(&self.socket));
        }
    }
}

impl Drop for CriNode {
    fn drop(&mut self) {
        self.remove_all_pods();
        if let Some(mut c) = self.containerd.take() {
            stop_child(&mut c, Duration::from_secs(10));
        }
        krs_agent::testing::remove_leftovers(&self.dir, &self.socket);
    }
}

/// A cluster with a real node: krs server, containerd, and a tokio runtime, all inside a
/// network namespace of this test. `None` (after printing why) when prerequisites are missing.
pub struct Env {
    // Field order is drop order: the runtime (and the agent in it) first, then the node, then
    // the server.
    pub rt: tokio::runtime::Runtime,
    pub node: CriNode,
    pub cluster: super::Cluster,
}

pub const NODE: &str = "node-1";

impl Env {
    pub fn start() -> Option<Env> {
        if let Some(why) = missing_prerequisites() {
            eprintln!("skipping: {why}");
            return None;
        }
        // The agent's log is shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("krs_agent=debug"))
            .with_test_writer()
            .try_init();
        enter_netns();
        let cluster = super::Cluster::start();
        let node = CriNode::start(&cluster.dir.path().join("agent"));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        Some(Env { rt, node, cluster })
    }

    /// Agent options for this node (CRI at the test's containerd, test images).
    pub fn options(&self) -> krs_agent::AgentOptions {
        let mut o = krs_agent::AgentOptions::new(NODE, &self.node.dir);
        o.runtime = krs_agent::RuntimeKind::Cri { socket: Some(self.node.socket.clone()) };
        o.sandbox_image = krs_agent::testing::PAUSE_IMAGE.into();
        o.pod_cidr = "10.88.0.0/24".into();
        // The host disk may be nearly full (CI): no disk thresholds, or every pod is rejected.
        o.eviction_hard = krs_agent::EvictionHard::memory_only();
        o
    }
}
