//! The persistent volume claim strategy (upstream's
//! `pkg/registry/core/persistentvolumeclaim` and `ValidatePersistentVolumeClaim*`).
//!
//! A claim's spec is immutable after creation, except that the volume controller binds it
//! (`volumeName`, once), bound claims may grow (`resources.requests.storage`) and change their
//! `volumeAttributesClassName`, and a nil storage class may be set once.

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, TypedLocalObjectReference,
    TypedObjectReference,
};
use krs_apimachinery::validation::{
    ErrorList, LabelSelectorValidationOptions, Path, field, label_selector_has_invalid_label_value,
    validate_label_selector, validate_namespace_name,
};
use krs_kinds::Object;

use super::persistentvolume::{NAME_FIELD_LABELS, VOLUME_MODES, json_diff, validate_access_modes};
use super::resourcequota::resources;
use super::service::checks;
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The beta annotation that named a claim's storage class before `storageClassName`.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// The persistent volume claim strategy.
pub struct PersistentVolumeClaimStrategy;

/// The persistent volume claim strategy.
pub static PERSISTENT_VOLUME_CLAIM: PersistentVolumeClaimStrategy = PersistentVolumeClaimStrategy;

fn storage_request(
    spec: &PersistentVolumeClaimSpec,
) -> Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> {
    spec.resources.as_ref()?.requests.as_ref()?.get("storage")
}

fn validate_data_source_group(group: Option<&str>, kind: &str, path: &Path, errs: &mut ErrorList) {
    let group = group.unwrap_or_default();
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        errs.push(field::invalid(path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
    }
    if !group.is_empty() {
        errs.append(checks::dns1123_subdomain(group, &path.child("apiGroup")));
    }
}

fn validate_data_source(ds: &TypedLocalObjectReference, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if ds.name.is_empty() {
        errs.push(field::required(&path.child("name"), ""));
    }
    if ds.kind.is_empty() {
        errs.push(field::required(&path.child("kind"), ""));
    }
    validate_data_source_group(ds.api_group.as_deref(), &ds.kind, path, &mut errs);
    errs
}

fn validate_data_source_ref(ds: &TypedObjectReference, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if ds.name.is_empty() {
        errs.push(field::required(&path.child("name"), ""));
    }
    if ds.kind.is_empty() {
        errs.push(field::required(&path.child("kind"), ""));
    }
    validate_data_source_group(ds.api_group.as_deref(), &ds.kind, path, &mut errs);
    if let Some(ns) = ds.namespace.as_deref().filter(|n| !n.is_empty()) {
        errs.append(checks::name(validate_namespace_name, ns, &path.child("namespace")));
    }
    errs
}

/// `ValidatePersistentVolumeClaimSpec`.
pub(crate) fn validate_spec(spec: &PersistentVolumeClaimSpec, allow_invalid_selector: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(field::required(&path.child("accessModes"), "at least 1 access mode is required"));
    }
    if spec.selector.is_some() {
        let opts = LabelSelectorValidationOptions {
            allow_invalid_label_value_in_selector: allow_invalid_selector,
            ..Default::default()
        };
        errs.append(validate_label_selector(spec.selector.as_ref(), opts, &path.child("selector")));
    }
    errs.append(validate_access_modes(modes, &path.child("accessModes")));

    let storage_path = path.child("resources").key("storage");
    match storage_request(spec) {
        None => errs.push(field::required(&storage_path, "")),
        Some(q) => match resources::parse(q, &storage_path) {
            Ok(q) => {
                let positive = resources::validate_positive(&q, &storage_path);
                if positive.is_empty() {
                    errs.append(resources::validate_quantity_value("storage", &q, &storage_path));
                } else {
                    errs.append(positive);
                }
            }
            Err(e) => errs.append(e),
        },
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        errs.append(checks::dns1123_subdomain(class, &path.child("storageClassName")));
    }
    if let Some(mode) = spec.volume_mode.as_deref()
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(field::not_supported(&path.child("volumeMode"), mode, VOLUME_MODES));
    }
    if let Some(ds) = &spec.data_source {
        errs.append(validate_data_source(ds, &path.child("dataSource")));
    }
    if let Some(ds) = &spec.data_source_ref {
        errs.append(validate_data_source_ref(ds, &path.child("dataSourceRef")));
    }
    let cross_namespace =
        spec.data_source_ref.as_ref().and_then(|r| r.namespace.as_deref()).is_some_and(|n| !n.is_empty());
    if cross_namespace {
        if spec.data_source.is_some() {
            errs.push(field::invalid(
                path,
                path.child("dataSource").to_string(),
                "may not be specified when dataSourceRef.namespace is specified",
            ));
        }
    } else if let (Some(ds), Some(r)) = (&spec.data_source, &spec.data_source_ref)
        && (ds.api_group != r.api_group || ds.kind != r.kind || ds.name != r.name)
    {
        errs.push(field::invalid(path, path.child("dataSource").to_string(), "must match dataSourceRef"));
    }
    if let Some(class) = spec.volume_attributes_class_name.as_deref().filter(|c| !c.is_empty()) {
        errs.append(checks::dns1123_subdomain(class, &path.child("volumeAttributesClassName")));
    }
    errs
}

