//! The generic registry: what is the same for every kind when objects are created, updated,
//! patched and deleted (upstream's `registry/generic/registry.Store` with `rest.BeforeCreate`,
//! `rest.BeforeUpdate` and `rest.BeforeDelete`). Per-kind policy comes from the resource's
//! [`krs_api::Strategy`].
//!
//! Objects are stored as JSON without `metadata.resourceVersion` (the store revision is the
//! version), at the resource's storage key.

pub mod binding;
mod create;
mod delete;
pub mod managed;
pub mod update;

use std::sync::Arc;

use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_api::ResourceInfo;
use krs_kinds::Object;
use krs_store::{KeyValue, Revision, Store};

pub use create::create;
pub use delete::{DeleteOptions, DeleteOutcome, delete, delete_collection};
pub use update::{UpdateKind, update};

use crate::errors::ApiError;
use crate::handler::App;
use crate::objbytes::with_resource_version;

/// What a write request carries besides the object.
#[derive(Clone, Debug, Default)]
pub struct WriteContext {
    pub user: String,
    /// `dryRun=All`: validate and answer as if written, but store nothing.
    pub dry_run: bool,
    /// The field manager recorded in managedFields: the `fieldManager` parameter, else the
    /// User-Agent's program name.
    pub manager: String,
    /// `force=true` on an apply: take ownership of conflicting fields.
    pub force: bool,
    /// Set by server-side apply: the object's managedFields are already computed.
    pub applied: bool,
    /// Warnings to send back in `Warning` headers.
    pub warnings: Vec<String>,
}

/// An object as stored, with its store metadata.
pub struct Stored {
    pub kv: KeyValue,
    pub object: Box<dyn Object>,
}

impl Stored {
    /// The object's JSON with its resourceVersion.
    pub fn json(&self) -> Bytes {
        Bytes::from(with_resource_version(&self.kv.value, self.kv.mod_revision))
    }
}

/// The storage key of an object of `res`.
pub fn key(res: &ResourceInfo, namespace: &str, name: &str) -> Result<String, ApiError> {
    let storage = res.storage.as_ref().ok_or_else(|| ApiError::method_not_supported(res, "get"))?;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(ApiError::bad_request(format!("invalid resource name {name:?}")));
    }
    Ok(storage.key(if res.namespaced { Some(namespace) } else { None }, name))
}

/// Decodes a stored value into the resource's typed object, with its resourceVersion set.
pub fn decode_stored(res: &ResourceInfo, kv: &KeyValue) -> Result<Box<dyn Object>, ApiError> {
    let codec = res.codec.ok_or_else(|| ApiError::internal(format!("no codec for {}", res.kind)))?;
    let mut obj = codec
        .decode_stored_json(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is unreadable: {e}", kv.key)))?;
    obj.meta_mut().resource_version = Some(kv.mod_revision.to_string());
    Ok(obj)
}

/// Encodes an object for storage: JSON without resourceVersion.
pub fn encode_for_storage(obj: &mut dyn Object) -> Bytes {
    let rv = obj.meta_mut().resource_version.take();
    let bytes = Bytes::from(obj.to_json());
    obj.meta_mut().resource_version = rv;
    bytes
}

/// [`encode_for_storage`] of an object whose managedFields are `managed` (the JSON text of the
/// array, from [`managed::track_create`]) instead of in the object: the same bytes, without
/// building, serializing and dropping the entries.
pub fn encode_for_storage_with(obj: &mut dyn Object, managed: Option<&str>) -> Bytes {
    let bytes = encode_for_storage(obj);
    let Some(managed) = managed else { return bytes };
    match crate::objbytes::with_managed_fields(&bytes, managed) {
        Some(out) => Bytes::from(out),
        // An object serialized without a metadata object: the entries go through the object.
        None => {
            obj.meta_mut().managed_fields = serde_json::from_str(managed).ok();
            encode_for_storage(obj)
        }
    }
}

/// Reads one object from the store.
pub async fn get(app: &App, res: &Arc<ResourceInfo>, namespace: &str, name: &str) -> Result<Stored, ApiError> {
    let key = key(res, namespace, name)?;
    let (kv, _) = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, res, name))?;
    let kv = kv.ok_or_else(|| ApiError::not_found(res, name))?;
    let object = decode_stored(res, &kv)?;
    Ok(Stored { kv, object })
}

/// Reads one object at a revision (`resourceVersion=N` on a get).
pub async fn get_at(
    store: &Arc<dyn Store>,
    res: &Arc<ResourceInfo>,
    namespace: &str,
    name: &str,
    revision: Revision,
) -> Result<Stored, ApiError> {
    let key = key(res, namespace, name)?;
    let (kv, _) = store.get(&key, Some(revision)).await.map_err(|e| ApiError::from_store(e, res, name))?;
    let kv = kv.ok_or_else(|| ApiError::not_found(res, name))?;
    let object = decode_stored(res, &kv)?;
    Ok(Stored { kv, object })
}

/// The current time as upstream's metav1.Time (whole seconds).
pub fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    let secs = jiff::Timestamp::now().as_second();
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The namespace an object of `res` belongs to, reconciling the URL and the body as upstream
/// does: a namespaced object takes the URL's namespace (an object naming another one is
/// refused), a cluster-scoped object has none.
pub fn reconcile_namespace(res: &ResourceInfo, meta: &mut ObjectMeta, url_namespace: &str) -> Result<(), ApiError> {
    if !res.namespaced {
        meta.namespace = None;
        return Ok(());
    }
    match meta.namespace.as_deref() {
        None | Some("") => {
            meta.namespace = Some(url_namespace.to_string());
            Ok(())
        }
        Some(ns) if ns == url_namespace => Ok(()),
        Some(_) => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
    }
}
