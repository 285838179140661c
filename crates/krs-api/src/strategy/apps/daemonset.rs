//! The daemonset strategy: defaults (rolling updates of one unavailable pod and no surge, ten
//! revisions kept), validation (`ValidateDaemonSetSpec`), an immutable selector, and the
//! template generation upstream keeps in the `deprecated.daemonset.template.generation`
//! annotation of apps/v1 objects.

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field, validate_nonnegative_field};
use krs_kinds::Object;

use super::{
    int_or_percent_value, int_or_string_value, nonnegative_counters, not_more_than_100_percent, selector_or_nil,
    validate_collision_count, validate_controller_selector, validate_immutable_selector,
    validate_positive_int_or_percent,
};
use crate::strategy::core::podspec::semantic::semantically_equal;
use crate::strategy::core::podspec::{
    drop_disabled_pod_spec_fields, set_defaults_pod_template_spec, validate_pod_template_spec_for_owner,
    warnings_for_pod_template,
};
use crate::strategy::{Strategy, typed, typed_mut};

/// The strategy of `daemonsets`.
pub struct DaemonSetStrategy;

/// The daemonset strategy instance the catalog refers to.
pub static DAEMON_SET: DaemonSetStrategy = DaemonSetStrategy;

/// Where apps/v1 keeps the internal template generation.
pub(crate) const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

