//! Pod phase and kubelet-owned conditions from container statuses, as upstream's getPhase and
//! pkg/kubelet/status/generate.go. Shared by the real agent and the simulated nodes.

use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The kubelet-owned pod condition types. Others (PodScheduled, DisruptionTarget, readiness
/// gates) belong to other writers and are left alone.
pub const KUBELET_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn parse(s: Option<&str>) -> RestartPolicy {
        match s {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        }
    }
}

/// The parts of a pod spec that phase and conditions depend on, compact enough to keep for
/// every simulated pod.
#[derive(Clone, Debug)]
pub struct PodShape {
    /// Init containers in order: name and whether it is a sidecar (restartPolicy Always).
    pub init: Vec<(Box<str>, bool)>,
    pub containers: Vec<Box<str>>,
    pub restart_policy: RestartPolicy,
    pub readiness_gates: Vec<Box<str>>,
}

impl PodShape {
    pub fn of(spec: &PodSpec) -> PodShape {
        PodShape {
            init: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| (c.name.as_str().into(), c.restart_policy.as_deref() == Some("Always")))
                .collect(),
            containers: spec.containers.iter().map(|c| c.name.as_str().into()).collect(),
            restart_policy: RestartPolicy::parse(spec.restart_policy.as_deref()),
            readiness_gates: spec.readiness_gates.iter().flatten().map(|g| g.condition_type.as_str().into()).collect(),
        }
    }
}

fn find<'a>(statuses: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    statuses.iter().find(|s| s.name == name)
}

fn running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.running.is_some())
}

fn terminated_code(s: &ContainerStatus) -> Option<i32> {
    s.state.as_ref().and_then(|st| st.terminated.as_ref()).map(|t| t.exit_code)
}

fn waiting(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.waiting.is_some())
}

fn last_terminated_code(s: &ContainerStatus) -> Option<i32> {
    s.last_state.as_ref().and_then(|st| st.terminated.as_ref()).map(|t| t.exit_code)
}

/// Whether any regular container has started (is running or has terminated).
pub fn any_regular_started(shape: &PodShape, statuses: &[ContainerStatus]) -> bool {
    shape.containers.iter().any(|c| {
        find(statuses, c)
            .is_some_and(|s| running(s) || terminated_code(s).is_some() || last_terminated_code(s).is_some())
    })
}

/// The pod phase from its init and regular container statuses (`statuses` holds both).
pub fn get_phase(shape: &PodShape, statuses: &[ContainerStatus], pod_is_terminal: bool) -> &'static str {
    let mut pending_init = 0;
    let mut failed_init = 0;
    let (mut unknown, mut run, mut wait, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for (name, sidecar) in &shape.init {
        let Some(s) = find(statuses, name) else {
            pending_init += 1;
            if *sidecar {
                unknown += 1;
            }
            continue;
        };
        if *sidecar {
            if running(s) {
                if s.started != Some(true) {
                    pending_init += 1;
                }
                run += 1;
            } else if terminated_code(s).is_some() {
                // Stopped sidecars don't count toward the phase.
            } else if waiting(s) {
                if last_terminated_code(s).is_none() {
                    pending_init += 1;
                    wait += 1;
                }
            } else {
                pending_init += 1;
                unknown += 1;
            }
            continue;
        }
        if running(s) {
            pending_init += 1;
        } else if let Some(code) = terminated_code(s) {
            if code != 0 {
                failed_init += 1;
            }
        } else if waiting(s) {
            match last_terminated_code(s) {
                Some(code) if code != 0 => failed_init += 1,
                Some(_) => {}
                None => pending_init += 1,
            }
        } else {
            pending_init += 1;
        }
    }
    for name in &shape.containers {
        let Some(s) = find(statuses, name) else {
            unknown += 1;
            continue;
        };
        if running(s) {
            run += 1;
        } else if let Some(code) = terminated_code(s) {
            stopped += 1;
            if code == 0 {
                succeeded += 1;
            }
        } else if waiting(s) {
            if last_terminated_code(s).is_some() {
                stopped += 1;
            } else {
                wait += 1;
            }
        } else {
            unknown += 1;
        }
    }
    if failed_init > 0 && shape.restart_policy == RestartPolicy::Never {
        return "Failed";
    }
    if (pending_init > 0 && !any_regular_started(shape, statuses)) || wait > 0 {
        return "Pending";
    }
    if run > 0 && unknown == 0 {
        return "Running";
    }
    if run == 0 && stopped > 0 && unknown == 0 {
        if pod_is_terminal {
            return if stopped == succeeded { "Succeeded" } else { "Failed" };
        }
        return match shape.restart_policy {
            RestartPolicy::Always => "Running",
            _ if stopped == succeeded => "Succeeded",
            RestartPolicy::Never => "Failed",
            RestartPolicy::OnFailure => "Running",
        };
    }
    "Pending"
}

fn condition(type_: &str, status: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.map(str::to_owned),
        message,
        ..Default::default()
    }
}

