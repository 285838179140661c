//! Merging an applied configuration into the live object (structured-merge-diff's
//! `TypedValue.Merge` with the keep-right rule).
//!
//! Leaves (scalars, atomic lists/maps/structs) take the configuration's value; granular
//! structs and maps merge member by member; map-lists and sets merge element by element,
//! the configuration deciding the relative order of the elements it names and live-only
//! elements keeping their place around them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::compare::{as_list, as_map};
use super::path::PathElement;
use super::schema::{Atom, ListKind, Node, item_path_element};

/// `lhs` (live) merged with `rhs` (configuration) at `node`.
pub(crate) fn merge(lhs: &Value, rhs: &Value, node: Node) -> Value {
    walk(Some(lhs), Some(rhs), node).unwrap_or(Value::Null)
}

/// The merged value; `None` drops the member (a granular node that merged to nothing).
fn walk(lhs: Option<&Value>, rhs: Option<&Value>, node: Node) -> Option<Value> {
    let leaf = || rhs.or(lhs).cloned();
    let atom = match (lhs, rhs) {
        (_, None) => node.atom(lhs),
        (None, _) => node.atom(rhs),
        (Some(_), Some(_)) => {
            let (al, ar) = (node.atom(lhs), node.atom(rhs));
            if !al.same_kind(&ar) {
                return leaf();
            }
            ar
        }
    };
    if atom.is_leaf() {
        return leaf();
    }
    match atom {
        Atom::List { kind, elem } => {
            let (l, r) = (as_list(lhs), as_list(rhs));
            if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                return leaf();
            }
            let out = merge_list(l.map_or(&[][..], Vec::as_slice), r.map_or(&[][..], Vec::as_slice), &kind, elem);
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Atom::Map { shape, .. } => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                return leaf();
            }
            let empty = Map::new();
            let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
            let mut out = Map::new();
            for key in l.keys().chain(r.keys().filter(|k| !l.contains_key(*k))) {
                let (child, _) = shape.member(key);
                if let Some(v) = walk(l.get(key), r.get(key), child) {
                    out.insert(key.clone(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Atom::Scalar(_) => leaf(),
    }
}

static NULL: Value = Value::Null;

/// Upstream's `visitListItems`: walks both lists at once. Elements in both are merged and
/// follow the configuration's order; a live-only element stays before the next shared one
/// it preceded; configuration-only elements come where the configuration has them.
fn merge_list(lhs: &[Value], rhs: &[Value], kind: &ListKind, elem: Node) -> Vec<Value> {
    // Configurations are validated to have no duplicate or unidentifiable elements, so
    // those are only skipped here.
    let mut rhs_pes: Vec<PathElement> = Vec::with_capacity(rhs.len());
    let mut observed_rhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for item in rhs {
        if let Ok(pe) = item_path_element(kind, elem, item)
            && !observed_rhs.contains_key(&pe)
        {
            observed_rhs.insert(pe.clone(), item);
            rhs_pes.push(pe);
        }
    }
    // Live elements: duplicates are allowed and merge as null (upstream forgets their value).
    let mut lhs_items: Vec<(PathElement, &Value)> = Vec::with_capacity(lhs.len());
    let mut observed_lhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for item in lhs {
        let Ok(pe) = item_path_element(kind, elem, item) else {
            continue;
        };
        match observed_lhs.get_mut(&pe) {
            Some(v) => *v = &NULL,
            None => {
                observed_lhs.insert(pe.clone(), item);
            }
        }
        lhs_items.push((pe, item));
    }

    let mut shared =
        rhs_pes.iter().filter(|pe| observed_lhs.contains_key(*pe)).cloned().collect::<Vec<_>>().into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut li, mut ri) = (0, 0);
    while li < lhs_items.len() || ri < rhs_pes.len() {
        if li < lhs_items.len() && ri < rhs_pes.len() {
            let pe = &lhs_items[li].0;
            if *pe == rhs_pes[ri] {
                merged_rhs.insert(pe.clone());
                let l = observed_lhs.get(pe).copied();
                let r = observed_rhs.get(pe).copied();
                out.extend(walk(l, r, elem));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.as_ref().is_some_and(|n| n != pe) {
                // A shared element, but not the one due now: it comes with the
                // configuration's order.
                li += 1;
                continue;
            }
        }
        if li < lhs_items.len() {
            let (pe, item) = &lhs_items[li];
            if !observed_rhs.contains_key(pe) {
                out.extend(walk(Some(item), None, elem));
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs_pes.len() {
            let pe = &rhs_pes[ri];
            merged_rhs.insert(pe.clone());
            let l = observed_lhs.get(pe).copied();
            let r = observed_rhs.get(pe).copied();
            out.extend(walk(l, r, elem));
            ri += 1;
            if next_shared.as_ref() == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}
