//! The CSI kinds of storage.k8s.io: CSIDriver, CSINode, CSIStorageCapacity and
//! VolumeAttachment.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PersistentVolumeSpec;
use k8s_openapi::api::storage::v1::{CSIDriver, CSINode, CSIStorageCapacity, VolumeAttachment, VolumeError};
use krs_apimachinery::validation::{
    ErrorList, LabelSelectorValidationOptions, Path, field, inclusive_range_error,
    label_selector_has_invalid_label_value, name_is_dns_subdomain, validate_label_selector, validate_nonnegative_field,
};
use krs_kinds::Object;

use crate::strategy::core::persistentvolume::sources::csi_driver_name;
use crate::strategy::core::resourcequota::resources;
use crate::strategy::core::service::checks::{self, bad_value};
use crate::strategy::{Strategy, typed, typed_mut};

const FS_GROUP_POLICIES: &[&str] = &["File", "None", "ReadWriteOnceWithFSType"];
const LIFECYCLE_MODES: &[&str] = &["Persistent", "Ephemeral"];
const CSI_NODE_ID_MAX_LENGTH: usize = 192;
const CSI_NODE_ID_LONGER_MAX_LENGTH: usize = 256;
const MAX_ATTACHED_VOLUME_METADATA_SIZE: usize = 256 * 1024;
const MAX_VOLUME_ERROR_MESSAGE_SIZE: usize = 1024;

/// The CSI driver strategy.
pub struct CSIDriverStrategy;
/// The CSI driver strategy.
pub static CSI_DRIVER: CSIDriverStrategy = CSIDriverStrategy;
/// The CSI node strategy.
pub struct CSINodeStrategy;
/// The CSI node strategy.
pub static CSI_NODE: CSINodeStrategy = CSINodeStrategy;
/// The CSI storage capacity strategy.
pub struct CSIStorageCapacityStrategy;
/// The CSI storage capacity strategy.
pub static CSI_STORAGE_CAPACITY: CSIStorageCapacityStrategy = CSIStorageCapacityStrategy;
/// The volume attachment strategy.
pub struct VolumeAttachmentStrategy;
/// The volume attachment strategy.
pub static VOLUME_ATTACHMENT: VolumeAttachmentStrategy = VolumeAttachmentStrategy;

