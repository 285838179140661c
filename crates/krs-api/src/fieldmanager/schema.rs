//! The structured-merge-diff view of the generated type table: what upstream's OpenAPI →
//! SMD conversion (kube-openapi `schemaconv`) makes of each type.
//!
//! - structs are maps with named fields, granular unless `+structType=atomic`;
//! - maps are granular unless `+mapType=atomic`;
//! - lists are `+listType=map` (keyed by `+listMapKey`), `set`, or `atomic`; without a marker,
//!   `patchStrategy=merge` makes a map-list keyed by `patchMergeKey` (a set without one), and
//!   anything else is atomic;
//! - `RawExtension` is atomic whatever it holds; free-form JSON (apiextensions `JSON`,
//!   `FieldsV1`) and kinds without a table entry are "deduced": granular maps, atomic lists.
//!
//! Where upstream's schema has no field for a key, its typed conversion fails ("field not
//! declared in schema"); the configuration of an apply is validated for that
//! ([`super::validate`]), and elsewhere unknown members are treated as deduced.

use serde_json::Value;

use super::path::PathElement;
use super::set::FieldSet;
use crate::merge::{Field, Granularity, ListType, Scalar, Struct, TypeKind, TypeRef};

/// A position in the schema.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    /// A table type, with the field that holds it (for field-level markers).
    Typed { ty: TypeRef, field: Option<Field> },
    /// Upstream's `__untyped_deduced_`: scalars, atomic lists, granular maps.
    Deduced,
    /// Upstream's `__untyped_atomic_`: everything is a leaf.
    Untyped,
}

/// How a scalar is validated (`schema.Scalar`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalarType {
    Numeric,
    String,
    Boolean,
    Untyped,
}

/// How a list's elements are identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    Atomic,
    Set,
    Map(Vec<&'static str>),
}

/// What a node is for a given value (upstream's `deduceAtom`).
#[derive(Clone, Debug)]
pub(crate) enum Atom {
    Scalar(ScalarType),
    List { kind: ListKind, elem: Node },
    Map { atomic: bool, shape: MapShape },
}

/// The members of a map atom.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MapShape {
    /// Named fields.
    Struct(Struct),
    /// Any key, values of this node.
    Elements(Node),
}

impl Atom {
    pub(crate) fn is_leaf(&self) -> bool {
        match self {
            Atom::Scalar(_) => true,
            Atom::List { kind, .. } => *kind == ListKind::Atomic,
            Atom::Map { atomic, .. } => *atomic,
        }
    }

    /// Same kind of atom (scalar, list or map), which decides whether two values are
    /// compared member by member.
    pub(crate) fn same_kind(&self, other: &Atom) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Node {
    /// The root of a kind: its table type, or deduced for kinds without one.
    pub(crate) fn root(api_version: &str, kind: &str) -> Node {
        match crate::merge::lookup(api_version, kind) {
            Some(ty) => Node::Typed { ty, field: None },
            None => Node::Deduced,
        }
    }

    /// The atom for a value at this node. A value of the wrong shape (a string where a
    /// struct is declared) is a leaf: upstream rejects such objects when converting them, and
    /// only configurations are checked for that here.
    pub(crate) fn atom(self, v: Option<&Value>) -> Atom {
        let atom = self.declared(v);
        let fits = match (v, &atom) {
            (None | Some(Value::Null), _) => true,
            (Some(Value::Array(_)), Atom::List { .. }) => true,
            (Some(Value::Object(_)), Atom::Map { .. }) => true,
            (Some(Value::Array(_) | Value::Object(_)), _) => false,
            (Some(_), Atom::Scalar(_)) => true,
            (Some(_), _) => false,
        };
        if fits { atom } else { Atom::Scalar(ScalarType::Untyped) }
    }

    /// The atom the schema declares for a value at this node; `None` and `null` take the
    /// node's declared shape.
    pub(crate) fn declared(self, v: Option<&Value>) -> Atom {
        let v = v.filter(|v| !v.is_null());
        match self {
            Node::Typed { ty, field } => typed_atom(ty, field, v),
            Node::Deduced | Node::Untyped => {
                let atomic = matches!(self, Node::Untyped);
                match v {
                    Some(Value::Array(_)) => Atom::List { kind: ListKind::Atomic, elem: Node::Untyped },
                    Some(Value::Object(_)) | None => Atom::Map { atomic, shape: MapShape::Elements(self) },
                    Some(_) => Atom::Scalar(ScalarType::Untyped),
                }
            }
        }
    }
}

fn typed_atom(ty: TypeRef, field: Option<Field>, v: Option<&Value>) -> Atom {
    match ty.kind() {
        TypeKind::Scalar(s) => match s {
            Scalar::RawExtension => Node::Untyped.declared(v),
            Scalar::Json
            | Scalar::FieldsV1
            | Scalar::SchemaOrBool
            | Scalar::SchemaOrArray
            | Scalar::SchemaOrStringArray => Node::Deduced.declared(v),
            _ => Atom::Scalar(scalar_type(s)),
        },
        TypeKind::Struct(st) => {
            let marker = match field {
                Some(f) => f.struct_type(),
                None => st.struct_type(),
            };
            Atom::Map { atomic: marker == Some(Granularity::Atomic), shape: MapShape::Struct(st) }
        }
        TypeKind::List(elem) => {
            Atom::List { kind: field.map_or(ListKind::Atomic, list_kind), elem: Node::Typed { ty: elem, field: None } }
        }
        TypeKind::Map(elem) => Atom::Map {
            atomic: field.and_then(Field::map_type) == Some(Granularity::Atomic),
            shape: MapShape::Elements(Node::Typed { ty: elem, field: None }),
        },
    }
}

/// kube-openapi's primitive conversion: integers and numbers are numeric, plain strings and
/// bytes are strings, formatted strings (date-time, int-or-string) and quantities untyped.
fn scalar_type(s: Scalar) -> ScalarType {
    match s {
        Scalar::String | Scalar::Bytes | Scalar::Duration => ScalarType::String,
        Scalar::Bool => ScalarType::Boolean,
        Scalar::Int32 | Scalar::Int64 | Scalar::Number => ScalarType::Numeric,
        _ => ScalarType::Untyped,
    }
}

/// `getListElementRelationship`.
fn list_kind(f: Field) -> ListKind {
    match f.list_type() {
        Some(ListType::Atomic) => ListKind::Atomic,
        Some(ListType::Set) => ListKind::Set,
        Some(ListType::Map) => ListKind::Map(f.list_map_keys().collect()),
        None => {
            let ps = f.patch_strategy();
            if ps.merge {
                match f.patch_merge_key() {
                    Some(key) => ListKind::Map(vec![key]),
                    None => ListKind::Set,
                }
            } else {
                ListKind::Atomic
            }
        }
    }
}

impl MapShape {
    /// The node of member `key`, and whether it is a declared field (upstream's
    /// `FindField`). Unknown members of a struct are treated as deduced.
    pub(crate) fn member(self, key: &str) -> (Node, bool) {
        match self {
            MapShape::Struct(st) => match st.field(key) {
                Some(f) => (Node::Typed { ty: f.ty(), field: Some(f) }, true),
                None => (Node::Deduced, false),
            },
            MapShape::Elements(n) => (n, false),
        }
    }

