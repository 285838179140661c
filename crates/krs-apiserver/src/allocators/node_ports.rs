//! Service node ports: a bitmap of the range kept in one store key and updated by
//! compare-and-swap, so API servers sharing a store never hand out the same port (upstream
//! keeps a RangeAllocation at the same key).

use std::collections::BTreeSet;

use bytes::Bytes;
use krs_store::StoreError;
use rand::Rng;

use crate::errors::ApiError;
use crate::handler::App;

const KEY: &str = "/registry/ranges/servicenodeports";
/// Attempts before giving up on a contended range.
const MAX_ATTEMPTS: usize = 64;

/// Why a port could not be had.
#[derive(Debug)]
pub enum PortError {
    Taken,
    OutOfRange,
    Full,
    Api(ApiError),
}

/// Allocates node ports from `base..base+size`.
pub struct NodePortAllocator {
    pub base: u16,
    pub size: u16,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Allocated {
    range: String,
    ports: BTreeSet<u16>,
}

impl NodePortAllocator {
    /// Parses upstream's `--service-node-port-range` form: `30000-32767`.
    pub fn parse(range: &str) -> Result<NodePortAllocator, String> {
        let (lo, hi) = range.split_once('-').ok_or_else(|| format!("invalid port range {range:?}"))?;
        let lo: u16 = lo.trim().parse().map_err(|_| format!("invalid port range {range:?}"))?;
        let hi: u16 = hi.trim().parse().map_err(|_| format!("invalid port range {range:?}"))?;
        if hi < lo || lo == 0 {
            return Err(format!("invalid port range {range:?}"));
        }
        Ok(NodePortAllocator { base: lo, size: hi - lo + 1 })
    }

    /// `30000-32767`, as error messages name the range.
    pub fn range(&self) -> String {
        format!("{}-{}", self.base, u32::from(self.base) + u32::from(self.size) - 1)
    }

    fn contains(&self, port: u16) -> bool {
        port >= self.base && u32::from(port) < u32::from(self.base) + u32::from(self.size)
    }

    /// Reserves `port` (or any free port when None). Returns the port.
    pub async fn allocate(&self, app: &App, port: Option<u16>, dry_run: bool) -> Result<u16, PortError> {
        if let Some(p) = port
            && !self.contains(p)
        {
            return Err(PortError::OutOfRange);
        }
        for _ in 0..MAX_ATTEMPTS {
            let (kv, _) = app.store.get(KEY, None).await.map_err(store_error)?;
            let mut state: Allocated = match &kv {
                Some(kv) => serde_json::from_slice(&kv.value)
                    .map_err(|e| PortError::Api(ApiError::internal(format!("{KEY}: {e}"))))?,
                None => Allocated { range: self.range(), ports: BTreeSet::new() },
            };
            let chosen = match port {
                Some(p) if state.ports.contains(&p) => return Err(PortError::Taken),
                Some(p) => p,
                None => self.pick(&state.ports).ok_or(PortError::Full)?,
            };
            if dry_run {
                return Ok(chosen);
            }
            state.ports.insert(chosen);
            let value = Bytes::from(serde_json::to_vec(&state).unwrap_or_default());
            let written = match &kv {
                Some(kv) => app.store.update(KEY, value, kv.mod_revision, 0).await,
                None => app.store.create(KEY, value, 0).await,
            };
            match written {
                Ok(_) => return Ok(chosen),
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(PortError::Api(ApiError::internal("the node port range is too contended, please retry")))
    }

    /// A free port: random in the dynamic band first, then any, as upstream.
    fn pick(&self, used: &BTreeSet<u16>) -> Option<u16> {
        let size = u32::from(self.size);
        let offset = (size / 32).clamp(16, 128).min(size);
        let free = |o: u32| -> Option<u16> {
            let p = u16::try_from(u32::from(self.base) + o).ok()?;
            (!used.contains(&p)).then_some(p)
        };
        let mut rng = rand::rng();
        if offset < size {
            for _ in 0..32 {
                if let Some(p) = free(rng.random_range(offset..size)) {
                    return Some(p);
                }
            }
        }
        (offset..size).chain(0..offset).find_map(free)
    }

    /// Gives ports back.
    pub async fn release(&self, app: &App, ports: &[u16]) {
        if ports.is_empty() {
            return;
        }
        for _ in 0..MAX_ATTEMPTS {
            let Ok((Some(kv), _)) = app.store.get(KEY, None).await else {
                return;
            };
            let Ok(mut state) = serde_json::from_slice::<Allocated>(&kv.value) else {
                return;
            };
            let before = state.ports.len();
            for p in ports {
                state.ports.remove(p);
            }
            if state.ports.len() == before {
                return;
            }
            let value = Bytes::from(serde_json::to_vec(&state).unwrap_or_default());
            match app.store.update(KEY, value, kv.mod_revision, 0).await {
                Ok(_) => return,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "releasing node ports");
                    return;
                }
            }
        }
    }
}

fn store_error(e: StoreError) -> PortError {
    PortError::Api(ApiError::service_unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_free_ports_in_range() {
        let a = NodePortAllocator::parse("30000-32767").unwrap();
        assert_eq!(a.range(), "30000-32767");
        let mut used = BTreeSet::new();
        for _ in 0..100 {
            let p = a.pick(&used).unwrap();
            assert!(a.contains(p) && !used.contains(&p));
            used.insert(p);
        }
        let tiny = NodePortAllocator::parse("30000-30001").unwrap();
        let used: BTreeSet<u16> = [30000, 30001].into();
        assert_eq!(tiny.pick(&used), None);
        assert!(NodePortAllocator::parse("5-3").is_err());
    }
}