fn annotation<'a>(pvc: &'a PersistentVolumeClaim, key: &str) -> Option<&'a str> {
    pvc.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

fn is_bound(pvc: &PersistentVolumeClaim) -> bool {
    pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
}

fn validate_update(new: &PersistentVolumeClaim, old: &PersistentVolumeClaim) -> ErrorList {
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    // Claims created with an invalid selector may keep it.
    let allow_invalid = label_selector_has_invalid_label_value(old_spec.selector.as_ref());
    let mut errs = validate_spec(&new_spec, allow_invalid, &Path::new("spec"));

    let (mut new_c, mut old_c) = (new_spec.clone(), old_spec.clone());
    // The volume controller binds a claim by setting volumeName, once.
    if old_c.volume_name.as_deref().unwrap_or_default().is_empty() {
        old_c.volume_name = new_c.volume_name.clone();
    }
    let old_annotation = annotation(old, BETA_STORAGE_CLASS_ANNOTATION);
    let new_annotation = annotation(new, BETA_STORAGE_CLASS_ANNOTATION);
    // Upgrading from the beta annotation to the field, keeping the same class.
    let from_annotation = old_annotation.is_some()
        && old_c.storage_class_name.is_none()
        && new_c.storage_class_name.as_deref().is_some_and(|c| Some(c) == old_annotation)
        && (new_annotation.is_none() || new_annotation == old_annotation);
    if from_annotation {
        new_c.storage_class_name = None;
    } else {
        errs.append(checks::immutable(
            new_annotation.unwrap_or_default(),
            old_annotation.unwrap_or_default(),
            &Path::new("metadata").child("annotations").child(BETA_STORAGE_CLASS_ANNOTATION),
        ));
        // A class may be set once on a claim that had none.
        let from_nil = new_spec.storage_class_name.is_some()
            && old_spec.storage_class_name.is_none()
            && (old_annotation.is_none() || new_spec.storage_class_name.as_deref() == old_annotation);
        if from_nil {
            new_c.storage_class_name = old_c.storage_class_name.clone();
        }
    }
    if is_bound(new) {
        // Bound claims may be resized and change their attributes class.
        if let Some(requests) = new_c.resources.as_mut().and_then(|r| r.requests.as_mut()) {
            match storage_request(&old_spec) {
                Some(q) => {
                    requests.insert("storage".to_owned(), q.clone());
                }
                None => {
                    requests.remove("storage");
                }
            }
        }
        if new_c.volume_attributes_class_name.is_some() {
            new_c.volume_attributes_class_name = old_c.volume_attributes_class_name.clone();
        }
    }
    let (old_v, new_v) =
        (serde_json::to_value(&old_c).unwrap_or_default(), serde_json::to_value(&new_c).unwrap_or_default());
    if old_v != new_v {
        errs.push(field::forbidden(
            &Path::new("spec"),
            format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                json_diff(&old_v, &new_v)
            ),
        ));
    }

    let parse = |q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>| {
        q.and_then(|q| krs_apimachinery::quantity::Quantity::try_from(q).ok()).unwrap_or_default()
    };
    let (old_size, new_size) = (parse(storage_request(&old_spec)), parse(storage_request(&new_spec)));
    if new_size < old_size {
        // Recovery from a failed expansion may shrink the request down to above the capacity.
        let capacity = parse(old.status.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")));
        let path = Path::new("spec").child("resources").child("requests").child("storage");
        if new_size <= capacity {
            errs.push(field::forbidden(&path, "field can not be less than status.capacity"));
        }
    }
    errs.append(checks::immutable(&new_spec.volume_mode, &old_spec.volume_mode, &Path::new("volumeMode")));
    if old_spec.volume_attributes_class_name.is_some() {
        let path = Path::new("spec").child("volumeAttributesClassName");
        match new_spec.volume_attributes_class_name.as_deref() {
            None => errs.push(field::forbidden(&path, "update from non-nil value to nil is forbidden")),
            Some("") => errs.push(field::forbidden(&path, "update from non-nil value to an empty string is forbidden")),
            Some(_) => {}
        }
    }
    errs
}

