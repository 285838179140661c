//! The volume sources of a persistent volume: exactly one, each with its required fields
//! (the PV part of upstream's `ValidatePersistentVolumeSpec`), and the volume's node affinity.

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, PersistentVolumeSpec, SecretReference};
use krs_apimachinery::validation::{
    ErrorList, Path, field, inclusive_range_error, is_dns1123_subdomain, is_valid_label_value, name_is_dns_subdomain,
    validate_label_name, validate_namespace_name,
};

use crate::strategy::core::service::checks;

const HOST_PATH_TYPES: &[&str] =
    &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
const AZURE_CACHING_MODES: &[&str] = &["None", "ReadOnly", "ReadWrite"];
const AZURE_DISK_KINDS: &[&str] = &["Dedicated", "Managed", "Shared"];

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

fn required_nonempty(errs: &mut ErrorList, value: &str, path: &Path) {
    if value.is_empty() {
        errs.push(field::required(path, ""));
    }
}

/// A path may not go up a directory (`validatePathNoBacksteps`).
fn no_backsteps(value: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if value.replace('\\', "/").split('/').any(|part| part == "..") {
        errs.push(field::invalid(path, value, "must not contain '..'"));
    }
    errs
}

fn partition(errs: &mut ErrorList, value: Option<i32>, path: &Path) {
    let p = value.unwrap_or(0);
    if !(0..=255).contains(&p) {
        errs.push(field::invalid(&path.child("partition"), p, inclusive_range_error(1, 255)));
    }
}

