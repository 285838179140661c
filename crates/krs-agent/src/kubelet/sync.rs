//! What a pod worker does: sync a pod toward its spec, or terminate it (stop its containers,
//! report its terminal status, clean up, and delete it for good when it was deleted).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};

use super::Kubelet;
use super::status::{self, Inputs};
use crate::dns;
use crate::downward::Addresses;
use crate::env::{EnvInputs, container_env};
use crate::events::{NORMAL, WARNING};
use crate::podworkers::{Outcome, Work};
use crate::runtime::{EnvSource, RegistryAuth, RuntimePodStatus, SyncContext};

/// How often a running pod is synced without any event (upstream syncFrequency is 1 min; this
/// also refreshes configMap and secret volumes).
const RESYNC: Duration = Duration::from_secs(10);

/// Environments from the API objects the kubelet reads and the node's facts.
struct KubeletEnv {
    cache: Arc<crate::apicache::ApiCache>,
    host_ips: Vec<String>,
    allocatable: std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
}

#[async_trait::async_trait]
impl EnvSource for KubeletEnv {
    async fn env(&self, pod: &Pod, c: &Container, pod_ips: &[String]) -> Result<Vec<(String, String)>, String> {
        let addrs = Addresses { host_ips: self.host_ips.clone(), pod_ips: pod_ips.to_vec() };
        let inputs = EnvInputs { cache: &self.cache, addrs: &addrs, allocatable: &self.allocatable };
        container_env(pod, c, &inputs).await
    }
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

pub(super) fn is_terminal(s: Option<&PodStatus>) -> bool {
    matches!(s.and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

impl Kubelet {
    pub(super) async fn handle(self: Arc<Self>, work: Work) -> Outcome {
        match work {
            Work::Remove(pod) => self.terminate(&pod, true).await,
            Work::Sync(pod) => {
                let u = uid(&pod);
                let terminal = is_terminal(pod.status.as_ref()) || is_terminal(self.status.get(&u).as_ref());
                if pod.metadata.deletion_timestamp.is_some() || terminal {
                    self.terminate(&pod, false).await
                } else {
                    self.sync(&pod).await
                }
            }
        }
    }

    fn status_inputs<'a>(
        &'a self,
        reasons: &'a HashMap<String, (String, String)>,
        host_ips: &'a [String],
        previous: Option<&'a PodStatus>,
    ) -> Inputs<'a> {
        Inputs { probes: &self.probes, reasons, host_ips, previous }
    }

    pub(super) fn report(&self, pod: &Pod, rt: &RuntimePodStatus, terminal: bool) -> PodStatus {
        let u = uid(pod);
        let reasons = self.reasons.lock().get(&u).cloned().unwrap_or_default();
        let previous = self.status.get(&u);
        let host_ips = self.node.host_ips();
        let s = status::generate(pod, rt, terminal, &self.status_inputs(&reasons, &host_ips, previous.as_ref()));
        self.status.set(pod, s.clone());
        s
    }

    async fn sync(&self, pod: &Pod) -> Outcome {
        let u = uid(pod);
        let cached = self.runtime_cache.lock().get(&u).cloned();
        let rt_status = match cached {
            Some(s) => s,
            None => match self.rt.pod_status(&u).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(pod = %u, error = %e, "reading the pod's runtime state");
                    return Outcome::Again(Duration::from_secs(1));
                }
            },
        };
        let api_status = self.report(pod, &rt_status, false);
        if let Some(deadline) = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds)
            && let Some(start) = api_status.start_time.as_ref()
            && jiff::Timestamp::now().as_second() - start.0.as_second() >= deadline
        {
            let mut failed = api_status.clone();
            failed.phase = Some("Failed".into());
            failed.reason = Some("DeadlineExceeded".into());
            failed.message = Some("Pod was active on the node longer than the specified deadline".into());
            self.status.set(pod, failed);
            return self.terminate(pod, false).await;
        }
        if is_terminal(Some(&api_status)) {
            return self.terminate(pod, false).await;
        }
        let host_ips = self.node.host_ips();
        let pod_ips: Vec<String> = rt_status.sandbox().filter(|s| s.ready).map(|s| s.ips.clone()).unwrap_or_default();
        let addrs = Addresses { host_ips: host_ips.clone(), pod_ips };
        let allocatable = self.node.allocatable();
        let volumes =
            match self.volumes.setup(pod, &crate::volumes::Inputs { addrs: &addrs, allocatable: &allocatable }).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(pod = %pod_name(pod), error = %e, "volumes not ready");
                    self.events.pod(pod, WARNING, "FailedMount", e.to_string());
                    return Outcome::Again(Duration::from_secs(2));
                }
            };
        let pod_dir = self.volumes.pod_dir(&u);
        let mut ctx =
            SyncContext { volumes, pod_dir: pod_dir.clone(), events: self.events.clone(), ..Default::default() };
        let spec = pod.spec.clone().unwrap_or_default();
        ctx.env = Some(Arc::new(KubeletEnv {
            cache: self.cache.clone(),
            host_ips: host_ips.clone(),
            allocatable: allocatable.clone(),
        }));
        ctx.pull_secrets = self.pull_secrets(pod).await;
        ctx.unhealthy = self.probes.unhealthy(&u);
        ctx.started = self.probes.started_map(&u);
        if spec.host_network != Some(true) {
            ctx.etc_hosts = Some(pod_dir.join("etc-hosts"));
        }
        let cluster =
            dns::ClusterDns { servers: &self.cluster_dns, domain: &self.opts.cluster_domain, host: &self.host_dns };
        ctx.dns = Some(dns::for_pod(pod, &cluster));
        ctx.cluster_domain = self.opts.cluster_domain.clone();
        let result = self.rt.sync_pod(pod, &rt_status, &ctx).await;
        if let Some(e) = &result.error {
            tracing::warn!(pod = %pod_name(pod), error = %e, "pod sync");
        }
        for (name, (reason, msg)) in &result.waiting {
            tracing::debug!(pod = %pod_name(pod), container = %name, %reason, %msg, "container waiting");
        }
        self.reasons.lock().insert(u.clone(), result.waiting.clone());
        // A sync that changed nothing in the runtime leaves the state it started from.
        let after = if result.changed { self.rt.pod_status(&u).await.ok() } else { Some(rt_status) };
        match after {
            Some(after) => {
                self.probes.update_pod(pod, &after);
                self.report(pod, &after, false);
                self.runtime_cache.lock().insert(u.clone(), after);
            }
            None => {
                self.runtime_cache.lock().remove(&u);
            }
        }
        if result.pod_finished {
            return self.terminate(pod, false).await;
        }
        Outcome::Again(result.requeue_after.unwrap_or(RESYNC).min(RESYNC))
    }

    /// Credentials from the pod's imagePullSecrets (dockerconfigjson or legacy dockercfg).
    async fn pull_secrets(&self, pod: &Pod) -> Vec<RegistryAuth> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut out = Vec::new();
        for r in pod.spec.as_ref().and_then(|s| s.image_pull_secrets.as_ref()).into_iter().flatten() {
            let Ok(Some(secret)) = self.cache.secret(ns, &r.name).await else { continue };
            let data = secret.data.clone().unwrap_or_default();
            let parsed: Option<serde_json::Value> = data
                .get(".dockerconfigjson")
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b.0).ok())
                .and_then(|v| v.get("auths").cloned())
                .or_else(|| data.get(".dockercfg").and_then(|b| serde_json::from_slice(&b.0).ok()));
            let Some(serde_json::Value::Object(auths)) = parsed else { continue };
            for (server, a) in auths {
                let s = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                out.push(RegistryAuth { server, username: s("username"), password: s("password"), auth: s("auth") });
            }
        }
        out
    }

    /// Stops the pod and reports it terminal. `removed`: the pod is gone from the API (the
    /// worker then cleans up everything and ends).
    pub(super) async fn terminate(&self, pod: &Pod, removed: bool) -> Outcome {
        let u = uid(pod);
        self.runtime_cache.lock().remove(&u);
        let rt_status = match self.rt.pod_status(&u).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(pod = %u, error = %e, "reading the pod's runtime state");
                return Outcome::Again(Duration::from_secs(1));
            }
        };
        let active = rt_status.running_containers().next().is_some() || rt_status.sandboxes.iter().any(|s| s.ready);
        if active {
            for c in rt_status.running_containers() {
                self.events.container(pod, &c.name, NORMAL, "Killing", format!("Stopping container {}", c.name));
            }
            let grace = pod.metadata.deletion_grace_period_seconds;
            if let Err(e) = self.rt.kill_pod(Some(pod), &rt_status, grace).await {
                tracing::warn!(pod = %pod_name(pod), error = %e, "stopping the pod; retrying");
                return Outcome::Again(Duration::from_secs(1));
            }
        }
        self.probes.remove_pod(&u);
        let after = self.rt.pod_status(&u).await.unwrap_or(rt_status);
        if !removed {
            self.report(pod, &after, true);
            if !self.status.flush(&u, Duration::from_secs(10)).await {
                return Outcome::Again(Duration::from_secs(1));
            }
        }
        if let Err(e) = self.volumes.teardown(&u) {
            tracing::warn!(pod = %pod_name(pod), error = %e, "tearing down volumes; retrying");
            return Outcome::Again(Duration::from_secs(2));
        }
        if removed || pod.metadata.deletion_timestamp.is_some() {
            if let Err(e) = self.rt.remove_pod(&after).await {
                tracing::warn!(pod = %pod_name(pod), error = %e, "removing the pod's containers; retrying");
                return Outcome::Again(Duration::from_secs(2));
            }
            crate::cgroups::remove_pod(&crate::runtime::cri::sandbox::cgroup_parent(pod));
            let logs = crate::runtime::cri::sandbox::log_directory(&self.log_root, pod);
            let _ = std::fs::remove_dir_all(logs);
        }
        if removed {
            self.status.forget(&u);
            self.reasons.lock().remove(&u);
            return Outcome::Done;
        }
        if pod.metadata.deletion_timestamp.is_some()
            && let Err(e) = self.status.delete_pod(pod).await
        {
            tracing::warn!(pod = %pod_name(pod), error = %e, "deleting the terminated pod; retrying");
            return Outcome::Again(Duration::from_secs(1));
        }
        Outcome::Idle
    }
}

pub(super) fn pod_name(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}
