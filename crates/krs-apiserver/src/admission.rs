//! Admission checks that upstream runs as admission plugins and that every cluster has.
//!
//! NamespaceLifecycle: objects cannot be created in a namespace that does not exist or is being
//! terminated, and the system namespaces (default, kube-system, kube-public) cannot be deleted.

use crate::errors::ApiError;
use crate::handler::App;
use krs_api::ResourceInfo;

/// The namespaces NamespaceLifecycle never lets anyone delete.
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Admission of a delete request.
pub fn admit_delete(res: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    if res.group.is_empty() && res.resource == "namespaces" && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(
            Some(res),
            name,
            "this namespace may not be deleted",
        ));
    }
    Ok(())
}

/// Admission of a create in a namespace.
pub async fn admit_create(app: &App, res: &ResourceInfo, namespace: &str) -> Result<(), ApiError> {
    if res.namespaced {
        app.check_namespace_for_create(namespace).await?;
    }
    Ok(())
}
