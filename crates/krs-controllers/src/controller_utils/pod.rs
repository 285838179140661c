//! Pod helpers (upstream's podutil) and pod control: creating pods from a template with a
//! controller reference and deleting them, with the events upstream records.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, Resource};

use crate::Error;
use crate::events::{EventRecorder, NORMAL, WARNING};

pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

/// Not terminal and not being deleted (upstream's IsPodActive).
pub fn is_pod_active(pod: &Pod) -> bool {
    let p = phase(pod);
    p != "Succeeded" && p != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

pub fn is_pod_terminating(pod: &Pod) -> bool {
    let p = phase(pod);
    p != "Succeeded" && p != "Failed" && pod.metadata.deletion_timestamp.is_some()
}

fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

pub fn is_pod_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// When the pod last became ready, if it is.
pub fn pod_ready_time(pod: &Pod) -> Option<Timestamp> {
    condition(pod, "Ready").filter(|c| c.status == "True").and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0)
}

/// Ready for at least `min_ready_seconds` at `now` (upstream's IsPodAvailable).
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    match pod_ready_time(pod) {
        Some(t) => t + jiff::SignedDuration::from_secs(i64::from(min_ready_seconds)) <= now,
        None => false,
    }
}

/// The pod-deletion-cost annotation; absent or invalid counts as 0.
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST))
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0)
}

/// The controller reference to `owner` that controllers put on what they create.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The controller (managing owner) reference of an object.
pub fn get_controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_ref()?.iter().find(|r| r.controller == Some(true))
}

/// Creates and deletes pods on behalf of a controller.
#[derive(Clone)]
pub struct PodControl {
    pub client: Client,
    pub recorder: EventRecorder,
}

impl PodControl {
    /// The pod a controller creates from `template` (upstream's GetPodFromTemplate).
    pub fn pod_from_template(template: &PodTemplateSpec, owner_name: &str, owner: Option<OwnerReference>) -> Pod {
        let tm = template.metadata.clone().unwrap_or_default();
        Pod {
            metadata: ObjectMeta {
                generate_name: Some(format!("{owner_name}-")),
                labels: tm.labels.clone(),
                annotations: tm.annotations.clone(),
                finalizers: tm.finalizers.clone(),
                owner_references: owner.map(|o| vec![o]),
                ..Default::default()
            },
            spec: template.spec.clone(),
            status: None,
        }
    }

    /// Creates `pod` in `namespace` for `owner`, recording SuccessfulCreate or FailedCreate.
    pub async fn create<K: Resource<DynamicType = ()>>(
        &self,
        namespace: &str,
        pod: &Pod,
        owner: &K,
    ) -> Result<Pod, Error> {
        if pod.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
            return Err(Error::Invalid("unable to create pods, no labels".into()));
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        match api.create(&PostParams::default(), pod).await {
            Ok(created) => {
                let name = created.metadata.name.clone().unwrap_or_default();
                self.recorder.event(owner, NORMAL, "SuccessfulCreate", format!("Created pod: {name}"));
                Ok(created)
            }
            Err(e) => {
                // A namespace being deleted refuses new pods; upstream records no event for it.
                if !is_namespace_terminating_error(&e) {
                    self.recorder.event(
                        owner,
                        WARNING,
                        "FailedCreate",
                        format!("Error creating: {}", api_error_message(&e)),
                    );
                }
                Err(e.into())
            }
        }
    }

    /// Deletes pod `name` (only the one with `uid`, when given), recording SuccessfulDelete or
    /// FailedDelete. A pod already gone is not an error.
    pub async fn delete<K: Resource<DynamicType = ()>>(
        &self,
        namespace: &str,
        name: &str,
        uid: Option<&str>,
        owner: &K,
    ) -> Result<(), Error> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let dp = DeleteParams {
            preconditions: uid.map(|u| Preconditions { uid: Some(u.to_string()), resource_version: None }),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => {
                self.recorder.event(owner, NORMAL, "SuccessfulDelete", format!("Deleted pod: {name}"));
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => {
                self.recorder.event(
                    owner,
                    WARNING,
                    "FailedDelete",
                    format!("Error deleting: {}", api_error_message(&e)),
                );
                Err(e.into())
            }
        }
    }

    /// Patches `pod`'s ownerReferences to add `owner` as its controller (adoption).
    pub async fn adopt(&self, pod: &Pod, owner: &OwnerReference) -> Result<(), Error> {
        let patch = serde_json::json!({
            "metadata": {"ownerReferences": [owner], "uid": pod.metadata.uid}
        });
        self.patch_pod(pod, &patch).await
    }

    /// Removes the owner reference with `owner_uid` from `pod` (release).
    pub async fn release(&self, pod: &Pod, owner_uid: &str) -> Result<(), Error> {
        let patch = serde_json::json!({
            "metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": pod.metadata.uid}
        });
        self.patch_pod(pod, &patch).await
    }

    async fn patch_pod(&self, pod: &Pod, patch: &serde_json::Value) -> Result<(), Error> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        match api.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await {
            Ok(_) => Ok(()),
            // Gone, or its UID changed (the patch carries the UID as a precondition): nothing to
            // claim.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

pub fn api_error_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

pub fn is_namespace_terminating_error(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 && s.message.contains("because it is being terminated"))
}

pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}