fn terminal_reason(phase: &str) -> Option<&'static str> {
    match phase {
        "Succeeded" => Some("PodCompleted"),
        "Failed" => Some("PodFailed"),
        _ => None,
    }
}

fn list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// The kubelet-owned conditions, in upstream's order. `sandbox_ready`: the pod has a running
/// sandbox with networking configured. `api_conditions` are the pod's conditions as the API has
/// them (for readiness gates).
pub fn pod_conditions(
    shape: &PodShape,
    statuses: &[ContainerStatus],
    phase: &str,
    sandbox_ready: bool,
    api_conditions: &[PodCondition],
) -> Vec<PodCondition> {
    let mut out = vec![condition("PodReadyToStartContainers", sandbox_ready, None, None)];
    // Initialized.
    let initialized = if shape.init.is_empty() {
        condition("Initialized", true, None, None)
    } else {
        let mut unknown = Vec::new();
        let mut incomplete = Vec::new();
        for (name, sidecar) in &shape.init {
            match find(statuses, name) {
                None => unknown.push(&**name),
                Some(s) if *sidecar => {
                    if s.started != Some(true) {
                        incomplete.push(&**name);
                    }
                }
                Some(s) => {
                    if terminated_code(s) != Some(0) {
                        incomplete.push(&**name);
                    }
                }
            }
        }
        if phase == "Succeeded" && unknown.is_empty() {
            condition("Initialized", true, Some("PodCompleted"), None)
        } else if any_regular_started(shape, statuses) || (unknown.is_empty() && incomplete.is_empty()) {
            condition("Initialized", true, None, None)
        } else {
            let mut msgs = Vec::new();
            if !unknown.is_empty() {
                msgs.push(format!("containers with unknown status: {}", list(&unknown)));
            }
            if !incomplete.is_empty() {
                msgs.push(format!("containers with incomplete status: {}", list(&incomplete)));
            }
            condition("Initialized", false, Some("ContainersNotInitialized"), Some(msgs.join(", ")))
        }
    };
    out.push(initialized);
    // ContainersReady, then Ready from it and the readiness gates.
    let containers_ready = if let Some(reason) = terminal_reason(phase) {
        condition("ContainersReady", false, Some(reason), None)
    } else {
        let mut unknown = Vec::new();
        let mut unready = Vec::new();
        let sidecars = shape.init.iter().filter(|(_, sidecar)| *sidecar).map(|(n, _)| &**n);
        for name in sidecars.chain(shape.containers.iter().map(|n| &**n)) {
            match find(statuses, name) {
                None => unknown.push(name),
                Some(s) if !s.ready => unready.push(name),
                Some(_) => {}
            }
        }
        if unknown.is_empty() && unready.is_empty() {
            condition("ContainersReady", true, None, None)
        } else {
            let mut msgs = Vec::new();
            if !unknown.is_empty() {
                msgs.push(format!("containers with unknown status: {}", list(&unknown)));
            }
            if !unready.is_empty() {
                msgs.push(format!("containers with unready status: {}", list(&unready)));
            }
            condition("ContainersReady", false, Some("ContainersNotReady"), Some(msgs.join(", ")))
        }
    };
    let mut ready = PodCondition { type_: "Ready".into(), ..containers_ready.clone() };
    if containers_ready.status == "True" {
        let mut unready = Vec::new();
        for gate in &shape.readiness_gates {
            match api_conditions.iter().find(|c| c.type_ == **gate) {
                None => {
                    unready.push(format!("corresponding condition of pod readiness gate \"{gate}\" does not exist."))
                }
                Some(c) if c.status != "True" => unready
                    .push(format!("the status of pod readiness gate \"{gate}\" is not \"True\", but {}", c.status)),
                Some(_) => {}
            }
        }
        if !unready.is_empty() {
            ready = condition("Ready", false, Some("ReadinessGatesNotReady"), Some(unready.join(", ")));
        }
    }
    out.push(ready);
    out.push(containers_ready);
    out
}

