//! Admission checks that upstream runs as admission plugins and that every cluster has.
//!
//! NamespaceLifecycle: objects cannot be created in a namespace that does not exist or is being
//! terminated, and the system namespaces (default, kube-system, kube-public) cannot be deleted.

use krs_api::ResourceInfo;

use crate::errors::ApiError;
use crate::handler::App;

/// The namespaces NamespaceLifecycle never lets anyone delete.
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Admission of a delete request.
pub fn admit_delete(res: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    if res.group.is_empty() && res.resource == "namespaces" && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(Some(res), name, "this namespace may not be deleted"));
    }
    Ok(())
}

/// Admission of a create of `name` (possibly empty, for generated names) in `namespace`.
pub async fn admit_create(app: &App, res: &ResourceInfo, namespace: &str, name: &str) -> Result<(), ApiError> {
    if !res.namespaced {
        return Ok(());
    }
    let Some(ns_res) = app.catalog.lookup("", "v1", "namespaces").cloned() else {
        return Ok(());
    };
    let key = format!("/registry/namespaces/{namespace}");
    // The cache answers almost always; a namespace created an instant ago may not be in it
    // yet, so a miss is checked against the store.
    let cached = app.cacher(&ns_res).and_then(|c| c.get(&key));
    let json = match cached {
        Some(obj) => obj.json.clone(),
        None => {
            let (kv, _) = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, &ns_res, namespace))?;
            match kv {
                Some(kv) => kv.value,
                None => return Err(ApiError::not_found(&ns_res, namespace)),
            }
        }
    };
    let terminating = serde_json::from_slice::<serde_json::Value>(&json).ok().is_some_and(|v| {
        v.pointer("/status/phase").and_then(|p| p.as_str()) == Some("Terminating")
            || v.pointer("/metadata/deletionTimestamp").is_some()
    });
    if terminating {
        return Err(ApiError::forbidden(
            Some(res),
            name,
            &format!("unable to create new content in namespace {namespace} because it is being terminated"),
        ));
    }
    Ok(())
}
