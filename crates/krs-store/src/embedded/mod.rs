//! The embedded backend: one SQLite file (WAL, `synchronous=FULL`), the default store.
//!
//! Threads: one writer owns the write connection and commits queued requests in groups
//! (`writer.rs`); one thread checkpoints the WAL into the database when the writer asks
//! (`checkpoint.rs`), so no commit waits for a checkpoint; readers use pooled read-only
//! connections on the caller's thread (`reader.rs`); one maintenance thread expires leases
//! (`lease.rs`) and triggers automatic compaction (`compact.rs`). Watchers are fed in-process
//! by the writer after each durable commit (`watch.rs`). The file layout is in `schema.rs`.

mod checkpoint;
mod compact;
mod lease;
mod reader;
mod schema;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use self::compact::AutoCompaction;
use self::lease::Leases;
use self::reader::{Readers, sql_error};
use self::watch::Hub;
use self::writer::{Counters, Request, Writer};
use crate::{
    KeyValue, LeaseId, RangeRequest, RangeResponse, Result, Revision, Store, StoreError, Txn, TxnResponse, Watch,
    WatchRequest, check_limits, check_range, check_txn,
};

/// Settings of an [`EmbeddedStore`].
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Automatic compaction runs this often; `None` disables it. Default 5 minutes, like
    /// kube-apiserver's `--etcd-compaction-interval`.
    pub compaction_interval: Option<Duration>,
    /// Automatic compaction keeps at least this much history: it compacts to the newest revision
    /// that is this old. Default 5 minutes.
    pub compaction_retention: Duration,
    /// How often lease deadlines are checked. Default 500 ms.
    pub lease_check_interval: Duration,
    /// Batches of events a watcher may have queued before it is ended with
    /// [`StoreError::WatchLagging`]. Default 1024.
    pub watch_queue_capacity: usize,
    /// Requests committed in one transaction at most. Default 1024.
    pub max_batch: usize,
    /// Run SQLite's `quick_check` over an existing file at open (reads the whole file once).
    /// Default true.
    pub verify_on_open: bool,
    /// WAL pages (4 KiB) past which the WAL is checkpointed into the database, on the
    /// checkpointing thread. Default 8192 (32 MiB).
    pub checkpoint_pages: u32,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            compaction_interval: Some(Duration::from_secs(300)),
            compaction_retention: Duration::from_secs(300),
            lease_check_interval: Duration::from_millis(500),
            watch_queue_capacity: 1024,
            max_batch: 1024,
            verify_on_open: true,
            checkpoint_pages: checkpoint::DEFAULT_PAGES,
        }
    }
}

/// Figures about an open store, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// SQLite write transactions committed for requests (each one fsync).
    pub commits: u64,
    /// Requests those commits carried.
    pub requests: u64,
    /// Rows in the revision log, history included.
    pub log_rows: i64,
    /// WAL checkpoints completed on the checkpointing thread.
    pub checkpoints: u64,
    /// Checkpoints the writer ran itself, the WAL having outgrown four times the threshold.
    pub writer_checkpoints: u64,
}

