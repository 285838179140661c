//! The statefulset strategy: defaults (one replica, ordered pod management, rolling updates
//! from partition 0, ten revisions kept, claims retained), validation (`ValidateStatefulSetSpec`;
//! like upstream, the pod template's spec itself is not validated), the spec fields an update
//! may change, and DNS-label names (they become pod hostnames).

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use krs_apimachinery::validation::{
    BadValue, ErrorList, Path, field, name_is_dns_label, validate_annotations, validate_labels,
    validate_nonnegative_field,
};
use krs_kinds::Object;

use super::{
    int_or_percent_value, int_or_string_value, not_more_than_100_percent, selector_matches, selector_or_nil,
    validate_collision_count, validate_controller_selector, validate_positive_int_or_percent,
};
use crate::strategy::core::podspec::semantic::semantically_equal;
use crate::strategy::core::podspec::{
    drop_disabled_pod_spec_fields, round_up_resource_list, set_defaults_pod_template_spec,
    validate_pod_spec_annotations, warnings_for_pod_template,
};
use crate::strategy::{NameValidator, Strategy, typed, typed_mut};

/// The strategy of `statefulsets`.
pub struct StatefulSetStrategy;

/// The statefulset strategy instance the catalog refers to.
pub static STATEFUL_SET: StatefulSetStrategy = StatefulSetStrategy;

