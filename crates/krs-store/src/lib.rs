//! krs-store: the revisioned key-value store under the API server.
//!
//! Everything krs persists lives in a [`Store`]: a key-value store with etcd's model. One global
//! revision is incremented by every write transaction; each key carries its create revision, mod
//! revision and version; writes are guarded by compare-and-swap on the mod revision; reads can be
//! taken at a past revision (until it is compacted); and a watch streams every change of a key or
//! prefix, in revision order, with the previous value. The API server stores objects at keys that
//! follow upstream's layout (`/registry/<resource>/<namespace>/<name>`) and turns revisions into
//! `resourceVersion`s.
//!
//! Two backends implement the trait: [`embedded`] (SQLite, the default) and [`etcd`] (a real etcd
//! v3 cluster). The module [`testsuite`] holds the backend-agnostic behaviour tests that both run
//! (one test per behaviour through [`store_suite!`]); [`etcd::testing`] starts throwaway etcd
//! members for tests and benchmarks.
//!
//! Conventions shared by both backends: a requested revision of 0 (or less) means "latest"; a
//! watch from a compacted revision is created and then ends with [`StoreError::Compacted`] as its
//! first item; the previous value of an event at exactly the compaction revision may be gone, as in
//! etcd.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

pub mod embedded;
pub mod etcd;
pub mod testsuite;

/// A store revision. `0` means "none" (an absent key has create and mod revision 0).
pub type Revision = i64;

/// A lease id. `0` means "no lease".
pub type LeaseId = i64;

/// The largest value the store accepts: etcd's default request limit (1.5 MiB).
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;

/// The largest key the store accepts.
pub const MAX_KEY_BYTES: usize = 4096;

/// One key at one revision.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created the key (in its current incarnation).
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
    /// Number of writes since creation, starting at 1.
    pub version: i64,
    /// The lease the key is attached to, or 0.
    pub lease: LeaseId,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("version", &self.version)
            .field("lease", &self.lease)
            .finish()
    }
}

/// A range read over the keys that start with `prefix`.
#[derive(Clone, Debug, Default)]
pub struct RangeRequest {
    /// Keys that start with this prefix are returned, in byte order.
    pub prefix: String,
    /// Continue from this key (inclusive); it must start with `prefix`. Used for pagination.
    pub start: Option<String>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read at this revision; `None` reads the latest.
    pub revision: Option<Revision>,
    /// Only count, return no key-values.
    pub count_only: bool,
}

/// The answer to a [`RangeRequest`].
#[derive(Clone, Debug, Default)]
pub struct RangeResponse {
    pub kvs: Vec<KeyValue>,
    /// The revision the range was read at (the store's revision at the time of a latest read).
    pub revision: Revision,
    /// How many keys of the range (from `start`) follow the returned ones. With `count_only`,
    /// the number of keys in the range.
    pub remaining: i64,
}

/// What a transaction's compare looks at and the value it compares with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    /// The key's version; an absent key has version 0.
    Version(i64),
    CreateRevision(Revision),
    ModRevision(Revision),
    Value(Bytes),
    Lease(LeaseId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// One condition of a [`Txn`]: `key.target op value`. Etcd's semantics: an absent key has version,
/// create and mod revision 0, and a value compare against an absent key is false.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub op: CompareOp,
    pub target: CompareTarget,
}

impl Compare {
    pub fn mod_revision(key: impl Into<String>, op: CompareOp, rev: Revision) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::ModRevision(rev) }
    }
    pub fn version(key: impl Into<String>, op: CompareOp, version: i64) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::Version(version) }
    }
    /// True when the key does not exist.
    pub fn absent(key: impl Into<String>) -> Self {
        Self::version(key, CompareOp::Equal, 0)
    }
}

/// An operation of a [`Txn`] branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    Put { key: String, value: Bytes, lease: LeaseId },
    Delete { key: String },
    Get { key: String },
}

