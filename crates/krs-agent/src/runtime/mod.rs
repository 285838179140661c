//! Container runtimes. The kubelet drives one through [`Runtime`] (upstream's
//! kubecontainer.Runtime): `cri` talks to containerd over the CRI; `sim` runs the simulated
//! nodes' pods without containers.

pub mod cri;
pub mod sim;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use crate::error::Result;

/// A container's state as the runtime reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// One container instance (one attempt) of a pod.
#[derive(Clone, Debug)]
pub struct ContainerRecord {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    /// The restart count at creation (CRI metadata attempt).
    pub attempt: u32,
    pub state: ContainerState,
    /// Nanoseconds since the epoch; 0 when unknown.
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    /// The image as the spec named it, and the image's ID (digest) for status.imageID.
    pub image: String,
    pub image_ref: String,
    /// Hash of the container spec it was created from: a changed spec restarts it.
    pub spec_hash: String,
    pub annotations: HashMap<String, String>,
}

/// One sandbox (one attempt) of a pod.
#[derive(Clone, Debug)]
pub struct SandboxRecord {
    pub id: String,
    pub attempt: u32,
    pub ready: bool,
    pub ips: Vec<String>,
    pub created_at: i64,
    pub name: String,
    pub namespace: String,
}

/// Everything the runtime has of one pod: sandboxes and containers, newest first.
#[derive(Clone, Debug, Default)]
pub struct RuntimePodStatus {
    pub uid: String,
    pub sandboxes: Vec<SandboxRecord>,
    pub containers: Vec<ContainerRecord>,
}

impl RuntimePodStatus {
    /// The newest instance of the named container.
    pub fn latest(&self, name: &str) -> Option<&ContainerRecord> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The instance before the newest one (status.lastState).
    pub fn previous(&self, name: &str) -> Option<&ContainerRecord> {
        self.containers.iter().filter(|c| c.name == name).nth(1)
    }

    pub fn sandbox(&self) -> Option<&SandboxRecord> {
        self.sandboxes.first()
    }

    pub fn running_containers(&self) -> impl Iterator<Item = &ContainerRecord> {
        self.containers.iter().filter(|c| matches!(c.state, ContainerState::Running | ContainerState::Unknown))
    }

    /// What the PLEG compares between relists: every container and sandbox with its state.
    /// Two statuses with the same fingerprint differ in nothing a relist can see.
    pub fn fingerprint(&self) -> Vec<(String, u8)> {
        let mut fp: Vec<(String, u8)> = self
            .containers
            .iter()
            .map(|c| (c.id.clone(), c.state as u8))
            .chain(self.sandboxes.iter().map(|s| (s.id.clone(), if s.ready { 10 } else { 11 })))
            .collect();
        fp.sort();
        fp
    }
}

/// The runtime's health, for the node's Ready condition.
#[derive(Clone, Debug, Default)]
pub struct RuntimeHealth {
    pub runtime_ready: bool,
    pub network_ready: bool,
    pub message: String,
}

/// A container the kubelet should know the state of (for the PLEG).
pub type PodStatuses = HashMap<String, RuntimePodStatus>;

/// The result of one ExecSync.
#[derive(Clone, Debug, Default)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Resource use of one container.
#[derive(Clone, Debug, Default)]
pub struct ContainerStats {
    pub id: String,
    pub name: String,
    pub pod_uid: String,
    /// Cumulative CPU time in nanoseconds.
    pub cpu_ns: u64,
    pub memory_working_set: u64,
}

/// An image present on the node.
#[derive(Clone, Debug, Default)]
pub struct ImageRecord {
    pub names: Vec<String>,
    pub size: u64,
}

