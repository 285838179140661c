//! Server-side apply and managedFields: upstream's field manager (k8s.io/apimachinery
//! `util/managedfields`) over structured-merge-diff, on JSON objects.
//!
//! The registry calls:
//!
//! - [`update`] on every create, update and patch (not applies), with the final (defaulted)
//!   object: it records in `metadata.managedFields` what the writer changed, operation
//!   `Update`, taking ownership of those fields from other managers;
//! - [`apply`] for `application/apply-patch+yaml` patches: it merges the configuration into
//!   the live object (or the empty object, to create), records the applier's fields
//!   (operation `Apply`), removes what the applier no longer applies, and fails with
//!   [`ApplyError::Conflicts`] (409) when the configuration changes fields other managers
//!   own, unless forced;
//! - [`manager_or_user_agent`] and [`validate_field_manager`] for the manager name;
//! - [`scale::to_subresource`] / [`scale::to_parent`] around writes through `scale`.
//!
//! Objects are JSON values at the request's apiVersion. Behaviour follows upstream's field
//! manager stack: managers are identified by name, operation, subresource and (updaters)
//! apiVersion; metadata bookkeeping fields (name, uid, resourceVersion, ...) are never owned;
//! an object without managedFields only starts tracking on create or on its first apply
//! (which first records everything it has under `before-first-apply`); at most ten updaters
//! are kept; `kubectl` applies take over client-side apply ([`lastapplied`]).

mod capmanagers;
mod compare;
mod conflict;
mod error;
mod fieldsv1;
pub mod lastapplied;
mod managed;
mod managername;
mod memo;
mod merge;
mod path;
mod reconcile;
mod remove;
pub mod scale;
mod schema;
mod set;
mod tofieldset;
mod updater;
mod validate;
mod value;
mod zero;

use serde_json::Value;

pub use conflict::{Conflict, ConflictCause, Conflicts};
pub use error::{ApplyError, FieldManagerError, FieldsV1Error};
pub use managed::Operation;
pub use managername::{manager_or_user_agent, validate_field_manager};
/// Creates of typed objects, answered from the memo of [`update`] by the object's shape.
pub use memo::{
    get_typed as remembered_create, get_typed_json as remembered_create_json, put as remember_create,
    typed_key as create_key,
};
pub use path::{Path, PathElement};
pub use set::FieldSet;

use managed::{ManagedFields, ManagerId, VersionedSet};
use schema::Node;
use updater::Updater;

/// Who writes what: the parameters of [`update`] and [`apply`].
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The manager name ([`manager_or_user_agent`]); empty is recorded as `unknown`.
    pub manager: &'a str,
    /// `""` for the resource itself, else the subresource written (`status`, `scale`).
    pub subresource: &'a str,
    /// The request's apiVersion (`apps/v1`), which the objects are in.
    pub api_version: &'a str,
    /// The kind (`Deployment`).
    pub kind: &'a str,
    /// The time recorded in the writer's entry: RFC 3339 in seconds (`2024-05-01T10:00:00Z`).
    pub now: &'a str,
    /// Fields this endpoint resets whatever the client sends (upstream's strategy
    /// `GetResetFields`: `status` for a resource with a status subresource, the rest for
    /// `status`); the writer never gains ownership of them.
    pub reset_fields: Option<&'a FieldSet>,
}

/// Fields no manager ever owns (upstream's `stripMetaManager`).
fn strip_set() -> &'static FieldSet {
    static SET: std::sync::LazyLock<FieldSet> = std::sync::LazyLock::new(build_strip_set);
    &SET
}

fn build_strip_set() -> FieldSet {
    let paths: Vec<Path> = [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ]
    .iter()
    .map(|p| Path::fields(p))
    .collect();
    FieldSet::from_paths(&paths)
}

/// The name under which an update's changes are computed before they join the writer's
/// entry (upstream's `managedFieldsUpdater`); it cannot collide with JSON identifiers.
const CURRENT_OPERATION: &str = "current-operation";

/// The manager recording an object's fields before its first apply.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

fn managed_fields_of(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?.get("managedFields")
}

fn set_managed_fields(obj: &mut Value, managed: &ManagedFields) {
    set_managed_fields_value(obj, managed.encode());
}

/// Puts `managed` in `obj.metadata.managedFields`, or removes them (`None`).
fn set_managed_fields_value(obj: &mut Value, managed: Option<Value>) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match managed {
        Some(v) => {
            meta.insert("managedFields".to_owned(), v);
        }
        None => {
            meta.remove("managedFields");
        }
    }
}

fn remove_managed_fields(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// `managedFields: []` (or one empty entry) in a write asks to stop tracking.
fn is_reset(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(entry)] => entry.values().all(|v| v.is_null() || v.as_str() == Some("")),
            _ => false,
        },
        _ => false,
    }
}

