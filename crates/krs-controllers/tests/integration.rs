//! Every integration test of this crate, linked into one test binary: one link and one copy
//! of the dependencies instead of one per file (build time and disk on a 2-core machine).

#[macro_use]
mod common;

mod cronjob;
mod daemonset;
mod deployment;
mod disruption;
mod endpoints;
mod garbagecollector;
mod job;
mod namespace;
mod nodelifecycle;
mod replicaset;
mod resourcequota;
mod serviceaccount;
mod statefulset;