/// A general transaction: if every compare holds, the `success` operations run, else `failure`.
/// All writes of one transaction share one new revision. A key may be written at most once per
/// branch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub success: Vec<TxnOp>,
    pub failure: Vec<TxnOp>,
}

/// The result of one [`TxnOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOpResponse {
    /// A put; `prev` is the key's value before it.
    Put {
        prev: Option<KeyValue>,
    },
    /// A delete; `deleted` is the removed key, if it existed.
    Delete {
        deleted: Option<KeyValue>,
    },
    Get {
        kv: Option<KeyValue>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnResponse {
    pub succeeded: bool,
    /// The store revision after the transaction (the new revision if it wrote anything).
    pub revision: Revision,
    pub responses: Vec<TxnOpResponse>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch. For a delete, `kv` holds the key, the deletion's revision as
/// `mod_revision` and an empty value; `prev` holds the value that was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
    pub prev: Option<KeyValue>,
}

/// A batch of watch events, in revision order. `revision` is the store revision up to which the
/// watcher has now seen every change of its range; a batch with no events is a progress
/// notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchResponse {
    pub revision: Revision,
    pub events: Vec<Event>,
}

/// What to watch.
#[derive(Clone, Debug)]
pub struct WatchRequest {
    /// The key, or the prefix when `prefix` is set.
    pub key: String,
    pub prefix: bool,
    /// Deliver every change with a revision at or after this one; 0 means "from now on".
    pub start_revision: Revision,
}

/// The stream of a watch. It ends with an error when the start revision was compacted
/// ([`StoreError::Compacted`]) or when the consumer fell too far behind
/// ([`StoreError::WatchLagging`]).
pub struct Watch {
    stream: Pin<Box<dyn Stream<Item = Result<WatchResponse, StoreError>> + Send>>,
    progress: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl Watch {
    pub fn new(
        stream: Pin<Box<dyn Stream<Item = Result<WatchResponse, StoreError>> + Send>>,
        progress: Box<dyn Fn() + Send + Sync>,
    ) -> Self {
        Watch { stream, progress: std::sync::Arc::from(progress) }
    }

    /// The next batch, or `None` once the watch ended.
    pub async fn next(&mut self) -> Option<Result<WatchResponse, StoreError>> {
        use futures::StreamExt;
        self.stream.next().await
    }

    /// Ask for a progress notification: a [`WatchResponse`] without events whose revision is the
    /// store's current revision, delivered after every event up to it.
    pub fn request_progress(&self) {
        (self.progress)()
    }

    /// A handle that requests progress notifications (as [`Watch::request_progress`]) and can be
    /// kept while the stream itself is being consumed.
    pub fn progress_handle(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        self.progress.clone()
    }
}

impl Stream for Watch {
    type Item = Result<WatchResponse, StoreError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("key {key:?} already exists")]
    AlreadyExists { key: String, current: Box<KeyValue> },
    #[error("key {0:?} not found")]
    NotFound(String),
    /// A compare-and-swap failed; `current` is the key's value now (None when absent).
    #[error("key {key:?} was modified concurrently")]
    Conflict { key: String, current: Option<Box<KeyValue>> },
    #[error("required revision {requested} has been compacted (compacted up to {compact_revision})")]
    Compacted { requested: Revision, compact_revision: Revision },
    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision { requested: Revision, current: Revision },
    #[error("value of {size} bytes for key {key:?} exceeds the limit of {limit} bytes")]
    ValueTooLarge { key: String, size: usize, limit: usize },
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("invalid transaction: {0}")]
    InvalidTxn(String),
    #[error("lease {0} not found")]
    LeaseNotFound(LeaseId),
    #[error("watch ended: the watcher fell too far behind")]
    WatchLagging,
    #[error("database {path}: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The revisioned key-value store. See the crate documentation for the model.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key's value, at the latest revision or at `revision`. Also returns the revision the
    /// read was taken at.
    async fn get(&self, key: &str, revision: Option<Revision>) -> Result<(Option<KeyValue>, Revision)>;

    /// A range over a prefix: one consistent snapshot (at `revision`, or the latest).
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;

    /// Creates `key` unless it exists ([`StoreError::AlreadyExists`] with the current value).
    /// Returns the new revision.
    async fn create(&self, key: &str, value: Bytes, lease: LeaseId) -> Result<Revision>;

    /// Replaces `key` if its mod revision is still `expected`; otherwise
    /// [`StoreError::Conflict`] with the current value. Returns the new revision.
    async fn update(&self, key: &str, value: Bytes, expected: Revision, lease: LeaseId) -> Result<Revision>;

    /// Deletes `key`, if `expected` is given only while its mod revision is still that
    /// ([`StoreError::Conflict`] otherwise). [`StoreError::NotFound`] when absent. Returns the new
    /// revision and the deleted key-value.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)>;

    /// A general transaction.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse>;

    /// Watches a key or prefix. Every change from the start revision on is delivered once, in
    /// revision order, with the previous value.
    async fn watch(&self, req: WatchRequest) -> Result<Watch>;

    /// Discards the history before `revision`: reads at older revisions and watches starting
    /// before it fail with [`StoreError::Compacted`] from then on.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// The revision history was compacted up to (0 when never).
    async fn compacted_revision(&self) -> Result<Revision>;

    /// Grants a lease that expires `ttl_seconds` after its grant or last keep-alive; keys attached
    /// to it are deleted when it expires.
    async fn lease_grant(&self, ttl_seconds: i64) -> Result<LeaseId>;

    /// Renews a lease for another TTL.
    async fn lease_keep_alive(&self, id: LeaseId) -> Result<()>;

    /// Revokes a lease now, deleting its keys.
    async fn lease_revoke(&self, id: LeaseId) -> Result<()>;

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision>;
}

