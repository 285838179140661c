//! Files projected into volumes (key-to-path items of secrets and config maps, downward API
//! files, projected sources) and the downward API references that files and environment
//! variables use (`validateDownwardAPIVolumeFile`, `validateProjectionSources`,
//! `validateObjectFieldSelector`, `validateContainerResourceFieldSelector`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, ResourceFieldSelector, VolumeProjection,
};
use krs_apimachinery::quantity::Quantity;
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field};

use super::volumes::validate_local_non_reserved_path;
use super::{qualified_name, s};

const FILE_MODE_ERROR_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

pub(crate) fn validate_mode(mode: Option<i32>, path: &Path) -> ErrorList {
    match mode {
        Some(m) if !(0..=0o777).contains(&m) => ErrorList::from(field::invalid(path, m, FILE_MODE_ERROR_MSG)),
        _ => ErrorList::new(),
    }
}

pub(crate) fn validate_key_to_path(kp: &KeyToPath, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if kp.key.is_empty() {
        errs.push(field::required(&path.child("key"), ""));
    }
    if kp.path.is_empty() {
        errs.push(field::required(&path.child("path"), ""));
    }
    errs.append(validate_local_non_reserved_path(&kp.path, &path.child("path")));
    errs.append(validate_mode(kp.mode, &path.child("mode")));
    errs
}

/// The pod fields a downward API volume file may show.
const VOLUME_FIELD_PATHS: &[&str] =
    &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