/// A CSI driver name: at most 63 characters, a DNS subdomain once lower-cased
/// (`ValidateCSIDriverName`).
pub(crate) fn csi_driver_name(name: &str, path: &Path) -> ErrorList {
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

/// A secret reference of a volume: name and namespace required (`validatePVSecretReference`).
fn secret_reference(secret: &SecretReference, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    match s(&secret.name) {
        "" => errs.push(field::required(&path.child("name"), "")),
        name => errs.append(checks::dns1123_subdomain(name, &path.child("name"))),
    }
    match s(&secret.namespace) {
        "" => errs.push(field::required(&path.child("namespace"), "")),
        ns => errs.append(checks::dns1123_label(ns, &path.child("namespace"))),
    }
    errs
}

/// Validates the one volume source of a spec.
pub(crate) fn validate_sources(spec: &PersistentVolumeSpec, path: &Path, node_affinity_set: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let count = std::cell::Cell::new(0);
    // Each present source either is the one, or is one too many. Upstream validates some
    // sources under a slightly different name than it reports "more than 1" for.
    let one = |errs: &mut ErrorList, name: &str, check: &dyn Fn() -> ErrorList| {
        if count.get() > 0 {
            errs.push(field::forbidden(&path.child(name), "may not specify more than 1 volume type"));
        } else {
            count.set(count.get() + 1);
            errs.append(check());
        }
    };
    if let Some(hp) = &spec.host_path {
        one(&mut errs, "hostPath", &|| {
            let p = path.child("hostPath");
            let mut e = ErrorList::new();
            if hp.path.is_empty() {
                e.push(field::required(&p.child("path"), ""));
                return e;
            }
            e.append(no_backsteps(&hp.path, &p.child("path")));
            if let Some(ty) = &hp.type_
                && !HOST_PATH_TYPES.contains(&ty.as_str())
            {
                e.push(field::not_supported(&p.child("type"), ty, HOST_PATH_TYPES));
            }
            e
        });
    }
    if let Some(pd) = &spec.gce_persistent_disk {
        one(&mut errs, "gcePersistentDisk", &|| {
            let p = path.child("persistentDisk");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &pd.pd_name, &p.child("pdName"));
            partition(&mut e, pd.partition, &p);
            e
        });
    }
    if let Some(ebs) = &spec.aws_elastic_block_store {
        one(&mut errs, "awsElasticBlockStore", &|| {
            let p = path.child("awsElasticBlockStore");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &ebs.volume_id, &p.child("volumeID"));
            partition(&mut e, ebs.partition, &p);
            e
        });
    }
    if let Some(g) = &spec.glusterfs {
        one(&mut errs, "glusterfs", &|| {
            let p = path.child("glusterfs");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &g.endpoints, &p.child("endpoints"));
            required_nonempty(&mut e, &g.path, &p.child("path"));
            match g.endpoints_namespace.as_deref() {
                Some("") => e.push(field::invalid(
                    &p.child("endpointsNamespace"),
                    "",
                    "if the endpointnamespace is set, it must be a valid namespace name",
                )),
                Some(ns) => e.append(checks::name(validate_namespace_name, ns, &p.child("endpointsNamespace"))),
                None => {}
            }
            e
        });
    }
    if let Some(f) = &spec.flocker {
        one(&mut errs, "flocker", &|| {
            let p = path.child("flocker");
            let mut e = ErrorList::new();
            let (name, uuid) = (s(&f.dataset_name), s(&f.dataset_uuid));
            if name.is_empty() && uuid.is_empty() {
                e.push(field::required(&p, "one of datasetName and datasetUUID is required"));
            }
            if !name.is_empty() && !uuid.is_empty() {
                e.push(field::invalid(
                    &p,
                    "resource",
                    "datasetName and datasetUUID can not be specified simultaneously",
                ));
            }
            if name.contains('/') {
                e.push(field::invalid(&p.child("datasetName"), name, "must not contain '/'"));
            }
            e
        });
    }
    if let Some(nfs) = &spec.nfs {
        one(&mut errs, "nfs", &|| {
            let p = path.child("nfs");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &nfs.server, &p.child("server"));
            if nfs.path.is_empty() {
                e.push(field::required(&p.child("path"), ""));
            }
            if !nfs.path.starts_with('/') {
                e.push(field::invalid(&p.child("path"), nfs.path.as_str(), "must be an absolute path"));
            }
            e
        });
    }
    if let Some(rbd) = &spec.rbd {
        one(&mut errs, "rbd", &|| {
            let p = path.child("rbd");
            let mut e = ErrorList::new();
            if rbd.monitors.is_empty() {
                e.push(field::required(&p.child("monitors"), ""));
            }
            required_nonempty(&mut e, &rbd.image, &p.child("image"));
            e
        });
    }
    if let Some(q) = &spec.quobyte {
        one(&mut errs, "quobyte", &|| {
            let p = path.child("quobyte");
            let mut e = ErrorList::new();
            if q.registry.is_empty() {
                e.push(field::required(&p.child("registry"), ""));
            } else if q.registry.split(',').any(|pair| !is_host_port(pair)) {
                e.push(field::invalid(
                    &p.child("registry"),
                    q.registry.as_str(),
                    "must be a host:port pair or multiple pairs separated by commas",
                ));
            }
            required_nonempty(&mut e, &q.volume, &p.child("volume"));
            e
        });
    }
    if let Some(c) = &spec.cephfs {
        one(&mut errs, "cephFS", &|| {
            let mut e = ErrorList::new();
            if c.monitors.is_empty() {
                e.push(field::required(&path.child("cephfs").child("monitors"), ""));
            }
            e
        });
    }
    if let Some(iscsi) = &spec.iscsi {
        one(&mut errs, "iscsi", &|| {
            let p = path.child("iscsi");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &iscsi.target_portal, &p.child("targetPortal"));
            if iscsi.iqn.is_empty() {
                e.push(field::required(&p.child("iqn"), ""));
            } else if !["iqn", "eui", "naa"].iter().any(|prefix| iscsi.iqn.starts_with(prefix)) {
                e.push(field::invalid(
                    &p.child("iqn"),
                    iscsi.iqn.as_str(),
                    "must be valid format starting with iqn, eui, or naa",
                ));
            }
            if !(0..=255).contains(&iscsi.lun) {
                e.push(field::invalid(&p.child("lun"), iscsi.lun, inclusive_range_error(0, 255)));
            }
            e
        });
    }
    if let Some(c) = &spec.cinder {
        one(&mut errs, "cinder", &|| {
            let p = path.child("cinder");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &c.volume_id, &p.child("volumeID"));
            if let Some(secret) = &c.secret_ref {
                e.append(secret_reference(secret, &p.child("secretRef")));
            }
            e
        });
    }
    if let Some(fc) = &spec.fc {
        one(&mut errs, "fc", &|| {
            let p = path.child("fc");
            let mut e = ErrorList::new();
            let wwns = fc.target_wwns.as_deref().unwrap_or_default();
            let wwids = fc.wwids.as_deref().unwrap_or_default();
            if wwns.is_empty() && wwids.is_empty() {
                e.push(field::required(
                    &p.child("targetWWNs"),
                    "must specify either targetWWNs or wwids, but not both",
                ));
            }
            if !wwns.is_empty() && !wwids.is_empty() {
                e.push(field::invalid(
                    &p.child("targetWWNs"),
                    checks::bad_value(wwns),
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
    }
    if let Some(flex) = &spec.flex_volume {
        // Upstream counts a flex volume without checking for another source first.
        count.set(count.get() + 1);
        required_nonempty(&mut errs, &flex.driver, &path.child("flexVolume").child("driver"));
    }
    if let Some(az) = &spec.azure_file {
        one(&mut errs, "azureFile", &|| {
            let p = path.child("azureFile");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &az.secret_name, &p.child("secretName"));
            required_nonempty(&mut e, &az.share_name, &p.child("shareName"));
            if az.secret_namespace.as_deref() == Some("") {
                e.push(field::required(&p.child("secretNamespace"), ""));
            }
            e
        });
    }
    if let Some(v) = &spec.vsphere_volume {
        one(&mut errs, "vsphereVolume", &|| {
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &v.volume_path, &path.child("vsphereVolume").child("volumePath"));
            e
        });
    }
    if let Some(ph) = &spec.photon_persistent_disk {
        one(&mut errs, "photonPersistentDisk", &|| {
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &ph.pd_id, &path.child("photonPersistentDisk").child("pdID"));
            e
        });
    }
    if let Some(px) = &spec.portworx_volume {
        one(&mut errs, "portworxVolume", &|| {
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &px.volume_id, &path.child("portworxVolume").child("volumeID"));
            e
        });
    }
    if let Some(az) = &spec.azure_disk {
        one(&mut errs, "azureDisk", &|| {
            let p = path.child("azureDisk");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &az.disk_name, &p.child("diskName"));
            required_nonempty(&mut e, &az.disk_uri, &p.child("diskURI"));
            if let Some(mode) = az.caching_mode.as_deref()
                && !AZURE_CACHING_MODES.contains(&mode)
            {
                e.push(field::not_supported(&p.child("cachingMode"), mode, AZURE_CACHING_MODES));
            }
            if let Some(kind) = az.kind.as_deref()
                && !AZURE_DISK_KINDS.contains(&kind)
            {
                e.push(field::not_supported(&p.child("kind"), kind, AZURE_DISK_KINDS));
            }
            let managed = az.kind.as_deref() == Some("Managed");
            if managed && !az.disk_uri.starts_with("/subscriptions/") {
                e.push(field::invalid(
                    &p.child("diskURI"),
                    az.disk_uri.as_str(),
                    "DataDiskURI should match the Managed format",
                ));
            }
            if !managed && az.kind.is_some() && !az.disk_uri.starts_with("https://") {
                e.push(field::invalid(
                    &p.child("diskURI"),
                    az.disk_uri.as_str(),
                    "DataDiskURI should match the non Managed format",
                ));
            }
            e
        });
    }
    if let Some(sio) = &spec.scale_io {
        one(&mut errs, "scaleIO", &|| {
            let p = path.child("scaleIO");
            let mut e = ErrorList::new();
            required_nonempty(&mut e, &sio.gateway, &p.child("gateway"));
            required_nonempty(&mut e, &sio.system, &p.child("system"));
            required_nonempty(&mut e, s(&sio.volume_name), &p.child("volumeName"));
            e
        });
    }
    if let Some(local) = &spec.local {
        one(&mut errs, "local", &|| {
            let p = path.child("local");
            let mut e = ErrorList::new();
            if local.path.is_empty() {
                e.push(field::required(&p.child("path"), ""));
                return e;
            }
            e.append(no_backsteps(&local.path, &p.child("path")));
            if !node_affinity_set {
                e.push(field::required(&path.child("nodeAffinity"), "Local volume requires node affinity"));
            }
            e
        });
    }
    if let Some(so) = &spec.storageos {
        one(&mut errs, "storageos", &|| {
            let p = path.child("storageos");
            let mut e = ErrorList::new();
            match s(&so.volume_name) {
                "" => e.push(field::required(&p.child("volumeName"), "")),
                name => e.append(checks::dns1123_label(name, &p.child("volumeName"))),
            }
            if let Some(ns) = so.volume_namespace.as_deref().filter(|ns| !ns.is_empty()) {
                e.append(checks::dns1123_label(ns, &p.child("volumeNamespace")));
            }
            if let Some(secret) = &so.secret_ref {
                required_nonempty(&mut e, s(&secret.name), &p.child("secretRef").child("name"));
                required_nonempty(&mut e, s(&secret.namespace), &p.child("secretRef").child("namespace"));
            }
            e
        });
    }
    if let Some(csi) = &spec.csi {
        one(&mut errs, "csi", &|| {
            let p = path.child("csi");
            let mut e = csi_driver_name(&csi.driver, &p.child("driver"));
            required_nonempty(&mut e, &csi.volume_handle, &p.child("volumeHandle"));
            for (secret, name) in [
                (&csi.controller_publish_secret_ref, "controllerPublishSecretRef"),
                (&csi.controller_expand_secret_ref, "controllerExpandSecretRef"),
                (&csi.node_publish_secret_ref, "nodePublishSecretRef"),
                (&csi.node_expand_secret_ref, "nodeExpandSecretRef"),
            ] {
                if let Some(secret) = secret {
                    e.append(secret_reference(secret, &p.child(name)));
                }
            }
            e
        });
    }
    if count.get() == 0 {
        errs.push(field::required(path, "must specify a volume type"));
    }
    errs
}

