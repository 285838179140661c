//! The API status of a pod from what the runtime has (upstream's generateAPIPodStatus and
//! convertToAPIContainerStatuses).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::probes::ProbeManager;
use crate::runtime::cri::resources::qos_class;
use crate::runtime::{ContainerRecord, ContainerState, RuntimePodStatus};
use crate::status::generate::{PodShape, get_phase, pod_conditions};

pub struct Inputs<'a> {
    pub probes: &'a ProbeManager,
    /// Why containers are not running (the last sync's waiting reasons).
    pub reasons: &'a HashMap<String, (String, String)>,
    pub host_ips: &'a [String],
    /// The status the kubelet last computed (its phase, reason and start time persist).
    pub previous: Option<&'a PodStatus>,
}

fn time(ns: i64) -> Option<Time> {
    (ns > 0).then(|| jiff::Timestamp::from_nanosecond(i128::from(ns)).ok().map(Time)).flatten()
}

fn terminated(r: &ContainerRecord) -> ApiState {
    let reason = if !r.reason.is_empty() {
        r.reason.clone()
    } else if r.exit_code == 0 {
        "Completed".into()
    } else {
        "Error".into()
    };
    ApiState {
        terminated: Some(ContainerStateTerminated {
            exit_code: r.exit_code,
            reason: Some(reason),
            message: (!r.message.is_empty()).then(|| r.message.clone()),
            started_at: time(r.started_at),
            finished_at: time(r.finished_at),
            container_id: Some(format!("containerd://{}", r.id)),
            signal: None,
        }),
        ..Default::default()
    }
}

fn waiting(reason: &str, message: Option<&str>) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_owned()),
            message: message.filter(|m| !m.is_empty()).map(str::to_owned),
        }),
        ..Default::default()
    }
}

fn container_status(
    uid: &str,
    c: &Container,
    rt: &RuntimePodStatus,
    inputs: &Inputs<'_>,
    has_init: bool,
    terminal: bool,
) -> ContainerStatus {
    let latest = rt.latest(&c.name);
    let mut cs = ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        restart_count: latest.map(|r| r.attempt as i32).unwrap_or(0),
        started: Some(false),
        ..Default::default()
    };
    let default_reason = if has_init { "PodInitializing" } else { "ContainerCreating" };
    let reason = inputs.reasons.get(&c.name);
    let Some(r) = latest else {
        cs.state = Some(match reason {
            Some((reason, msg)) => waiting(reason, Some(msg)),
            None => waiting(default_reason, None),
        });
        return cs;
    };
    cs.container_id = Some(format!("containerd://{}", r.id));
    cs.image_id = r.image_ref.clone();
    if !r.image.is_empty() {
        cs.image = r.image.clone();
    }
    match r.state {
        ContainerState::Running => {
            cs.state = Some(ApiState {
                running: Some(ContainerStateRunning { started_at: time(r.started_at) }),
                ..Default::default()
            });
            cs.started = Some(inputs.probes.started(uid, &c.name, &r.id));
            cs.ready = inputs.probes.ready(uid, &c.name, &r.id);
        }
        ContainerState::Exited => match reason.filter(|_| !terminal) {
            // Waiting to restart (CrashLoopBackOff and the like): the exit is the last state.
            Some((reason, msg)) => {
                cs.state = Some(waiting(reason, Some(msg)));
                cs.last_state = Some(terminated(r));
            }
            None => cs.state = Some(terminated(r)),
        },
        ContainerState::Created | ContainerState::Unknown => {
            cs.state = Some(match reason {
                Some((reason, msg)) => waiting(reason, Some(msg)),
                None => waiting("ContainerCreating", None),
            });
        }
    }
    if cs.last_state.is_none()
        && let Some(prev) = rt.previous(&c.name).filter(|p| p.state == ContainerState::Exited)
    {
        cs.last_state = Some(terminated(prev));
    }
    cs
}

