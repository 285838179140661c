//! Sets of fields (structured-merge-diff's `fieldpath.Set`): a trie of path elements where
//! each node records which children are members of the set.
//!
//! A node's children map never holds an empty subset, so emptiness is structural and the
//! FieldsV1 encoding (where an empty object means "member") stays unambiguous.

use std::collections::{BTreeMap, BTreeSet};

use super::path::{Path, PathElement};

/// A set of field paths, as one manager owns them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub(crate) members: BTreeSet<PathElement>,
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// A set of the given paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> FieldSet {
        let mut set = FieldSet::new();
        for p in paths {
            set.insert(p.elements());
        }
        set
    }

    /// Adds a path. Its parents are not added (upstream's `Insert`); the empty path (the
    /// whole object) is never owned.
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = self;
        for pe in parents {
            // Cloned only when the child is new: most inserts walk existing nodes.
            if !node.children.contains_key(pe) {
                node.children.insert(pe.clone(), FieldSet::default());
            }
            node = node.children.get_mut(pe).expect("inserted above");
        }
        if !node.members.contains(last) {
            node.members.insert(last.clone());
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut node = self;
        for pe in parents {
            match node.children.get(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.members.contains(last)
    }

    /// No members at any depth.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Members at every depth.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        if self.is_empty() {
            return other.clone();
        }
        self.clone().union_with(other)
    }

    /// Paths in either set, reusing `self`'s nodes.
    pub fn union_with(mut self, other: &FieldSet) -> FieldSet {
        self.add(other);
        self
    }

    fn add(&mut self, other: &FieldSet) {
        for pe in &other.members {
            if !self.members.contains(pe) {
                self.members.insert(pe.clone());
            }
        }
        for (pe, theirs) in &other.children {
            match self.children.get_mut(pe) {
                Some(mine) => mine.add(theirs),
                None => {
                    self.children.insert(pe.clone(), theirs.clone());
                }
            }
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, mine)| {
                let both = mine.intersection(other.children.get(pe)?);
                (!both.is_empty()).then(|| (pe.clone(), both))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Paths of `self` not in `other`. Like upstream, a member of `other` does not remove
    /// the paths below it; see [`FieldSet::recursive_difference`] for that.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, mine)| {
                let rest = match other.children.get(pe) {
                    Some(theirs) => mine.difference(theirs),
                    None => mine.clone(),
                };
                (!rest.is_empty()).then(|| (pe.clone(), rest))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Paths of `self` not in `other`, where a member of `other` also removes everything
    /// below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(*pe))
            .filter_map(|(pe, mine)| {
                let rest = match other.children.get(pe) {
                    Some(theirs) => mine.recursive_difference(theirs),
                    None => mine.clone(),
                };
                (!rest.is_empty()).then(|| (pe.clone(), rest))
            })
            .collect();
        FieldSet { members, children }
    }

    /// [`FieldSet::difference`] in place.
    pub fn subtract(&mut self, other: &FieldSet) {
        self.members.retain(|pe| !other.members.contains(pe));
        self.children.retain(|pe, mine| match other.children.get(pe) {
            Some(theirs) => {
                mine.subtract(theirs);
                !mine.is_empty()
            }
            None => true,
        });
    }

    /// [`FieldSet::recursive_difference`] in place.
    pub fn subtract_recursive(&mut self, other: &FieldSet) {
        self.members.retain(|pe| !other.members.contains(pe));
        self.children.retain(|pe, mine| {
            if other.members.contains(pe) {
                return false;
            }
            match other.children.get(pe) {
                Some(theirs) => {
                    mine.subtract_recursive(theirs);
                    !mine.is_empty()
                }
                None => true,
            }
        });
    }

    /// The paths below `pe`, without the prefix.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    /// The subset below `pe`, if any.
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Every member path, in upstream's iteration order: a node's own members first, then
    /// each child subtree in element order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect(&mut prefix, &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&[&str]]) -> FieldSet {
        let paths: Vec<Path> = paths.iter().map(|p| Path::fields(p)).collect();
        FieldSet::from_paths(&paths)
    }

    #[test]
    fn difference_keeps_children_of_removed_members() {
        let a = set(&[&["a", "b"], &["c"]]);
        let b = set(&[&["a"], &["c"]]);
        assert_eq!(a.difference(&b), set(&[&["a", "b"]]));
        assert!(a.recursive_difference(&b).is_empty());
    }

    #[test]
    fn intersection_prunes_empty_children() {
        let a = set(&[&["a", "b"], &["c"]]);
        let b = set(&[&["a", "x"], &["c"]]);
        let both = a.intersection(&b);
        assert_eq!(both, set(&[&["c"]]));
        assert!(both.children.is_empty());
    }

    #[test]
    fn in_place_operations_agree_with_their_copying_forms() {
        let a = set(&[&["a", "b"], &["a", "c"], &["c"], &["d", "e", "f"]]);
        let b = set(&[&["a"], &["a", "b"], &["d", "e", "f"], &["x"]]);
        let mut d = a.clone();
        d.subtract(&b);
        assert_eq!(d, a.difference(&b));
        assert!(!d.children.contains_key(&PathElement::field("d")), "emptied children go");
        let mut r = a.clone();
        r.subtract_recursive(&b);
        assert_eq!(r, a.recursive_difference(&b));
        assert_eq!(a.clone().union_with(&b), a.union(&b));
        assert_eq!(FieldSet::new().union(&b), b);
    }

    #[test]
    fn paths_lists_members_before_children() {
        let s = set(&[&["a", "b"], &["z"]]);
        let printed: Vec<String> = s.paths().iter().map(ToString::to_string).collect();
        assert_eq!(printed, [".z", ".a.b"]);
    }
}