fn validate_csi_driver(d: &CSIDriver) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = &d.spec;
    let path = Path::new("spec");
    // Upstream reports attachRequired under this misspelled name.
    for (value, name) in [
        (spec.attach_required, "attachedRequired"),
        (spec.pod_info_on_mount, "podInfoOnMount"),
        (spec.storage_capacity, "storageCapacity"),
    ] {
        if value.is_none() {
            errs.push(field::required(&path.child(name), ""));
        }
    }
    if let Some(policy) = spec.fs_group_policy.as_deref()
        && !FS_GROUP_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(&path.child("fsGroupPolicy"), policy, FS_GROUP_POLICIES));
    }
    let mut audiences = BTreeSet::new();
    for (i, tr) in spec.token_requests.iter().flatten().enumerate() {
        let p = path.child("tokenRequests").index(i);
        if !audiences.insert(tr.audience.as_str()) {
            errs.push(field::duplicate(&p.child("audience"), tr.audience.as_str()));
            continue;
        }
        if let Some(exp) = tr.expiration_seconds {
            if exp < 600 {
                errs.push(field::invalid(
                    &p.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(field::invalid(
                    &p.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
        }
    }
    for mode in spec.volume_lifecycle_modes.iter().flatten() {
        if !LIFECYCLE_MODES.contains(&mode.as_str()) {
            errs.push(field::not_supported(&path.child("volumeLifecycleModes"), mode, LIFECYCLE_MODES));
        }
    }
    if spec.se_linux_mount.is_none() {
        errs.push(field::required(&path.child("seLinuxMount"), ""));
    }
    if let Some(period) = spec.node_allocatable_update_period_seconds
        && period < 10
    {
        errs.push(field::invalid(
            &path.child("nodeAllocatableUpdatePeriodSeconds"),
            period,
            "must be greater than or equal to 10 seconds",
        ));
    }
    errs
}

impl Strategy for CSIDriverStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(d) = typed_mut::<CSIDriver>(obj) else {
            return;
        };
        let spec = &mut d.spec;
        spec.attach_required.get_or_insert(true);
        spec.pod_info_on_mount.get_or_insert(false);
        spec.storage_capacity.get_or_insert(false);
        spec.fs_group_policy.get_or_insert_with(|| "ReadWriteOnceWithFSType".to_owned());
        if spec.volume_lifecycle_modes.as_ref().is_none_or(|m| m.is_empty()) {
            spec.volume_lifecycle_modes = Some(vec!["Persistent".to_owned()]);
        }
        spec.requires_republish.get_or_insert(false);
        spec.se_linux_mount.get_or_insert(false);
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<CSIDriver>(obj).map(validate_csi_driver).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<CSIDriver>(new), typed::<CSIDriver>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_csi_driver(new);
        let path = Path::new("spec");
        errs.append(checks::immutable(
            &new.spec.attach_required,
            &old.spec.attach_required,
            &path.child("attachedRequired"),
        ));
        errs.append(checks::immutable(
            &new.spec.volume_lifecycle_modes,
            &old.spec.volume_lifecycle_modes,
            &path.child("volumeLifecycleModes"),
        ));
        errs
    }
}

fn validate_csi_node(node: &CSINode, allow_long_node_id: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = Path::new("spec").child("drivers");
    let mut names = BTreeSet::new();
    for (i, d) in node.spec.drivers.iter().enumerate() {
        let p = path.index(i);
        errs.append(csi_driver_name(&d.name, &p.child("name")));
        let id_path = p.child("nodeID");
        if d.node_id.is_empty() {
            errs.push(field::required(&id_path, ""));
        }
        let max = if allow_long_node_id { CSI_NODE_ID_LONGER_MAX_LENGTH } else { CSI_NODE_ID_MAX_LENGTH };
        if d.node_id.len() > max {
            errs.push(field::invalid(&id_path, d.node_id.as_str(), format!("must be {max} characters or less")));
        }
        if let Some(count) = d.allocatable.as_ref().and_then(|a| a.count) {
            errs.append(validate_nonnegative_field(i64::from(count), &p.child("allocatable").child("count")));
        }
        if !names.insert(d.name.as_str()) {
            errs.push(field::duplicate(&p.child("name"), d.name.as_str()));
        }
        let mut keys = BTreeSet::new();
        for key in d.topology_keys.iter().flatten() {
            // Upstream reports topology keys at the driver's path.
            if key.is_empty() {
                errs.push(field::required(&p, ""));
            }
            if !keys.insert(key.as_str()) {
                errs.push(field::duplicate(&p, key.as_str()));
            }
            errs.append(checks::qualified_name(key, &p));
        }
    }
    errs
}

impl Strategy for CSINodeStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<CSINode>(obj).map(|n| validate_csi_node(n, false)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<CSINode>(new), typed::<CSINode>(old)) else {
            return ErrorList::new();
        };
        // Nodes registered with long IDs keep the longer limit.
        let long = old.spec.drivers.iter().any(|d| d.node_id.len() > CSI_NODE_ID_MAX_LENGTH);
        let mut errs = validate_csi_node(new, long);
        // A registered driver may not change, except its allocatable count.
        for o in &old.spec.drivers {
            for n in new.spec.drivers.iter().filter(|n| n.name == o.name) {
                let (mut n, mut o) = (n.clone(), o.clone());
                n.allocatable = None;
                o.allocatable = None;
                if n != o {
                    // Upstream shows the internal driver, whose fields have their Go names.
                    let shown = checks::go_struct(&[
                        ("Name", checks::go_json(&n.name)),
                        ("NodeID", checks::go_json(&n.node_id)),
                        ("TopologyKeys", checks::go_json(&n.topology_keys)),
                        ("Allocatable", "null".to_owned()),
                    ]);
                    errs.push(field::invalid(&Path::new("spec").child("drivers"), shown, "field is immutable"));
                }
            }
        }
        errs
    }

    fn name_validator(&self) -> crate::strategy::NameValidator {
        name_is_dns_subdomain
    }
}

fn validate_capacity(c: &CSIStorageCapacity, allow_invalid_selector: bool) -> ErrorList {
    let opts = LabelSelectorValidationOptions {
        allow_invalid_label_value_in_selector: allow_invalid_selector,
        ..Default::default()
    };
    let mut errs = validate_label_selector(c.node_topology.as_ref(), opts, &Path::new("nodeTopology"));
    errs.append(checks::dns1123_subdomain(&c.storage_class_name, &Path::new("storageClassName")));
    if let Some(q) = &c.capacity {
        match resources::parse(q, &Path::new("capacity")) {
            Ok(q) => errs.append(resources::validate_nonnegative(&q, &Path::new("capacity"))),
            Err(e) => errs.append(e),
        }
    }
    errs
}

impl Strategy for CSIStorageCapacityStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<CSIStorageCapacity>(obj).map(|c| validate_capacity(c, false)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<CSIStorageCapacity>(new), typed::<CSIStorageCapacity>(old)) else {
            return ErrorList::new();
        };
        let allow = label_selector_has_invalid_label_value(old.node_topology.as_ref());
        let mut errs = validate_capacity(new, allow);
        if new.node_topology != old.node_topology {
            errs.push(field::invalid(&Path::new("nodeTopology"), bad_value(&new.node_topology), "field is immutable"));
        }
        if new.storage_class_name != old.storage_class_name {
            errs.push(field::invalid(
                &Path::new("storageClassName"),
                new.storage_class_name.as_str(),
                "field is immutable",
            ));
        }
        errs
    }
}

