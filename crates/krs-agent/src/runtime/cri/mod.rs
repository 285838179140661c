//! The CRI runtime: pods as containerd sandboxes and containers (upstream's
//! kuberuntime manager). State lives in the runtime, not in the agent: sandboxes and containers
//! carry the pod's labels and the annotations needed to manage them, so a restarted agent picks
//! them up again from `pod_status`.

pub mod client;
pub mod container;
mod hooks;
pub mod images;
mod kill;
pub mod resources;
pub mod sandbox;
mod sync;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;

use self::client::{CriClient, TIMEOUT, req};
use self::images::ImageManager;
use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::runtime::{
    ContainerRecord, ContainerState, ContainerStats, ExecResult, ImageRecord, PodStatuses, Runtime, RuntimeHealth,
    RuntimePodStatus, SandboxRecord, SyncContext, SyncResult,
};

/// Settings of the CRI runtime that come from the agent's options and the host.
#[derive(Clone, Debug)]
pub struct CriSettings {
    /// Root of the pods' log directories (upstream /var/log/pods).
    pub log_root: PathBuf,
    pub seccomp_default: bool,
    pub seccomp_dir: PathBuf,
    pub memory_capacity: i64,
}

pub struct CriRuntime {
    client: CriClient,
    images: ImageManager,
    /// Container restart back-off (CrashLoopBackOff).
    backoff: Backoff,
    settings: CriSettings,
}

impl CriRuntime {
    pub fn new(client: CriClient, settings: CriSettings) -> CriRuntime {
        CriRuntime {
            images: ImageManager::new(client.clone()),
            client,
            backoff: Backoff::new(Duration::from_secs(10), Duration::from_secs(300)),
            settings,
        }
    }

    pub fn client(&self) -> &CriClient {
        &self.client
    }

    fn uid_filter(uid: &str) -> HashMap<String, String> {
        HashMap::from([(sandbox::POD_UID.to_owned(), uid.to_owned())])
    }

    async fn container_record(&self, c: &cri::Container) -> Option<ContainerRecord> {
        let mut rt = self.client.runtime.clone();
        let status = rt
            .container_status(req(cri::ContainerStatusRequest { container_id: c.id.clone(), verbose: false }, TIMEOUT))
            .await
            .ok()?
            .into_inner()
            .status?;
        let state = match cri::ContainerState::try_from(status.state) {
            Ok(cri::ContainerState::ContainerCreated) => ContainerState::Created,
            Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running,
            Ok(cri::ContainerState::ContainerExited) => ContainerState::Exited,
            _ => ContainerState::Unknown,
        };
        let mut message = status.message.clone();
        if state == ContainerState::Exited
            && let Some(m) = termination_message(&status.annotations, status.exit_code, &status.log_path)
        {
            message = m;
        }
        Some(ContainerRecord {
            id: c.id.clone(),
            sandbox_id: c.pod_sandbox_id.clone(),
            name: status.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            attempt: status.metadata.as_ref().map(|m| m.attempt).unwrap_or_default(),
            state,
            created_at: status.created_at,
            started_at: status.started_at,
            finished_at: status.finished_at,
            exit_code: status.exit_code,
            reason: status.reason.clone(),
            message,
            image: status
                .annotations
                .get(container::IMAGE)
                .cloned()
                .or_else(|| status.image.as_ref().map(|i| i.user_specified_image.clone()).filter(|s| !s.is_empty()))
                .or_else(|| status.image.as_ref().map(|i| i.image.clone()))
                .unwrap_or_default(),
            image_ref: status.image_ref.clone(),
            spec_hash: status.annotations.get(container::HASH).cloned().unwrap_or_default(),
            annotations: status.annotations,
        })
    }
}

