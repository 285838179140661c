//! The writer thread: the only owner of the write connection, and the group commit.
//!
//! Callers send requests over a channel and wait on a oneshot. The thread takes every request
//! that is queued (up to a batch limit), runs them one after another inside a single SQLite
//! transaction (`BEGIN IMMEDIATE` … `COMMIT`, WAL with `synchronous=FULL`), so concurrent
//! writers share one fsync. Each request is checked completely before it writes anything, so a
//! request that fails (a CAS conflict, an unknown lease) leaves no trace and does not affect the
//! others in its batch. Only a SQLite failure aborts the batch, and then every request in it fails
//! and nothing of it is visible.
//!
//! After the commit returns (the batch is durable) the events go to the watch hub, and only then
//! are the callers answered: an acknowledged write is on disk and already on its way to watchers.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::compact::Compaction;
use super::lease::{Leases, effective_ttl};
use super::reader::kv_columns;
use super::schema::{self, MAX_WRITES_PER_REVISION, log_id};
use super::watch::{Batch, Hub};
use crate::{
    Compare, CompareOp, CompareTarget, Event, EventKind, KeyValue, LeaseId, Revision, StoreError, Txn, TxnOp,
    TxnOpResponse, TxnResponse,
};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(crate) enum Request {
    Create {
        key: String,
        value: Bytes,
        lease: LeaseId,
        reply: Reply<Revision>,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
        lease: LeaseId,
        reply: Reply<Revision>,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
        reply: Reply<(Revision, KeyValue)>,
    },
    Txn {
        txn: Txn,
        reply: Reply<TxnResponse>,
    },
    LeaseGrant {
        ttl: i64,
        reply: Reply<LeaseId>,
    },
    /// Without a reply when the maintenance thread expires the lease.
    LeaseRevoke {
        id: LeaseId,
        reply: Option<Reply<()>>,
    },
    /// Without a reply when automatic compaction asks.
    Compact {
        revision: Revision,
        reply: Option<Reply<()>>,
    },
}

/// An answer held back until its batch is committed.
enum Outcome {
    Revision(Reply<Revision>, Result<Revision, StoreError>),
    Deleted(Reply<(Revision, KeyValue)>, Result<(Revision, KeyValue), StoreError>),
    Txn(Reply<TxnResponse>, Result<TxnResponse, StoreError>),
    Lease(Reply<LeaseId>, Result<LeaseId, StoreError>),
    Unit(Option<Reply<()>>, Result<(), StoreError>),
}

impl Outcome {
    fn send(self) {
        // A caller that stopped waiting (dropped its future) does not need the answer.
        match self {
            Outcome::Revision(reply, r) => drop(reply.send(r)),
            Outcome::Deleted(reply, r) => drop(reply.send(r)),
            Outcome::Txn(reply, r) => drop(reply.send(r)),
            Outcome::Lease(reply, r) => drop(reply.send(r)),
            Outcome::Unit(reply, r) => match reply {
                Some(reply) => drop(reply.send(r)),
                None => {
                    if let Err(err) = r {
                        tracing::warn!(%err, "store maintenance request failed");
                    }
                }
            },
        }
    }

    fn fail(self, err: StoreError) {
        match self {
            Outcome::Revision(reply, _) => drop(reply.send(Err(err))),
            Outcome::Deleted(reply, _) => drop(reply.send(Err(err))),
            Outcome::Txn(reply, _) => drop(reply.send(Err(err))),
            Outcome::Lease(reply, _) => drop(reply.send(Err(err))),
            Outcome::Unit(reply, _) => Outcome::Unit(reply, Err(err)).send(),
        }
    }
}

impl Request {
    /// The request's reply slot with an error, for a request that is not run.
    fn into_failure(self, err: StoreError) -> Outcome {
        match self {
            Request::Create { reply, .. } | Request::Update { reply, .. } => Outcome::Revision(reply, Err(err)),
            Request::Delete { reply, .. } => Outcome::Deleted(reply, Err(err)),
            Request::Txn { reply, .. } => Outcome::Txn(reply, Err(err)),
            Request::LeaseGrant { reply, .. } => Outcome::Lease(reply, Err(err)),
            Request::LeaseRevoke { reply, .. } | Request::Compact { reply, .. } => Outcome::Unit(reply, Err(err)),
        }
    }
}

