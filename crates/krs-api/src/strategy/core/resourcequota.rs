//! The resource quota strategy (upstream's `pkg/registry/core/resourcequota` and
//! `ValidateResourceQuota*`). Usage tracking is the quota controller's and admission's.

pub(crate) mod resources;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec, ResourceQuotaStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;
use krs_apimachinery::validation::{ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field};
use krs_kinds::Object;

use super::service::checks::bad_value;
use crate::strategy::{Strategy, typed, typed_mut};

/// The quota scopes Kubernetes defines (`IsStandardResourceQuotaScope`).
const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

const POD_COMPUTE: &[&str] = &["cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"];

/// The resource quota strategy.
pub struct ResourceQuotaStrategy;

/// The resource quota strategy.
pub static RESOURCE_QUOTA: ResourceQuotaStrategy = ResourceQuotaStrategy;

/// Whether a scope may limit the resource (`IsResourceQuotaScopeValidForResource`).
fn scope_valid_for_resource(scope: &str, resource: &str) -> bool {
    match scope {
        "Terminating" | "NotTerminating" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity" => {
            resource == "pods" || POD_COMPUTE.contains(&resource)
        }
        "BestEffort" => resource == "pods",
        "VolumeAttributesClass" => {
            matches!(resource, "persistentvolumeclaims" | "requests.storage")
        }
        _ => true,
    }
}

fn conflicting(scopes: &BTreeSet<&str>) -> bool {
    (scopes.contains("BestEffort") && scopes.contains("NotBestEffort"))
        || (scopes.contains("Terminating") && scopes.contains("NotTerminating"))
}

fn validate_hard(list: Option<&BTreeMap<String, OpenApiQuantity>>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (name, q) in list.into_iter().flatten() {
        let p = path.key(name);
        errs.append(resources::validate_quota_resource_name(name, &p));
        match resources::parse(q, &p) {
            Ok(q) => errs.append(resources::validate_quantity_value(name, &q, &p)),
            Err(e) => errs.append(e),
        }
    }
    errs
}