/// The object has been stored (upstream tells creates by the live object's empty UID).
fn exists(live: Option<&Value>) -> bool {
    live.and_then(|l| l.get("metadata")?.get("uid")?.as_str()).is_some_and(|uid| !uid.is_empty())
}

/// `decodeLiveOrNew`: the managers a write starts from. Subresource writes keep the live
/// object's; others take the ones the client sent when they decode and are not empty
/// (that is how kubectl migrates client-side apply), else the live object's. Unreadable
/// managedFields count as none.
fn decode_live_or_new(live: &Value, new: &Value, subresource: bool) -> ManagedFields {
    let from_live = || ManagedFields::decode(managed_fields_of(live)).unwrap_or_default();
    if subresource {
        return from_live();
    }
    let sent = managed_fields_of(new);
    if is_reset(sent) {
        return ManagedFields::default();
    }
    match ManagedFields::decode(sent) {
        Ok(m) if !m.is_empty() => m,
        _ => from_live(),
    }
}

fn without_managed_fields(obj: &Value) -> std::borrow::Cow<'_, Value> {
    if managed_fields_of(obj).is_none() {
        // The zero object of a create, or an object never tracked: nothing to copy.
        return std::borrow::Cow::Borrowed(obj);
    }
    let mut obj = obj.clone();
    remove_managed_fields(&mut obj);
    std::borrow::Cow::Owned(obj)
}

impl Request<'_> {
    fn updater(&self) -> Updater<'_> {
        Updater { kind: self.kind, version: self.api_version, ignored: self.reset_fields }
    }

    fn manager_id(&self, operation: Operation, manager: &str) -> ManagerId {
        let manager = if manager.is_empty() { "unknown" } else { manager };
        ManagerId::new(manager, operation, self.api_version, self.subresource)
    }

    /// The update stack below `skipNonApplied`: cap, identifier, timestamping, meta
    /// stripping and the structured update.
    fn record_update(&self, live: &Value, new: &Value, managed: &mut ManagedFields, manager: &str) {
        let id = self.manager_id(Operation::Update, manager);
        let mut changed = self.updater().update(live, new, self.api_version, managed, CURRENT_OPERATION);
        changed.subtract(strip_set());
        if !changed.is_empty() {
            let set = match managed.get(&id) {
                Some(previous) => changed.union_with(&previous.fields.set),
                None => changed,
            };
            managed.set_fields(&id, VersionedSet { set, api_version: self.api_version.to_owned(), applied: false });
            if let Some(e) = managed.entries.get_mut(&id.key()) {
                e.time = Some(self.now.to_owned());
            }
        }
        capmanagers::cap_update_managers(managed);
    }
}

/// Records a create, update or non-apply patch in `new.metadata.managedFields`.
///
/// `live` is the stored object (`None` on create); `new` the object about to be stored,
/// after defaulting (creators own defaulted fields, as upstream's do). managedFields the
/// client put in `new` replace the live ones when they decode and are not empty, and
/// `managedFields: []` clears them; subresource writes ignore them.
///
/// Like upstream's `UpdateNoErrors`, unreadable managedFields never fail a write (they
/// count as none); `Err` only reports objects that are not JSON objects, left unchanged.
pub fn update(live: Option<&Value>, new: &mut Value, req: &Request<'_>) -> Result<(), FieldManagerError> {
    if !new.is_object() || live.is_some_and(|l| !l.is_object()) {
        return Err(FieldManagerError::InvalidObject("objects must be JSON objects".to_owned()));
    }
    // A create without managedFields: the result is its shape's (see `memo`).
    let memo_key = (live.is_none() && managed_fields_of(new).is_none()).then(|| memo::key(new, req)).flatten();
    if let Some(found) = memo_key.as_deref().and_then(|k| memo::get(k, req)) {
        set_managed_fields_value(new, found);
        return Ok(());
    }
    record(live, new, req);
    if let Some(k) = memo_key {
        memo::put(k, req, managed_fields_of(new));
    }
    Ok(())
}

/// [`update`] without the memo.
fn record(live: Option<&Value>, new: &mut Value, req: &Request<'_>) {
    let zero;
    let live_obj = match live {
        Some(l) => l,
        None => {
            zero = zero::cached(req.api_version, req.kind);
            &*zero
        }
    };
    let mut managed = decode_live_or_new(live_obj, new, !req.subresource.is_empty());
    remove_managed_fields(new);
    // Objects stored without managedFields stay untracked until applied to.
    if managed.is_empty() && exists(live) {
        return;
    }
    let live_clean = without_managed_fields(live_obj);
    req.record_update(&live_clean, new, &mut managed, req.manager);
    set_managed_fields(new, &managed);
}

