//! The pod failure policy and the success policy of a Job.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{Job, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::Pod;

use super::indexes;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    FailJob(String),
    Ignore,
    Count,
    FailIndex,
}

/// The first rule matching a failed pod (exit codes of its terminated containers, or its
/// conditions), as upstream's matchPodFailurePolicy; None when no rule matches.
pub fn match_pod_failure_policy(job: &Job, pod: &Pod) -> Option<Action> {
    let rules = job.spec.as_ref()?.pod_failure_policy.as_ref()?.rules.clone();
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(req) = &rule.on_exit_codes {
            let statuses = pod.status.as_ref().map(|s| {
                let mut all = s.init_container_statuses.clone().unwrap_or_default();
                all.extend(s.container_statuses.clone().unwrap_or_default());
                all
            });
            for cs in statuses.unwrap_or_default() {
                if req.container_name.as_ref().is_some_and(|c| *c != cs.name) {
                    continue;
                }
                let Some(code) = cs.state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code) else {
                    continue;
                };
                // A container that succeeded never matches.
                if code == 0 {
                    continue;
                }
                let listed = req.values.contains(&code);
                let matches = match req.operator.as_str() {
                    "In" => listed,
                    "NotIn" => !listed,
                    _ => false,
                };
                if matches {
                    let msg = format!(
                        "Container {} for pod {ns}/{name} failed with exit code {code} matching {} rule at index {i}",
                        cs.name, rule.action
                    );
                    return Some(action(rule, msg));
                }
            }
        }
        for pattern in rule.on_pod_conditions.iter().flatten() {
            let status = pattern.status.as_str();
            let hit = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == pattern.type_ && c.status == status));
            if let Some(c) = hit {
                let msg =
                    format!("Pod {ns}/{name} has condition {} matching {} rule at index {i}", c.type_, rule.action);
                return Some(action(rule, msg));
            }
        }
    }
    None
}

fn action(rule: &PodFailurePolicyRule, msg: String) -> Action {
    match rule.action.as_str() {
        "FailJob" => Action::FailJob(msg),
        "Ignore" => Action::Ignore,
        "FailIndex" => Action::FailIndex,
        _ => Action::Count,
    }
}

/// The index of the first success-policy rule the completed indexes satisfy.
pub fn match_success_policy(job: &Job, completions: i32, completed: &BTreeSet<i32>) -> Option<usize> {
    let rules = job.spec.as_ref()?.success_policy.as_ref()?.rules.clone();
    for (i, rule) in rules.iter().enumerate() {
        let scope: BTreeSet<i32> = match rule.succeeded_indexes.as_deref() {
            Some(s) => indexes::parse(Some(s), completions),
            None => (0..completions).collect(),
        };
        let done = scope.intersection(completed).count();
        let ok = match rule.succeeded_count {
            Some(n) => done >= usize::try_from(n).unwrap_or(usize::MAX),
            None => done == scope.len() && !scope.is_empty(),
        };
        if ok {
            return Some(i);
        }
    }
    None
}
