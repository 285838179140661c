//! Strategies of the apps API group (upstream `pkg/apis/apps/v1/defaults.go`,
//! `pkg/apis/apps/validation` and `pkg/registry/apps/*`): Deployments, ReplicaSets,
//! StatefulSets, DaemonSets and ControllerRevisions. This module holds what they share: label
//! selectors that must select their template, and int-or-percent rollout budgets.

mod controllerrevision;
mod daemonset;
mod deployment;
mod replicaset;
mod statefulset;

#[cfg(test)]
mod tests;

pub use controllerrevision::{CONTROLLER_REVISION, ControllerRevisionStrategy};
pub use daemonset::{DAEMON_SET, DaemonSetStrategy};
pub use deployment::{DEPLOYMENT, DeploymentStrategy};
pub use replicaset::{REPLICA_SET, ReplicaSetStrategy};
pub use statefulset::{STATEFUL_SET, StatefulSetStrategy};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::labels::Selector;
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, LabelSelectorValidationOptions, Path, field, is_valid_percent,
    validate_label_selector, validate_nonnegative_field,
};

use super::core::podspec::semantic::semantically_equal;

/// The selector as upstream sees it: k8s-openapi decodes an absent selector as an empty one,
/// so a selector with neither `matchLabels` nor `matchExpressions` present is taken to be
/// absent (Go's nil). An explicitly empty `matchLabels: {}` still counts as a selector.
pub(crate) fn selector_or_nil(selector: &LabelSelector) -> Option<&LabelSelector> {
    (selector.match_labels.is_some() || selector.match_expressions.is_some()).then_some(selector)
}

/// A controller's selector: required, valid, not empty (`kind` words the empty-selector
/// message: `deployment`, `statefulset`, `daemonset`). Returns the errors and the parsed
/// selector (`None` when it does not convert; then the template is not matched).
pub(crate) fn validate_controller_selector(
    selector: Option<&LabelSelector>,
    kind: &str,
    required: bool,
    path: &Path,
) -> (ErrorList, Option<Selector>) {
    let mut errs = ErrorList::new();
    match selector {
        None if required => errs.push(field::required(path, "")),
        None => {}
        Some(sel) => {
            errs.append(validate_label_selector(Some(sel), LabelSelectorValidationOptions::default(), path));
            let empty = sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty());
            if empty {
                errs.push(field::invalid(path, BadValue::json(sel), format!("empty selector is invalid for {kind}")));
            }
        }
    }
    (errs, Selector::from_label_selector(selector).ok())
}

/// Whether a selector selects a template's labels; `None` when the selector is empty (it
/// selects everything, and upstream skips the check).
pub(crate) fn selector_matches(
    selector: &Selector,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> Option<bool> {
    if selector.is_empty() {
        return None;
    }
    Some(selector.matches(&labels.cloned().unwrap_or_default()))
}

/// The selector of a controller may not change (`ValidateImmutableField` on `spec.selector`).
pub(crate) fn validate_immutable_selector(new: &LabelSelector, old: &LabelSelector) -> ErrorList {
    if semantically_equal(new, old) {
        return ErrorList::new();
    }
    ErrorList::from(field::invalid(
        &Path::new("spec").child("selector"),
        BadValue::json(&selector_or_nil(new)),
        FIELD_IMMUTABLE_ERROR_MSG,
    ))
}

/// An int-or-string shown the way upstream prints it (`IntOrString.String()`): bare.
pub(crate) fn int_or_string_value(v: &IntOrString) -> BadValue {
    BadValue::Json(match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    })
}

/// A non-negative integer or a percentage (`ValidatePositiveIntOrPercent`).
pub(crate) fn validate_positive_int_or_percent(v: &IntOrString, path: &Path) -> ErrorList {
    match v {
        IntOrString::String(s) => {
            is_valid_percent(s).into_iter().map(|msg| field::invalid(path, int_or_string_value(v), msg)).collect()
        }
        IntOrString::Int(i) => validate_nonnegative_field(i64::from(*i), path),
    }
}

fn percent_value(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) if is_valid_percent(s).is_empty() => s.strip_suffix('%').and_then(|n| n.parse().ok()),
        _ => None,
    }
}

/// The number or percentage of an int-or-string; a string that is neither counts as 0
/// (`getIntOrPercentValue`).
pub(crate) fn int_or_percent_value(v: &IntOrString) -> i64 {
    percent_value(v).unwrap_or(match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => s.parse().unwrap_or(0),
    })
}

/// A percentage may not exceed 100% (`IsNotMoreThan100Percent`).
pub(crate) fn not_more_than_100_percent(v: &IntOrString, path: &Path) -> ErrorList {
    match percent_value(v) {
        Some(p) if p > 100 => {
            ErrorList::from(field::invalid(path, int_or_string_value(v), "must not be greater than 100%"))
        }
        _ => ErrorList::new(),
    }
}

/// Counters of a status that must not be negative.
pub(crate) fn nonnegative_counters(counters: &[(i64, &str)], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (value, name) in counters {
        errs.append(validate_nonnegative_field(*value, &path.child(*name)));
    }
    errs
}

/// The collision count of a status may not go down (`IsDecremented`).
pub(crate) fn validate_collision_count(new: Option<i32>, old: Option<i32>) -> ErrorList {
    let decremented = match (new, old) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    };
    if decremented {
        ErrorList::from(field::invalid(
            &Path::new("status").child("collisionCount"),
            new.unwrap_or(0),
            "cannot be decremented",
        ))
    } else {
        ErrorList::new()
    }
}
