//! The etcd backend: each operation of the [`Store`] maps to etcd v3's own.
//!
//! - create / update / guarded delete are one `Txn` each, comparing `version` (existence) and
//!   `mod_revision`, with a `Range` of the key in the failure branch to report the current value;
//! - `range` is a `Range` with `revision`, `limit` and `count` (etcd's count is the number of keys
//!   in the requested interval, so `remaining = count - returned`);
//! - `watch` is a `Watch` with `prev_kv` and `start_revision`; its responses are pumped into a
//!   bounded queue so a slow consumer ends with [`StoreError::WatchLagging`] exactly as with the
//!   embedded backend;
//! - `compact`, leases and the current revision are etcd's `Compact`, `Lease*` and response
//!   headers.
//!
//! etcd has no call that reports the compaction point; [`EtcdStore::compacted_revision`] finds it
//! by probing reads at past revisions (a read below the compaction point fails), bisecting between
//! the last point it knew and the current revision.

pub mod testing;
mod watch;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use etcd_client as ec;

use crate::{
    CompareOp, CompareTarget, KeyValue, LeaseId, RangeRequest, RangeResponse, Result, Revision, Store, StoreError, Txn,
    TxnOp, TxnOpResponse, TxnResponse, Watch, WatchRequest, check_limits, check_range, check_txn,
};

/// Settings of an [`EtcdStore`].
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// Deadline of each request. Default 10 s.
    pub request_timeout: Duration,
    /// Deadline of establishing a connection. Default 5 s.
    pub connect_timeout: Duration,
    /// Responses a watcher may have queued before it is ended with
    /// [`StoreError::WatchLagging`]. Default 1024.
    pub watch_queue_capacity: usize,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            watch_queue_capacity: 1024,
        }
    }
}

/// Largest gRPC message the client accepts: a range of many large values can be far bigger than
/// tonic's 4 MiB default.
const MAX_MESSAGE_BYTES: usize = 1 << 31;

/// Attempts of a request that failed without reaching etcd (or of a read that found no server).
const ATTEMPTS: u32 = 6;

/// Whether a failed request certainly never reached a server (the connection could not be
/// made), so that even a write can be sent again without risking a double apply.
fn never_sent(err: &ec::Error) -> bool {
    match err {
        ec::Error::TransportError(_) => true,
        ec::Error::GRpcStatus(status) => {
            let msg = status.message();
            status.code() as i32 == grpc_code::UNAVAILABLE
                && (msg.contains("connect error")
                    || msg.contains("error trying to connect")
                    || msg.contains("Connection refused"))
        }
        _ => false,
    }
}

fn unavailable(err: &ec::Error) -> bool {
    matches!(err, ec::Error::GRpcStatus(status) if status.code() as i32 == grpc_code::UNAVAILABLE)
}

