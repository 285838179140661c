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
            self.added.subtract_recursive(ignored);
            self.modified.subtract_recursive(ignored);
            self.removed.subtract_recursive(ignored);
        }
    }
}

/// Compares `lhs` (old) with `rhs` (new) at `node`.
pub(crate) fn compare(lhs: &Value, rhs: &Value, node: Node) -> Comparison {
    let mut c = Comparison::default();
    // The root itself is never a member (the empty path is never owned).
    c.walk(Some(lhs), Some(rhs), node);
    c
}

/// What a node itself is in a comparison, besides what its children are.
#[derive(Clone, Copy, Default)]
struct Marks {
    added: bool,
    modified: bool,
    removed: bool,
}

impl Marks {
    /// A leaf (or a value compared whole).
    fn leaf(lhs: Option<&Value>, rhs: Option<&Value>) -> Marks {
        match (lhs, rhs) {
            (None, _) => Marks { added: true, ..Marks::default() },
            (_, None) => Marks { removed: true, ..Marks::default() },
            (Some(l), Some(r)) => Marks { modified: !value::equals(l, r), ..Marks::default() },
        }
    }
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

/// Whether a set has nothing, judged from its top node (sets built here never hold empty
/// children).
fn bare(s: &FieldSet) -> bool {
    s.members.is_empty() && s.children.is_empty()
}

impl Comparison {
    /// Compares the child `pe` and files the result under it. Each child is filed once, so
    /// a comparison is built in one pass, without walking down from the root per field.
    fn child(&mut self, pe: PathElement, lhs: Option<&Value>, rhs: Option<&Value>, node: Node) {
        let mut sub = Comparison::default();
        let marks = sub.walk(lhs, rhs, node);
        self.file(pe, sub, marks);
    }

    fn file(&mut self, pe: PathElement, sub: Comparison, marks: Marks) {
        let Comparison { added, modified, removed } = sub;
        let parts = [
            (&mut self.added, added, marks.added),
            (&mut self.modified, modified, marks.modified),
            (&mut self.removed, removed, marks.removed),
        ];
        // The element is copied for all but its last use (most fields are filed once or
        // twice, and a copy of a name or key is an allocation).
        let mut uses: usize = parts.iter().map(|(_, below, own)| usize::from(*own) + usize::from(!bare(below))).sum();
        let mut pe = pe;
        let mut next = || {
            uses -= 1;
            if uses == 0 { std::mem::replace(&mut pe, PathElement::Index(0)) } else { pe.clone() }
        };
        for (set, below, own) in parts {
            if own {
                set.members.insert(next());
            }
            if !bare(&below) {
                set.children.insert(next(), below);
            }
        }
    }

    /// Fills `self` with what differs below `node`; returns what the node itself is.
    fn walk(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, node: Node) -> Marks {
        let atom = match (lhs, rhs) {
            (_, None) => node.atom(lhs),
            (None, _) => node.atom(rhs),
            (Some(_), Some(_)) => {
                let (al, ar) = (node.atom(lhs), node.atom(rhs));
                if !al.same_kind(&ar) {
                    // Only free-form (deduced) values change shape; the value as a whole
                    // changed.
                    return Marks::leaf(lhs, rhs);
                }
                ar
            }
        };
        if atom.is_leaf() {
            return Marks::leaf(lhs, rhs);
        }
        match atom {
            Atom::List { kind, elem } => {
                let (l, r) = (as_list(lhs), as_list(rhs));
                if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                    // Empty and null lists stay distinct values.
                    return Marks::leaf(lhs, rhs);
                }
                self.visit_list(l.map_or(&[][..], Vec::as_slice), r.map_or(&[][..], Vec::as_slice), &kind, elem);
            }
            Atom::Map { shape, .. } => {
                let (l, r) = (as_map(lhs), as_map(rhs));
                if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                    return Marks::leaf(lhs, rhs);
                }
                let empty = Map::new();
                let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
                let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let (child, _) = shape.member(key);
                    self.child(PathElement::Field(key.clone()), l.get(key), r.get(key), child);
                }
            }
            Atom::Scalar(_) => {}
        }
        Marks { added: lhs.is_none(), removed: lhs.is_some() && rhs.is_none(), modified: false }
    }

    /// Pairs elements by key; an element whose key is duplicated on a side is compared as a
    /// whole (upstream's duplicate handling).
    fn visit_list(&mut self, lhs: &[Value], rhs: &[Value], kind: &ListKind, elem: Node) {
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
            match (l.len(), r.len()) {
                (0..=1, 0..=1) => self.child(pe, l.first().copied(), r.first().copied(), elem),
                (2.., 2..) => {
                    let same = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| value::equals(a, b));
                    if !same {
                        self.modified.members.insert(pe);
                    }
                }
                (2.., _) => {
                    let mut sub = Comparison::default();
                    let mut marks = match r.first() {
                        Some(first) => sub.walk(None, Some(first), elem),
                        None => Marks::default(),
                    };
                    marks.removed = true;
                    self.file(pe, sub, marks);
                }
                (_, _) => {
                    let mut sub = Comparison::default();
                    let mut marks = match l.first() {
                        Some(first) => sub.walk(Some(first), None, elem),
                        None => Marks::default(),
                    };
                    marks.added = true;
                    self.file(pe, sub, marks);
                }
            }
        }
    }
}