impl Strategy for StatefulSetStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(sts) = typed_mut::<StatefulSet>(obj) else {
            return;
        };
        let spec = sts.spec.get_or_insert_with(Default::default);
        if spec.pod_management_policy.as_deref().unwrap_or_default().is_empty() {
            spec.pod_management_policy = Some("OrderedReady".to_owned());
        }
        let strategy = spec.update_strategy.get_or_insert_with(Default::default);
        if strategy.type_.as_deref().unwrap_or_default().is_empty() {
            strategy.type_ = Some("RollingUpdate".to_owned());
            strategy.rolling_update.get_or_insert_with(Default::default);
        }
        if strategy.type_.as_deref() == Some("RollingUpdate")
            && let Some(rolling) = &mut strategy.rolling_update
        {
            rolling.partition.get_or_insert(0);
        }
        let retention = spec.persistent_volume_claim_retention_policy.get_or_insert_with(Default::default);
        for policy in [&mut retention.when_deleted, &mut retention.when_scaled] {
            if policy.as_deref().unwrap_or_default().is_empty() {
                *policy = Some("Retain".to_owned());
            }
        }
        spec.replicas.get_or_insert(1);
        spec.revision_history_limit.get_or_insert(10);
        set_defaults_pod_template_spec(&mut spec.template);
        for claim in spec.volume_claim_templates.iter_mut().flatten() {
            let claim_spec = claim.spec.get_or_insert_with(Default::default);
            if claim_spec.volume_mode.as_deref().unwrap_or_default().is_empty() {
                claim_spec.volume_mode = Some("Filesystem".to_owned());
            }
            if let Some(resources) = &mut claim_spec.resources {
                for list in [&mut resources.limits, &mut resources.requests].into_iter().flatten() {
                    round_up_resource_list(list);
                }
            }
            let status = claim.status.get_or_insert_with(Default::default);
            if status.phase.as_deref().unwrap_or_default().is_empty() {
                status.phase = Some("Pending".to_owned());
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(spec) = typed_mut::<StatefulSet>(obj).and_then(|s| s.spec.as_mut()) else {
            return;
        };
        // maxUnavailable belongs to the MaxUnavailableStatefulSet feature, alpha in 1.34.
        if let Some(rolling) = spec.update_strategy.as_mut().and_then(|u| u.rolling_update.as_mut()) {
            rolling.max_unavailable = None;
        }
        if let Some(pod_spec) = &mut spec.template.spec {
            drop_disabled_pod_spec_fields(pod_spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old_spec) = typed::<StatefulSet>(old).and_then(|s| s.spec.clone()) else {
            return;
        };
        let Some(spec) = typed_mut::<StatefulSet>(new).and_then(|s| s.spec.as_mut()) else {
            return;
        };
        let old_had_max_unavailable = old_spec
            .update_strategy
            .as_ref()
            .and_then(|u| u.rolling_update.as_ref())
            .is_some_and(|r| r.max_unavailable.is_some());
        if !old_had_max_unavailable
            && let Some(rolling) = spec.update_strategy.as_mut().and_then(|u| u.rolling_update.as_mut())
        {
            rolling.max_unavailable = None;
        }
        if let Some(pod_spec) = &mut spec.template.spec {
            drop_disabled_pod_spec_fields(pod_spec, old_spec.template.spec.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<StatefulSet>(obj)
            .map(|s| validate_spec(&s.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<StatefulSet>(new), typed::<StatefulSet>(old)) else {
            return ErrorList::new();
        };
        let spec = new.spec.clone().unwrap_or_default();
        let old_spec = old.spec.clone().unwrap_or_default();
        let mut errs = validate_spec(&spec, &Path::new("spec"));
        let mut unchanged = spec;
        unchanged.replicas = old_spec.replicas;
        unchanged.template = old_spec.template.clone();
        unchanged.update_strategy = old_spec.update_strategy.clone();
        unchanged.min_ready_seconds = old_spec.min_ready_seconds;
        unchanged.ordinals = old_spec.ordinals.clone();
        unchanged.revision_history_limit = old_spec.revision_history_limit;
        unchanged.persistent_volume_claim_retention_policy = old_spec.persistent_volume_claim_retention_policy.clone();
        if !semantically_equal(&unchanged, &old_spec) {
            errs.push(field::forbidden(
                &Path::new("spec"),
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<StatefulSet>(obj)
            .and_then(|s| s.spec.as_ref())
            .map(|s| warnings_for_pod_template(&s.template, &Path::new("spec").child("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<StatefulSet>(new), typed::<StatefulSet>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => self.warnings_on_create(n),
            _ => Vec::new(),
        }
    }

    fn name_validator(&self) -> NameValidator {
        name_is_dns_label
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<StatefulSet>(new), typed::<StatefulSet>(old)) else {
            return ErrorList::new();
        };
        let status = new.status.clone().unwrap_or_default();
        let path = Path::new("status");
        let replicas = status.replicas;
        let ready = status.ready_replicas.unwrap_or(0);
        let current = status.current_replicas.unwrap_or(0);
        let updated = status.updated_replicas.unwrap_or(0);
        let available = status.available_replicas.unwrap_or(0);
        let mut errs = super::nonnegative_counters(
            &[
                (i64::from(replicas), "replicas"),
                (i64::from(ready), "readyReplicas"),
                (i64::from(current), "currentReplicas"),
                (i64::from(updated), "updatedReplicas"),
                (i64::from(available), "availableReplicas"),
            ],
            &path,
        );
        if let Some(g) = status.observed_generation {
            errs.append(validate_nonnegative_field(g, &path.child("observedGeneration")));
        }
        if let Some(c) = status.collision_count {
            errs.append(validate_nonnegative_field(i64::from(c), &path.child("collisionCount")));
        }
        const MSG: &str = "cannot be greater than status.replicas";
        for (value, name) in [
            (ready, "readyReplicas"),
            (current, "currentReplicas"),
            (updated, "updatedReplicas"),
            (available, "availableReplicas"),
        ] {
            if value > replicas {
                errs.push(field::invalid(&path.child(name), value, MSG));
            }
        }
        if available > ready {
            errs.push(field::invalid(
                &path.child("availableReplicas"),
                available,
                "cannot be greater than status.readyReplicas",
            ));
        }
        errs.append(validate_collision_count(
            status.collision_count,
            old.status.as_ref().and_then(|s| s.collision_count),
        ));
        errs
    }
}

/// `ValidateStatefulSetSpec`.
fn validate_spec(spec: &StatefulSetSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    match spec.pod_management_policy.as_deref().unwrap_or_default() {
        "" => errs.push(field::required(&path.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => {
            errs.push(field::invalid(&path.child("podManagementPolicy"), other, "must be 'OrderedReady' or 'Parallel'"))
        }
    }
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    let strategy_path = path.child("updateStrategy");
    match strategy.type_.as_deref().unwrap_or_default() {
        "" => errs.push(field::required(&strategy_path, "")),
        "OnDelete" => {
            if let Some(rolling) = &strategy.rolling_update {
                errs.push(field::invalid(
                    &strategy_path.child("rollingUpdate"),
                    BadValue::json(rolling),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling) = &strategy.rolling_update {
                let p = strategy_path.child("rollingUpdate");
                errs.append(validate_nonnegative_field(
                    i64::from(rolling.partition.unwrap_or(0)),
                    &p.child("partition"),
                ));
                if let Some(max) = &rolling.max_unavailable {
                    let mp = p.child("maxUnavailable");
                    errs.append(validate_positive_int_or_percent(max, &mp));
                    if int_or_percent_value(max) == 0 {
                        errs.push(field::invalid(&mp, int_or_string_value(max), "cannot be 0"));
                    }
                    errs.append(not_more_than_100_percent(max, &mp));
                }
            }
        }
        _ => errs.push(field::invalid(
            &strategy_path,
            BadValue::json(&strategy),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let p = path.child("persistentVolumeClaimRetentionPolicy");
        for (value, name) in [(&policy.when_deleted, "whenDeleted"), (&policy.when_scaled, "whenScaled")] {
            let value = value.as_deref().unwrap_or_default();
            if !matches!(value, "Retain" | "Delete") {
                errs.push(field::not_supported(&p.child(name), value, &["Retain", "Delete"]));
            }
        }
    }
    errs.append(validate_nonnegative_field(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas")));
    errs.append(validate_nonnegative_field(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &path.child("minReadySeconds"),
    ));
    if let Some(ordinals) = &spec.ordinals {
        errs.append(validate_nonnegative_field(i64::from(ordinals.start.unwrap_or(0)), &path.child("ordinals.start")));
    }
    let selector = selector_or_nil(&spec.selector);
    let (selector_errs, parsed) = validate_controller_selector(selector, "statefulset", true, &path.child("selector"));
    errs.append(selector_errs);
    let template_path = path.child("template");
    let template = &spec.template;
    let meta = template.metadata.clone().unwrap_or_default();
    match parsed {
        None => errs.push(field::invalid(&path.child("selector"), BadValue::json(&selector), "")),
        Some(sel) => {
            if selector_matches(&sel, meta.labels.as_ref()) == Some(false) {
                errs.push(field::invalid(
                    &template_path.child("metadata").child("labels"),
                    BadValue::json(&meta.labels),
                    "`selector` does not match template `labels`",
                ));
            }
            if let Some(labels) = &meta.labels {
                errs.append(validate_labels(labels, &template_path.child("labels")));
            }
            if let Some(annotations) = &meta.annotations {
                errs.append(validate_annotations(annotations, &template_path.child("annotations")));
                errs.append(validate_pod_spec_annotations(
                    annotations,
                    &template.spec.clone().unwrap_or_default(),
                    &template_path.child("annotations"),
                ));
            }
        }
    }
    let pod_spec = template.spec.clone().unwrap_or_default();
    let restart = pod_spec.restart_policy.unwrap_or_default();
    if restart != "Always" {
        errs.push(field::not_supported(
            &template_path.child("spec").child("restartPolicy"),
            restart.as_str(),
            &["Always"],
        ));
    }
    if pod_spec.active_deadline_seconds.is_some() {
        errs.push(field::forbidden(
            &template_path.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}
