//! The status of a ReplicaSet or ReplicationController (upstream's calculateStatus and
//! updateReplicaSetStatus), written through the status subresource.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use super::ReplicatedKind;
use crate::Error;
use crate::controller_utils::now;
use crate::controller_utils::pod::is_pod_available;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub last_transition_time: Time,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub replicas: i32,
    pub fully_labeled_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: Option<i64>,
    /// None: leave the conditions as they are (no change needed).
    pub conditions: Option<serde_json::Value>,
}

impl Status {
    fn to_json(&self) -> serde_json::Value {
        let mut v = json!({
            "replicas": self.replicas,
            "fullyLabeledReplicas": self.fully_labeled_replicas,
            "readyReplicas": self.ready_replicas,
            "availableReplicas": self.available_replicas,
            "observedGeneration": self.observed_generation,
        });
        if let (Some(c), Some(obj)) = (&self.conditions, v.as_object_mut()) {
            obj.insert("conditions".into(), c.clone());
        }
        v
    }
}

pub fn calculate<K: ReplicatedKind>(
    set: &K,
    owned: &[Arc<Pod>],
    _all: &[Arc<Pod>],
    manage_err: Option<&Error>,
) -> Status {
    let template_labels =
        set.template().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    let min_ready = set.min_ready_seconds();
    let now = now();
    let mut s = Status {
        replicas: i32::try_from(owned.len()).unwrap_or(i32::MAX),
        fully_labeled_replicas: 0,
        ready_replicas: 0,
        available_replicas: 0,
        observed_generation: set.meta().generation,
        conditions: None,
    };
    for pod in owned {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        if template_labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            s.fully_labeled_replicas += 1;
        }
        if crate::controller_utils::pod::is_pod_ready(pod) {
            s.ready_replicas += 1;
            if is_pod_available(pod, min_ready, now) {
                s.available_replicas += 1;
            }
        }
    }
    let current = set.status_json();
    let existing: Vec<serde_json::Value> =
        current.get("conditions").and_then(|c| c.as_array()).cloned().unwrap_or_default();
    let has_failure = existing.iter().any(|c| c.get("type").and_then(|t| t.as_str()) == Some("ReplicaFailure"));
    match manage_err {
        Some(e) if !has_failure => {
            let reason = if owned.len() < usize::try_from(set.replicas().max(0)).unwrap_or(0) {
                "FailedCreate"
            } else {
                "FailedDelete"
            };
            let mut conds = existing;
            let cond = Condition {
                type_: "ReplicaFailure".into(),
                status: "True".into(),
                last_transition_time: Time(now),
                reason: reason.into(),
                message: e.to_string(),
            };
            conds.push(serde_json::to_value(cond).unwrap_or_default());
            s.conditions = Some(serde_json::Value::Array(conds));
        }
        None if has_failure => {
            let conds: Vec<_> = existing
                .into_iter()
                .filter(|c| c.get("type").and_then(|t| t.as_str()) != Some("ReplicaFailure"))
                .collect();
            s.conditions =
                Some(if conds.is_empty() { serde_json::Value::Null } else { serde_json::Value::Array(conds) });
        }
        _ => {}
    }
    s
}

/// Writes `status` unless the object already has it.
pub async fn update<K: ReplicatedKind>(client: &kube::Client, set: &K, status: &Status) -> Result<Status, Error> {
    let current = set.status_json();
    let num = |k: &str| current.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
    let unchanged = num("replicas") == i64::from(status.replicas)
        && num("fullyLabeledReplicas") == i64::from(status.fully_labeled_replicas)
        && num("readyReplicas") == i64::from(status.ready_replicas)
        && num("availableReplicas") == i64::from(status.available_replicas)
        && current.get("observedGeneration").and_then(|v| v.as_i64()) == status.observed_generation
        && status.conditions.is_none();
    if unchanged {
        return Ok(status.clone());
    }
    let meta = set.meta();
    let api: Api<K> = Api::namespaced(client.clone(), meta.namespace.as_deref().unwrap_or("default"));
    let patch = json!({"status": status.to_json()});
    match api
        .patch_status(meta.name.as_deref().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(status.clone()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(status.clone()),
        Err(e) => Err(e.into()),
    }
}
