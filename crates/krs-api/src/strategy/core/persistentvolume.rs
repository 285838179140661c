//! The persistent volume strategy (upstream's `pkg/registry/core/persistentvolume`,
//! `SetDefaults_PersistentVolume` and `ValidatePersistentVolume*`).

pub(crate) mod sources;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeSpec, PersistentVolumeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use krs_apimachinery::validation::{ErrorList, Path, field};
use krs_kinds::Object;
use serde_json::Value;

use super::resourcequota::resources;
use super::service::checks::{self, bad_value};
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The access modes of volumes and claims, sorted as upstream lists them.
pub(crate) const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
/// The volume modes of volumes and claims.
pub(crate) const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];

/// The JSON fields of a volume's source (upstream's `PersistentVolumeSource`).
const SOURCE_FIELDS: &[&str] = &[
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];

/// Persistent volumes and claims are also selectable by the bare `name`, a historical mistake
/// upstream keeps for compatibility.
pub(crate) static NAME_FIELD_LABELS: &[FieldLabel] = &[FieldLabel::at("name", "metadata.name")];

/// The persistent volume strategy.
pub struct PersistentVolumeStrategy;

/// The persistent volume strategy.
pub static PERSISTENT_VOLUME: PersistentVolumeStrategy = PersistentVolumeStrategy;

/// The current time at the second precision of `metav1.Time`.
pub(crate) fn now() -> Time {
    let now = k8s_openapi::jiff::Timestamp::now();
    Time(k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// What changed between two JSON objects, one `-`/`+` line pair per changed field, standing in
/// for the go-cmp diff upstream appends to some messages.
pub(crate) fn json_diff(old: &Value, new: &Value) -> String {
    let empty = serde_json::Map::new();
    let (o, n) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::new();
    for k in keys {
        let (a, b) = (o.get(k), n.get(k));
        if a != b {
            if let Some(a) = a {
                out.push_str(&format!("- {k}: {a}\n"));
            }
            if let Some(b) = b {
                out.push_str(&format!("+ {k}: {b}\n"));
            }
        }
    }
    out
}

/// Access modes: known ones, and ReadWriteOncePod alone.
pub(crate) fn validate_access_modes(modes: &[String], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let (mut once_pod, mut other) = (false, false);
    for mode in modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errs.push(field::not_supported(path, mode, ACCESS_MODES));
        } else if mode == "ReadWriteOncePod" {
            once_pod = true;
        } else {
            other = true;
        }
    }
    if once_pod && other {
        errs.push(field::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

/// `ValidatePersistentVolumeSpec` for a volume object.
pub(crate) fn validate_spec(spec: &PersistentVolumeSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(field::required(&path.child("accessModes"), ""));
    }
    errs.append(validate_access_modes(modes, &path.child("accessModes")));

    let capacity = spec.capacity.clone().unwrap_or_default();
    let cap_path = path.child("capacity");
    if capacity.is_empty() {
        errs.push(field::required(&cap_path, ""));
    }
    if !capacity.contains_key("storage") || capacity.len() > 1 {
        errs.push(field::not_supported(&cap_path, bad_value(&capacity), &["storage"]));
    }
    for (name, q) in &capacity {
        let p = cap_path.key(name);
        match resources::parse(q, &p) {
            Ok(q) => {
                if q.value() < 0 {
                    errs.push(field::invalid(&p, q.value(), "must be a valid resource quantity"));
                }
                errs.append(resources::validate_positive(&q, &p));
            }
            Err(e) => errs.append(e),
        }
    }

    if let Some(policy) = spec.persistent_volume_reclaim_policy.as_deref().filter(|p| !p.is_empty())
        && !RECLAIM_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(&path.child("persistentVolumeReclaimPolicy"), policy, RECLAIM_POLICIES));
    }

    let mut node_affinity_set = false;
    if let Some(affinity) = &spec.node_affinity {
        node_affinity_set = true;
        let ap = path.child("nodeAffinity");
        match &affinity.required {
            Some(required) => errs.append(sources::validate_node_selector(required, false, &ap.child("required"))),
            None => errs.push(field::required(&ap.child("required"), "must specify required node constraints")),
        }
    }
    errs.append(sources::validate_sources(spec, path, node_affinity_set));

    if let Some(hp) = &spec.host_path
        && clean_path(&hp.path) == "/"
        && spec.persistent_volume_reclaim_policy.as_deref() == Some("Recycle")
    {
        errs.push(field::forbidden(
            &path.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        errs.append(checks::dns1123_subdomain(class, &path.child("storageClassName")));
    }
    if let Some(mode) = spec.volume_mode.as_deref()
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(field::not_supported(&path.child("volumeMode"), mode, VOLUME_MODES));
    }
    if let Some(class) = spec.volume_attributes_class_name.as_deref() {
        let p = path.child("volumeAttributesClassName");
        if class.is_empty() {
            errs.push(field::required(&p, "an empty string is disallowed"));
        } else {
            errs.append(checks::dns1123_subdomain(class, &p));
        }
        if spec.csi.is_none() {
            errs.push(field::required(&path.child("csi"), "has to be specified when using volumeAttributesClassName"));
        }
    }
    errs
}

/// Go's `path.Clean` for the one question asked here: is it the root?
fn clean_path(p: &str) -> String {
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    if p.starts_with('/') && parts.iter().all(|s| *s == "..") { "/".to_owned() } else { parts.join("/") }
}

fn source_of(spec: &PersistentVolumeSpec) -> Value {
    let mut v = serde_json::to_value(spec).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.retain(|k, _| SOURCE_FIELDS.contains(&k.as_str()));
    }
    v
}

