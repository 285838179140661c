//! The job strategy (upstream `pkg/registry/batch/job/strategy.go`): defaults, the generated
//! selector and pod labels that tie a job's pods to it, validation (`ValidateJob`), what an
//! update may change (`ValidateJobSpecUpdate`), status counters and the `status.successful`
//! field selector.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_apimachinery::labels::Selector;
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, LabelSelectorValidationOptions, Path, field, is_dns1123_label,
    validate_label_selector, validate_nonnegative_field,
};
use krs_kinds::Object;

use super::{name_warning, set_defaults_job_spec_types, validate_job_spec_fields, warnings_for_job_spec};
use crate::strategy::core::podspec::drop_disabled_pod_spec_fields;
use crate::strategy::core::podspec::semantic::semantically_equal;
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The strategy of `jobs`.
pub struct JobStrategy;

/// The job strategy instance the catalog refers to.
pub static JOB: JobStrategy = JobStrategy;

static FIELD_LABELS: &[FieldLabel] =
    &[FieldLabel { name: "status.successful", path: "status.succeeded", default: "0" }];

/// The labels a generated selector relies on: current and legacy names.
const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

impl Strategy for JobStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(job) = typed_mut::<Job>(obj) else {
            return;
        };
        let spec = job.spec.get_or_insert_with(Default::default);
        set_defaults_job(spec, &mut job.metadata);
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(job) = typed_mut::<Job>(obj) else {
            return;
        };
        let spec = job.spec.get_or_insert_with(Default::default);
        if spec.manual_selector != Some(true) {
            generate_selector(spec, &job.metadata);
        }
        if let Some(pod_spec) = &mut spec.template.spec {
            drop_disabled_pod_spec_fields(pod_spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let old_pod_spec = typed::<Job>(old).and_then(|j| j.spec.as_ref()).and_then(|s| s.template.spec.clone());
        if let Some(pod_spec) =
            typed_mut::<Job>(new).and_then(|j| j.spec.as_mut()).and_then(|s| s.template.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(pod_spec, old_pod_spec.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Job>(obj).map(|job| validate_job(job, true)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Job>(new), typed::<Job>(old)) else {
            return ErrorList::new();
        };
        let old_labels = old.spec.as_ref().and_then(|s| template_labels(&s.template)).unwrap_or_default();
        // Jobs created before the prefixed labels existed are not held to them.
        let require_prefixed = old_labels.contains_key(JOB_NAME_LABEL) && old_labels.contains_key(CONTROLLER_UID_LABEL);
        let mut errs = validate_job(new, require_prefixed);
        errs.append(validate_job_spec_update(&new.spec.clone().unwrap_or_default(), old, &Path::new("spec")));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        let Some(job) = typed::<Job>(obj) else {
            return Vec::new();
        };
        let mut warnings: Vec<String> =
            name_warning(job.metadata.name.as_deref().unwrap_or_default()).into_iter().collect();
        warnings.extend(warnings_for_job_spec(&job.spec.clone().unwrap_or_default(), &Path::new("spec")));
        warnings
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<Job>(new), typed::<Job>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => {
                warnings_for_job_spec(&n.spec.clone().unwrap_or_default(), &Path::new("spec"))
            }
            _ => Vec::new(),
        }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        let Some(job) = typed::<Job>(new) else {
            return ErrorList::new();
        };
        let status = job.status.clone().unwrap_or_default();
        let path = Path::new("status");
        let mut errs = ErrorList::new();
        for (value, name) in [
            (Some(status.active.unwrap_or(0)), "active"),
            (Some(status.succeeded.unwrap_or(0)), "succeeded"),
            (Some(status.failed.unwrap_or(0)), "failed"),
            (status.ready, "ready"),
            (status.terminating, "terminating"),
        ] {
            if let Some(v) = value {
                errs.append(validate_nonnegative_field(i64::from(v), &path.child(name)));
            }
        }
        if let Some(uncounted) = &status.uncounted_terminated_pods {
            let p = path.child("uncountedTerminatedPods");
            let mut seen = std::collections::BTreeSet::new();
            for (list, name) in [(&uncounted.succeeded, "succeeded"), (&uncounted.failed, "failed")] {
                for (i, uid) in list.iter().flatten().enumerate() {
                    let ip = p.child(name).index(i);
                    if uid.is_empty() {
                        errs.push(field::invalid(&ip, BadValue::json(uid), "must not be empty"));
                    } else if !seen.insert(uid.clone()) {
                        errs.push(field::duplicate(&ip, BadValue::json(uid)));
                    }
                }
            }
        }
        errs
    }
}

/// `SetDefaults_Job` and the defaults of the types inside a job.
fn set_defaults_job(spec: &mut JobSpec, meta: &mut ObjectMeta) {
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    if spec.backoff_limit.is_none() {
        // With a per-index limit, the global one only caps the whole job loosely.
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() { i32::MAX } else { 6 });
    }
    if let Some(labels) = template_labels(&spec.template)
        && meta.labels.as_ref().is_none_or(|l| l.is_empty())
    {
        meta.labels = Some(labels);
    }
    if spec.completion_mode.is_none() {
        spec.completion_mode = Some("NonIndexed".to_owned());
    }
    spec.suspend.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        let policy = if spec.pod_failure_policy.is_some() { "Failed" } else { "TerminatingOrFailed" };
        spec.pod_replacement_policy = Some(policy.to_owned());
    }
    spec.manual_selector.get_or_insert(false);
    set_defaults_job_spec_types(spec);
}

