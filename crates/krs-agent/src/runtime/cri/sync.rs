//! One pod sync (upstream's computePodActions and SyncPod): make sure the sandbox is up, run
//! the init containers in order (sidecars stay running), then start, restart or replace the
//! regular containers as the restart policy and probes say.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::client::{TIMEOUT, req};
use super::{CriRuntime, container, hooks, kill, sandbox};
use crate::events::{NORMAL, WARNING};
use crate::runtime::{ContainerRecord, ContainerState, RuntimePodStatus, SyncContext, SyncResult};
use crate::status::generate::RestartPolicy;

/// The pod as `name_namespace(uid)`, as upstream's messages name it.
pub fn pod_desc(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!(
        "{}_{}({})",
        m.name.as_deref().unwrap_or_default(),
        m.namespace.as_deref().unwrap_or_default(),
        m.uid.as_deref().unwrap_or_default()
    )
}

/// An epoch-nanoseconds time as an Instant (for back-off bookkeeping).
fn instant_of(ns: i64) -> Instant {
    let now_i = Instant::now();
    let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    let ago = Duration::from_nanos(now_ns.saturating_sub(ns).max(0) as u64);
    now_i.checked_sub(ago).unwrap_or(now_i)
}

struct Syncer<'a> {
    rt: &'a CriRuntime,
    pod: &'a Pod,
    status: &'a RuntimePodStatus,
    ctx: &'a SyncContext,
    sandbox_id: String,
    sandbox_config: cri::PodSandboxConfig,
    pod_ip: Option<String>,
    /// The sandbox was created in this sync: no container of the pod runs in it yet.
    fresh: bool,
    result: SyncResult,
}

