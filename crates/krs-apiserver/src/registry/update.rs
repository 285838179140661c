//! Update and patch: upstream's `rest.BeforeUpdate` inside a guaranteed-update loop (read,
//! change, compare-and-swap on the revision, retry on conflict unless the client made the
//! update conditional on a resourceVersion).

use std::sync::Arc;

use bytes::Bytes;
use krs_api::ResourceInfo;
use krs_apimachinery::validation::{ErrorList, Path, validate_object_meta, validate_object_meta_update};
use krs_kinds::Object;
use krs_store::StoreError;

use super::{WriteContext, decode_stored, encode_for_storage, key, reconcile_namespace};
use crate::errors::ApiError;
use crate::handler::App;
use crate::objbytes::with_resource_version;
use crate::patch::{PatchType, apply_patch};

/// What an update does to the stored object.
pub enum UpdateKind {
    /// PUT: replace it with this object.
    Replace(Box<dyn Object>),
    /// PATCH: apply this patch to it.
    Patch { patch_type: PatchType, body: Bytes },
    /// A change computed from the current object's JSON (subresources such as scale and
    /// binding). It may set `metadata.resourceVersion` to make the update conditional; an
    /// error aborts the update.
    Mutate(Box<Mutation>),
    /// A change made to (a copy of) the current object itself, for writes that know its kind:
    /// no JSON round trip. Unconditional; an error aborts the update.
    MutateObject(Box<ObjectMutation>),
    /// A binding: `stored` changes the stored JSON itself ([`super::binding`]); where it cannot
    /// (`Ok(None)`), `object` changes the decoded object, as [`UpdateKind::MutateObject`].
    Bind { stored: Box<StoredMutation>, object: Box<ObjectMutation> },
}

/// See [`UpdateKind::Mutate`].
pub type Mutation = dyn Fn(&mut serde_json::Value) -> Result<(), ApiError> + Send + Sync;

/// See [`UpdateKind::MutateObject`].
pub type ObjectMutation = dyn Fn(&mut dyn Object) -> Result<(), ApiError> + Send + Sync;

/// See [`UpdateKind::Bind`]: the stored JSON (which may carry its resourceVersion) to the JSON
/// to store, or `None` to change the decoded object instead.
pub type StoredMutation = dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, ApiError> + Send + Sync;

/// The part of the object an update may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// The main resource: everything but the status of kinds with a status subresource.
    Main,
    /// The status subresource: only the status.
    Status,
    /// The scale subresource: a write of the main resource's `.spec.replicas`, prepared and
    /// validated as the main resource, whose manager is recorded with `subresource: scale`.
    Scale,
    /// Another subresource of the object's own kind (finalize, approval, ...): what the
    /// strategy lets it change.
    Subresource(&'a str),
}

/// The result of an update.
pub struct Updated {
    pub json: Bytes,
    /// True when a PUT created the object (201).
    pub created: bool,
}

/// How many times an unconditional update retries after losing a race.
const MAX_RETRIES: usize = 16;

/// Updates (or patches) the object `name`.
pub async fn update(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &mut WriteContext,
    namespace: &str,
    name: &str,
    kind: UpdateKind,
    part: Part<'_>,
) -> Result<Updated, ApiError> {
    let key = key(res, namespace, name)?;
    if let Some(cached) = cached_current(app, res, &key, part) {
        // As upstream's GuaranteedUpdate: a failure on a cached copy (a pod deleted and
        // created again, seen as already bound) is judged again on the stored object.
        let warnings = ctx.warnings.len();
        if let Ok(updated) = update_from(app, res, ctx, namespace, name, &key, &kind, part, Some(cached)).await {
            return Ok(updated);
        }
        ctx.warnings.truncate(warnings);
    }
    let stored = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, res, name))?.0;
    update_from(app, res, ctx, namespace, name, &key, &kind, part, stored).await
}

