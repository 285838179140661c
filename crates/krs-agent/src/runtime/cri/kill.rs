//! Stopping containers and pods: the preStop hook first, then the stop signal, then SIGKILL
//! when the grace period runs out (the runtime does the last two for StopContainer's timeout).

use std::time::{Duration, Instant};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{LifecycleHandler, Pod};

use super::client::{TIMEOUT, req};
use super::{CriRuntime, container, hooks};
use crate::error::{Error, Result};
use crate::runtime::{ContainerState, RuntimePodStatus};

/// Upstream never gives a container less than this to stop.
const MIN_GRACE_SECONDS: i64 = 2;

pub async fn kill_container(
    rt: &CriRuntime,
    pod: Option<&Pod>,
    container_id: &str,
    name: &str,
    pod_ip: Option<&str>,
    grace_seconds: i64,
    reason: &str,
) -> Result<()> {
    let grace = grace_seconds.max(MIN_GRACE_SECONDS);
    let started = Instant::now();
    let spec_container = pod
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == name))
        .cloned();
    let mut pre_stop = spec_container.as_ref().and_then(|c| c.lifecycle.as_ref()).and_then(|l| l.pre_stop.clone());
    if pre_stop.is_none() {
        // Without the pod (it is gone from the API), the hook recorded at creation still runs.
        pre_stop = container_annotation(rt, container_id)
            .await
            .and_then(|a| serde_json::from_str::<LifecycleHandler>(&a).ok());
    }
    if let Some(handler) = pre_stop {
        let c = spec_container.unwrap_or_default();
        let budget = Duration::from_secs(grace as u64);
        if let Err(e) = hooks::run(rt, container_id, &handler, &c, pod_ip, budget).await {
            tracing::warn!(container = %name, error = %e, "preStop hook failed");
        }
    }
    let left = grace - started.elapsed().as_secs() as i64;
    let timeout = left.max(MIN_GRACE_SECONDS);
    tracing::debug!(container = %name, id = %container_id, timeout, %reason, "stopping container");
    let mut c = rt.client.runtime.clone();
    let r = c
        .stop_container(req(
            cri::StopContainerRequest { container_id: container_id.to_owned(), timeout },
            TIMEOUT + Duration::from_secs(timeout as u64),
        ))
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == tonic::Code::NotFound => Ok(()),
        Err(e) => Err(Error::from(e)),
    }
}

async fn container_annotation(rt: &CriRuntime, id: &str) -> Option<String> {
    let mut c = rt.client.runtime.clone();
    let s = c
        .container_status(req(cri::ContainerStatusRequest { container_id: id.to_owned(), verbose: false }, TIMEOUT))
        .await
        .ok()?
        .into_inner()
        .status?;
    s.annotations.get(container::PRE_STOP).cloned()
}

/// Stops a pod: regular containers together, then sidecars in reverse order (they serve the
/// others until the end), then the sandboxes.
pub async fn kill_pod(rt: &CriRuntime, pod: Option<&Pod>, status: &RuntimePodStatus, grace: Option<i64>) -> Result<()> {
    let grace = grace.or_else(|| pod.map(super::sync::grace)).unwrap_or(30);
    let pod_ip = status.sandbox().and_then(|s| s.ips.first()).map(String::as_str);
    let sidecars: Vec<String> = pod
        .and_then(|p| p.spec.as_ref())
        .map(|s| {
            s.init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .map(|c| c.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let running: Vec<_> = status.running_containers().collect();
    let regular = running.iter().filter(|c| !sidecars.contains(&c.name));
    let results = futures::future::join_all(
        regular.map(|c| kill_container(rt, pod, &c.id, &c.name, pod_ip, grace, "Stopping pod")),
    )
    .await;
    let mut first_error = results.into_iter().find_map(|r| r.err());
    for name in sidecars.iter().rev() {
        for c in running.iter().filter(|c| &c.name == name) {
            if let Err(e) = kill_container(rt, pod, &c.id, &c.name, pod_ip, grace, "Stopping pod").await {
                first_error.get_or_insert(e);
            }
        }
    }
    // Containers created but never started are stopped too, so nothing starts them later.
    for c in status.containers.iter().filter(|c| c.state == ContainerState::Created) {
        let mut client = rt.client.runtime.clone();
        let _ = client
            .stop_container(req(cri::StopContainerRequest { container_id: c.id.clone(), timeout: 0 }, TIMEOUT))
            .await;
    }
    let mut client = rt.client.runtime.clone();
    for s in status.sandboxes.iter().filter(|s| s.ready) {
        if let Err(e) =
            client.stop_pod_sandbox(req(cri::StopPodSandboxRequest { pod_sandbox_id: s.id.clone() }, TIMEOUT)).await
            && e.code() != tonic::Code::NotFound
        {
            first_error.get_or_insert(Error::from(e));
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
