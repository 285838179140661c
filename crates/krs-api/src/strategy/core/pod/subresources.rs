//! The pod subresources that change part of a pod: `ephemeralcontainers` (what `kubectl debug`
//! adds), `resize` (container resources in place) and `binding` (the scheduler's; its change is
//! computed by the API server).

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use krs_apimachinery::validation::{ErrorList, Path, field};

use crate::strategy::{typed, typed_mut};
use krs_kinds::Object;

/// Keeps everything of `old` but what the subresource may change.
pub fn prepare(subresource: &str, new: &mut dyn Object, old: &dyn Object) {
    let (Some(old), Some(new_pod)) = (typed::<Pod>(old), typed::<Pod>(new)) else { return };
    let mut merged = old.clone();
    match subresource {
        "ephemeralcontainers" => {
            let ephemeral = new_pod.spec.as_ref().and_then(|s| s.ephemeral_containers.clone());
            if let Some(spec) = merged.spec.as_mut() {
                spec.ephemeral_containers = ephemeral;
            }
        }
        "resize" => {
            // Only container resources (and the resize policy) change in place.
            let (Some(spec), Some(new_spec)) = (merged.spec.as_mut(), new_pod.spec.as_ref()) else { return };
            for c in spec.containers.iter_mut() {
                if let Some(n) = new_spec.containers.iter().find(|n| n.name == c.name) {
                    c.resources = n.resources.clone();
                    c.resize_policy = n.resize_policy.clone();
                }
            }
        }
        // binding: the API server computed the whole new object.
        _ => return,
    }
    merged.metadata.resource_version = new_pod.metadata.resource_version.clone();
    if let Some(p) = typed_mut::<Pod>(new) {
        *p = merged;
    }
}

/// Upstream's ValidatePodEphemeralContainersUpdate, in its main rules: ephemeral containers may
/// only be added; their names are unique among all the pod's containers; they may not set
/// ports, probes, lifecycle hooks, resources or a restart policy.
pub fn validate(subresource: &str, new: &dyn Object, old: &dyn Object) -> ErrorList {
    let mut errors = ErrorList::new();
    if subresource != "ephemeralcontainers" {
        return errors;
    }
    let (Some(new), Some(old)) = (typed::<Pod>(new), typed::<Pod>(old)) else { return errors };
    let path = Path::new("spec").child("ephemeralContainers");
    let empty = Vec::new();
    let new_list: &Vec<EphemeralContainer> =
        new.spec.as_ref().and_then(|s| s.ephemeral_containers.as_ref()).unwrap_or(&empty);
    let old_list: &Vec<EphemeralContainer> =
        old.spec.as_ref().and_then(|s| s.ephemeral_containers.as_ref()).unwrap_or(&empty);
    for o in old_list {
        match new_list.iter().find(|n| n.name == o.name) {
            Some(n) if n == o => {}
            Some(_) => errors.push(field::forbidden(
                &path,
                format!("existing ephemeral containers \"{}\" may not be changed", o.name),
            )),
            None => errors.push(field::forbidden(
                &path,
                format!("existing ephemeral containers \"{}\" may not be removed", o.name),
            )),
        }
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(spec) = new.spec.as_ref() {
        names.extend(spec.containers.iter().map(|c| c.name.clone()));
        names.extend(spec.init_containers.iter().flatten().map(|c| c.name.clone()));
    }
    for (i, c) in new_list.iter().enumerate() {
        let p = path.index(i);
        if names.contains(&c.name) {
            errors.push(field::duplicate(&p.child("name"), c.name.as_str()));
        }
        names.push(c.name.clone());
        if c.image.as_deref().unwrap_or("").is_empty() {
            errors.push(field::required(&p.child("image"), ""));
        }
        let forbidden = [
            ("ports", c.ports.as_ref().is_some_and(|v| !v.is_empty())),
            ("livenessProbe", c.liveness_probe.is_some()),
            ("readinessProbe", c.readiness_probe.is_some()),
            ("startupProbe", c.startup_probe.is_some()),
            ("lifecycle", c.lifecycle.is_some()),
            ("resources", c.resources.as_ref().is_some_and(|r| r.requests.is_some() || r.limits.is_some())),
            ("restartPolicy", c.restart_policy.is_some()),
        ];
        for (f, set) in forbidden {
            if set {
                errors.push(field::forbidden(&p.child(f), "cannot be set for an Ephemeral Container"));
            }
        }
    }
    errors
}
