//! Job accessors, conditions, the pods a Job creates, and the failure backoff.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::TRACKING_FINALIZER;
use super::indexes::{self, COMPLETION_INDEX, INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT};
use crate::controller_utils::PodControl;
use crate::controller_utils::pod::{controller_ref, phase};

/// Upstream's MaxJobPodFailureBackOff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 60);

pub fn indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

pub fn completions(job: &Job) -> Option<i32> {
    job.spec.as_ref().and_then(|s| s.completions)
}

pub fn parallelism(job: &Job) -> i32 {
    job.spec.as_ref().and_then(|s| s.parallelism).unwrap_or(1).max(0)
}

pub fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false)
}

pub fn backoff_limit_per_index(job: &Job) -> Option<i32> {
    job.spec.as_ref().and_then(|s| s.backoff_limit_per_index)
}

/// Replacements wait for a pod to be Failed, not merely terminating.
pub fn replace_only_failed(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.pod_replacement_policy.as_deref()) == Some("Failed")
        || spec.is_some_and(|s| s.pod_failure_policy.is_some())
}

/// Whether a pod counts as failed (isPodFailed): terminating pods count only when the job
/// replaces terminating pods.
pub fn is_failed(job: &Job, pod: &Pod) -> bool {
    let p = phase(pod);
    if p == "Failed" {
        return true;
    }
    !replace_only_failed(job) && pod.metadata.deletion_timestamp.is_some() && p != "Succeeded"
}

pub fn condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_ && c.status == "True")
}

pub fn is_finished(status: &JobStatus) -> bool {
    condition(status, "Complete").is_some() || condition(status, "Failed").is_some()
}

/// Sets condition `type_` (a changed status moves the transition time; same status and
/// reason and message change nothing).
pub fn set_condition(status: &mut JobStatus, type_: &str, value: &str, reason: &str, message: &str, now: Timestamp) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == type_) {
        if c.status == value && c.reason.as_deref() == Some(reason) && c.message.as_deref() == Some(message) {
            return;
        }
        if c.status != value {
            c.last_transition_time = Some(Time(now));
        }
        c.status = value.into();
        c.reason = Some(reason.into());
        c.message = Some(message.into());
        c.last_probe_time = Some(Time(now));
        return;
    }
    conds.push(JobCondition {
        type_: type_.into(),
        status: value.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    });
}

/// A pod for `job`, at `index` for Indexed jobs (annotation, label, env and hostname), with
/// the tracking finalizer.
pub fn pod_for(job: &Job, index: Option<i32>, failures: (i32, i32)) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let template = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let owner_name = match index {
        Some(i) => format!("{name}-{i}"),
        None => name.clone(),
    };
    let mut pod = PodControl::pod_from_template(&template, &owner_name, Some(controller_ref(job)));
    pod.metadata.finalizers.get_or_insert_with(Vec::new).push(TRACKING_FINALIZER.into());
    if let Some(i) = index {
        pod.metadata.annotations.get_or_insert_with(Default::default).insert(COMPLETION_INDEX.into(), i.to_string());
        pod.metadata.labels.get_or_insert_with(Default::default).insert(COMPLETION_INDEX.into(), i.to_string());
        if backoff_limit_per_index(job).is_some() {
            let a = pod.metadata.annotations.get_or_insert_with(Default::default);
            a.insert(INDEX_FAILURE_COUNT.into(), failures.0.to_string());
            if failures.1 > 0 {
                a.insert(INDEX_IGNORED_FAILURE_COUNT.into(), failures.1.to_string());
            }
        }
        if let Some(spec) = pod.spec.as_mut() {
            if spec.hostname.is_none() {
                spec.hostname = Some(format!("{name}-{i}"));
            }
            let env = EnvVar {
                name: "JOB_COMPLETION_INDEX".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: None,
                        field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                    }),
                    ..Default::default()
                }),
            };
            let containers = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten());
            for c in containers {
                let vars = c.env.get_or_insert_with(Vec::new);
                if !vars.iter().any(|v| v.name == "JOB_COMPLETION_INDEX") {
                    vars.push(env.clone());
                }
            }
        }
    }
    pod
}

/// When a pod finished: its containers' latest finish, else its Ready condition's last
/// transition, else its deletion or creation time.
pub fn finish_time(pod: &Pod) -> Option<Timestamp> {
    let status = pod.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_ref()).into_iter().flatten();
    let finished =
        containers.filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref()).map(|t| t.0).max();
    finished
        .or_else(|| {
            status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| t.0)
        })
        .or_else(|| pod.metadata.deletion_timestamp.as_ref().map(|t| t.0))
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How long to wait before creating a pod after `failures` consecutive failures, the last at
/// `last`: base·2^(n-1), at most MAX_BACKOFF.
pub fn remaining_backoff(base: Duration, failures: u32, last: Option<Timestamp>, now: Timestamp) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let delay = base.saturating_mul(1u32 << (failures - 1).min(20)).min(MAX_BACKOFF);
    let Some(last) = last else { return Duration::ZERO };
    let elapsed = now.duration_since(last);
    let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
    delay.saturating_sub(elapsed)
}

/// Failure counts (counted, ignored) of `index` from its failed pods' annotations.
pub fn index_failures(
    pods: &[std::sync::Arc<Pod>],
    index: i32,
    completions: i32,
    counted: impl Fn(&Pod) -> bool,
) -> (i32, i32) {
    let mut out = (0, 0);
    for p in pods.iter().filter(|p| phase(p) == "Failed" && indexes::index_of(p, completions) == Some(index)) {
        if counted(p) {
            out.0 = out.0.max(indexes::failure_count(p) + 1);
            out.1 = out.1.max(indexes::ignored_failure_count(p));
        } else {
            out.0 = out.0.max(indexes::failure_count(p));
            out.1 = out.1.max(indexes::ignored_failure_count(p) + 1);
        }
    }
    out
}