fn group_version_kind(obj: &Value) -> (String, String) {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (s("apiVersion"), s("kind"))
}

/// `schema.GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    format!("{group}/{version}, Kind={kind}")
}

/// Applies `config` (the decoded apply patch) as `req.manager`; returns the new object with
/// its managedFields.
///
/// `live` is the stored object, `None` to create (the configuration is then merged into the
/// kind's empty object). `force` is the `force` parameter. The result is not defaulted or
/// validated: the registry does that next, as upstream's does.
pub fn apply(live: Option<&Value>, config: &Value, force: bool, req: &Request<'_>) -> Result<Value, ApplyError> {
    if !config.is_object() {
        return Err(ApplyError::BadRequest(
            "error decoding patch: the apply configuration must be an object".to_owned(),
        ));
    }
    let zero;
    let live_obj = match live {
        Some(l) => l,
        None => {
            zero = zero::cached(req.api_version, req.kind);
            &*zero
        }
    };
    let managed = ManagedFields::decode(managed_fields_of(live_obj))
        .map_err(|e| ApplyError::Internal(format!("failed to decode managed fields: {e}")))?;
    let (api_version, kind) = group_version_kind(config);
    if api_version != req.api_version || kind != req.kind {
        return Err(ApplyError::BadRequest(format!("invalid object type: {}", gvk_string(&api_version, &kind))));
    }

    // lastAppliedManager: a kubectl apply may take over what client-side apply owned.
    let (mut result, managed) = match req.apply_stack(live_obj, config, managed.clone(), force) {
        Err(ApplyError::Conflicts(conflicts)) if req.manager == lastapplied::KUBECTL => {
            let Some(allowed) = lastapplied::allowed_conflicts(live_obj, req.api_version, req.kind) else {
                return Err(ApplyError::Conflicts(conflicts));
            };
            let rest: Vec<Conflict> = conflicts.0.into_iter().filter(|c| !allowed.has(c.path.elements())).collect();
            if !rest.is_empty() {
                return Err(ApplyError::Conflicts(Conflicts(rest)));
            }
            req.apply_stack(live_obj, config, managed, true)?
        }
        other => other?,
    };
    // lastAppliedUpdater.
    if req.manager == lastapplied::KUBECTL {
        lastapplied::update_annotation(&mut result, config);
    }
    set_managed_fields(&mut result, &managed);
    Ok(result)
}

impl Request<'_> {
    /// `skipNonApplied` and below, for an apply.
    fn apply_stack(
        &self,
        live: &Value,
        config: &Value,
        mut managed: ManagedFields,
        force: bool,
    ) -> Result<(Value, ManagedFields), ApplyError> {
        let live = without_managed_fields(live);
        if managed.is_empty() {
            // Whatever the object already has belongs to someone: record it first.
            let empty = zero::cached(self.api_version, self.kind);
            self.record_update(&empty, &live, &mut managed, BEFORE_FIRST_APPLY);
        }
        let id = self.manager_id(Operation::Apply, self.manager);

        if managed_fields_of(config).is_some_and(Value::is_array) {
            return Err(ApplyError::BadRequest("metadata.managedFields must be nil".to_owned()));
        }
        let node = Node::root(self.api_version, self.kind);
        let errs = validate::validate(config, node, false);
        if !errs.is_empty() {
            let meta = |k: &str| {
                config.get("metadata").and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("").to_owned()
            };
            let detail = if errs.len() == 1 { errs.concat() } else { format!("errors:\n  {}", errs.join("\n  ")) };
            return Err(ApplyError::Invalid(format!(
                "failed to create typed patch object ({}/{}; {}): {detail}",
                meta("namespace"),
                meta("name"),
                gvk_string(self.api_version, self.kind)
            )));
        }

        let changed = self
            .updater()
            .apply(&live, config, self.api_version, &mut managed, &id, force)
            .map_err(ApplyError::Conflicts)?;
        // stripMetaManager.
        let key = id.key();
        if let Some(e) = managed.entries.get_mut(&key) {
            e.fields.set = e.fields.set.difference(strip_set());
            if e.fields.set.is_empty() {
                managed.entries.remove(&key);
            }
        }
        // managedFieldsUpdater: the applier's time moves only when the object changed.
        let result = match changed {
            Some(mut obj) => {
                if let Some(e) = managed.entries.get_mut(&key) {
                    e.time = Some(self.now.to_owned());
                }
                updater::drop_nulls(&mut obj, node);
                obj
            }
            None => live.into_owned(),
        };
        Ok((result, managed))
    }
}
