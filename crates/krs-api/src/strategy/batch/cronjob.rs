//! The cronjob strategy (upstream `pkg/registry/batch/cronjob/strategy.go`): defaults (allow
//! concurrent runs, not suspended, keep three successful and one failed job), the schedule and
//! time zone, and the job template, which is a job spec whose selector is generated per job.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec};
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field, validate_nonnegative_field};
use krs_kinds::Object;

use super::cron::parse_standard;
use super::{name_warning, set_defaults_job_spec_types, validate_job_spec_fields, warnings_for_job_spec};
use crate::strategy::core::podspec::drop_disabled_pod_spec_fields;
use crate::strategy::{Strategy, typed, typed_mut};

/// The strategy of `cronjobs`.
pub struct CronJobStrategy;

/// The cronjob strategy instance the catalog refers to.
pub static CRON_JOB: CronJobStrategy = CronJobStrategy;

/// The longest CronJob name: the controller appends an 11-character suffix to name its jobs.
const MAX_CRON_JOB_NAME_LENGTH: usize = 52;

impl Strategy for CronJobStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(cj) = typed_mut::<CronJob>(obj) else {
            return;
        };
        let spec = cj.spec.get_or_insert_with(Default::default);
        if spec.concurrency_policy.as_deref().unwrap_or_default().is_empty() {
            spec.concurrency_policy = Some("Allow".to_owned());
        }
        spec.suspend.get_or_insert(false);
        spec.successful_jobs_history_limit.get_or_insert(3);
        spec.failed_jobs_history_limit.get_or_insert(1);
        set_defaults_job_spec_types(spec.job_template.spec.get_or_insert_with(Default::default));
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(pod_spec) = typed_mut::<CronJob>(obj)
            .and_then(|c| c.spec.as_mut())
            .and_then(|s| s.job_template.spec.as_mut())
            .and_then(|j| j.template.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(pod_spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let old_pod_spec = typed::<CronJob>(old)
            .and_then(|c| c.spec.as_ref())
            .and_then(|s| s.job_template.spec.as_ref())
            .and_then(|j| j.template.spec.clone());
        if let Some(pod_spec) = typed_mut::<CronJob>(new)
            .and_then(|c| c.spec.as_mut())
            .and_then(|s| s.job_template.spec.as_mut())
            .and_then(|j| j.template.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(pod_spec, old_pod_spec.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let Some(cj) = typed::<CronJob>(obj) else {
            return ErrorList::new();
        };
        let mut errs = validate_spec(&cj.spec.clone().unwrap_or_default(), None, &Path::new("spec"));
        let name = cj.metadata.name.as_deref().unwrap_or_default();
        if name.len() > MAX_CRON_JOB_NAME_LENGTH {
            errs.push(field::invalid(
                &Path::new("metadata").child("name"),
                name,
                format!("must be no more than {MAX_CRON_JOB_NAME_LENGTH} characters"),
            ));
        }
        errs
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<CronJob>(new), typed::<CronJob>(old)) else {
            return ErrorList::new();
        };
        // The name length limit is not applied, so that older, longer names stay updatable.
        validate_spec(
            &new.spec.clone().unwrap_or_default(),
            Some(&old.spec.clone().unwrap_or_default()),
            &Path::new("spec"),
        )
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        let Some(cj) = typed::<CronJob>(obj) else {
            return Vec::new();
        };
        let mut warnings: Vec<String> =
            name_warning(cj.metadata.name.as_deref().unwrap_or_default()).into_iter().collect();
        let spec = cj.spec.clone().unwrap_or_default();
        warnings.extend(warnings_for_job_spec(
            &spec.job_template.spec.unwrap_or_default(),
            &Path::new("spec").child("jobTemplate").child("spec"),
        ));
        warnings
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<CronJob>(new), typed::<CronJob>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => {
                let spec = n.spec.clone().unwrap_or_default();
                warnings_for_job_spec(
                    &spec.job_template.spec.unwrap_or_default(),
                    &Path::new("spec").child("jobTemplate").child("spec"),
                )
            }
            _ => Vec::new(),
        }
    }
}

