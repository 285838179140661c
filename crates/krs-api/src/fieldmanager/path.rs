//! Paths into an object (structured-merge-diff's `fieldpath.PathElement` and `Path`).
//!
//! A path element selects a struct or map member by name (`f:`), an element of a map-list by
//! its key fields (`k:`), an element of a set by its value (`v:`) or, in sets written by
//! others, a list element by index (`i:`). Elements are totally ordered as upstream orders
//! them, which is the order of FieldsV1 keys: names, then keys, then values, then indexes.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use super::error::FieldsV1Error;
use super::value::{self, Dialect};

/// One step of a [`Path`].
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A struct field or map member: `f:<name>`, printed `.name`.
    Field(String),
    /// A map-list element by its key fields, sorted by name: `k:{"name":"c"}`, printed
    /// `[name="c"]`.
    Key(Vec<(String, Value)>),
    /// A set element: `v:"a"`, printed `[="a"]`.
    Value(Value),
    /// A list element by position: `i:0`, printed `[0]`. Never produced here (atomic lists
    /// are owned whole), only read.
    Index(i64),
}

impl PathElement {
    /// A field element.
    pub fn field(name: impl Into<String>) -> PathElement {
        PathElement::Field(name.into())
    }

    /// A key element from (name, value) pairs, sorted by name as upstream does.
    pub fn key(fields: impl IntoIterator<Item = (String, Value)>) -> PathElement {
        let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The FieldsV1 key of this element (`SerializePathElement`).
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        match self {
            // Field names are written raw: the enclosing JSON key escapes them.
            PathElement::Field(name) => {
                out.push_str("f:");
                out.push_str(name);
            }
            PathElement::Key(fields) => {
                out.push_str("k:{");
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    value::write_go_string(&mut out, name, Dialect::JsonIterator);
                    out.push(':');
                    value::write_go_json(&mut out, v, Dialect::JsonIterator);
                }
                out.push('}');
            }
            PathElement::Value(v) => {
                out.push_str("v:");
                value::write_go_json(&mut out, v, Dialect::JsonIterator);
            }
            PathElement::Index(i) => {
                out.push_str("i:");
                out.push_str(&i.to_string());
            }
        }
        out
    }

    /// Parses a FieldsV1 key (`DeserializePathElement`). `Ok(None)` is a well-formed key of an
    /// unknown kind, which upstream drops silently (a newer writer may know it).
    pub fn parse(s: &str) -> Result<Option<PathElement>, FieldsV1Error> {
        let bad = |why: &str| FieldsV1Error::BadPathElement { key: s.to_owned(), reason: why.to_owned() };
        let bytes = s.as_bytes();
        if bytes.len() < 2 {
            return Err(bad("key must be 2 characters long"));
        }
        if bytes[1] != b':' {
            return Err(bad("missing colon"));
        }
        let rest = &s[2..];
        Ok(Some(match bytes[0] {
            b'f' => PathElement::Field(rest.to_owned()),
            b'v' => {
                let v: Value = serde_json::from_str(rest).map_err(|e| bad(&e.to_string()))?;
                PathElement::Value(v)
            }
            b'k' => {
                let v: Value = serde_json::from_str(rest).map_err(|e| bad(&e.to_string()))?;
                let Value::Object(fields) = v else {
                    return Err(bad("key must be a JSON object"));
                };
                PathElement::key(fields)
            }
            b'i' => PathElement::Index(rest.parse().map_err(|_| bad("invalid index"))?),
            _ => return Ok(None),
        }))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b) {
                    let c = an.cmp(bn).then_with(|| value::compare(av, bv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => value::compare(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> =
                    fields.iter().map(|(n, v)| format!("{n}={}", value::to_smd_string(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value::to_smd_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the root of an object, printed as upstream prints it in conflict messages:
/// `.spec.template.spec.containers[name="c"].image`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// A path of field names, e.g. `Path::fields(&["spec", "replicas"])`.
    pub fn fields(names: &[&str]) -> Path {
        Path(names.iter().map(|n| PathElement::field(*n)).collect())
    }

    /// The elements.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|pe| write!(f, "{pe}"))
    }
}

impl From<Vec<PathElement>> for Path {
    fn from(elements: Vec<PathElement>) -> Path {
        Path(elements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialization_round_trips() {
        let key = PathElement::key([("protocol".to_owned(), json!("TCP")), ("containerPort".to_owned(), json!(80))]);
        assert_eq!(key.serialize(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(key.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        assert_eq!(PathElement::parse(&key.serialize()).ok().flatten(), Some(key));
        assert_eq!(PathElement::parse("x:1").ok().flatten(), None);
        assert!(PathElement::parse("f").is_err());
    }

    #[test]
    fn order_is_fields_keys_values_indexes() {
        let f = PathElement::field("z");
        let k = PathElement::key([("a".to_owned(), json!(1))]);
        let v = PathElement::Value(json!(1));
        let i = PathElement::Index(0);
        assert!(f < k && k < v && v < i);
        assert!(PathElement::Value(json!(9)) < PathElement::Value(json!(10)));
    }
}
