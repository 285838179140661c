//! The pods and claims of a StatefulSet: stable names, hostnames, labels and storage.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::controller_utils::PodControl;
use crate::controller_utils::pod::controller_ref;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

pub fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", set.metadata.name.clone().unwrap_or_default())
}

/// The ordinal in a pod's name, if the pod is named after `set`.
pub fn ordinal_of(set: &StatefulSet, pod: &Pod) -> Option<i32> {
    let name = pod.metadata.name.as_deref()?;
    let prefix = format!("{}-", set.metadata.name.as_deref()?);
    name.strip_prefix(&prefix)?.parse().ok()
}

pub fn claim_name(template: &str, set: &StatefulSet, ordinal: i32) -> String {
    format!("{template}-{}", pod_name(set, ordinal))
}

pub fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata.labels.as_ref()?.get(REVISION_LABEL).map(String::as_str)
}

/// The pod for `ordinal` from `template` at `revision`, with its identity and storage.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let name = pod_name(set, ordinal);
    let mut pod = PodControl::pod_from_template(
        template,
        &set.metadata.name.clone().unwrap_or_default(),
        Some(controller_ref(set)),
    );
    pod.metadata.generate_name = None;
    pod.metadata.name = Some(name.clone());
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_LABEL.into(), revision.into());
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.hostname = Some(name);
    spec.subdomain = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
    // Each claim template becomes a volume of the same name bound to the pod's own claim.
    for t in set.spec.as_ref().and_then(|s| s.volume_claim_templates.clone()).unwrap_or_default() {
        let vname = t.metadata.name.clone().unwrap_or_default();
        let volumes = spec.volumes.get_or_insert_with(Vec::new);
        volumes.retain(|v| v.name != vname);
        volumes.push(Volume {
            name: vname.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&vname, set, ordinal),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    pod
}

/// The claims `ordinal` needs, owned by the set when whenDeleted is Delete.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let selector_labels = set.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    let owners = match when_deleted(set) {
        "Delete" => Some(vec![owner_ref(set)]),
        _ => None,
    };
    set.spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let tname = t.metadata.name.clone().unwrap_or_default();
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&tname, set, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    owner_references: owners.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: None,
            }
        })
        .collect()
}

/// A non-controller owner reference (claims are owned, not controlled, by their set or pod).
pub fn owner_ref<K: kube::Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let mut r = controller_ref(owner);
    r.controller = None;
    r
}

fn retention(set: &StatefulSet) -> (String, String) {
    let p = set.spec.as_ref().and_then(|s| s.persistent_volume_claim_retention_policy.clone()).unwrap_or_default();
    (p.when_deleted.unwrap_or_else(|| "Retain".into()), p.when_scaled.unwrap_or_else(|| "Retain".into()))
}

pub fn when_deleted(set: &StatefulSet) -> &'static str {
    if retention(set).0 == "Delete" { "Delete" } else { "Retain" }
}

pub fn when_scaled(set: &StatefulSet) -> &'static str {
    if retention(set).1 == "Delete" { "Delete" } else { "Retain" }
}
