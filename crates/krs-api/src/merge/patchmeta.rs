//! Where the merge engine stands in the type table, and the patch metadata of a key there:
//! upstream's `LookupPatchMeta` (PatchMetaFromStruct, as the API server uses for built-in
//! types).
//!
//! Deliberate leniency: upstream's struct-based lookup fails with "unable to find api field in
//! struct ..." for a key the Go struct lacks, and with "merging an object in json but data type
//! is not struct" below Go maps and custom-JSON leaves (RawExtension). The API server never
//! meets the first (its originals come from typed objects, so an unknown key is never in both
//! documents), and the others are accidents of reflection. Here an unknown key, or anything
//! below a leaf, merges as plain JSON (objects merge, lists are replaced), and a map's values
//! merge by the map's value type. Where upstream succeeds, results are the same.

use super::error::MergeError;
use super::metadata::{Field, PatchStrategy, Scalar, TypeKind, TypeRef};

/// The schema of the value being merged.
#[derive(Clone, Copy, Debug)]
pub(super) enum Schema {
    Known(TypeRef),
    /// No metadata: plain JSON merge.
    Unknown,
}

/// The patch strategy that matters when applying a patch (`retainKeys` only tells clients
/// to send `$retainKeys`; the directive itself is honoured wherever it appears).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Strategy {
    None,
    Merge,
    Replace,
}

/// Upstream's PatchMeta of one key.
#[derive(Clone, Copy, Debug)]
pub(super) struct PatchMeta {
    pub(super) strategy: Strategy,
    pub(super) merge_key: &'static str,
}

impl PatchMeta {
    const NONE: PatchMeta = PatchMeta { strategy: Strategy::None, merge_key: "" };

    fn of(field: Field) -> PatchMeta {
        PatchMeta { strategy: strategy(field.patch_strategy()), merge_key: field.patch_merge_key().unwrap_or("") }
    }
}

/// extractRetainKeysPatchStrategy: `retainKeys` is dropped and at most one strategy remains
/// (the generator rejects tags with more).
fn strategy(ps: PatchStrategy) -> Strategy {
    if ps.replace {
        Strategy::Replace
    } else if ps.merge {
        Strategy::Merge
    } else {
        Strategy::None
    }
}

impl Schema {
    fn field(self, key: &str) -> Option<Field> {
        match self {
            Schema::Known(t) => t.as_struct()?.field_case_insensitive(key),
            Schema::Unknown => None,
        }
    }

    /// LookupPatchMetadataForStruct: the schema of the object under `key` of this object.
    pub(super) fn for_map(self, key: &str) -> (Schema, PatchMeta) {
        if let Some(f) = self.field(key) {
            return (Schema::Known(f.ty()), PatchMeta::of(f));
        }
        match self {
            Schema::Known(t) => match t.kind() {
                TypeKind::Map(v) => (Schema::Known(v), PatchMeta::NONE),
                _ => (Schema::Unknown, PatchMeta::NONE),
            },
            Schema::Unknown => (Schema::Unknown, PatchMeta::NONE),
        }
    }

    /// LookupPatchMetadataForSlice: the schema of the elements of the list under `key`.
    pub(super) fn for_slice(self, key: &str) -> Result<(Schema, PatchMeta), MergeError> {
        if let Some(f) = self.field(key) {
            let meta = PatchMeta::of(f);
            return match f.ty().kind() {
                TypeKind::List(e) => Ok((Schema::Known(e), meta)),
                // []byte is a Go slice (of uint8, which has no metadata).
                TypeKind::Scalar(Scalar::Bytes) => Ok((Schema::Unknown, meta)),
                // Upstream dereferences a pointer and uses the pointee as the "element".
                _ if f.is_pointer() => Ok((Schema::Known(f.ty()), meta)),
                _ => Err(MergeError::NotASliceField),
            };
        }
        Ok(match self {
            Schema::Known(t) => match t.kind() {
                TypeKind::Map(v) => match v.kind() {
                    TypeKind::List(e) => (Schema::Known(e), PatchMeta::NONE),
                    _ => (Schema::Unknown, PatchMeta::NONE),
                },
                _ => (Schema::Unknown, PatchMeta::NONE),
            },
            Schema::Unknown => (Schema::Unknown, PatchMeta::NONE),
        })
    }

    /// `Name()` of the element schema: the Go kind, as in "cannot merge lists without merge
    /// key for struct".
    pub(super) fn go_kind(self) -> &'static str {
        match self {
            Schema::Known(t) => match t.kind() {
                TypeKind::Scalar(s) => s.go_kind(),
                TypeKind::Struct(_) => "struct",
                TypeKind::List(_) => "slice",
                TypeKind::Map(_) => "map",
            },
            Schema::Unknown => "interface",
        }
    }
}
