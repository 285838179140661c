//! Watch fan-out, fed in-process by the writer.
//!
//! After each durable commit the writer hands the batch's events to the [`Hub`], which passes one
//! shared `Arc` of the batch to every watcher whose range it touches. Each watcher has a bounded
//! queue: when it is full the watcher is dropped from the hub and its stream ends with
//! [`StoreError::WatchLagging`] once it has drained what was queued; nothing buffers without
//! bound. Copying events out of the shared batch happens on the consumer's side, so the writer's
//! cost per watcher is a range check and a queue push.
//!
//! A watch from a past revision registers with the hub first, noting the revision published at
//! that moment; it then replays history from the database up to that revision and continues with
//! the live queue, which holds exactly the events after it: no gap and no duplicate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use futures::stream;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::reader::Readers;
use super::schema::{log_id, range_end};
use crate::{Event, Revision, StoreError, Watch, WatchRequest, WatchResponse};

/// Events replayed from the database per read.
const REPLAY_CHUNK: usize = 512;

/// Queued batches merged into one response at most, so one response stays small.
const COALESCE: usize = 64;

/// The events of one commit (one or more write transactions), in revision order.
pub(crate) struct Batch {
    /// The store revision after the commit.
    pub(crate) revision: Revision,
    pub(crate) events: Vec<Event>,
}

enum Item {
    Batch(Arc<Batch>),
    Progress(Revision),
}

/// The keys a watch covers: `[start, end)`.
#[derive(Clone)]
struct KeyRange {
    start: Vec<u8>,
    end: Vec<u8>,
}

impl KeyRange {
    fn new(req: &WatchRequest) -> Self {
        if req.prefix {
            KeyRange { start: req.key.as_bytes().to_vec(), end: range_end(&req.key) }
        } else {
            let mut end = req.key.as_bytes().to_vec();
            end.push(0);
            KeyRange { start: req.key.as_bytes().to_vec(), end }
        }
    }

    fn contains(&self, key: &str) -> bool {
        let key = key.as_bytes();
        key >= self.start.as_slice() && key < self.end.as_slice()
    }
}

struct Subscriber {
    range: KeyRange,
    queue: mpsc::Sender<Item>,
    lagging: Arc<AtomicBool>,
}

struct HubState {
    /// Every event up to this revision has been handed to the subscribers.
    revision: Revision,
    next_id: u64,
    subscribers: HashMap<u64, Subscriber>,
}

pub(crate) struct Hub {
    state: Mutex<HubState>,
    queue_capacity: usize,
}

impl Hub {
    pub(crate) fn new(revision: Revision, queue_capacity: usize) -> Self {
        Hub {
            state: Mutex::new(HubState { revision, next_id: 0, subscribers: HashMap::new() }),
            queue_capacity: queue_capacity.max(1),
        }
    }

    /// The revision up to which every event has been published.
    pub(crate) fn revision(&self) -> Revision {
        self.state.lock().revision
    }

    /// Hands a committed batch to the watchers. Called by the writer after the commit is durable
    /// and before the writers' callers are answered.
    pub(crate) fn publish(&self, batch: Batch) {
        let mut state = self.state.lock();
        state.revision = batch.revision;
        if batch.events.is_empty() || state.subscribers.is_empty() {
            return;
        }
        let batch = Arc::new(batch);
        let mut ended = Vec::new();
        for (id, sub) in &state.subscribers {
            if !batch.events.iter().any(|e| sub.range.contains(&e.kv.key)) {
                continue;
            }
            match sub.queue.try_send(Item::Batch(batch.clone())) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sub.lagging.store(true, Ordering::Release);
                    ended.push(*id);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => ended.push(*id),
            }
        }
        for id in ended {
            // Dropping the sender lets the stream drain its queue and then end.
            state.subscribers.remove(&id);
        }
    }

    fn subscribe(&self, range: KeyRange) -> (u64, mpsc::Receiver<Item>, Revision, Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let lagging = Arc::new(AtomicBool::new(false));
        let mut state = self.state.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.subscribers.insert(id, Subscriber { range, queue: tx, lagging: lagging.clone() });
        (id, rx, state.revision, lagging)
    }

    fn unsubscribe(&self, id: u64) {
        self.state.lock().subscribers.remove(&id);
    }

    /// Queues a progress notification behind whatever is queued for the watcher.
    fn progress(&self, id: u64) {
        let state = self.state.lock();
        if let Some(sub) = state.subscribers.get(&id) {
            // A full queue means the watcher is about to lag out; the notification is moot.
            let _ = sub.queue.try_send(Item::Progress(state.revision));
        }
    }
}

