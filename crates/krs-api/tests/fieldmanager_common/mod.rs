//! Helpers shared by the field manager tests.
#![allow(dead_code)]

use krs_api::fieldmanager::{self, ApplyError, FieldSet, Request};
use serde_json::{Value, json};

pub const T0: &str = "2024-05-01T10:00:00Z";
pub const T1: &str = "2024-05-01T10:01:00Z";
pub const T2: &str = "2024-05-01T10:02:00Z";

/// A request at `now` for the main resource.
pub fn req<'a>(manager: &'a str, api_version: &'a str, kind: &'a str, now: &'a str) -> Request<'a> {
    Request { manager, subresource: "", api_version, kind, now, reset_fields: None }
}

/// Creates `obj` as the registry would: managedFields for `manager`, then the stored
/// bookkeeping metadata (uid, resourceVersion, creationTimestamp).
pub fn create(obj: Value, r: &Request<'_>) -> Value {
    let mut obj = obj;
    fieldmanager::update(None, &mut obj, r).expect("update on create");
    store(&mut obj);
    obj
}

/// An update (PUT or non-apply patch) from `live` to `new`.
pub fn update(live: &Value, new: Value, r: &Request<'_>) -> Value {
    let mut new = new;
    fieldmanager::update(Some(live), &mut new, r).expect("update");
    new
}

/// A server-side apply that must succeed; the result gets stored metadata.
pub fn apply(live: Option<&Value>, config: &Value, force: bool, r: &Request<'_>) -> Value {
    let mut obj = match fieldmanager::apply(live, config, force, r) {
        Ok(o) => o,
        Err(e) => panic!("apply failed: {e}"),
    };
    store(&mut obj);
    obj
}

/// A server-side apply that must fail.
pub fn apply_err(live: Option<&Value>, config: &Value, force: bool, r: &Request<'_>) -> ApplyError {
    match fieldmanager::apply(live, config, force, r) {
        Ok(o) => panic!("apply succeeded: {o}"),
        Err(e) => e,
    }
}

/// What the storage layer adds on create.
pub fn store(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.entry("uid").or_insert(json!("7a3c6f1e-0000-4000-8000-000000000001"));
        meta.entry("resourceVersion").or_insert(json!("1"));
        meta.entry("creationTimestamp").or_insert(json!(T0));
    }
}

pub fn managed_fields(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// (manager, operation, subresource) of each entry, in order.
pub fn entries(obj: &Value) -> Vec<(String, String, String)> {
    managed_fields(obj)
        .iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            (s("manager"), s("operation"), s("subresource"))
        })
        .collect()
}

/// The entry of `manager` with `operation` (and any subresource).
pub fn entry(obj: &Value, manager: &str, operation: &str) -> Value {
    managed_fields(obj)
        .into_iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .unwrap_or_else(|| panic!("no {operation} entry for {manager} in {obj:#}"))
}

/// The FieldsV1 of `manager`'s `operation` entry, as upstream serializes it.
pub fn fields_v1(obj: &Value, manager: &str, operation: &str) -> String {
    let e = entry(obj, manager, operation);
    FieldSet::from_fields_v1(&e["fieldsV1"]).expect("fieldsV1 decodes").to_fields_v1_string()
}

/// Compacts a pretty JSON expectation.
pub fn compact(pretty: &str) -> String {
    let v: Value = serde_json::from_str(pretty).expect("expectation is JSON");
    v.to_string()
}

/// Whether `manager` owns the path (FieldsV1 keys from the root).
pub fn owns(obj: &Value, manager: &str, keys: &[&str]) -> bool {
    managed_fields(obj).iter().any(|e| {
        e["manager"] == manager && {
            let mut node = &e["fieldsV1"];
            keys.iter().all(|k| {
                node = &node[*k];
                node.is_object()
            })
        }
    })
}