/// The termination message: the file the container wrote, else (FallbackToLogsOnError, on
/// failure) the tail of its log.
fn termination_message(annotations: &HashMap<String, String>, exit_code: i32, log_path: &str) -> Option<String> {
    const MAX_BYTES: usize = 4096;
    if let Some(path) = annotations.get(container::TERMINATION_HOST_PATH)
        && let Ok(bytes) = std::fs::read(path)
        && !bytes.is_empty()
    {
        let bytes = &bytes[..bytes.len().min(MAX_BYTES)];
        return Some(String::from_utf8_lossy(bytes).into_owned());
    }
    let fallback =
        annotations.get(container::TERMINATION_MESSAGE_POLICY).map(String::as_str) == Some("FallbackToLogsOnError");
    if fallback && exit_code != 0 && !log_path.is_empty() {
        let text = crate::server::logs::tail_messages(Path::new(log_path), 80, 2048).ok()?;
        return (!text.is_empty()).then_some(text);
    }
    None
}

#[async_trait]
impl Runtime for CriRuntime {
    async fn version(&self) -> Result<String> {
        let mut rt = self.client.runtime.clone();
        let v = rt.version(req(cri::VersionRequest::default(), TIMEOUT)).await?.into_inner();
        Ok(format!("{}://{}", v.runtime_name, v.runtime_version))
    }

