//! The shape of the generated schema table (`schema.rs`) and typed access to it.
//!
//! The table is plain integers plus one string of names, so it lives in read-only data:
//! nothing is built at startup and nothing needs relocating when the binary is loaded.

use crate::schema::{FIELDS, KINDS, MESSAGES, NAMES};

/// How a message's JSON form relates to its protobuf fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Special {
    /// A JSON object of the message's fields.
    None,
    /// metav1.Time: RFC 3339 string with seconds precision, `null` when zero.
    Time,
    /// metav1.MicroTime: RFC 3339 string with exactly six fractional digits.
    MicroTime,
    /// metav1.Duration: Go duration string.
    Duration,
    /// resource.Quantity: string.
    Quantity,
    /// intstr.IntOrString: number or string.
    IntOrString,
    /// runtime.RawExtension: the embedded JSON value, or an embedded protobuf object.
    RawExtension,
    /// metav1.FieldsV1 and apiextensions JSON: raw JSON bytes in field 1.
    RawJson,
    /// JSONSchemaPropsOrBool: a boolean or a schema object.
    SchemaOrBool,
    /// JSONSchemaPropsOrArray: a schema object or an array of them.
    SchemaOrArray,
    /// JSONSchemaPropsOrStringArray: a schema object or an array of strings.
    SchemaOrStringArray,
    /// A named Go slice type (ExtraValue, Verbs) that protobuf wraps as `{repeated items = 1}`.
    WrappedArray,
}

/// The protobuf type of a field (of a map's value for map fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    String,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    Float,
    Bytes,
    Message,
}

/// Field flags, as written by the generator.
pub(crate) mod flags {
    /// A repeated field: a JSON array.
    pub const REPEATED: u8 = 1;
    /// A `map<string, V>` field: a JSON object.
    pub const MAP: u8 = 2;
    /// A Go pointer (or nil-able slice type): written and emitted only when set.
    pub const NULLABLE: u8 = 4;
    /// `json:",omitempty"`: a zero scalar is left out of the JSON.
    pub const OMITEMPTY: u8 = 8;
    /// An embedded struct whose fields are flattened into the parent's JSON object.
    pub const INLINE: u8 = 16;
    /// `json:"-"`: the field exists on the wire only.
    pub const NO_JSON: u8 = 32;
}

pub(crate) struct MessageDef {
    package_off: u32,
    name_off: u32,
    fields_start: u16,
    package_len: u8,
    name_len: u8,
    fields_len: u8,
    special: Special,
}

pub(crate) struct FieldDef {
    name_off: u32,
    number: u16,
    message: u16,
    name_len: u8,
    kind: Kind,
    flags: u8,
}

pub(crate) struct KindDef {
    api_version_off: u32,
    kind_off: u32,
    api_version_len: u8,
    kind_len: u8,
    message: u16,
}

pub(crate) const fn m(
    package_off: u32,
    package_len: u8,
    name_off: u32,
    name_len: u8,
    fields_start: u16,
    fields_len: u8,
    special: Special,
) -> MessageDef {
    MessageDef { package_off, name_off, fields_start, package_len, name_len, fields_len, special }
}

pub(crate) const fn f(number: u16, name_off: u32, name_len: u8, kind: u8, flags: u8, message: u16) -> FieldDef {
    let kind = match kind {
        0 => Kind::String,
        1 => Kind::Bool,
        2 => Kind::Int32,
        3 => Kind::Int64,
        4 => Kind::Uint32,
        5 => Kind::Uint64,
        6 => Kind::Double,
        7 => Kind::Float,
        8 => Kind::Bytes,
        9 => Kind::Message,
        _ => panic!("invalid field kind in the schema table"),
    };
    FieldDef { name_off, number, message, name_len, kind, flags }
}

pub(crate) const fn k(api_version_off: u32, api_version_len: u8, kind_off: u32, kind_len: u8, message: u16) -> KindDef {
    KindDef { api_version_off, kind_off, api_version_len, kind_len, message }
}

