//! A throwaway etcd for tests and benchmarks: [`EtcdCluster`] starts one or more `etcd`
//! processes on free loopback ports with their data in a temporary directory, waits until they
//! serve, and on drop kills them (by the PIDs it started, nothing else) and removes the directory.
//!
//! The binary is `etcd` from `PATH`, or the path in `KRS_ETCD_BIN`. Members also die with the
//! thread that started them (`PR_SET_PDEATHSIG`), so a test process killed before its destructors
//! run leaves no etcd behind; start clusters from a thread that lives as long as the cluster (a
//! test's or a runtime's thread, not a short-lived blocking-pool thread).

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_client as ec;

/// etcd's request limit in these clusters: a value at [`crate::MAX_VALUE_BYTES`] plus its key and
/// the request's framing must fit.
const MAX_REQUEST_BYTES: usize = crate::MAX_VALUE_BYTES + crate::MAX_KEY_BYTES + 64 * 1024;

/// How long a cluster may take to elect a leader and serve.
const START_TIMEOUT: Duration = Duration::from_secs(60);

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
}

/// One or more etcd members started for a test or a benchmark.
pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
    token: String,
    // Dropped after the members are killed (field order), so etcd never writes into a removed
    // directory.
    dir: tempfile::TempDir,
}

fn free_ports(count: usize) -> io::Result<Vec<u16>> {
    // Hold every listener until all ports are chosen so the same port is not handed out twice.
    let listeners = (0..count).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<io::Result<Vec<_>>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

fn other(msg: String) -> io::Error {
    io::Error::other(msg)
}

impl EtcdCluster {
    /// Starts a cluster of `size` members with data under the system's temporary directory.
    pub async fn start(size: usize) -> io::Result<EtcdCluster> {
        Self::start_in(&std::env::temp_dir(), size).await
    }

    /// Starts a cluster of `size` members with data in a new directory under `parent`.
    pub async fn start_in(parent: &Path, size: usize) -> io::Result<EtcdCluster> {
        let mut last = None;
        // A port picked as free can be taken by someone else before etcd binds it: retry with
        // new ports.
        for _ in 0..3 {
            match Self::try_start(parent, size).await {
                Ok(cluster) => return Ok(cluster),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| other("etcd did not start".into())))
    }

    async fn try_start(parent: &Path, size: usize) -> io::Result<EtcdCluster> {
        if size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an etcd cluster needs a member"));
        }
        let dir = tempfile::Builder::new().prefix("krs-etcd-").tempdir_in(parent)?;
        let ports = free_ports(2 * size)?;
        let members: Vec<Member> = (0..size)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: ports[2 * i],
                peer_port: ports[2 * i + 1],
                data_dir: dir.path().join(format!("m{i}.etcd")),
                log_path: dir.path().join(format!("m{i}.log")),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!("krs-{}-{}", std::process::id(), ports[0]);
        let mut cluster = EtcdCluster { members, initial_cluster, token, dir };
        for i in 0..size {
            cluster.spawn(i, "new")?;
        }
        cluster.wait_ready(START_TIMEOUT).await?;
        Ok(cluster)
    }

    fn spawn(&mut self, i: usize, state: &str) -> io::Result<()> {
        let bin = std::env::var_os("KRS_ETCD_BIN").unwrap_or_else(|| "etcd".into());
        let m = &self.members[i];
        let log = File::options().create(true).append(true).open(&m.log_path)?;
        let client_url = format!("http://127.0.0.1:{}", m.client_port);
        let peer_url = format!("http://127.0.0.1:{}", m.peer_port);
        let mut cmd = Command::new(&bin);
        cmd.arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(&m.data_dir)
            .arg("--listen-client-urls")
            .arg(&client_url)
            .arg("--advertise-client-urls")
            .arg(&client_url)
            .arg("--listen-peer-urls")
            .arg(&peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer_url)
            .arg("--initial-cluster")
            .arg(&self.initial_cluster)
            .arg("--initial-cluster-state")
            .arg(state)
            .arg("--initial-cluster-token")
            .arg(&self.token)
            .arg("--max-request-bytes")
            .arg(MAX_REQUEST_BYTES.to_string())
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe and touches no state of the parent process.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            other(format!("cannot run etcd ({}): {e}; install etcd-server or set KRS_ETCD_BIN", bin.to_string_lossy()))
        })?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// Waits until every running member answers and knows a leader.
    async fn wait_ready(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut ready = true;
            for i in 0..self.members.len() {
                if let Some(child) = &mut self.members[i].child {
                    if let Some(status) = child.try_wait()? {
                        self.members[i].child = None;
                        return Err(other(format!(
                            "etcd member {} exited with {status}: {}",
                            self.members[i].name,
                            self.log(i)
                        )));
                    }
                    if !matches!(status(&self.endpoint(i)).await, Ok(s) if s.leader() != 0) {
                        ready = false;
                    }
                }
            }
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(other(format!("etcd did not become ready in {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Client URLs of all members, running or not (a client given all of them fails over).
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// The client URL of member `i`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// The directory holding the members' data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].child.is_some()
    }

    /// The index of the current leader, asked of the running members.
    pub async fn leader(&self) -> io::Result<usize> {
        for i in 0..self.members.len() {
            if !self.is_running(i) {
                continue;
            }
            let Ok(s) = status(&self.endpoint(i)).await else {
                continue;
            };
            if s.leader() == 0 {
                continue;
            }
            for j in 0..self.members.len() {
                if !self.is_running(j) {
                    continue;
                }
                if let Ok(sj) = status(&self.endpoint(j)).await
                    && sj.header().map(|h| h.member_id()) == Some(s.leader())
                {
                    return Ok(j);
                }
            }
        }
        Err(other("no etcd member reports a leader".into()))
    }

    /// Waits until a running member reports a leader; returns its index.
    pub async fn wait_for_leader(&self, timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.leader().await {
                Ok(i) => return Ok(i),
                Err(err) if Instant::now() > deadline => return Err(err),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Kills member `i` with SIGKILL and reaps it.
    pub fn kill(&mut self, i: usize) -> io::Result<()> {
        if let Some(mut child) = self.members[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts a killed member again on its data directory and waits until it serves.
    pub async fn restart(&mut self, i: usize) -> io::Result<()> {
        if self.is_running(i) {
            return Ok(());
        }
        self.spawn(i, "existing")?;
        self.wait_ready(START_TIMEOUT).await
    }

    /// What member `i` logged (for failure messages).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.members[i].log_path).unwrap_or_default()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            let _ = self.kill(i);
        }
    }
}

async fn status(endpoint: &str) -> Result<ec::StatusResponse, ec::Error> {
    let opts =
        ec::ConnectOptions::new().with_connect_timeout(Duration::from_secs(1)).with_timeout(Duration::from_secs(2));
    let mut client = ec::Client::connect([endpoint], Some(opts)).await?;
    client.status().await
}