/// Checks a key and value against the store's limits.
pub fn check_limits(key: &str, value: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidKey(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(StoreError::ValueTooLarge { key: key.to_string(), size: value.len(), limit: MAX_VALUE_BYTES });
    }
    Ok(())
}

/// The smallest key greater than every key with this prefix (etcd's "range end"), or `None` when
/// the prefix is all 0xff bytes (no upper bound).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The key-value a delete event carries: the key and the deletion's revision, nothing else
/// (etcd's shape).
pub(crate) fn deleted_kv(key: String, revision: Revision) -> KeyValue {
    KeyValue { key, value: Bytes::new(), create_revision: 0, mod_revision: revision, version: 0, lease: 0 }
}

/// Checks what every backend requires of a transaction: keys and values within the limits, and
/// each key written at most once per branch (etcd refuses duplicates too).
pub(crate) fn check_txn(txn: &Txn) -> Result<()> {
    for compare in &txn.compares {
        check_limits(&compare.key, &[])?;
    }
    for branch in [&txn.success, &txn.failure] {
        let mut written = std::collections::HashSet::new();
        for op in branch {
            match op {
                TxnOp::Put { key, value, .. } => {
                    check_limits(key, value)?;
                    if !written.insert(key.as_str()) {
                        return Err(StoreError::InvalidTxn(format!("key {key:?} is written twice")));
                    }
                }
                TxnOp::Delete { key } => {
                    check_limits(key, &[])?;
                    if !written.insert(key.as_str()) {
                        return Err(StoreError::InvalidTxn(format!("key {key:?} is written twice")));
                    }
                }
                TxnOp::Get { key } => check_limits(key, &[])?,
            }
        }
    }
    Ok(())
}

/// Checks a range request: a continuation key must lie inside the prefix.
pub(crate) fn check_range(req: &RangeRequest) -> Result<()> {
    if let Some(start) = &req.start
        && !start.starts_with(&req.prefix)
    {
        return Err(StoreError::InvalidKey(format!("continue key {start:?} is outside the prefix {:?}", req.prefix)));
    }
    Ok(())
}
