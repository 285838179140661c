//! The managedFields of creates, remembered by the object's shape.
//!
//! A create (no live object, no managedFields sent) compares the new object with the kind's
//! zero object, so what its writer comes to own depends only on the request (manager, version,
//! kind, subresource, reset fields) and on the object's *shape*: every map key, each scalar's
//! JSON type and whether it is that type's zero value, the top-level `apiVersion` and `kind`,
//! and lists verbatim (their items' keys and values name owned fields). Values outside lists
//! are otherwise compared only with the zero object's, so two objects of the same shape get
//! the same managedFields but for the time. Pods of one template, events of one controller
//! and nodes of one kind share a shape, and the structured comparison runs once for them.
//!
//! The shape is written by `krs_kinds::shape`, from one of two sources that key entries apart:
//! [`key`] from the JSON tree [`super::update`] gets, [`typed_key`] from the typed object, which
//! needs no tree built. A typed shape determines the tree's (fields in the type's order instead
//! of sorted, lists as the type writes them), so it can stand for it; its entries also keep the
//! managedFields typed, so that a hit builds no JSON at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, Time};
use serde::Deserialize;
use serde_json::Value;

use super::Request;
use super::set::FieldSet;

/// Shapes remembered before the memo starts afresh.
const CAPACITY: usize = 256;

/// Keys longer than this (objects with long lists, which the key holds verbatim) are not
/// remembered: the memo stays under a few megabytes, and such objects rarely repeat.
pub(super) const MAX_KEY: usize = 8 * 1024;

struct Memo {
    reset: Option<FieldSet>,
    /// The time the entry was recorded with, replaced by the request's on a hit.
    now: String,
    managed: Option<Value>,
    /// `managed` as the typed entries, made on the first typed hit.
    typed: OnceLock<Option<Vec<ManagedFieldsEntry>>>,
    /// The typed entries as JSON text, stamped with the time of the last hit that asked for
    /// text (the creates of one second serialize it once).
    text: Option<(String, Arc<str>)>,
}

static MEMO: Mutex<Option<HashMap<Vec<u8>, Vec<Memo>>>> = Mutex::new(None);

/// A key: the request's identity, the mark of the shape's source, then the shape. None when the
/// shape cannot be written or is too long to remember.
fn keyed(req: &Request<'_>, source: u8, write: impl FnOnce(&mut Vec<u8>) -> bool) -> Option<Vec<u8>> {
    let mut k = Vec::with_capacity(512);
    for part in [req.manager, req.api_version, req.kind, req.subresource] {
        k.extend_from_slice(part.as_bytes());
        k.push(0);
    }
    k.push(source);
    (write(&mut k) && k.len() <= MAX_KEY).then_some(k)
}

/// The key of the create of a JSON tree.
pub(super) fn key(new: &Value, req: &Request<'_>) -> Option<Vec<u8>> {
    keyed(req, b'J', |k| krs_kinds::shape::write(new, k).is_ok())
}

/// The key of the create of a typed object.
pub fn typed_key(new: &dyn krs_kinds::Object, req: &Request<'_>) -> Option<Vec<u8>> {
    keyed(req, b'T', |k| new.write_shape(k))
}

/// The entry of `key` recorded with `req`'s reset fields.
fn find<'m>(memo: &'m Option<HashMap<Vec<u8>, Vec<Memo>>>, key: &[u8], req: &Request<'_>) -> Option<&'m Memo> {
    memo.as_ref()?.get(key)?.iter().find(|m| m.reset.as_ref() == req.reset_fields)
}

/// The typed managedFields recorded for a [`typed_key`], stamped with `req.now`: `Some(None)`
/// when the create recorded none.
pub fn get_typed(key: &[u8], req: &Request<'_>) -> Option<Option<Vec<ManagedFieldsEntry>>> {
    let memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    stamped(find(&memo, key, req)?, req)
}

