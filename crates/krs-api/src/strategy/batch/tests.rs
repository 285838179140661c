//! The batch strategies through their hooks, pinned to upstream's defaults and messages.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobStatus, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;
use crate::strategy::Strategy;

const UID: &str = "7d2c1a52-7e14-4a0e-9d51-3e9b6f0c2a11";

fn pod_template(restart: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container { name: "pi".into(), image: Some("perl:5".into()), ..Default::default() }],
            restart_policy: Some(restart.into()),
            ..Default::default()
        }),
    }
}

/// What `kubectl create job pi --image=perl:5` sends.
fn kubectl_job() -> Job {
    Job {
        metadata: ObjectMeta { name: Some("pi".into()), namespace: Some("default".into()), ..Default::default() },
        spec: Some(JobSpec { template: pod_template("Never"), ..Default::default() }),
        status: None,
    }
}

/// The create path with the uid the registry assigns (see the report on hook order).
fn created(mut job: Job) -> Job {
    JOB.default(&mut job);
    job.metadata.uid = Some(UID.into());
    JOB.prepare_for_create(&mut job);
    job
}

#[test]
fn kubectl_created_job_gets_upstream_defaults() {
    let job = created(kubectl_job());
    let spec = serde_json::to_value(job.spec.as_ref().unwrap()).unwrap();
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["manualSelector"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert!(JOB.validate(&job).is_empty(), "{}", JOB.validate(&job));
}

#[test]
fn job_selector_and_pod_labels_are_generated_from_the_uid() {
    let job = created(kubectl_job());
    let spec = job.spec.unwrap();
    assert_eq!(spec.selector, Some(job::generated_selector(UID)));
    let labels = spec.template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels["batch.kubernetes.io/controller-uid"], UID);
    assert_eq!(labels["controller-uid"], UID);
    assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
    assert_eq!(labels["job-name"], "pi");
}

#[test]
fn backoff_limit_per_index_raises_the_default_backoff_limit() {
    let mut job = kubectl_job();
    let spec = job.spec.as_mut().unwrap();
    spec.backoff_limit_per_index = Some(1);
    spec.completion_mode = Some("Indexed".into());
    spec.completions = Some(3);
    let job = created(job);
    assert_eq!(job.spec.unwrap().backoff_limit, Some(i32::MAX));
}

#[test]
fn job_template_must_not_restart_always() {
    let mut job = kubectl_job();
    job.spec.as_mut().unwrap().template = pod_template("");
    let job = created(job);
    assert_eq!(
        JOB.validate(&job).to_string(),
        "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
    );
}

#[test]
fn job_without_uid_has_no_generated_selector() {
    let mut job = kubectl_job();
    JOB.default(&mut job);
    JOB.prepare_for_create(&mut job);
    assert_eq!(
        JOB.validate(&job).to_string(),
        "[spec.selector: Required value, spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`]"
    );
}

#[test]
fn job_template_is_immutable_unless_suspended_and_never_started() {
    let old = created(kubectl_job());
    let mut new = old.clone();
    new.spec.as_mut().unwrap().template.spec.as_mut().unwrap().node_selector =
        Some([("zone".to_owned(), "a".to_owned())].into());
    let out = JOB.validate_update(&new, &old).to_string();
    assert!(out.starts_with("spec.template: Invalid value: {"), "{out}");
    assert!(out.ends_with("}: field is immutable"), "{out}");

    let mut suspended = old.clone();
    suspended.spec.as_mut().unwrap().suspend = Some(true);
    let mut new = suspended.clone();
    new.spec.as_mut().unwrap().template.spec.as_mut().unwrap().node_selector =
        Some([("zone".to_owned(), "a".to_owned())].into());
    assert!(JOB.validate_update(&new, &suspended).is_empty());

    suspended.status = Some(JobStatus { start_time: Some(Time(jiff::Timestamp::UNIX_EPOCH)), ..Default::default() });
    assert!(!JOB.validate_update(&new, &suspended).is_empty());
}

#[test]
fn job_completions_are_immutable_for_non_indexed_jobs() {
    let old = created(kubectl_job());
    let mut new = old.clone();
    new.spec.as_mut().unwrap().completions = Some(5);
    assert_eq!(JOB.validate_update(&new, &old).to_string(), "spec.completions: Invalid value: 5: field is immutable");
}

