//! krs-apimachinery: the pure logic of Kubernetes' `k8s.io/apimachinery`, in Rust.
//!
//! The API server, the scheduler and the controllers all need the same small set of
//! Kubernetes semantics, and clients (kubectl, client-go, kube-rs, the Python client) depend on
//! every observable detail of it: how a label selector string parses and prints, how a resource
//! quantity is canonicalised on the wire, which names are valid, and the exact text of every
//! validation and Status error. This crate ports that behaviour from upstream Kubernetes 1.34,
//! which is its specification down to error message text. It has no I/O and no async; the
//! wire types are k8s-openapi's.
//!
//! - [`labels`]: label selectors (parse, match, print, `metav1.LabelSelector` conversion).
//! - [`fields`]: field selectors (parse with escaping, match, inspect the fields used).
//! - [`quantity`]: `resource.Quantity` (parse, exact arithmetic, canonical form, serde).
//! - [`validation`]: name and value checks, field errors and paths, ObjectMeta validation.
//! - [`status`]: `metav1.Status` errors as the API server returns them.
//! - [`selection`]: the selector operators shared by labels and fields.
//! - [`quota`]: what objects are charged against ResourceQuotas (`k8s.io/apiserver/pkg/quota/v1` and
//!   its evaluators), shared by the quota controller and the API server's quota admission.

#![warn(missing_docs)]

pub mod fields;
mod gofmt;
pub mod labels;
pub mod quantity;
pub mod quota;
pub mod selection;
pub mod status;
pub mod validation;
