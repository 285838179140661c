//! Static pods: manifests (YAML or JSON) in a directory, run by the agent without the API,
//! each mirrored to the API as a mirror pod (annotation kubernetes.io/config.mirror) that shows
//! its status. A manifest's pod gets a UID from its content and the node, so the same
//! manifest is the same pod across agent restarts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use crate::error::{kube_conflict, kube_not_found};
use crate::kubelet::{Kubelet, MIRROR_ANNOTATION};

pub const SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";
pub const HASH_ANNOTATION: &str = "kubernetes.io/config.hash";

/// How often the manifest directory is read (upstream fileCheckFrequency).
const CHECK_EVERY: Duration = Duration::from_secs(20);

pub fn is_static(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(SOURCE_ANNOTATION)).is_some_and(|s| s == "file")
}

/// Reads one manifest into the pod the node runs.
pub fn load(path: &Path, node: &str) -> Result<Pod, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut pod: Pod = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let name = pod
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{}: the pod has no name", path.display()))?;
    let ns = pod.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{node}\n{text}").as_bytes());
    let hex: String = digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let uid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
    pod.metadata.name = Some(format!("{name}-{node}"));
    pod.metadata.namespace = Some(ns);
    pod.metadata.uid = Some(uid.clone());
    let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(SOURCE_ANNOTATION.into(), "file".into());
    annotations.insert(HASH_ANNOTATION.into(), uid);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(node.to_owned());
    // Static pods run whatever the node's taints say.
    spec.tolerations.get_or_insert_with(Vec::new).push(Toleration {
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        ..Default::default()
    });
    if spec.restart_policy.is_none() {
        spec.restart_policy = Some("Always".into());
    }
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        if c.termination_message_path.is_none() {
            c.termination_message_path = Some("/dev/termination-log".into());
        }
    }
    Ok(pod)
}

fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    !name.starts_with('.') && p.is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The mirror pod of a static pod, as created in the API.
fn mirror_of(pod: &Pod, node_uid: Option<&str>) -> Pod {
    let mut m = pod.clone();
    m.metadata.uid = None;
    m.status = None;
    let hash = pod.metadata.uid.clone().unwrap_or_default();
    m.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(MIRROR_ANNOTATION.into(), hash);
    if let Some(uid) = node_uid {
        m.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
            uid: uid.to_owned(),
            controller: Some(true),
            ..Default::default()
        }]);
    }
    m
}

/// Watches the manifest directory and keeps static pods and their mirrors in line with it.
pub async fn run(kubelet: Arc<Kubelet>, dir: PathBuf) {
    let node = kubelet.options().node_name.clone();
    let mut current: HashMap<String, Arc<Pod>> = HashMap::new();
    loop {
        let mut seen = HashMap::new();
        for path in manifests(&dir) {
            match load(&path, &node) {
                Ok(pod) => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    seen.insert(uid, Arc::new(pod));
                }
                Err(e) => tracing::warn!(error = %e, "static pod manifest"),
            }
        }
        for (uid, pod) in &seen {
            if !current.contains_key(uid) {
                tracing::info!(pod = ?pod.metadata.name, "static pod added");
                kubelet.upsert_pod(pod.clone()).await;
            }
            ensure_mirror(&kubelet, pod).await;
        }
        for (uid, pod) in &current {
            if !seen.contains_key(uid) {
                tracing::info!(pod = ?pod.metadata.name, "static pod removed");
                kubelet.remove_pod(pod.clone());
                delete_mirror(&kubelet, pod).await;
            }
        }
        current = seen;
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

async fn ensure_mirror(kubelet: &Kubelet, pod: &Pod) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(kubelet.client().clone(), ns);
    let hash = pod.metadata.uid.clone().unwrap_or_default();
    match api.get(name).await {
        Ok(existing) => {
            let existing_hash = existing.metadata.annotations.as_ref().and_then(|a| a.get(MIRROR_ANNOTATION)).cloned();
            if existing_hash.as_deref() == Some(hash.as_str()) {
                kubelet.set_mirror(&hash, existing.metadata.uid.as_deref());
                return;
            }
            // An older version of the manifest (or not a mirror at all): replace it.
            let _ = api.delete(name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
        }
        Err(e) if kube_not_found(&e) => {}
        Err(e) => {
            tracing::warn!(error = %e, pod = %name, "reading mirror pod");
            return;
        }
    }
    let node_uid = kubelet.node_uid();
    match api.create(&PostParams::default(), &mirror_of(pod, node_uid.as_deref())).await {
        Ok(m) => kubelet.set_mirror(&hash, m.metadata.uid.as_deref()),
        Err(e) if kube_conflict(&e) => {}
        Err(e) => tracing::warn!(error = %e, pod = %name, "creating mirror pod"),
    }
}

async fn delete_mirror(kubelet: &Kubelet, pod: &Pod) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(kubelet.client().clone(), ns);
    let _ = api.delete(name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_become_pods() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("web.yaml");
        std::fs::write(&path, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n")
            .expect("write");
        let a = load(&path, "n1").expect("pod");
        assert_eq!(a.metadata.name.as_deref(), Some("web-n1"));
        assert_eq!(a.metadata.namespace.as_deref(), Some("default"));
        assert!(is_static(&a));
        let b = load(&path, "n1").expect("pod");
        assert_eq!(a.metadata.uid, b.metadata.uid, "the same manifest is the same pod");
        assert_ne!(a.metadata.uid, load(&path, "n2").expect("pod").metadata.uid);
        let m = mirror_of(&a, Some("node-uid"));
        assert!(m.metadata.uid.is_none());
        assert_eq!(m.metadata.annotations.as_ref().and_then(|x| x.get(MIRROR_ANNOTATION)), a.metadata.uid.as_ref());
        assert_eq!(manifests(dir.path()), vec![path]);
    }
}
