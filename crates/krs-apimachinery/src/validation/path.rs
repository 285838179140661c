//! Field paths (`field.Path`): where in an object a validation error was found.

use std::fmt;
use std::sync::Arc;

/// One step of a [`Path`]: a field name, or a subscript (list index or map key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Element {
    Name(String),
    Subscript(String),
}

/// The path from an object's root to one of its fields, rendered as upstream renders it:
/// `spec.containers[0].image`, `metadata.labels[app]`.
///
/// `Path::default()` is upstream's nil path: it renders as `<nil>` and children of it start a
/// new path (`Path::default().child("key")` renders as `key`), which is what upstream's label
/// selector errors show when no path was given.
///
/// ```
/// use krs_apimachinery::validation::Path;
/// let p = Path::new("spec").child("containers").index(0).child("image");
/// assert_eq!(p.to_string(), "spec.containers[0].image");
/// assert_eq!(Path::new("metadata").child("labels").key("app").to_string(), "metadata.labels[app]");
/// assert_eq!(Path::default().to_string(), "<nil>");
/// ```
///
/// A path is a chain of shared steps: a child costs one allocation, whatever the depth, and
/// the many paths a validation builds share their common beginnings.
#[derive(Clone, Default)]
pub struct Path {
    last: Option<Arc<Step>>,
}

/// One element of a path and the path before it.
struct Step {
    parent: Option<Arc<Step>>,
    element: Element,
}

impl Path {
    /// A root path with one field name (`field.NewPath`).
    pub fn new(name: impl Into<String>) -> Path {
        Path::default().with(Element::Name(name.into()))
    }

    /// The path of a field of this one (`Path.Child`).
    #[must_use]
    pub fn child(&self, name: impl Into<String>) -> Path {
        self.with(Element::Name(name.into()))
    }

    /// The path of a list element of this one (`Path.Index`).
    #[must_use]
    pub fn index(&self, index: usize) -> Path {
        self.with(Element::Subscript(index.to_string()))
    }

    /// The path of a map entry of this one (`Path.Key`).
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Path {
        self.with(Element::Subscript(key.into()))
    }

    /// True for the nil path (no element at all).
    pub fn is_nil(&self) -> bool {
        self.last.is_none()
    }

    fn with(&self, element: Element) -> Path {
        Path { last: Some(Arc::new(Step { parent: self.last.clone(), element })) }
    }

    /// The elements from the root.
    fn elements(&self) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut step = self.last.as_deref();
        while let Some(s) = step {
            out.push(&s.element);
            step = s.parent.as_deref();
        }
        out.reverse();
        out
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.elements() == other.elements()
    }
}

impl Eq for Path {}

impl std::hash::Hash for Path {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.elements().hash(state);
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Path").field(&self.elements()).finish()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elements = self.elements();
        if elements.is_empty() {
            return f.write_str("<nil>");
        }
        for (i, element) in elements.into_iter().enumerate() {
            match element {
                // An empty name renders as an empty subscript, as upstream's does.
                Element::Name(name) if name.is_empty() => f.write_str("[]")?,
                Element::Name(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Element::Subscript(s) => write!(f, "[{s}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream's TestPath and TestPathMultiArg cases.
    #[test]
    fn renders_like_upstream() {
        let root = Path::new("root");
        assert_eq!(root.to_string(), "root");
        let p = root.child("first").child("second");
        assert_eq!(p.to_string(), "root.first.second");
        let p = p.index(0);
        assert_eq!(p.to_string(), "root.first.second[0]");
        let p = p.child("third").index(93);
        assert_eq!(p.to_string(), "root.first.second[0].third[93]");
        let p = root.child("first").child("second").index(0).key("key");
        assert_eq!(p.to_string(), "root.first.second[0][key]");
    }

    #[test]
    fn nil_and_empty_paths() {
        assert_eq!(Path::default().to_string(), "<nil>");
        assert!(Path::default().is_nil());
        assert_eq!(Path::default().child("key").to_string(), "key");
        assert_eq!(Path::default().child("values").index(0).key("x16").to_string(), "values[0][x16]");
        assert_eq!(Path::new("").to_string(), "[]");
        assert_eq!(Path::default().index(3).to_string(), "[3]");
    }

    #[test]
    fn paths_compare_and_hash_by_their_elements() {
        use std::collections::HashSet;
        let spec = Path::new("spec");
        let a = spec.child("containers").index(0);
        let b = Path::new("spec").child("containers").index(0);
        assert_eq!(a, b);
        assert_ne!(a, spec.child("containers").index(1));
        assert_ne!(a, spec.child("initContainers").index(0));
        assert_ne!(a, spec.child("containers"));
        assert_eq!(Path::default(), Path::default());
        let set: HashSet<Path> = [a.clone(), b, spec.clone()].into_iter().collect();
        assert_eq!(set.len(), 2);
        // A child leaves its parent as it was.
        assert_eq!(spec.to_string(), "spec");
        assert_eq!(a.to_string(), "spec.containers[0]");
    }
}
