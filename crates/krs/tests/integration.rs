//! Every integration test of this crate, linked into one test binary: one link and one copy
//! of the dependencies instead of one per file (build time and disk on a 2-core machine).

#[macro_use]
mod common;

mod api_conversion;
mod api_discovery;
mod api_errors;
mod api_lists;
mod api_protobuf;
mod api_services;
mod api_subresources;
mod api_tokens;
mod api_watch;
mod cluster;
mod etcd_backend;
mod kubectl_apply;
mod kubectl_columns;
mod kubectl_crud;
mod kubectl_output;
mod kubectl_pagination;
mod kubectl_selectors;
mod kubectl_tools;
mod kubectl_watch;
mod namespaces;
mod python_client;
mod server_lifecycle;