/// `host:port`, as Go's `net.SplitHostPort` accepts it.
fn is_host_port(pair: &str) -> bool {
    if let Some(rest) = pair.strip_prefix('[') {
        return rest.split_once("]:").is_some_and(|(host, port)| !host.contains(']') && !port.contains(':'));
    }
    pair.matches(':').count() == 1
}

/// A required node selector (`ValidateNodeSelector` of a volume's node affinity).
pub(crate) fn validate_node_selector(selector: &NodeSelector, allow_invalid_values: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let terms_path = path.child("nodeSelectorTerms");
    if selector.node_selector_terms.is_empty() {
        errs.push(field::required(&terms_path, "must have at least one node selector term"));
        return errs;
    }
    for (i, term) in selector.node_selector_terms.iter().enumerate() {
        let tp = terms_path.index(i);
        for (j, req) in term.match_expressions.iter().flatten().enumerate() {
            errs.append(validate_requirement(req, allow_invalid_values, &tp.child("matchExpressions").index(j)));
        }
        for (j, req) in term.match_fields.iter().flatten().enumerate() {
            errs.append(validate_field_requirement(req, &tp.child("matchFields").index(j)));
        }
    }
    errs
}

fn validate_requirement(req: &NodeSelectorRequirement, allow_invalid_values: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" | "NotIn" if values.is_empty() => {
            errs.push(field::required(&path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(field::forbidden(
            &path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errs.push(field::required(
            &path.child("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        op => errs.push(field::invalid(&path.child("operator"), op, "not a valid selector operator")),
    }
    errs.append(validate_label_name(&req.key, &path.child("key")));
    if !allow_invalid_values {
        for (i, v) in values.iter().enumerate() {
            errs.append(checks::each(v, &path.child("values").index(i), is_valid_label_value(v)));
        }
    }
    errs
}

fn validate_field_requirement(req: &NodeSelectorRequirement, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" | "NotIn" => {
            if values.len() != 1 {
                errs.push(field::required(
                    &path.child("values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                ));
            }
        }
        op => errs.push(field::invalid(&path.child("operator"), op, "not a valid selector operator")),
    }
    if req.key != "metadata.name" {
        errs.push(field::invalid(&path.child("key"), req.key.as_str(), "not a valid field selector key"));
    } else {
        for (i, v) in values.iter().enumerate() {
            errs.append(checks::name(name_is_dns_subdomain, v, &path.child("values").index(i)));
        }
    }
    errs
}
