//! What changed between two objects (structured-merge-diff's `TypedValue.Compare`).
//!
//! Leaves are compared by value. A granular node (struct, map, map-list element) that only
//! one side has is itself added or removed, besides its leaves: that is where the `"."`
//! entries of an update's managedFields come from. A node present on both sides (even as
//! `null`) is neither.

use serde_json::{Map, Value};

use super::path::PathElement;
use super::schema::{Atom, ListKind, Node, item_path_element};
use super::set::FieldSet;
use super::value;

/// The result of comparing an old object (left) with a new one (right).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Fields the new object has and the old one did not.
    pub(crate) added: FieldSet,
    /// Leaves both have, with different values.
    pub(crate) modified: FieldSet,
    /// Fields the old object had and the new one does not.
    pub(crate) removed: FieldSet,
}

impl Comparison {
    /// Removes the fields (and everything below them) of `ignored` from all three sets:
    /// upstream's reset-fields filter.
    pub(crate) fn exclude(&mut self, ignored: Option<&FieldSet>) {
        if let Some(ignored) = ignored.filter(|s| !s.is_empty()) {
            self.added = self.added.recursive_difference(ignored);
            self.modified = self.modified.recursive_difference(ignored);
            self.removed = self.removed.recursive_difference(ignored);
        }
    }
}

/// Compares `lhs` (old) with `rhs` (new) at `node`.
pub(crate) fn compare(lhs: &Value, rhs: &Value, node: Node) -> Comparison {
    let mut c = Comparison::default();
    let mut path = Vec::new();
    c.walk(Some(lhs), Some(rhs), node, &mut path);
    c
}

pub(crate) fn as_list(v: Option<&Value>) -> Option<&Vec<Value>> {
    match v {
        Some(Value::Array(items)) => Some(items),
        _ => None,
    }
}

pub(crate) fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    }
}

impl Comparison {
    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, path: &[PathElement]) {
        match (lhs, rhs) {
            (None, _) => self.added.insert(path),
            (_, None) => self.removed.insert(path),
            (Some(l), Some(r)) => {
                if !value::equals(l, r) {
                    self.modified.insert(path);
                }
            }
        }
    }

    fn walk(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, node: Node, path: &mut Vec<PathElement>) {
        let atom = match (lhs, rhs) {
            (_, None) => node.atom(lhs),
            (None, _) => node.atom(rhs),
            (Some(_), Some(_)) => {
                let (al, ar) = (node.atom(lhs), node.atom(rhs));
                if !al.same_kind(&ar) {
                    // Only free-form (deduced) values change shape; the value as a whole
                    // changed.
                    self.leaf(lhs, rhs, path);
                    return;
                }
                ar
            }
        };
        if atom.is_leaf() {
            self.leaf(lhs, rhs, path);
            return;
        }
        match atom {
            Atom::List { kind, elem } => {
                let (l, r) = (as_list(lhs), as_list(rhs));
                if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                    // Empty and null lists stay distinct values.
                    self.leaf(lhs, rhs, path);
                    return;
                }
                self.visit_list(l.map_or(&[][..], Vec::as_slice), r.map_or(&[][..], Vec::as_slice), &kind, elem, path);
            }
            Atom::Map { shape, .. } => {
                let (l, r) = (as_map(lhs), as_map(rhs));
                if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                    self.leaf(lhs, rhs, path);
                    return;
                }
                let empty = Map::new();
                let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
                let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let (child, _) = shape.member(key);
                    path.push(PathElement::Field(key.clone()));
                    self.walk(l.get(key), r.get(key), child, path);
                    path.pop();
                }
            }
            Atom::Scalar(_) => {}
        }
        if lhs.is_none() {
            self.added.insert(path);
        } else if rhs.is_none() {
            self.removed.insert(path);
        }
    }

    /// Pairs elements by key; an element whose key is duplicated on a side is compared as a
    /// whole (upstream's duplicate handling).
    fn visit_list(&mut self, lhs: &[Value], rhs: &[Value], kind: &ListKind, elem: Node, path: &mut Vec<PathElement>) {
        let mut order: Vec<PathElement> = Vec::new();
        let mut lvals: std::collections::BTreeMap<PathElement, Vec<&Value>> = Default::default();
        let mut rvals: std::collections::BTreeMap<PathElement, Vec<&Value>> = Default::default();
        for item in lhs {
            let Ok(pe) = item_path_element(kind, elem, item) else {
                continue;
            };
            let entry = lvals.entry(pe.clone()).or_default();
            if entry.is_empty() {
                order.push(pe);
            }
            entry.push(item);
        }
        for item in rhs {
            let Ok(pe) = item_path_element(kind, elem, item) else {
                continue;
            };
            let entry = rvals.entry(pe.clone()).or_default();
            if entry.is_empty() && !lvals.contains_key(&pe) {
                order.push(pe);
            }
            entry.push(item);
        }
        for pe in order {
            let l = lvals.get(&pe).map_or(&[][..], Vec::as_slice);
            let r = rvals.get(&pe).map_or(&[][..], Vec::as_slice);
            path.push(pe);
            match (l.len(), r.len()) {
                (0..=1, 0..=1) => {
                    self.walk(l.first().copied(), r.first().copied(), elem, path);
                }
                (2.., 2..) => {
                    let same = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| value::equals(a, b));
                    if !same {
                        self.modified.insert(path);
                    }
                }
                (2.., _) => {
                    if let Some(first) = r.first() {
                        self.walk(None, Some(first), elem, path);
                    }
                    self.removed.insert(path);
                }
                (_, _) => {
                    if let Some(first) = l.first() {
                        self.walk(Some(first), None, elem, path);
                    }
                    self.added.insert(path);
                }
            }
            path.pop();
        }
    }
}
