//! Delete: upstream's `rest.BeforeDelete` and `Store.Delete`: preconditions, graceful deletion
//! (the strategy decides the grace period), finalizers (an object with finalizers is marked
//! with a deletionTimestamp and stays until they are cleared), propagation finalizers
//! (orphan, foregroundDeletion), then removal.

use std::sync::Arc;

use bytes::Bytes;
use krs_api::ResourceInfo;
use krs_apimachinery::validation::{FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS};
use krs_store::StoreError;

use super::{WriteContext, decode_stored, encode_for_storage, key, now};
use crate::errors::ApiError;
use crate::handler::App;
use crate::objbytes::with_resource_version;

/// metav1.DeleteOptions, from the body and the query.
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// Orphan, Background or Foreground.
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

impl DeleteOptions {
    /// Reads a DeleteOptions JSON body (already decoded from any format).
    pub fn from_value(v: &serde_json::Value) -> Result<DeleteOptions, ApiError> {
        let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("DeleteOptions");
        if kind != "DeleteOptions" {
            return Err(ApiError::bad_request(format!("expected a DeleteOptions body, got kind {kind:?}")));
        }
        let text = |p: &serde_json::Value| p.as_str().map(str::to_string);
        Ok(DeleteOptions {
            grace_period_seconds: v.get("gracePeriodSeconds").and_then(|g| g.as_i64()),
            propagation_policy: v.get("propagationPolicy").and_then(text),
            orphan_dependents: v.get("orphanDependents").and_then(|o| o.as_bool()),
            precondition_uid: v.pointer("/preconditions/uid").and_then(text),
            precondition_resource_version: v.pointer("/preconditions/resourceVersion").and_then(text),
        })
    }

    fn validate(&self) -> Result<(), ApiError> {
        if let Some(p) = &self.propagation_policy {
            if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
            if self.orphan_dependents.is_some() {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Invalid value: \"{p}\": orphanDependents and deletionPropagation cannot be both set"
                )));
            }
        }
        if self.grace_period_seconds.is_some_and(|g| g < 0) {
            return Err(ApiError::bad_request("gracePeriodSeconds: Invalid value: must be non-negative"));
        }
        Ok(())
    }

    /// The propagation finalizer this delete adds, if any.
    fn propagation_finalizer(&self) -> Option<&'static str> {
        match (self.propagation_policy.as_deref(), self.orphan_dependents) {
            (Some("Orphan"), _) | (None, Some(true)) => Some(FINALIZER_ORPHAN_DEPENDENTS),
            (Some("Foreground"), _) => Some(FINALIZER_DELETE_DEPENDENTS),
            _ => None,
        }
    }
}

/// What a delete did.
pub enum DeleteOutcome {
    /// The object is gone. `body` is what to answer: the deleted object for resources that
    /// return it, else a Status.
    Deleted { body: Bytes },
    /// The object was marked for deletion (graceful or finalizers pending); its new state.
    Pending { body: Bytes },
}

