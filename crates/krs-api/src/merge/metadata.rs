//! Typed, copyable handles over the generated patch-metadata table.
//!
//! One table serves three engines, so the accessors expose upstream's facts as written rather
//! than one engine's interpretation of them:
//!
//! - strategic merge patch reads the struct tags: [`Field::patch_strategy`] and
//!   [`Field::patch_merge_key`] (OpenAPI: `x-kubernetes-patch-strategy`,
//!   `x-kubernetes-patch-merge-key`);
//! - server-side apply reads the markers: [`Field::list_type`] with [`Field::list_map_keys`]
//!   (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`), [`Field::map_type`] and
//!   [`Field::struct_type`] (`x-kubernetes-map-type`), and [`Struct::struct_type`] for the
//!   type's own `+structType`;
//! - OpenAPI additionally needs the definition names ([`Struct::definition_name`]), the shapes
//!   ([`TypeRef::kind`]) and the leaf types ([`Scalar`]).

use std::fmt;

use super::table::{self, FieldDef, TypeDef, flags, shape_kind};

/// A value's type in the table: a leaf, a struct, a list or a map (string keys).
///
/// Go pointers are transparent here (see [`Field::is_pointer`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeRef(u16);

/// What a [`TypeRef`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// A leaf: merging replaces it as a whole.
    Scalar(Scalar),
    /// A struct with named fields (a JSON object).
    Struct(Struct),
    /// A list (JSON array) of the element type.
    List(TypeRef),
    /// A map (JSON object) with string keys and values of this type.
    Map(TypeRef),
}

/// Leaf types. The ones after `Number` are Go structs with custom JSON that upstream treats as
/// scalars for merging and as named definitions in OpenAPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Scalar {
    /// Go string (and named string types).
    String,
    /// Go `[]byte`: a base64 string.
    Bytes,
    /// Go bool.
    Bool,
    /// Go int32 and smaller integers.
    Int32,
    /// Go int64, int and unsigned integers wider than 16 bits.
    Int64,
    /// Go float32 / float64.
    Number,
    /// metav1.Time: RFC 3339 string.
    Time,
    /// metav1.MicroTime: RFC 3339 string with microseconds.
    MicroTime,
    /// metav1.Duration: Go duration string.
    Duration,
    /// resource.Quantity: string.
    Quantity,
    /// intstr.IntOrString: number or string.
    IntOrString,
    /// runtime.RawExtension (and runtime.Object): any embedded JSON object.
    RawExtension,
    /// metav1.FieldsV1: the managed-fields trie.
    FieldsV1,
    /// apiextensions JSON and Go `interface{}`: any JSON value.
    Json,
    /// JSONSchemaPropsOrBool: a schema object or a boolean.
    SchemaOrBool,
    /// JSONSchemaPropsOrArray: a schema object or an array of them.
    SchemaOrArray,
    /// JSONSchemaPropsOrStringArray: a schema object or an array of strings.
    SchemaOrStringArray,
}

const SCALARS: [Scalar; 17] = [
    Scalar::String,
    Scalar::Bytes,
    Scalar::Bool,
    Scalar::Int32,
    Scalar::Int64,
    Scalar::Number,
    Scalar::Time,
    Scalar::MicroTime,
    Scalar::Duration,
    Scalar::Quantity,
    Scalar::IntOrString,
    Scalar::RawExtension,
    Scalar::FieldsV1,
    Scalar::Json,
    Scalar::SchemaOrBool,
    Scalar::SchemaOrArray,
    Scalar::SchemaOrStringArray,
];

/// A struct type of the table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Struct(u16);

/// A field (JSON member) of a [`Struct`]; members promoted from embedded structs included.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field(u16);

/// `patchStrategy` struct tag (OpenAPI `x-kubernetes-patch-strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PatchStrategy {
    /// `merge`: lists merge (by the merge key for lists of objects).
    pub merge: bool,
    /// `retainKeys`: clients send a `$retainKeys` directive listing the keys to keep.
    pub retain_keys: bool,
    /// `replace`: the value is replaced rather than merged.
    pub replace: bool,
}

/// `+listType` marker (OpenAPI `x-kubernetes-list-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListType {
    /// The list is one value.
    Atomic,
    /// A set of scalars.
    Set,
    /// A map keyed by [`Field::list_map_keys`].
    Map,
}

/// `+mapType` / `+structType` marker (OpenAPI `x-kubernetes-map-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// The object is one value.
    Atomic,
    /// Each member is owned separately.
    Granular,
}