/// Removes the watcher from the hub when its stream is dropped.
struct Registration {
    hub: Weak<Hub>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.unsubscribe(self.id);
        }
    }
}

/// History still to be read from the database: log ids `[next, end)`.
struct Replay {
    next: i64,
    end: i64,
}

struct WatchState {
    readers: Arc<Readers>,
    range: KeyRange,
    start_revision: Revision,
    replay: Option<Replay>,
    /// The revision the watcher registered at: live events are those after it.
    registered_at: Revision,
    queue: mpsc::Receiver<Item>,
    lagging: Arc<AtomicBool>,
    pending_progress: Option<Revision>,
    done: bool,
    _registration: Registration,
}

impl WatchState {
    async fn next(&mut self) -> Option<Result<WatchResponse, StoreError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(replay) = &mut self.replay {
                let bounds = (self.range.start.as_slice(), self.range.end.as_slice());
                let read = self.readers.events(replay.next, replay.end, bounds, REPLAY_CHUNK, self.start_revision);
                match read {
                    Err(err) => {
                        self.done = true;
                        return Some(Err(err));
                    }
                    Ok((events, next)) => {
                        let revision = match next {
                            Some(next) => {
                                replay.next = next;
                                events.last().map_or(self.registered_at, |e| e.kv.mod_revision)
                            }
                            None => {
                                self.replay = None;
                                self.registered_at
                            }
                        };
                        if !events.is_empty() {
                            return Some(Ok(WatchResponse { revision, events }));
                        }
                        continue;
                    }
                }
            }
            if let Some(revision) = self.pending_progress.take() {
                return Some(Ok(WatchResponse { revision, events: Vec::new() }));
            }
            let Some(first) = self.queue.recv().await else {
                self.done = true;
                if self.lagging.load(Ordering::Acquire) {
                    return Some(Err(StoreError::WatchLagging));
                }
                return None;
            };
            let mut events = Vec::new();
            let mut revision = 0;
            let mut item = Some(first);
            let mut merged = 0;
            while let Some(current) = item.take() {
                match current {
                    Item::Progress(rev) => {
                        if events.is_empty() {
                            return Some(Ok(WatchResponse { revision: rev, events }));
                        }
                        self.pending_progress = Some(rev);
                        break;
                    }
                    Item::Batch(batch) => {
                        revision = batch.revision;
                        events.extend(
                            batch
                                .events
                                .iter()
                                .filter(|e| {
                                    e.kv.mod_revision > self.registered_at
                                        && e.kv.mod_revision >= self.start_revision
                                        && self.range.contains(&e.kv.key)
                                })
                                .cloned(),
                        );
                    }
                }
                merged += 1;
                if merged < COALESCE {
                    item = self.queue.try_recv().ok();
                }
            }
            if !events.is_empty() {
                return Some(Ok(WatchResponse { revision, events }));
            }
        }
    }
}

/// Starts a watch: registers it with the hub, then replays history from the database if it
/// starts in the past.
pub(crate) fn watch(hub: &Arc<Hub>, readers: Arc<Readers>, req: &WatchRequest) -> Watch {
    let range = KeyRange::new(req);
    let (id, queue, registered_at, lagging) = hub.subscribe(range.clone());
    let start_revision = if req.start_revision <= 0 { registered_at + 1 } else { req.start_revision };
    let replay = (start_revision <= registered_at)
        .then(|| Replay { next: log_id(start_revision, 0), end: log_id(registered_at + 1, 0) });
    let state = WatchState {
        readers,
        range,
        start_revision,
        replay,
        registered_at,
        queue,
        lagging,
        pending_progress: None,
        done: false,
        _registration: Registration { hub: Arc::downgrade(hub), id },
    };
    let events = stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    });
    let weak = Arc::downgrade(hub);
    Watch::new(
        Box::pin(events),
        Box::new(move || {
            if let Some(hub) = weak.upgrade() {
                hub.progress(id);
            }
        }),
    )
}