/// What the kubelet needs from a container runtime.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// `<name>://<version>`, for status.nodeInfo.containerRuntimeVersion.
    async fn version(&self) -> Result<String>;
    async fn health(&self) -> Result<RuntimeHealth>;
    /// Every pod the runtime has, by pod UID, without details (the PLEG relists this).
    async fn list(&self) -> Result<PodStatuses>;
    /// Everything the runtime has of one pod, with details (exit codes, IPs, messages).
    async fn pod_status(&self, uid: &str) -> Result<RuntimePodStatus>;
    /// Brings the pod toward its spec: sandbox, init containers, containers, restarts.
    async fn sync_pod(&self, pod: &Pod, status: &RuntimePodStatus, ctx: &SyncContext) -> SyncResult;
    /// Stops every container (preStop hooks first, then the stop signal, then SIGKILL after
    /// the grace period) and the sandbox.
    async fn kill_pod(&self, pod: Option<&Pod>, status: &RuntimePodStatus, grace_seconds: Option<i64>) -> Result<()>;
    /// Removes a pod's stopped sandboxes and containers.
    async fn remove_pod(&self, status: &RuntimePodStatus) -> Result<()>;
    /// Kills one container (liveness or startup probe failure), with its preStop hook.
    async fn kill_container(
        &self,
        pod: &Pod,
        container_id: &str,
        name: &str,
        grace_seconds: i64,
        reason: &str,
    ) -> Result<()>;
    async fn exec_sync(&self, container_id: &str, cmd: Vec<String>, timeout_seconds: i64) -> Result<ExecResult>;
    async fn images(&self) -> Result<Vec<ImageRecord>>;
    /// The URL of the runtime's streaming server for an exec, attach or port-forward session.
    async fn exec_url(
        &self,
        container_id: &str,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String>;
    async fn attach_url(
        &self,
        container_id: &str,
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String>;
    async fn port_forward_url(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String>;
    /// CPU and memory use of every running container.
    async fn container_stats(&self) -> Result<Vec<ContainerStats>>;
    /// Asks the runtime to reopen a container's log file (after rotation).
    async fn reopen_log(&self, container_id: &str) -> Result<()>;
}

/// A container's environment, resolved when the container is created (it may name the pod's
/// IPs, known only once the sandbox exists).
#[async_trait]
pub trait EnvSource: Send + Sync {
    async fn env(
        &self,
        pod: &Pod,
        container: &k8s_openapi::api::core::v1::Container,
        pod_ips: &[String],
    ) -> std::result::Result<Vec<(String, String)>, String>;
}

/// What a pod sync needs besides the pod: resolved by the kubelet from the API and the node.
#[derive(Clone, Default)]
pub struct SyncContext {
    /// Resolves containers' environments (once the pod's IPs are known).
    pub env: Option<Arc<dyn EnvSource>>,
    /// Volume name → where it is on the host and whether it is read-only.
    pub volumes: HashMap<String, VolumeMount>,
    /// Registry credentials from imagePullSecrets.
    pub pull_secrets: Vec<RegistryAuth>,
    /// Containers whose liveness or startup probe failed: they are killed and restarted.
    pub unhealthy: HashMap<String, String>,
    /// Containers whose startup probe (or absence of one) says they have started.
    pub started: HashMap<String, bool>,
    /// The pod's hosts file, mounted at /etc/hosts (not for host-network pods).
    pub etc_hosts: Option<std::path::PathBuf>,
    /// The pod's own directory on the host (termination message files live there).
    pub pod_dir: std::path::PathBuf,
    pub dns: Option<DnsSettings>,
    pub cluster_domain: String,
    /// Where the sync's events about the pod and its containers go.
    pub events: crate::events::Events,
}

#[derive(Clone, Debug)]
pub struct VolumeMount {
    pub host_path: std::path::PathBuf,
    pub read_only: bool,
    /// emptyDir and similar: subPaths are created on demand.
    pub create_sub_paths: bool,
}

#[derive(Clone, Debug, Default)]
pub struct DnsSettings {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct RegistryAuth {
    pub server: String,
    pub username: String,
    pub password: String,
    pub auth: String,
}

/// Why a container could not be started this time (upstream's reason cache entries).
#[derive(Clone, Debug, Default)]
pub struct SyncResult {
    /// Container name → (waiting reason, message): ErrImagePull, ImagePullBackOff,
    /// CrashLoopBackOff, CreateContainerConfigError, CreateContainerError, RunContainerError.
    pub waiting: HashMap<String, (String, String)>,
    /// A pod-level error (sandbox creation failed), reported as an event and retried.
    pub error: Option<String>,
    /// When the pod needs another sync soon (a back-off expires, a container is starting).
    pub requeue_after: Option<std::time::Duration>,
    /// Containers started in this sync (for the probe manager).
    pub started: Vec<String>,
    /// The pod can never run again (restartPolicy Never and its sandbox died).
    pub pod_finished: bool,
    /// The sync created, started, stopped or removed something (or tried to): the pod's
    /// runtime state must be read again rather than reused.
    pub changed: bool,
}

pub type DynRuntime = Arc<dyn Runtime>;
