//! Strategies of the batch API group (upstream `pkg/apis/batch/v1/defaults.go`,
//! `pkg/apis/batch/validation`, `pkg/registry/batch/{job,cronjob}`): Jobs and CronJobs. This
//! module holds the job spec rules both share (a CronJob's job template is a job spec).

mod cron;
mod cronjob;
mod job;

#[cfg(test)]
mod tests;

pub use cronjob::{CRON_JOB, CronJobStrategy};
pub use job::{JOB, JobStrategy};

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{JobSpec, PodFailurePolicyRule};
use krs_apimachinery::validation::{
    BadValue, ErrorList, Path, field, is_domain_prefixed_path, validate_nonnegative_field,
};

use super::core::podspec::{
    qualified_name, set_defaults_pod_template_spec, validate_pod_template_spec, warnings_for_pod_template,
};

/// Indexed jobs may run at most this many pods at once (caps `status.completedIndexes`).
const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
/// Indexed jobs may tolerate at most this many failed indexes.
const MAX_FAILED_INDEXES_FOR_INDEXED_JOB: i32 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
const MAX_ON_EXIT_CODES_VALUES: usize = 255;
const MAX_ON_POD_CONDITIONS_PATTERNS: usize = 20;
const MAX_MANAGED_BY_LENGTH: usize = 63;
const MAX_SUCCEEDED_INDEXES_LENGTH: usize = 64 * 1024;
const MAX_SUCCESS_POLICY_RULES: usize = 20;

/// Type-level defaults inside a job spec, which apply wherever it appears: the pod template's,
/// and `status: True` for pod-condition patterns of the pod failure policy.
pub(crate) fn set_defaults_job_spec_types(spec: &mut JobSpec) {
    set_defaults_pod_template_spec(&mut spec.template);
    for rule in spec.pod_failure_policy.iter_mut().flat_map(|p| p.rules.iter_mut()) {
        for pattern in rule.on_pod_conditions.iter_mut().flatten() {
            if pattern.status.is_empty() {
                pattern.status = "True".to_owned();
            }
        }
    }
}

