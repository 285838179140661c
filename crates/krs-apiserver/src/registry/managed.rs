//! managedFields on every write, and server-side apply: the registry's use of krs-api's field
//! manager. Every create, update and non-apply patch records the fields its manager changed
//! (operation Update); an apply merges the configuration into the live object and records it
//! (operation Apply), or fails with 409 naming the conflicting fields and managers.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, StatusCause};
use krs_api::ResourceInfo;
use krs_api::fieldmanager::{self, ApplyError, FieldSet, Path as FieldPath, Request};
use krs_kinds::Object;
use serde::Deserialize;
use serde_json::Value;

use super::WriteContext;
use crate::errors::ApiError;

/// The current time as managedFields record it (RFC 3339, seconds).
fn now() -> String {
    thread_local! {
        /// The last second formatted on this thread: writes come in bursts.
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let second = jiff::Timestamp::now().as_second();
    LAST.with_borrow_mut(|(last, text)| {
        if *last != second {
            *text = jiff::Timestamp::from_second(second)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            *last = second;
        }
        text.clone()
    })
}

/// The fields a write through `subresource` never gains ownership of (upstream's strategies'
/// `GetResetFields`): the status when writing the main resource of a kind with a status
/// subresource, the spec and the metadata the main resource owns when writing the status.
fn reset_fields(res: &ResourceInfo, subresource: &str) -> Option<FieldSet> {
    match subresource {
        "" if res.has_status() => Some(FieldSet::from_paths(&[FieldPath::fields(&["status"])])),
        "status" => Some(FieldSet::from_paths(&[
            FieldPath::fields(&["spec"]),
            FieldPath::fields(&["metadata", "labels"]),
            FieldPath::fields(&["metadata", "annotations"]),
            FieldPath::fields(&["metadata", "finalizers"]),
            FieldPath::fields(&["metadata", "ownerReferences"]),
        ])),
        _ => None,
    }
}

/// Moves the managedFields the field manager wrote into `value` over to the typed object.
fn set_managed_fields(obj: &mut dyn Object, value: &mut Value) {
    obj.meta_mut().managed_fields = value
        .pointer_mut("/metadata/managedFields")
        .map(Value::take)
        .and_then(|m| Vec::<ManagedFieldsEntry>::deserialize(m).ok())
        .filter(|m| !m.is_empty());
}

/// What a field manager [`Request`] of a write borrows: the served version, the time and the
/// fields the write never owns.
struct Owned {
    api_version: String,
    now: String,
    reset: Option<FieldSet>,
}

impl Owned {
    fn new(res: &ResourceInfo, subresource: &str) -> Owned {
        Owned { api_version: res.api_version(), now: now(), reset: reset_fields(res, subresource) }
    }

    fn request<'a>(&'a self, res: &'a ResourceInfo, ctx: &'a WriteContext, subresource: &'a str) -> Request<'a> {
        Request {
            manager: &ctx.manager,
            subresource,
            api_version: &self.api_version,
            kind: &res.kind,
            now: &self.now,
            reset_fields: self.reset.as_ref(),
        }
    }
}

/// Records the fields this write's manager changed in `new`'s managedFields.
pub fn track(
    res: &ResourceInfo,
    ctx: &WriteContext,
    live: Option<&dyn Object>,
    new: &mut dyn Object,
    subresource: &str,
) -> Result<(), ApiError> {
    let owned = Owned::new(res, subresource);
    let req = owned.request(res, ctx, subresource);
    // A create that sends no managedFields records what its shape's creates recorded: found
    // by the typed object's shape, without the object as a JSON tree.
    let create_key = (live.is_none() && new.meta().managed_fields.is_none())
        .then(|| fieldmanager::create_key(&*new, &req))
        .flatten();
    if let Some(found) = create_key.as_deref().and_then(|k| fieldmanager::remembered_create(k, &req)) {
        new.meta_mut().managed_fields = found;
        return Ok(());
    }
    let mut new_value = new.to_value();
    let live_value = live.map(|o| o.to_value());
    fieldmanager::update(live_value.as_ref(), &mut new_value, &req)
        .map_err(|e| ApiError::internal(format!("managed fields: {e}")))?;
    if let Some(k) = create_key {
        fieldmanager::remember_create(k, &req, new_value.pointer("/metadata/managedFields"));
    }
    set_managed_fields(new, &mut new_value);
    Ok(())
}

/// [`track`] for a create, which may leave the managedFields to the encoding: when a create of
/// the same shape was seen before, their JSON text is returned and the object keeps none (put
/// them in with [`super::encode_for_storage_with`]); otherwise they are in the object.
pub fn track_create(
    res: &ResourceInfo,
    ctx: &WriteContext,
    new: &mut dyn Object,
) -> Result<Option<std::sync::Arc<str>>, ApiError> {
    if new.meta().managed_fields.is_none() {
        let owned = Owned::new(res, "");
        let req = owned.request(res, ctx, "");
        let key = fieldmanager::create_key(&*new, &req);
        if let Some(found) = key.as_deref().and_then(|k| fieldmanager::remembered_create_json(k, &req)) {
            return Ok(found);
        }
    }
    track(res, ctx, None, new, "")?;
    Ok(None)
}

/// Server-side apply of `config` onto `live` (None creates). Returns the object to store, its
/// managedFields set, still to be defaulted and validated.
pub fn apply(
    res: &ResourceInfo,
    ctx: &WriteContext,
    live: Option<&Value>,
    config: &Value,
    force: bool,
) -> Result<Value, ApiError> {
    let owned = Owned::new(res, "");
    let req = owned.request(res, ctx, "");
    fieldmanager::apply(live, config, force, &req).map_err(|e| match e {
        ApplyError::Conflicts(c) => {
            let causes = c
                .causes()
                .into_iter()
                .map(|c| StatusCause {
                    reason: Some(c.reason.to_string()),
                    message: Some(c.message),
                    field: Some(c.field),
                })
                .collect();
            krs_apimachinery::status::new_apply_conflict(causes, &c.message()).into()
        }
        ApplyError::BadRequest(m) => ApiError::bad_request(m),
        ApplyError::Invalid(m) => krs_apimachinery::status::new_untyped_error(&m).into(),
        other => ApiError::internal(other.to_string()),
    })
}
