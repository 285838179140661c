//! Removing a set of fields from an object (structured-merge-diff's `RemoveItems`).
//!
//! A member of the set is removed with everything below it; a granular node left with no
//! members becomes `null`, as upstream's walker leaves it (the final object drops such
//! nulls, see [`super::updater`]).

use serde_json::{Map, Value};

use super::path::PathElement;
use super::schema::{Atom, ListKind, Node, item_path_element};
use super::set::FieldSet;

/// `v` without the fields of `to_remove`.
pub(crate) fn remove_items(v: &Value, to_remove: &FieldSet, node: Node) -> Value {
    match node.atom(Some(v)) {
        Atom::Scalar(_) => v.clone(),
        Atom::List { kind, elem } => {
            let Value::Array(items) = v else {
                return Value::Null;
            };
            if items.is_empty() || kind == ListKind::Atomic {
                return Value::Null;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(pe) = item_path_element(&kind, elem, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match to_remove.child(&pe).filter(|s| !s.is_empty()) {
                    Some(subset) => out.push(remove_items(item, subset, elem)),
                    None => out.push(item.clone()),
                }
            }
            if out.is_empty() { Value::Null } else { Value::Array(out) }
        }
        Atom::Map { atomic, shape } => {
            let Value::Object(m) = v else {
                return Value::Null;
            };
            if m.is_empty() || atomic {
                return Value::Null;
            }
            let mut out = Map::new();
            for (key, val) in m {
                let pe = PathElement::Field(key.clone());
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match to_remove.child(&pe).filter(|s| !s.is_empty()) {
                    Some(subset) => {
                        let (child, _) = shape.member(key);
                        out.insert(key.clone(), remove_items(val, subset, child));
                    }
                    None => {
                        out.insert(key.clone(), val.clone());
                    }
                }
            }
            if out.is_empty() { Value::Null } else { Value::Object(out) }
        }
    }
}
