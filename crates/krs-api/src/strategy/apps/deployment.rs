//! The deployment strategy: defaults (one replica, rolling updates of 25% surge and 25%
//! unavailability, ten old ReplicaSets kept, a ten-minute progress deadline), validation
//! (`ValidateDeploymentSpec`), an immutable selector, and a generation that also counts
//! annotation changes (they are copied to the ReplicaSets).

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy as RolloutStrategy, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field, validate_nonnegative_field};
use krs_kinds::Object;

use super::{
    int_or_percent_value, int_or_string_value, nonnegative_counters, not_more_than_100_percent, selector_matches,
    selector_or_nil, validate_collision_count, validate_controller_selector, validate_immutable_selector,
    validate_positive_int_or_percent,
};
use crate::strategy::core::podspec::semantic::semantically_equal;
use crate::strategy::core::podspec::{
    drop_disabled_pod_spec_fields, set_defaults_pod_template_spec, validate_pod_template_spec_for_owner,
    warnings_for_pod_template,
};
use crate::strategy::{Strategy, typed, typed_mut};

/// The strategy of `deployments`.
pub struct DeploymentStrategy;

/// The deployment strategy instance the catalog refers to.
pub static DEPLOYMENT: DeploymentStrategy = DeploymentStrategy;

impl Strategy for DeploymentStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(d) = typed_mut::<Deployment>(obj) else {
            return;
        };
        let spec = d.spec.get_or_insert_with(Default::default);
        spec.replicas.get_or_insert(1);
        let strategy = spec.strategy.get_or_insert_with(Default::default);
        if strategy.type_.as_deref().unwrap_or_default().is_empty() {
            strategy.type_ = Some("RollingUpdate".to_owned());
        }
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let rolling = strategy.rolling_update.get_or_insert_with(Default::default);
            rolling.max_unavailable.get_or_insert_with(|| IntOrString::String("25%".to_owned()));
            rolling.max_surge.get_or_insert_with(|| IntOrString::String("25%".to_owned()));
        }
        spec.revision_history_limit.get_or_insert(10);
        spec.progress_deadline_seconds.get_or_insert(600);
        set_defaults_pod_template_spec(&mut spec.template);
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(spec) =
            typed_mut::<Deployment>(obj).and_then(|d| d.spec.as_mut()).and_then(|s| s.template.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<Deployment>(old).cloned() else {
            return;
        };
        let Some(new) = typed_mut::<Deployment>(new) else {
            return;
        };
        let old_template_spec = old.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        if let Some(spec) = new.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            drop_disabled_pod_spec_fields(spec, old_template_spec);
        }
        // Annotations reach the ReplicaSets, so changing them is a change the controller must
        // roll out, like a spec change.
        if !semantically_equal(&new.metadata.annotations, &old.metadata.annotations) {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Deployment>(obj)
            .map(|d| validate_spec(&d.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Deployment>(new), typed::<Deployment>(old)) else {
            return ErrorList::new();
        };
        let spec = new.spec.clone().unwrap_or_default();
        let old_spec = old.spec.clone().unwrap_or_default();
        let mut errs = validate_spec(&spec, &Path::new("spec"));
        errs.append(validate_immutable_selector(&spec.selector, &old_spec.selector));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<Deployment>(obj)
            .and_then(|d| d.spec.as_ref())
            .map(|s| warnings_for_pod_template(&s.template, &Path::new("spec").child("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<Deployment>(new), typed::<Deployment>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => self.warnings_on_create(n),
            _ => Vec::new(),
        }
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Deployment>(new), typed::<Deployment>(old)) else {
            return ErrorList::new();
        };
        let status = new.status.clone().unwrap_or_default();
        let path = Path::new("status");
        let replicas = status.replicas.unwrap_or(0);
        let updated = status.updated_replicas.unwrap_or(0);
        let ready = status.ready_replicas.unwrap_or(0);
        let available = status.available_replicas.unwrap_or(0);
        let mut errs = nonnegative_counters(
            &[
                (status.observed_generation.unwrap_or(0), "observedGeneration"),
                (i64::from(replicas), "replicas"),
                (i64::from(updated), "updatedReplicas"),
                (i64::from(ready), "readyReplicas"),
                (i64::from(available), "availableReplicas"),
                (i64::from(status.unavailable_replicas.unwrap_or(0)), "unavailableReplicas"),
            ],
            &path,
        );
        if let Some(count) = status.collision_count {
            errs.append(validate_nonnegative_field(i64::from(count), &path.child("collisionCount")));
        }
        const MSG: &str = "cannot be greater than status.replicas";
        for (value, name) in [(updated, "updatedReplicas"), (ready, "readyReplicas"), (available, "availableReplicas")]
        {
            if value > replicas {
                errs.push(field::invalid(&path.child(name), value, MSG));
            }
        }
        if available > ready {
            errs.push(field::invalid(
                &path.child("availableReplicas"),
                available,
                "cannot be greater than readyReplicas",
            ));
        }
        errs.append(validate_collision_count(
            status.collision_count,
            old.status.as_ref().and_then(|s| s.collision_count),
        ));
        errs
    }
}

/// `ValidateDeploymentSpec`.
fn validate_spec(spec: &DeploymentSpec, path: &Path) -> ErrorList {
    let mut errs = validate_nonnegative_field(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"));
    let selector = selector_or_nil(&spec.selector);
    let (selector_errs, parsed) = validate_controller_selector(selector, "deployment", true, &path.child("selector"));
    errs.append(selector_errs);
    let template_path = path.child("template");
    match parsed {
        None => errs.push(field::invalid(&path.child("selector"), BadValue::json(&selector), "invalid label selector")),
        Some(sel) => {
            let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
            errs.append(validate_pod_template_spec_for_owner(
                &spec.template,
                selector_matches(&sel, labels),
                "ReplicaSet",
                &template_path,
            ));
        }
    }
    errs.append(validate_strategy(&spec.strategy.clone().unwrap_or_default(), &path.child("strategy")));
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.append(validate_nonnegative_field(i64::from(min_ready), &path.child("minReadySeconds")));
    if let Some(limit) = spec.revision_history_limit {
        errs.append(validate_nonnegative_field(i64::from(limit), &path.child("revisionHistoryLimit")));
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        errs.append(validate_nonnegative_field(i64::from(deadline), &path.child("progressDeadlineSeconds")));
        if deadline <= min_ready {
            errs.push(field::invalid(
                &path.child("progressDeadlineSeconds"),
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateDeploymentStrategy`.
fn validate_strategy(strategy: &RolloutStrategy, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    match strategy.type_.as_deref().unwrap_or_default() {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                errs.push(field::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &strategy.rolling_update {
            None => {
                errs.push(field::required(&path.child("rollingUpdate"), "this should be defaulted and never be nil"))
            }
            Some(r) => errs.append(validate_rolling_update(r, &path.child("rollingUpdate"))),
        },
        _ => errs.push(field::not_supported(path, BadValue::json(strategy), &["Recreate", "RollingUpdate"])),
    }
    errs
}

/// `ValidateRollingUpdateDeployment`.
fn validate_rolling_update(r: &RollingUpdateDeployment, path: &Path) -> ErrorList {
    let zero = IntOrString::Int(0);
    let unavailable = r.max_unavailable.as_ref().unwrap_or(&zero);
    let surge = r.max_surge.as_ref().unwrap_or(&zero);
    let mut errs = validate_positive_int_or_percent(unavailable, &path.child("maxUnavailable"));
    errs.append(validate_positive_int_or_percent(surge, &path.child("maxSurge")));
    if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
        errs.push(field::invalid(
            &path.child("maxUnavailable"),
            int_or_string_value(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs.append(not_more_than_100_percent(unavailable, &path.child("maxUnavailable")));
    errs
}