/// Runs `attempt` until it succeeds, fails in a way that may not be retried, or runs out of
/// attempts. Reads (`idempotent`) are retried whenever no server was available; writes only when
/// they never left this process. With several endpoints this rides over a dead member.
async fn with_retries<T, Fut>(idempotent: bool, mut attempt: impl FnMut() -> Fut) -> Result<T, ec::Error>
where
    Fut: std::future::Future<Output = Result<T, ec::Error>>,
{
    let mut delay = Duration::from_millis(50);
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(err) if tries < ATTEMPTS && (never_sent(&err) || (idempotent && unavailable(&err))) => {
                tracing::debug!(%err, tries, "etcd request failed, retrying");
                tries += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
}

/// A [`Store`] on a real etcd v3 cluster.
pub struct EtcdStore {
    kv: ec::KvClient,
    watch: ec::WatchClient,
    lease: ec::LeaseClient,
    options: EtcdOptions,
    /// The highest compaction point seen so far (never decreases).
    known_compaction: AtomicI64,
}

impl EtcdStore {
    /// Connects to the cluster at `endpoints` (`http://host:port`) and checks that it answers.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<EtcdStore> {
        let connect = ec::ConnectOptions::new()
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_keep_alive_while_idle(true);
        let client = ec::Client::connect(endpoints, Some(connect)).await.map_err(map_error)?;
        let store = EtcdStore {
            kv: client.kv_client().max_decoding_message_size(MAX_MESSAGE_BYTES),
            watch: client.watch_client().max_decoding_message_size(MAX_MESSAGE_BYTES),
            lease: client.lease_client(),
            options,
            known_compaction: AtomicI64::new(0),
        };
        store.current_revision().await?;
        Ok(store)
    }

    /// Sends a transaction, again only if it certainly did not reach etcd.
    async fn send_txn(&self, txn: ec::Txn) -> Result<ec::TxnResponse, ec::Error> {
        with_retries(false, || {
            let (mut kv, txn) = (self.kv.clone(), txn.clone());
            async move { kv.txn(txn).await }
        })
        .await
    }

    /// Whether reads at `revision` still work (it is at or above the compaction point).
    async fn readable_at(&self, revision: Revision) -> Result<bool> {
        let opts = ec::GetOptions::new().with_revision(revision).with_count_only();
        match with_retries(true, || {
            let (mut kv, opts) = (self.kv.clone(), opts.clone());
            async move { kv.get("\0", Some(opts)).await }
        })
        .await
        {
            Ok(_) => Ok(true),
            Err(err) => match map_error(err) {
                StoreError::Compacted { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    /// A read at `requested` failed as compacted: the error with the compaction point filled in.
    async fn compacted_error(&self, requested: Revision) -> StoreError {
        let compact_revision = self.compacted_revision().await.unwrap_or(0);
        StoreError::Compacted { requested, compact_revision }
    }

    async fn map_read_error(&self, err: ec::Error, requested: Option<Revision>) -> StoreError {
        match map_error(err) {
            StoreError::Compacted { .. } => self.compacted_error(requested.unwrap_or(0)).await,
            StoreError::FutureRevision { .. } => StoreError::FutureRevision {
                requested: requested.unwrap_or(0),
                current: self.current_revision().await.unwrap_or(0),
            },
            other => other,
        }
    }
}

fn header_revision(header: Option<&ec::ResponseHeader>) -> Revision {
    header.map_or(0, |h| h.revision())
}

pub(crate) fn kv_from(kv: &ec::KeyValue) -> Result<KeyValue> {
    let key = std::str::from_utf8(kv.key())
        .map_err(|_| StoreError::Internal(format!("etcd returned a key that is not UTF-8: {:?}", kv.key())))?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: kv.lease(),
    })
}

fn first_kv(resp: &ec::GetResponse) -> Result<Option<KeyValue>> {
    resp.kvs().first().map(kv_from).transpose()
}

/// The current value of a key as the failure branch of a guarded write reports it.
fn failure_kv(resp: &ec::TxnResponse) -> Result<Option<KeyValue>> {
    for op in resp.op_responses() {
        if let ec::TxnOpResponse::Get(get) = op {
            return first_kv(&get);
        }
    }
    Ok(None)
}

/// Maps etcd's errors to the store's. etcd reports most conditions as gRPC statuses whose message
/// is the error's text.
pub(crate) fn map_error(err: ec::Error) -> StoreError {
    match err {
        ec::Error::GRpcStatus(status) => {
            let msg = status.message();
            if msg.contains("required revision has been compacted") {
                StoreError::Compacted { requested: 0, compact_revision: 0 }
            } else if msg.contains("required revision is a future revision") {
                StoreError::FutureRevision { requested: 0, current: 0 }
            } else if msg.contains("requested lease not found") {
                StoreError::LeaseNotFound(0)
            } else if msg.contains("request is too large") {
                StoreError::ValueTooLarge { key: String::new(), size: 0, limit: crate::MAX_VALUE_BYTES }
            } else if msg.contains("duplicate key given in txn request") {
                StoreError::InvalidTxn(msg.to_owned())
            } else {
                match status.code() as i32 {
                    grpc_code::UNAVAILABLE | grpc_code::DEADLINE_EXCEEDED | grpc_code::CANCELLED => {
                        StoreError::Unavailable(format!("etcd: {msg}"))
                    }
                    _ => StoreError::Internal(format!("etcd: {status}")),
                }
            }
        }
        ec::Error::TransportError(e) => StoreError::Unavailable(format!("etcd: {e}")),
        ec::Error::IoError(e) => StoreError::Unavailable(format!("etcd: {e}")),
        ec::Error::LeaseKeepAliveError(e) if e.contains("lease not found") => StoreError::LeaseNotFound(0),
        other => StoreError::Unavailable(format!("etcd: {other}")),
    }
}

/// gRPC status codes (numeric values from the gRPC specification), compared by number so this
/// crate needs no direct tonic dependency.
mod grpc_code {
    pub(super) const CANCELLED: i32 = 1;
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    pub(super) const UNAVAILABLE: i32 = 14;
}

/// Puts the lease id into a [`StoreError::LeaseNotFound`] that etcd reported without it.
fn with_lease(err: StoreError, lease: LeaseId) -> StoreError {
    match err {
        StoreError::LeaseNotFound(_) => StoreError::LeaseNotFound(lease),
        other => other,
    }
}

fn compare_op(op: CompareOp) -> ec::CompareOp {
    match op {
        CompareOp::Equal => ec::CompareOp::Equal,
        CompareOp::NotEqual => ec::CompareOp::NotEqual,
        CompareOp::Greater => ec::CompareOp::Greater,
        CompareOp::Less => ec::CompareOp::Less,
    }
}

fn put_options(lease: LeaseId) -> ec::PutOptions {
    ec::PutOptions::new().with_lease(lease)
}

/// The key range of a prefix for etcd: `"\0"` as the end means "to the last key".
fn etcd_range_end(prefix: &str) -> Vec<u8> {
    crate::prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0])
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str, revision: Option<Revision>) -> Result<(Option<KeyValue>, Revision)> {
        check_limits(key, &[])?;
        let at = revision.filter(|r| *r > 0);
        let opts = at.map(|r| ec::GetOptions::new().with_revision(r));
        let resp = match with_retries(true, || {
            let (mut kv, opts) = (self.kv.clone(), opts.clone());
            async move { kv.get(key, opts).await }
        })
        .await
        {
            Ok(resp) => resp,
            Err(err) => return Err(self.map_read_error(err, at).await),
        };
        Ok((first_kv(&resp)?, at.unwrap_or_else(|| header_revision(resp.header()))))
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        check_range(&req)?;
        let start = req.start.as_deref().unwrap_or(&req.prefix);
        let start = if start.is_empty() { "\0" } else { start };
        let at = req.revision.filter(|r| *r > 0);
        let mut opts = ec::GetOptions::new().with_range(etcd_range_end(&req.prefix));
        if let Some(r) = at {
            opts = opts.with_revision(r);
        }
        if req.limit > 0 {
            opts = opts.with_limit(req.limit as i64);
        }
        if req.count_only {
            opts = opts.with_count_only();
        }
        let resp = match with_retries(true, || {
            let (mut kv, opts) = (self.kv.clone(), opts.clone());
            async move { kv.get(start, Some(opts)).await }
        })
        .await
        {
            Ok(resp) => resp,
            Err(err) => return Err(self.map_read_error(err, at).await),
        };
        let kvs = resp.kvs().iter().map(kv_from).collect::<Result<Vec<_>>>()?;
        let remaining = resp.count() - kvs.len() as i64;
        Ok(RangeResponse { revision: at.unwrap_or_else(|| header_revision(resp.header())), kvs, remaining })
    }

    async fn create(&self, key: &str, value: Bytes, lease: LeaseId) -> Result<Revision> {
        check_limits(key, &value)?;
        let txn = ec::Txn::new()
            .when([ec::Compare::version(key, ec::CompareOp::Equal, 0)])
            .and_then([ec::TxnOp::put(key, Vec::from(value), Some(put_options(lease)))])
            .or_else([ec::TxnOp::get(key, None)]);
        let resp = self.send_txn(txn).await.map_err(|e| with_lease(map_error(e), lease))?;
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        match failure_kv(&resp)? {
            Some(current) => Err(StoreError::AlreadyExists { key: key.to_owned(), current: Box::new(current) }),
            // Deleted between the compare and the read of the failure branch cannot happen: both
            // run in one etcd transaction.
            None => Err(StoreError::Internal(format!("create of {key:?} failed on an absent key"))),
        }
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision, lease: LeaseId) -> Result<Revision> {
        check_limits(key, &value)?;
        // `version > 0` keeps an update with expected 0 from creating an absent key.
        let txn = ec::Txn::new()
            .when([
                ec::Compare::mod_revision(key, ec::CompareOp::Equal, expected),
                ec::Compare::version(key, ec::CompareOp::Greater, 0),
            ])
            .and_then([ec::TxnOp::put(key, Vec::from(value), Some(put_options(lease)))])
            .or_else([ec::TxnOp::get(key, None)]);
        let resp = self.send_txn(txn).await.map_err(|e| with_lease(map_error(e), lease))?;
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        let current = failure_kv(&resp)?.map(Box::new);
        Err(StoreError::Conflict { key: key.to_owned(), current })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        check_limits(key, &[])?;
        let delete = ec::TxnOp::delete(key, Some(ec::DeleteOptions::new().with_prev_key()));
        let mut compares = vec![ec::Compare::version(key, ec::CompareOp::Greater, 0)];
        if let Some(expected) = expected {
            compares.push(ec::Compare::mod_revision(key, ec::CompareOp::Equal, expected));
        }
        let txn = ec::Txn::new().when(compares).and_then([delete]).or_else([ec::TxnOp::get(key, None)]);
        let resp = self.send_txn(txn).await.map_err(map_error)?;
        if resp.succeeded() {
            for op in resp.op_responses() {
                if let ec::TxnOpResponse::Delete(del) = op
                    && let Some(prev) = del.prev_kvs().first()
                {
                    return Ok((header_revision(resp.header()), kv_from(prev)?));
                }
            }
            return Err(StoreError::Internal(format!("delete of {key:?} returned no previous value")));
        }
        match failure_kv(&resp)? {
            None => Err(StoreError::NotFound(key.to_owned())),
            Some(current) => Err(StoreError::Conflict { key: key.to_owned(), current: Some(Box::new(current)) }),
        }
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        check_txn(&txn)?;
        let compares: Vec<ec::Compare> = txn
            .compares
            .iter()
            .map(|c| {
                let op = compare_op(c.op);
                match &c.target {
                    CompareTarget::Version(v) => ec::Compare::version(c.key.as_str(), op, *v),
                    CompareTarget::CreateRevision(r) => ec::Compare::create_revision(c.key.as_str(), op, *r),
                    CompareTarget::ModRevision(r) => ec::Compare::mod_revision(c.key.as_str(), op, *r),
                    CompareTarget::Value(v) => ec::Compare::value(c.key.as_str(), op, v.to_vec()),
                    CompareTarget::Lease(l) => ec::Compare::lease(c.key.as_str(), op, *l),
                }
            })
            .collect();
        let ops = |branch: &[TxnOp]| -> Vec<ec::TxnOp> {
            branch
                .iter()
                .map(|op| match op {
                    TxnOp::Put { key, value, lease } => {
                        ec::TxnOp::put(key.as_str(), value.to_vec(), Some(put_options(*lease).with_prev_key()))
                    }
                    TxnOp::Delete { key } => {
                        ec::TxnOp::delete(key.as_str(), Some(ec::DeleteOptions::new().with_prev_key()))
                    }
                    TxnOp::Get { key } => ec::TxnOp::get(key.as_str(), None),
                })
                .collect()
        };
        let etcd_txn = ec::Txn::new().when(compares).and_then(ops(&txn.success)).or_else(ops(&txn.failure));
        let resp = self.send_txn(etcd_txn).await.map_err(|e| {
            let lease = txn
                .success
                .iter()
                .chain(&txn.failure)
                .find_map(|op| match op {
                    TxnOp::Put { lease, .. } if *lease != 0 => Some(*lease),
                    _ => None,
                })
                .unwrap_or(0);
            with_lease(map_error(e), lease)
        })?;
        let mut responses = Vec::new();
        for op in resp.op_responses() {
            responses.push(match op {
                ec::TxnOpResponse::Put(put) => TxnOpResponse::Put { prev: put.prev_key().map(kv_from).transpose()? },
                ec::TxnOpResponse::Delete(del) => {
                    TxnOpResponse::Delete { deleted: del.prev_kvs().first().map(kv_from).transpose()? }
                }
                ec::TxnOpResponse::Get(get) => TxnOpResponse::Get { kv: first_kv(&get)? },
                ec::TxnOpResponse::Txn(_) => {
                    return Err(StoreError::Internal("etcd answered with a nested transaction".into()));
                }
            });
        }
        Ok(TxnResponse { succeeded: resp.succeeded(), revision: header_revision(resp.header()), responses })
    }

    async fn watch(&self, req: WatchRequest) -> Result<Watch> {
        if !req.prefix {
            check_limits(&req.key, &[])?;
        }
        watch::watch(self.watch.clone(), &req, self.options.watch_queue_capacity).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match with_retries(true, || {
            let mut kv = self.kv.clone();
            async move { kv.compact(revision, None).await }
        })
        .await
        {
            Ok(_) => {
                self.known_compaction.fetch_max(revision, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => Err(self.map_read_error(err, Some(revision)).await),
        }
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        let known = self.known_compaction.load(Ordering::Relaxed);
        let current = self.current_revision().await?;
        // Reads work at and above the compaction point and fail below it: find the lowest
        // readable revision in [known, current].
        let mut lo = known.max(1);
        if self.readable_at(lo).await? {
            return Ok(known);
        }
        let mut hi = current;
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if self.readable_at(mid).await? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        self.known_compaction.fetch_max(hi, Ordering::Relaxed);
        Ok(hi)
    }

    async fn lease_grant(&self, ttl_seconds: i64) -> Result<LeaseId> {
        let resp = with_retries(false, || {
            let mut lease = self.lease.clone();
            async move { lease.grant(ttl_seconds.max(1), None).await }
        })
        .await
        .map_err(map_error)?;
        Ok(resp.id())
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<()> {
        // Opening the keep-alive stream sends one renewal and waits for its answer; that is the
        // whole operation.
        match with_retries(true, || {
            let mut lease = self.lease.clone();
            async move { lease.keep_alive(id).await }
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(err) => Err(with_lease(map_error(err), id)),
        }
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        with_retries(false, || {
            let mut lease = self.lease.clone();
            async move { lease.revoke(id).await }
        })
        .await
        .map_err(|e| with_lease(map_error(e), id))?;
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        let opts = ec::GetOptions::new().with_count_only();
        let resp = with_retries(true, || {
            let (mut kv, opts) = (self.kv.clone(), opts.clone());
            async move { kv.get("\0", Some(opts)).await }
        })
        .await
        .map_err(map_error)?;
        Ok(header_revision(resp.header()))
    }
}
