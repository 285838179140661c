//! Applying a strategic merge patch (upstream's StrategicMergePatch / mergeMap, with the API
//! server's options: parallel `$deleteFromPrimitiveList` / `$setElementOrder` lists are
//! honoured and `null`s for absent fields are dropped).
//!
//! Keys of an object are processed in sorted order; upstream iterates a Go map (random order),
//! which only matters for patches that upstream itself answers inconsistently.

use serde_json::{Map, Value};

use super::directives::{
    DELETE_FROM_PRIMITIVE_LIST, PATCH, apply_retain_keys, discard_nulls, extract_key, merge_set_element_order,
    remove_directives,
};
use super::error::MergeError;
use super::govalue::{fmt_s, fmt_v_map, go_type};
use super::lists::merge_slice_handler;
use super::metadata::TypeRef;
use super::patchmeta::{Schema, Strategy};

/// Applies the strategic merge patch `patch` to `original`, both JSON objects of the type
/// `schema` (see [`super::lookup`]), as the API server does for `PATCH` with
/// `Content-Type: application/strategic-merge-patch+json`.
///
/// `null` for either document stands for `{}`; anything else that is not an object is
/// [`MergeError::BadJsonDoc`].
pub fn strategic_merge_patch(original: &Value, patch: &Value, schema: TypeRef) -> Result<Value, MergeError> {
    let original = document(original)?;
    let patch = document(patch)?;
    merge_map(original, patch, Schema::Known(schema)).map(Value::Object)
}

fn document(v: &Value) -> Result<Map<String, Value>, MergeError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(MergeError::BadJsonDoc),
    }
}

/// mergeMap: merges the object `patch` into the object `original`.
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> Result<Map<String, Value>, MergeError> {
    if let Some(directive) = patch.get(PATCH) {
        return directive_on_map(directive.clone(), patch);
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    let mut keys: Vec<String> = patch.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let Some(patch_value) = patch.remove(&key) else {
            continue;
        };
        // `$deleteFromPrimitiveList/<field>: [...]` removes those items from the field's
        // list; everything else about it is handled like the field itself.
        let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?.to_string(), true)
        } else {
            (key, false)
        };
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(current) = original.get_mut(&key) else {
            if !delete_list {
                set_from_patch(&mut original, key, patch_value);
            }
            continue;
        };
        if go_type(current) != go_type(&patch_value) {
            if !delete_list {
                set_from_patch(&mut original, key, patch_value);
            }
            continue;
        }
        match (current, patch_value) {
            (Value::Object(current), Value::Object(patch_map)) => {
                let (sub, meta) = schema.for_map(&key);
                let merged = if meta.strategy == Strategy::Replace {
                    patch_map
                } else {
                    merge_map(std::mem::take(current), patch_map, sub)?
                };
                *current = merged;
            }
            (Value::Array(current), Value::Array(patch_list)) => {
                let (sub, meta) = schema.for_slice(&key)?;
                let merged = merge_slice_handler(std::mem::take(current), patch_list, sub, meta, delete_list, false)?;
                *current = merged.items;
            }
            (current, scalar) => {
                // Scalars replace; remove_directives keeps every scalar.
                if let Some(v) = remove_directives(scalar) {
                    *current = v;
                }
            }
        }
    }
    Ok(original)
}

/// A patch value for a key that the original lacks (or holds with another JSON type): taken
/// as it is, minus `null` members (they have nothing to delete) and `$patch` directives.
fn set_from_patch(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    match remove_directives(value) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.remove(&key);
        }
    }
}

/// handleDirectiveInMergeMap: `$patch: replace` takes the patch object (minus the
/// directive) as it is; `$patch: delete` empties the object.
fn directive_on_map(directive: Value, mut patch: Map<String, Value>) -> Result<Map<String, Value>, MergeError> {
    match directive.as_str() {
        Some("replace") => {
            patch.remove(PATCH);
            Ok(patch)
        }
        Some("delete") => Ok(Map::new()),
        _ => Err(MergeError::BadPatchType { directive: fmt_s(&directive), map: fmt_v_map(&patch) }),
    }
}