/// An inline volume of an attachment: CSI only, no claim, capacity or node affinity
/// (`ValidatePersistentVolumeSpec` for inline volumes).
fn validate_inline_spec(spec: &PersistentVolumeSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let ctx = "may not be specified in the context of inline volumes";
    if spec.claim_ref.is_some() {
        errs.push(field::forbidden(&path.child("claimRef"), ctx));
    }
    if spec.capacity.as_ref().is_some_and(|c| !c.is_empty()) {
        errs.push(field::forbidden(&path.child("capacity"), ctx));
    }
    if spec.csi.is_none() {
        errs.push(field::required(&path.child("csi"), "has to be specified in the context of inline volumes"));
    }
    if spec.access_modes.as_ref().is_none_or(|m| m.is_empty()) {
        errs.push(field::required(&path.child("accessModes"), ""));
    }
    if spec.persistent_volume_reclaim_policy.as_deref().is_some_and(|p| !p.is_empty() && p != "Retain") {
        errs.push(field::forbidden(
            &path.child("persistentVolumeReclaimPolicy"),
            "may only be Retain in the context of inline volumes",
        ));
    }
    if spec.node_affinity.is_some() {
        errs.push(field::forbidden(&path.child("nodeAffinity"), ctx));
    }
    if let Some(csi) = &spec.csi {
        let p = path.child("csi");
        errs.append(csi_driver_name(&csi.driver, &p.child("driver")));
        if csi.volume_handle.is_empty() {
            errs.push(field::required(&p.child("volumeHandle"), ""));
        }
    }
    if spec.storage_class_name.as_deref().is_some_and(|c| !c.is_empty()) {
        errs.push(field::forbidden(&path.child("storageClassName"), ctx));
    }
    errs
}

fn validate_volume_error(e: &Option<VolumeError>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(e) = e else {
        return errs;
    };
    if e.message.as_deref().unwrap_or_default().len() > MAX_VOLUME_ERROR_MESSAGE_SIZE {
        // Upstream reports the metadata limit here.
        errs.push(field::too_long(&path.child("message"), MAX_ATTACHED_VOLUME_METADATA_SIZE as i64));
    }
    if let Some(code) = e.error_code
        && code < 0
    {
        errs.push(field::invalid(&path.child("errorCode"), code, inclusive_range_error(0, i64::from(i32::MAX))));
    }
    errs
}

/// `ValidateVolumeAttachment` and its v1 additions.
fn validate_attachment(va: &VolumeAttachment) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = &va.spec;
    let path = Path::new("spec");
    if spec.attacher.is_empty() {
        errs.push(field::required(&path.child("attacher"), ""));
    }
    let sp = path.child("source");
    match (&spec.source.inline_volume_spec, &spec.source.persistent_volume_name) {
        (None, None) => {
            errs.push(field::required(&sp, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
        }
        (Some(_), Some(_)) => {
            errs.push(field::forbidden(&sp, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
        }
        (None, Some(pv)) => {
            if pv.is_empty() {
                errs.push(field::required(
                    &sp.child("persistentVolumeName"),
                    "must specify non empty persistentVolumeName",
                ));
            }
        }
        (Some(inline), None) => errs.append(validate_inline_spec(inline, &sp.child("inlineVolumeSpec"))),
    }
    errs.append(checks::name(name_is_dns_subdomain, &spec.node_name, &path.child("nodeName")));
    errs.append(validate_status(va));
    // The v1 checks name their fields with dotted paths.
    errs.append(csi_driver_name(&spec.attacher, &Path::new("spec.attacher")));
    if let Some(pv) = &spec.source.persistent_volume_name {
        errs.append(checks::name(name_is_dns_subdomain, pv, &Path::new("spec.source.persistentVolumeName")));
    }
    errs
}

fn validate_status(va: &VolumeAttachment) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(status) = &va.status else {
        return errs;
    };
    let path = Path::new("status");
    let size: usize = status.attachment_metadata.iter().flatten().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ATTACHED_VOLUME_METADATA_SIZE {
        errs.push(field::too_long(&path.child("attachmentMetadata"), MAX_ATTACHED_VOLUME_METADATA_SIZE as i64));
    }
    errs.append(validate_volume_error(&status.attach_error, &path.child("attachError")));
    errs.append(validate_volume_error(&status.detach_error, &path.child("detachError")));
    errs
}

impl Strategy for VolumeAttachmentStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<VolumeAttachment>(obj).map(validate_attachment).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<VolumeAttachment>(new), typed::<VolumeAttachment>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_attachment(new);
        if new.spec != old.spec {
            // Upstream shows the internal spec, whose fields have their Go names.
            let source = &new.spec.source;
            let shown = checks::go_struct(&[
                ("Attacher", checks::go_json(&new.spec.attacher)),
                (
                    "Source",
                    format!(
                        "{{\"PersistentVolumeName\":{},\"InlineVolumeSpec\":{}}}",
                        checks::go_json(&source.persistent_volume_name),
                        checks::go_json(&source.inline_volume_spec)
                    ),
                ),
                ("NodeName", checks::go_json(&new.spec.node_name)),
            ]);
            errs.push(field::invalid(&Path::new("spec"), shown, "field is immutable"));
        }
        errs
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        typed::<VolumeAttachment>(new).map(validate_status).unwrap_or_default()
    }
}
