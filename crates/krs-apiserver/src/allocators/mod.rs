//! Allocators of cluster-wide resources that writes need: service cluster IPs (through
//! ServiceCIDR and IPAddress objects, so several API servers on one etcd never hand out the same
//! IP: creating the IPAddress object is the claim) and service node ports (a bitmap kept in one
//! key, updated by compare-and-swap).
//!
//! They plug into the registry as [`WriteHooks`] of the services resource.

pub mod cidr;
mod node_ports;
mod service;
mod service_ips;

use async_trait::async_trait;
use krs_kinds::Object;

pub use node_ports::NodePortAllocator;
pub use service::ServiceAllocations;
pub use service_ips::ServiceIpAllocator;

use crate::errors::ApiError;
use crate::handler::App;

/// What a hook reserved for a write, to give back if the write does not happen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reserved {
    pub ips: Vec<std::net::IpAddr>,
    pub ports: Vec<u16>,
}

impl Reserved {
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.ports.is_empty()
    }
}

/// Per-resource work around writes that needs I/O beyond the object itself (upstream does this
/// in the REST storage of such resources, e.g. the service IP and port allocation).
#[async_trait]
pub trait WriteHooks: Send + Sync {
    /// After validation, before the object is stored: reserve what it needs and fill it in.
    async fn before_create(&self, app: &App, obj: &mut dyn Object, dry_run: bool) -> Result<Reserved, ApiError>;

    /// Before an update is stored: reserve what the new object needs. Returns the new
    /// reservations (released if the update fails) and what the old object held that the new
    /// one no longer needs (released once the update is stored).
    async fn before_update(
        &self,
        app: &App,
        new: &mut dyn Object,
        old: &dyn Object,
        dry_run: bool,
    ) -> Result<(Reserved, Reserved), ApiError>;

    /// Gives back reservations.
    async fn release(&self, app: &App, reserved: &Reserved);

    /// What an object holds (released when it is deleted).
    fn held(&self, obj: &dyn Object) -> Reserved;
}