fn template_labels(template: &PodTemplateSpec) -> Option<BTreeMap<String, String>> {
    template.metadata.as_ref().and_then(|m| m.labels.clone())
}

/// Labels the pods with the job's name and uid and selects them by the uid
/// (`generateSelector`). The uid must already be set; without it nothing is generated and
/// validation reports the missing selector.
fn generate_selector(spec: &mut JobSpec, meta: &ObjectMeta) {
    let Some(uid) = meta.uid.clone().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = meta.name.clone().unwrap_or_default();
    let labels = spec.template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new);
    // Labels the user set are kept; a conflict is reported by validation.
    for key in [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL] {
        labels.entry(key.to_owned()).or_insert_with(|| name.clone());
    }
    for key in [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL] {
        labels.entry(key.to_owned()).or_insert_with(|| uid.clone());
    }
    spec.selector
        .get_or_insert_with(Default::default)
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .entry(CONTROLLER_UID_LABEL.to_owned())
        .or_insert(uid);
}

/// `ValidateJob`, ObjectMeta aside.
fn validate_job(job: &Job, require_prefixed_labels: bool) -> ErrorList {
    let spec = job.spec.clone().unwrap_or_default();
    let mut errs = validate_generated_selector(job, &spec, require_prefixed_labels);
    errs.append(validate_job_spec(&spec, &Path::new("spec")));
    let name = job.metadata.name.as_deref().unwrap_or_default();
    if spec.completion_mode.as_deref() == Some("Indexed")
        && let Some(completions) = spec.completions.filter(|c| *c > 0)
    {
        let hostname = format!("{name}-{}", completions - 1);
        if !is_dns1123_label(&hostname).is_empty() {
            errs.push(field::invalid(
                &Path::new("metadata").child("name"),
                name,
                format!("will not able to create pod with invalid DNS label: {hostname}"),
            ));
        }
    }
    errs
}

/// The generated selector still selects what it was generated for (`validateGeneratedSelector`).
fn validate_generated_selector(job: &Job, spec: &JobSpec, require_prefixed: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.manual_selector == Some(true) {
        return errs;
    }
    let Some(selector) = &spec.selector else {
        return errs;
    };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    if uid.is_empty() {
        errs.push(field::required(&Path::new("metadata").child("uid"), ""));
    }
    let meta = spec.template.metadata.clone().unwrap_or_default();
    let meta_path = Path::new("spec").child("template").child("metadata");
    let mut expected = vec![(LEGACY_CONTROLLER_UID_LABEL, uid.clone()), (LEGACY_JOB_NAME_LABEL, name.clone())];
    if require_prefixed {
        expected.push((CONTROLLER_UID_LABEL, uid.clone()));
        expected.push((JOB_NAME_LABEL, name.clone()));
    }
    for (key, value) in &expected {
        errs.append(validate_has_label(&meta, &meta_path, key, value));
    }
    let expected: BTreeMap<String, String> = expected.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if let Ok(sel) = Selector::from_label_selector(Some(selector))
        && !sel.matches(&expected)
    {
        errs.push(field::invalid(
            &Path::new("spec").child("selector"),
            BadValue::json(selector),
            "`selector` not auto-generated",
        ));
    }
    errs
}

/// `ValidateHasLabel`.
fn validate_has_label(meta: &ObjectMeta, path: &Path, key: &str, expected: &str) -> ErrorList {
    let labels = meta.labels.clone();
    match labels.as_ref().and_then(|l| l.get(key)) {
        None => ErrorList::from(field::required(&path.child("labels").key(key), format!("must be '{expected}'"))),
        Some(actual) if actual != expected => ErrorList::from(field::invalid(
            &path.child("labels").key(key),
            BadValue::json(&labels),
            format!("must be '{expected}'"),
        )),
        Some(_) => ErrorList::new(),
    }
}