    async fn health(&self) -> Result<RuntimeHealth> {
        let mut rt = self.client.runtime.clone();
        let s = rt.status(req(cri::StatusRequest { verbose: false }, TIMEOUT)).await?.into_inner();
        let mut h = RuntimeHealth::default();
        let mut problems = Vec::new();
        for c in s.status.map(|s| s.conditions).unwrap_or_default() {
            match c.r#type.as_str() {
                "RuntimeReady" => h.runtime_ready = c.status,
                "NetworkReady" => h.network_ready = c.status,
                _ => continue,
            }
            if !c.status {
                problems.push(format!("{}=false reason:{} message:{}", c.r#type, c.reason, c.message));
            }
        }
        if !h.network_ready {
            h.message = format!("container runtime network not ready: {}", problems.join(", "));
        } else if !h.runtime_ready {
            h.message = format!("container runtime is down: {}", problems.join(", "));
        }
        Ok(h)
    }

    async fn list(&self) -> Result<PodStatuses> {
        let mut rt = self.client.runtime.clone();
        let sandboxes =
            rt.list_pod_sandbox(req(cri::ListPodSandboxRequest { filter: None }, TIMEOUT)).await?.into_inner();
        let containers =
            rt.list_containers(req(cri::ListContainersRequest { filter: None }, TIMEOUT)).await?.into_inner();
        let mut out: PodStatuses = HashMap::new();
        for s in sandboxes.items {
            let Some(uid) = s.labels.get(sandbox::POD_UID).cloned() else { continue };
            let meta = s.metadata.unwrap_or_default();
            let entry = out.entry(uid.clone()).or_insert_with(|| RuntimePodStatus { uid, ..Default::default() });
            entry.sandboxes.push(SandboxRecord {
                id: s.id,
                attempt: meta.attempt,
                ready: s.state == cri::PodSandboxState::SandboxReady as i32,
                ips: Vec::new(),
                created_at: s.created_at,
                name: meta.name,
                namespace: meta.namespace,
            });
        }
        for c in containers.containers {
            let Some(uid) = c.labels.get(sandbox::POD_UID).cloned() else { continue };
            let meta = c.metadata.unwrap_or_default();
            let state = match cri::ContainerState::try_from(c.state) {
                Ok(cri::ContainerState::ContainerCreated) => ContainerState::Created,
                Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running,
                Ok(cri::ContainerState::ContainerExited) => ContainerState::Exited,
                _ => ContainerState::Unknown,
            };
            let entry = out.entry(uid.clone()).or_insert_with(|| RuntimePodStatus { uid, ..Default::default() });
            entry.containers.push(ContainerRecord {
                id: c.id,
                sandbox_id: c.pod_sandbox_id,
                name: meta.name,
                attempt: meta.attempt,
                state,
                created_at: c.created_at,
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                message: String::new(),
                image: c.image.map(|i| i.image).unwrap_or_default(),
                image_ref: c.image_ref,
                spec_hash: c.annotations.get(container::HASH).cloned().unwrap_or_default(),
                annotations: c.annotations,
            });
        }
        for p in out.values_mut() {
            p.sandboxes.sort_by_key(|x| std::cmp::Reverse(x.created_at));
            p.containers.sort_by_key(|x| std::cmp::Reverse(x.created_at));
        }
        Ok(out)
    }

    async fn pod_status(&self, uid: &str) -> Result<RuntimePodStatus> {
        CriRuntime::pod_status(self, uid).await
    }

    async fn sync_pod(&self, pod: &Pod, status: &RuntimePodStatus, ctx: &SyncContext) -> SyncResult {
        sync::sync_pod(self, pod, status, ctx).await
    }

    async fn kill_pod(&self, pod: Option<&Pod>, status: &RuntimePodStatus, grace_seconds: Option<i64>) -> Result<()> {
        kill::kill_pod(self, pod, status, grace_seconds).await
    }

    async fn remove_pod(&self, status: &RuntimePodStatus) -> Result<()> {
        let mut rt = self.client.runtime.clone();
        for c in &status.containers {
            let r = rt.remove_container(req(cri::RemoveContainerRequest { container_id: c.id.clone() }, TIMEOUT)).await;
            if let Err(e) = r.as_ref()
                && e.code() != tonic::Code::NotFound
            {
                return Err(Error::from(e.clone()));
            }
        }
        self.backoff.forget_prefix(&format!("{}/", status.uid));
        for s in &status.sandboxes {
            let _ =
                rt.stop_pod_sandbox(req(cri::StopPodSandboxRequest { pod_sandbox_id: s.id.clone() }, TIMEOUT)).await;
            let r = rt
                .remove_pod_sandbox(req(cri::RemovePodSandboxRequest { pod_sandbox_id: s.id.clone() }, TIMEOUT))
                .await;
            if let Err(e) = r.as_ref()
                && e.code() != tonic::Code::NotFound
            {
                return Err(Error::from(e.clone()));
            }
        }
        Ok(())
    }

    async fn kill_container(
        &self,
        pod: &Pod,
        container_id: &str,
        name: &str,
        grace_seconds: i64,
        reason: &str,
    ) -> Result<()> {
        kill::kill_container(self, Some(pod), container_id, name, None, grace_seconds, reason).await
    }

    async fn exec_sync(&self, container_id: &str, cmd: Vec<String>, timeout_seconds: i64) -> Result<ExecResult> {
        let mut rt = self.client.runtime.clone();
        let timeout = Duration::from_secs(timeout_seconds.max(1) as u64 + 5);
        let r = rt
            .exec_sync(req(
                cri::ExecSyncRequest { container_id: container_id.to_owned(), cmd, timeout: timeout_seconds.max(1) },
                timeout,
            ))
            .await?
            .into_inner();
        Ok(ExecResult { exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr })
    }

    async fn images(&self) -> Result<Vec<ImageRecord>> {
        let mut im = self.client.images.clone();
        let list = im.list_images(req(cri::ListImagesRequest { filter: None }, TIMEOUT)).await?.into_inner();
        Ok(list
            .images
            .into_iter()
            .map(|i| {
                let mut names = i.repo_digests;
                names.extend(i.repo_tags);
                ImageRecord { names, size: i.size }
            })
            .collect())
    }

    async fn exec_url(
        &self,
        container_id: &str,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String> {
        let mut rt = self.client.runtime.clone();
        let r = cri::ExecRequest { container_id: container_id.to_owned(), cmd, tty, stdin, stdout, stderr };
        Ok(rt.exec(req(r, TIMEOUT)).await?.into_inner().url)
    }

    async fn attach_url(
        &self,
        container_id: &str,
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String> {
        let mut rt = self.client.runtime.clone();
        let r = cri::AttachRequest { container_id: container_id.to_owned(), stdin, tty, stdout, stderr };
        Ok(rt.attach(req(r, TIMEOUT)).await?.into_inner().url)
    }

    async fn port_forward_url(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String> {
        let mut rt = self.client.runtime.clone();
        let r = cri::PortForwardRequest { pod_sandbox_id: sandbox_id.to_owned(), port: ports };
        Ok(rt.port_forward(req(r, TIMEOUT)).await?.into_inner().url)
    }

    async fn container_stats(&self) -> Result<Vec<ContainerStats>> {
        let mut rt = self.client.runtime.clone();
        let r =
            rt.list_container_stats(req(cri::ListContainerStatsRequest { filter: None }, TIMEOUT)).await?.into_inner();
        Ok(r.stats
            .into_iter()
            .map(|s| {
                let attrs = s.attributes.unwrap_or_default();
                ContainerStats {
                    name: attrs.metadata.map(|m| m.name).unwrap_or_default(),
                    pod_uid: attrs.labels.get(sandbox::POD_UID).cloned().unwrap_or_default(),
                    id: attrs.id,
                    cpu_ns: s.cpu.and_then(|c| c.usage_core_nano_seconds).map(|v| v.value).unwrap_or(0),
                    memory_working_set: s.memory.and_then(|m| m.working_set_bytes).map(|v| v.value).unwrap_or(0),
                }
            })
            .collect())
    }

    async fn reopen_log(&self, container_id: &str) -> Result<()> {
        let mut rt = self.client.runtime.clone();
        rt.reopen_container_log(req(cri::ReopenContainerLogRequest { container_id: container_id.to_owned() }, TIMEOUT))
            .await?;
        Ok(())
    }
}

impl CriRuntime {
    /// Everything the runtime has of one pod, with details (exit codes, IPs).
    pub async fn pod_status(&self, uid: &str) -> Result<RuntimePodStatus> {
        let mut rt = self.client.runtime.clone();
        let filter = cri::PodSandboxFilter { label_selector: Self::uid_filter(uid), ..Default::default() };
        let sandboxes =
            rt.list_pod_sandbox(req(cri::ListPodSandboxRequest { filter: Some(filter) }, TIMEOUT)).await?.into_inner();
        let filter = cri::ContainerFilter { label_selector: Self::uid_filter(uid), ..Default::default() };
        let containers =
            rt.list_containers(req(cri::ListContainersRequest { filter: Some(filter) }, TIMEOUT)).await?.into_inner();
        let mut status = RuntimePodStatus { uid: uid.to_owned(), ..Default::default() };
        let mut items = sandboxes.items;
        items.sort_by_key(|x| std::cmp::Reverse(x.created_at));
        for (i, s) in items.into_iter().enumerate() {
            let meta = s.metadata.clone().unwrap_or_default();
            let ready = s.state == cri::PodSandboxState::SandboxReady as i32;
            let mut ips = Vec::new();
            // Only the newest sandbox's addresses matter for status.
            if i == 0 && ready {
                let st = rt
                    .pod_sandbox_status(req(
                        cri::PodSandboxStatusRequest { pod_sandbox_id: s.id.clone(), verbose: false },
                        TIMEOUT,
                    ))
                    .await?
                    .into_inner();
                if let Some(net) = st.status.and_then(|s| s.network) {
                    if !net.ip.is_empty() {
                        ips.push(net.ip);
                    }
                    ips.extend(net.additional_ips.into_iter().map(|p| p.ip).filter(|ip| !ip.is_empty()));
                }
            }
            status.sandboxes.push(SandboxRecord {
                id: s.id,
                attempt: meta.attempt,
                ready,
                ips,
                created_at: s.created_at,
                name: meta.name,
                namespace: meta.namespace,
            });
        }
        for c in &containers.containers {
            if let Some(r) = self.container_record(c).await {
                status.containers.push(r);
            }
        }
        status.containers.sort_by_key(|x| std::cmp::Reverse(x.created_at));
        Ok(status)
    }
}
