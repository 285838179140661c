//! Merging lists (upstream's mergeSliceHandler / mergeSlice and helpers).
//!
//! - Lists without the `merge` patch strategy are replaced by the patch list, verbatim.
//! - Lists of scalars with `merge` are unioned (`$deleteFromPrimitiveList` removes items).
//! - Lists of objects with `merge` merge item by item on the patch merge key; `$patch: delete`
//!   items remove, `$patch: replace` replaces the whole list.
//!
//! The merged list is then ordered as upstream orders it (see [`super::order`]).

use serde_json::{Map, Value};

use super::directives::PATCH;
use super::error::{GoPanic, MergeError};
use super::govalue::{GoSet, GoType, MAP_TYPE, fmt_v_lists, fmt_v_map, go_eq, go_type};
use super::order::{Identity, normalize_element_order};
use super::patchmeta::{PatchMeta, Schema, Strategy};
use super::strategic::merge_map;

/// A merged list, and what upstream's caller still sees through its own slice header of the
/// original list afterwards (needed by `$setElementOrder`, see [`OriginalView`]).
pub(super) struct Merged {
    pub(super) items: Vec<Value>,
    pub(super) original_view: Vec<Value>,
}

/// mergeSliceHandler: merges when the field's strategy is `merge` (or for a
/// `$deleteFromPrimitiveList` list), else the patch list replaces the original.
///
/// `view` asks for [`Merged::original_view`]; otherwise it is left empty.
pub(super) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema,
    meta: PatchMeta,
    delete_list: bool,
    view: bool,
) -> Result<Merged, MergeError> {
    if meta.strategy == Strategy::Merge || delete_list {
        return merge_slice(original, patch, schema, meta.merge_key, delete_list, view);
    }
    let original_view = if view { identities(&original, meta.merge_key) } else { Vec::new() };
    Ok(Merged { items: patch, original_view })
}

/// mergeSlice.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema,
    merge_key: &str,
    delete_list: bool,
    view: bool,
) -> Result<Merged, MergeError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(Merged { items: original, original_view: Vec::new() });
    }
    let element = slice_element_type(&[&original, &patch])?;
    if element != GoType::Map {
        // Upstream's append reallocates (the API server's originals have no spare capacity),
        // so the caller's view of the original is untouched.
        let original_view = if view { original.clone() } else { Vec::new() };
        if delete_list {
            return Ok(Merged { items: delete_from_slice(original, &patch)?, original_view });
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !contains(&merged, v)? {
                merged.push(v.clone());
            }
        }
        let (patch_items, server_only) = partition_scalars(merged, &patch)?;
        let identity = Identity { maps: false, merge_key };
        let items = normalize_element_order(patch_items, server_only, &patch, &original, identity)?;
        return Ok(Merged { items, original_view });
    }
    if merge_key.is_empty() {
        return Err(MergeError::NoMergeKeyForList { element: schema.go_kind() });
    }
    let mut view = OriginalView::new(view.then(|| identities(&original, merge_key)));
    let (original, patch) = special_elements(original, patch, merge_key, &mut view)?;
    // Only merge keys matter for ordering, and merging never changes them.
    let server_order = identities(&original, merge_key);
    let patch_order = identities(&patch, merge_key);
    let merged = merge_by_key(original, patch, merge_key, schema, &mut view)?;
    let (patch_items, server_only) = partition_maps(merged, &patch_order, merge_key)?;
    let identity = Identity { maps: true, merge_key };
    let items = normalize_element_order(patch_items, server_only, &patch_order, &server_order, identity)?;
    Ok(Merged { items, original_view: view.into_ids() })
}

/// The caller's slice header of the original list, as upstream's in-place edits leave it.
///
/// Upstream deletes list items with `append(s[:i], s[i+1:]...)` and then appends new items to
/// the shortened slice, both in the original's backing array; the `$setElementOrder` code
/// keeps using its own, full-length header of that array as the "live" order afterwards.
/// Deleting `b` from `[a b s]` and adding `n` leaves `[a s n]` there, which decides where
/// server-only items land relative to new ones.
struct OriginalView {
    /// Identities of the backing array's items; `None` when the caller does not need them.
    ids: Option<Vec<Value>>,
    /// Length of the shortened slice that upstream keeps appending to.
    len: usize,
    /// Whether that slice still shares the backing array.
    shared: bool,
}

impl OriginalView {
    fn new(ids: Option<Vec<Value>>) -> Self {
        let len = ids.as_ref().map_or(0, Vec::len);
        OriginalView { ids, len, shared: true }
    }

    fn deleted(&mut self, at: usize) {
        if let (true, Some(ids)) = (self.shared, self.ids.as_mut())
            && at < self.len
            && self.len <= ids.len()
        {
            // copy(s[at:], s[at+1:]): the last slot keeps its old value.
            for j in at..self.len - 1 {
                ids[j] = ids[j + 1].clone();
            }
            self.len -= 1;
        }
    }

    /// The slice variable now names another array (`$patch: replace`).
    fn detached(&mut self) {
        self.shared = false;
    }

    fn appended(&mut self, id: Value) {
        match self.ids.as_mut() {
            Some(ids) if self.shared && self.len < ids.len() => {
                ids[self.len] = id;
                self.len += 1;
            }
            // Past the capacity, append reallocates: later items go elsewhere.
            _ => self.shared = false,
        }
    }

    fn into_ids(self) -> Vec<Value> {
        self.ids.unwrap_or_default()
    }
}

