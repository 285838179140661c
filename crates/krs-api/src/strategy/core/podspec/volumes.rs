//! Volumes of a pod and the mounts and devices that use them (upstream `ValidateVolumes`,
//! `ValidateVolumeMounts`, `ValidateVolumeDevices`), and the path rules they share.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field};

use super::security::validate_mount_propagation;
use super::volume_sources::validate_volume_source;
use super::{dns1123_label, s};

/// What a valid volume provides to mounts: whether it is a claim (block devices need one) and
/// whether it is an image volume (no sub-paths).
#[derive(Clone, Copy, Debug)]
pub(crate) struct VolumeKind {
    pub is_claim: bool,
    pub is_image: bool,
}

/// The pod's volumes (`ValidateVolumes`); returns the valid ones by name for the mount checks.
pub(crate) fn validate_volumes(
    volumes: &[Volume],
    pod_meta: Option<&ObjectMeta>,
    resource_is_pod: bool,
    path: &Path,
) -> (BTreeMap<String, VolumeKind>, ErrorList) {
    let mut errs = ErrorList::new();
    let mut valid = BTreeMap::new();
    let mut names = BTreeSet::new();
    let pod_name = pod_meta.and_then(|m| m.name.as_deref()).filter(|n| !n.is_empty());
    let created_claims: BTreeSet<String> = match pod_name {
        Some(pod) => volumes.iter().filter(|v| v.ephemeral.is_some()).map(|v| format!("{pod}-{}", v.name)).collect(),
        None => BTreeSet::new(),
    };
    for (i, vol) in volumes.iter().enumerate() {
        let idx_path = path.index(i);
        let name_path = idx_path.child("name");
        let mut el = validate_volume_source(vol, &idx_path, pod_name, resource_is_pod);
        if vol.name.is_empty() {
            el.push(field::required(&name_path, ""));
        } else {
            el.append(dns1123_label(&vol.name, &name_path));
        }
        if names.contains(&vol.name) {
            el.push(field::duplicate(&name_path, vol.name.as_str()));
        }
        if el.is_empty() {
            names.insert(vol.name.clone());
            valid.insert(
                vol.name.clone(),
                VolumeKind {
                    is_claim: vol.persistent_volume_claim.is_some() || vol.ephemeral.is_some(),
                    is_image: vol.image.is_some(),
                },
            );
        } else {
            errs.append(el);
        }
        if let Some(claim) = &vol.persistent_volume_claim
            && created_claims.contains(&claim.claim_name)
        {
            errs.push(field::invalid(
                &idx_path.child("persistentVolumeClaim").child("claimName"),
                claim.claim_name.as_str(),
                "must not reference a PVC that gets created for an ephemeral volume",
            ));
        }
    }
    (valid, errs)
}