/// `validateJobSpec`: what a job spec must satisfy, in a Job or a CronJob's job template.
pub(crate) fn validate_job_spec_fields(spec: &JobSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (value, name) in [
        (spec.parallelism.map(i64::from), "parallelism"),
        (spec.completions.map(i64::from), "completions"),
        (spec.active_deadline_seconds, "activeDeadlineSeconds"),
        (spec.backoff_limit.map(i64::from), "backoffLimit"),
        (spec.ttl_seconds_after_finished.map(i64::from), "ttlSecondsAfterFinished"),
        (spec.backoff_limit_per_index.map(i64::from), "backoffLimitPerIndex"),
    ] {
        if let Some(v) = value {
            errs.append(validate_nonnegative_field(v, &path.child(name)));
        }
    }
    if let Some(max) = spec.max_failed_indexes {
        errs.append(validate_nonnegative_field(i64::from(max), &path.child("maxFailedIndexes")));
        if spec.backoff_limit_per_index.is_none() {
            errs.push(field::required(&path.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
        }
    }
    if let Some(managed_by) = &spec.managed_by {
        errs.append(is_domain_prefixed_path(&path.child("managedBy"), managed_by));
        if managed_by.len() > MAX_MANAGED_BY_LENGTH {
            errs.push(field::too_long(&path.child("managedBy"), MAX_MANAGED_BY_LENGTH as i64));
        }
    }
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    if let Some(mode) = &spec.completion_mode {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(field::not_supported(&path.child("completionMode"), mode.as_str(), &["NonIndexed", "Indexed"]));
        }
        if indexed {
            if spec.completions.is_none() {
                errs.push(field::required(&path.child("completions"), "when completion mode is Indexed"));
            }
            if let Some(p) = spec.parallelism.filter(|p| *p > MAX_PARALLELISM_FOR_INDEXED_JOB) {
                errs.push(field::invalid(
                    &path.child("parallelism"),
                    p,
                    format!("must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"),
                ));
            }
            if let (Some(c), Some(m)) = (spec.completions, spec.max_failed_indexes)
                && m > c
            {
                errs.push(field::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(m) = spec.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES_FOR_INDEXED_JOB) {
                errs.push(field::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    format!("must be less than or equal to {MAX_FAILED_INDEXES_FOR_INDEXED_JOB}"),
                ));
            }
            if spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && spec.backoff_limit_per_index.is_some() {
                match spec.max_failed_indexes {
                    None => errs.push(field::required(
                        &path.child("maxFailedIndexes"),
                        format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
                    )),
                    Some(m) if m > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS => errs.push(field::invalid(
                        &path.child("maxFailedIndexes"),
                        m,
                        format!("must be less than or equal to {MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"),
                    )),
                    Some(_) => {}
                }
                if let Some(p) = spec.parallelism.filter(|p| *p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS) {
                    errs.push(field::invalid(
                        &path.child("parallelism"),
                        p,
                        format!("must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"),
                    ));
                }
            }
        }
    }
    if spec.completion_mode.as_deref().is_none_or(|m| m == "NonIndexed") {
        if let Some(b) = spec.backoff_limit_per_index {
            errs.push(field::invalid(&path.child("backoffLimitPerIndex"), b, "requires indexed completion mode"));
        }
        if let Some(m) = spec.max_failed_indexes {
            errs.push(field::invalid(&path.child("maxFailedIndexes"), m, "requires indexed completion mode"));
        }
    }
    if spec.pod_failure_policy.is_some() {
        errs.append(validate_pod_failure_policy(spec, &path.child("podFailurePolicy")));
    }
    if let Some(policy) = &spec.success_policy {
        if !indexed {
            errs.push(field::invalid(
                &path.child("successPolicy"),
                BadValue::json(policy),
                "requires indexed completion mode",
            ));
        } else {
            errs.append(validate_success_policy(spec, &path.child("successPolicy")));
        }
    }
    if let Some(policy) = &spec.pod_replacement_policy {
        let p = path.child("podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if policy != "Failed" {
                errs.push(field::not_supported(&p, policy.as_str(), &["Failed"]));
            }
        } else if !matches!(policy.as_str(), "Failed" | "TerminatingOrFailed") {
            errs.push(field::not_supported(&p, policy.as_str(), &["Failed", "TerminatingOrFailed"]));
        }
    }
    let template_path = path.child("template");
    errs.append(validate_pod_template_spec(&spec.template, &template_path));
    let restart_path = template_path.child("spec").child("restartPolicy");
    let restart = spec.template.spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_default();
    match restart.as_str() {
        "Always" | "" => errs.push(field::required(&restart_path, "valid values: \"OnFailure\", \"Never\"")),
        "OnFailure" | "Never" => {
            if spec.pod_failure_policy.is_some() && restart != "Never" {
                errs.push(field::invalid(
                    &restart_path,
                    restart.as_str(),
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        other => errs.push(field::not_supported(&restart_path, other, &["OnFailure", "Never"])),
    }
    errs
}

/// Go's `%q` of a string list, as in `valid values: ["A" "B"]`.
fn go_quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| BadValue::String((*i).to_owned()).to_string()).collect();
    format!("[{}]", quoted.join(" "))
}

fn validate_pod_failure_policy(spec: &JobSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(policy) = &spec.pod_failure_policy else {
        return errs;
    };
    let rules_path = path.child("rules");
    if policy.rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errs.push(field::too_many(&rules_path, policy.rules.len() as i64, MAX_POD_FAILURE_POLICY_RULES as i64));
    }
    let pod_spec = spec.template.spec.clone().unwrap_or_default();
    let names: BTreeSet<String> =
        pod_spec.containers.iter().chain(pod_spec.init_containers.iter().flatten()).map(|c| c.name.clone()).collect();
    for (i, rule) in policy.rules.iter().enumerate() {
        errs.append(validate_pod_failure_policy_rule(spec, rule, &rules_path.index(i), &names));
    }
    errs
}

fn validate_pod_failure_policy_rule(
    spec: &JobSpec,
    rule: &PodFailurePolicyRule,
    path: &Path,
    container_names: &BTreeSet<String>,
) -> ErrorList {
    const ACTIONS: &[&str] = &["Count", "FailIndex", "FailJob", "Ignore"];
    let mut errs = ErrorList::new();
    let action_path = path.child("action");
    match rule.action.as_str() {
        "" => errs.push(field::required(&action_path, format!("valid values: {}", go_quoted_list(ACTIONS)))),
        "FailIndex" => {
            if spec.backoff_limit_per_index.is_none() {
                errs.push(field::invalid(&action_path, "FailIndex", "requires the backoffLimitPerIndex to be set"));
            }
        }
        a if ACTIONS.contains(&a) => {}
        a => errs.push(field::not_supported(&action_path, a, ACTIONS)),
    }
    if let Some(on_exit) = &rule.on_exit_codes {
        let p = path.child("onExitCodes");
        const OPERATORS: &[&str] = &["In", "NotIn"];
        let op_path = p.child("operator");
        match on_exit.operator.as_str() {
            "" => errs.push(field::required(&op_path, format!("valid values: {}", go_quoted_list(OPERATORS)))),
            "In" | "NotIn" => {}
            other => errs.push(field::not_supported(&op_path, other, OPERATORS)),
        }
        if let Some(name) = &on_exit.container_name
            && !container_names.contains(name)
        {
            errs.push(field::invalid(
                &p.child("containerName"),
                name.as_str(),
                "must be one of the container or initContainer names in the pod template",
            ));
        }
        let values_path = p.child("values");
        let values = &on_exit.values;
        if values.is_empty() {
            errs.push(field::invalid(&values_path, BadValue::json(values), "at least one value is required"));
        } else if values.len() > MAX_ON_EXIT_CODES_VALUES {
            errs.push(field::too_many(&values_path, values.len() as i64, MAX_ON_EXIT_CODES_VALUES as i64));
        }
        let mut ordered = true;
        let mut seen = BTreeSet::new();
        for (j, v) in values.iter().enumerate() {
            if on_exit.operator == "In" && *v == 0 {
                errs.push(field::invalid(&values_path.index(j), *v, "must not be 0 for the In operator"));
            }
            if !seen.insert(*v) {
                errs.push(field::duplicate(&values_path.index(j), *v));
            }
            if j > 0 && values[j - 1] > *v {
                ordered = false;
            }
        }
        if !ordered {
            errs.push(field::invalid(&values_path, BadValue::json(values), "must be ordered"));
        }
    }
    let patterns = rule.on_pod_conditions.as_deref().unwrap_or_default();
    if !patterns.is_empty() {
        let p = path.child("onPodConditions");
        if patterns.len() > MAX_ON_POD_CONDITIONS_PATTERNS {
            errs.push(field::too_many(&p, patterns.len() as i64, MAX_ON_POD_CONDITIONS_PATTERNS as i64));
        }
        const STATUSES: &[&str] = &["False", "True", "Unknown"];
        for (j, pattern) in patterns.iter().enumerate() {
            let pp = p.index(j);
            errs.append(qualified_name(&pattern.type_, &pp.child("type")));
            match pattern.status.as_str() {
                "" => errs
                    .push(field::required(&pp.child("status"), format!("valid values: {}", go_quoted_list(STATUSES)))),
                s if STATUSES.contains(&s) => {}
                s => errs.push(field::not_supported(&pp.child("status"), s, STATUSES)),
            }
        }
    }
    if rule.on_exit_codes.is_some() && !patterns.is_empty() {
        errs.push(field::invalid(
            path,
            BadValue::Omitted,
            "specifying both OnExitCodes and OnPodConditions is not supported",
        ));
    }
    if rule.on_exit_codes.is_none() && patterns.is_empty() {
        errs.push(field::invalid(
            path,
            BadValue::Omitted,
            "specifying one of OnExitCodes and OnPodConditions is required",
        ));
    }
    errs
}

fn validate_success_policy(spec: &JobSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(policy) = &spec.success_policy else {
        return errs;
    };
    let rules_path = path.child("rules");
    if policy.rules.is_empty() {
        errs.push(field::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if policy.rules.len() > MAX_SUCCESS_POLICY_RULES {
        errs.push(field::too_many(&rules_path, policy.rules.len() as i64, MAX_SUCCESS_POLICY_RULES as i64));
    }
    let completions = spec.completions.unwrap_or(0);
    for (i, rule) in policy.rules.iter().enumerate() {
        let p = rules_path.index(i);
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.push(field::required(&p, "at least one of succeededCount or succeededIndexes must be specified"));
        }
        let mut total = 0;
        if let Some(indexes) = &rule.succeeded_indexes {
            let ip = p.child("succeededIndexes");
            if indexes.len() > MAX_SUCCEEDED_INDEXES_LENGTH {
                errs.push(field::too_long(&ip, MAX_SUCCEEDED_INDEXES_LENGTH as i64));
            }
            match validate_indexes_format(indexes, completions) {
                Ok(t) => total = t,
                Err(e) => {
                    errs.push(field::invalid(&ip, indexes.as_str(), format!("error parsing succeededIndexes: {e}")))
                }
            }
        }
        if let Some(count) = rule.succeeded_count {
            let cp = p.child("succeededCount");
            errs.append(validate_nonnegative_field(i64::from(count), &cp));
            if count > completions {
                errs.push(field::invalid(
                    &cp,
                    count,
                    format!("must be less than or equal to {completions} (the number of specified completions)"),
                ));
            }
            if rule.succeeded_indexes.is_some() && count > total {
                errs.push(field::invalid(
                    &cp,
                    count,
                    format!("must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"),
                ));
            }
        }
    }
    errs
}

/// Parses `1,3-5,7` style index lists below `completions` (`validateIndexesFormat`); returns
/// how many indexes they cover.
fn validate_indexes_format(indexes: &str, completions: i32) -> Result<i32, String> {
    if indexes.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i32> = None;
    let mut total = 0;
    for interval in indexes.split(',') {
        let (x, y) = parse_index_interval(interval, completions)?;
        if let Some(l) = last.filter(|l| *l >= x) {
            return Err(format!("non-increasing order, previous: {l}, current: {x}"));
        }
        total += y - x + 1;
        last = Some(y);
    }
    Ok(total)
}

fn parse_index_interval(interval: &str, completions: i32) -> Result<(i32, i32), String> {
    let quote = |s: &str| BadValue::String(s.to_owned()).to_string();
    let parts: Vec<&str> = interval.split('-').collect();
    if parts.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            quote(interval)
        ));
    }
    let parse = |s: &str| -> Result<i64, String> {
        s.parse::<i64>().map_err(|_| format!("cannot convert string to integer for index: {}", quote(s)))
    };
    let x = parse(parts[0])?;
    if x >= i64::from(completions) {
        return Err(format!("too large index: {}", quote(parts[0])));
    }
    if let Some(second) = parts.get(1) {
        let y = parse(second)?;
        if y >= i64::from(completions) {
            return Err(format!("too large index: {}", quote(second)));
        }
        if x >= y {
            return Err(format!("non-increasing order, previous: {x}, current: {y}"));
        }
        return Ok((x as i32, y as i32));
    }
    Ok((x as i32, x as i32))
}

/// `WarningsForJobSpec`: a very large indexed job, and the pod template's warnings.
pub(crate) fn warnings_for_job_spec(spec: &JobSpec, path: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    if spec.completion_mode.as_deref() == Some("Indexed")
        && spec.completions.unwrap_or(0) > COMPLETIONS_SOFT_LIMIT
        && spec.parallelism.unwrap_or(0) > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS
    {
        warnings.push(format!(
            "{path}: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"
        ));
    }
    warnings.extend(warnings_for_pod_template(&spec.template, &path.child("template")));
    warnings
}

/// The warning for names that are not DNS labels, which job and cronjob names end up in.
pub(crate) fn name_warning(name: &str) -> Option<String> {
    let msgs = krs_apimachinery::validation::is_dns1123_label(name);
    (!msgs.is_empty()).then(|| {
        format!(
            "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [{}]",
            msgs.join(" ")
        )
    })
}
