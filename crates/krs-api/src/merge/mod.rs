//! Patch metadata of the built-in types, and strategic merge patch.
//!
//! - [`metadata`]: the generated per-type table (`schema.rs`, from upstream's Go types by
//!   `tools/gen-patch-metadata.py`): every struct reachable from a built-in kind, its JSON
//!   members with their shapes, `patchStrategy` / `patchMergeKey` tags and `+listType` /
//!   `+listMapKey` / `+mapType` / `+structType` markers, and an index from (apiVersion, kind)
//!   to the kind's struct ([`lookup`]). Strategic merge patch, server-side apply and OpenAPI's
//!   `x-kubernetes-*` extensions all read it.
//! - [`strategic_merge_patch`]: upstream's strategic merge patch application (k8s.io/apimachinery
//!   pkg/util/strategicpatch), with its directives, ordering and error messages.
//! - [`fuzz_strategic_merge_patch`]: a never-panicking entry point for fuzzers.

mod directives;
mod error;
mod fuzz;
mod govalue;
mod lists;
pub mod metadata;
mod order;
mod patchmeta;
mod schema;
mod strategic;
mod table;

pub use error::{GoPanic, MergeError};
pub use fuzz::fuzz_strategic_merge_patch;
pub use metadata::{
    Field, Granularity, ListType, PatchStrategy, Scalar, Struct, TypeKind, TypeRef, kinds, lookup, structs,
};
pub use strategic::strategic_merge_patch;
