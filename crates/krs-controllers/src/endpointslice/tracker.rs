//! What the controller last wrote, per service, so a sync never acts on a slice cache that has
//! not yet seen those writes (upstream's endpointSliceTracker). Acting on a stale cache would
//! create a second slice for endpoints already placed, or update a slice at an old version.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use parking_lot::Mutex;

/// Per service key: slice name → the resourceVersion this controller wrote (None: deleted).
#[derive(Default)]
pub(super) struct Tracker(Mutex<HashMap<String, HashMap<String, Option<u64>>>>);

fn version(s: &EndpointSlice) -> Option<u64> {
    s.metadata.resource_version.as_deref().and_then(|v| v.parse().ok())
}

impl Tracker {
    /// Whether `cached` (the service's slices in the informer) lags what was written. Writes
    /// the cache has caught up with are forgotten.
    pub(super) fn stale(&self, service: &str, cached: &[Arc<EndpointSlice>]) -> bool {
        let mut all = self.0.lock();
        let Some(written) = all.get_mut(service) else { return false };
        written.retain(|name, want| {
            let seen = cached.iter().find(|s| s.metadata.name.as_deref() == Some(name.as_str()));
            match (want, seen) {
                // A version that is not a number cannot be ordered: do not wait on it forever.
                (Some(want), Some(s)) => version(s).is_some_and(|v| v < *want),
                (Some(_), None) => true,
                (None, seen) => seen.is_some(),
            }
        });
        let stale = !written.is_empty();
        if !stale {
            all.remove(service);
        }
        stale
    }

    /// Records a slice as returned by a create or update.
    pub(super) fn wrote(&self, service: &str, s: &EndpointSlice) {
        if let (Some(name), Some(v)) = (s.metadata.name.clone(), version(s)) {
            self.0.lock().entry(service.to_string()).or_default().insert(name, Some(v));
        }
    }

    /// Records a slice this controller deleted.
    pub(super) fn deleted(&self, service: &str, name: &str) {
        self.0.lock().entry(service.to_string()).or_default().insert(name.to_string(), None);
    }

    /// The informer saw `name` deleted (by anyone): nothing more to wait for on it.
    pub(super) fn observed_deletion(&self, service: &str, name: &str) {
        let mut all = self.0.lock();
        if let Some(written) = all.get_mut(service) {
            written.remove(name);
            if written.is_empty() {
                all.remove(service);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn slice(name: &str, rv: u64) -> Arc<EndpointSlice> {
        Arc::new(EndpointSlice {
            metadata: ObjectMeta {
                name: Some(name.into()),
                resource_version: Some(rv.to_string()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: Vec::new(),
            ports: None,
        })
    }

    #[test]
    fn a_write_is_awaited_until_the_cache_holds_that_version_or_newer() {
        let t = Tracker::default();
        assert!(!t.stale("ns/web", &[]));
        t.wrote("ns/web", &slice("web-a", 7));
        assert!(t.stale("ns/web", &[]), "created slice not yet cached");
        assert!(t.stale("ns/web", &[slice("web-a", 6)]), "older version cached");
        assert!(!t.stale("ns/other", &[]), "other services are not held up");
        assert!(!t.stale("ns/web", &[slice("web-a", 9)]));
        // Caught up once: forgotten, so a later deletion by someone else does not hold syncs.
        assert!(!t.stale("ns/web", &[]));
    }

    #[test]
    fn a_deletion_is_awaited_until_the_cache_drops_the_slice() {
        let t = Tracker::default();
        t.deleted("ns/web", "web-a");
        assert!(t.stale("ns/web", &[slice("web-a", 3)]));
        assert!(!t.stale("ns/web", &[slice("web-b", 4)]));
    }

    #[test]
    fn an_observed_deletion_ends_the_wait_for_a_write() {
        let t = Tracker::default();
        t.wrote("ns/web", &slice("web-a", 7));
        t.observed_deletion("ns/web", "web-a");
        assert!(!t.stale("ns/web", &[]));
    }
}
