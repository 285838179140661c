//! Watches served by the watch cache.
//!
//! A watch starts either with the current state as synthetic ADDED events (no resourceVersion,
//! "0", or `sendInitialEvents=true`), or after a given resourceVersion: replayed from the
//! cache's event window when it still covers it, else from the store's history (so a client
//! can resume after a restart of the API server without relisting). Then live events follow,
//! without gap or duplicate. Bookmarks are sent when the client allows them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use krs_store::{EventKind, Revision, StoreError, WatchRequest};
use tokio::sync::mpsc;

use super::{CachedEvent, CachedObject, Cacher, EventType, Filter, WATCHER_QUEUE, Watcher};

/// How a watch starts and what it gets.
pub struct WatchOptions {
    /// The prefix watched (the resource's, or one namespace's).
    pub prefix: String,
    pub filter: Arc<dyn Filter>,
    /// Changes after this revision; `None` starts with the current state.
    pub resource_version: Option<Revision>,
    /// Start with the current state (watch-list), even when a resourceVersion is given.
    pub send_initial_events: bool,
    pub allow_bookmarks: bool,
    /// How often an idle watch gets a bookmark.
    pub bookmark_interval: Duration,
}

/// One item of a watch stream.
#[derive(Debug)]
pub enum WatchItem {
    Event {
        event_type: EventType,
        object: Arc<CachedObject>,
    },
    /// Everything up to `revision` has been sent. `initial_events_end` marks the end of the
    /// initial state of a watch-list.
    Bookmark {
        revision: Revision,
        initial_events_end: bool,
    },
    /// The watch cannot continue; the client must relist (410 Gone in the stream).
    Expired {
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WatchStartError {
    /// The resourceVersion is older than what the cache and the store keep.
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld { requested: Revision, oldest: Revision },
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Source {
    /// Live events from the cache.
    Cache { rx: mpsc::Receiver<Arc<CachedEvent>>, cacher: Arc<Cacher>, id: u64 },
    /// A store watch replaying history, for starts older than the cache's window.
    Store { watch: krs_store::Watch, cacher: Arc<Cacher> },
}

/// A running watch. Dropping it unregisters the watcher.
pub struct WatchEventStream {
    /// Items to send before anything else (initial state, replayed window).
    pending: VecDeque<WatchItem>,
    source: Source,
    filter: Arc<dyn Filter>,
    prefix: String,
    allow_bookmarks: bool,
    bookmark_interval: Duration,
    /// The revision of the last item sent.
    last_revision: Revision,
    ended: bool,
}

impl Drop for WatchEventStream {
    fn drop(&mut self) {
        if let Source::Cache { cacher, id, .. } = &self.source {
            cacher.state.write().watchers.retain(|w| w.id != *id);
        }
    }
}

impl Cacher {
    /// Starts a watch.
    pub async fn watch(self: &Arc<Self>, opts: WatchOptions) -> Result<WatchEventStream, WatchStartError> {
        let initial = opts.resource_version.is_none_or(|rv| rv == 0) || opts.send_initial_events;
        if let Some(rv) = opts.resource_version.filter(|_| !initial) {
            // A future version: wait briefly for the cache to catch up, as upstream does.
            if rv > self.revision() {
                self.wait_for_revision(rv, Duration::from_secs(3)).await;
            }
        }
        let (tx, rx) = mpsc::channel(WATCHER_QUEUE);
        let mut pending = VecDeque::new();
        // Registration happens under the lock, without awaiting: the guard is not Send.
        let registered = {
            let mut st = self.state.write();
            let start_after = match opts.resource_version {
                Some(rv) if !initial => rv,
                _ => st.revision,
            };
            if !initial && start_after < st.window_start {
                Err(start_after)
            } else {
                if initial {
                    let end = krs_store::prefix_end(opts.prefix.as_bytes()).and_then(|e| String::from_utf8(e).ok());
                    let range = match end {
                        Some(e) => st.objects.range(opts.prefix.clone()..e),
                        None => st.objects.range(opts.prefix.clone()..),
                    };
                    for (_, obj) in range {
                        if opts.filter.matches(obj) {
                            pending.push_back(WatchItem::Event { event_type: EventType::Added, object: obj.clone() });
                        }
                    }
                    if opts.send_initial_events && opts.allow_bookmarks {
                        pending.push_back(WatchItem::Bookmark { revision: st.revision, initial_events_end: true });
                    }
                } else {
                    for (event, _) in st.window.iter().filter(|(e, _)| e.revision > start_after) {
                        if let Some(item) = transition(event, opts.filter.as_ref(), &opts.prefix) {
                            pending.push_back(item);
                        }
                    }
                }
                let id = st.next_watcher;
                st.next_watcher += 1;
                st.watchers.push(Watcher { id, filter: prefix_filter(opts.prefix.clone(), opts.filter.clone()), tx });
                Ok((st.revision.max(start_after), id))
            }
        };
        let (last_revision, id) = match registered {
            Ok(r) => r,
            // The window moved on since the check above: serve from the store.
            Err(after) => return Box::pin(self.watch_from_store(opts, after)).await,
        };
        Ok(WatchEventStream {
            pending,
            source: Source::Cache { rx, cacher: self.clone(), id },
            filter: opts.filter,
            prefix: opts.prefix,
            allow_bookmarks: opts.allow_bookmarks,
            bookmark_interval: opts.bookmark_interval,
            last_revision,
            ended: false,
        })
    }

    async fn watch_from_store(
        self: &Arc<Self>,
        opts: WatchOptions,
        after: Revision,
    ) -> Result<WatchEventStream, WatchStartError> {
        let watch = self
            .store
            .watch(WatchRequest { key: opts.prefix.clone(), prefix: true, start_revision: after + 1 })
            .await
            .map_err(|e| match e {
                StoreError::Compacted { requested, compact_revision } => {
                    WatchStartError::TooOld { requested: requested - 1, oldest: compact_revision }
                }
                other => WatchStartError::Store(other),
            })?;
        Ok(WatchEventStream {
            pending: VecDeque::new(),
            source: Source::Store { watch, cacher: self.clone() },
            filter: opts.filter,
            prefix: opts.prefix,
            allow_bookmarks: opts.allow_bookmarks,
            bookmark_interval: opts.bookmark_interval,
            last_revision: after,
            ended: false,
        })
    }
}

/// A filter restricted to a key prefix (the namespace of a namespaced watch).
fn prefix_filter(prefix: String, inner: Arc<dyn Filter>) -> Arc<dyn Filter> {
    struct Prefixed(String, Arc<dyn Filter>);
    impl Filter for Prefixed {
        fn matches(&self, obj: &CachedObject) -> bool {
            obj.key.starts_with(&self.0) && self.1.matches(obj)
        }
    }
    Arc::new(Prefixed(prefix, inner))
}

/// What a watcher with `filter` sees of an event: upstream's selector transitions.
fn transition(event: &CachedEvent, filter: &dyn Filter, prefix: &str) -> Option<WatchItem> {
    if !event.object.key.starts_with(prefix) {
        return None;
    }
    let cur = filter.matches(&event.object);
    let prev = event.prev.as_ref().is_some_and(|p| filter.matches(p));
    let event_type = match event.event_type {
        EventType::Added if cur => EventType::Added,
        EventType::Modified if cur && prev => EventType::Modified,
        EventType::Modified if cur => EventType::Added,
        // An object leaving the selection is deleted from the watcher's point of view, with its
        // last state before the change but the change's resourceVersion.
        EventType::Modified if prev => {
            let p = event.prev.as_ref()?;
            let restamped = CachedObject::from_stored(&p.key, &super::strip_rv(&p.json), event.revision, &[]);
            let object = Arc::new(CachedObject { labels: p.labels.clone(), fields: p.fields.clone(), ..restamped });
            return Some(WatchItem::Event { event_type: EventType::Deleted, object });
        }
        EventType::Deleted if cur || prev => EventType::Deleted,
        _ => return None,
    };
    Some(WatchItem::Event { event_type, object: event.object.clone() })
}

impl WatchEventStream {
    /// The next item, or None when the watch ended (the client should then resume from the
    /// last resourceVersion it saw).
    pub async fn next(&mut self) -> Option<WatchItem> {
        if let Some(item) = self.pending.pop_front() {
            self.note(&item);
            return Some(item);
        }
        if self.ended {
            return None;
        }
        loop {
            let item = match &mut self.source {
                Source::Cache { rx, cacher, .. } => {
                    let idle = tokio::time::sleep(self.bookmark_interval);
                    tokio::select! {
                        ev = rx.recv() => match ev {
                            Some(ev) => transition(&ev, self.filter.as_ref(), &self.prefix),
                            None => {
                                self.ended = true;
                                return None;
                            }
                        },
                        _ = idle, if self.allow_bookmarks => {
                            // Read the revision before checking the queue: every event up to it
                            // was queued before the revision moved, so an empty queue means
                            // they have all been sent.
                            let revision = cacher.revision();
                            if rx.is_empty() && revision > self.last_revision {
                                Some(WatchItem::Bookmark { revision, initial_events_end: false })
                            } else {
                                None
                            }
                        }
                    }
                }
                Source::Store { watch, cacher } => {
                    let resp = if self.allow_bookmarks {
                        match tokio::time::timeout(self.bookmark_interval, watch.next()).await {
                            Ok(r) => r,
                            Err(_) => {
                                watch.request_progress();
                                continue;
                            }
                        }
                    } else {
                        watch.next().await
                    };
                    match resp {
                        Some(Ok(resp)) => {
                            for e in resp.events {
                                let rev = e.kv.mod_revision;
                                let (event_type, stored, prev) = match e.kind {
                                    EventKind::Put if e.prev.is_some() => {
                                        (EventType::Modified, e.kv.value.clone(), e.prev)
                                    }
                                    EventKind::Put => (EventType::Added, e.kv.value.clone(), None),
                                    EventKind::Delete => {
                                        let Some(prev) = e.prev.clone() else { continue };
                                        (EventType::Deleted, prev.value.clone(), Some(prev))
                                    }
                                };
                                let labels = cacher.field_labels;
                                let object = Arc::new(CachedObject::from_stored(&e.kv.key, &stored, rev, labels));
                                let prev = prev.map(|p| {
                                    Arc::new(CachedObject::from_stored(&p.key, &p.value, p.mod_revision, labels))
                                });
                                let ev = CachedEvent { event_type, object, prev, revision: rev };
                                if let Some(item) = transition(&ev, self.filter.as_ref(), &self.prefix) {
                                    self.pending.push_back(item);
                                }
                            }
                            if resp.revision > self.last_revision && self.allow_bookmarks && self.pending.is_empty() {
                                Some(WatchItem::Bookmark { revision: resp.revision, initial_events_end: false })
                            } else {
                                self.pending.pop_front()
                            }
                        }
                        Some(Err(StoreError::Compacted { requested, compact_revision })) => {
                            self.ended = true;
                            Some(WatchItem::Expired {
                                message: format!("too old resource version: {} ({compact_revision})", requested - 1),
                            })
                        }
                        Some(Err(_)) | None => {
                            self.ended = true;
                            return None;
                        }
                    }
                }
            };
            if let Some(item) = item {
                self.note(&item);
                return Some(item);
            }
        }
    }

    fn note(&mut self, item: &WatchItem) {
        match item {
            WatchItem::Event { object, .. } => self.last_revision = self.last_revision.max(object.resource_version),
            WatchItem::Bookmark { revision, .. } => self.last_revision = self.last_revision.max(*revision),
            WatchItem::Expired { .. } => {}
        }
    }
}