    /// Whether `key` is known: a declared field, or any key of a map.
    pub(crate) fn declares(self, key: &str) -> bool {
        match self {
            MapShape::Struct(st) => st.field(key).is_some(),
            MapShape::Elements(_) => true,
        }
    }
}

/// Values of map-list keys that upstream's schema defaults (`+default` on the key field):
/// an element that omits them is identified as if it had them.
fn key_default(elem: Node, key: &str) -> Option<Value> {
    let Node::Typed { ty, .. } = elem else {
        return None;
    };
    let st = ty.as_struct()?;
    match (st.model_package(), st.name(), key) {
        ("io.k8s.api.core.v1", "ContainerPort" | "ServicePort", "protocol") => Some(Value::String("TCP".to_owned())),
        ("io.k8s.api.core.v1", "LocalObjectReference", "name") => Some(Value::String(String::new())),
        _ => None,
    }
}

/// The path element of a list item (`listItemToPathElement`).
pub(crate) fn item_path_element(kind: &ListKind, elem: Node, item: &Value) -> Result<PathElement, String> {
    match kind {
        ListKind::Atomic => Err("invalid indexing of non-associative list".to_owned()),
        ListKind::Map(keys) => {
            let m = match item {
                Value::Object(m) => m,
                Value::Null => {
                    return Err("associative list with keys may not have a null element".into());
                }
                _ => {
                    return Err("associative list with keys may not have non-map elements".into());
                }
            };
            let mut fields = Vec::new();
            for key in keys {
                if let Some(v) = m.get(*key) {
                    fields.push(((*key).to_owned(), v.clone()));
                } else if let Some(d) = key_default(elem, key) {
                    fields.push(((*key).to_owned(), d));
                }
            }
            if !keys.is_empty() && fields.is_empty() {
                let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] \
                     (and doesn't have default values for any key fields)",
                    quoted.join(" ")
                ));
            }
            Ok(PathElement::key(fields))
        }
        ListKind::Set => match item {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".into()),
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".into()),
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

/// `EnsureNamedFieldsAreMembers`: the set plus every struct field that has members below it
/// (a set naming `a.b.c` then also names `a` when `a` is a field, not when it is a map key).
pub(crate) fn ensure_named_fields_are_members(set: &FieldSet, node: Option<Node>) -> FieldSet {
    let declared = node.map(|n| n.declared(None));
    let mut out = FieldSet { members: set.members.clone(), children: Default::default() };
    for (pe, child) in &set.children {
        let mut child_node = None;
        match (pe, &declared) {
            (PathElement::Field(name), Some(Atom::Map { shape, .. })) => {
                let (n, is_field) = shape.member(name);
                if is_field {
                    out.members.insert(pe.clone());
                }
                if is_field || matches!(shape, MapShape::Elements(_)) {
                    child_node = Some(n);
                }
            }
            (PathElement::Key(_), Some(Atom::List { elem, .. })) => child_node = Some(*elem),
            _ => {}
        }
        out.children.insert(pe.clone(), ensure_named_fields_are_members(child, child_node));
    }
    out
}