/// The type of the kind `kind` in `api_version` ("v1", "apps/v1", ...), for the built-in
/// types; `None` for unknown kinds (custom resources have no table entry).
pub fn lookup(api_version: &str, kind: &str) -> Option<TypeRef> {
    let kinds = table::kinds();
    let at = kinds.binary_search_by(|k| (k.api_version(), k.kind()).cmp(&(api_version, kind))).ok()?;
    let ty = table::types().get(kinds[at].ty as usize)?;
    Some(TypeRef(ty.shape))
}

/// Every (apiVersion, kind) of the table with its struct, sorted by apiVersion and kind.
pub fn kinds() -> impl ExactSizeIterator<Item = (&'static str, &'static str, Struct)> {
    table::kinds().iter().map(|k| (k.api_version(), k.kind(), Struct(k.ty)))
}

/// Every struct of the table, sorted by definition name.
pub fn structs() -> impl ExactSizeIterator<Item = Struct> {
    (0..table::types().len()).map(|i| Struct(i as u16))
}

impl TypeRef {
    /// What this type is. A corrupt table entry reads as [`Scalar::Json`], the most permissive
    /// leaf, rather than panicking.
    pub fn kind(self) -> TypeKind {
        let Some(def) = table::shapes().get(self.0 as usize) else {
            return TypeKind::Scalar(Scalar::Json);
        };
        match def.kind {
            shape_kind::STRUCT => TypeKind::Struct(Struct(def.arg)),
            shape_kind::LIST => TypeKind::List(TypeRef(def.arg)),
            shape_kind::MAP => TypeKind::Map(TypeRef(def.arg)),
            shape_kind::SCALAR => TypeKind::Scalar(SCALARS.get(def.arg as usize).copied().unwrap_or(Scalar::Json)),
            _ => TypeKind::Scalar(Scalar::Json),
        }
    }

    /// The struct, when this is one.
    pub fn as_struct(self) -> Option<Struct> {
        match self.kind() {
            TypeKind::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The element type of a list or the value type of a map.
    pub fn element(self) -> Option<TypeRef> {
        match self.kind() {
            TypeKind::List(e) | TypeKind::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The field `json_name` of a struct type (exact match).
    pub fn field(self, json_name: &str) -> Option<Field> {
        self.as_struct()?.field(json_name)
    }
}

impl fmt::Debug for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            TypeKind::Scalar(s) => write!(f, "{s:?}"),
            TypeKind::Struct(s) => write!(f, "{}", s.definition_name()),
            TypeKind::List(e) => write!(f, "[]{e:?}"),
            TypeKind::Map(e) => write!(f, "map[string]{e:?}"),
        }
    }
}

impl Struct {
    fn def(self) -> Option<&'static TypeDef> {
        table::types().get(self.0 as usize)
    }

    fn field_defs(self) -> &'static [FieldDef] {
        self.def().map_or(&[], TypeDef::fields)
    }

    fn first_field(self) -> u16 {
        self.def().map_or(0, |d| d.fields_start)
    }

    /// The Go type name, e.g. `PodSpec`.
    pub fn name(self) -> &'static str {
        self.def().map_or("", TypeDef::name)
    }

    /// The OpenAPI model package, e.g. `io.k8s.api.core.v1`.
    pub fn model_package(self) -> &'static str {
        self.def().map_or("", TypeDef::package)
    }

    /// The OpenAPI definition name, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub fn definition_name(self) -> String {
        format!("{}.{}", self.model_package(), self.name())
    }

    /// The `+structType` marker on the type's declaration.
    pub fn struct_type(self) -> Option<Granularity> {
        granularity(self.def().map_or(0, |d| d.struct_type))
    }

    /// This struct as a [`TypeRef`].
    pub fn as_type(self) -> TypeRef {
        TypeRef(self.def().map_or(0, |d| d.shape))
    }

    /// The JSON members, sorted by name (bytewise).
    pub fn fields(self) -> impl ExactSizeIterator<Item = Field> {
        let first = self.first_field();
        (0..self.field_defs().len()).map(move |i| Field(first + i as u16))
    }

    /// The member named exactly `json_name`.
    pub fn field(self, json_name: &str) -> Option<Field> {
        let defs = self.field_defs();
        let at = defs.binary_search_by(|f| f.name().cmp(json_name)).ok()?;
        Some(Field(self.first_field() + at as u16))
    }

    /// The member that Go's encoding/json would decode `key` into: the exact name, else the
    /// first (in name order) that matches under Unicode simple case folding. Upstream's
    /// struct-based patch metadata lookup resolves keys this way.
    pub fn field_case_insensitive(self, key: &str) -> Option<Field> {
        self.field(key).or_else(|| self.fields().find(|f| equal_fold(f.json_name(), key)))
    }
}

impl fmt::Debug for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.definition_name())
    }
}

