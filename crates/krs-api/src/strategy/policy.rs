//! The pod disruption budget strategy (upstream's `pkg/registry/policy/poddisruptionbudget`
//! and `ValidatePodDisruptionBudget*`).

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{
    ErrorList, LabelSelectorValidationOptions, Path, field, is_valid_percent, label_selector_has_invalid_label_value,
    validate_label_selector, validate_nonnegative_field,
};
use krs_kinds::Object;

use crate::strategy::core::service::checks::{bad_value, go_json, go_struct};
use crate::strategy::{Strategy, typed};

const UNHEALTHY_POD_EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

/// The pod disruption budget strategy.
pub struct PodDisruptionBudgetStrategy;

/// The pod disruption budget strategy.
pub static POD_DISRUPTION_BUDGET: PodDisruptionBudgetStrategy = PodDisruptionBudgetStrategy;

/// A non-negative count or a percentage (`ValidatePositiveIntOrPercent`).
pub(crate) fn validate_int_or_percent(v: &IntOrString, path: &Path) -> ErrorList {
    match v {
        IntOrString::String(s) => {
            is_valid_percent(s).into_iter().map(|msg| field::invalid(path, bad_value(v), msg)).collect()
        }
        IntOrString::Int(n) => validate_nonnegative_field(i64::from(*n), path),
    }
}

/// At most 100% (`IsNotMoreThan100Percent`).
pub(crate) fn not_more_than_100_percent(v: &IntOrString, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if let IntOrString::String(s) = v
        && let Some(n) = s.strip_suffix('%').and_then(|d| d.parse::<i64>().ok())
        && n > 100
    {
        errs.push(field::invalid(path, bad_value(v), "must not be greater than 100%"));
    }
    errs
}

fn validate(pdb: &PodDisruptionBudget, allow_invalid_selector: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = pdb.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        // Upstream shows the internal spec, whose fields have their Go names.
        let shown = go_struct(&[
            ("MinAvailable", go_json(&spec.min_available)),
            ("Selector", go_json(&spec.selector)),
            ("MaxUnavailable", go_json(&spec.max_unavailable)),
            ("UnhealthyPodEvictionPolicy", go_json(&spec.unhealthy_pod_eviction_policy)),
        ]);
        errs.push(field::invalid(&path, shown, "minAvailable and maxUnavailable cannot be both set"));
    }
    for (value, name) in [(&spec.min_available, "minAvailable"), (&spec.max_unavailable, "maxUnavailable")] {
        if let Some(v) = value {
            errs.append(validate_int_or_percent(v, &path.child(name)));
            errs.append(not_more_than_100_percent(v, &path.child(name)));
        }
    }
    let opts = LabelSelectorValidationOptions {
        allow_invalid_label_value_in_selector: allow_invalid_selector,
        ..Default::default()
    };
    errs.append(validate_label_selector(spec.selector.as_ref(), opts, &path.child("selector")));
    if let Some(policy) = spec.unhealthy_pod_eviction_policy.as_deref()
        && !UNHEALTHY_POD_EVICTION_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(
            &path.child("unhealthyPodEvictionPolicy"),
            policy,
            UNHEALTHY_POD_EVICTION_POLICIES,
        ));
    }
    errs
}

impl Strategy for PodDisruptionBudgetStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<PodDisruptionBudget>(obj).map(|p| validate(p, false)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let Some(new) = typed::<PodDisruptionBudget>(new) else {
            return ErrorList::new();
        };
        // Budgets stored with a selector that is now invalid may keep it.
        let allow = typed::<PodDisruptionBudget>(old)
            .is_some_and(|o| label_selector_has_invalid_label_value(o.spec.as_ref().and_then(|s| s.selector.as_ref())));
        validate(new, allow)
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        let Some(pdb) = typed::<PodDisruptionBudget>(new) else {
            return ErrorList::new();
        };
        let status = pdb.status.clone().unwrap_or_default();
        let path = Path::new("status");
        let mut errs = ErrorList::new();
        for (value, name) in [
            (status.disruptions_allowed, "disruptionsAllowed"),
            (status.current_healthy, "currentHealthy"),
            (status.desired_healthy, "desiredHealthy"),
            (status.expected_pods, "expectedPods"),
        ] {
            errs.append(validate_nonnegative_field(i64::from(value), &path.child(name)));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;

    use super::*;

    fn pdb(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudget {
        PodDisruptionBudget {
            spec: Some(PodDisruptionBudgetSpec { min_available: min, max_unavailable: max, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn min_available_and_max_unavailable_are_exclusive() {
        let p = pdb(Some(IntOrString::Int(1)), Some(IntOrString::Int(1)));
        assert_eq!(
            POD_DISRUPTION_BUDGET.validate(&p).to_string(),
            r#"spec: Invalid value: {"MinAvailable":1,"Selector":null,"MaxUnavailable":1,"UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be both set"#
        );
    }

    #[test]
    fn int_or_percent_values_are_checked() {
        let p = pdb(Some(IntOrString::String("150%".into())), None);
        assert_eq!(
            POD_DISRUPTION_BUDGET.validate(&p).to_string(),
            r#"spec.minAvailable: Invalid value: "150%": must not be greater than 100%"#
        );
        let p = pdb(None, Some(IntOrString::String("half".into())));
        assert_eq!(
            POD_DISRUPTION_BUDGET.validate(&p).to_string(),
            r#"spec.maxUnavailable: Invalid value: "half": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"#
        );
        let p = pdb(Some(IntOrString::Int(-1)), None);
        assert_eq!(
            POD_DISRUPTION_BUDGET.validate(&p).to_string(),
            "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"
        );
    }

    #[test]
    fn eviction_policy_is_an_enum() {
        let mut p = pdb(Some(IntOrString::Int(1)), None);
        p.spec.as_mut().unwrap().unhealthy_pod_eviction_policy = Some("Never".into());
        assert_eq!(
            POD_DISRUPTION_BUDGET.validate(&p).to_string(),
            r#"spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget""#
        );
    }
}
