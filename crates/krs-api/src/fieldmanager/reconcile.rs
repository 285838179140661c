//! Fitting a field set written under another schema to the current one (structured-merge-
//! diff's `ReconcileFieldSetWithSchema`).
//!
//! A list, map or struct that became atomic is owned whole: a set that owns fields inside
//! it owns the field itself instead. (One that became granular keeps its single member,
//! which is how a granular node's owner is recorded too.) This matters for managedFields
//! written by older servers or sent by clients.

use super::path::PathElement;
use super::schema::{Atom, ListKind, MapShape, Node};
use super::set::FieldSet;

/// The reconciled set, or `None` when it already fits.
pub(crate) fn reconcile(set: &FieldSet, node: Node) -> Option<FieldSet> {
    let mut w = Walker::default();
    let mut path = Vec::new();
    w.walk(Some(set), false, node, &mut path);
    if w.to_remove.is_empty() {
        return None;
    }
    Some(set.recursive_difference(&w.to_remove).union(&w.to_add))
}

#[derive(Default)]
struct Walker {
    to_remove: FieldSet,
    to_add: FieldSet,
}

impl Walker {
    /// `set` is what the set has below `path`; `leaf` whether `path` is a member with
    /// nothing below it.
    fn walk(&mut self, set: Option<&FieldSet>, leaf: bool, node: Node, path: &mut Vec<PathElement>) {
        match node.declared(None) {
            Atom::Scalar(_) => {}
            Atom::List { kind, elem } => {
                if !leaf && kind == ListKind::Atomic {
                    self.collapse(path);
                    return;
                }
                if let Some(set) = set {
                    self.children(set, path, |_| Some(elem));
                }
            }
            Atom::Map { atomic, shape } => {
                // Free-form maps have no markers to reconcile with.
                if matches!(shape, MapShape::Elements(Node::Deduced)) {
                    return;
                }
                if !leaf && atomic {
                    if set.is_some_and(|s| !s.is_empty()) {
                        self.collapse(path);
                    }
                    return;
                }
                if let Some(set) = set {
                    self.children(set, path, |pe| match pe {
                        PathElement::Field(name) => {
                            let (child, is_field) = shape.member(name);
                            // Unknown struct fields are left as they are.
                            (is_field || matches!(shape, MapShape::Elements(_))).then_some(child)
                        }
                        _ => None,
                    });
                }
            }
        }
    }

    fn collapse(&mut self, path: &[PathElement]) {
        self.to_remove.insert(path);
        self.to_add.insert(path);
    }

    fn children(
        &mut self,
        set: &FieldSet,
        path: &mut Vec<PathElement>,
        child_node: impl Fn(&PathElement) -> Option<Node>,
    ) {
        let below: Vec<&PathElement> =
            set.children.keys().filter(|pe| !set.members.contains(*pe)).chain(set.members.iter()).collect();
        for pe in below {
            let Some(node) = child_node(pe) else {
                continue;
            };
            let sub = set.child(pe);
            let leaf = set.members.contains(pe) && sub.is_none();
            path.push(pe.clone());
            self.walk(sub, leaf, node, path);
            path.pop();
        }
    }
}
