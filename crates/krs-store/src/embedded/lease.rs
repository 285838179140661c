//! Lease deadlines. A lease and its TTL are stored durably (table `lease`); its deadline lives
//! only here, so a keep-alive costs no disk write. After a restart every lease gets a full TTL
//! again, as etcd does when a new leader takes over.
//!
//! The maintenance thread takes expired leases out of this table and asks the writer to revoke
//! them; the revocation deletes their keys through an ordinary write transaction, so watchers see
//! the deletions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::{LeaseId, StoreError};

struct Deadline {
    ttl: Duration,
    expires: Instant,
}

pub(crate) struct Leases {
    deadlines: Mutex<HashMap<LeaseId, Deadline>>,
}

/// TTLs below one second are raised to one second, as etcd raises them to its minimum.
pub(crate) fn effective_ttl(ttl_seconds: i64) -> i64 {
    ttl_seconds.max(1)
}

impl Leases {
    /// Loads the stored leases, each with a fresh full TTL.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let now = Instant::now();
        let mut stmt = conn.prepare("SELECT id, ttl FROM lease")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        let mut deadlines = HashMap::new();
        for row in rows {
            let (id, ttl) = row?;
            let ttl = Duration::from_secs(effective_ttl(ttl).unsigned_abs());
            deadlines.insert(id, Deadline { ttl, expires: now + ttl });
        }
        Ok(Leases { deadlines: Mutex::new(deadlines) })
    }

    /// Starts the clock of a lease whose grant was committed.
    pub(crate) fn granted(&self, id: LeaseId, ttl_seconds: i64) {
        let ttl = Duration::from_secs(effective_ttl(ttl_seconds).unsigned_abs());
        self.deadlines.lock().insert(id, Deadline { ttl, expires: Instant::now() + ttl });
    }

    pub(crate) fn revoked(&self, id: LeaseId) {
        self.deadlines.lock().remove(&id);
    }

    pub(crate) fn keep_alive(&self, id: LeaseId) -> Result<(), StoreError> {
        let mut deadlines = self.deadlines.lock();
        let lease = deadlines.get_mut(&id).ok_or(StoreError::LeaseNotFound(id))?;
        lease.expires = Instant::now() + lease.ttl;
        Ok(())
    }

    /// Removes and returns the leases whose deadline has passed: from then on a keep-alive finds
    /// them gone, even before the writer has deleted their keys.
    pub(crate) fn take_expired(&self, now: Instant) -> Vec<LeaseId> {
        let mut deadlines = self.deadlines.lock();
        let expired: Vec<LeaseId> = deadlines.iter().filter(|(_, d)| d.expires <= now).map(|(id, _)| *id).collect();
        for id in &expired {
            deadlines.remove(id);
        }
        expired
    }
}
