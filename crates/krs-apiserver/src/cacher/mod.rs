//! The watch cache: one per storage prefix (resource), fed by one store watch, serving lists,
//! watches and consistent reads without touching the store.
//!
//! Each object is kept as its encoded JSON (with resourceVersion) plus the few attributes that
//! selectors need (namespace, name, labels, field-selector values), not as a parsed tree, so
//! memory per object stays near its wire size and an object is encoded once for all readers.
//! The objects live in a persistent ordered map: a reader takes an O(1) snapshot under a short
//! lock and iterates it without holding anything, so readers never wait for the feeder and the
//! feeder never waits for readers. A window of recent events lets watches resume from a recent
//! resourceVersion; older starts are served by a store watch from history, so a client can
//! resume after an API server restart without relisting (KEP 1904).

mod list;
mod pick;
pub mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use imbl::OrdMap;
use krs_api::strategy::FieldLabel;
use krs_store::{EventKind, KeyValue, RangeRequest, Revision, Store, StoreError, WatchRequest};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch as tokio_watch};

pub use list::{ListOptions, ListResult};
pub use watch::{WatchEventStream, WatchItem, WatchOptions, WatchStartError};

use crate::objbytes::with_resource_version;

/// A store event decoded for the cache: key, new object (None for a deletion), the deleted
/// value, revision.
type Prepared = (String, Option<Arc<CachedObject>>, Option<KeyValue>, Revision);

/// One object as the cache keeps it.
pub struct CachedObject {
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub resource_version: Revision,
    /// The object's JSON, with metadata.resourceVersion.
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    /// The values of the resource's field labels, in the order of its strategy's list.
    pub fields: Vec<String>,
    /// The protobuf encoding, made on first demand.
    proto: OnceLock<Option<Bytes>>,
}

impl std::fmt::Debug for CachedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedObject({}@{})", self.key, self.resource_version)
    }
}

impl CachedObject {
    /// Builds the cache entry for a stored value (JSON without resourceVersion).
    pub fn from_stored(key: &str, stored: &[u8], rv: Revision, field_labels: &'static [FieldLabel]) -> CachedObject {
        let (namespace, name, labels, fields) = attributes(stored, field_labels);
        CachedObject {
            key: key.to_string(),
            namespace,
            name,
            resource_version: rv,
            json: Bytes::from(with_resource_version(stored, rv)),
            labels,
            fields,
            proto: OnceLock::new(),
        }
    }

    /// Wraps JSON that already carries its resourceVersion (a response being assembled),
    /// without selector attributes.
    pub fn from_served(json: Bytes) -> CachedObject {
        CachedObject {
            key: String::new(),
            namespace: String::new(),
            name: String::new(),
            resource_version: 0,
            json,
            labels: BTreeMap::new(),
            fields: Vec::new(),
            proto: OnceLock::new(),
        }
    }

    /// The object's protobuf encoding (`k8s\0` envelope), or None when the kind has no
    /// protobuf form.
    pub fn protobuf(&self) -> Option<Bytes> {
        self.proto
            .get_or_init(|| {
                let value: serde_json::Value = serde_json::from_slice(&self.json).ok()?;
                krs_proto::encode_object(&value).ok().map(Bytes::from)
            })
            .clone()
    }
}