fn template_generation(ds: &DaemonSet) -> i64 {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(ds: &mut DaemonSet, generation: i64) {
    ds.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(TEMPLATE_GENERATION_ANNOTATION.to_owned(), generation.to_string());
}

impl Strategy for DaemonSetStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(ds) = typed_mut::<DaemonSet>(obj) else {
            return;
        };
        let spec = ds.spec.get_or_insert_with(Default::default);
        let strategy = spec.update_strategy.get_or_insert_with(Default::default);
        if strategy.type_.as_deref().unwrap_or_default().is_empty() {
            strategy.type_ = Some("RollingUpdate".to_owned());
        }
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let rolling = strategy.rolling_update.get_or_insert_with(Default::default);
            rolling.max_unavailable.get_or_insert(IntOrString::Int(1));
            rolling.max_surge.get_or_insert(IntOrString::Int(0));
        }
        spec.revision_history_limit.get_or_insert(10);
        set_defaults_pod_template_spec(&mut spec.template);
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(ds) = typed_mut::<DaemonSet>(obj) else {
            return;
        };
        let generation = template_generation(ds).max(1);
        set_template_generation(ds, generation);
        if let Some(spec) = ds.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            drop_disabled_pod_spec_fields(spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<DaemonSet>(old).cloned() else {
            return;
        };
        let Some(new) = typed_mut::<DaemonSet>(new) else {
            return;
        };
        let old_template = old.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        if let Some(spec) = new.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            drop_disabled_pod_spec_fields(spec, old_template.spec.as_ref());
        }
        // Clients may not set the template generation; it counts template changes.
        let mut generation = template_generation(&old);
        let new_template = new.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        if !semantically_equal(&new_template, &old_template) {
            generation += 1;
        }
        if generation > 0 {
            set_template_generation(new, generation);
        } else if let Some(a) = &mut new.metadata.annotations {
            a.remove(TEMPLATE_GENERATION_ANNOTATION);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<DaemonSet>(obj)
            .map(|ds| validate_spec(&ds.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<DaemonSet>(new), typed::<DaemonSet>(old)) else {
            return ErrorList::new();
        };
        let spec = new.spec.clone().unwrap_or_default();
        let mut errs = validate_spec(&spec, &Path::new("spec"));
        errs.append(validate_immutable_selector(&spec.selector, &old.spec.clone().unwrap_or_default().selector));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<DaemonSet>(obj)
            .and_then(|ds| ds.spec.as_ref())
            .map(|s| warnings_for_pod_template(&s.template, &Path::new("spec").child("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<DaemonSet>(new), typed::<DaemonSet>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => self.warnings_on_create(n),
            _ => Vec::new(),
        }
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<DaemonSet>(new), typed::<DaemonSet>(old)) else {
            return ErrorList::new();
        };
        let s = new.status.clone().unwrap_or_default();
        let mut errs = nonnegative_counters(
            &[
                (i64::from(s.current_number_scheduled), "currentNumberScheduled"),
                (i64::from(s.number_misscheduled), "numberMisscheduled"),
                (i64::from(s.desired_number_scheduled), "desiredNumberScheduled"),
                (i64::from(s.number_ready), "numberReady"),
                (s.observed_generation.unwrap_or(0), "observedGeneration"),
                (i64::from(s.updated_number_scheduled.unwrap_or(0)), "updatedNumberScheduled"),
                (i64::from(s.number_available.unwrap_or(0)), "numberAvailable"),
                (i64::from(s.number_unavailable.unwrap_or(0)), "numberUnavailable"),
            ],
            &Path::new("status"),
        );
        if let Some(c) = s.collision_count {
            errs.append(validate_nonnegative_field(i64::from(c), &Path::new("status").child("collisionCount")));
        }
        errs.append(validate_collision_count(s.collision_count, old.status.as_ref().and_then(|s| s.collision_count)));
        errs
    }
}

/// `ValidateDaemonSetSpec`.
fn validate_spec(spec: &DaemonSetSpec, path: &Path) -> ErrorList {
    let selector = selector_or_nil(&spec.selector);
    let (mut errs, parsed) = validate_controller_selector(selector, "daemonset", false, &path.child("selector"));
    let template_path = path.child("template");
    // Unlike the other controllers, a DaemonSet's template must match even an empty selector.
    let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone());
    if let Some(sel) = &parsed
        && !sel.matches(&labels.clone().unwrap_or_default())
    {
        errs.push(field::invalid(
            &template_path.child("metadata").child("labels"),
            BadValue::json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
    // The label check is done above, so the shared template check is told not to repeat it.
    errs.append(validate_pod_template_spec_for_owner(&spec.template, None, "DaemonSet", &template_path));
    errs.append(validate_nonnegative_field(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &path.child("minReadySeconds"),
    ));
    errs.append(validate_update_strategy(
        &spec.update_strategy.clone().unwrap_or_default(),
        &path.child("updateStrategy"),
    ));
    if let Some(limit) = spec.revision_history_limit {
        errs.append(validate_nonnegative_field(i64::from(limit), &path.child("revisionHistoryLimit")));
    }
    errs
}

/// `ValidateDaemonSetUpdateStrategy`.
fn validate_update_strategy(strategy: &DaemonSetUpdateStrategy, path: &Path) -> ErrorList {
    match strategy.type_.as_deref().unwrap_or_default() {
        "OnDelete" => ErrorList::new(),
        "RollingUpdate" => match &strategy.rolling_update {
            None => ErrorList::from(field::required(&path.child("rollingUpdate"), "")),
            Some(r) => validate_rolling_update(r, &path.child("rollingUpdate")),
        },
        _ => ErrorList::from(field::not_supported(path, BadValue::json(strategy), &["RollingUpdate", "OnDelete"])),
    }
}

/// `ValidateRollingUpdateDaemonSet`: exactly one of surge and unavailability is non-zero.
fn validate_rolling_update(r: &RollingUpdateDaemonSet, path: &Path) -> ErrorList {
    let zero = IntOrString::Int(0);
    let unavailable = r.max_unavailable.as_ref().unwrap_or(&zero);
    let surge = r.max_surge.as_ref().unwrap_or(&zero);
    let mut errs = validate_positive_int_or_percent(unavailable, &path.child("maxUnavailable"));
    errs.append(validate_positive_int_or_percent(surge, &path.child("maxSurge")));
    errs.append(not_more_than_100_percent(unavailable, &path.child("maxUnavailable")));
    errs.append(not_more_than_100_percent(surge, &path.child("maxSurge")));
    let has_unavailable = int_or_percent_value(unavailable) != 0;
    let has_surge = int_or_percent_value(surge) != 0;
    if has_unavailable && has_surge {
        errs.push(field::invalid(
            &path.child("maxSurge"),
            int_or_string_value(surge),
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_unavailable && !has_surge {
        errs.push(field::required(&path.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
    }
    errs
}