/// What [`get_typed`] finds, as the JSON text of the managedFields array (what serializing the
/// typed entries writes). A hit in the second of the last one that asked for text costs a
/// reference count: no entry is cloned, serialized or dropped.
pub fn get_typed_json(key: &[u8], req: &Request<'_>) -> Option<Option<Arc<str>>> {
    let mut memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let found = memo.as_mut()?.get_mut(key)?.iter_mut().find(|m| m.reset.as_ref() == req.reset_fields)?;
    if let Some((now, text)) = &found.text
        && now == req.now
    {
        return Some(Some(text.clone()));
    }
    let Some(entries) = stamped(found, req)? else { return Some(None) };
    let text: Arc<str> = serde_json::to_string(&entries).ok()?.into();
    found.text = Some((req.now.to_owned(), text.clone()));
    Some(Some(text))
}

/// The typed entries of `found`, their recorded time replaced by `req.now`.
fn stamped(found: &Memo, req: &Request<'_>) -> Option<Option<Vec<ManagedFieldsEntry>>> {
    let typed = found.typed.get_or_init(|| {
        found.managed.as_ref().and_then(|m| Vec::<ManagedFieldsEntry>::deserialize(m).ok()).filter(|m| !m.is_empty())
    });
    let Some(entries) = typed else { return Some(None) };
    let (recorded, now) = (found.now.parse::<jiff::Timestamp>().ok(), req.now.parse::<jiff::Timestamp>().ok()?);
    let mut entries = entries.clone();
    for e in &mut entries {
        if e.time.as_ref().map(|t| t.0) == recorded {
            e.time = Some(Time(now));
        }
    }
    Some(Some(entries))
}

/// The managedFields recorded for `key`, stamped with `req.now`.
pub(super) fn get(key: &[u8], req: &Request<'_>) -> Option<Option<Value>> {
    let memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let found = find(&memo, key, req)?;
    let mut managed = found.managed.clone();
    if let Some(Value::Array(entries)) = &mut managed {
        for e in entries {
            if let Some(t) = e.get_mut("time").filter(|t| t.as_str() == Some(found.now.as_str())) {
                *t = Value::String(req.now.to_owned());
            }
        }
    }
    Some(managed)
}

