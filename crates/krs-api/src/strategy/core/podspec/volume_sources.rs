//! The sources a volume may have (upstream `validateVolumeSource` and the per-source checks):
//! exactly one per volume, each with its required fields.

use k8s_openapi::api::core::v1::Volume;
use krs_apimachinery::quantity::Quantity;
use krs_apimachinery::validation::{
    BadValue, ErrorList, Path, field, inclusive_range_error, is_dns1123_subdomain, name_is_dns_subdomain,
    validate_annotations, validate_labels,
};

use super::downward::{
    validate_downward_api_volume_file, validate_key_to_path, validate_mode, validate_projection_sources,
};
use super::volumes::{go_quote, validate_local_descending_path, validate_path_no_backsteps};
use super::{dns1123_label, name_errors, s};

/// Exactly one source, each source valid (`validateVolumeSource`); sources are checked in
/// upstream's order, which decides which one a "more than 1 volume type" error names.
pub(crate) fn validate_volume_source(
    vol: &Volume,
    path: &Path,
    pod_name: Option<&str>,
    resource_is_pod: bool,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut count = 0;
    let mut one = |present: bool, name: &str, errs: &mut ErrorList, check: &dyn Fn() -> ErrorList| {
        if !present {
            return;
        }
        if count > 0 {
            errs.push(field::forbidden(&path.child(name), "may not specify more than 1 volume type"));
        } else {
            count += 1;
            errs.append(check());
        }
    };
    one(vol.empty_dir.is_some(), "emptyDir", &mut errs, &|| {
        let mut e = ErrorList::new();
        let size = vol.empty_dir.as_ref().and_then(|d| d.size_limit.as_ref());
        if size.and_then(|q| Quantity::try_from(q).ok()).is_some_and(|q| q.sign() < 0) {
            e.push(field::forbidden(
                &path.child("emptyDir").child("sizeLimit"),
                "SizeLimit field must be a valid resource quantity",
            ));
        }
        e
    });
    one(vol.host_path.is_some(), "hostPath", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(hp) = &vol.host_path else { return e };
        let p = path.child("hostPath");
        if hp.path.is_empty() {
            e.push(field::required(&p.child("path"), ""));
            return e;
        }
        e.append(validate_path_no_backsteps(&hp.path, &p.child("path")));
        if let Some(t) = &hp.type_ {
            const TYPES: &[&str] =
                &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
            if !TYPES.contains(&t.as_str()) {
                e.push(field::not_supported(&p.child("type"), t.as_str(), TYPES));
            }
        }
        e
    });
    one(vol.git_repo.is_some(), "gitRepo", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(g) = &vol.git_repo else { return e };
        let p = path.child("gitRepo");
        if g.repository.is_empty() {
            e.push(field::required(&p.child("repository"), ""));
        }
        e.append(validate_local_descending_path(s(&g.directory), &p.child("directory")));
        e
    });
    one(vol.gce_persistent_disk.is_some(), "gcePersistentDisk", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(pd) = &vol.gce_persistent_disk else {
            return e;
        };
        // Upstream reports this source under `persistentDisk`.
        let p = path.child("persistentDisk");
        if pd.pd_name.is_empty() {
            e.push(field::required(&p.child("pdName"), ""));
        }
        let partition = pd.partition.unwrap_or(0);
        if !(0..=255).contains(&partition) {
            e.push(field::invalid(&p.child("partition"), partition, inclusive_range_error(1, 255)));
        }
        e
    });
    one(vol.aws_elastic_block_store.is_some(), "awsElasticBlockStore", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(pd) = &vol.aws_elastic_block_store else {
            return e;
        };
        let p = path.child("awsElasticBlockStore");
        if pd.volume_id.is_empty() {
            e.push(field::required(&p.child("volumeID"), ""));
        }
        let partition = pd.partition.unwrap_or(0);
        if !(0..=255).contains(&partition) {
            e.push(field::invalid(&p.child("partition"), partition, inclusive_range_error(1, 255)));
        }
        e
    });
    one(vol.secret.is_some(), "secret", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(secret) = &vol.secret else { return e };
        let p = path.child("secret");
        if s(&secret.secret_name).is_empty() {
            e.push(field::required(&p.child("secretName"), ""));
        }
        e.append(validate_mode(secret.default_mode, &p.child("defaultMode")));
        for (i, kp) in secret.items.iter().flatten().enumerate() {
            e.append(validate_key_to_path(kp, &p.child("items").index(i)));
        }
        e
    });
    one(vol.nfs.is_some(), "nfs", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(nfs) = &vol.nfs else { return e };
        let p = path.child("nfs");
        if nfs.server.is_empty() {
            e.push(field::required(&p.child("server"), ""));
        }
        if nfs.path.is_empty() {
            e.push(field::required(&p.child("path"), ""));
        }
        if !nfs.path.starts_with('/') {
            e.push(field::invalid(&p.child("path"), nfs.path.as_str(), "must be an absolute path"));
        }
        e
    });
    one(vol.iscsi.is_some(), "iscsi", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(iscsi) = &vol.iscsi else { return e };
        let p = path.child("iscsi");
        if iscsi.target_portal.is_empty() {
            e.push(field::required(&p.child("targetPortal"), ""));
        }
        if iscsi.iqn.is_empty() {
            e.push(field::required(&p.child("iqn"), ""));
        } else if !["iqn", "eui", "naa"].iter().any(|pre| iscsi.iqn.starts_with(pre)) {
            e.push(field::invalid(
                &p.child("iqn"),
                iscsi.iqn.as_str(),
                "must be valid format starting with iqn, eui, or naa",
            ));
        }
        if !(0..=255).contains(&iscsi.lun) {
            e.push(field::invalid(&p.child("lun"), iscsi.lun, inclusive_range_error(0, 255)));
        }
        let chap = iscsi.chap_auth_discovery == Some(true) || iscsi.chap_auth_session == Some(true);
        if chap && iscsi.secret_ref.is_none() {
            e.push(field::required(&p.child("secretRef"), ""));
        }
        if iscsi.initiator_name.is_some() && format!("{}:{}", vol.name, iscsi.target_portal).len() > 64 {
            e.push(field::invalid(
                &path.child("name"),
                vol.name.as_str(),
                "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified.",
            ));
        }
        e
    });
    one(vol.glusterfs.is_some(), "glusterfs", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(g) = &vol.glusterfs else { return e };
        let p = path.child("glusterfs");
        if g.endpoints.is_empty() {
            e.push(field::required(&p.child("endpoints"), ""));
        }
        if g.path.is_empty() {
            e.push(field::required(&p.child("path"), ""));
        }
        e
    });
    one(vol.flocker.is_some(), "flocker", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(f) = &vol.flocker else { return e };
        let p = path.child("flocker");
        let (name, uuid) = (s(&f.dataset_name), s(&f.dataset_uuid));
        if name.is_empty() && uuid.is_empty() {
            e.push(field::required(&p, "one of datasetName and datasetUUID is required"));
        }
        if !name.is_empty() && !uuid.is_empty() {
            e.push(field::invalid(&p, "resource", "datasetName and datasetUUID can not be specified simultaneously"));
        }
        if name.contains('/') {
            e.push(field::invalid(&p.child("datasetName"), name, "must not contain '/'"));
        }
        e
    });
    one(vol.persistent_volume_claim.is_some(), "persistentVolumeClaim", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(claim) = &vol.persistent_volume_claim else {
            return e;
        };
        if claim.claim_name.is_empty() {
            e.push(field::required(&path.child("persistentVolumeClaim").child("claimName"), ""));
        }
        e
    });
    one(vol.rbd.is_some(), "rbd", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(rbd) = &vol.rbd else { return e };
        let p = path.child("rbd");
        if rbd.monitors.is_empty() {
            e.push(field::required(&p.child("monitors"), ""));
        }
        if rbd.image.is_empty() {
            e.push(field::required(&p.child("image"), ""));
        }
        e
    });
    one(vol.cinder.is_some(), "cinder", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(c) = &vol.cinder else { return e };
        let p = path.child("cinder");
        if c.volume_id.is_empty() {
            e.push(field::required(&p.child("volumeID"), ""));
        }
        if c.secret_ref.as_ref().is_some_and(|r| r.name.is_empty()) {
            e.push(field::required(&p.child("secretRef").child("name"), ""));
        }
        e
    });
    one(vol.cephfs.is_some(), "cephFS", &mut errs, &|| {
        let mut e = ErrorList::new();
        if vol.cephfs.as_ref().is_some_and(|c| c.monitors.is_empty()) {
            e.push(field::required(&path.child("cephfs").child("monitors"), ""));
        }
        e
    });
    one(vol.quobyte.is_some(), "quobyte", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(q) = &vol.quobyte else { return e };
        let p = path.child("quobyte");
        const REGISTRY_MSG: &str = "must be a host:port pair or multiple pairs separated by commas";
        if q.registry.is_empty() {
            e.push(field::required(&p.child("registry"), REGISTRY_MSG));
        } else if s(&q.tenant).len() >= 65 {
            e.push(field::required(&p.child("tenant"), "must be a UUID and may not exceed a length of 64 characters"));
        } else {
            for pair in q.registry.split(',') {
                if !is_host_port(pair) {
                    e.push(field::invalid(&p.child("registry"), q.registry.as_str(), REGISTRY_MSG));
                }
            }
        }
        if q.volume.is_empty() {
            e.push(field::required(&p.child("volume"), ""));
        }
        e
    });
    one(vol.downward_api.is_some(), "downwarAPI", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(d) = &vol.downward_api else { return e };
        let p = path.child("downwardAPI");
        e.append(validate_mode(d.default_mode, &p.child("defaultMode")));
        for file in d.items.iter().flatten() {
            e.append(validate_downward_api_volume_file(file, &p));
        }
        e
    });
    one(vol.fc.is_some(), "fc", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(fc) = &vol.fc else { return e };
        let p = path.child("fc");
        let wwns = fc.target_wwns.as_deref().unwrap_or_default();
        let wwids = fc.wwids.as_deref().unwrap_or_default();
        if wwns.is_empty() && wwids.is_empty() {
            e.push(field::required(&p.child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"));
        }
        if !wwns.is_empty() && !wwids.is_empty() {
            e.push(field::invalid(
                &p.child("targetWWNs"),
                BadValue::string_list(wwns),
                "targetWWNs and wwids can not be specified simultaneously",
            ));
        }
        if !wwns.is_empty() {
            match fc.lun {
                None => e.push(field::required(&p.child("lun"), "lun is required if targetWWNs is specified")),
                Some(lun) if !(0..=255).contains(&lun) => {
                    e.push(field::invalid(&p.child("lun"), lun, inclusive_range_error(0, 255)))
                }
                Some(_) => {}
            }
        }
        e
    });
    one(vol.flex_volume.is_some(), "flexVolume", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(f) = &vol.flex_volume else { return e };
        let p = path.child("flexVolume");
        if f.driver.is_empty() {
            e.push(field::required(&p.child("driver"), ""));
        }
        for k in f.options.iter().flat_map(|o| o.keys()) {
            let namespace = k.split_once('/').map_or(k.as_str(), |(ns, _)| ns);
            let normalized = format!(".{}", namespace.to_lowercase());
            if normalized.ends_with(".kubernetes.io") || normalized.ends_with(".k8s.io") {
                e.push(field::invalid(
                    &p.child("options").key(k.clone()),
                    k.as_str(),
                    "kubernetes.io and k8s.io namespaces are reserved",
                ));
            }
        }
        e
    });
    one(vol.config_map.is_some(), "configMap", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(cm) = &vol.config_map else { return e };
        let p = path.child("configMap");
        if cm.name.is_empty() {
            e.push(field::required(&p.child("name"), ""));
        }
        e.append(validate_mode(cm.default_mode, &p.child("defaultMode")));
        for (i, kp) in cm.items.iter().flatten().enumerate() {
            e.append(validate_key_to_path(kp, &p.child("items").index(i)));
        }
        e
    });
    one(vol.azure_file.is_some(), "azureFile", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(a) = &vol.azure_file else { return e };
        let p = path.child("azureFile");
        if a.secret_name.is_empty() {
            e.push(field::required(&p.child("secretName"), ""));
        }
        if a.share_name.is_empty() {
            e.push(field::required(&p.child("shareName"), ""));
        }
        e
    });
    one(vol.vsphere_volume.is_some(), "vsphereVolume", &mut errs, &|| {
        let mut e = ErrorList::new();
        if vol.vsphere_volume.as_ref().is_some_and(|v| v.volume_path.is_empty()) {
            e.push(field::required(&path.child("vsphereVolume").child("volumePath"), ""));
        }
        e
    });
    one(vol.photon_persistent_disk.is_some(), "photonPersistentDisk", &mut errs, &|| {
        let mut e = ErrorList::new();
        if vol.photon_persistent_disk.as_ref().is_some_and(|v| v.pd_id.is_empty()) {
            e.push(field::required(&path.child("photonPersistentDisk").child("pdID"), ""));
        }
        e
    });
    one(vol.portworx_volume.is_some(), "portworxVolume", &mut errs, &|| {
        let mut e = ErrorList::new();
        if vol.portworx_volume.as_ref().is_some_and(|v| v.volume_id.is_empty()) {
            e.push(field::required(&path.child("portworxVolume").child("volumeID"), ""));
        }
        e
    });
    one(vol.azure_disk.is_some(), "azureDisk", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(a) = &vol.azure_disk else { return e };
        let p = path.child("azureDisk");
        if a.disk_name.is_empty() {
            e.push(field::required(&p.child("diskName"), ""));
        }
        if a.disk_uri.is_empty() {
            e.push(field::required(&p.child("diskURI"), ""));
        }
        if let Some(mode) = &a.caching_mode
            && !matches!(mode.as_str(), "None" | "ReadOnly" | "ReadWrite")
        {
            e.push(field::not_supported(&p.child("cachingMode"), mode.as_str(), &["None", "ReadOnly", "ReadWrite"]));
        }
        if let Some(kind) = &a.kind {
            if !matches!(kind.as_str(), "Dedicated" | "Managed" | "Shared") {
                e.push(field::not_supported(&p.child("kind"), kind.as_str(), &["Dedicated", "Managed", "Shared"]));
            }
            if kind == "Managed" && !a.disk_uri.starts_with("/subscriptions/") {
                e.push(field::not_supported(
                    &p.child("diskURI"),
                    a.disk_uri.as_str(),
                    &["/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"],
                ));
            }
            if kind != "Managed" && !a.disk_uri.starts_with("https://") {
                e.push(field::not_supported(
                    &p.child("diskURI"),
                    a.disk_uri.as_str(),
                    &["https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"],
                ));
            }
        }
        e
    });
    one(vol.storageos.is_some(), "storageos", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(so) = &vol.storageos else { return e };
        let p = path.child("storageos");
        match s(&so.volume_name) {
            "" => e.push(field::required(&p.child("volumeName"), "")),
            name => e.append(dns1123_label(name, &p.child("volumeName"))),
        }
        if !s(&so.volume_namespace).is_empty() {
            e.append(dns1123_label(s(&so.volume_namespace), &p.child("volumeNamespace")));
        }
        if so.secret_ref.as_ref().is_some_and(|r| r.name.is_empty()) {
            e.push(field::required(&p.child("secretRef").child("name"), ""));
        }
        e
    });
    one(vol.projected.is_some(), "projected", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(pr) = &vol.projected else { return e };
        let p = path.child("projected");
        e.append(validate_mode(pr.default_mode, &p.child("defaultMode")));
        e.append(validate_projection_sources(pr.sources.as_deref().unwrap_or_default(), &p));
        e
    });
    one(vol.scale_io.is_some(), "scaleIO", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(sio) = &vol.scale_io else { return e };
        let p = path.child("scaleIO");
        if sio.gateway.is_empty() {
            e.push(field::required(&p.child("gateway"), ""));
        }
        if sio.system.is_empty() {
            e.push(field::required(&p.child("system"), ""));
        }
        if s(&sio.volume_name).is_empty() {
            e.push(field::required(&p.child("volumeName"), ""));
        }
        e
    });
    one(vol.csi.is_some(), "csi", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(csi) = &vol.csi else { return e };
        let p = path.child("csi");
        e.append(validate_csi_driver_name(&csi.driver, &p.child("driver")));
        if let Some(secret) = &csi.node_publish_secret_ref {
            let name = secret.name.as_str();
            if name.is_empty() {
                e.push(field::required(&p.child("nodePublishSecretRef").child("name"), ""));
            } else {
                e.append(name_errors(name_is_dns_subdomain(name, false), name, &p.child("name")));
            }
        }
        e
    });
    one(vol.ephemeral.is_some(), "ephemeral", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(eph) = &vol.ephemeral else { return e };
        let p = path.child("ephemeral");
        match &eph.volume_claim_template {
            None => e.push(field::required(&p.child("volumeClaimTemplate"), "")),
            Some(t) => e.append(validate_claim_template(t, &p.child("volumeClaimTemplate"))),
        }
        if let Some(pod) = pod_name.filter(|_| !vol.name.is_empty()) {
            let claim = format!("{pod}-{}", vol.name);
            for msg in name_is_dns_subdomain(&claim, false) {
                e.push(field::invalid(
                    &path.child("name"),
                    vol.name.as_str(),
                    format!("PVC name {}: {msg}", go_quote(&claim)),
                ));
            }
        }
        e
    });
    one(vol.image.is_some(), "image", &mut errs, &|| {
        let mut e = ErrorList::new();
        let Some(img) = &vol.image else { return e };
        let p = path.child("image");
        if resource_is_pod && s(&img.reference).is_empty() {
            e.push(field::required(&p.child("reference"), ""));
        }
        e.append(super::containers::validate_pull_policy(s(&img.pull_policy), &p.child("pullPolicy")));
        e
    });
    if count == 0 {
        errs.push(field::required(path, "must specify a volume type"));
    }
    errs
}