pub(crate) fn validate_downward_api_volume_file(file: &DownwardAPIVolumeFile, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if file.path.is_empty() {
        errs.push(field::required(&path.child("path"), ""));
    }
    errs.append(validate_local_non_reserved_path(&file.path, &path.child("path")));
    if let Some(field_ref) = &file.field_ref {
        errs.append(validate_object_field_selector(field_ref, VOLUME_FIELD_PATHS, &path.child("fieldRef")));
        if file.resource_field_ref.is_some() {
            errs.push(field::invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(resource_ref) = &file.resource_field_ref {
        errs.append(validate_container_resource_field_selector(resource_ref, &path.child("resourceFieldRef"), true));
    } else {
        errs.push(field::required(path, "one of fieldRef and resourceFieldRef is required"));
    }
    errs.append(validate_mode(file.mode, &path.child("mode")));
    errs
}

pub(crate) fn validate_projection_sources(sources: &[VolumeProjection], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut all_paths = BTreeSet::new();
    for (i, source) in sources.iter().enumerate() {
        let mut num_sources = 0;
        let src_path = path.child("sources").index(i);
        if let Some(secret) = &source.secret {
            num_sources += 1;
            let p = src_path.child("secret");
            if secret.name.is_empty() {
                errs.push(field::required(&p.child("name"), ""));
            }
            for (j, kp) in secret.items.iter().flatten().enumerate() {
                errs.append(validate_key_to_path(kp, &p.child("items").index(j)));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(field::invalid(path, secret.name.as_str(), "conflicting duplicate paths"));
                }
            }
        }
        if let Some(cm) = &source.config_map {
            num_sources += 1;
            let p = src_path.child("configMap");
            if cm.name.is_empty() {
                errs.push(field::required(&p.child("name"), ""));
            }
            for (j, kp) in cm.items.iter().flatten().enumerate() {
                errs.append(validate_key_to_path(kp, &p.child("items").index(j)));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(field::invalid(path, cm.name.as_str(), "conflicting duplicate paths"));
                }
            }
        }
        if let Some(downward) = &source.downward_api {
            num_sources += 1;
            let p = src_path.child("downwardAPI");
            for file in downward.items.iter().flatten() {
                errs.append(validate_downward_api_volume_file(file, &p));
                if !file.path.is_empty() && !all_paths.insert(file.path.clone()) {
                    errs.push(field::invalid(path, file.path.as_str(), "conflicting duplicate paths"));
                }
            }
        }
        if let Some(token) = &source.service_account_token {
            num_sources += 1;
            let p = src_path.child("serviceAccountToken");
            let expiration = token.expiration_seconds.unwrap_or(0);
            if expiration < 10 * 60 {
                errs.push(field::invalid(
                    &p.child("expirationSeconds"),
                    expiration,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if expiration > 1 << 32 {
                errs.push(field::invalid(
                    &p.child("expirationSeconds"),
                    expiration,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            if token.path.is_empty() {
                errs.push(field::required(&path.child("path"), ""));
            } else {
                errs.append(validate_local_non_reserved_path(&token.path, &path.child("path")));
            }
        }
        if let Some(bundle) = &source.cluster_trust_bundle {
            num_sources += 1;
            let p = src_path.child("clusterTrustBundle");
            match (&bundle.name, &bundle.signer_name) {
                (Some(_), Some(_)) => {
                    errs.push(field::invalid(&p, BadValue::json(bundle), "only one of name and signerName may be used"))
                }
                (Some(name), None) => {
                    if name.is_empty() {
                        errs.push(field::required(&p.child("name"), "must be a valid object name"));
                    }
                    if bundle.label_selector.is_some() {
                        errs.push(field::invalid(
                            &p.child("labelSelector"),
                            BadValue::json(&bundle.label_selector),
                            "labelSelector must be unset if name is specified",
                        ));
                    }
                }
                (None, Some(signer)) => {
                    if signer.is_empty() {
                        errs.push(field::required(&p.child("signerName"), "must be a valid signer name"));
                    }
                }
                (None, None) => errs.push(field::required(&p, "either name or signerName must be specified")),
            }
            if bundle.path.is_empty() {
                errs.push(field::required(&p.child("path"), ""));
            }
            errs.append(validate_local_non_reserved_path(&bundle.path, &p.child("path")));
            if !all_paths.insert(bundle.path.clone()) {
                errs.push(field::invalid(path, bundle.path.as_str(), "conflicting duplicate paths"));
            }
        }
        if num_sources > 1 {
            errs.push(field::forbidden(&src_path, "may not specify more than 1 volume type per source"));
        }
    }
    errs
}

/// A downward API reference to a pod field (`validateObjectFieldSelector`), against the
/// fields allowed where it is used.
pub(crate) fn validate_object_field_selector(fs: &ObjectFieldSelector, allowed: &[&str], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let api_version = s(&fs.api_version);
    if api_version.is_empty() {
        errs.push(field::required(&path.child("apiVersion"), ""));
        return errs;
    }
    if fs.field_path.is_empty() {
        errs.push(field::required(&path.child("fieldPath"), ""));
        return errs;
    }
    let internal = match convert_downward_api_field_label(api_version, &fs.field_path) {
        Ok(p) => p,
        Err(msg) => {
            errs.push(field::invalid(
                &path.child("fieldPath"),
                fs.field_path.as_str(),
                format!("error converting fieldPath: {msg}"),
            ));
            return errs;
        }
    };
    if let Some((base, subscript)) = split_subscripted_path(&internal) {
        match base {
            "metadata.annotations" => errs.append(qualified_name(&subscript.to_lowercase(), path)),
            "metadata.labels" => errs.append(qualified_name(subscript, path)),
            other => errs.push(field::invalid(path, other, "does not support subscript")),
        }
    } else if !allowed.contains(&internal.as_str()) {
        errs.push(field::not_supported(&path.child("fieldPath"), internal.as_str(), allowed));
    }
    errs
}

/// `metadata.labels['key']` → (`metadata.labels`, `key`) (`fieldpath.SplitMaybeSubscriptedPath`).
fn split_subscripted_path(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, subscript) = inner.split_once("['")?;
    (!base.is_empty()).then_some((base, subscript))
}

/// The internal name of a downward API field path (`ConvertDownwardAPIFieldLabel`).
fn convert_downward_api_field_label(version: &str, label: &str) -> Result<String, String> {
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    if let Some((base, _)) = split_subscripted_path(label) {
        return match base {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_owned()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations"
        | "metadata.labels"
        | "metadata.name"
        | "metadata.namespace"
        | "metadata.uid"
        | "spec.nodeName"
        | "spec.restartPolicy"
        | "spec.serviceAccountName"
        | "spec.schedulerName"
        | "status.phase"
        | "status.hostIP"
        | "status.hostIPs"
        | "status.podIP"
        | "status.podIPs" => Ok(label.to_owned()),
        "spec.host" => Ok("spec.nodeName".to_owned()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// The container resources the downward API can show.
const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// A downward API reference to a container resource (`validateContainerResourceFieldSelector`).
pub(crate) fn validate_container_resource_field_selector(
    fs: &ResourceFieldSelector,
    path: &Path,
    volume: bool,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if volume && s(&fs.container_name).is_empty() {
        errs.push(field::required(&path.child("containerName"), ""));
    } else if fs.resource.is_empty() {
        errs.push(field::required(&path.child("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&fs.resource.as_str())
        && !fs.resource.starts_with("limits.hugepages-")
        && !fs.resource.starts_with("requests.hugepages-")
    {
        errs.push(field::not_supported(&path.child("resource"), fs.resource.as_str(), RESOURCE_FIELD_PATHS));
    }
    let divisor = fs.divisor.as_ref().and_then(|d| Quantity::try_from(d).ok());
    if let Some(divisor) = divisor.filter(|d| !d.is_zero()) {
        const MEMORY: &[&str] = &["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
        let d = divisor.to_string();
        let r = fs.resource.as_str();
        let bad = |msg: &str| field::invalid(&path.child("divisor"), r, msg.to_owned());
        match r {
            "limits.cpu" | "requests.cpu" if !matches!(d.as_str(), "1m" | "1") => {
                errs.push(bad("only divisor's values 1m and 1 are supported with the cpu resource"));
            }
            "limits.memory" | "requests.memory" if !MEMORY.contains(&d.as_str()) => {
                errs.push(bad("only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"));
            }
            "limits.ephemeral-storage" | "requests.ephemeral-storage" if !MEMORY.contains(&d.as_str()) => {
                errs.push(bad("only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"));
            }
            _ => {}
        }
        if (r.starts_with("requests.hugepages-") || r.starts_with("limits.hugepages-")) && !MEMORY.contains(&d.as_str())
        {
            errs.push(bad("only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource"));
        }
    }
    errs
}
