//! A simulated pod: what is kept of it (compact, as the fleet holds upstream's 150,000) and the
//! statuses it goes through.

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use crate::status::generate::{PodShape, RestartPolicy, get_phase, pod_conditions};

/// Per-pod override of how long its containers run before exiting (seconds).
pub const RUN_SECONDS_ANNOTATION: &str = "sim.krs.io/run-seconds";
/// Per-pod override of its containers' exit code.
pub const EXIT_CODE_ANNOTATION: &str = "sim.krs.io/exit-code";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Seen bound to a simulated node; nothing reported yet.
    New,
    /// Reported Pending (containers being created).
    Pending,
    Running,
    /// Containers exited and will not restart: the pod is Succeeded or Failed.
    Completed,
    /// Deletion requested; the terminal status and final delete are under way.
    Terminating,
}

pub struct SimPod {
    pub namespace: Box<str>,
    pub name: Box<str>,
    pub node: u32,
    pub shape: PodShape,
    /// Images of init containers then containers, in the order of `shape`.
    pub images: Vec<Box<str>>,
    pub ip: Ipv4Addr,
    pub stage: Stage,
    /// When the agent first saw the pod (status.startTime).
    pub start_time: jiff::Timestamp,
    pub running_since: Option<jiff::Timestamp>,
    pub restarts: i32,
    /// The containers' last exit: code, started, finished.
    pub last_exit: Option<(i32, jiff::Timestamp, jiff::Timestamp)>,
    /// How long the containers run before they exit; `None`: until deleted.
    pub run_for: Option<Duration>,
    pub exit_code: i32,
    pub qos_class: Option<Box<str>>,
    /// The final deletion is scheduled.
    pub delete_scheduled: bool,
}

