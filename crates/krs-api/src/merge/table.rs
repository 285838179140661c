//! The row layout of the generated table (`schema.rs`) and raw access to it.
//!
//! The table is plain integers plus one string of names, so it lives in read-only data: nothing
//! is built at startup and nothing needs relocating when the binary is loaded. The typed view
//! over it is in [`super::metadata`].

use super::schema::{FIELDS, KINDS, NAMES, SHAPES, TYPES};

/// Shape kinds, as written by the generator.
pub(super) mod shape_kind {
    /// `arg` is a [`super::super::metadata::Scalar`] discriminant.
    pub const SCALAR: u8 = 0;
    /// `arg` indexes `TYPES`.
    pub const STRUCT: u8 = 1;
    /// `arg` indexes `SHAPES` (the element).
    pub const LIST: u8 = 2;
    /// `arg` indexes `SHAPES` (the value; keys are strings).
    pub const MAP: u8 = 3;
}

/// Field flags, as written by the generator.
pub(super) mod flags {
    /// A Go pointer.
    pub const POINTER: u16 = 1 << 0;
    /// `json:",omitempty"`.
    pub const OMITEMPTY: u16 = 1 << 1;
    /// Promoted from an embedded struct (`json:",inline"`).
    pub const INLINED: u16 = 1 << 2;
    /// `patchStrategy` contains `merge`.
    pub const PS_MERGE: u16 = 1 << 3;
    /// `patchStrategy` contains `retainKeys`.
    pub const PS_RETAIN_KEYS: u16 = 1 << 4;
    /// `patchStrategy` contains `replace`.
    pub const PS_REPLACE: u16 = 1 << 5;
    /// 2 bits of `+listType`: 0 none, 1 atomic, 2 set, 3 map.
    pub const LIST_SHIFT: u16 = 6;
    /// 2 bits of `+mapType`: 0 none, 1 atomic, 2 granular.
    pub const MAP_SHIFT: u16 = 8;
    /// 2 bits of `+structType`: 0 none, 1 atomic, 2 granular.
    pub const STRUCT_SHIFT: u16 = 10;
}

pub(crate) struct ShapeDef {
    pub(super) kind: u8,
    pub(super) arg: u16,
}

pub(crate) struct TypeDef {
    package_off: u32,
    name_off: u32,
    pub(super) fields_start: u16,
    pub(super) shape: u16,
    package_len: u8,
    name_len: u8,
    pub(super) fields_len: u8,
    pub(super) struct_type: u8,
}

pub(crate) struct FieldDef {
    name_off: u32,
    merge_key_off: u32,
    map_keys_off: u32,
    pub(super) shape: u16,
    pub(super) flags: u16,
    name_len: u8,
    merge_key_len: u8,
    map_keys_len: u8,
}

pub(crate) struct KindDef {
    api_version_off: u32,
    kind_off: u32,
    api_version_len: u8,
    kind_len: u8,
    pub(super) ty: u16,
}

pub(super) const fn s(kind: u8, arg: u16) -> ShapeDef {
    ShapeDef { kind, arg }
}

#[allow(clippy::too_many_arguments)]
pub(super) const fn t(
    package_off: u32,
    package_len: u8,
    name_off: u32,
    name_len: u8,
    fields_start: u16,
    fields_len: u8,
    struct_type: u8,
    shape: u16,
) -> TypeDef {
    TypeDef { package_off, name_off, fields_start, shape, package_len, name_len, fields_len, struct_type }
}

#[allow(clippy::too_many_arguments)]
pub(super) const fn f(
    name_off: u32,
    name_len: u8,
    shape: u16,
    flags: u16,
    merge_key_off: u32,
    merge_key_len: u8,
    map_keys_off: u32,
    map_keys_len: u8,
) -> FieldDef {
    FieldDef { name_off, merge_key_off, map_keys_off, shape, flags, name_len, merge_key_len, map_keys_len }
}

pub(super) const fn k(api_version_off: u32, api_version_len: u8, kind_off: u32, kind_len: u8, ty: u16) -> KindDef {
    KindDef { api_version_off, kind_off, api_version_len, kind_len, ty }
}

/// A slice of the names blob. The generator only writes in-bounds ASCII ranges; an empty
/// string stands in for anything else rather than panicking.
fn name(off: u32, len: u8) -> &'static str {
    let start = off as usize;
    NAMES.get(start..start + len as usize).unwrap_or("")
}

impl TypeDef {
    pub(super) fn package(&self) -> &'static str {
        name(self.package_off, self.package_len)
    }

    pub(super) fn name(&self) -> &'static str {
        name(self.name_off, self.name_len)
    }

    pub(super) fn fields(&self) -> &'static [FieldDef] {
        let start = self.fields_start as usize;
        FIELDS.get(start..start + self.fields_len as usize).unwrap_or(&[])
    }
}

impl FieldDef {
    pub(super) fn name(&self) -> &'static str {
        name(self.name_off, self.name_len)
    }

    pub(super) fn merge_key(&self) -> &'static str {
        name(self.merge_key_off, self.merge_key_len)
    }

    /// `+listMapKey` values joined by commas (names never contain one).
    pub(super) fn map_keys(&self) -> &'static str {
        name(self.map_keys_off, self.map_keys_len)
    }
}

impl KindDef {
    pub(super) fn api_version(&self) -> &'static str {
        name(self.api_version_off, self.api_version_len)
    }

    pub(super) fn kind(&self) -> &'static str {
        name(self.kind_off, self.kind_len)
    }
}

pub(super) fn shapes() -> &'static [ShapeDef] {
    &SHAPES
}

pub(super) fn types() -> &'static [TypeDef] {
    &TYPES
}

pub(super) fn fields() -> &'static [FieldDef] {
    &FIELDS
}

pub(super) fn kinds() -> &'static [KindDef] {
    &KINDS
}
