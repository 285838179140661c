//! The agent's events about pods and their containers (reportingController `kubelet`), with
//! upstream kubelet's reasons and notes: Pulling, Pulled, Created, Started, Killing, BackOff,
//! Failed, Unhealthy, SandboxChanged and admission rejections. They are written in the
//! background by [`krs_events`], correlated and rate-limited as client-go's recorder does.

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use krs_events::EventRecorder;

pub use krs_events::{NORMAL, WARNING};

/// Where the agent's events go; `Events::default()` drops them (simulated nodes, unit tests).
#[derive(Clone, Default)]
pub struct Events(Option<EventRecorder>);

impl Events {
    pub fn new(recorder: EventRecorder) -> Events {
        Events(Some(recorder))
    }

    /// An event about the pod.
    pub fn pod(&self, pod: &Pod, type_: &'static str, reason: &str, note: impl Into<String>) {
        if let Some(r) = &self.0 {
            r.event_ref(pod_ref(pod, None), None, type_, reason, reason, note);
        }
    }

    /// An event about the node (upstream's reference: kind Node, the node's name as UID).
    pub fn node(&self, name: &str, type_: &'static str, reason: &str, note: impl Into<String>) {
        if let Some(r) = &self.0 {
            let regarding = ObjectReference {
                kind: Some("Node".into()),
                name: Some(name.into()),
                uid: Some(name.into()),
                ..Default::default()
            };
            r.event_ref(regarding, None, type_, reason, reason, note);
        }
    }

    /// An event about one of the pod's containers (its `fieldPath` names the container).
    pub fn container(&self, pod: &Pod, container: &str, type_: &'static str, reason: &str, note: impl Into<String>) {
        if let Some(r) = &self.0 {
            r.event_ref(pod_ref(pod, Some(container)), None, type_, reason, reason, note);
        }
    }
}

/// A reference to the pod, or to one of its containers as `spec.containers{name}`,
/// `spec.initContainers{name}` or `spec.ephemeralContainers{name}`.
pub fn pod_ref(pod: &Pod, container: Option<&str>) -> ObjectReference {
    let field_path = container.map(|name| {
        let spec = pod.spec.as_ref();
        let named = |list: Option<&Vec<k8s_openapi::api::core::v1::Container>>| {
            list.is_some_and(|l| l.iter().any(|c| c.name == name))
        };
        let list = if named(spec.map(|s| &s.containers)) {
            "containers"
        } else if named(spec.and_then(|s| s.init_containers.as_ref())) {
            "initContainers"
        } else if spec.and_then(|s| s.ephemeral_containers.as_ref()).is_some_and(|l| l.iter().any(|c| c.name == name)) {
            "ephemeralContainers"
        } else {
            "containers"
        };
        format!("spec.{list}{{{name}}}")
    });
    let meta = &pod.metadata;
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_references_name_the_list_the_container_is_in() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {
                "initContainers": [{"name": "setup"}],
                "containers": [{"name": "app"}],
                "ephemeralContainers": [{"name": "debug"}]
            }
        }))
        .expect("pod");
        let path = |c: Option<&str>| pod_ref(&pod, c).field_path;
        assert_eq!(path(None), None);
        assert_eq!(path(Some("app")).as_deref(), Some("spec.containers{app}"));
        assert_eq!(path(Some("setup")).as_deref(), Some("spec.initContainers{setup}"));
        assert_eq!(path(Some("debug")).as_deref(), Some("spec.ephemeralContainers{debug}"));
        let r = pod_ref(&pod, None);
        assert_eq!((r.kind.as_deref(), r.namespace.as_deref(), r.uid.as_deref()), (Some("Pod"), Some("ns"), Some("u")));
    }
}