pub async fn sync_pod(rt: &CriRuntime, pod: &Pod, status: &RuntimePodStatus, ctx: &SyncContext) -> SyncResult {
    let Some(spec) = pod.spec.as_ref() else { return SyncResult::default() };
    let policy = RestartPolicy::parse(spec.restart_policy.as_deref());
    let host_net = sandbox::host_network(spec);
    let current = status.sandbox();
    let usable = current.filter(|s| s.ready && (host_net || !s.ips.is_empty()));
    let mut result = SyncResult::default();
    let (sandbox_id, attempt, ips, fresh) = match usable {
        Some(s) => (s.id.clone(), s.attempt, s.ips.clone(), false),
        None => {
            result.changed = true;
            if current.is_some() && policy == RestartPolicy::Never && !status.containers.is_empty() {
                // The sandbox died after the pod ran: a Never pod does not come back.
                let _ = kill::kill_pod(rt, Some(pod), status, None).await;
                result.pod_finished = true;
                return result;
            }
            if current.is_some() {
                ctx.events.pod(pod, NORMAL, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
            }
            if current.is_some()
                && let Err(e) = kill::kill_pod(rt, Some(pod), status, None).await
            {
                result.error = Some(format!("killing the pod before recreating its sandbox: {e}"));
                return result;
            }
            let attempt = current.map(|s| s.attempt + 1).unwrap_or(0);
            match create_sandbox(rt, pod, attempt, ctx).await {
                Ok((id, ips)) => (id, attempt, ips, true),
                Err(e) => {
                    ctx.events.pod(
                        pod,
                        WARNING,
                        "FailedCreatePodSandBox",
                        format!("Failed to create pod sandbox: {e}"),
                    );
                    result.error = Some(format!("Failed to create pod sandbox: {e}"));
                    result.requeue_after = Some(Duration::from_secs(2));
                    return result;
                }
            }
        }
    };
    let sandbox_config = sandbox::config(pod, attempt, &rt.settings.log_root, ctx.dns.as_ref());
    // Containers bind-mount the hosts file, so it must exist (with the pod's IP) before they
    // are created.
    if let Some(path) = &ctx.etc_hosts
        && let Err(e) = crate::hosts::write(path, pod, &ips, &ctx.cluster_domain)
    {
        result.error = Some(format!("writing the pod's hosts file: {e}"));
        result.requeue_after = Some(Duration::from_secs(2));
        return result;
    }
    let mut s =
        Syncer { rt, pod, status, ctx, sandbox_id, sandbox_config, pod_ip: ips.first().cloned(), fresh, result };
    if s.init_containers(spec.init_containers.as_deref().unwrap_or_default(), policy).await {
        s.containers(&spec.containers, policy).await;
    }
    s.result
}

async fn create_sandbox(
    rt: &CriRuntime,
    pod: &Pod,
    attempt: u32,
    ctx: &SyncContext,
) -> Result<(String, Vec<String>), String> {
    let cfg = sandbox::config(pod, attempt, &rt.settings.log_root, ctx.dns.as_ref());
    std::fs::create_dir_all(&cfg.log_directory).map_err(|e| format!("creating {}: {e}", cfg.log_directory))?;
    let mut c = rt.client.runtime.clone();
    let id = c
        .run_pod_sandbox(req(cri::RunPodSandboxRequest { config: Some(cfg), runtime_handler: String::new() }, TIMEOUT))
        .await
        .map_err(|e| e.message().to_owned())?
        .into_inner()
        .pod_sandbox_id;
    let st = c
        .pod_sandbox_status(req(cri::PodSandboxStatusRequest { pod_sandbox_id: id.clone(), verbose: false }, TIMEOUT))
        .await
        .map_err(|e| e.message().to_owned())?
        .into_inner();
    let mut ips = Vec::new();
    if let Some(net) = st.status.and_then(|s| s.network) {
        if !net.ip.is_empty() {
            ips.push(net.ip);
        }
        ips.extend(net.additional_ips.into_iter().map(|p| p.ip).filter(|ip| !ip.is_empty()));
    }
    tracing::debug!(pod = %pod_desc(pod), sandbox = %id, ?ips, "sandbox created");
    Ok((id, ips))
}

impl Syncer<'_> {
    /// The newest instance of `name` in the current sandbox.
    fn current(&self, name: &str) -> Option<&ContainerRecord> {
        if self.fresh {
            return None;
        }
        self.status.containers.iter().find(|c| c.name == name && c.sandbox_id == self.sandbox_id)
    }

    fn requeue(&mut self, after: Duration) {
        self.result.requeue_after = Some(self.result.requeue_after.map_or(after, |d| d.min(after)));
    }

    /// Runs init containers in order. Returns whether the regular containers may start.
    async fn init_containers(&mut self, inits: &[Container], policy: RestartPolicy) -> bool {
        // A pod whose regular containers already ran in this sandbox is initialized, even if
        // its init containers' records are gone.
        let initialized =
            self.pod.spec.as_ref().is_some_and(|s| s.containers.iter().any(|c| self.current(&c.name).is_some()));
        for c in inits {
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let cur = self.current(&c.name).cloned();
            if sidecar {
                match cur.as_ref().map(|r| r.state) {
                    Some(ContainerState::Running | ContainerState::Unknown) => {
                        let r = cur.as_ref().map(|r| r.id.clone()).unwrap_or_default();
                        if let Some(reason) = self.ctx.unhealthy.get(&c.name).cloned() {
                            self.restart_unhealthy(c, &r, &reason).await;
                            return initialized;
                        }
                        if !initialized && self.ctx.started.get(&c.name) != Some(&true) {
                            self.requeue(Duration::from_millis(500));
                            return false;
                        }
                    }
                    Some(_) | None => {
                        if let Some(r) = &cur
                            && self.in_backoff(c, r)
                        {
                            if !initialized {
                                return false;
                            }
                            continue;
                        }
                        let started = self.start(c).await;
                        if !initialized && (!started || c.startup_probe.is_some()) {
                            return false;
                        }
                    }
                }
                continue;
            }
            if initialized {
                continue;
            }
            match cur.as_ref().map(|r| (r.state, r.exit_code)) {
                Some((ContainerState::Exited, 0)) => continue,
                Some((ContainerState::Running | ContainerState::Unknown, _)) => return false,
                Some((ContainerState::Exited | ContainerState::Created, _)) => {
                    if policy == RestartPolicy::Never {
                        // The pod has failed; the kubelet sees it from the phase.
                        return false;
                    }
                    if let Some(r) = &cur
                        && self.in_backoff(c, r)
                    {
                        return false;
                    }
                    self.start(c).await;
                    return false;
                }
                None => {
                    self.start(c).await;
                    return false;
                }
            }
        }
        true
    }

    async fn containers(&mut self, containers: &[Container], policy: RestartPolicy) {
        for c in containers {
            let cur = self.current(&c.name).cloned();
            match cur {
                None => {
                    // Never-restarting pods don't run a container again in a new sandbox once
                    // it has completed.
                    let ran_before = self.status.latest(&c.name);
                    let skip = match (policy, ran_before) {
                        (RestartPolicy::Never, Some(r)) => r.state == ContainerState::Exited,
                        (RestartPolicy::OnFailure, Some(r)) => r.state == ContainerState::Exited && r.exit_code == 0,
                        _ => false,
                    };
                    if !skip {
                        self.start(c).await;
                    }
                }
                Some(r) if matches!(r.state, ContainerState::Running | ContainerState::Unknown) => {
                    if r.spec_hash != container::spec_hash(c) {
                        self.result.changed = true;
                        let _ = kill::kill_container(
                            self.rt,
                            Some(self.pod),
                            &r.id,
                            &c.name,
                            self.pod_ip.as_deref(),
                            grace(self.pod),
                            "Container definition changed",
                        )
                        .await;
                        self.start(c).await;
                    } else if let Some(reason) = self.ctx.unhealthy.get(&c.name).cloned() {
                        self.restart_unhealthy(c, &r.id, &reason).await;
                    }
                }
                Some(r) => {
                    let restart = match policy {
                        RestartPolicy::Always => true,
                        RestartPolicy::OnFailure => r.state != ContainerState::Exited || r.exit_code != 0,
                        RestartPolicy::Never => r.state == ContainerState::Created,
                    };
                    if restart && !self.in_backoff(c, &r) {
                        self.start(c).await;
                    }
                }
            }
        }
    }

    /// A container failed its liveness or startup probe: kill it (with the probe's grace
    /// period, if it has one) and start it again if the policy allows.
    async fn restart_unhealthy(&mut self, c: &Container, id: &str, reason: &str) {
        let probe_grace = c
            .liveness_probe
            .as_ref()
            .and_then(|p| p.termination_grace_period_seconds)
            .or_else(|| c.startup_probe.as_ref().and_then(|p| p.termination_grace_period_seconds));
        let grace = probe_grace.unwrap_or_else(|| grace(self.pod));
        self.result.changed = true;
        // "Container c failed liveness probe, will be restarted", without the probe's output.
        let note = reason.split_once(": ").map_or(reason, |(head, _)| head);
        self.ctx.events.container(self.pod, &c.name, NORMAL, "Killing", note);
        if let Err(e) =
            kill::kill_container(self.rt, Some(self.pod), id, &c.name, self.pod_ip.as_deref(), grace, reason).await
        {
            self.result.error = Some(format!("killing unhealthy container {}: {e}", c.name));
        }
        self.requeue(Duration::from_millis(200));
    }

    /// Whether the container's restart is held back (CrashLoopBackOff); records why.
    fn in_backoff(&mut self, c: &Container, last: &ContainerRecord) -> bool {
        let key = format!("{}/{}/{}", self.status.uid, c.name, container::spec_hash(c));
        let finished = if last.finished_at > 0 { instant_of(last.finished_at) } else { Instant::now() };
        if let Some(left) = self.rt.backoff.remaining(&key, finished, Instant::now()) {
            let current = self.rt.backoff.current(&key).unwrap_or(left);
            let msg = super::images::backoff_message(current, &c.name, &pod_desc(self.pod));
            let note = format!("Back-off restarting failed container {} in pod {}", c.name, pod_desc(self.pod));
            self.ctx.events.container(self.pod, &c.name, WARNING, "BackOff", note);
            self.result.waiting.insert(c.name.clone(), ("CrashLoopBackOff".into(), msg));
            self.requeue(left + Duration::from_millis(50));
            return true;
        }
        self.rt.backoff.next(&key, finished);
        false
    }

    /// Pulls, creates and starts a container, then runs its postStart hook. Returns whether it
    /// is running.
    async fn start(&mut self, c: &Container) -> bool {
        let uid = self.status.uid.clone();
        let events = &self.ctx.events;
        let (pod, name) = (self.pod, c.name.as_str());
        let on_event = |type_: &'static str, reason: &'static str, note: String| {
            events.container(pod, name, type_, reason, note);
        };
        let pulled = self.rt.images.ensure(&uid, c, &self.ctx.pull_secrets, &self.sandbox_config, &on_event).await;
        let image_ref = match pulled {
            Ok(r) => r,
            Err((reason, message)) => {
                self.ctx.events.container(self.pod, &c.name, WARNING, "Failed", format!("Error: {reason}"));
                self.result.waiting.insert(c.name.clone(), (reason, message));
                self.requeue(Duration::from_secs(1));
                return false;
            }
        };
        let ips: Vec<String> = self.pod_ip.iter().cloned().collect();
        let env = match &self.ctx.env {
            Some(source) => match source.env(self.pod, c, &ips).await {
                Ok(env) => env,
                Err(msg) => {
                    self.ctx.events.container(self.pod, &c.name, WARNING, "Failed", format!("Error: {msg}"));
                    self.result.waiting.insert(c.name.clone(), ("CreateContainerConfigError".into(), msg));
                    self.requeue(Duration::from_secs(2));
                    return false;
                }
            },
            None => Vec::new(),
        };
        let attempt = self.status.latest(&c.name).map(|r| r.attempt + 1).unwrap_or(0);
        let settings = container::Settings {
            seccomp_default: self.rt.settings.seccomp_default,
            memory_capacity: self.rt.settings.memory_capacity,
            seccomp_dir: &self.rt.settings.seccomp_dir,
        };
        let cfg = match container::config(self.pod, c, attempt, &image_ref, &env, self.ctx, &settings) {
            Ok(cfg) => cfg,
            Err(msg) => {
                self.ctx.events.container(self.pod, &c.name, WARNING, "Failed", format!("Error: {msg}"));
                self.result.waiting.insert(c.name.clone(), ("CreateContainerConfigError".into(), msg));
                self.requeue(Duration::from_secs(2));
                return false;
            }
        };
        let mut rt = self.rt.client.runtime.clone();
        self.result.changed = true;
        let create = cri::CreateContainerRequest {
            pod_sandbox_id: self.sandbox_id.clone(),
            config: Some(cfg),
            sandbox_config: Some(self.sandbox_config.clone()),
        };
        let id = match rt.create_container(req(create, TIMEOUT)).await {
            Ok(r) => {
                self.ctx.events.container(
                    self.pod,
                    &c.name,
                    NORMAL,
                    "Created",
                    format!("Created container: {}", c.name),
                );
                r.into_inner().container_id
            }
            Err(e) => {
                self.ctx.events.container(self.pod, &c.name, WARNING, "Failed", format!("Error: {}", e.message()));
                self.result.waiting.insert(c.name.clone(), ("CreateContainerError".into(), e.message().to_owned()));
                self.requeue(Duration::from_secs(2));
                return false;
            }
        };
        if let Err(e) = rt.start_container(req(cri::StartContainerRequest { container_id: id.clone() }, TIMEOUT)).await
        {
            self.ctx.events.container(self.pod, &c.name, WARNING, "Failed", format!("Error: {}", e.message()));
            self.result.waiting.insert(c.name.clone(), ("RunContainerError".into(), e.message().to_owned()));
            self.requeue(Duration::from_secs(1));
            return false;
        }
        self.result.started.push(c.name.clone());
        self.ctx.events.container(self.pod, &c.name, NORMAL, "Started", format!("Started container {}", c.name));
        if let Some(handler) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let outcome = hooks::run(
                self.rt,
                &id,
                handler,
                c,
                self.pod_ip.as_deref(),
                Duration::from_secs(grace(self.pod).max(2) as u64),
            )
            .await;
            if let Err(msg) = outcome {
                let message = format!("PostStartHook failed: {msg}");
                tracing::warn!(pod = %pod_desc(self.pod), container = %c.name, %message);
                self.ctx.events.container(self.pod, &c.name, WARNING, "FailedPostStartHook", msg.clone());
                let _ = kill::kill_container(
                    self.rt,
                    Some(self.pod),
                    &id,
                    &c.name,
                    self.pod_ip.as_deref(),
                    grace(self.pod),
                    "FailedPostStartHook",
                )
                .await;
                self.result.waiting.insert(c.name.clone(), ("PostStartHookError".into(), message));
                return false;
            }
        }
        self.gc_old_instances(&c.name, attempt).await;
        true
    }

    /// Keeps the newest dead instance of a container (for `logs --previous` and lastState)
    /// and removes older ones, as upstream's container GC does.
    async fn gc_old_instances(&self, name: &str, attempt: u32) {
        let mut rt = self.rt.client.runtime.clone();
        for old in self.status.containers.iter().filter(|r| r.name == name && r.attempt + 1 < attempt) {
            if old.state == ContainerState::Exited {
                let _ = rt
                    .remove_container(req(cri::RemoveContainerRequest { container_id: old.id.clone() }, TIMEOUT))
                    .await;
            }
        }
    }
}

/// The pod's termination grace period in seconds.
pub fn grace(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30)
}
