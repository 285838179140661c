//! krs-agent: the node agent of krs, upstream's kubelet (1.34 is the reference).
//!
//! It runs embedded in `krs server` or standalone (`krs agent`), with real pods through the
//! CRI (containerd) or with simulated nodes. Entry point: [`run`].

pub mod error;
pub mod lease;
pub mod node;
pub mod options;
mod ratelimit;
pub mod runtime;
pub mod status;

use std::future::Future;

pub use error::Error;
pub use options::{AgentOptions, RuntimeKind, SimOptions};

/// Runs the agent until `shutdown` completes.
pub async fn run(client: kube::Client, options: AgentOptions, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    match options.runtime.clone() {
        RuntimeKind::Sim(sim) => runtime::sim::run(client, sim, shutdown).await,
        RuntimeKind::Cri { .. } => Err(Error::Config("the CRI runtime is not available yet".into())),
    }
}