/// `ValidatePersistentVolumeClaimStatusUpdate`: capacities are valid quantities.
fn validate_status(pvc: &PersistentVolumeClaim) -> ErrorList {
    let mut errs = ErrorList::new();
    if pvc.spec.as_ref().and_then(|s| s.access_modes.as_ref()).is_none_or(|m| m.is_empty()) {
        // Upstream's path has a capital S here.
        errs.push(field::required(&Path::new("Spec").child("accessModes"), ""));
    }
    let status = pvc.status.as_ref();
    let cap_path = Path::new("status").child("capacity");
    for (name, q) in status.and_then(|s| s.capacity.as_ref()).into_iter().flatten() {
        if let Ok(q) = resources::parse(q, &cap_path.key(name))
            && q.value() < 0
        {
            errs.push(field::invalid(&cap_path.key(name), q.value(), "must be a valid resource quantity"));
        }
    }
    let alloc_path = Path::new("status").child("allocatedResources");
    for (name, q) in status.and_then(|s| s.allocated_resources.as_ref()).into_iter().flatten() {
        match resources::parse(q, &alloc_path.key(name)) {
            Ok(q) if q.value() < 0 => {
                errs.push(field::invalid(&alloc_path.key(name), q.value(), "must be a valid resource quantity"))
            }
            Ok(q) => errs.append(resources::validate_quantity_value("storage", &q, &alloc_path.key(name))),
            Err(e) => errs.append(e),
        }
    }
    errs
}

