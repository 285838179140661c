//! The replicaset strategy: one replica by default, validation (`ValidateReplicaSetSpec`), an
//! immutable selector, status validation and the `status.replicas` field selector.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field, validate_nonnegative_field};
use krs_kinds::Object;

use super::{
    nonnegative_counters, selector_matches, selector_or_nil, validate_controller_selector, validate_immutable_selector,
};
use crate::strategy::core::podspec::{
    drop_disabled_pod_spec_fields, set_defaults_pod_template_spec, validate_pod_template_spec_for_owner,
    warnings_for_pod_template,
};
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The strategy of `replicasets`.
pub struct ReplicaSetStrategy;

/// The replicaset strategy instance the catalog refers to.
pub static REPLICA_SET: ReplicaSetStrategy = ReplicaSetStrategy;

static FIELD_LABELS: &[FieldLabel] = &[FieldLabel::number("status.replicas")];

impl Strategy for ReplicaSetStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(rs) = typed_mut::<ReplicaSet>(obj) else {
            return;
        };
        let spec = rs.spec.get_or_insert_with(Default::default);
        spec.replicas.get_or_insert(1);
        if let Some(template) = &mut spec.template {
            set_defaults_pod_template_spec(template);
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(spec) = typed_mut::<ReplicaSet>(obj)
            .and_then(|rs| rs.spec.as_mut())
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let old_spec = typed::<ReplicaSet>(old)
            .and_then(|rs| rs.spec.as_ref())
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.clone());
        if let Some(spec) = typed_mut::<ReplicaSet>(new)
            .and_then(|rs| rs.spec.as_mut())
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(spec, old_spec.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ReplicaSet>(obj)
            .map(|rs| validate_spec(&rs.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<ReplicaSet>(new), typed::<ReplicaSet>(old)) else {
            return ErrorList::new();
        };
        let spec = new.spec.clone().unwrap_or_default();
        let mut errs = validate_spec(&spec, &Path::new("spec"));
        errs.append(validate_immutable_selector(&spec.selector, &old.spec.clone().unwrap_or_default().selector));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<ReplicaSet>(obj)
            .and_then(|rs| rs.spec.as_ref())
            .and_then(|s| s.template.as_ref())
            .map(|t| warnings_for_pod_template(t, &Path::new("spec").child("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<ReplicaSet>(new), typed::<ReplicaSet>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => self.warnings_on_create(n),
            _ => Vec::new(),
        }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        let Some(rs) = typed::<ReplicaSet>(new) else {
            return ErrorList::new();
        };
        let status = rs.status.clone().unwrap_or_default();
        let path = Path::new("status");
        let replicas = status.replicas;
        let fully = status.fully_labeled_replicas.unwrap_or(0);
        let ready = status.ready_replicas.unwrap_or(0);
        let available = status.available_replicas.unwrap_or(0);
        let mut errs = nonnegative_counters(
            &[
                (i64::from(replicas), "replicas"),
                (i64::from(fully), "fullyLabeledReplicas"),
                (i64::from(ready), "readyReplicas"),
                (i64::from(available), "availableReplicas"),
                (status.observed_generation.unwrap_or(0), "observedGeneration"),
            ],
            &path,
        );
        const MSG: &str = "cannot be greater than status.replicas";
        for (value, name) in
            [(fully, "fullyLabeledReplicas"), (ready, "readyReplicas"), (available, "availableReplicas")]
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
        errs
    }
}

/// `ValidateReplicaSetSpec`.
fn validate_spec(spec: &ReplicaSetSpec, path: &Path) -> ErrorList {
    let mut errs = validate_nonnegative_field(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"));
    errs.append(validate_nonnegative_field(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &path.child("minReadySeconds"),
    ));
    let selector = selector_or_nil(&spec.selector);
    // Upstream words the empty-selector error of ReplicaSets as it does for Deployments.
    let (selector_errs, parsed) = validate_controller_selector(selector, "deployment", true, &path.child("selector"));
    errs.append(selector_errs);
    let template_path = path.child("template");
    match (parsed, &spec.template) {
        (None, _) => {
            errs.push(field::invalid(&path.child("selector"), BadValue::json(&selector), "invalid label selector"))
        }
        (Some(_), None) => errs.push(field::required(&template_path, "")),
        (Some(sel), Some(template)) => {
            let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
            errs.append(validate_pod_template_spec_for_owner(
                template,
                selector_matches(&sel, labels),
                "ReplicaSet",
                &template_path,
            ));
        }
    }
    errs
}