/// Remembers the managedFields a create of `key` (either source) recorded.
pub fn put(key: Vec<u8>, req: &Request<'_>, managed: Option<&Value>) {
    let mut memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = memo.get_or_insert_with(HashMap::new);
    if map.len() >= CAPACITY && !map.contains_key(&key) {
        map.clear();
    }
    let entry = Memo {
        reset: req.reset_fields.cloned(),
        now: req.now.to_owned(),
        managed: managed.cloned(),
        typed: OnceLock::new(),
        text: None,
    };
    let list = map.entry(key).or_default();
    match list.iter_mut().find(|m| m.reset == entry.reset) {
        Some(m) => *m = entry,
        None => list.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::path::Path;
    use super::super::{Request, record, update};
    use super::*;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p-1", "namespace": "default", "uid": "u-1", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "web", "tier": ""}, "annotations": {"a": "1"}},
            "spec": {
                "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m"}}}],
                "schedulerName": "default-scheduler", "priority": 0, "hostNetwork": false,
                "terminationGracePeriodSeconds": 30, "nodeSelector": {"zone": "a"},
                "securityContext": {}, "dnsConfig": null
            },
            "status": {"phase": "Pending"}
        })
    }

    /// A create of a v1 Pod.
    fn pod_create<'a>(manager: &'a str, now: &'a str, reset_fields: Option<&'a FieldSet>) -> Request<'a> {
        Request { manager, subresource: "", api_version: "v1", kind: "Pod", now, reset_fields }
    }

    /// Every scalar outside lists, by its path of keys.
    fn leaves(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    at.push(k.clone());
                    leaves(v, at, out);
                    at.pop();
                }
            }
            Value::Array(_) => {}
            _ => out.push(at.clone()),
        }
    }

    fn at<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
        path.iter().fold(v, |v, k| &mut v[k.as_str()])
    }

    #[test]
    fn a_remembered_create_records_what_the_comparison_would() {
        let reset = FieldSet::from_paths(&[Path::fields(&["status"])]);
        let base = pod();
        let mut paths = Vec::new();
        leaves(&base, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 10, "{paths:?}");
        // Pairs of values of one shape: the second is answered from the first's entry.
        let pairs = [
            (json!(""), json!("")),
            (json!("other"), json!("else")),
            (json!(0), json!(0)),
            (json!(7), json!(9)),
            (json!(-3), json!(-8)),
            (json!(2.5), json!(1.5)),
            (json!(0.0), json!(0.0)),
            (json!(true), json!(true)),
            (json!(null), json!(null)),
        ];
        for path in &paths {
            for (a, b) in &pairs {
                for manager in ["kubectl", "kube-controller-manager"] {
                    let req = |now| pod_create(manager, now, Some(&reset));
                    let (first, second) = (req("2026-01-01T00:00:00Z"), req("2026-01-01T00:00:07Z"));
                    let (mut obj_a, mut obj_b) = (base.clone(), base.clone());
                    *at(&mut obj_a, path) = a.clone();
                    *at(&mut obj_b, path) = b.clone();
                    for (obj, req) in [(&obj_a, &first), (&obj_b, &second)] {
                        let (mut memoized, mut computed) = (obj.clone(), obj.clone());
                        update(None, &mut memoized, req).unwrap();
                        record(None, &mut computed, req);
                        assert_eq!(memoized, computed, "{path:?} = {a} / {b}, {manager}");
                    }
                    // apiVersion and kind are part of the key as they are.
                    if !matches!(path[0].as_str(), "apiVersion" | "kind") {
                        assert_eq!(key(&obj_a, &first), key(&obj_b, &second), "{path:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_second_create_of_a_shape_is_answered_with_its_own_time() {
        let req = |now| pod_create("m", now, None);
        let (first, second) = (req("2026-01-01T00:00:00Z"), req("2026-01-02T00:00:00Z"));
        let mut a = pod();
        a["metadata"]["name"] = json!("memo-time");
        let k = key(&a, &second).expect("a key");
        update(None, &mut a, &first).unwrap();
        let remembered = get(&k, &second).expect("remembered").expect("tracked");
        assert_eq!(remembered[0]["time"], "2026-01-02T00:00:00Z");
        assert_eq!(remembered[0]["fieldsV1"], a["metadata"]["managedFields"][0]["fieldsV1"]);
    }

    #[test]
    fn objects_with_long_lists_are_not_remembered() {
        let req = pod_create("m", "t", None);
        let mut p = pod();
        let containers: Vec<Value> = (0..400).map(|i| json!({"name": format!("c{i}"), "image": "busybox"})).collect();
        p["spec"]["containers"] = Value::Array(containers);
        assert_eq!(key(&p, &req), None);
        let (mut updated, mut computed) = (p.clone(), p.clone());
        update(None, &mut updated, &req).unwrap();
        record(None, &mut computed, &req);
        assert_eq!(updated, computed);
        // Shorter lists are remembered.
        p["spec"]["containers"] = json!([{"name": "c", "image": "busybox"}]);
        assert!(key(&p, &req).is_some_and(|k| k.len() <= MAX_KEY));
    }

    #[test]
    fn values_outside_lists_share_a_key_and_the_rest_do_not() {
        let reset = FieldSet::from_paths(&[Path::fields(&["status"])]);
        let req = pod_create("m", "2026-01-01T00:00:00Z", Some(&reset));
        let with = |f: &dyn Fn(&mut Value)| {
            let mut p = pod();
            f(&mut p);
            key(&p, &req)
        };
        let base = key(&pod(), &req);
        assert_eq!(base, with(&|p| p["metadata"]["name"] = json!("p-2")));
        assert_eq!(base, with(&|p| p["spec"]["nodeSelector"]["zone"] = json!("b")));
        assert_eq!(base, with(&|p| p["spec"]["terminationGracePeriodSeconds"] = json!(5)));
        // Zero-ness, types, keys, list items and the kind's identity all count.
        assert_ne!(base, with(&|p| p["spec"]["priority"] = json!(1)));
        assert_ne!(base, with(&|p| p["spec"]["priority"] = json!(0.0)));
        assert_ne!(base, with(&|p| p["metadata"]["labels"]["tier"] = json!("x")));
        assert_ne!(base, with(&|p| p["metadata"]["labels"]["new"] = json!("x")));
        assert_ne!(base, with(&|p| p["spec"]["containers"][0]["name"] = json!("d")));
        assert_ne!(base, with(&|p| p["spec"]["containers"][0]["image"] = json!("other")));
        assert_ne!(base, with(&|p| p["apiVersion"] = json!("v2")));
        assert_ne!(base, key(&pod(), &Request { manager: "n", ..req }));
        assert_ne!(base, key(&pod(), &Request { subresource: "status", ..req }));
    }

    /// What the uncached comparison records for a create of `obj`, as typed entries.
    fn recorded(obj: &Value, req: &Request<'_>) -> Option<Vec<ManagedFieldsEntry>> {
        let mut computed = obj.clone();
        record(None, &mut computed, req);
        computed
            .pointer("/metadata/managedFields")
            .and_then(|m| Vec::<ManagedFieldsEntry>::deserialize(m).ok())
            .filter(|m| !m.is_empty())
    }

    #[test]
    fn a_typed_create_is_answered_as_the_comparison_would() {
        use k8s_openapi::api::core::v1::Pod;
        let reset = FieldSet::from_paths(&[Path::fields(&["status"])]);
        let base = pod();
        let mut paths = Vec::new();
        leaves(&base, &mut Vec::new(), &mut paths);
        let pairs = [
            (json!("typed"), json!("other")),
            (json!(""), json!("")),
            (json!(0), json!(0)),
            (json!(7), json!(9)),
            (json!(-3), json!(-8)),
            (json!(true), json!(true)),
            (json!(false), json!(false)),
        ];
        let mut checked = 0;
        for path in &paths {
            for (a, b) in &pairs {
                let req = |now| pod_create("typed-test", now, Some(&reset));
                let (first, second) = (req("2026-02-01T00:00:00Z"), req("2026-02-01T00:00:09Z"));
                let (mut obj_a, mut obj_b) = (base.clone(), base.clone());
                *at(&mut obj_a, path) = a.clone();
                *at(&mut obj_b, path) = b.clone();
                // Values a pod field cannot hold are not typed objects.
                let (Ok(typed_a), Ok(typed_b)) =
                    (serde_json::from_value::<Pod>(obj_a.clone()), serde_json::from_value::<Pod>(obj_b.clone()))
                else {
                    continue;
                };
                // What a typed object records is what its JSON tree does.
                let (tree_a, tree_b) =
                    (serde_json::to_value(&typed_a).unwrap(), serde_json::to_value(&typed_b).unwrap());
                let k = typed_key(&typed_a, &first).expect("a key");
                if get_typed(&k, &first).is_none() {
                    let mut v = tree_a.clone();
                    update(None, &mut v, &first).unwrap();
                    put(k.clone(), &first, v.pointer("/metadata/managedFields"));
                }
                assert_eq!(get_typed(&k, &first).unwrap(), recorded(&tree_a, &first), "{path:?} = {a}");
                if !matches!(path[0].as_str(), "apiVersion" | "kind") {
                    assert_eq!(typed_key(&typed_b, &second).as_ref(), Some(&k), "{path:?} = {a} / {b}");
                }
                let kb = typed_key(&typed_b, &second).unwrap();
                if let Some(found) = get_typed(&kb, &second) {
                    assert_eq!(found, recorded(&tree_b, &second), "{path:?} = {b}");
                }
                // The entries as text are the typed ones serialized, stamped with each request's
                // time (the text kept for one time is not served for another).
                for req in [&first, &second, &second, &first] {
                    let text = get_typed_json(&k, req).unwrap().map(|t| t.to_string());
                    let typed = get_typed(&k, req).unwrap().map(|e| serde_json::to_string(&e).unwrap());
                    assert_eq!(text, typed, "{path:?} = {a} at {}", req.now);
                }
                // Typed keys never find the entries of JSON trees, nor the reverse.
                assert_ne!(key(&tree_a, &first), Some(k));
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }
}