/// `ValidateJobSpec`: the shared rules, a required selector that selects the template.
fn validate_job_spec(spec: &JobSpec, path: &Path) -> ErrorList {
    let mut errs = validate_job_spec_fields(spec, path);
    match &spec.selector {
        None => errs.push(field::required(&path.child("selector"), "")),
        Some(sel) => errs.append(validate_label_selector(
            Some(sel),
            LabelSelectorValidationOptions::default(),
            &path.child("selector"),
        )),
    }
    if let Ok(sel) = Selector::from_label_selector(spec.selector.as_ref()) {
        let labels = template_labels(&spec.template);
        if !sel.matches(&labels.clone().unwrap_or_default()) {
            errs.push(field::invalid(
                &path.child("template").child("metadata").child("labels"),
                BadValue::json(&labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs
}

/// `ValidateJobSpecUpdate` without the repeat of `ValidateJobSpec`.
fn validate_job_spec_update(spec: &JobSpec, old: &Job, path: &Path) -> ErrorList {
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut errs = ErrorList::new();
    // Completions are fixed, except for indexed jobs scaled together with parallelism.
    if !semantically_equal(&spec.completions, &old_spec.completions) {
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        if !indexed {
            errs.push(immutable(&path.child("completions"), BadValue::json(&spec.completions)));
        } else if let Some(c) = spec.completions
            && Some(c) != spec.parallelism
        {
            errs.push(field::invalid(
                &path.child("completions"),
                c,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    }
    if !semantically_equal(&spec.selector, &old_spec.selector) {
        errs.push(immutable(&path.child("selector"), BadValue::json(&spec.selector)));
    }
    errs.append(validate_template_update(spec, &old_spec, old, path));
    for (changed, value, name) in [
        (
            !semantically_equal(&spec.completion_mode, &old_spec.completion_mode),
            BadValue::json(&spec.completion_mode),
            "completionMode",
        ),
        (
            !semantically_equal(&spec.pod_failure_policy, &old_spec.pod_failure_policy),
            BadValue::json(&spec.pod_failure_policy),
            "podFailurePolicy",
        ),
        (
            !semantically_equal(&spec.backoff_limit_per_index, &old_spec.backoff_limit_per_index),
            BadValue::json(&spec.backoff_limit_per_index),
            "backoffLimitPerIndex",
        ),
        (!semantically_equal(&spec.managed_by, &old_spec.managed_by), BadValue::json(&spec.managed_by), "managedBy"),
        (
            !semantically_equal(&spec.success_policy, &old_spec.success_policy),
            BadValue::json(&spec.success_policy),
            "successPolicy",
        ),
    ] {
        if changed {
            errs.push(immutable(&path.child(name), value));
        }
    }
    errs
}

fn immutable(path: &Path, value: BadValue) -> krs_apimachinery::validation::FieldError {
    field::invalid(path, value, FIELD_IMMUTABLE_ERROR_MSG)
}

/// The pod template is fixed, except that a suspended job that never started may change its
/// scheduling directives, labels and annotations (`validatePodTemplateUpdate`).
fn validate_template_update(spec: &JobSpec, old_spec: &JobSpec, old: &Job, path: &Path) -> ErrorList {
    let template = &spec.template;
    let mut old_template = old_spec.template.clone();
    let suspended = old_spec.suspend == Some(true);
    let not_started = old.status.as_ref().is_none_or(|s| s.start_time.is_none());
    if suspended && not_started {
        let new_pod = template.spec.clone().unwrap_or_default();
        let old_pod = old_template.spec.get_or_insert_with(Default::default);
        match (&new_pod.affinity, &mut old_pod.affinity) {
            (None, Some(old_affinity)) => {
                old_affinity.node_affinity = None;
                if *old_affinity == Default::default() {
                    old_pod.affinity = None;
                }
            }
            (Some(new_affinity), None) => {
                old_pod.affinity = Some(k8s_openapi::api::core::v1::Affinity {
                    node_affinity: new_affinity.node_affinity.clone(),
                    ..Default::default()
                });
            }
            (Some(new_affinity), Some(old_affinity)) => old_affinity.node_affinity = new_affinity.node_affinity.clone(),
            (None, None) => {}
        }
        old_pod.node_selector = new_pod.node_selector.clone();
        old_pod.tolerations = new_pod.tolerations.clone();
        old_pod.scheduling_gates = new_pod.scheduling_gates.clone();
        let new_meta = template.metadata.clone().unwrap_or_default();
        let old_meta = old_template.metadata.get_or_insert_with(Default::default);
        old_meta.annotations = new_meta.annotations;
        old_meta.labels = new_meta.labels;
    }
    if semantically_equal(template, &old_template) {
        ErrorList::new()
    } else {
        ErrorList::from(immutable(&path.child("template"), BadValue::json(template)))
    }
}

/// The generated selector, for tests that need a selector to compare with.
#[cfg(test)]
pub(crate) fn generated_selector(uid: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        match_labels: Some([(CONTROLLER_UID_LABEL.to_owned(), uid.to_owned())].into()),
        match_expressions: None,
    }
}
