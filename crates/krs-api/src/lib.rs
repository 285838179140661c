//! krs-api: the API model that the API server serves.
//!
//! - [`catalog`]: every served group/version/resource with its kind, scope, verbs,
//!   subresources, short names, categories, storage location and strategy. Routing, discovery,
//!   OpenAPI and RBAC names derive from it.
//! - [`printers`]: server-side printing (Table columns) per kind.
//! - [`strategy`]: the per-kind policy (defaulting, validation, field selectors, graceful
//!   deletion) that the generic registry calls.
//!
//! The typed objects come from krs-kinds; Kubernetes' generic machinery (selectors, quantities,
//! field errors, Status) from krs-apimachinery.

pub mod catalog;
pub mod conversion;
pub mod fieldmanager;
pub mod merge;
pub mod printers;
pub mod strategy;

pub use catalog::{Catalog, ResourceInfo, Verbs};
pub use strategy::Strategy;