#[test]
fn pod_failure_policy_rules_are_checked() {
    use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule};
    let mut job = kubectl_job();
    job.spec.as_mut().unwrap().pod_failure_policy = Some(PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "FailJob".into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: Some("other".into()),
                operator: "In".into(),
                values: vec![3, 0, 1],
            }),
            on_pod_conditions: None,
        }],
    });
    let job = created(job);
    assert_eq!(job.spec.as_ref().unwrap().pod_replacement_policy.as_deref(), Some("Failed"));
    assert_eq!(
        JOB.validate(&job).to_string(),
        "[spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: \"other\": must be one of the container or initContainer names in the pod template, spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator, spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [3,0,1]: must be ordered]"
    );
}

#[test]
fn job_status_successful_is_a_field_label() {
    let job = created(kubectl_job());
    let label = JOB.field_labels()[0];
    assert_eq!((label.name, label.value_in(&krs_kinds::Object::to_value(&job)).as_str()), ("status.successful", "0"));
}

fn cronjob(schedule: &str) -> CronJob {
    CronJob {
        metadata: ObjectMeta { name: Some("hello".into()), namespace: Some("default".into()), ..Default::default() },
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec { template: pod_template("OnFailure"), ..Default::default() }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

fn defaulted(mut cj: CronJob) -> CronJob {
    CRON_JOB.default(&mut cj);
    CRON_JOB.prepare_for_create(&mut cj);
    cj
}

#[test]
fn cronjob_gets_upstream_defaults() {
    let cj = defaulted(cronjob("*/1 * * * *"));
    let spec = cj.spec.as_ref().unwrap();
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Allow"));
    assert_eq!(spec.suspend, Some(false));
    assert_eq!((spec.successful_jobs_history_limit, spec.failed_jobs_history_limit), (Some(3), Some(1)));
    // The job template gets no Job defaults, only those of the types inside it.
    assert_eq!(spec.job_template.spec.as_ref().unwrap().backoff_limit, None);
    assert!(CRON_JOB.validate(&cj).is_empty(), "{}", CRON_JOB.validate(&cj));
}

#[test]
fn cronjob_schedule_errors_are_upstreams() {
    let cj = defaulted(cronjob("* * * *"));
    assert_eq!(
        CRON_JOB.validate(&cj).to_string(),
        "spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]"
    );
    let cj = defaulted(cronjob("TZ=UTC 0 0 * * *"));
    assert_eq!(
        CRON_JOB.validate(&cj).to_string(),
        "spec.schedule: Invalid value: \"TZ=UTC 0 0 * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    );
    assert!(CRON_JOB.validate(&defaulted(cronjob("@daily"))).is_empty());
}

#[test]
fn cronjob_time_zone_must_be_in_the_iana_database() {
    let mut cj = cronjob("0 0 * * *");
    cj.spec.as_mut().unwrap().time_zone = Some("Europe/Berlin".into());
    assert!(CRON_JOB.validate(&defaulted(cj.clone())).is_empty());
    cj.spec.as_mut().unwrap().time_zone = Some("Mars/Olympus".into());
    assert_eq!(
        CRON_JOB.validate(&defaulted(cj.clone())).to_string(),
        "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"
    );
    cj.spec.as_mut().unwrap().time_zone = Some("europe/berlin".into());
    assert!(!CRON_JOB.validate(&defaulted(cj)).is_empty());
}

#[test]
fn cronjob_job_template_may_not_set_a_selector_and_names_are_short() {
    let mut cj = cronjob("0 0 * * *");
    cj.metadata.name = Some("a".repeat(53));
    cj.spec.as_mut().unwrap().job_template.spec.as_mut().unwrap().selector = Some(job::generated_selector("x"));
    let out = CRON_JOB.validate(&defaulted(cj)).to_string();
    assert_eq!(
        out,
        format!(
            "[spec.jobTemplate.spec.selector: Invalid value: {{\"matchLabels\":{{\"batch.kubernetes.io/controller-uid\":\"x\"}}}}: `selector` will be auto-generated, metadata.name: Invalid value: \"{}\": must be no more than 52 characters]",
            "a".repeat(53)
        )
    );
}
