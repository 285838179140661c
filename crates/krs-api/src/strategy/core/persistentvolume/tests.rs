use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, HostPathVolumeSource, NFSVolumeSource, PersistentVolume, PersistentVolumeSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;

fn pv(spec: PersistentVolumeSpec) -> PersistentVolume {
    PersistentVolume { spec: Some(spec), ..Default::default() }
}

fn base() -> PersistentVolumeSpec {
    PersistentVolumeSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        capacity: Some(BTreeMap::from([("storage".to_owned(), Quantity("1Gi".into()))])),
        host_path: Some(HostPathVolumeSource { path: "/data".into(), type_: None }),
        ..Default::default()
    }
}

#[test]
fn defaults_reclaim_policy_volume_mode_and_phase() {
    let mut v = pv(base());
    PERSISTENT_VOLUME.default(&mut v);
    PERSISTENT_VOLUME.prepare_for_create(&mut v);
    let spec = v.spec.as_ref().unwrap();
    assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(spec.volume_mode.as_deref(), Some("Filesystem"));
    assert_eq!(spec.host_path.as_ref().unwrap().type_.as_deref(), Some(""));
    let status = v.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert!(status.last_phase_transition_time.is_some());
    assert!(PERSISTENT_VOLUME.validate(&v).is_empty(), "{}", PERSISTENT_VOLUME.validate(&v));
}

#[test]
fn capacity_and_access_modes_are_required() {
    let mut spec = base();
    spec.capacity = None;
    spec.access_modes = None;
    assert_eq!(
        PERSISTENT_VOLUME.validate(&pv(spec)).to_string(),
        r#"[spec.accessModes: Required value, spec.capacity: Required value, spec.capacity: Unsupported value: {}: supported values: "storage"]"#
    );
}

#[test]
fn access_modes_are_an_enum_and_read_write_once_pod_stands_alone() {
    let mut spec = base();
    spec.access_modes = Some(vec!["ReadWriteOncePod".into(), "ReadWriteOnce".into(), "Sometimes".into()]);
    assert_eq!(
        PERSISTENT_VOLUME.validate(&pv(spec)).to_string(),
        r#"[spec.accessModes: Unsupported value: "Sometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes]"#
    );
}

#[test]
fn exactly_one_volume_source() {
    let mut spec = base();
    spec.nfs = Some(NFSVolumeSource { server: "nfs".into(), path: "/x".into(), read_only: None });
    assert_eq!(
        PERSISTENT_VOLUME.validate(&pv(spec)).to_string(),
        "spec.nfs: Forbidden: may not specify more than 1 volume type"
    );
    let mut spec = base();
    spec.host_path = None;
    assert_eq!(PERSISTENT_VOLUME.validate(&pv(spec)).to_string(), "spec: Required value: must specify a volume type");
}

#[test]
fn csi_sources_need_a_driver_and_handle() {
    let mut spec = base();
    spec.host_path = None;
    spec.csi = Some(CSIPersistentVolumeSource { driver: "Bad_Driver".into(), ..Default::default() });
    let errs = PERSISTENT_VOLUME.validate(&pv(spec)).to_string();
    assert!(errs.contains(r#"spec.csi.driver: Invalid value: "Bad_Driver": a lowercase RFC 1123 subdomain"#), "{errs}");
    assert!(errs.contains("spec.csi.volumeHandle: Required value"), "{errs}");
}

#[test]
fn volume_source_is_immutable() {
    let mut old = pv(base());
    PERSISTENT_VOLUME.default(&mut old);
    let mut new = old.clone();
    new.spec.as_mut().unwrap().host_path =
        Some(HostPathVolumeSource { path: "/other".into(), type_: Some(String::new()) });
    let errs = PERSISTENT_VOLUME.validate_update(&new, &old).to_string();
    assert!(
        errs.starts_with(
            "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n"
        ),
        "{errs}"
    );
}

#[test]
fn local_volumes_require_node_affinity() {
    let mut spec = base();
    spec.host_path = None;
    spec.local = Some(k8s_openapi::api::core::v1::LocalVolumeSource { path: "/mnt/disk".into(), fs_type: None });
    assert_eq!(
        PERSISTENT_VOLUME.validate(&pv(spec)).to_string(),
        "spec.nodeAffinity: Required value: Local volume requires node affinity"
    );
}