impl SimPod {
    /// What to keep of a pod bound to simulated node `node`. Job pods (owned by a Job) exit
    /// after `job_duration` with `job_exit_code`, unless the pod's annotations say otherwise.
    pub fn new(pod: &Pod, node: u32, ip: Ipv4Addr, job_duration: Duration, job_exit_code: i32) -> Option<SimPod> {
        let spec = pod.spec.as_ref()?;
        let annotations = pod.metadata.annotations.as_ref();
        let annotation = |k: &str| annotations.and_then(|a| a.get(k));
        let is_job =
            pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "Job" && o.controller == Some(true));
        let run_for = annotation(RUN_SECONDS_ANNOTATION)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .or(is_job.then_some(job_duration));
        let exit_code = annotation(EXIT_CODE_ANNOTATION).and_then(|s| s.parse().ok()).unwrap_or(if is_job {
            job_exit_code
        } else {
            0
        });
        let images = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .map(|c| c.image.as_deref().unwrap_or_default().into())
            .collect();
        Some(SimPod {
            namespace: pod.metadata.namespace.as_deref().unwrap_or("default").into(),
            name: pod.metadata.name.as_deref()?.into(),
            node,
            shape: PodShape::of(spec),
            images,
            ip,
            stage: Stage::New,
            start_time: jiff::Timestamp::now(),
            running_since: None,
            restarts: 0,
            last_exit: None,
            run_for,
            exit_code,
            qos_class: pod.status.as_ref().and_then(|s| s.qos_class.as_deref()).map(Into::into),
            delete_scheduled: false,
        })
    }

    /// Whether the containers restart after exiting with the pod's exit code.
    pub fn restarts_after_exit(&self) -> bool {
        match self.shape.restart_policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => self.exit_code != 0,
            RestartPolicy::Never => false,
        }
    }

    /// The strategic-merge patch of pods/status for the pod's current stage. `uid` makes the
    /// write conditional on the pod being the same object (upstream's status manager does so).
    pub fn status_patch(&self, uid: &str, host_ip: Ipv4Addr, now: jiff::Timestamp) -> Value {
        let statuses = self.container_statuses(uid, now);
        let terminal = matches!(self.stage, Stage::Completed | Stage::Terminating);
        let phase = get_phase(&self.shape, &statuses, terminal);
        let sandbox_ready = matches!(self.stage, Stage::Running | Stage::Pending);
        let mut conditions = pod_conditions(&self.shape, &statuses, phase, sandbox_ready, &[]);
        for c in &mut conditions {
            c.last_transition_time = Some(Time(now));
        }
        let n_init = self.shape.init.len();
        let (init, regular) = statuses.split_at(n_init.min(statuses.len()));
        let ip = self.ip.to_string();
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": host_ip.to_string(),
            "hostIPs": [{"ip": host_ip.to_string()}],
            "startTime": Time(self.start_time),
            "containerStatuses": regular,
        });
        if !init.is_empty() {
            status["initContainerStatuses"] = json!(init);
        }
        if self.stage != Stage::New {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        if let Some(q) = &self.qos_class {
            status["qosClass"] = json!(q);
        }
        json!({"metadata": {"uid": uid}, "status": status})
    }

    fn container_statuses(&self, uid: &str, now: jiff::Timestamp) -> Vec<ContainerStatus> {
        let n_init = self.shape.init.len();
        let has_init = n_init > 0;
        let names = self
            .shape
            .init
            .iter()
            .map(|(n, sidecar)| (n, *sidecar, true))
            .chain(self.shape.containers.iter().map(|n| (n, false, false)));
        let mut out = Vec::with_capacity(self.images.len());
        for (i, (name, sidecar, is_init)) in names.enumerate() {
            let image = self.images.get(i).map(|s| s.to_string()).unwrap_or_default();
            let container_id = format!("sim://{uid}-{i}-{}", self.restarts);
            let image_id = format!("sim://{image}");
            let mut s = ContainerStatus {
                name: name.to_string(),
                image,
                image_id: String::new(),
                restart_count: if is_init && !sidecar { 0 } else { self.restarts },
                ..Default::default()
            };
            let waiting = |reason: &str| ContainerState {
                waiting: Some(ContainerStateWaiting { reason: Some(reason.to_owned()), message: None }),
                ..Default::default()
            };
            let terminated = |code: i32, started: jiff::Timestamp, finished: jiff::Timestamp| ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    reason: Some(if code == 0 { "Completed" } else { "Error" }.to_owned()),
                    started_at: Some(Time(started)),
                    finished_at: Some(Time(finished)),
                    container_id: Some(container_id.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let since = self.running_since.unwrap_or(self.start_time);
            match self.stage {
                Stage::New | Stage::Pending => {
                    s.state = Some(waiting(if has_init { "PodInitializing" } else { "ContainerCreating" }));
                    s.started = Some(false);
                }
                Stage::Running if is_init && !sidecar => {
                    // Init containers ran to completion before the regular ones started.
                    s.state = Some(terminated(0, self.start_time, since));
                    s.image_id = image_id;
                    s.container_id = Some(container_id.clone());
                }
                Stage::Running => {
                    s.state = Some(ContainerState {
                        running: Some(ContainerStateRunning { started_at: Some(Time(since)) }),
                        ..Default::default()
                    });
                    s.ready = true;
                    s.started = Some(true);
                    s.image_id = image_id;
                    s.container_id = Some(container_id.clone());
                    if let Some((code, started, finished)) = self.last_exit {
                        s.last_state = Some(terminated(code, started, finished));
                    }
                }
                Stage::Completed | Stage::Terminating => {
                    let (code, started, finished) = match (self.stage, is_init && !sidecar) {
                        (_, true) => (0, self.start_time, since),
                        (Stage::Completed, false) => self.last_exit.unwrap_or((self.exit_code, since, now)),
                        // Deleted while running: the containers stop cleanly on SIGTERM.
                        _ => (0, since, now),
                    };
                    s.state = Some(terminated(code, started, finished));
                    s.started = Some(false);
                    s.image_id = image_id;
                    s.container_id = Some(container_id.clone());
                }
            }
            out.push(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    use super::*;

    fn pod(job: bool, init: bool) -> Pod {
        let c = |n: &str| Container { name: n.into(), image: Some("busybox".into()), ..Default::default() };
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                owner_references: job
                    .then(|| vec![OwnerReference { kind: "Job".into(), controller: Some(true), ..Default::default() }]),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![c("main")],
                init_containers: init.then(|| vec![c("setup")]),
                restart_policy: Some(if job { "Never" } else { "Always" }.into()),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn phase(v: &Value) -> &str {
        v["status"]["phase"].as_str().unwrap_or_default()
    }

    #[test]
    fn lifecycle_of_a_job_pod() {
        let now = jiff::Timestamp::now();
        let ip = Ipv4Addr::new(10, 128, 0, 2);
        let host = Ipv4Addr::new(172, 16, 0, 1);
        let mut p = SimPod::new(&pod(true, true), 0, ip, Duration::from_secs(3), 1).expect("pod");
        assert_eq!(p.run_for, Some(Duration::from_secs(3)));
        p.stage = Stage::Pending;
        let v = p.status_patch("u1", host, now);
        assert_eq!(phase(&v), "Pending");
        assert_eq!(v["metadata"]["uid"], "u1");
        assert_eq!(v["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
        p.stage = Stage::Running;
        p.running_since = Some(now);
        let v = p.status_patch("u1", host, now);
        assert_eq!(phase(&v), "Running");
        assert_eq!(v["status"]["podIP"], "10.128.0.2");
        assert_eq!(v["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
        let ready = v["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
        assert_eq!(ready.map(|c| c["status"].clone()), Some(json!("True")));
        // Exit code 1 under restartPolicy Never: the pod fails.
        assert!(!p.restarts_after_exit());
        p.stage = Stage::Completed;
        p.last_exit = Some((1, now, now));
        let v = p.status_patch("u1", host, now);
        assert_eq!(phase(&v), "Failed");
        assert_eq!(v["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 1);
    }

    #[test]
    fn deleted_running_pod_ends_succeeded() {
        let now = jiff::Timestamp::now();
        let mut p = SimPod::new(&pod(false, false), 0, Ipv4Addr::new(10, 0, 0, 2), Duration::ZERO, 0).expect("pod");
        assert_eq!(p.run_for, None);
        p.stage = Stage::Terminating;
        let v = p.status_patch("u", Ipv4Addr::LOCALHOST, now);
        assert_eq!(phase(&v), "Succeeded");
    }
}
