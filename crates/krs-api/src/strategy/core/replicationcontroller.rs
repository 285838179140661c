//! The replicationcontroller strategy (upstream `pkg/registry/core/replicationcontroller`):
//! defaults (one replica, the selector and labels from the template), spec validation
//! (`ValidateReplicationControllerSpec`), status validation and the `status.replicas` field
//! selector. Unlike the apps controllers, the selector of a ReplicationController may change.

use k8s_openapi::api::core::v1::{ReplicationController, ReplicationControllerSpec, ReplicationControllerStatus};
use krs_apimachinery::labels::Selector;
use krs_apimachinery::validation::{ErrorList, Path, field, validate_nonnegative_field};
use krs_kinds::Object;

use super::podspec::{
    drop_disabled_pod_spec_fields, set_defaults_pod_template_spec, validate_pod_template_spec_for_owner,
    warnings_for_pod_template,
};
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The strategy of `replicationcontrollers`.
pub struct ReplicationControllerStrategy;

/// The replicationcontroller strategy instance the catalog refers to.
pub static REPLICATION_CONTROLLER: ReplicationControllerStrategy = ReplicationControllerStrategy;

static FIELD_LABELS: &[FieldLabel] = &[FieldLabel::number("status.replicas")];

impl Strategy for ReplicationControllerStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(rc) = typed_mut::<ReplicationController>(obj) else {
            return;
        };
        let spec = rc.spec.get_or_insert_with(Default::default);
        if let Some(labels) = spec.template.as_ref().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()) {
            if spec.selector.as_ref().is_none_or(|s| s.is_empty()) {
                spec.selector = Some(labels.clone());
            }
            if rc.metadata.labels.as_ref().is_none_or(|l| l.is_empty()) {
                rc.metadata.labels = Some(labels);
            }
        }
        spec.replicas.get_or_insert(1);
        if let Some(template) = &mut spec.template {
            set_defaults_pod_template_spec(template);
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(spec) = typed_mut::<ReplicationController>(obj)
            .and_then(|rc| rc.spec.as_mut())
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(spec, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let old_spec = typed::<ReplicationController>(old)
            .and_then(|rc| rc.spec.as_ref())
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.clone());
        if let Some(spec) = typed_mut::<ReplicationController>(new)
            .and_then(|rc| rc.spec.as_mut())
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.spec.as_mut())
        {
            drop_disabled_pod_spec_fields(spec, old_spec.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ReplicationController>(obj)
            .map(|rc| validate_spec(&rc.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<ReplicationController>(obj)
            .and_then(|rc| rc.spec.as_ref())
            .and_then(|s| s.template.as_ref())
            .map(|t| warnings_for_pod_template(t, &Path::new("spec").child("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<ReplicationController>(new), typed::<ReplicationController>(old)) {
            (Some(n), Some(o)) if n.metadata.generation != o.metadata.generation => self.warnings_on_create(n),
            _ => Vec::new(),
        }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        typed::<ReplicationController>(new)
            .map(|rc| validate_status(&rc.status.clone().unwrap_or_default(), &Path::new("status")))
            .unwrap_or_default()
    }
}

/// `ValidateReplicationControllerSpec`.
fn validate_spec(spec: &ReplicationControllerSpec, path: &Path) -> ErrorList {
    let mut errs =
        validate_nonnegative_field(i64::from(spec.min_ready_seconds.unwrap_or(0)), &path.child("minReadySeconds"));
    let selector = spec.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        errs.push(field::required(&path.child("selector"), ""));
    }
    errs.append(
        validate_nonnegative_field(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"))
            .with_origin("minimum"),
    );
    let template_path = path.child("template");
    match &spec.template {
        None => errs.push(field::required(&template_path, "")),
        Some(template) => {
            let matches = (!selector.is_empty()).then(|| {
                let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
                Selector::from_set(&selector).matches(&labels)
            });
            errs.append(validate_pod_template_spec_for_owner(
                template,
                matches,
                "ReplicationController",
                &template_path,
            ));
        }
    }
    errs
}

/// `ValidateReplicationControllerStatus`.
fn validate_status(status: &ReplicationControllerStatus, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let replicas = status.replicas;
    let fully = status.fully_labeled_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    for (value, name) in [
        (i64::from(replicas), "replicas"),
        (i64::from(fully), "fullyLabeledReplicas"),
        (i64::from(ready), "readyReplicas"),
        (i64::from(available), "availableReplicas"),
        (status.observed_generation.unwrap_or(0), "observedGeneration"),
    ] {
        errs.append(validate_nonnegative_field(value, &path.child(name)));
    }
    const MSG: &str = "cannot be greater than status.replicas";
    if fully > replicas {
        errs.push(field::invalid(&path.child("fullyLabeledReplicas"), fully, MSG));
    }
    if ready > replicas {
        errs.push(field::invalid(&path.child("readyReplicas"), ready, MSG));
    }
    if available > replicas {
        errs.push(field::invalid(&path.child("availableReplicas"), available, MSG));
    }
    if available > ready {
        errs.push(field::invalid(&path.child("availableReplicas"), available, "cannot be greater than readyReplicas"));
    }
    errs
}
