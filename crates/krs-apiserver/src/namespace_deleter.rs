//! Deletes the content of terminating namespaces, then the namespaces themselves: the part of
//! upstream's namespace controller that a cluster needs from its first start. A namespace
//! being deleted keeps the `kubernetes` finalizer in spec.finalizers until every namespaced
//! object in it is gone; then it is finalized and removed.
//!
//! It runs inside the API server and talks to the registry directly; the controller manager
//! will own it once it exists.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use krs_api::{ResourceInfo, Verbs};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::cacher::{Everything, ListOptions};
use crate::handler::App;
use crate::registry::update::Part;
use crate::registry::{self, DeleteOptions, DeleteOutcome, UpdateKind, WriteContext};

/// How often terminating namespaces are looked at again while content remains.
const RESYNC: Duration = Duration::from_millis(500);
const FINALIZER: &str = "kubernetes";

/// Starts the deleter. It stops when the returned task is aborted.
pub fn spawn(app: Arc<App>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let busy = Arc::new(Mutex::new(HashSet::<String>::new()));
        loop {
            for name in terminating(&app) {
                if !busy.lock().insert(name.clone()) {
                    continue;
                }
                let (app, busy) = (app.clone(), busy.clone());
                tokio::spawn(async move {
                    if let Err(e) = delete_namespace(&app, &name).await {
                        tracing::info!(namespace = %name, error = %e, "namespace deletion will be retried");
                    }
                    busy.lock().remove(&name);
                });
            }
            tokio::time::sleep(RESYNC).await;
        }
    })
}

fn namespaces(app: &App) -> Option<Arc<ResourceInfo>> {
    app.catalog.lookup("", "v1", "namespaces").cloned()
}

/// Names of the namespaces marked for deletion.
fn terminating(app: &App) -> Vec<String> {
    let Some(res) = namespaces(app) else {
        return Vec::new();
    };
    let Some(cacher) = app.cacher(&res) else {
        return Vec::new();
    };
    let page = cacher.list(&ListOptions {
        prefix: cacher.prefix(),
        start: None,
        limit: 0,
        filter: &Everything,
        unfiltered: true,
    });
    page.items
        .iter()
        .filter(|o| {
            serde_json::from_slice::<serde_json::Value>(&o.json)
                .ok()
                .is_some_and(|v| v.pointer("/metadata/deletionTimestamp").is_some())
        })
        .map(|o| o.name.clone())
        .collect()
}

/// The resources whose objects live in namespaces, one per storage location.
fn namespaced_resources(app: &App) -> Vec<Arc<ResourceInfo>> {
    let mut seen = HashSet::new();
    app.catalog
        .resources()
        .filter(|r| {
            r.namespaced
                && r.storage.is_some()
                && r.verbs.contains(Verbs::LIST.with(Verbs::DELETE))
                && !r.needs_conversion()
        })
        .filter(|r| seen.insert(r.storage.as_ref().map(|s| s.prefix.clone()).unwrap_or_default()))
        .cloned()
        .collect()
}

/// One pass over a terminating namespace: deletes what it holds; once nothing remains,
/// finalizes and removes it.
async fn delete_namespace(app: &Arc<App>, name: &str) -> Result<(), String> {
    let ctx =
        WriteContext { user: "system:serviceaccount:kube-system:namespace-controller".into(), ..Default::default() };
    let mut remaining = 0usize;
    for res in namespaced_resources(app) {
        let Some(cacher) = app.cacher(&res) else {
            continue;
        };
        let rev = app.store.current_revision().await.map_err(|e| e.to_string())?;
        if !cacher.wait_for_revision(rev, Duration::from_secs(3)).await {
            return Err(format!("the {} cache is behind", res.resource));
        }
        let prefix = format!("{}{name}/", cacher.prefix());
        let page =
            cacher.list(&ListOptions { prefix: &prefix, start: None, limit: 0, filter: &Everything, unfiltered: true });
        for obj in page.items {
            match registry::delete(app, &res, &ctx, name, &obj.name, &DeleteOptions::default()).await {
                Ok(DeleteOutcome::Deleted { .. }) => {}
                Ok(DeleteOutcome::Pending { .. }) => remaining += 1,
                Err(e) if e.code() == 404 => {}
                Err(e) => {
                    return Err(format!("deleting {} {}/{}: {e}", res.resource, name, obj.name));
                }
            }
        }
    }
    if remaining > 0 {
        return Err(format!("{remaining} objects are still being deleted"));
    }
    let ns_res = namespaces(app).ok_or("namespaces are missing from the catalog")?;
    let stored = registry::get(app, &ns_res, "", name).await.map_err(|e| e.to_string())?;
    let mut ns = krs_kinds::downcast_ref::<Namespace>(stored.object.as_ref()).cloned().ok_or("not a namespace")?;
    let had = ns.spec.as_ref().and_then(|s| s.finalizers.as_ref()).is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    if had {
        if let Some(f) = ns.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
            f.retain(|x| x != FINALIZER);
        }
        let mut ctx = ctx.clone();
        registry::update(
            app,
            &ns_res,
            &mut ctx,
            "",
            name,
            UpdateKind::Replace(Box::new(ns)),
            Part::Subresource("finalize"),
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    match registry::delete(app, &ns_res, &ctx, "", name, &DeleteOptions::default()).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == 404 => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