/// The pod's status. `terminal`: the kubelet has stopped the pod for good.
pub fn generate(pod: &Pod, rt: &RuntimePodStatus, terminal: bool, inputs: &Inputs<'_>) -> PodStatus {
    let Some(spec) = pod.spec.as_ref() else { return PodStatus::default() };
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let has_init = spec.init_containers.as_ref().is_some_and(|i| !i.is_empty());
    let init: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(uid, c, rt, inputs, has_init, terminal))
        .collect();
    let regular: Vec<ContainerStatus> =
        spec.containers.iter().map(|c| container_status(uid, c, rt, inputs, has_init, terminal)).collect();
    let shape = PodShape::of(spec);
    let all: Vec<ContainerStatus> = init.iter().chain(regular.iter()).cloned().collect();
    let api = pod.status.as_ref();
    let mut phase = get_phase(&shape, &all, terminal).to_owned();
    let previous_phase = inputs.previous.and_then(|s| s.phase.clone());
    let api_phase = api.and_then(|s| s.phase.clone());
    let is_terminal = |p: &Option<String>| matches!(p.as_deref(), Some("Succeeded" | "Failed"));
    // A terminal phase never changes back.
    if !matches!(phase.as_str(), "Succeeded" | "Failed") {
        if is_terminal(&previous_phase) {
            phase = previous_phase.clone().unwrap_or_default();
        } else if is_terminal(&api_phase) {
            phase = api_phase.clone().unwrap_or_default();
        }
    }
    // A pod the kubelet stopped for good (deleted while pending or running) ends terminal.
    if terminal && !matches!(phase.as_str(), "Succeeded" | "Failed") {
        phase = "Failed".to_owned();
    }
    if is_terminal(&api_phase) && Some(&phase) != api_phase.as_ref() {
        phase = api_phase.clone().unwrap_or_default();
    }
    let host_network = spec.host_network == Some(true);
    let sandbox = rt.sandbox();
    let mut pod_ips: Vec<String> = sandbox.filter(|s| s.ready).map(|s| s.ips.clone()).unwrap_or_default();
    if host_network {
        pod_ips = inputs.host_ips.to_vec();
    }
    if pod_ips.is_empty() && !terminal {
        // Keep the address once reported, while the sandbox is being recreated.
        pod_ips = api.and_then(|s| s.pod_ips.clone()).unwrap_or_default().into_iter().map(|p| p.ip).collect();
    }
    let sandbox_ready = sandbox.is_some_and(|s| s.ready && (host_network || !s.ips.is_empty())) && !terminal;
    let api_conditions = api.and_then(|s| s.conditions.clone()).unwrap_or_default();
    let mut conditions = pod_conditions(&shape, &all, &phase, sandbox_ready, &api_conditions);
    // The kubelet's own DisruptionTarget (set when it evicted the pod) stays once set.
    let evicted = inputs.previous.and_then(|p| p.conditions.as_ref()).and_then(|cs| {
        cs.iter().find(|c| c.type_ == "DisruptionTarget" && c.reason.as_deref() == Some("TerminationByKubelet"))
    });
    conditions.extend(evicted.cloned());
    let (mut reason, mut message) = (None, None);
    if let Some(prev) = inputs.previous.filter(|p| p.phase.as_deref() == Some(phase.as_str())) {
        reason = prev.reason.clone();
        message = prev.message.clone();
    }
    if reason.is_none() && api.and_then(|s| s.phase.as_deref()) == Some(phase.as_str()) {
        reason = api.and_then(|s| s.reason.clone());
        message = api.and_then(|s| s.message.clone());
    }
    PodStatus {
        phase: Some(phase),
        conditions: Some(conditions),
        host_ip: inputs.host_ips.first().cloned(),
        host_ips: Some(inputs.host_ips.iter().map(|ip| HostIP { ip: ip.clone() }).collect()),
        pod_ip: pod_ips.first().cloned(),
        pod_ips: (!pod_ips.is_empty()).then(|| pod_ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()),
        start_time: inputs
            .previous
            .and_then(|s| s.start_time.clone())
            .or_else(|| api.and_then(|s| s.start_time.clone()))
            .or_else(|| Some(Time(jiff::Timestamp::now()))),
        qos_class: Some(qos_class(pod).as_str().to_owned()),
        container_statuses: Some(regular),
        init_container_statuses: has_init.then_some(init),
        reason,
        message,
        ..Default::default()
    }
}
