//! krs-apiserver: the Kubernetes API server of krs.
//!
//! It serves the resource catalog of krs-api over HTTPS with Kubernetes' REST conventions, on
//! a [`krs_store::Store`]. The request pipeline is upstream's: authentication (x509 client
//! certificates, per connection) → authorization → the generic registry (defaulting,
//! validation and per-kind policy from each kind's strategy, then storage) → encoding. Reads
//! (lists and watches) are served from a watch cache per resource, fed by one store watch.
//!
//! Map of the crate:
//! - [`server`]: configuration, start-up (PKI, store, bootstrap objects), shutdown.
//! - [`serve`]: the TLS accept loop and HTTP/1.1 + HTTP/2 connections.
//! - [`handler`]: the request pipeline and routing from the catalog.
//! - [`registry`]: the generic registry: create, update, patch, delete on the store.
//! - [`cacher`]: the watch cache.
//! - [`discovery`], [`encoding`], [`errors`], [`request`], [`auth`], [`pki`].

pub mod admission;
pub mod allocators;
pub mod auth;
pub mod body;
pub mod cacher;
pub mod discovery;
pub mod duplicates;
pub mod encoding;
pub mod errors;
pub mod handler;
pub mod inprocess;
pub mod limit_ranger;
pub mod metrics;
pub mod namespace_deleter;
pub mod objbytes;
pub mod openapi;
pub mod patch;
pub mod pki;
pub mod pod_security;
pub mod proxy;
pub mod quota;
pub mod registry;
pub mod request;
pub mod reviews;
pub mod serve;
pub mod server;
pub mod subresources;
pub mod tokens;

pub use handler::App;
pub(crate) use handler::encode_value as handler_encode;
pub use server::{Config, Server};