/// `ValidateResourceQuotaSpec`: hard limits, scopes and the scope selector.
fn validate_spec(spec: &ResourceQuotaSpec, path: &Path) -> ErrorList {
    let mut errs = validate_hard(spec.hard.as_ref(), &path.child("hard"));
    let hard: Vec<&str> = spec.hard.iter().flatten().map(|(k, _)| k.as_str()).collect();
    let scopes: &[String] = spec.scopes.as_deref().unwrap_or_default();
    let scopes_path = path.child("scopes");
    let mut seen = BTreeSet::new();
    for scope in scopes {
        if !SCOPES.contains(&scope.as_str()) {
            errs.push(field::invalid(&scopes_path, bad_value(scopes), "unsupported scope"));
        }
        for resource in &hard {
            if resources::is_standard_quota_resource(resource) && !scope_valid_for_resource(scope, resource) {
                errs.push(field::invalid(&scopes_path, bad_value(scopes), "unsupported scope applied to resource"));
            }
        }
        seen.insert(scope.as_str());
    }
    if conflicting(&seen) {
        errs.push(field::invalid(&scopes_path, bad_value(scopes), "conflicting scopes"));
    }

    let Some(selector) = &spec.scope_selector else {
        return errs;
    };
    let exprs_path = path.child("scopeSelector").child("matchExpressions");
    let mut seen = BTreeSet::new();
    for req in selector.match_expressions.iter().flatten() {
        let scope = req.scope_name.as_str();
        if !SCOPES.contains(&scope) {
            errs.push(field::invalid(&exprs_path.child("scopeName"), scope, "unsupported scope"));
        }
        for resource in &hard {
            if resources::is_standard_quota_resource(resource) && !scope_valid_for_resource(scope, resource) {
                errs.push(field::invalid(&exprs_path, bad_value(selector), "unsupported scope applied to resource"));
            }
        }
        let values = req.values.as_deref().unwrap_or_default();
        if matches!(
            scope,
            "BestEffort" | "NotBestEffort" | "Terminating" | "NotTerminating" | "CrossNamespacePodAffinity"
        ) && req.operator != "Exists"
        {
            errs.push(field::invalid(
                &exprs_path.child("operator"),
                req.operator.as_str(),
                "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
            ));
        }
        match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.push(field::required(
                &exprs_path.child("values"),
                "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(field::invalid(
                &exprs_path.child("values"),
                bad_value(values),
                "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(field::invalid(&exprs_path.child("operator"), op, "not a valid selector operator")),
        }
        seen.insert(scope);
    }
    if conflicting(&seen) {
        errs.push(field::invalid(&exprs_path, bad_value(scopes), "conflicting scopes"));
    }
    errs
}

fn validate_status(status: Option<&ResourceQuotaStatus>) -> ErrorList {
    let path = Path::new("status");
    let mut errs = validate_hard(status.and_then(|s| s.hard.as_ref()), &path.child("hard"));
    errs.append(validate_hard(status.and_then(|s| s.used.as_ref()), &path.child("used")));
    errs
}

impl Strategy for ResourceQuotaStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(quota) = typed_mut::<ResourceQuota>(obj) else {
            return;
        };
        if let Some(hard) = quota.spec.as_mut().and_then(|s| s.hard.as_mut()) {
            resources::default_resource_list(hard);
        }
        if let Some(status) = quota.status.as_mut() {
            for list in [status.hard.as_mut(), status.used.as_mut()].into_iter().flatten() {
                resources::default_resource_list(list);
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let Some(quota) = typed::<ResourceQuota>(obj) else {
            return ErrorList::new();
        };
        let mut errs = validate_spec(&quota.spec.clone().unwrap_or_default(), &Path::new("spec"));
        errs.append(validate_status(quota.status.as_ref()));
        errs
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<ResourceQuota>(new), typed::<ResourceQuota>(old)) else {
            return ErrorList::new();
        };
        let new_spec = new.spec.clone().unwrap_or_default();
        let mut errs = validate_spec(&new_spec, &Path::new("spec"));
        let scope_set = |q: &ResourceQuota| -> BTreeSet<String> {
            q.spec.iter().flat_map(|s| s.scopes.iter().flatten().cloned()).collect()
        };
        if scope_set(new) != scope_set(old) {
            errs.push(field::invalid(
                &Path::new("spec").child("scopes"),
                bad_value(&new_spec.scopes),
                FIELD_IMMUTABLE_ERROR_MSG,
            ));
        }
        errs
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        typed::<ResourceQuota>(new).map(|q| validate_status(q.status.as_ref())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ScopeSelector, ScopedResourceSelectorRequirement};

    use super::*;

    fn quota(hard: &[(&str, &str)], scopes: &[&str]) -> ResourceQuota {
        ResourceQuota {
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard.iter().map(|(k, v)| ((*k).to_owned(), OpenApiQuantity((*v).to_owned()))).collect()),
                scopes: (!scopes.is_empty()).then(|| scopes.iter().map(|s| (*s).to_owned()).collect()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hard_quantities_must_be_valid() {
        let q = quota(&[("pods", "10"), ("requests.cpu", "-1")], &[]);
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            r#"spec.hard[requests.cpu]: Invalid value: "-1": must be greater than or equal to 0"#
        );
        let q = quota(&[("foo", "1")], &[]);
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            r#"[spec.hard[foo]: Invalid value: "foo": must be a standard resource type or fully qualified, spec.hard[foo]: Invalid value: "foo": must be a standard resource for quota]"#
        );
    }

    #[test]
    fn scopes_must_be_known_and_fit_the_resources() {
        let q = quota(&[("pods", "1")], &["Bogus"]);
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            r#"spec.scopes: Invalid value: ["Bogus"]: unsupported scope"#
        );
        let q = quota(&[("services", "1")], &["BestEffort"]);
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            r#"spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource"#
        );
        let q = quota(&[("pods", "1")], &["Terminating", "NotTerminating"]);
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            r#"spec.scopes: Invalid value: ["Terminating","NotTerminating"]: conflicting scopes"#
        );
    }

    #[test]
    fn scope_selector_operators_are_checked() {
        let mut q = quota(&[("pods", "1")], &[]);
        q.spec.as_mut().unwrap().scope_selector = Some(ScopeSelector {
            match_expressions: Some(vec![ScopedResourceSelectorRequirement {
                scope_name: "PriorityClass".into(),
                operator: "In".into(),
                values: None,
            }]),
        });
        assert_eq!(
            RESOURCE_QUOTA.validate(&q).to_string(),
            "spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"
        );
    }

    #[test]
    fn scopes_are_immutable() {
        let old = quota(&[("pods", "1")], &["BestEffort"]);
        let new = quota(&[("pods", "1")], &["NotBestEffort"]);
        assert_eq!(
            RESOURCE_QUOTA.validate_update(&new, &old).to_string(),
            r#"spec.scopes: Invalid value: ["NotBestEffort"]: field is immutable"#
        );
    }
}
