//! The empty object of a kind, as upstream's field manager sees it.
//!
//! On create (and before the first apply to an object without managedFields) upstream
//! compares against `scheme.New(kind)`: a zero Go struct, converted with JSON tag semantics.
//! Non-pointer structs are always present (`"spec": {"template": {...}}`), zero scalars and
//! nil slices/maps without `omitempty` are present as `""`, `0`, `false` or `null`, and
//! `metav1.Time` is `null` (hence `creationTimestamp: null`). Which fields exist in the old
//! object decides whether a created field is "added" (its parents get a `"."` entry) or
//! "modified", and zero values a creator writes are not owned by it; so the shape matters
//! for byte-exact managedFields.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::merge::{Scalar, Struct, TypeKind, TypeRef};

/// Deep enough for every built-in type; a guard against a corrupt table only.
const MAX_DEPTH: usize = 32;

/// [`zero_object`], built once per kind and version (a create compares against it).
pub(crate) fn cached(api_version: &str, kind: &str) -> Arc<Value> {
    type Cache = Vec<(String, String, Arc<Value>)>;
    static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, v)) = cache.iter().find(|(a, k, _)| a == api_version && k == kind) {
        return v.clone();
    }
    let v = Arc::new(zero_object(api_version, kind));
    cache.push((api_version.to_owned(), kind.to_owned(), v.clone()));
    v
}

/// The zero object of `kind` in `api_version` (with `apiVersion` and `kind` set, which the
/// field manager never owns). Kinds without a table entry are `{apiVersion, kind}` only.
pub(crate) fn zero_object(api_version: &str, kind: &str) -> Value {
    let mut obj = match crate::merge::lookup(api_version, kind).and_then(TypeRef::as_struct) {
        Some(st) => zero_struct(st, 0),
        None => Map::new(),
    };
    obj.insert("apiVersion".to_owned(), Value::String(api_version.to_owned()));
    obj.insert("kind".to_owned(), Value::String(kind.to_owned()));
    Value::Object(obj)
}

fn zero_struct(st: Struct, depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    if depth > MAX_DEPTH {
        return out;
    }
    for f in st.fields() {
        let v = if f.is_pointer() {
            (!f.is_omitempty()).then_some(Value::Null)
        } else {
            zero_value(f.ty(), f.is_omitempty(), depth)
        };
        if let Some(v) = v {
            out.insert(f.json_name().to_owned(), v);
        }
    }
    out
}

/// The JSON of a non-pointer zero value; `None` when `omitempty` drops it.
fn zero_value(ty: TypeRef, omitempty: bool, depth: usize) -> Option<Value> {
    let empty = |v: Value| (!omitempty).then_some(v);
    match ty.kind() {
        TypeKind::Scalar(s) => match s {
            Scalar::String => empty(Value::String(String::new())),
            Scalar::Bool => empty(Value::Bool(false)),
            Scalar::Int32 | Scalar::Int64 | Scalar::Number => empty(Value::from(0)),
            // A nil []byte.
            Scalar::Bytes => empty(Value::Null),
            // Go structs with custom JSON: never "empty" for omitempty.
            Scalar::Duration => Some(Value::String("0s".to_owned())),
            Scalar::Quantity => Some(Value::String("0".to_owned())),
            Scalar::IntOrString => Some(Value::from(0)),
            Scalar::Time
            | Scalar::MicroTime
            | Scalar::RawExtension
            | Scalar::FieldsV1
            | Scalar::Json
            | Scalar::SchemaOrBool
            | Scalar::SchemaOrArray
            | Scalar::SchemaOrStringArray => Some(Value::Null),
        },
        TypeKind::Struct(st) => Some(Value::Object(zero_struct(st, depth + 1))),
        TypeKind::List(_) | TypeKind::Map(_) => empty(Value::Null),
    }
}