/// The claim template of an ephemeral volume: only labels and annotations in its metadata, and
/// the essentials of its claim spec.
fn validate_claim_template(
    template: &k8s_openapi::api::core::v1::PersistentVolumeClaimTemplate,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(meta) = &template.metadata {
        let meta_path = path.child("metadata");
        if let Some(annotations) = &meta.annotations {
            errs.append(validate_annotations(annotations, &meta_path.child("annotations")));
        }
        if let Some(labels) = &meta.labels {
            errs.append(validate_labels(labels, &meta_path.child("labels")));
        }
        let mut rest = meta.clone();
        rest.labels = None;
        rest.annotations = None;
        let rest = serde_json::to_value(&rest).unwrap_or_default();
        for key in rest.as_object().into_iter().flat_map(|o| o.keys()) {
            errs.push(field::forbidden(&meta_path.child(key.clone()), "cannot be set"));
        }
    }
    let spec = &template.spec;
    let spec_path = path.child("spec");
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(field::required(&spec_path.child("accessModes"), "at least 1 access mode is required"));
    }
    const MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
    for mode in modes {
        if !MODES.contains(&mode.as_str()) {
            errs.push(field::not_supported(&spec_path.child("accessModes"), mode.as_str(), MODES));
        }
    }
    let storage = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
    let storage_path = spec_path.child("resources").key("storage");
    match storage {
        None => errs.push(field::required(&storage_path, "")),
        Some(q) => match Quantity::try_from(q) {
            Ok(q) if q.sign() <= 0 => {
                errs.push(field::invalid(&storage_path, q.to_string(), "must be greater than zero"))
            }
            Ok(_) => {}
            Err(err) => errs.push(field::invalid(&storage_path, q.0.as_str(), err.to_string())),
        },
    }
    errs
}

fn is_host_port(pair: &str) -> bool {
    let (host, port) = if let Some(rest) = pair.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return false,
        }
    } else {
        match pair.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, p),
            _ => return false,
        }
    };
    let _ = host;
    !port.contains(':')
}

/// A CSI driver name (`ValidateCSIDriverName`).
fn validate_csi_driver_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if name.is_empty() {
        errs.push(field::required(path, ""));
    }
    if name.len() > 63 {
        errs.push(field::too_long(path, 63));
    }
    for msg in is_dns1123_subdomain(&name.to_lowercase()) {
        errs.push(field::invalid(path, name, msg));
    }
    errs
}