/// `validateCronJobSpec`; `old` is the stored spec on updates.
fn validate_spec(spec: &CronJobSpec, old: Option<&CronJobSpec>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let schedule_path = path.child("schedule");
    if spec.schedule.is_empty() {
        errs.push(field::required(&schedule_path, ""));
    } else {
        if let Err(e) = parse_standard(&spec.schedule) {
            errs.push(field::invalid(&schedule_path, spec.schedule.as_str(), e));
        }
        // Schedules stored with a TZ prefix before the timeZone field existed stay accepted.
        let allow_tz = old.is_some_and(|o| o.schedule.contains("TZ"));
        if spec.schedule.contains("TZ") {
            if allow_tz && spec.time_zone.is_some() {
                errs.push(field::invalid(
                    &schedule_path,
                    spec.schedule.as_str(),
                    "cannot use both timeZone field and TZ or CRON_TZ in schedule",
                ));
            } else if !allow_tz {
                errs.push(field::invalid(
                    &schedule_path,
                    spec.schedule.as_str(),
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                ));
            }
        }
    }
    if let Some(deadline) = spec.starting_deadline_seconds {
        errs.append(validate_nonnegative_field(deadline, &path.child("startingDeadlineSeconds")));
    }
    if old.is_none_or(|o| o.time_zone != spec.time_zone) {
        errs.append(validate_time_zone(spec.time_zone.as_deref(), &path.child("timeZone")));
    }
    let policy_path = path.child("concurrencyPolicy");
    match spec.concurrency_policy.as_deref().unwrap_or_default() {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(field::required(&policy_path, "")),
        other => errs.push(field::not_supported(&policy_path, other, &["Allow", "Forbid", "Replace"])),
    }
    let template_path = path.child("jobTemplate").child("spec");
    let job_spec = spec.job_template.spec.clone().unwrap_or_default();
    errs.append(validate_job_spec_fields(&job_spec, &template_path));
    if let Some(selector) = &job_spec.selector {
        errs.push(field::invalid(
            &template_path.child("selector"),
            BadValue::json(selector),
            "`selector` will be auto-generated",
        ));
    }
    if job_spec.manual_selector == Some(true) {
        errs.push(field::not_supported(&template_path.child("manualSelector"), true, &["nil", "false"]));
    }
    for (limit, name) in [
        (spec.successful_jobs_history_limit, "successfulJobsHistoryLimit"),
        (spec.failed_jobs_history_limit, "failedJobsHistoryLimit"),
    ] {
        if let Some(limit) = limit {
            errs.append(validate_nonnegative_field(i64::from(limit), &path.child(name)));
        }
    }
    errs
}

/// A time zone name: a plausible IANA name that the time zone database knows
/// (`validateTimeZone`).
fn validate_time_zone(time_zone: Option<&str>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(tz) = time_zone else {
        return errs;
    };
    if tz.is_empty() {
        errs.push(field::invalid(path, tz, "timeZone must be nil or non-empty string"));
        return errs;
    }
    let part_ok = |part: &str| {
        part != "."
            && part != ".."
            && !part.starts_with('-')
            && (1..=14).contains(&part.len())
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    if !tz.split('/').all(part_ok) {
        errs.push(field::invalid(path, tz, format!("unknown time zone {tz}")));
        return errs;
    }
    if tz.eq_ignore_ascii_case("Local") {
        errs.push(field::invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    if let Err(e) = load_location(tz) {
        errs.push(field::invalid(path, tz, e));
    }
    errs
}

/// Go's `time.LoadLocation` against the bundled IANA database: `UTC` and `Local` are built in,
/// other names must match an entry exactly (Go looks names up case-sensitively).
pub(crate) fn load_location(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(());
    }
    match jiff::tz::db().get(name) {
        Ok(tz) if tz.iana_name() == Some(name) => Ok(()),
        _ => Err(format!("unknown time zone {name}")),
    }
}