/// Reads the selector attributes of a stored object without building more than needed.
fn attributes(
    stored: &[u8],
    field_labels: &'static [FieldLabel],
) -> (String, String, BTreeMap<String, String>, Vec<String>) {
    #[derive(serde::Deserialize, Default)]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        namespace: String,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Partial {
        #[serde(default)]
        metadata: Meta,
    }
    if field_labels.is_empty() {
        let p: Partial = serde_json::from_slice(stored).unwrap_or_default();
        return (p.metadata.namespace, p.metadata.name, p.metadata.labels, Vec::new());
    }
    let value = pick::for_selectors(field_labels, |wanted| wanted.pick(stored)).unwrap_or_default();
    let fields = field_labels.iter().map(|f| f.value_in(&value)).collect();
    let meta = value.get("metadata");
    let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let labels = meta
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.as_object())
        .map(|l| l.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    (text("namespace"), text("name"), labels, fields)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change. For a deletion, `object` is the last state with the deletion's resourceVersion.
#[derive(Debug)]
pub struct CachedEvent {
    pub event_type: EventType,
    pub object: Arc<CachedObject>,
    /// The object before the change (for selector transitions).
    pub prev: Option<Arc<CachedObject>>,
    pub revision: Revision,
}

/// Decides which objects a watcher or list wants.
pub trait Filter: Send + Sync {
    fn matches(&self, obj: &CachedObject) -> bool;
}

/// A filter that takes everything.
pub struct Everything;

impl Filter for Everything {
    fn matches(&self, _obj: &CachedObject) -> bool {
        true
    }
}

/// How many events a cache keeps for watches that resume from a recent resourceVersion.
const WINDOW_EVENTS: usize = 10_000;
/// How long a cache keeps events at most.
const WINDOW_AGE: Duration = Duration::from_secs(300);
/// Events a watcher may have queued before it is considered too slow and closed.
pub const WATCHER_QUEUE: usize = 1024;
/// How long the snapshot a paginated list read is kept for its continuations.
const SNAPSHOT_TTL: Duration = Duration::from_secs(120);
const MAX_SNAPSHOTS: usize = 32;
/// How many of the latest events a list at an exact resourceVersion may undo to get the state
/// at that version from the current one; older versions are read from the store.
const UNDO_EVENTS: usize = 256;

struct Watcher {
    id: u64,
    filter: Arc<dyn Filter>,
    tx: mpsc::Sender<Arc<CachedEvent>>,
}

struct State {
    objects: OrdMap<String, Arc<CachedObject>>,
    /// Every change up to this revision has been applied.
    revision: Revision,
    /// Recent events, oldest first; together with `window_start` they cover every change in
    /// (window_start, revision].
    window: VecDeque<(Arc<CachedEvent>, Instant)>,
    window_start: Revision,
    watchers: Vec<Watcher>,
    next_watcher: u64,
    /// Snapshots kept for paginated lists: revision → objects.
    snapshots: VecDeque<(Revision, OrdMap<String, Arc<CachedObject>>, Instant)>,
    ready: bool,
}

/// The watch cache of one storage prefix.
pub struct Cacher {
    prefix: String,
    field_labels: &'static [FieldLabel],
    store: Arc<dyn Store>,
    state: RwLock<State>,
    applied: tokio_watch::Sender<Revision>,
    /// Requests a progress notification from the store watch feeding the cache.
    progress: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Cacher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cacher({})", self.prefix)
    }
}

/// Page size of the initial load.
const LOAD_PAGE: usize = 10_000;