/// Carries lastTransitionTime over from `old` where a condition's status did not change, and
/// sets it to `now` where it did (upstream's status manager does this on every update).
pub fn set_transition_times(conditions: &mut [PodCondition], old: &[PodCondition], now: jiff::Timestamp) {
    for c in conditions.iter_mut() {
        let prev = old.iter().find(|o| o.type_ == c.type_);
        c.last_transition_time = match prev {
            Some(p) if p.status == c.status => p.last_transition_time.clone().or(Some(Time(now))),
            _ => Some(Time(now)),
        };
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    };

    use super::*;

    fn shape(init: &[(&str, bool)], containers: &[&str], policy: RestartPolicy) -> PodShape {
        PodShape {
            init: init.iter().map(|(n, s)| ((*n).into(), *s)).collect(),
            containers: containers.iter().map(|n| (*n).into()).collect(),
            restart_policy: policy,
            readiness_gates: Vec::new(),
        }
    }

    fn st(name: &str, state: ContainerState, ready: bool) -> ContainerStatus {
        ContainerStatus { name: name.into(), state: Some(state), ready, started: Some(ready), ..Default::default() }
    }
    fn run() -> ContainerState {
        ContainerState { running: Some(ContainerStateRunning::default()), ..Default::default() }
    }
    fn exited(code: i32) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated { exit_code: code, ..Default::default() }),
            ..Default::default()
        }
    }
    fn wait(reason: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn phases() {
        let s = shape(&[], &["a", "b"], RestartPolicy::Always);
        assert_eq!(get_phase(&s, &[], false), "Pending");
        assert_eq!(get_phase(&s, &[st("a", run(), true), st("b", wait("ContainerCreating"), false)], false), "Pending");
        assert_eq!(get_phase(&s, &[st("a", run(), true), st("b", run(), true)], false), "Running");
        // All exited: still Running under Always (restarting), terminal when the pod is.
        let done = [st("a", exited(0), false), st("b", exited(0), false)];
        assert_eq!(get_phase(&s, &done, false), "Running");
        assert_eq!(get_phase(&s, &done, true), "Succeeded");
        let killed = [st("a", exited(143), false), st("b", exited(0), false)];
        assert_eq!(get_phase(&s, &killed, true), "Failed");
        let never = shape(&[], &["a"], RestartPolicy::Never);
        assert_eq!(get_phase(&never, &[st("a", exited(1), false)], false), "Failed");
        assert_eq!(get_phase(&never, &[st("a", exited(0), false)], false), "Succeeded");
        let on_failure = shape(&[], &["a"], RestartPolicy::OnFailure);
        assert_eq!(get_phase(&on_failure, &[st("a", exited(1), false)], false), "Running");
    }

    #[test]
    fn init_containers_gate_the_phase() {
        let s = shape(&[("init", false)], &["a"], RestartPolicy::Never);
        assert_eq!(
            get_phase(&s, &[st("init", run(), false), st("a", wait("PodInitializing"), false)], false),
            "Pending"
        );
        assert_eq!(
            get_phase(&s, &[st("init", exited(2), false), st("a", wait("PodInitializing"), false)], false),
            "Failed"
        );
        let c = pod_conditions(&s, &[st("init", run(), false)], "Pending", true, &[]);
        let init = c.iter().find(|c| c.type_ == "Initialized").cloned().unwrap_or_default();
        assert_eq!(init.status, "False");
        assert_eq!(init.message.as_deref(), Some("containers with incomplete status: [init]"));
        // A sidecar that started lets the pod initialize while it keeps running.
        let side = shape(&[("proxy", true)], &["a"], RestartPolicy::Always);
        let statuses = [st("proxy", run(), true), st("a", run(), true)];
        assert_eq!(get_phase(&side, &statuses, false), "Running");
        let c = pod_conditions(&side, &statuses, "Running", true, &[]);
        assert!(c.iter().all(|c| c.status == "True"), "{c:?}");
    }

    #[test]
    fn readiness_and_gates() {
        let mut s = shape(&[], &["a", "b"], RestartPolicy::Always);
        let c = pod_conditions(&s, &[st("a", run(), true), st("b", run(), false)], "Running", true, &[]);
        let ready = c.iter().find(|c| c.type_ == "Ready").cloned().unwrap_or_default();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(ready.message.as_deref(), Some("containers with unready status: [b]"));
        s.readiness_gates.push("example.com/lb".into());
        let all = [st("a", run(), true), st("b", run(), true)];
        let c = pod_conditions(&s, &all, "Running", true, &[]);
        let ready = c.iter().find(|c| c.type_ == "Ready").cloned().unwrap_or_default();
        assert_eq!(ready.reason.as_deref(), Some("ReadinessGatesNotReady"));
        let gate = PodCondition { type_: "example.com/lb".into(), status: "True".into(), ..Default::default() };
        let c = pod_conditions(&s, &all, "Running", true, &[gate]);
        assert!(c.iter().all(|c| c.status == "True"));
        let c = pod_conditions(&s, &all, "Succeeded", false, &[]);
        let ready = c.iter().find(|c| c.type_ == "Ready").cloned().unwrap_or_default();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("PodCompleted")));
    }

    #[test]
    fn transition_times_move_only_on_change() {
        let t0 = jiff::Timestamp::from_second(100).unwrap_or_default();
        let t1 = jiff::Timestamp::from_second(200).unwrap_or_default();
        let mut old = vec![condition("Ready", false, None, None), condition("Initialized", true, None, None)];
        set_transition_times(&mut old, &[], t0);
        let mut new = vec![condition("Ready", true, None, None), condition("Initialized", true, None, None)];
        set_transition_times(&mut new, &old, t1);
        assert_eq!(new[0].last_transition_time, Some(Time(t1)));
        assert_eq!(new[1].last_transition_time, Some(Time(t0)));
    }
}