/// The result of a request run by the writer: the outer error is SQLite's (the batch fails), the
/// inner one the request's own.
type SqlResult<T> = rusqlite::Result<Result<T, StoreError>>;

/// Turns a request's result into its outcome, passing on a SQLite error.
fn settle<T>(
    result: SqlResult<T>,
    outcome: impl FnOnce(Result<T, StoreError>) -> Outcome,
) -> (Outcome, Option<rusqlite::Error>) {
    match result {
        Ok(r) => (outcome(r), None),
        Err(err) => (outcome(Err(StoreError::Internal("batch aborted".into()))), Some(err)),
    }
}

/// Counters for tests and diagnostics.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) requests: AtomicU64,
    /// WAL checkpoints completed by the checkpointing thread (`checkpoint.rs`).
    pub(crate) checkpoints: AtomicU64,
    /// Checkpoints the writer ran itself because the WAL outgrew the backstop.
    pub(crate) writer_checkpoints: AtomicU64,
}

/// A change to the lease deadlines, applied once its batch is committed.
enum LeaseChange {
    Granted(LeaseId, i64),
    Revoked(LeaseId),
}

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// The store revision, including the writes of the batch in progress.
    pub(crate) revision: Revision,
    pub(crate) compact_revision: Revision,
    pub(crate) hub: Arc<Hub>,
    pub(crate) leases: Arc<Leases>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) max_batch: usize,
    pub(crate) compaction: Option<Compaction>,
    /// A compaction requested in the batch in progress; it starts once the batch is committed.
    requested_compaction: Option<Compaction>,
    events: Vec<Event>,
    lease_changes: Vec<LeaseChange>,
}