/// A container's volume mounts (`ValidateVolumeMounts`).
pub(crate) fn validate_volume_mounts(
    container: &Container,
    volumes: &BTreeMap<String, VolumeKind>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let devices: BTreeMap<&str, &str> =
        container.volume_devices.iter().flatten().map(|d| (d.name.as_str(), d.device_path.as_str())).collect();
    let privileged = container.security_context.as_ref().and_then(|sc| sc.privileged).unwrap_or(false);
    let mut mount_points = BTreeSet::new();
    for (i, mnt) in container.volume_mounts.iter().flatten().enumerate() {
        let idx_path = path.index(i);
        if mnt.name.is_empty() {
            errs.push(field::required(&idx_path.child("name"), ""));
        }
        if !volumes.contains_key(&mnt.name) {
            errs.push(field::not_found(&idx_path.child("name"), mnt.name.as_str()));
        }
        if mnt.mount_path.is_empty() {
            errs.push(field::required(&idx_path.child("mountPath"), ""));
        }
        if !mount_points.insert(mnt.mount_path.as_str()) {
            errs.push(field::invalid(&idx_path.child("mountPath"), mnt.mount_path.as_str(), "must be unique"));
        }
        if devices.contains_key(mnt.name.as_str()) {
            errs.push(field::invalid(
                &idx_path.child("name"),
                mnt.name.as_str(),
                "must not already exist in volumeDevices",
            ));
        }
        if devices.values().any(|p| *p == mnt.mount_path) {
            errs.push(field::invalid(
                &idx_path.child("mountPath"),
                mnt.mount_path.as_str(),
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub_path = s(&mnt.sub_path);
        let sub_path_expr = s(&mnt.sub_path_expr);
        if volumes.get(&mnt.name).is_some_and(|v| v.is_image) {
            if !sub_path.is_empty() {
                errs.push(field::invalid(&idx_path.child("subPath"), sub_path, "not allowed in image volume sources"));
            }
            if !sub_path_expr.is_empty() {
                errs.push(field::invalid(
                    &idx_path.child("subPathExpr"),
                    sub_path_expr,
                    "not allowed in image volume sources",
                ));
            }
        }
        // Upstream reports sub-path problems against the list, not the entry.
        if !sub_path.is_empty() {
            errs.append(validate_local_descending_path(sub_path, &path.child("subPath")));
        }
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(field::invalid(
                    &idx_path.child("subPathExpr"),
                    sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.append(validate_local_descending_path(sub_path_expr, &path.child("subPathExpr")));
        }
        if let Some(propagation) = &mnt.mount_propagation {
            errs.append(validate_mount_propagation(propagation, privileged, &path.child("mountPropagation")));
        }
        if let Some(rro) = &mnt.recursive_read_only {
            let rro_path = path.child("recursiveReadOnly");
            match rro.as_str() {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if mnt.read_only != Some(true) {
                        errs.push(field::forbidden(&rro_path, "may only be specified when readOnly is true"));
                    }
                    if mnt.mount_propagation.as_deref().is_some_and(|p| p != "None") {
                        errs.push(field::forbidden(
                            &rro_path,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(field::not_supported(&rro_path, other, &["Disabled", "Enabled", "IfPossible"])),
            }
        }
    }
    errs
}

/// A container's block devices (`ValidateVolumeDevices`).
pub(crate) fn validate_volume_devices(
    container: &Container,
    volumes: &BTreeMap<String, VolumeKind>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mounts: BTreeMap<&str, &str> =
        container.volume_mounts.iter().flatten().map(|m| (m.name.as_str(), m.mount_path.as_str())).collect();
    let mut device_paths = BTreeSet::new();
    let mut device_names = BTreeSet::new();
    for (i, dev) in container.volume_devices.iter().flatten().enumerate() {
        let idx_path = path.index(i);
        let name = dev.name.as_str();
        let dev_path = dev.device_path.as_str();
        if name.is_empty() {
            errs.push(field::required(&idx_path.child("name"), ""));
        }
        if device_names.contains(name) {
            errs.push(field::invalid(&idx_path.child("name"), name, "must be unique"));
        }
        match volumes.get(name) {
            Some(v) if !v.is_claim => errs.push(field::invalid(
                &idx_path.child("name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            Some(_) => {}
            None => errs.push(field::not_found(&idx_path.child("name"), name)),
        }
        if dev_path.is_empty() {
            errs.push(field::required(&idx_path.child("devicePath"), ""));
        }
        if device_paths.contains(dev_path) {
            errs.push(field::invalid(&idx_path.child("devicePath"), dev_path, "must be unique"));
        }
        if !dev_path.is_empty() && has_backsteps(dev_path) {
            errs.push(field::invalid(&idx_path.child("devicePath"), dev_path, "can not contain backsteps ('..')"));
        } else {
            device_paths.insert(dev_path);
        }
        if mounts.contains_key(name) {
            errs.push(field::invalid(&idx_path.child("name"), name, "must not already exist in volumeMounts"));
        }
        if mounts.values().any(|p| *p == dev_path) {
            errs.push(field::invalid(
                &idx_path.child("devicePath"),
                dev_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            device_names.insert(name);
        }
    }
    errs
}

fn has_backsteps(target: &str) -> bool {
    target.split('/').any(|part| part == "..")
}

/// No `..` element in a path (`validatePathNoBacksteps`).
pub(crate) fn validate_path_no_backsteps(target: &str, path: &Path) -> ErrorList {
    if has_backsteps(target) {
        ErrorList::from(field::invalid(path, target, "must not contain '..'"))
    } else {
        ErrorList::new()
    }
}

/// A relative path without `..` elements (`validateLocalDescendingPath`).
pub(crate) fn validate_local_descending_path(target: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if target.starts_with('/') {
        errs.push(field::invalid(path, target, "must be a relative path"));
    }
    errs.append(validate_path_no_backsteps(target, path));
    errs
}

/// A relative path that neither contains nor starts with `..` (`ValidateLocalNonReservedPath`).
pub(crate) fn validate_local_non_reserved_path(target: &str, path: &Path) -> ErrorList {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(field::invalid(path, target, "must not start with '..'"));
    }
    errs
}

/// Go's `%q` of a string, for messages that quote a value inside their text.
pub(crate) fn go_quote(value: &str) -> String {
    BadValue::String(value.to_owned()).to_string()
}
