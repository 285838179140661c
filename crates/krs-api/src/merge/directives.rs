//! The patch directives other than list merging itself:
//!
//! - `$patch: replace | delete` on an object (handled in [`super::strategic`]) and on list items
//!   (in [`super::lists`]);
//! - `$retainKeys: [...]`: keys of the original object not listed are cleared;
//! - `$setElementOrder/<field>: [...]`: the order of the merged list (kubectl apply sends it);
//! - `$deleteFromPrimitiveList/<field>: [...]`: items to remove from a merging list of scalars.
//!
//! Directive-bearing objects that are added rather than merged lose `$patch` objects
//! (removeDirectives), nothing else: upstream keeps other `$` keys as data.

use serde_json::{Map, Value};

use super::error::MergeError;
use super::govalue::{GoSet, GoType, MAP_TYPE, SLICE_TYPE, fmt_v_slice, go_eq, go_type};
use super::lists::{
    identities, merge_slice_handler, no_merge_key, partition_maps, partition_scalars, slice_element_type,
};
use super::order::{Identity, normalize_element_order};
use super::patchmeta::Schema;

pub(super) const PATCH: &str = "$patch";
pub(super) const RETAIN_KEYS: &str = "$retainKeys";
pub(super) const SET_ELEMENT_ORDER: &str = "$setElementOrder";
pub(super) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// extractKey: the field of a `<prefix>/<field>` key.
pub(super) fn extract_key<'k>(key: &'k str, prefix: &str) -> Result<&'k str, MergeError> {
    match key.split_once('/') {
        Some((p, field)) if p == prefix => Ok(field),
        _ if prefix == SET_ELEMENT_ORDER => Err(MergeError::BadPatchFormatForSetElementOrderList),
        _ => Err(MergeError::BadPatchFormatForPrimitiveList),
    }
}

/// removeDirectives: drops every object holding `$patch` (and the member or list item that
/// held it). `None` when `v` itself is such an object.
pub(super) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(PATCH) {
                return None;
            }
            Some(Value::Object(m.into_iter().filter_map(|(k, v)| remove_directives(v).map(|v| (k, v))).collect()))
        }
        Value::Array(l) => Some(Value::Array(l.into_iter().filter_map(remove_directives).collect())),
        other => Some(other),
    }
}

/// discardNullValuesFromPatch: drops `null` members of objects, at any depth (list items
/// that are `null` stay).
pub(super) fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(l) => l.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// applyRetainKeysDirective: with `$retainKeys`, every patch key (other than `null`s and
/// parallel-list directives) must be listed, and original keys not listed are cleared.
pub(super) fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), MergeError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(MergeError::BadPatchFormatForRetainKeys);
    };
    let retain = GoSet::new(&retain)?;
    let listed = |k: &str| retain.contains(&Value::String(k.to_string())).unwrap_or(false);
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_FROM_PRIMITIVE_LIST) || k.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        if !listed(k) {
            return Err(MergeError::BadPatchFormatForRetainKeys);
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

fn list_of(v: &Value) -> Result<&Vec<Value>, MergeError> {
    match v {
        Value::Array(l) => Ok(l),
        other => Err(MergeError::BadArgType { expected: SLICE_TYPE, actual: go_type(other).name() }),
    }
}

/// mergePatchIntoOriginal: merges each list that has a `$setElementOrder/<field>` directive
/// and orders the result. Precedence: the directive's order, then the patch list's, then the
/// live list's; server-only items keep their place relative to the live list.
pub(super) fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
) -> Result<(), MergeError> {
    let mut keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER)).cloned().collect();
    keys.sort();
    for key in keys {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let order = list_of(&order)?.clone();
        let field = extract_key(&key, SET_ELEMENT_ORDER)?.to_string();
        let original_list = original.get(&field).map(list_of).transpose()?.cloned();
        let patch_list = patch.get(&field).map(list_of).transpose()?.cloned();
        let (sub, meta) = schema.for_slice(&field)?;
        let empty = Vec::new();
        validate_order(patch_list.as_ref().unwrap_or(&empty), &order, meta.merge_key)?;
        // Checked here, reported after merging and partitioning, as upstream does.
        let element =
            slice_element_type(&[original_list.as_deref().unwrap_or(&[]), patch_list.as_deref().unwrap_or(&[])]);
        let (merged, server_order) = match (original_list, patch_list) {
            (None, None) => continue,
            (Some(o), None) => {
                let ids = identities(&o, meta.merge_key);
                (o, ids)
            }
            (None, Some(p)) => (p.into_iter().filter_map(remove_directives).collect(), Vec::new()),
            (Some(o), Some(p)) => {
                let m = merge_slice_handler(o, p, sub, meta, false, true)?;
                (m.items, m.original_view)
            }
        };
        let (patch_items, server_only) = if meta.merge_key.is_empty() {
            partition_scalars(merged, &order)?
        } else {
            partition_maps(merged, &order, meta.merge_key)?
        };
        let identity = Identity { maps: element? == GoType::Map, merge_key: meta.merge_key };
        let ordered = normalize_element_order(patch_items, server_only, &order, &server_order, identity)?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

/// validatePatchWithSetOrderList: the patch list's items (deletions and directive items
/// aside) appear in the `$setElementOrder` list, in the same relative order.
fn validate_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> Result<(), MergeError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut items: Vec<&Value> = Vec::with_capacity(patch_list.len());
    for v in patch_list {
        if merge_key.is_empty() {
            items.push(v);
            continue;
        }
        let Value::Object(m) = v else {
            return Err(MergeError::BadArgType { expected: MAP_TYPE, actual: go_type(v).name() });
        };
        if m.get(PATCH).and_then(Value::as_str) != Some("delete") {
            items.push(v);
        }
    }
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if matches!(items[p], Value::Object(m) if m.contains_key(PATCH)) {
            p += 1;
            continue;
        }
        if same_item(items[p], &order[o], merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() && o >= order.len() {
        return Err(MergeError::SetElementOrderMismatch { patch: fmt_v_slice(patch_list), order: fmt_v_slice(order) });
    }
    Ok(())
}

/// mergeKeyValueEqual.
fn same_item(left: &Value, right: &Value, merge_key: &str) -> Result<bool, MergeError> {
    if merge_key.is_empty() {
        return Ok(go_eq(left, right)?);
    }
    let (l, r) = (as_map(left)?, as_map(right)?);
    let lk = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rk = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    Ok(go_eq(lk, rk)?)
}

fn as_map(v: &Value) -> Result<&Map<String, Value>, MergeError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(MergeError::BadArgType { expected: MAP_TYPE, actual: go_type(other).name() }),
    }
}