/// Deletes one object.
pub async fn delete(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &WriteContext,
    namespace: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<DeleteOutcome, ApiError> {
    opts.validate()?;
    crate::admission::admit_delete(res, name)?;
    let key = key(res, namespace, name)?;
    let (mut current, _) = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, res, name))?;
    loop {
        let kv = current.take().ok_or_else(|| ApiError::not_found(res, name))?;
        let mut obj = decode_stored(res, &kv)?;
        if let Some(uid) = &opts.precondition_uid {
            let actual = obj.meta().uid.clone().unwrap_or_default();
            if *uid != actual {
                return Err(ApiError::conflict(
                    res,
                    name,
                    &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
                ));
            }
        }
        if let Some(rv) = &opts.precondition_resource_version
            && *rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::conflict(
                res,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    kv.mod_revision
                ),
            ));
        }

        // Graceful deletion: the strategy decides whether the object lingers (pods on nodes).
        let grace = res.strategy.graceful_delete_period(obj.as_ref(), opts.grace_period_seconds);
        let was_marked = obj.meta().deletion_timestamp.is_some();
        let keep = res.strategy.before_delete(obj.as_mut()).map_err(|msg| ApiError::conflict(res, name, &msg))?;
        let mut changed = keep && !was_marked;
        {
            let meta = obj.meta_mut();
            let finalizers = meta.finalizers.get_or_insert_with(Vec::new);
            if let Some(add) = opts.propagation_finalizer() {
                let other = if add == FINALIZER_ORPHAN_DEPENDENTS {
                    FINALIZER_DELETE_DEPENDENTS
                } else {
                    FINALIZER_ORPHAN_DEPENDENTS
                };
                if let Some(pos) = finalizers.iter().position(|f| f == other) {
                    finalizers.remove(pos);
                    changed = true;
                }
                if !finalizers.iter().any(|f| f == add) {
                    finalizers.push(add.to_string());
                    changed = true;
                }
            } else if opts.propagation_policy.as_deref() == Some("Background") {
                // An explicit Background delete of an object left by a Foreground or Orphan one
                // drops those finalizers, as upstream does.
                let before = finalizers.len();
                finalizers.retain(|f| f != FINALIZER_ORPHAN_DEPENDENTS && f != FINALIZER_DELETE_DEPENDENTS);
                changed |= before != finalizers.len();
            }
            let has_finalizers = !finalizers.is_empty();
            if meta.finalizers.as_ref().is_some_and(|f| f.is_empty()) {
                meta.finalizers = None;
            }
            let graceful = grace.is_some_and(|g| g > 0);
            if has_finalizers || graceful || keep {
                let period = grace.unwrap_or(0);
                match (&meta.deletion_timestamp, meta.deletion_grace_period_seconds) {
                    // Already being deleted: only a shorter grace period changes anything.
                    (Some(_), Some(existing)) if period >= existing => {}
                    (Some(_), None) if !graceful => {}
                    _ => {
                        let mut when = now();
                        when.0 += jiff::SignedDuration::from_secs(period);
                        meta.deletion_timestamp = Some(when);
                        meta.deletion_grace_period_seconds = Some(period);
                        changed = true;
                    }
                }
                if !changed {
                    return Ok(DeleteOutcome::Pending {
                        body: Bytes::from(with_resource_version(&kv.value, kv.mod_revision)),
                    });
                }
                let value = encode_for_storage(obj.as_mut());
                if ctx.dry_run {
                    return Ok(DeleteOutcome::Pending {
                        body: Bytes::from(with_resource_version(&value, kv.mod_revision)),
                    });
                }
                match app.store.update(&key, value.clone(), kv.mod_revision, kv.lease).await {
                    Ok(rev) => {
                        return Ok(DeleteOutcome::Pending { body: Bytes::from(with_resource_version(&value, rev)) });
                    }
                    Err(StoreError::Conflict { current: latest, .. }) => {
                        current = latest.map(|b| *b);
                        continue;
                    }
                    Err(e) => return Err(ApiError::from_store(e, res, name)),
                }
            }
        }

        let body = |rev: i64| -> Bytes {
            if res.return_deleted_object {
                Bytes::from(with_resource_version(&kv.value, rev))
            } else {
                deleted_status(res, name, obj.meta().uid.as_deref().unwrap_or(""))
            }
        };
        if ctx.dry_run {
            return Ok(DeleteOutcome::Deleted { body: body(kv.mod_revision) });
        }
        match app.store.delete(&key, Some(kv.mod_revision)).await {
            Ok((rev, _)) => {
                if let Some(h) = app.hooks(res) {
                    h.release(app, &h.held(obj.as_ref())).await;
                }
                return Ok(DeleteOutcome::Deleted { body: body(rev) });
            }
            Err(StoreError::Conflict { current: latest, .. }) => current = latest.map(|b| *b),
            Err(StoreError::NotFound(_)) => return Err(ApiError::not_found(res, name)),
            Err(e) => return Err(ApiError::from_store(e, res, name)),
        }
    }
}

/// The Status a delete answers with: Success, naming the object.
fn deleted_status(res: &ResourceInfo, name: &str, uid: &str) -> Bytes {
    let status = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": res.group, "kind": res.resource, "uid": uid},
    });
    Bytes::from(serde_json::to_vec(&status).unwrap_or_default())
}

/// Deletes the listed objects (namespace, name) of a deletecollection, one by one as upstream
/// does. Returns their last states' JSON.
pub async fn delete_collection(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &WriteContext,
    objects: Vec<(String, String)>,
    opts: &DeleteOptions,
) -> Result<Vec<Bytes>, ApiError> {
    let mut deleted = Vec::with_capacity(objects.len());
    for (namespace, name) in objects {
        match delete(app, res, ctx, &namespace, &name, opts).await {
            Ok(DeleteOutcome::Deleted { body }) | Ok(DeleteOutcome::Pending { body }) => deleted.push(body),
            // Deleted concurrently: nothing left to do for this one.
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}