fn validate_update(new: &PersistentVolume, old: &PersistentVolume) -> ErrorList {
    let empty = PersistentVolumeSpec::default();
    let new_spec = new.spec.as_ref().unwrap_or(&empty);
    let old_spec = old.spec.as_ref().unwrap_or(&empty);
    let mut errs = validate_spec(new_spec, &Path::new("spec"));

    // A controller expand secret may be added to a CSI volume that had none.
    let mut compared = new_spec.clone();
    if let (Some(old_csi), Some(new_csi)) = (&old_spec.csi, compared.csi.as_mut())
        && old_csi.controller_expand_secret_ref.is_none()
    {
        new_csi.controller_expand_secret_ref = None;
    }
    let (old_source, new_source) = (source_of(old_spec), source_of(&compared));
    if old_source != new_source {
        errs.push(field::forbidden(
            &Path::new("spec").child("persistentvolumesource"),
            format!("spec.persistentvolumesource is immutable after creation\n{}", json_diff(&old_source, &new_source)),
        ));
    }
    // Upstream reports this one without the `spec.` prefix.
    errs.append(checks::immutable(&new_spec.volume_mode, &old_spec.volume_mode, &Path::new("volumeMode")));
    if old_spec.node_affinity.is_some() && new_spec.node_affinity != old_spec.node_affinity {
        errs.push(field::invalid(
            &Path::new("nodeAffinity"),
            bad_value(&new_spec.node_affinity),
            "field is immutable, except for updating from beta label to GA",
        ));
    }
    if old_spec.volume_attributes_class_name.is_some() && new_spec.volume_attributes_class_name.is_none() {
        errs.push(field::forbidden(
            &Path::new("spec").child("volumeAttributesClassName"),
            "update from non-nil value to nil is forbidden",
        ));
    }
    errs
}

impl Strategy for PersistentVolumeStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(pv) = typed_mut::<PersistentVolume>(obj) else {
            return;
        };
        let status = pv.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().unwrap_or_default().is_empty() {
            status.phase = Some("Pending".to_owned());
        }
        let spec = pv.spec.get_or_insert_with(Default::default);
        if spec.persistent_volume_reclaim_policy.as_deref().unwrap_or_default().is_empty() {
            spec.persistent_volume_reclaim_policy = Some("Retain".to_owned());
        }
        if spec.volume_mode.is_none() {
            spec.volume_mode = Some("Filesystem".to_owned());
        }
        if let Some(hp) = spec.host_path.as_mut()
            && hp.type_.is_none()
        {
            hp.type_ = Some(String::new());
        }
        if let Some(capacity) = spec.capacity.as_mut() {
            resources::default_resource_list(capacity);
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(pv) = typed_mut::<PersistentVolume>(obj) {
            pv.status = Some(PersistentVolumeStatus {
                phase: Some("Pending".to_owned()),
                last_phase_transition_time: Some(now()),
                ..Default::default()
            });
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<PersistentVolume>(new), typed::<PersistentVolume>(old)) {
            new.status = old.status.clone();
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<PersistentVolume>(obj)
            .map(|pv| validate_spec(&pv.spec.clone().unwrap_or_default(), &Path::new("spec")))
            .unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<PersistentVolume>(new), typed::<PersistentVolume>(old)) {
            (Some(new), Some(old)) => validate_update(new, old),
            _ => ErrorList::new(),
        }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        NAME_FIELD_LABELS
    }

    fn prepare_for_status_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let (Some(new), Some(old)) = (typed_mut::<PersistentVolume>(new), typed::<PersistentVolume>(old)) else {
            return;
        };
        new.spec = old.spec.clone();
        let phase = |s: &Option<PersistentVolumeStatus>| s.as_ref().and_then(|s| s.phase.clone());
        let transition =
            |s: &Option<PersistentVolumeStatus>| s.as_ref().and_then(|s| s.last_phase_transition_time.clone());
        // A phase change records its time unless the client set a new one.
        if phase(&new.status) != phase(&old.status) && transition(&new.status) == transition(&old.status) {
            new.status.get_or_insert_with(Default::default).last_phase_transition_time = Some(now());
        }
    }
}

#[cfg(test)]
mod tests;