/// The live version of a key as the writer sees it: its log id and value.
struct Current {
    id: i64,
    kv: KeyValue,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        conn: Connection,
        path: PathBuf,
        revision: Revision,
        compact_revision: Revision,
        hub: Arc<Hub>,
        leases: Arc<Leases>,
        counters: Arc<Counters>,
        max_batch: usize,
    ) -> Self {
        conn.set_prepared_statement_cache_capacity(64);
        Writer {
            conn,
            path,
            revision,
            compact_revision,
            hub,
            leases,
            counters,
            max_batch: max_batch.max(1),
            // An interrupted compaction (the process stopped mid-way) is finished after a restart.
            compaction: (compact_revision > 0).then(|| Compaction::new(compact_revision)),
            requested_compaction: None,
            events: Vec::new(),
            lease_changes: Vec::new(),
        }
    }

    /// Serves requests until every sender is gone.
    pub(crate) fn run(mut self, requests: Receiver<Request>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let first = if self.compaction.is_some() {
                // Compaction proceeds in steps between batches, so it never holds writers up
                // for more than one step.
                match requests.try_recv() {
                    Ok(req) => Some(req),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => break,
                }
            } else {
                match requests.recv() {
                    Ok(req) => Some(req),
                    Err(_) => break,
                }
            };
            if let Some(first) = first {
                batch.push(first);
                while batch.len() < self.max_batch {
                    match requests.try_recv() {
                        Ok(req) => batch.push(req),
                        Err(_) => break,
                    }
                }
                self.commit_batch(&mut batch);
            }
            if let Some(mut job) = self.compaction.take() {
                match job.step(&self.conn) {
                    Ok(true) => {}
                    Ok(false) => self.compaction = Some(job),
                    Err(err) => {
                        tracing::warn!(%err, path = %self.path.display(), "compaction step failed")
                    }
                }
            }
        }
    }

    fn commit_batch(&mut self, batch: &mut Vec<Request>) {
        let count = batch.len() as u64;
        let start_revision = self.revision;
        let start_compact = self.compact_revision;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut failure = self.conn.prepare_cached("BEGIN IMMEDIATE").and_then(|mut s| s.execute([])).err();
        let mut drained = batch.drain(..);
        if failure.is_none() {
            for req in drained.by_ref() {
                let (outcome, err) = self.apply(req);
                outcomes.push(outcome);
                if err.is_some() {
                    failure = err;
                    break;
                }
            }
        }
        outcomes.extend(drained.map(|req| req.into_failure(StoreError::Internal("batch aborted".into()))));
        if failure.is_none() && self.revision != start_revision {
            failure = self
                .conn
                .prepare_cached("UPDATE meta SET revision = ?1 WHERE id = 0")
                .and_then(|mut s| s.execute([self.revision]))
                .err();
        }
        if failure.is_none() {
            failure = self.conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).err();
        }
        if let Some(err) = failure {
            tracing::error!(%err, path = %self.path.display(), "store commit failed");
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.revision = start_revision;
            self.compact_revision = start_compact;
            self.events.clear();
            self.lease_changes.clear();
            self.requested_compaction = None;
            let err = StoreError::Internal(format!("sqlite: {err}"));
            for outcome in outcomes {
                outcome.fail(err.clone());
            }
            return;
        }
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        if let Some(job) = self.requested_compaction.take() {
            // A newer compaction point replaces one still in progress: its removal starts over
            // from the beginning of the log with the newer bound.
            self.compaction = Some(job);
        }
        self.counters.requests.fetch_add(count, Ordering::Relaxed);
        self.hub.publish(Batch { revision: self.revision, events: std::mem::take(&mut self.events) });
        for change in self.lease_changes.drain(..) {
            match change {
                LeaseChange::Granted(id, ttl) => self.leases.granted(id, ttl),
                LeaseChange::Revoked(id) => self.leases.revoked(id),
            }
        }
        for outcome in outcomes {
            outcome.send();
        }
    }

    /// Runs one request inside the open transaction. A SQLite error is returned beside the
    /// outcome: the batch must then be rolled back. The request's own failures (a conflict, an
    /// unknown lease) are outcomes.
    fn apply(&mut self, req: Request) -> (Outcome, Option<rusqlite::Error>) {
        match req {
            Request::Create { key, value, lease, reply } => {
                settle(self.create(key, value, lease), |r| Outcome::Revision(reply, r))
            }
            Request::Update { key, value, expected, lease, reply } => {
                settle(self.update(key, value, expected, lease), |r| Outcome::Revision(reply, r))
            }
            Request::Delete { key, expected, reply } => {
                settle(self.delete_key(key, expected), |r| Outcome::Deleted(reply, r))
            }
            Request::Txn { txn, reply } => settle(self.txn(txn), |r| Outcome::Txn(reply, r)),
            Request::LeaseGrant { ttl, reply } => settle(self.grant(ttl), |r| Outcome::Lease(reply, r)),
            Request::LeaseRevoke { id, reply } => settle(self.revoke(id), |r| Outcome::Unit(reply, r)),
            Request::Compact { revision, reply } => settle(self.compact(revision), |r| Outcome::Unit(reply, r)),
        }
    }

    fn create(&mut self, key: String, value: Bytes, lease: LeaseId) -> SqlResult<Revision> {
        if let Some(current) = self.current(&key)? {
            return Ok(Err(StoreError::AlreadyExists { key, current: Box::new(current.kv) }));
        }
        if !self.lease_exists(lease)? {
            return Ok(Err(StoreError::LeaseNotFound(lease)));
        }
        let rev = self.revision + 1;
        self.put(key, value, lease, rev, 0, None)?;
        self.revision = rev;
        Ok(Ok(rev))
    }

    fn update(&mut self, key: String, value: Bytes, expected: Revision, lease: LeaseId) -> SqlResult<Revision> {
        let current = match self.current(&key)? {
            Some(current) if current.kv.mod_revision == expected => current,
            other => {
                let current = other.map(|c| Box::new(c.kv));
                return Ok(Err(StoreError::Conflict { key, current }));
            }
        };
        if !self.lease_exists(lease)? {
            return Ok(Err(StoreError::LeaseNotFound(lease)));
        }
        let rev = self.revision + 1;
        self.put(key, value, lease, rev, 0, Some(current))?;
        self.revision = rev;
        Ok(Ok(rev))
    }

    fn delete_key(&mut self, key: String, expected: Option<Revision>) -> SqlResult<(Revision, KeyValue)> {
        let Some(current) = self.current(&key)? else {
            return Ok(Err(StoreError::NotFound(key)));
        };
        if expected.is_some_and(|e| e != current.kv.mod_revision) {
            return Ok(Err(StoreError::Conflict { key, current: Some(Box::new(current.kv)) }));
        }
        let rev = self.revision + 1;
        let deleted = current.kv.clone();
        self.delete(key, rev, 0, current)?;
        self.revision = rev;
        Ok(Ok((rev, deleted)))
    }

    fn grant(&mut self, ttl: i64) -> SqlResult<LeaseId> {
        let ttl = effective_ttl(ttl);
        self.conn.prepare_cached("INSERT INTO lease (ttl) VALUES (?1)")?.execute([ttl])?;
        let id = self.conn.last_insert_rowid();
        self.lease_changes.push(LeaseChange::Granted(id, ttl));
        Ok(Ok(id))
    }

    fn compact(&mut self, revision: Revision) -> SqlResult<()> {
        if revision > self.revision {
            return Ok(Err(StoreError::FutureRevision { requested: revision, current: self.revision }));
        }
        if revision <= self.compact_revision {
            let compact_revision = self.compact_revision;
            return Ok(Err(StoreError::Compacted { requested: revision, compact_revision }));
        }
        // The compaction point moves in this transaction: from its commit on, reads below it
        // fail. The history below it is removed afterwards, step by step.
        self.conn.prepare_cached("UPDATE meta SET compact_revision = ?1 WHERE id = 0")?.execute([revision])?;
        self.compact_revision = revision;
        self.requested_compaction = Some(Compaction::new(revision));
        Ok(Ok(()))
    }

    fn txn(&mut self, txn: Txn) -> SqlResult<TxnResponse> {
        let mut succeeded = true;
        for compare in &txn.compares {
            if !self.holds(compare)? {
                succeeded = false;
                break;
            }
        }
        let ops = if succeeded { txn.success } else { txn.failure };
        let writes = ops.iter().filter(|op| !matches!(op, TxnOp::Get { .. })).count() as i64;
        if writes >= MAX_WRITES_PER_REVISION {
            return Ok(Err(StoreError::InvalidTxn(format!("{writes} writes in one transaction"))));
        }
        // Every check happens before the first write, so a refused transaction writes nothing.
        for op in &ops {
            if let TxnOp::Put { lease, .. } = op
                && !self.lease_exists(*lease)?
            {
                return Ok(Err(StoreError::LeaseNotFound(*lease)));
            }
        }
        let rev = self.revision + 1;
        let mut sub = 0;
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                TxnOp::Put { key, value, lease } => {
                    let current = self.current(&key)?;
                    let prev = current.as_ref().map(|c| c.kv.clone());
                    self.put(key, value, lease, rev, sub, current)?;
                    sub += 1;
                    responses.push(TxnOpResponse::Put { prev });
                }
                TxnOp::Delete { key } => {
                    let deleted = match self.current(&key)? {
                        Some(current) => {
                            let kv = current.kv.clone();
                            self.delete(key, rev, sub, current)?;
                            sub += 1;
                            Some(kv)
                        }
                        None => None,
                    };
                    responses.push(TxnOpResponse::Delete { deleted });
                }
                TxnOp::Get { key } => {
                    let kv = self.current(&key)?.map(|c| c.kv);
                    responses.push(TxnOpResponse::Get { kv });
                }
            }
        }
        if sub > 0 {
            self.revision = rev;
        }
        Ok(Ok(TxnResponse { succeeded, revision: self.revision, responses }))
    }

    fn holds(&self, compare: &Compare) -> rusqlite::Result<bool> {
        let current = self.current(&compare.key)?.map(|c| c.kv);
        // Etcd's rule: an absent key compares as zero on every target except the value, where
        // the compare is false.
        let ordering = match (&compare.target, &current) {
            (CompareTarget::Value(_), None) => return Ok(false),
            (CompareTarget::Value(v), Some(kv)) => kv.value.as_ref().cmp(v.as_ref()),
            (CompareTarget::Version(v), kv) => kv.as_ref().map_or(0, |kv| kv.version).cmp(v),
            (CompareTarget::CreateRevision(r), kv) => kv.as_ref().map_or(0, |kv| kv.create_revision).cmp(r),
            (CompareTarget::ModRevision(r), kv) => kv.as_ref().map_or(0, |kv| kv.mod_revision).cmp(r),
            (CompareTarget::Lease(l), kv) => kv.as_ref().map_or(0, |kv| kv.lease).cmp(l),
        };
        Ok(match compare.op {
            CompareOp::Equal => ordering.is_eq(),
            CompareOp::NotEqual => ordering.is_ne(),
            CompareOp::Greater => ordering.is_gt(),
            CompareOp::Less => ordering.is_lt(),
        })
    }

    fn revoke(&mut self, id: LeaseId) -> SqlResult<()> {
        if !self.lease_exists(id)? || id == 0 {
            return Ok(Err(StoreError::LeaseNotFound(id)));
        }
        let keys: Vec<String> = {
            let mut stmt = self.conn.prepare_cached("SELECT key FROM current WHERE lease = ?1 ORDER BY key")?;
            let rows = stmt.query_map([id], |r| super::reader::key_column(r, 0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        // All keys go in one revision, as in etcd; only a lease with more keys than a revision
        // can hold spans several.
        let mut rev = self.revision + 1;
        let mut sub = 0;
        for key in keys {
            if let Some(current) = self.current(&key)? {
                if sub == MAX_WRITES_PER_REVISION {
                    self.revision = rev;
                    rev += 1;
                    sub = 0;
                }
                self.delete(key, rev, sub, current)?;
                sub += 1;
            }
        }
        if sub > 0 {
            self.revision = rev;
        }
        self.conn.prepare_cached("DELETE FROM lease WHERE id = ?1")?.execute([id])?;
        self.lease_changes.push(LeaseChange::Revoked(id));
        Ok(Ok(()))
    }

    fn lease_exists(&self, lease: LeaseId) -> rusqlite::Result<bool> {
        if lease == 0 {
            return Ok(true);
        }
        self.conn
            .prepare_cached("SELECT 1 FROM lease WHERE id = ?1")?
            .query_row([lease], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
    }

    fn current(&self, key: &str) -> rusqlite::Result<Option<Current>> {
        self.conn
            .prepare_cached(
                "SELECT l.id, l.create_revision, l.version, l.lease, l.value
                 FROM current c JOIN log l ON l.id = c.id WHERE c.key = ?1",
            )?
            .query_row([key.as_bytes()], |row| Ok(Current { id: row.get(0)?, kv: kv_columns(row, 0, key.to_owned())? }))
            .optional()
    }

    fn put(
        &mut self,
        key: String,
        value: Bytes,
        lease: LeaseId,
        rev: Revision,
        sub: i64,
        prev: Option<Current>,
    ) -> rusqlite::Result<()> {
        let id = log_id(rev, sub);
        let (create_revision, version, prev_id) = match &prev {
            Some(p) => (p.kv.create_revision, p.kv.version + 1, Some(p.id)),
            None => (rev, 1, None),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO log (id, key, deleted, create_revision, version, lease, prev_id, value)
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((id, key.as_bytes(), create_revision, version, lease, prev_id, value.as_ref()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO current (key, id, lease) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET id = excluded.id, lease = excluded.lease",
            )?
            .execute((key.as_bytes(), id, lease))?;
        // Events are recorded even while nobody watches: a watcher may register while this
        // batch runs, and expects every event after the revision it registered at.
        let kv = KeyValue { key, value, create_revision, mod_revision: rev, version, lease };
        self.events.push(Event { kind: EventKind::Put, kv, prev: prev.map(|p| p.kv) });
        Ok(())
    }

    fn delete(&mut self, key: String, rev: Revision, sub: i64, prev: Current) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO log (id, key, deleted, create_revision, version, lease, prev_id, value)
                 VALUES (?1, ?2, 1, 0, 0, 0, ?3, x'')",
            )?
            .execute((log_id(rev, sub), key.as_bytes(), prev.id))?;
        self.conn.prepare_cached("DELETE FROM current WHERE key = ?1")?.execute([key.as_bytes()])?;
        self.events.push(Event { kind: EventKind::Delete, kv: crate::deleted_kv(key, rev), prev: Some(prev.kv) });
        Ok(())
    }

    /// The revision and compaction point as stored, for opening.
    pub(crate) fn stored_meta(conn: &Connection) -> rusqlite::Result<(Revision, Revision)> {
        schema::read_meta(conn)
    }
}