/// Go's `bytes.EqualFold` for an ASCII field name: ASCII letters fold, and so do the two
/// non-ASCII runes that fold to ASCII ones (KELVIN SIGN to k, LONG S to s).
fn equal_fold(name: &str, key: &str) -> bool {
    let mut chars = key.chars();
    for b in name.bytes() {
        let Some(c) = chars.next() else {
            return false;
        };
        let lower = b.to_ascii_lowercase();
        let matches = match c {
            '\u{212A}' => lower == b'k',
            '\u{17F}' => lower == b's',
            c if c.is_ascii() => (c as u8).to_ascii_lowercase() == lower,
            _ => false,
        };
        if !matches {
            return false;
        }
    }
    chars.next().is_none()
}

fn granularity(bits: u8) -> Option<Granularity> {
    match bits {
        1 => Some(Granularity::Atomic),
        2 => Some(Granularity::Granular),
        _ => None,
    }
}

impl Field {
    fn def(self) -> Option<&'static FieldDef> {
        table::fields().get(self.0 as usize)
    }

    fn flags(self) -> u16 {
        self.def().map_or(0, |d| d.flags)
    }

    /// The JSON member name.
    pub fn json_name(self) -> &'static str {
        self.def().map_or("", FieldDef::name)
    }

    /// The value's type (a pointer's target for Go pointers).
    pub fn ty(self) -> TypeRef {
        TypeRef(self.def().map_or(0, |d| d.shape))
    }

    /// The Go field is a pointer (optional, `null`-able).
    pub fn is_pointer(self) -> bool {
        self.flags() & flags::POINTER != 0
    }

    /// `json:",omitempty"`.
    pub fn is_omitempty(self) -> bool {
        self.flags() & flags::OMITEMPTY != 0
    }

    /// The member was promoted from an embedded struct (`json:",inline"`), like `apiVersion`
    /// and `kind` from TypeMeta.
    pub fn is_inlined(self) -> bool {
        self.flags() & flags::INLINED != 0
    }

    /// The `patchStrategy` tag.
    pub fn patch_strategy(self) -> PatchStrategy {
        let f = self.flags();
        PatchStrategy {
            merge: f & flags::PS_MERGE != 0,
            retain_keys: f & flags::PS_RETAIN_KEYS != 0,
            replace: f & flags::PS_REPLACE != 0,
        }
    }

    /// The `patchMergeKey` tag.
    pub fn patch_merge_key(self) -> Option<&'static str> {
        self.def().map(FieldDef::merge_key).filter(|k| !k.is_empty())
    }

    /// The `+listType` marker of the field, or else of its named list type.
    pub fn list_type(self) -> Option<ListType> {
        match (self.flags() >> flags::LIST_SHIFT) & 3 {
            1 => Some(ListType::Atomic),
            2 => Some(ListType::Set),
            3 => Some(ListType::Map),
            _ => None,
        }
    }

    /// The `+listMapKey` markers, in declaration order (only for `+listType=map`).
    pub fn list_map_keys(self) -> impl Iterator<Item = &'static str> {
        self.def().map_or("", FieldDef::map_keys).split(',').filter(|k| !k.is_empty())
    }

    /// The `+mapType` marker of the field, or else of its named map type.
    pub fn map_type(self) -> Option<Granularity> {
        granularity(((self.flags() >> flags::MAP_SHIFT) & 3) as u8)
    }

    /// The `+structType` marker of the field, or else of its struct type's declaration.
    pub fn struct_type(self) -> Option<Granularity> {
        granularity(((self.flags() >> flags::STRUCT_SHIFT) & 3) as u8)
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.json_name(), self.ty())
    }
}

impl PatchStrategy {
    /// The tag value as upstream writes it (and OpenAPI publishes it):
    /// `merge`, `retainKeys`, `merge,retainKeys` or `replace`.
    pub fn as_str(self) -> Option<&'static str> {
        match (self.merge, self.retain_keys, self.replace) {
            (false, false, false) => None,
            (true, false, false) => Some("merge"),
            (false, true, false) => Some("retainKeys"),
            (true, true, false) => Some("merge,retainKeys"),
            (false, false, true) => Some("replace"),
            (false, true, true) => Some("replace,retainKeys"),
            // The generator rejects any other combination.
            (true, _, true) => None,
        }
    }
}

impl ListType {
    /// The marker value (and `x-kubernetes-list-type` value): `atomic`, `set` or `map`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        }
    }
}

impl Granularity {
    /// The marker value (and `x-kubernetes-map-type` value): `atomic` or `granular`.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Atomic => "atomic",
            Granularity::Granular => "granular",
        }
    }
}

impl Scalar {
    /// The Go kind that upstream's reflection reports for the type (`reflect.Kind.String()`).
    pub(super) fn go_kind(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Bytes => "slice",
            Scalar::Bool => "bool",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Number => "float64",
            _ => "struct",
        }
    }
}