fn name(off: u32, len: u8) -> &'static str {
    let start = off as usize;
    NAMES.get(start..start + len as usize).unwrap_or("")
}

/// A protobuf message of the schema table (e.g. `k8s.io.api.core.v1.Pod`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageRef(u16);

impl MessageRef {
    fn def(self) -> &'static MessageDef {
        &MESSAGES[self.0 as usize]
    }

    /// The proto package, e.g. `k8s.io.api.core.v1`.
    pub fn package(self) -> &'static str {
        let d = self.def();
        name(d.package_off, d.package_len)
    }

    /// The message's (Go type's) name, e.g. `Pod`.
    pub fn name(self) -> &'static str {
        let d = self.def();
        name(d.name_off, d.name_len)
    }

    /// The fully-qualified proto name, e.g. `k8s.io.api.core.v1.Pod`.
    pub fn full_name(self) -> String {
        format!("{}.{}", self.package(), self.name())
    }

    /// Looks a message up by its fully-qualified proto name.
    pub fn by_name(full_name: &str) -> Option<MessageRef> {
        let (package, short) = full_name.rsplit_once('.')?;
        (0..MESSAGES.len()).map(|i| MessageRef(i as u16)).find(|m| m.name() == short && m.package() == package)
    }

    /// Every message of the table.
    pub fn all() -> impl Iterator<Item = MessageRef> {
        (0..MESSAGES.len()).map(|i| MessageRef(i as u16))
    }

    pub(crate) fn special(self) -> Special {
        self.def().special
    }

    /// The message's fields, ascending by field number.
    pub(crate) fn fields(self) -> &'static [FieldDef] {
        let d = self.def();
        let start = d.fields_start as usize;
        FIELDS.get(start..start + d.fields_len as usize).unwrap_or(&[])
    }

    pub(crate) fn field_index(self, number: u32) -> Option<usize> {
        let number = u16::try_from(number).ok()?;
        self.fields().binary_search_by_key(&number, |f| f.number).ok()
    }

    pub(crate) fn field(self, number: u32) -> Option<&'static FieldDef> {
        self.field_index(number).map(|i| &self.fields()[i])
    }
}

impl std::fmt::Debug for MessageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageRef({}.{})", self.package(), self.name())
    }
}

impl FieldDef {
    pub(crate) fn number(&self) -> u32 {
        u32::from(self.number)
    }

    /// The JSON name ("" for inlined fields).
    pub(crate) fn json_name(&self) -> &'static str {
        name(self.name_off, self.name_len)
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The message type of a message field (or of a map's values).
    pub(crate) fn message(&self) -> MessageRef {
        MessageRef(self.message)
    }
}

/// The message of a kind, as the scheme of a Kubernetes API server registers it.
pub fn message_for(api_version: &str, kind: &str) -> Option<MessageRef> {
    if let Some(m) = lookup_kind(api_version, kind) {
        return Some(m);
    }
    // Status, APIVersions & co. are "unversioned": Go's scheme creates them for any group
    // version, from their registration under plain "v1".
    lookup_kind("v1", kind).filter(|m| m.package() == "k8s.io.apimachinery.pkg.apis.meta.v1")
}

fn lookup_kind(api_version: &str, kind: &str) -> Option<MessageRef> {
    KINDS
        .binary_search_by(|k| {
            name(k.api_version_off, k.api_version_len)
                .cmp(api_version)
                .then_with(|| name(k.kind_off, k.kind_len).cmp(kind))
        })
        .ok()
        .map(|i| MessageRef(KINDS[i].message))
}

/// Every (apiVersion, kind) the table knows, with its message.
pub fn kinds() -> impl Iterator<Item = (&'static str, &'static str, MessageRef)> {
    KINDS
        .iter()
        .map(|k| (name(k.api_version_off, k.api_version_len), name(k.kind_off, k.kind_len), MessageRef(k.message)))
}
