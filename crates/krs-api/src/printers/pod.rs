//! Pods (upstream's `printPod`): the READY count, the STATUS reason derived from the phase,
//! the init and regular container states and the deletion timestamp, and RESTARTS with the
//! time of the last restart.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::helpers::{
    AGE, NAME, age, arr_at, bool_at, col, condition_true, deleting, int_at, name, opt_bool, or, str_at, timestamp,
    translate_timestamp_since, wide,
};
use super::{Column, Context, Printer};

pub struct PodPrinter;
pub static POD: PodPrinter = PodPrinter;

const COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", "string", "IP address allocated to the pod. Routable at least within the cluster."),
    wide("Node", "string", "The node the pod is scheduled onto."),
    wide("Nominated Node", "string", "The node the scheduler nominated for the pod while it preempts other pods."),
    wide("Readiness Gates", "string", "Pod readiness gates that are satisfied, of all the pod's readiness gates."),
];

impl Printer for PodPrinter {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, pod: &Value, ctx: &Context) -> Vec<Value> {
        let summary = summarize(pod);
        let restarts = match summary.last_restart {
            Some(t) if summary.restarts != 0 => {
                format!("{} ({} ago)", summary.restarts, translate_timestamp_since(Some(t), ctx))
            }
            _ => summary.restarts.to_string(),
        };
        let pod_ip = arr_at(pod, "/status/podIPs").first().map_or("", |ip| str_at(ip, "/ip"));
        vec![
            json!(name(pod)),
            json!(format!("{}/{}", summary.ready, summary.total)),
            json!(summary.reason),
            json!(restarts),
            age(pod, ctx),
            json!(or(pod_ip, "<none>")),
            json!(or(str_at(pod, "/spec/nodeName"), "<none>")),
            json!(or(str_at(pod, "/status/nominatedNodeName"), "<none>")),
            json!(readiness_gates(pod)),
        ]
    }

    fn conditions(&self, pod: &Value) -> Option<Value> {
        let (reason, message) = match str_at(pod, "/status/phase") {
            "Succeeded" => ("Succeeded", "The pod has completed successfully."),
            "Failed" => ("Failed", "The pod failed."),
            _ => return None,
        };
        Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
    }
}

/// The counts and reason of the READY, STATUS and RESTARTS columns.
struct Summary {
    ready: i64,
    total: usize,
    reason: String,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

/// A sidecar: an init container with restartPolicy Always.
fn is_restartable(container: Option<&Value>) -> bool {
    container.is_some_and(|c| str_at(c, "/restartPolicy") == "Always")
}

/// Keeps the later of a restart time and a container's last termination time.
fn note_restart(latest: &mut Option<Timestamp>, status: &Value) {
    if status.pointer("/lastState/terminated").is_some_and(Value::is_object)
        && let Some(finished) = timestamp(status, "/lastState/terminated/finishedAt")
        && latest.is_none_or(|l| l < finished)
    {
        *latest = Some(finished);
    }
}

fn state<'a>(status: &'a Value, which: &str) -> Option<&'a Value> {
    status.pointer(&format!("/state/{which}")).filter(|s| s.is_object())
}

/// "Signal:N" or "ExitCode:N" for a terminated state without a reason.
fn exit_reason(terminated: &Value) -> String {
    let signal = int_at(terminated, "/signal");
    if signal != 0 { format!("Signal:{signal}") } else { format!("ExitCode:{}", int_at(terminated, "/exitCode")) }
}

fn summarize(pod: &Value) -> Summary {
    let phase = str_at(pod, "/status/phase");
    let mut reason = or(str_at(pod, "/status/reason"), phase);
    let conditions = arr_at(pod, "/status/conditions");
    if conditions.iter().any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated") {
        reason = "SchedulingGated".to_owned();
    }

    let init_specs = arr_at(pod, "/spec/initContainers");
    let init_spec = |name: &str| init_specs.iter().find(|c| str_at(c, "/name") == name);
    // Sidecars count as containers of the pod.
    let total = arr_at(pod, "/spec/containers").len() + init_specs.iter().filter(|c| is_restartable(Some(c))).count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart = None;
    let mut last_sidecar_restart = None;

    let mut initializing = false;
    for (i, status) in arr_at(pod, "/status/initContainerStatuses").iter().enumerate() {
        restarts += int_at(status, "/restartCount");
        note_restart(&mut last_restart, status);
        let sidecar = is_restartable(init_spec(str_at(status, "/name")));
        if sidecar {
            sidecar_restarts += int_at(status, "/restartCount");
            note_restart(&mut last_sidecar_restart, status);
        }
        let terminated = state(status, "terminated");
        let waiting = state(status, "waiting");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        }
        if sidecar && opt_bool(status, "/started") == Some(true) {
            if bool_at(status, "/ready") {
                ready += 1;
            }
            continue;
        }
        // The first init container that has not completed decides the status.
        reason = if let Some(t) = terminated {
            match str_at(t, "/reason") {
                "" => format!("Init:{}", exit_reason(t)),
                r => format!("Init:{r}"),
            }
        } else if let Some(r) =
            waiting.map(|w| str_at(w, "/reason")).filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(conditions, "Initialized") {
        // Once initialized, restarts of completed init containers no longer count.
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // Walking backwards lets the first container's state win.
        for status in arr_at(pod, "/status/containerStatuses").iter().rev() {
            restarts += int_at(status, "/restartCount");
            note_restart(&mut last_restart, status);
            let waiting_reason = state(status, "waiting").map_or("", |w| str_at(w, "/reason"));
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_owned();
            } else if let Some(t) = state(status, "terminated") {
                reason = match str_at(t, "/reason") {
                    "" => exit_reason(t),
                    r => r.to_owned(),
                };
            } else if bool_at(status, "/ready") && state(status, "running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose containers partly completed is still running.
        if reason == "Completed" && has_running {
            let pod_ready = conditions.iter().any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_owned();
        }
    }

    if deleting(pod) && str_at(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".to_owned();
    } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_owned();
    }
    Summary { ready, total, reason, restarts, last_restart }
}

/// "true/all" readiness gates, or `<none>`.
fn readiness_gates(pod: &Value) -> String {
    let gates = arr_at(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".to_owned();
    }
    let conditions = arr_at(pod, "/status/conditions");
    let satisfied = gates
        .iter()
        .filter(|g| {
            let kind = str_at(g, "/conditionType");
            conditions.iter().find(|c| str_at(c, "/type") == kind).is_some_and(|c| str_at(c, "/status") == "True")
        })
        .count();
    format!("{satisfied}/{}", gates.len())
}