impl Strategy for PersistentVolumeClaimStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(pvc) = typed_mut::<PersistentVolumeClaim>(obj) else {
            return;
        };
        let status = pvc.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().unwrap_or_default().is_empty() {
            status.phase = Some("Pending".to_owned());
        }
        let spec = pvc.spec.get_or_insert_with(Default::default);
        if spec.volume_mode.is_none() {
            spec.volume_mode = Some("Filesystem".to_owned());
        }
        if let Some(res) = spec.resources.as_mut() {
            for list in [res.requests.as_mut(), res.limits.as_mut()].into_iter().flatten() {
                resources::default_resource_list(list);
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(pvc) = typed_mut::<PersistentVolumeClaim>(obj) {
            pvc.status = Some(PersistentVolumeClaimStatus { phase: Some("Pending".to_owned()), ..Default::default() });
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<PersistentVolumeClaim>(new), typed::<PersistentVolumeClaim>(old)) {
            new.status = old.status.clone();
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<PersistentVolumeClaim>(obj)
            .map(|pvc| validate_spec(&pvc.spec.clone().unwrap_or_default(), false, &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<PersistentVolumeClaim>(new), typed::<PersistentVolumeClaim>(old)) {
            (Some(new), Some(old)) => validate_update(new, old),
            _ => ErrorList::new(),
        }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        NAME_FIELD_LABELS
    }

    fn prepare_for_status_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<PersistentVolumeClaim>(new), typed::<PersistentVolumeClaim>(old)) {
            new.spec = old.spec.clone();
        }
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        typed::<PersistentVolumeClaim>(new).map(validate_status).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::VolumeResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn pvc(storage: Option<&str>) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: storage.map(|s| VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(s.into()))])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn created(storage: Option<&str>) -> PersistentVolumeClaim {
        let mut c = pvc(storage);
        PERSISTENT_VOLUME_CLAIM.default(&mut c);
        PERSISTENT_VOLUME_CLAIM.prepare_for_create(&mut c);
        c
    }

    #[test]
    fn defaults_volume_mode_and_pending_phase() {
        let c = created(Some("1Gi"));
        assert_eq!(c.spec.as_ref().unwrap().volume_mode.as_deref(), Some("Filesystem"));
        assert_eq!(c.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
        assert!(PERSISTENT_VOLUME_CLAIM.validate(&c).is_empty(), "{}", PERSISTENT_VOLUME_CLAIM.validate(&c));
    }

    #[test]
    fn access_modes_and_storage_are_required() {
        let mut c = created(None);
        c.spec.as_mut().unwrap().access_modes = None;
        assert_eq!(
            PERSISTENT_VOLUME_CLAIM.validate(&c).to_string(),
            "[spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]"
        );
        let c = created(Some("0"));
        assert_eq!(
            PERSISTENT_VOLUME_CLAIM.validate(&c).to_string(),
            r#"spec.resources[storage]: Invalid value: "0": must be greater than zero"#
        );
    }

    #[test]
    fn spec_is_immutable_but_bound_claims_may_grow() {
        let old = created(Some("1Gi"));
        let mut new = old.clone();
        new.spec.as_mut().unwrap().access_modes = Some(vec!["ReadWriteMany".into()]);
        assert!(
            PERSISTENT_VOLUME_CLAIM
                .validate_update(&new, &old)
                .to_string()
                .starts_with("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n")
        );

        let mut bound = old.clone();
        bound.status.as_mut().unwrap().phase = Some("Bound".into());
        let mut grown = bound.clone();
        grown.spec = pvc(Some("2Gi")).spec;
        PERSISTENT_VOLUME_CLAIM.default(&mut grown);
        assert!(
            PERSISTENT_VOLUME_CLAIM.validate_update(&grown, &bound).is_empty(),
            "{}",
            PERSISTENT_VOLUME_CLAIM.validate_update(&grown, &bound)
        );

        // Unbound claims may not be resized.
        let mut pending_grown = old.clone();
        pending_grown.spec = grown.spec.clone();
        assert!(!PERSISTENT_VOLUME_CLAIM.validate_update(&pending_grown, &old).is_empty());
    }

    #[test]
    fn volume_name_may_be_set_once() {
        let old = created(Some("1Gi"));
        let mut new = old.clone();
        new.spec.as_mut().unwrap().volume_name = Some("pv-1".into());
        assert!(PERSISTENT_VOLUME_CLAIM.validate_update(&new, &old).is_empty());
        let mut renamed = new.clone();
        renamed.spec.as_mut().unwrap().volume_name = Some("pv-2".into());
        assert!(!PERSISTENT_VOLUME_CLAIM.validate_update(&renamed, &new).is_empty());
    }
}