/// The guaranteed-update loop, starting from `current` (`None`: the object does not exist).
#[allow(clippy::too_many_arguments)]
async fn update_from(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &mut WriteContext,
    namespace: &str,
    name: &str,
    key: &str,
    kind: &UpdateKind,
    part: Part<'_>,
    mut current: Option<krs_store::KeyValue>,
) -> Result<Updated, ApiError> {
    let binding = part == Part::Subresource("binding");
    for _ in 0..MAX_RETRIES {
        let Some(kv) = current.take() else {
            return match kind {
                UpdateKind::Replace(obj) if part == Part::Main && res.strategy.allow_create_on_update() => {
                    let json = super::create(app, res, ctx, namespace, obj.clone_object()).await?;
                    Ok(Updated { json, created: true })
                }
                // An apply of an absent object creates it.
                UpdateKind::Patch { patch_type: PatchType::Apply, body } if part == Part::Main => {
                    let config = apply_config(name, body)?;
                    let applied = super::managed::apply(res, ctx, None, &config, ctx.force)?;
                    let obj = decode_applied(res, applied)?;
                    ctx.applied = true;
                    let created = super::create(app, res, ctx, namespace, obj).await;
                    ctx.applied = false;
                    Ok(Updated { json: created?, created: true })
                }
                _ => Err(ApiError::not_found(res, name)),
            };
        };
        // A binding done on the JSON skips decoding, preparing and encoding the pod: a binding
        // is stored as the binding made it (nothing to default, validate or track), and pods
        // have no write hooks.
        if let UpdateKind::Bind { stored, .. } = kind
            && binding
            && !ctx.dry_run
            && app.hooks(res).is_none()
            && let Some(value) = stored(&kv.value)?
        {
            let value = Bytes::from(value);
            match app.store.update(key, value.clone(), kv.mod_revision, kv.lease).await {
                Ok(rev) => {
                    return Ok(Updated { json: Bytes::from(with_resource_version(&value, rev)), created: false });
                }
                Err(StoreError::Conflict { current: latest, .. }) => {
                    current = latest.map(|b| *b);
                    if current.is_none() {
                        return Err(ApiError::not_found(res, name));
                    }
                    continue;
                }
                Err(e) => return Err(ApiError::from_store(e, res, name)),
            }
        }
        let mut old = decode_stored(res, &kv)?;
        let (mut new, conditional) = match kind {
            UpdateKind::Replace(obj) => {
                let new = obj.clone_object();
                let rv = new.meta().resource_version.clone().unwrap_or_default();
                if rv.is_empty() {
                    if !res.strategy.allow_unconditional_update() {
                        let mut errors = ErrorList::new();
                        errors.push(krs_apimachinery::validation::field::invalid(
                            &Path::new("metadata").child("resourceVersion"),
                            rv.as_str(),
                            "must be specified for an update",
                        ));
                        return Err(ApiError::invalid(res, name, &errors));
                    }
                    (new, false)
                } else {
                    (new, true)
                }
            }
            UpdateKind::Patch { patch_type: PatchType::Apply, body } => {
                if part != Part::Main {
                    return Err(ApiError::unsupported_media_type(PatchType::Apply.content_type()));
                }
                let config = apply_config(name, body)?;
                let live: serde_json::Value =
                    serde_json::from_slice(&with_resource_version(&kv.value, kv.mod_revision))
                        .map_err(|e| ApiError::internal(format!("stored object {} is unreadable: {e}", kv.key)))?;
                let applied = super::managed::apply(res, ctx, Some(&live), &config, ctx.force)?;
                let conditional =
                    config.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty());
                let mut obj = decode_applied(res, applied)?;
                if !conditional {
                    obj.meta_mut().resource_version = Some(kv.mod_revision.to_string());
                }
                (obj, conditional)
            }
            UpdateKind::Patch { patch_type, body } => {
                let patched = apply_patch(res, &kv, *patch_type, body)?;
                // A patch that sets a resourceVersion of its own makes the update conditional.
                let conditional = patched.meta().resource_version.as_deref() != Some(&kv.mod_revision.to_string()[..]);
                (patched, conditional)
            }
            UpdateKind::Mutate(mutate) => {
                let mut doc: serde_json::Value =
                    serde_json::from_slice(&with_resource_version(&kv.value, kv.mod_revision))
                        .map_err(|e| ApiError::internal(format!("stored object {} is unreadable: {e}", kv.key)))?;
                mutate(&mut doc)?;
                let codec = res.codec.ok_or_else(|| ApiError::internal(format!("no codec for {}", res.kind)))?;
                let changed = codec.decode_value(doc, &mut |_| {}).map_err(|e| ApiError::internal(e.to_string()))?;
                let conditional = changed.meta().resource_version.as_deref() != Some(&kv.mod_revision.to_string()[..]);
                (changed, conditional)
            }
            UpdateKind::MutateObject(mutate) | UpdateKind::Bind { object: mutate, .. } => {
                // A binding's copy takes the stored managedFields over instead of copying them
                // (a deep tree per pod): a binding records no manager, so nothing reads the old
                // object's after this point (only the new object's are validated).
                let managed = if binding { old.meta_mut().managed_fields.take() } else { None };
                let mut changed = old.clone_object();
                if binding {
                    changed.meta_mut().managed_fields = managed;
                }
                mutate(changed.as_mut())?;
                changed.meta_mut().resource_version = Some(kv.mod_revision.to_string());
                (changed, false)
            }
        };
        if conditional {
            let requested = new.meta().resource_version.clone().unwrap_or_default();
            if requested != kv.mod_revision.to_string() {
                return Err(ApiError::conflict_modified(res, name));
            }
        }
        match new.meta().name.as_deref() {
            None | Some("") => new.meta_mut().name = Some(name.to_string()),
            Some(n) if n == name => {}
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
        }
        reconcile_namespace(res, new.meta_mut(), namespace)?;

        if app.priority_admission && part == Part::Main && res.group.is_empty() && res.resource == "pods" {
            crate::admission::keep_pod_priority(new.as_mut(), old.as_ref());
        }
        ctx.applied = matches!(kind, UpdateKind::Patch { patch_type: PatchType::Apply, .. });
        let prepared = prepare_update(res, ctx, new.as_mut(), old.as_ref(), part);
        ctx.applied = false;
        let outcome = prepared?;
        match part {
            Part::Main if outcome == Outcome::Store => {
                crate::admission::validate(app, res, ctx, namespace, new.as_mut(), Some(old.as_ref())).await?;
            }
            Part::Subresource(sub) if outcome == Outcome::Store => {
                crate::admission::validate_subresource(app, res, ctx, namespace, sub, new.as_ref(), old.as_ref())
                    .await?;
            }
            _ => {}
        }
        let hooks = app.hooks(res).cloned();
        let (reserved, freed) = match &hooks {
            Some(h) if outcome == Outcome::Store => {
                h.before_update(app, new.as_mut(), old.as_ref(), ctx.dry_run).await?
            }
            Some(h) => (Default::default(), h.held(old.as_ref())),
            None => Default::default(),
        };
        let release = |r: super::super::allocators::Reserved| {
            let hooks = hooks.clone();
            async move {
                if let Some(h) = hooks
                    && !r.is_empty()
                {
                    h.release(app, &r).await;
                }
            }
        };
        let value = encode_for_storage(new.as_mut());
        if value == kv.value {
            // Nothing changed: no write, the object keeps its resourceVersion.
            release(reserved).await;
            return Ok(Updated {
                json: Bytes::from(with_resource_version(&kv.value, kv.mod_revision)),
                created: false,
            });
        }
        if ctx.dry_run {
            return Ok(Updated { json: Bytes::from(with_resource_version(&value, kv.mod_revision)), created: false });
        }
        let result = if outcome == Outcome::Delete {
            app.store.delete(key, Some(kv.mod_revision)).await.map(|(rev, _)| rev)
        } else {
            app.store.update(key, value.clone(), kv.mod_revision, kv.lease).await
        };
        if result.is_err() {
            release(reserved).await;
        } else {
            release(freed).await;
        }
        match result {
            Ok(rev) => {
                return Ok(Updated { json: Bytes::from(with_resource_version(&value, rev)), created: false });
            }
            Err(StoreError::Conflict { current: latest, .. }) => {
                if conditional {
                    return Err(ApiError::conflict_modified(res, name));
                }
                current = latest.map(|b| *b);
                if current.is_none() {
                    return Err(ApiError::not_found(res, name));
                }
            }
            Err(e) => return Err(ApiError::from_store(e, res, name)),
        }
    }
    Err(ApiError::conflict(res, name, "too many concurrent updates, please retry"))
}

