//! The storage.k8s.io strategies (upstream's `pkg/registry/storage/*`, the storage/v1
//! defaults and `pkg/apis/storage/validation`).

mod csi;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::TopologySelectorTerm;
use k8s_openapi::api::storage::v1::{StorageClass, VolumeAttributesClass};
use krs_apimachinery::validation::{ErrorList, Path, field, is_qualified_name, validate_label_name};
use krs_kinds::Object;

pub use self::csi::{CSI_DRIVER, CSI_NODE, CSI_STORAGE_CAPACITY, VOLUME_ATTACHMENT};
use crate::strategy::core::service::checks;
use crate::strategy::{Strategy, typed, typed_mut};

const MAX_PARAMETERS_SIZE: usize = 256 * 1024;
const MAX_PARAMETERS: usize = 512;
const RECLAIM_POLICIES: &[&str] = &["Delete", "Retain"];
const BINDING_MODES: &[&str] = &["Immediate", "WaitForFirstConsumer"];

/// The storage class strategy.
pub struct StorageClassStrategy;
/// The storage class strategy.
pub static STORAGE_CLASS: StorageClassStrategy = StorageClassStrategy;
/// The volume attributes class strategy.
pub struct VolumeAttributesClassStrategy;
/// The volume attributes class strategy.
pub static VOLUME_ATTRIBUTES_CLASS: VolumeAttributesClassStrategy = VolumeAttributesClassStrategy;

/// A provisioner or driver name: required, a qualified name once lower-cased
/// (`validateProvisioner`).
fn validate_provisioner(name: &str, path: &Path) -> ErrorList {
    if name.is_empty() {
        return field::required(path, "").into();
    }
    let lower = name.to_lowercase();
    checks::each(&lower, path, is_qualified_name(&lower)).with_origin("format=qualified-name")
}

/// Parameters: non-empty keys, at most 512 of them and 256 KiB in all (`validateParameters`).
fn validate_parameters(params: Option<&BTreeMap<String, String>>, allow_empty: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let params = params.cloned().unwrap_or_default();
    if params.len() > MAX_PARAMETERS {
        errs.push(field::too_long(path, MAX_PARAMETERS as i64));
        return errs;
    }
    let mut total = 0;
    for (k, v) in &params {
        if k.is_empty() {
            errs.push(field::invalid(path, k, "field can not be empty."));
        }
        total += k.len() + v.len();
    }
    if total > MAX_PARAMETERS_SIZE {
        errs.push(field::too_long(path, MAX_PARAMETERS_SIZE as i64));
    }
    if !allow_empty && params.is_empty() {
        errs.push(field::required(path, "must contain at least one key/value pair"));
    }
    errs
}

/// `validateAllowedTopologies`: each term's keys are label names with values, and no term
/// repeats another.
fn validate_topologies(terms: &[TopologySelectorTerm], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen: Vec<BTreeMap<String, BTreeSet<String>>> = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let ep = path.index(i).child("matchLabelExpressions");
        let mut exprs = BTreeMap::new();
        for (j, req) in term.match_label_expressions.iter().flatten().enumerate() {
            let rp = ep.index(j);
            let mut values = BTreeSet::new();
            if req.values.is_empty() {
                errs.push(field::required(&rp.child("values"), ""));
            }
            for (k, v) in req.values.iter().enumerate() {
                if !values.insert(v.clone()) {
                    errs.push(field::duplicate(&rp.child("values").index(k), v));
                }
            }
            errs.append(validate_label_name(&req.key, &rp.child("key")));
            if exprs.insert(req.key.clone(), values).is_some() {
                errs.push(field::duplicate(&rp.child("key"), req.key.as_str()));
            }
        }
        if seen.contains(&exprs) {
            errs.push(field::duplicate(&ep, ""));
        }
        seen.push(exprs);
    }
    errs
}

fn validate_storage_class(sc: &StorageClass) -> ErrorList {
    let mut errs = validate_provisioner(&sc.provisioner, &Path::new("provisioner"));
    errs.append(validate_parameters(sc.parameters.as_ref(), true, &Path::new("parameters")));
    if let Some(policy) = sc.reclaim_policy.as_deref().filter(|p| !p.is_empty())
        && !RECLAIM_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(&Path::new("reclaimPolicy"), policy, RECLAIM_POLICIES));
    }
    match sc.volume_binding_mode.as_deref() {
        None => errs.push(field::required(&Path::new("volumeBindingMode"), "")),
        Some(mode) if !BINDING_MODES.contains(&mode) => {
            errs.push(field::not_supported(&Path::new("volumeBindingMode"), mode, BINDING_MODES))
        }
        Some(_) => {}
    }
    errs.append(validate_topologies(
        sc.allowed_topologies.as_deref().unwrap_or_default(),
        &Path::new("allowedTopologies"),
    ));
    errs
}

impl Strategy for StorageClassStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(sc) = typed_mut::<StorageClass>(obj) else {
            return;
        };
        if sc.reclaim_policy.is_none() {
            sc.reclaim_policy = Some("Delete".to_owned());
        }
        if sc.volume_binding_mode.is_none() {
            sc.volume_binding_mode = Some("Immediate".to_owned());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<StorageClass>(obj).map(validate_storage_class).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<StorageClass>(new), typed::<StorageClass>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_storage_class(new);
        if new.parameters.clone().unwrap_or_default() != old.parameters.clone().unwrap_or_default() {
            errs.push(field::forbidden(&Path::new("parameters"), "updates to parameters are forbidden."));
        }
        if new.provisioner != old.provisioner {
            errs.push(field::forbidden(&Path::new("provisioner"), "updates to provisioner are forbidden."));
        }
        if new.reclaim_policy != old.reclaim_policy {
            errs.push(field::forbidden(&Path::new("reclaimPolicy"), "updates to reclaimPolicy are forbidden."));
        }
        errs.append(checks::immutable(
            &new.volume_binding_mode,
            &old.volume_binding_mode,
            &Path::new("volumeBindingMode"),
        ));
        errs
    }
}

fn validate_vac(vac: &VolumeAttributesClass) -> ErrorList {
    let mut errs = validate_provisioner(&vac.driver_name, &Path::new("driverName"));
    errs.append(validate_parameters(vac.parameters.as_ref(), false, &Path::new("parameters")));
    errs
}

impl Strategy for VolumeAttributesClassStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<VolumeAttributesClass>(obj).map(validate_vac).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<VolumeAttributesClass>(new), typed::<VolumeAttributesClass>(old)) else {
            return ErrorList::new();
        };
        let mut errs = ErrorList::new();
        if new.driver_name != old.driver_name {
            errs.push(field::forbidden(&Path::new("driverName"), "updates to driverName are forbidden."));
        }
        if new.parameters.clone().unwrap_or_default() != old.parameters.clone().unwrap_or_default() {
            errs.push(field::forbidden(&Path::new("parameters"), "updates to parameters are forbidden."));
        }
        errs.append(validate_vac(new));
        errs
    }
}

#[cfg(test)]
mod tests;
