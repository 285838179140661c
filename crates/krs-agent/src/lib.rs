//! krs-agent: the node agent of krs, upstream's kubelet (1.34 is the reference).
//!
//! It runs embedded in `krs server` or standalone (`krs agent`), with real pods through the
//! CRI (containerd, [`runtime::cri`]) or with simulated nodes ([`runtime::sim`]). Entry point:
//! [`run`].
//!
//! Map: [`kubelet`] (the pod sync loop: pod workers, PLEG, housekeeping), [`node`]
//! (registration, status, host facts), [`lease`], [`status`] (pod status generation and the
//! StatusManager), [`probes`], [`volumes`], [`server`] (the kubelet API), [`containerd`]
//! (supervision), [`cni`], [`staticpods`], [`testing`] (images for tests and benchmarks).

pub mod admission;
mod apicache;
mod backoff;
mod cgroups;
pub mod cni;
pub mod containerd;
mod dns;
pub mod downward;
mod env;
pub mod error;
pub mod events;
pub mod eviction;
mod hosts;
pub mod kubelet;
pub mod lease;
pub mod node;
pub mod options;
pub mod podworkers;
pub mod probes;
mod ratelimit;
pub mod runtime;
pub mod server;
pub mod staticpods;
pub mod status;
pub mod testing;
pub mod volumes;

use std::future::Future;

pub use error::Error;
pub use eviction::EvictionHard;
pub use options::{AgentOptions, RuntimeKind, SimOptions};

/// Runs the agent until `shutdown` completes. With the CRI runtime and no socket, containerd
/// is started (and stopped at the end) by the agent; when containerd is not installed this
/// returns [`Error::Containerd`] with a one-line explanation and how to install it.
pub async fn run(client: kube::Client, options: AgentOptions, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    match options.runtime.clone() {
        RuntimeKind::Sim(sim) => runtime::sim::run(client, sim, shutdown).await,
        RuntimeKind::Cri { socket } => kubelet::run(client, options, socket, shutdown).await,
    }
}
