//! Service cluster IPs from the service CIDRs, claimed by creating IPAddress objects (named by
//! the address, pointing at their service). The store's create-if-absent makes the claim
//! atomic across API servers sharing one store.
//!
//! As upstream, each CIDR has a static band at its start (for manually chosen IPs) that
//! dynamic allocation uses only once the rest is full.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use k8s_openapi::api::networking::v1::{IPAddress, IPAddressSpec, ParentReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_api::ResourceInfo;
use rand::Rng;

use super::cidr::Cidr;
use crate::errors::ApiError;
use crate::handler::App;
use crate::registry::{self, DeleteOptions, WriteContext};

/// Why an IP could not be had.
#[derive(Debug)]
pub enum IpError {
    Taken,
    OutOfRange(String),
    Full,
    Api(ApiError),
}

/// Allocates service IPs from one CIDR per IP family.
pub struct ServiceIpAllocator {
    pub cidrs: Vec<Cidr>,
}

/// Random picks tried before scanning the range in order.
const RANDOM_TRIES: usize = 32;

impl ServiceIpAllocator {
    pub fn new(cidrs: Vec<Cidr>) -> ServiceIpAllocator {
        ServiceIpAllocator { cidrs }
    }

    /// The CIDR of an IP family.
    pub fn cidr(&self, ipv4: bool) -> Option<&Cidr> {
        self.cidrs.iter().find(|c| c.is_ipv4() == ipv4)
    }

    fn resource(app: &App) -> Result<Arc<ResourceInfo>, ApiError> {
        app.catalog
            .lookup("networking.k8s.io", "v1", "ipaddresses")
            .cloned()
            .ok_or_else(|| ApiError::internal("ipaddresses are missing from the catalog"))
    }

    /// Claims a chosen IP for the service `namespace/name`.
    pub async fn claim(
        &self,
        app: &App,
        ip: IpAddr,
        namespace: &str,
        name: &str,
        dry_run: bool,
    ) -> Result<(), IpError> {
        let cidr = self.cidr(ip.is_ipv4()).ok_or_else(|| IpError::OutOfRange(String::new()))?;
        let (first, last) = cidr.usable();
        match cidr.offset(ip) {
            Some(o) if o >= first && o <= last => {}
            _ => return Err(IpError::OutOfRange(cidr.to_string())),
        }
        let res = Self::resource(app).map_err(IpError::Api)?;
        if dry_run {
            let key = registry::key(&res, "", &ip.to_string()).map_err(IpError::Api)?;
            let (kv, _) =
                app.store.get(&key, None).await.map_err(|e| IpError::Api(ApiError::from_store(e, &res, "")))?;
            return if kv.is_some() { Err(IpError::Taken) } else { Ok(()) };
        }
        let obj = ip_address(ip, namespace, name);
        let mut ctx = WriteContext { user: "system:apiserver".into(), ..Default::default() };
        match registry::create(app, &res, &mut ctx, "", Box::new(obj)).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == 409 => Err(IpError::Taken),
            Err(e) => Err(IpError::Api(e)),
        }
    }

    /// Allocates a free IP of a family, from the dynamic band first.
    pub async fn allocate(
        &self,
        app: &App,
        ipv4: bool,
        namespace: &str,
        name: &str,
        dry_run: bool,
    ) -> Result<IpAddr, IpError> {
        let cidr = *self.cidr(ipv4).ok_or(IpError::Full)?;
        let (first, last) = cidr.usable();
        if last < first {
            return Err(IpError::Full);
        }
        let offset = range_offset(cidr.size()).clamp(first, last);
        let res = Self::resource(app).map_err(IpError::Api)?;
        let cache = app.cacher(&res);
        let taken = |ip: IpAddr| {
            let key = format!("/registry/ipaddresses/{ip}");
            cache.as_ref().is_some_and(|c| c.get(&key).is_some())
        };
        // Random picks in the dynamic band, then an ordered scan of it, then the static band.
        if offset <= last {
            for _ in 0..RANDOM_TRIES {
                let o = rand::rng().random_range(offset..=last);
                let Some(ip) = cidr.nth(o) else { continue };
                if taken(ip) {
                    continue;
                }
                match self.claim(app, ip, namespace, name, dry_run).await {
                    Ok(()) => return Ok(ip),
                    Err(IpError::Taken) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        let bands = [(offset, last), (first, offset.saturating_sub(1))];
        for (lo, hi) in bands {
            if hi < lo || lo > last {
                continue;
            }
            let mut o = lo;
            while o <= hi {
                if let Some(ip) = cidr.nth(o).filter(|ip| !taken(*ip)) {
                    match self.claim(app, ip, namespace, name, dry_run).await {
                        Ok(()) => return Ok(ip),
                        Err(IpError::Taken) => {}
                        Err(e) => return Err(e),
                    }
                }
                o += 1;
            }
        }
        Err(IpError::Full)
    }

    /// Gives an IP back.
    pub async fn release(&self, app: &App, ip: IpAddr) {
        let Ok(res) = Self::resource(app) else { return };
        let ctx = WriteContext { user: "system:apiserver".into(), ..Default::default() };
        if let Err(e) = registry::delete(app, &res, &ctx, "", &ip.to_string(), &DeleteOptions::default()).await
            && e.code() != 404
        {
            tracing::warn!(%ip, error = %e, "releasing a service IP");
        }
    }
}

/// The size of the static band at the start of a range (upstream's calculateRangeOffset).
fn range_offset(size: u128) -> u128 {
    const MIN: u128 = 16;
    const MAX: u128 = 256;
    const STEP: u128 = 16;
    if size < MIN {
        return 0;
    }
    (size / STEP).clamp(MIN, MAX)
}

fn ip_address(ip: IpAddr, namespace: &str, name: &str) -> IPAddress {
    let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    IPAddress {
        metadata: ObjectMeta {
            name: Some(ip.to_string()),
            labels: Some(BTreeMap::from([
                ("ipaddress.kubernetes.io/ip-family".to_string(), family.to_string()),
                ("ipaddress.kubernetes.io/managed-by".to_string(), "ipallocator.k8s.io".to_string()),
            ])),
            ..Default::default()
        },
        spec: Some(IPAddressSpec {
            parent_ref: ParentReference {
                group: Some(String::new()),
                resource: "services".into(),
                namespace: Some(namespace.into()),
                name: name.into(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_band_follows_upstream() {
        assert_eq!(range_offset(65536), 256);
        assert_eq!(range_offset(256), 16);
        assert_eq!(range_offset(8), 0);
        assert_eq!(range_offset(1024), 64);
    }
}
