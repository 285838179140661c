//! containerd supervision: when no CRI socket is given, the agent runs containerd itself with a
//! configuration it generates in its data dir, restarts it if it dies, and stops it on
//! shutdown. Containers outlive containerd (their shims are not its children), so stopping or
//! restarting it leaves pods running; the next containerd picks them up again.

pub mod config;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::config::{Layout, Settings};
use crate::error::{Error, Result};

/// What to tell the user when containerd is not installed: one line, with the fix.
pub const NOT_INSTALLED: &str = "containerd is not installed, so this node runs no pods: install containerd, runc and the CNI plugins (Debian/Ubuntu: apt-get install containerd runc containernetworking-plugins) and restart, or give the socket of a running CRI runtime";

/// A containerd process the agent started and watches over.
pub struct Supervised {
    pub socket: PathBuf,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Finds an executable in PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

impl Supervised {
    /// Writes the configuration, starts containerd and waits until its socket answers.
    pub async fn start(data_dir: &Path, settings: &Settings) -> Result<Supervised> {
        let binary = which("containerd").ok_or_else(|| Error::Containerd(NOT_INSTALLED.into()))?;
        let layout = Layout::new(data_dir);
        let io = |what: &str, p: &Path, e| Error::io(format!("{what} {}", p.display()), e);
        std::fs::create_dir_all(&layout.dir).map_err(|e| io("creating", &layout.dir, e))?;
        std::fs::create_dir_all(&settings.cni_conf_dir).map_err(|e| io("creating", &settings.cni_conf_dir, e))?;
        for host in &settings.insecure_registries {
            let dir = layout.certs_dir().join(host);
            std::fs::create_dir_all(&dir).map_err(|e| io("creating", &dir, e))?;
            let file = dir.join("hosts.toml");
            std::fs::write(&file, config::insecure_registry_hosts(host)).map_err(|e| io("writing", &file, e))?;
        }
        let cfg = layout.config();
        std::fs::write(&cfg, config::render(&layout, settings)).map_err(|e| io("writing", &cfg, e))?;
        let socket = layout.socket();
        let child = spawn(&binary, &layout).await?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(binary, layout, child, stop_rx));
        Ok(Supervised { socket, stop, task: Some(task) })
    }

    /// Stops containerd (SIGTERM, then SIGKILL after 10 s). Running containers are left alone.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts `command`'s process with the kernel's default scheduling policy (`SCHED_OTHER`)
/// whatever the agent's threads run with (`krs --cpu-scheduling`, `SCHED_BATCH` by default):
/// containerd passes its policy on to every container, and containers are the node's workload,
/// not part of krs.
pub fn default_cpu_scheduling(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and makes one system call,
    // which is async-signal-safe; it allocates nothing and touches no memory of the parent's.
    unsafe {
        command.pre_exec(|| set_cpu_policy(libc::SCHED_OTHER));
    }
}

/// Sets the calling thread's Linux scheduling policy (`SCHED_OTHER` or `SCHED_BATCH`, which
/// take no priority); threads and processes it starts afterwards inherit it. One system call,
/// nothing allocated: callable between fork and exec.
pub fn set_cpu_policy(policy: libc::c_int) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for the call; pid 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

async fn spawn(binary: &Path, layout: &Layout) -> Result<Child> {
    let socket = layout.socket();
    // A socket file left by a containerd that died would make the readiness check pass early.
    let _ = std::fs::remove_file(&socket);
    let log_path = layout.log();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
    let log2 = log.try_clone().map_err(|e| Error::io("duplicating the containerd log", e))?;
    let mut command = Command::new(binary);
    command
        .arg("--config")
        .arg(layout.config())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Dropping the supervisor (the agent's task aborted) must not leave containerd behind.
        .kill_on_drop(true);
    default_cpu_scheduling(command.as_std_mut());
    let mut child = command.spawn().map_err(|e| Error::io(format!("starting {}", binary.display()), e))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            tracing::info!(pid = child.id(), socket = %socket.display(), "containerd is up");
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Containerd(format!(
                "containerd exited during start-up ({status}); see {}",
                log_path.display()
            )));
        }
        if Instant::now() > deadline {
            let _ = child.kill().await;
            return Err(Error::Containerd(format!(
                "containerd did not open its socket within 30 s; see {}",
                log_path.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn supervise(binary: PathBuf, layout: Layout, mut child: Child, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        tokio::select! {
            status = child.wait() => {
                tracing::error!(?status, log = %layout.log().display(), "containerd exited; restarting it");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                match spawn(&binary, &layout).await {
                    Ok(c) => child = c,
                    Err(e) => tracing::error!(error = %e, "restarting containerd"),
                }
            }
            _ = stop.changed() => {
                terminate(&mut child).await;
                return;
            }
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on the PID of our own child, which has not been reaped yet (id() is
        // Some only until then).
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduling policy (field 41 of /proc/PID/stat) in a `stat` line.
    fn policy_of(stat: &str) -> i32 {
        let after_comm = &stat[stat.rfind(')').expect("comm") + 2..];
        after_comm.split(' ').nth(38).expect("policy field").parse().expect("number")
    }

    fn child_policy(reset: bool) -> i32 {
        let mut command = std::process::Command::new("cat");
        command.arg("/proc/self/stat");
        if reset {
            default_cpu_scheduling(&mut command);
        }
        let out = command.output().expect("run cat");
        policy_of(&String::from_utf8_lossy(&out.stdout))
    }

    #[test]
    fn containerd_runs_with_the_default_policy_whatever_the_agent_runs_with() {
        // A thread of its own, so that the test harness's threads keep their policy.
        std::thread::spawn(|| {
            set_cpu_policy(libc::SCHED_BATCH).expect("SCHED_BATCH");
            assert_eq!(child_policy(false), libc::SCHED_BATCH, "a child inherits the policy");
            assert_eq!(child_policy(true), libc::SCHED_OTHER, "containerd's is set back");
        })
        .join()
        .expect("test thread");
    }
}