/// Where a binding starts: the watch cache's copy of the pod, as upstream's GuaranteedUpdate
/// starts from the cacher's object, which saves a read of the store on the busiest write of a
/// scheduling burst. A stale copy costs nothing but a retry: the write is a compare-and-swap on
/// the revision, and its conflict hands back the stored object; a refusal computed from the
/// copy is judged again on the stored object ([`update`]). Only for bindings: pods are
/// never attached to a lease (the copy does not know the lease), and a binding always changes
/// the pod (the unchanged-object check compares stored bytes, which the copy does not have).
fn cached_current(app: &App, res: &ResourceInfo, key: &str, part: Part<'_>) -> Option<krs_store::KeyValue> {
    if part != Part::Subresource("binding") {
        return None;
    }
    let cached = app.running_cacher(res)?.get(key)?;
    Some(krs_store::KeyValue {
        key: key.to_owned(),
        value: cached.json.clone(),
        create_revision: 0,
        mod_revision: cached.resource_version,
        version: 0,
        lease: 0,
    })
}

/// The configuration of an apply patch (YAML or JSON), checked against the resource and the
/// object name of the URL.
fn apply_config(name: &str, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let config = crate::encoding::yaml_to_json(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !config.is_object() {
        return Err(ApiError::bad_request("an apply configuration must be an object"));
    }
    let api_version = config.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default();
    let kind = config.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err(ApiError::bad_request("apiVersion and kind must be set in an apply configuration"));
    }
    if let Some(n) = config.pointer("/metadata/name").and_then(|n| n.as_str()).filter(|n| *n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    Ok(config)
}

fn decode_applied(res: &ResourceInfo, applied: serde_json::Value) -> Result<Box<dyn Object>, ApiError> {
    let codec = res.codec.ok_or_else(|| ApiError::internal(format!("no codec for {}", res.kind)))?;
    codec
        .decode_value(applied, &mut |_| {})
        .map_err(|e| ApiError::bad_request(format!("error decoding the applied object: {e}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Store,
    /// The update removed the last finalizer of an object being deleted: delete it.
    Delete,
}

/// upstream's `rest.BeforeUpdate`: keeps what an update may not change, lets the strategy
/// prepare, bumps generation, validates.
fn prepare_update(
    res: &ResourceInfo,
    ctx: &mut WriteContext,
    new: &mut dyn Object,
    old: &dyn Object,
    part: Part<'_>,
) -> Result<Outcome, ApiError> {
    // A binding writes the pod at the storage layer, as upstream's BindingREST does: the new
    // object is the stored one with the node name and condition set by the binding, so it is
    // neither defaulted nor validated again, warns of nothing, and gets no managedFields entry
    // for spec.nodeName (the busiest write of a scheduling burst does no more than it must).
    if part == Part::Subresource("binding") {
        return Ok(Outcome::Store);
    }
    let strategy = res.strategy;
    strategy.default(new);
    {
        let (nm, om) = (new.meta_mut(), old.meta());
        nm.generation = om.generation;
        if nm.uid.as_deref().unwrap_or("").is_empty() {
            nm.uid = om.uid.clone();
        }
        if om.creation_timestamp.is_some() {
            nm.creation_timestamp = om.creation_timestamp.clone();
        }
        if om.deletion_timestamp.is_some() {
            nm.deletion_timestamp = om.deletion_timestamp.clone();
        }
        if om.deletion_grace_period_seconds.is_some() && nm.deletion_grace_period_seconds.is_none() {
            nm.deletion_grace_period_seconds = om.deletion_grace_period_seconds;
        }
    }
    match part {
        Part::Main | Part::Scale => {
            if res.has_status() {
                new.copy_status_from(old);
            }
            strategy.prepare_for_update(new, old);
            if res.generation && !new.spec_equal(old) {
                new.meta_mut().generation = Some(old.meta().generation.unwrap_or(0) + 1);
            }
        }
        Part::Status => {
            new.copy_spec_from(old);
            reset_meta_for_status(new, old);
            strategy.prepare_for_status_update(new, old);
        }
        Part::Subresource(sub) => strategy.prepare_for_subresource_update(sub, new, old),
    }
    let name = new.meta().name.clone().unwrap_or_default();
    let meta_path = Path::new("metadata");
    let mut errors = validate_object_meta(new.meta(), res.namespaced, strategy.name_validator(), &meta_path);
    errors.append(validate_object_meta_update(new.meta(), old.meta(), &meta_path));
    match part {
        Part::Main | Part::Scale => errors.append(strategy.validate_update(new, old)),
        Part::Status => errors.append(strategy.validate_status_update(new, old)),
        Part::Subresource(sub) => errors.append(strategy.validate_subresource_update(sub, new, old)),
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(res, &name, &errors));
    }
    ctx.warnings.extend(strategy.warnings_on_update(new, old));
    strategy.canonicalize(new);
    if !ctx.applied {
        let subresource = match part {
            Part::Main => "",
            Part::Scale => "scale",
            Part::Status => "status",
            Part::Subresource(s) => s,
        };
        super::managed::track(res, ctx, Some(old), new, subresource)?;
    }
    if strategy.should_delete_during_update(new) {
        return Ok(Outcome::Delete);
    }
    Ok(Outcome::Store)
}

/// upstream's `ResetObjectMetaForStatus`: a status update cannot change the metadata that the
/// main resource owns.
fn reset_meta_for_status(new: &mut dyn Object, old: &dyn Object) {
    let (nm, om) = (new.meta_mut(), old.meta());
    nm.deletion_timestamp = om.deletion_timestamp.clone();
    nm.generation = om.generation;
    nm.self_link = om.self_link.clone();
    nm.labels = om.labels.clone();
    nm.annotations = om.annotations.clone();
    nm.finalizers = om.finalizers.clone();
    nm.owner_references = om.owner_references.clone();
}
