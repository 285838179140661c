//! The krs controller manager: upstream kube-controller-manager's built-in controllers over
//! kube-rs. One shared informer per resource per process feeds rate-limited work queues keyed
//! by object; controllers record events.k8s.io/v1 Events, and one process at a time acts,
//! elected through the Lease kube-system/kube-controller-manager.

pub mod controller_utils;
pub use krs_events as events;
pub mod informer;
pub mod leaderelection;
pub mod metrics;
pub mod queue;

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod garbagecollector;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod podgc;
pub mod replicaset;
pub mod resourcequota;
pub mod rootcacertpublisher;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttlafterfinished;

mod manager;

pub use manager::{CONTROLLERS, ControllerManagerOptions, run};

/// Why the controller manager stopped, or a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("leaderelection lost")]
    LeaderElectionLost,
    #[error("{0}")]
    Invalid(String),
    /// An informer has not yet seen this controller's own writes; retried after a backoff.
    #[error("informer cache out of date: {0}")]
    StaleCache(String),
    #[error("unknown controller {0:?} in --controllers")]
    UnknownController(String),
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Renders every metric of this process in the Prometheus text format (for `/metrics`).
pub fn metrics_text() -> String {
    metrics::registry().render()
}