impl Cacher {
    /// Creates the cache and starts feeding it from the store in the background.
    pub fn start(store: Arc<dyn Store>, prefix: String, field_labels: &'static [FieldLabel]) -> Arc<Cacher> {
        let (applied, _) = tokio_watch::channel(0);
        let cacher = Arc::new(Cacher {
            prefix,
            field_labels,
            store,
            state: RwLock::new(State {
                objects: OrdMap::new(),
                revision: 0,
                window: VecDeque::new(),
                window_start: 0,
                watchers: Vec::new(),
                next_watcher: 0,
                snapshots: VecDeque::new(),
                ready: false,
            }),
            applied,
            progress: Mutex::new(None),
        });
        let weak = Arc::downgrade(&cacher);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let Some(cacher) = weak.upgrade() else { return };
                match cacher.run().await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(prefix = %cacher.prefix, error = %e, "watch cache lost its store watch; relisting");
                        drop(cacher);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        cacher
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Lists the prefix into the cache, then applies the store's watch until it fails.
    async fn run(self: &Arc<Self>) -> Result<(), StoreError> {
        let mut objects = OrdMap::new();
        let first = self
            .store
            .range(RangeRequest { prefix: self.prefix.clone(), limit: LOAD_PAGE, ..Default::default() })
            .await?;
        let revision = first.revision;
        let mut page = first;
        loop {
            let last = page.kvs.last().map(|kv| kv.key.clone());
            for kv in page.kvs.drain(..) {
                let obj = CachedObject::from_stored(&kv.key, &kv.value, kv.mod_revision, self.field_labels);
                objects.insert(kv.key, Arc::new(obj));
            }
            match (page.remaining > 0, last) {
                (true, Some(last)) => {
                    page = self
                        .store
                        .range(RangeRequest {
                            prefix: self.prefix.clone(),
                            start: Some(format!("{last}\0")),
                            limit: LOAD_PAGE,
                            revision: Some(revision),
                            count_only: false,
                        })
                        .await?;
                }
                _ => break,
            }
        }
        let mut store_watch = self
            .store
            .watch(WatchRequest { key: self.prefix.clone(), prefix: true, start_revision: revision + 1 })
            .await?;
        {
            let mut st = self.state.write();
            // A relist replaces everything: watchers of the old state cannot be continued
            // consistently, so they are closed and their clients resume from their last version.
            st.watchers.clear();
            st.window.clear();
            st.snapshots.clear();
            st.objects = objects;
            st.revision = revision;
            st.window_start = revision;
            st.ready = true;
        }
        let _ = self.applied.send(revision);
        *self.progress.lock() = Some(store_watch.progress_handle());
        while let Some(resp) = store_watch.next().await {
            let resp = resp?;
            self.apply(resp.events, resp.revision);
        }
        Err(StoreError::Unavailable("store watch ended".into()))
    }

    /// Applies a batch of store events, in revision order.
    fn apply(&self, events: Vec<krs_store::Event>, revision: Revision) {
        // Decode outside the lock; the lock only swaps pointers.
        let prepared: Vec<Prepared> = events
            .into_iter()
            .map(|e| {
                let rev = e.kv.mod_revision;
                match e.kind {
                    EventKind::Put => {
                        let obj = CachedObject::from_stored(&e.kv.key, &e.kv.value, rev, self.field_labels);
                        (e.kv.key, Some(Arc::new(obj)), None, rev)
                    }
                    EventKind::Delete => (e.kv.key, None, e.prev, rev),
                }
            })
            .collect();
        let now = Instant::now();
        let mut st = self.state.write();
        for (key, obj, prev_kv, rev) in prepared {
            if rev <= st.revision {
                continue;
            }
            let prev = st.objects.get(&key).cloned();
            let event = match obj {
                Some(obj) => {
                    st.objects.insert(key, obj.clone());
                    let event_type = if prev.is_some() { EventType::Modified } else { EventType::Added };
                    CachedEvent { event_type, object: obj, prev, revision: rev }
                }
                None => {
                    st.objects.remove(&key);
                    // The deleted state, stamped with the deletion's revision.
                    let last = match (&prev, &prev_kv) {
                        (_, Some(kv)) => CachedObject::from_stored(&key, &kv.value, rev, self.field_labels),
                        (Some(p), None) => CachedObject {
                            key: key.clone(),
                            namespace: p.namespace.clone(),
                            name: p.name.clone(),
                            resource_version: rev,
                            json: Bytes::from(crate::objbytes::with_resource_version(&strip_rv(&p.json), rev)),
                            labels: p.labels.clone(),
                            fields: p.fields.clone(),
                            proto: OnceLock::new(),
                        },
                        (None, None) => continue,
                    };
                    CachedEvent { event_type: EventType::Deleted, object: Arc::new(last), prev, revision: rev }
                }
            };
            let event = Arc::new(event);
            st.watchers.retain(|w| deliver(w, &event));
            st.window.push_back((event, now));
            st.revision = rev;
        }
        if revision > st.revision {
            st.revision = revision;
        }
        while st.window.len() > WINDOW_EVENTS
            || st.window.front().is_some_and(|(_, t)| now.duration_since(*t) > WINDOW_AGE)
        {
            if let Some((e, _)) = st.window.pop_front() {
                st.window_start = e.revision;
            }
        }
        if st.window.is_empty() {
            st.window_start = st.revision;
        }
        let rev = st.revision;
        drop(st);
        let _ = self.applied.send(rev);
    }

    /// Waits until the cache has applied every change up to `revision` (a consistent read), or
    /// until `timeout`. Returns false on timeout.
    pub async fn wait_for_revision(&self, revision: Revision, timeout: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        if *rx.borrow() >= revision && self.is_ready() {
            return true;
        }
        // Events of other prefixes advance the store's revision without reaching this cache:
        // ask the store watch for a progress notification.
        let progress = self.progress.lock().clone();
        if let Some(p) = progress {
            p();
        }
        let wait = async {
            loop {
                if *rx.borrow_and_update() >= revision && self.is_ready() {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or(false)
    }

    pub fn is_ready(&self) -> bool {
        self.state.read().ready
    }

    /// The revision up to which the cache is complete.
    pub fn revision(&self) -> Revision {
        self.state.read().revision
    }

    /// A consistent snapshot of all objects and its revision.
    pub fn snapshot(&self) -> (OrdMap<String, Arc<CachedObject>>, Revision) {
        let st = self.state.read();
        (st.objects.clone(), st.revision)
    }

    /// The snapshot kept for revision `rev`, if a paginated list made one.
    fn snapshot_at(&self, rev: Revision) -> Option<OrdMap<String, Arc<CachedObject>>> {
        let st = self.state.read();
        if st.revision == rev {
            return Some(st.objects.clone());
        }
        if let Some((_, m, _)) = st.snapshots.iter().find(|(r, _, _)| *r == rev) {
            return Some(m.clone());
        }
        // The state at a recent `rev` (upstream 1.34's snapshottable cache): the current one
        // with the later events undone, each putting back the object it replaced. The window
        // holds every change after `window_start`. Undoing at read time rather than keeping a
        // map per event spares every write a copy of its path in the map.
        if rev > st.revision || rev < st.window_start {
            return None;
        }
        let later = st.window.iter().rev().take_while(|(e, _)| e.revision > rev);
        if later.clone().nth(UNDO_EVENTS).is_some() {
            return None;
        }
        let mut objects = st.objects.clone();
        for (e, _) in later {
            match &e.prev {
                Some(prev) => objects.insert(e.object.key.clone(), prev.clone()),
                None => objects.remove(&e.object.key),
            };
        }
        Some(objects)
    }

    /// Keeps a snapshot for the continuations of a paginated list.
    fn keep_snapshot(&self, rev: Revision, objects: &OrdMap<String, Arc<CachedObject>>) {
        let now = Instant::now();
        let mut st = self.state.write();
        st.snapshots.retain(|(_, _, t)| now.duration_since(*t) < SNAPSHOT_TTL);
        if st.snapshots.iter().any(|(r, _, _)| *r == rev) {
            return;
        }
        if st.snapshots.len() >= MAX_SNAPSHOTS {
            st.snapshots.pop_front();
        }
        st.snapshots.push_back((rev, objects.clone(), now));
    }

    /// A single object, when the cache is current enough.
    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.state.read().objects.get(key).cloned()
    }
}

/// Sends an event to a watcher if its filter takes it (with upstream's selector transitions:
/// an object that starts matching is ADDED, one that stops matching is DELETED). Returns false
/// when the watcher is gone or too slow, which removes it.
fn deliver(w: &Watcher, event: &Arc<CachedEvent>) -> bool {
    let cur = w.filter.matches(&event.object);
    let prev = event.prev.as_ref().is_some_and(|p| w.filter.matches(p));
    let send = match event.event_type {
        EventType::Added => cur,
        EventType::Deleted => prev || cur,
        EventType::Modified => cur || prev,
    };
    if !send {
        return !w.tx.is_closed();
    }
    match w.tx.try_send(event.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::info!(watcher = w.id, "closing a watcher that fell too far behind");
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// The stored form (without resourceVersion) of cached JSON, for re-stamping a deleted object.
fn strip_rv(json: &[u8]) -> Vec<u8> {
    let mut v: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(_) => return json.to_vec(),
    };
    if let Some(m) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests;
