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
        let mut node = CriNode { dir: data.clone(), socket: layout.socket(), containerd: Some(child) };
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(krs_agent::containerd::Layout::new(&self.dir).log()).unwrap_or_default()
    }

    /// Stops and removes every sandbox through the CRI (this stops their containers).
    fn remove_all_pods(&self) {
        let socket = self.socket.clone();
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(_) => return,
        };
        rt.block_on(async move {
            let Ok(mut c) = krs_agent::runtime::cri::client::CriClient::connect(&socket).await else { return };
            let req = k8s_cri::v1::ListPodSandboxRequest { filter: None };
            let Ok(list) = c.runtime.list_pod_sandbox(req).await else { return };
            for s in list.into_inner().items {
                let id = s.id.clone();
                let _ = tokio::time::timeout(
                    Duration::from_secs(20),
                    c.runtime.stop_pod_sandbox(k8s_cri::v1::StopPodSandboxRequest { pod_sandbox_id: id.clone() }),
                )
                .await;
                let _ = tokio::time::timeout(
                    Duration::from_secs(20),
                    c.runtime.remove_pod_sandbox(k8s_cri::v1::RemovePodSandboxRequest { pod_sandbox_id: id }),
                )
                .await;
                if let Some(uid) = s.labels.get("io.kubernetes.pod.uid") {
                    remove_pod_cgroups(uid);
                }
            }
        });
    }
}

/// Removes the (empty) cgroups of a pod in every hierarchy.
fn remove_pod_cgroups(uid: &str) {
    let Ok(roots) = std::fs::read_dir("/sys/fs/cgroup") else { return };
    for r in roots.flatten() {
        for qos in ["kubepods", "kubepods/burstable", "kubepods/besteffort"] {
            let d = r.path().join(qos).join(format!("pod{uid}"));
            if d.is_dir() {
                if let Ok(children) = std::fs::read_dir(&d) {
                    for c in children.flatten().filter(|c| c.path().is_dir()) {
                        let _ = std::fs::remove_dir(c.path());
                    }
                }
                let _ = std::fs::remove_dir(&d);
            }
        }
    }
}

/// PIDs of processes whose command line mentions `needle`.
fn pids_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

impl Drop for CriNode {
    fn drop(&mut self) {
        self.remove_all_pods();
        if let Some(mut c) = self.containerd.take() {
            stop_child(&mut c, Duration::from_secs(10));
        }
        // Shims name containerd's socket (under our directory) on their command line.
        for pid in pids_mentioning(&self.socket.to_string_lossy()) {
            // SAFETY: kill(2) on a PID found above: a shim started for this test's containerd.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = krs_agent::volumes::mount::unmount_all(&self.dir);
        let network = krs_agent::cni::network_name(&self.dir);
        if let Ok(entries) = std::fs::read_dir("/var/lib/cni/results") {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&format!("{network}-")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
