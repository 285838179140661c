//! The fields an object sets (structured-merge-diff's `TypedValue.ToFieldSet`).
//!
//! Leaves are scalars and atomic lists, maps and structs. Granular structs are not members
//! themselves unless empty or null; map members and list elements are (so owning
//! `labels.app` also owns nothing of `labels`, while owning a container owns
//! `k:{"name":"c"}` as well as its fields). Elements whose key appears more than once are
//! owned as a whole, without their fields.

use serde_json::Value;

use super::path::PathElement;
use super::schema::{Atom, ListKind, Node, item_path_element};
use super::set::FieldSet;

/// The field set of `v` at `node`.
pub(crate) fn to_field_set(v: &Value, node: Node) -> FieldSet {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    walk(v, node, &mut path, &mut set);
    set
}

fn walk(v: &Value, node: Node, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    match node.atom(Some(v)) {
        Atom::Scalar(_) => set.insert(path),
        Atom::List { kind, elem } => {
            if kind == ListKind::Atomic {
                set.insert(path);
            } else if let Value::Array(items) = v {
                visit_list(items, &kind, elem, path, set);
            }
        }
        Atom::Map { atomic, shape } => {
            if atomic {
                set.insert(path);
                return;
            }
            let Value::Object(m) = v else {
                return;
            };
            for (key, val) in m {
                let (child, is_field) = shape.member(key);
                path.push(PathElement::Field(key.clone()));
                walk(val, child, path, set);
                let empty = match val {
                    Value::Null => true,
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if empty || !is_field {
                    set.insert(path);
                }
                path.pop();
            }
        }
    }
}

fn visit_list(items: &[Value], kind: &ListKind, elem: Node, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    // Elements upstream cannot identify are skipped: validation reports them where it
    // matters (apply configurations).
    let pes: Vec<Option<PathElement>> = items.iter().map(|item| item_path_element(kind, elem, item).ok()).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicates = std::collections::BTreeSet::new();
    for pe in pes.iter().flatten() {
        if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
            path.push(pe.clone());
            set.insert(path);
            path.pop();
        }
    }
    for (item, pe) in items.iter().zip(&pes) {
        let Some(pe) = pe else { continue };
        if duplicates.contains(pe) {
            continue;
        }
        path.push(pe.clone());
        walk(item, elem, path, set);
        set.insert(path);
        path.pop();
    }
}