/// What identifies each item for ordering: for objects holding the merge key, just that key
/// (cheaper to copy than the whole item); anything else as it is.
pub(super) fn identities(list: &[Value], merge_key: &str) -> Vec<Value> {
    list.iter()
        .map(|v| match v {
            Value::Object(m) if !merge_key.is_empty() => match m.get(merge_key) {
                Some(k) => {
                    let mut id = Map::new();
                    id.insert(merge_key.to_string(), k.clone());
                    Value::Object(id)
                }
                None => v.clone(),
            },
            _ => v.clone(),
        })
        .collect()
}

/// sliceElementType: the Go type shared by every item of the lists.
pub(super) fn slice_element_type(lists: &[&[Value]]) -> Result<GoType, MergeError> {
    let mut element = None;
    for list in lists {
        for v in *list {
            let t = go_type(v);
            match element {
                None => {
                    if t == GoType::Nil {
                        // Upstream calls Kind() on a nil reflect.Type.
                        return Err(GoPanic::NilElementType.into());
                    }
                    if t == GoType::Slice {
                        return Err(MergeError::NoListOfLists);
                    }
                    element = Some(t);
                }
                Some(e) if e != t => {
                    return Err(MergeError::ElementTypesNotIdentical { lists: fmt_v_lists(lists) });
                }
                Some(_) => {}
            }
        }
    }
    element.ok_or(MergeError::NoElements)
}

fn contains(list: &[Value], v: &Value) -> Result<bool, GoPanic> {
    for item in list {
        if go_eq(item, v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// deleteFromSlice: the `$deleteFromPrimitiveList` items removed.
fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Result<Vec<Value>, MergeError> {
    let set = GoSet::new(to_delete)?;
    let mut kept = Vec::with_capacity(current.len());
    for v in current {
        if !set.contains(&v)? {
            kept.push(v);
        }
    }
    Ok(kept)
}

/// partitionPrimitivesByPresentInList: (items in `by`, the others), each in list order.
pub(super) fn partition_scalars(list: Vec<Value>, by: &[Value]) -> Result<(Vec<Value>, Vec<Value>), MergeError> {
    let set = GoSet::new(by)?;
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for v in list {
        if set.contains(&v)? {
            inside.push(v);
        } else {
            outside.push(v);
        }
    }
    Ok((inside, outside))
}

/// partitionMapsByPresentInList: (items whose merge key is in `by`, the others).
pub(super) fn partition_maps(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), MergeError> {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for v in list {
        let Value::Object(m) = &v else {
            return Err(MergeError::BadArgType { expected: MAP_TYPE, actual: go_type(&v).name() });
        };
        let Some(key) = m.get(merge_key) else {
            return Err(no_merge_key(m, merge_key));
        };
        if find_by_key(by, merge_key, key)?.is_some() {
            inside.push(v);
        } else {
            outside.push(v);
        }
    }
    Ok((inside, outside))
}

pub(super) fn no_merge_key(m: &Map<String, Value>, merge_key: &str) -> MergeError {
    MergeError::NoMergeKey { map: fmt_v_map(m), merge_key: merge_key.to_string() }
}

/// findMapInSliceBasedOnKeyValue: the first object whose `key` equals `value`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, MergeError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(MergeError::NotAMap { index: i });
        };
        if let Some(k) = m.get(key)
            && go_eq(k, value)?
        {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// mergeSliceWithSpecialElements: applies the `$patch` items of a list of objects.
/// Returns the original (minus deleted items, or the replacement list) and the plain patch
/// items left to merge.
fn special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    view: &mut OriginalView,
) -> Result<(Vec<Value>, Vec<Value>), MergeError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let directive = match &v {
            Value::Object(m) => m.get(PATCH),
            _ => None,
        };
        let Some(directive) = directive else {
            plain.push(v);
            continue;
        };
        let Value::Object(m) = &v else {
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(key) = m.get(merge_key) else {
                    return Err(no_merge_key(m, merge_key));
                };
                delete_matching(&mut original, merge_key, key, view)?;
            }
            // Keep going: later `$patch` items are still checked (and deletes applied).
            Some("replace") => replace = true,
            Some("merge") => return Err(MergeError::ListMergeDirective),
            _ => {
                return Err(MergeError::BadPatchType {
                    directive: super::govalue::fmt_s(directive),
                    map: fmt_v_map(m),
                });
            }
        }
    }
    if replace {
        view.detached();
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// deleteMatchingEntries: removes every object whose merge key equals `value`.
fn delete_matching(
    list: &mut Vec<Value>,
    merge_key: &str,
    value: &Value,
    view: &mut OriginalView,
) -> Result<(), MergeError> {
    let mut i = 0;
    while i < list.len() {
        let Value::Object(m) = &list[i] else {
            return Err(MergeError::NotAMap { index: i });
        };
        if let Some(k) = m.get(merge_key)
            && go_eq(k, value)?
        {
            list.remove(i);
            view.deleted(i);
            continue;
        }
        i += 1;
    }
    Ok(())
}

/// mergeSliceWithoutSpecialElements: each patch object merges into the first original object
/// with the same merge key, or is appended (as it is, nulls and directives included).
fn merge_by_key(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    schema: Schema,
    view: &mut OriginalView,
) -> Result<Vec<Value>, MergeError> {
    for v in patch {
        let Value::Object(item) = v else {
            // Unreachable: slice_element_type found only objects.
            continue;
        };
        let Some(key) = item.get(merge_key).cloned() else {
            return Err(no_merge_key(&item, merge_key));
        };
        match find_by_key(&original, merge_key, &key)? {
            Some(at) => {
                let current = match std::mem::take(&mut original[at]) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                original[at] = Value::Object(merge_map(current, item, schema)?);
            }
            None => {
                let mut id = Map::new();
                id.insert(merge_key.to_string(), key);
                view.appended(Value::Object(id));
                original.push(Value::Object(item));
            }
        }
    }
    Ok(original)
}