/// The SQLite-backed [`Store`].
pub struct EmbeddedStore {
    path: PathBuf,
    requests: Option<mpsc::Sender<Request>>,
    readers: Arc<Readers>,
    hub: Arc<Hub>,
    leases: Arc<Leases>,
    counters: Arc<Counters>,
    shutdown: Option<mpsc::Sender<()>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Holds the file's advisory lock; closed (unlocked) after the threads have stopped.
    _lock: std::fs::File,
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating it when the file is absent or empty. A file that is
    /// not a krs store (another SQLite database, garbage, a damaged file) is refused with
    /// [`StoreError::Corrupt`] and left untouched.
    pub fn open(path: impl AsRef<Path>, options: EmbeddedOptions) -> Result<EmbeddedStore> {
        let path = path.as_ref().to_path_buf();
        let lock = schema::lock(&path)?;
        let mut conn = schema::open_writer(&path, options.verify_on_open)?;
        let (revision, compact_revision) = Writer::stored_meta(&conn).map_err(sql_error)?;
        let leases = Arc::new(Leases::load(&conn).map_err(sql_error)?);
        let hub = Arc::new(Hub::new(revision, options.watch_queue_capacity));
        let counters = Arc::new(Counters::default());
        let readers = Arc::new(Readers::new(path.clone()));
        // Open one reader now so that a problem with read access shows at open, not later.
        readers.meta()?;

        let checkpoint_thread = checkpoint::start(&mut conn, &path, options.checkpoint_pages, counters.clone())?;
        let writer = Writer::new(
            conn,
            path.clone(),
            revision,
            compact_revision,
            hub.clone(),
            leases.clone(),
            counters.clone(),
            options.max_batch,
        );
        let (requests, queue) = mpsc::channel();
        let spawn_error = |e: std::io::Error| StoreError::Internal(format!("cannot start store thread: {e}"));
        let writer_thread = std::thread::Builder::new()
            .name("krs-store-writer".into())
            .spawn(move || writer.run(queue))
            .map_err(spawn_error)?;
        let (shutdown, stop) = mpsc::channel();
        let maintenance = Maintenance { requests: requests.clone(), leases: leases.clone(), hub: hub.clone(), options };
        let maintenance_thread = std::thread::Builder::new()
            .name("krs-store-maintenance".into())
            .spawn(move || maintenance.run(stop))
            .map_err(spawn_error)?;
        Ok(EmbeddedStore {
            path,
            requests: Some(requests),
            readers,
            hub,
            leases,
            counters,
            shutdown: Some(shutdown),
            // Joined in this order: the checkpointer ends when the writer's connection closes.
            threads: Mutex::new(vec![maintenance_thread, writer_thread, checkpoint_thread]),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> Result<EmbeddedStats> {
        Ok(EmbeddedStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            requests: self.counters.requests.load(Ordering::Relaxed),
            log_rows: self.readers.log_rows()?,
            checkpoints: self.counters.checkpoints.load(Ordering::Relaxed),
            writer_checkpoints: self.counters.writer_checkpoints.load(Ordering::Relaxed),
        })
    }

    async fn submit<T>(&self, make: impl FnOnce(writer::Reply<T>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        requests.send(make(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store's writer has stopped".into())
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // The maintenance thread holds a request sender: stop it first, then close the request
        // channel so the writer finishes what is queued and closes the file.
        self.shutdown.take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let mut threads = threads.into_iter();
        if let Some(maintenance) = threads.next() {
            let _ = maintenance.join();
        }
        self.requests.take();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

struct Maintenance {
    requests: mpsc::Sender<Request>,
    leases: Arc<Leases>,
    hub: Arc<Hub>,
    options: EmbeddedOptions,
}

impl Maintenance {
    fn run(self, stop: mpsc::Receiver<()>) {
        let mut auto = self
            .options
            .compaction_interval
            .map(|interval| AutoCompaction::new(interval, self.options.compaction_retention, Instant::now()));
        let tick = self.options.lease_check_interval.max(Duration::from_millis(10));
        loop {
            match stop.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            for id in self.leases.take_expired(now) {
                if self.requests.send(Request::LeaseRevoke { id, reply: None }).is_err() {
                    return;
                }
            }
            if let Some(revision) = auto.as_mut().and_then(|a| a.tick(now, self.hub.revision()))
                && self.requests.send(Request::Compact { revision, reply: None }).is_err()
            {
                return;
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str, revision: Option<Revision>) -> Result<(Option<KeyValue>, Revision)> {
        check_limits(key, &[])?;
        self.readers.get(key, revision)
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        check_range(&req)?;
        self.readers.range(&req)
    }

    async fn create(&self, key: &str, value: Bytes, lease: LeaseId) -> Result<Revision> {
        check_limits(key, &value)?;
        let key = key.to_owned();
        self.submit(|reply| Request::Create { key, value, lease, reply }).await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision, lease: LeaseId) -> Result<Revision> {
        check_limits(key, &value)?;
        let key = key.to_owned();
        self.submit(|reply| Request::Update { key, value, expected, lease, reply }).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        check_limits(key, &[])?;
        let key = key.to_owned();
        self.submit(|reply| Request::Delete { key, expected, reply }).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        check_txn(&txn)?;
        self.submit(|reply| Request::Txn { txn, reply }).await
    }

    async fn watch(&self, req: WatchRequest) -> Result<Watch> {
        if !req.prefix {
            check_limits(&req.key, &[])?;
        }
        Ok(watch::watch(&self.hub, self.readers.clone(), &req))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.submit(|reply| Request::Compact { revision, reply: Some(reply) }).await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.readers.meta()?.1)
    }

    async fn lease_grant(&self, ttl_seconds: i64) -> Result<LeaseId> {
        self.submit(|reply| Request::LeaseGrant { ttl: ttl_seconds, reply }).await
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<()> {
        self.leases.keep_alive(id)
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        self.submit(|reply| Request::LeaseRevoke { id, reply: Some(reply) }).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.readers.meta()?.0)
    }
}
