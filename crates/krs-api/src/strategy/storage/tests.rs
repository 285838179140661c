use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::{
    CSIDriver, CSIDriverSpec, CSINode, CSINodeDriver, CSINodeSpec, CSIStorageCapacity, VolumeAttachment,
    VolumeAttachmentSource, VolumeAttachmentSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;

fn class(provisioner: &str) -> StorageClass {
    StorageClass { provisioner: provisioner.into(), ..Default::default() }
}

#[test]
fn storage_class_defaults_reclaim_policy_and_binding_mode() {
    let mut sc = class("ebs.csi.aws.com");
    STORAGE_CLASS.default(&mut sc);
    assert_eq!(sc.reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(sc.volume_binding_mode.as_deref(), Some("Immediate"));
    assert!(STORAGE_CLASS.validate(&sc).is_empty());
}

#[test]
fn storage_class_provisioner_is_required() {
    let mut sc = class("");
    STORAGE_CLASS.default(&mut sc);
    assert_eq!(STORAGE_CLASS.validate(&sc).to_string(), "provisioner: Required value");
    let mut sc = class("bad provisioner");
    STORAGE_CLASS.default(&mut sc);
    assert!(
        STORAGE_CLASS
            .validate(&sc)
            .to_string()
            .starts_with(r#"provisioner: Invalid value: "bad provisioner": name part must consist of"#)
    );
}

#[test]
fn storage_class_provisioner_and_parameters_are_immutable() {
    let mut old = class("a.example.com");
    STORAGE_CLASS.default(&mut old);
    let mut new = class("b.example.com");
    new.parameters = Some(BTreeMap::from([("type".to_owned(), "gp3".to_owned())]));
    STORAGE_CLASS.default(&mut new);
    assert_eq!(
        STORAGE_CLASS.validate_update(&new, &old).to_string(),
        "[parameters: Forbidden: updates to parameters are forbidden., provisioner: Forbidden: updates to provisioner are forbidden.]"
    );
}

#[test]
fn storage_class_enums_are_checked() {
    let mut sc = class("a.example.com");
    sc.reclaim_policy = Some("Recycle".into());
    sc.volume_binding_mode = Some("Later".into());
    assert_eq!(
        STORAGE_CLASS.validate(&sc).to_string(),
        r#"[reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain", volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"]"#
    );
}

#[test]
fn volume_attributes_classes_need_parameters() {
    let vac = VolumeAttributesClass { driver_name: "csi.example.com".into(), ..Default::default() };
    assert_eq!(
        VOLUME_ATTRIBUTES_CLASS.validate(&vac).to_string(),
        "parameters: Required value: must contain at least one key/value pair"
    );
}

#[test]
fn csi_driver_defaults_and_immutable_attach_required() {
    let mut d = CSIDriver { spec: CSIDriverSpec::default(), ..Default::default() };
    CSI_DRIVER.default(&mut d);
    assert_eq!(d.spec.attach_required, Some(true));
    assert_eq!(d.spec.fs_group_policy.as_deref(), Some("ReadWriteOnceWithFSType"));
    assert_eq!(d.spec.volume_lifecycle_modes, Some(vec!["Persistent".to_owned()]));
    assert!(CSI_DRIVER.validate(&d).is_empty(), "{}", CSI_DRIVER.validate(&d));
    let mut new = d.clone();
    new.spec.attach_required = Some(false);
    assert_eq!(
        CSI_DRIVER.validate_update(&new, &d).to_string(),
        "spec.attachedRequired: Invalid value: false: field is immutable"
    );
}

#[test]
fn csi_node_drivers_are_unique_and_need_ids() {
    let driver = CSINodeDriver { name: "csi.example.com".into(), node_id: String::new(), ..Default::default() };
    let node = CSINode { spec: CSINodeSpec { drivers: vec![driver.clone(), driver] }, ..Default::default() };
    assert_eq!(
        CSI_NODE.validate(&node).to_string(),
        r#"[spec.drivers[0].nodeID: Required value, spec.drivers[1].nodeID: Required value, spec.drivers[1].name: Duplicate value: "csi.example.com"]"#
    );
}

#[test]
fn csi_storage_capacity_must_not_be_negative() {
    let c = CSIStorageCapacity {
        storage_class_name: "fast".into(),
        capacity: Some(Quantity("-1Gi".into())),
        ..Default::default()
    };
    assert_eq!(
        CSI_STORAGE_CAPACITY.validate(&c).to_string(),
        r#"capacity: Invalid value: "-1Gi": must be greater than or equal to 0"#
    );
}

#[test]
fn volume_attachment_needs_one_source_and_immutable_spec() {
    let va = VolumeAttachment {
        spec: VolumeAttachmentSpec {
            attacher: "csi.example.com".into(),
            node_name: "node-1".into(),
            source: VolumeAttachmentSource::default(),
        },
        ..Default::default()
    };
    assert_eq!(
        VOLUME_ATTACHMENT.validate(&va).to_string(),
        "spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"
    );
    let mut ok = va.clone();
    ok.spec.source.persistent_volume_name = Some("pv-1".into());
    assert!(VOLUME_ATTACHMENT.validate(&ok).is_empty());
    let mut moved = ok.clone();
    moved.spec.node_name = "node-2".into();
    assert!(VOLUME_ATTACHMENT.validate_update(&moved, &ok).to_string().ends_with("field is immutable"));
}
