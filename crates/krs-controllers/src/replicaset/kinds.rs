//! What the controller needs of ReplicaSets and ReplicationControllers: one controller serves
//! both, as upstream's ReplicationManager wraps the ReplicaSet controller.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait ReplicatedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The kind in owner references.
    const KIND: &'static str;
    /// The reporting controller of events and the workers' name.
    const CONTROLLER: &'static str;
    /// The work queue's name in metrics.
    const QUEUE: &'static str;
    fn replicas(&self) -> i32;
    /// The pod selector; None when it selects nothing.
    fn selector(&self) -> Option<LabelSelector>;
    fn template(&self) -> Option<&PodTemplateSpec>;
    fn min_ready_seconds(&self) -> i32;
    /// The current status as JSON (for comparison with the computed one).
    fn status_json(&self) -> serde_json::Value;
}

impl ReplicatedKind for ReplicaSet {
    const KIND: &'static str = "ReplicaSet";
    const CONTROLLER: &'static str = "replicaset-controller";
    const QUEUE: &'static str = "replicaset";
    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn selector(&self) -> Option<LabelSelector> {
        self.spec.as_ref().map(|s| s.selector.clone())
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.status).unwrap_or_default()
    }
}

impl ReplicatedKind for ReplicationController {
    const KIND: &'static str = "ReplicationController";
    const CONTROLLER: &'static str = "replication-controller";
    const QUEUE: &'static str = "replicationmanager";
    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn selector(&self) -> Option<LabelSelector> {
        // An RC's selector is a plain map; an empty one selects nothing.
        let sel = self.spec.as_ref()?.selector.clone()?;
        if sel.is_empty() {
            return None;
        }
        Some(LabelSelector { match_labels: Some(sel), match_expressions: None })
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.status).unwrap_or_default()
    }
}
