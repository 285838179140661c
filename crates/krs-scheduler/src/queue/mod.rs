//! The scheduling queue (`PriorityQueue`): activeQ (pods ready to be scheduled, ordered by the
//! QueueSort plugin), backoffQ (pods that failed, waiting out an exponential backoff), and the
//! unschedulable pods (rejected, waiting for a cluster event that may help, or gated by a
//! PreEnqueue plugin). PreEnqueue runs for every pod about to enter activeQ: new pods, pods
//! moved by events, and pods whose backoff completed.

mod heap;
mod nominator;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::framework::events::{ClusterEvent, UNSCHEDULABLE_TIMEOUT};
use crate::framework::interface::{Plugin, QueueSortPlugin};
use crate::framework::types::PodInfo;
use crate::metrics::Metrics;
use heap::Heap;
pub use nominator::Nominator;

/// The queue's maps by pod key are hashed with foldhash (seeded per process) rather than
/// SipHash: every pod event and every cycle looks keys up in them.
type Fast = foldhash::fast::RandomState;

/// How long a pod stays unschedulable before the periodic flush retries it
/// (`podMaxInUnschedulablePodsDuration`).
pub const POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION: Duration = Duration::from_secs(5 * 60);

/// A pod in the queue with its scheduling history (`QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    pub pod_info: Arc<PodInfo>,
    /// When the pod was added to the queue, or last re-queued (the QueueSort tie-break).
    pub timestamp: Instant,
    /// When the first scheduling attempt started (e2e latency).
    pub initial_attempt_timestamp: Option<Instant>,
    pub attempts: u32,
    /// Plugins that rejected the pod in its last attempt.
    pub unschedulable_plugins: HashSet<&'static str>,
    /// Plugins that returned Pending in its last attempt.
    pub pending_plugins: HashSet<&'static str>,
    /// Rejected by a PreEnqueue plugin: it never enters a scheduling cycle.
    pub gated: bool,
    /// When the current backoff ends.
    backoff_expiration: Instant,
}

impl QueuedPodInfo {
    pub fn new(pod_info: Arc<PodInfo>, now: Instant) -> QueuedPodInfo {
        QueuedPodInfo {
            pod_info,
            timestamp: now,
            initial_attempt_timestamp: None,
            attempts: 0,
            unschedulable_plugins: HashSet::new(),
            pending_plugins: HashSet::new(),
            gated: false,
            backoff_expiration: now,
        }
    }

    pub fn key(&self) -> &str {
        &self.pod_info.key
    }
}

/// Where a pod is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueName {
    Active,
    Backoff,
    Unschedulable,
    Gated,
}

/// What happened to a pod while it was being scheduled.
enum InFlight {
    Unchanged,
    Updated(Arc<PodInfo>),
    Deleted,
}

struct Inner {
    active: Heap,
    backoff: Heap,
    /// Rejected by a plugin in their last attempt, waiting for an event that may help.
    unschedulable: HashMap<String, QueuedPodInfo, Fast>,
    /// Rejected by a PreEnqueue plugin; kept apart so that the events that concern only
    /// rejected pods (every assigned pod added or deleted) never walk the gated ones.
    gated: HashMap<String, QueuedPodInfo, Fast>,
    /// Pods popped and not yet done: the event sequence number when they were popped, and
    /// what happened to them meanwhile.
    in_flight: HashMap<String, (u64, InFlight), Fast>,
    /// How many in-flight pods were popped at each sequence number: the oldest is the first
    /// key, found without walking `in_flight` every time a pod is done.
    in_flight_seqs: BTreeMap<u64, usize>,
    scheduling_cycle: u64,
    /// Cluster events received while pods were in flight (`inFlightEvents`): a pod that fails
    /// goes to backoffQ, not to the unschedulable pods, if one of them may have helped it.
    events: VecDeque<(u64, ClusterEvent)>,
    event_seq: u64,
    closed: bool,
}

/// Everything the queue needs from the profiles.
pub struct QueueConfig {
    pub less: Arc<dyn Plugin>,
    /// PreEnqueue plugins by scheduler name.
    pub pre_enqueue: HashMap<String, Vec<Arc<dyn Plugin>>>,
    /// Each plugin's registered events.
    pub events: HashMap<&'static str, Vec<ClusterEvent>>,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub nominator: Arc<Nominator>,
}

pub struct SchedulingQueue {
    inner: Mutex<Inner>,
    cond: Condvar,
    config: QueueConfig,
    metrics: Arc<Metrics>,
}

fn backoff_less(a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
    a.backoff_expiration < b.backoff_expiration
}

impl SchedulingQueue {
    pub fn new(config: QueueConfig, metrics: Arc<Metrics>) -> SchedulingQueue {
        let sort = config.less.clone();
        let less: heap::Less =
            Box::new(move |a, b| sort.as_queue_sort().is_some_and(|s: &dyn QueueSortPlugin| s.less(a, b)));
        SchedulingQueue {
            inner: Mutex::new(Inner {
                active: Heap::new(less),
                backoff: Heap::new(Box::new(backoff_less)),
                unschedulable: HashMap::default(),
                gated: HashMap::default(),
                in_flight: HashMap::default(),
                in_flight_seqs: BTreeMap::new(),
                scheduling_cycle: 0,
                events: VecDeque::new(),
                event_seq: 0,
                closed: false,
            }),
            cond: Condvar::new(),
            config,
            metrics,
        }
    }

    /// Runs the profile's PreEnqueue plugins; the first rejecting plugin gates the pod.
    fn run_pre_enqueue(&self, qpi: &mut QueuedPodInfo) -> bool {
        let plugins = self.config.pre_enqueue.get(qpi.pod_info.scheduler_name());
        for p in plugins.into_iter().flatten() {
            let Some(pe) = p.as_pre_enqueue() else { continue };
            let status = pe.pre_enqueue(&qpi.pod_info);
            if !status.is_success() {
                qpi.gated = true;
                qpi.unschedulable_plugins = HashSet::from([p.name()]);
                qpi.pending_plugins.clear();
                return false;
            }
        }
        qpi.gated = false;
        true
    }

    /// Moves a pod to activeQ if PreEnqueue admits it, else to the unschedulable (gated) pods.
    fn move_to_active(&self, inner: &mut Inner, mut qpi: QueuedPodInfo, event: &str) -> QueueName {
        if !self.run_pre_enqueue(&mut qpi) {
            inner.gated.insert(qpi.key().to_string(), qpi);
            return QueueName::Gated;
        }
        inner.active.push(qpi);
        self.metrics.queue_incoming("active", event);
        self.cond.notify_one();
        QueueName::Active
    }

    fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.config.initial_backoff;
        for _ in 1..attempts {
            d *= 2;
            if d > self.config.max_backoff {
                return self.config.max_backoff;
            }
        }
        d.min(self.config.max_backoff)
    }

    fn is_backing_off(&self, qpi: &QueuedPodInfo, now: Instant) -> bool {
        qpi.attempts > 0 && qpi.timestamp + self.backoff_duration(qpi.attempts) > now
    }

    /// A new unscheduled pod (`Add`).
    pub fn add(&self, pod: Arc<PodInfo>) -> QueueName {
        let mut inner = self.inner.lock();
        let key = pod.key.clone();
        if inner.is_queued(&key) {
            drop(inner);
            return self.update(pod);
        }
        if let Some((_, slot)) = inner.in_flight.get_mut(&key) {
            *slot = InFlight::Updated(pod);
            return QueueName::Active;
        }
        let q = self.move_to_active(&mut inner, QueuedPodInfo::new(pod, Instant::now()), "PodAdd");
        self.update_gauges(&inner);
        q
    }

    /// An unscheduled pod changed (`Update`): updated in place, or moved out of the unschedulable
    /// pods when the change may make it schedulable (gates removed, spec changed).
    pub fn update(&self, pod: Arc<PodInfo>) -> QueueName {
        let mut inner = self.inner.lock();
        let key = pod.key.clone();
        if let Some((_, slot)) = inner.in_flight.get_mut(&key) {
            *slot = InFlight::Updated(pod);
            return QueueName::Active;
        }
        if let Some(mut qpi) = inner.active.get(&key).cloned() {
            qpi.pod_info = pod;
            inner.active.push(qpi);
            return QueueName::Active;
        }
        if let Some(mut qpi) = inner.backoff.get(&key).cloned() {
            qpi.pod_info = pod;
            inner.backoff.push(qpi);
            return QueueName::Backoff;
        }
        let q = if let Some(mut qpi) = inner.unschedulable.remove(&key).or_else(|| inner.gated.remove(&key)) {
            let changed = pod_spec_changed(&qpi.pod_info, &pod);
            qpi.pod_info = pod;
            if !changed {
                let gated = qpi.gated;
                if gated {
                    inner.gated.insert(key, qpi);
                    QueueName::Gated
                } else {
                    inner.unschedulable.insert(key, qpi);
                    QueueName::Unschedulable
                }
            } else if qpi.gated || !self.is_backing_off(&qpi, Instant::now()) {
                self.move_to_active(&mut inner, qpi, "PodUpdate")
            } else {
                inner.backoff.push(qpi);
                QueueName::Backoff
            }
        } else {
            self.move_to_active(&mut inner, QueuedPodInfo::new(pod, Instant::now()), "PodUpdate")
        };
        self.update_gauges(&inner);
        q
    }

    /// The pod was deleted or bound by someone else (`Delete`).
    pub fn delete(&self, key: &str) {
        let mut inner = self.inner.lock();
        inner.active.delete(key);
        inner.backoff.delete(key);
        inner.unschedulable.remove(key);
        inner.gated.remove(key);
        if let Some((_, slot)) = inner.in_flight.get_mut(key) {
            *slot = InFlight::Deleted;
        }
        self.config.nominator.delete(key);
        self.update_gauges(&inner);
    }

    /// Blocks until a pod is in activeQ (or the queue is closed, then `None`) (`Pop`).
    pub fn pop(&self) -> Option<QueuedPodInfo> {
        let mut inner = self.inner.lock();
        loop {
            if inner.closed {
                return None;
            }
            if let Some(mut qpi) = inner.active.pop() {
                inner.scheduling_cycle += 1;
                qpi.attempts += 1;
                let now = Instant::now();
                qpi.initial_attempt_timestamp.get_or_insert(now);
                inner.begin_flight(qpi.key());
                self.update_gauges(&inner);
                return Some(qpi);
            }
            self.cond.wait_for(&mut inner, Duration::from_millis(500));
        }
    }

    /// Like `pop`, without blocking.
    pub fn try_pop(&self) -> Option<QueuedPodInfo> {
        let mut inner = self.inner.lock();
        let mut qpi = inner.active.pop()?;
        inner.scheduling_cycle += 1;
        qpi.attempts += 1;
        qpi.initial_attempt_timestamp.get_or_insert(Instant::now());
        inner.begin_flight(qpi.key());
        Some(qpi)
    }

    pub fn scheduling_cycle(&self) -> u64 {
        self.inner.lock().scheduling_cycle
    }

    /// The scheduling of a popped pod is over (bound, or re-queued) (`Done`).
    pub fn done(&self, key: &str) {
        let mut inner = self.inner.lock();
        inner.end_flight(key);
        prune_events(&mut inner);
    }

    /// Re-queues a pod whose attempt failed (`AddUnschedulableIfNotPresent`): to backoffQ if it
    /// failed with an error, or if a cluster event arrived while it was being scheduled;
    /// otherwise to the unschedulable pods until an event its rejecting plugins care about.
    /// A pod deleted meanwhile is dropped; an update received meanwhile replaces the pod.
    pub fn add_unschedulable(&self, mut qpi: QueuedPodInfo) {
        let mut inner = self.inner.lock();
        let key = qpi.key().to_string();
        let entry = inner.end_flight(&key);
        let since = entry.as_ref().map_or(u64::MAX, |(seq, _)| *seq);
        match entry.map(|(_, f)| f) {
            // Deleted (or bound elsewhere) while in flight: nothing to retry.
            Some(InFlight::Deleted) => {
                prune_events(&mut inner);
                return;
            }
            Some(InFlight::Updated(updated)) => qpi.pod_info = updated,
            _ => {}
        }
        let missed_event = inner.events.iter().any(|(seq, e)| *seq >= since && self.worth_requeuing(&qpi, e));
        prune_events(&mut inner);
        if inner.is_queued(&key) {
            return;
        }
        let now = Instant::now();
        qpi.timestamp = now;
        qpi.backoff_expiration = now + self.backoff_duration(qpi.attempts);
        let rejected = !qpi.unschedulable_plugins.is_empty() || !qpi.pending_plugins.is_empty();
        if !rejected || missed_event {
            inner.backoff.push(qpi);
            self.metrics.queue_incoming("backoff", "ScheduleAttemptFailure");
        } else {
            inner.unschedulable.insert(key, qpi);
            self.metrics.queue_incoming("unschedulable", "ScheduleAttemptFailure");
        }
        self.update_gauges(&inner);
    }

    /// Whether the pod was deleted (or bound elsewhere) while being scheduled.
    pub fn is_deleted_in_flight(&self, key: &str) -> bool {
        matches!(self.inner.lock().in_flight.get(key), Some((_, InFlight::Deleted)))
    }

    /// Moves pods whose backoff ended to activeQ through PreEnqueue (`flushBackoffQCompleted`).
    pub fn flush_backoff_completed(&self) {
        let mut inner = self.inner.lock();
        let now = Instant::now();
        let mut moved = false;
        while let Some(top) = inner.backoff.peek() {
            if top.backoff_expiration > now {
                break;
            }
            let Some(qpi) = inner.backoff.pop() else { break };
            self.move_to_active(&mut inner, qpi, "BackoffComplete");
            moved = true;
        }
        if moved {
            self.update_gauges(&inner);
        }
    }

    /// Retries pods unschedulable for longer than `POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION`
    /// (`flushUnschedulablePodsLeftover`).
    pub fn flush_unschedulable_leftover(&self) {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let keys: Vec<String> = inner
            .unschedulable
            .values()
            .filter(|q| now.duration_since(q.timestamp) > POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION)
            .map(|q| q.key().to_string())
            .collect();
        self.move_pods(&mut inner, keys, &UNSCHEDULABLE_TIMEOUT);
    }

    /// A cluster event: moves the unschedulable pods that one of their rejecting plugins
    /// registered for (`MoveAllToActiveOrBackoffQueue`). `pre_check` filters candidates further.
    pub fn move_all_to_active_or_backoff(&self, event: &ClusterEvent, pre_check: Option<&dyn Fn(&PodInfo) -> bool>) {
        let mut inner = self.inner.lock();
        if !inner.in_flight.is_empty() {
            let seq = inner.event_seq;
            inner.event_seq += 1;
            inner.events.push_back((seq, *event));
        }
        if inner.unschedulable.is_empty() && inner.gated.is_empty() {
            return;
        }
        // The plugins that registered for this event, found once rather than per pod.
        let interested: HashSet<&'static str> = self
            .config
            .events
            .iter()
            .filter(|(_, evs)| evs.iter().any(|e| e.matches(event)))
            .map(|(p, _)| *p)
            .collect();
        let worth = |q: &QueuedPodInfo| {
            wanted_by(q, event, |p| interested.contains(p)) && pre_check.is_none_or(|f| f(&q.pod_info))
        };
        let mut keys: Vec<String> =
            inner.unschedulable.values().filter(|q| worth(q)).map(|q| q.key().to_string()).collect();
        // Gated pods come back only for an event one of the PreEnqueue plugins registered.
        let gating_interested = self.config.pre_enqueue.values().flatten().any(|p| interested.contains(p.name()));
        if gating_interested {
            keys.extend(inner.gated.values().filter(|q| worth(q)).map(|q| q.key().to_string()));
        }
        self.move_pods(&mut inner, keys, event);
    }

    fn worth_requeuing(&self, qpi: &QueuedPodInfo, event: &ClusterEvent) -> bool {
        wanted_by(qpi, event, |p| self.config.events.get(p).is_some_and(|evs| evs.iter().any(|e| e.matches(event))))
    }

    fn move_pods(&self, inner: &mut Inner, keys: Vec<String>, event: &ClusterEvent) {
        if keys.is_empty() {
            return;
        }
        let label = event.label();
        let now = Instant::now();
        for key in keys {
            let Some(qpi) = inner.unschedulable.remove(&key).or_else(|| inner.gated.remove(&key)) else { continue };
            if !qpi.gated && self.is_backing_off(&qpi, now) {
                inner.backoff.push(qpi);
                self.metrics.queue_incoming("backoff", &label);
            } else {
                self.move_to_active(inner, qpi, &label);
            }
        }
        self.update_gauges(inner);
    }

    /// Where a pod is, if queued.
    pub fn queue_of(&self, key: &str) -> Option<QueueName> {
        let inner = self.inner.lock();
        if inner.active.contains(key) {
            Some(QueueName::Active)
        } else if inner.backoff.contains(key) {
            Some(QueueName::Backoff)
        } else {
            inner
                .unschedulable
                .get(key)
                .map(|_| QueueName::Unschedulable)
                .or_else(|| inner.gated.get(key).map(|_| QueueName::Gated))
        }
    }

    /// Number of pods in activeQ, backoffQ, unschedulable and gated.
    pub fn lengths(&self) -> (usize, usize, usize, usize) {
        let inner = self.inner.lock();
        (inner.active.len(), inner.backoff.len(), inner.unschedulable.len(), inner.gated.len())
    }

    fn update_gauges(&self, inner: &Inner) {
        self.metrics.set_pending(inner.active.len(), inner.backoff.len(), inner.unschedulable.len(), inner.gated.len());
    }

    /// Wakes `pop` callers and makes them return `None`.
    pub fn close(&self) {
        self.inner.lock().closed = true;
        self.cond.notify_all();
    }
}

impl Inner {
    fn is_queued(&self, key: &str) -> bool {
        self.active.contains(key)
            || self.backoff.contains(key)
            || self.unschedulable.contains_key(key)
            || self.gated.contains_key(key)
    }
}

/// Whether `event` may help the pod (`isPodWorthRequeuing`): a gated pod never comes back on the
/// periodic flush; a pod rejected without a plugin name comes back on any event (unless gated);
/// otherwise one of the plugins that rejected it must be `registered` for the event.
fn wanted_by(qpi: &QueuedPodInfo, event: &ClusterEvent, registered: impl Fn(&str) -> bool) -> bool {
    if *event == UNSCHEDULABLE_TIMEOUT && !qpi.gated {
        return true;
    }
    if qpi.unschedulable_plugins.is_empty() && qpi.pending_plugins.is_empty() {
        return !qpi.gated;
    }
    qpi.unschedulable_plugins.iter().chain(qpi.pending_plugins.iter()).any(|p| registered(p))
}

impl Inner {
    /// A popped pod's scheduling starts, at the current event sequence number.
    fn begin_flight(&mut self, key: &str) {
        let seq = self.event_seq;
        if let Some((old, _)) = self.in_flight.insert(key.to_string(), (seq, InFlight::Unchanged)) {
            self.forget_seq(old);
        }
        *self.in_flight_seqs.entry(seq).or_default() += 1;
    }

    /// A pod's scheduling is over: what happened to it while in flight.
    fn end_flight(&mut self, key: &str) -> Option<(u64, InFlight)> {
        let entry = self.in_flight.remove(key)?;
        self.forget_seq(entry.0);
        Some(entry)
    }

    fn forget_seq(&mut self, seq: u64) {
        if let Some(n) = self.in_flight_seqs.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                self.in_flight_seqs.remove(&seq);
            }
        }
    }
}

/// Drops the events no in-flight pod started before.
fn prune_events(inner: &mut Inner) {
    let oldest = inner.in_flight_seqs.keys().next().copied();
    match oldest {
        None => inner.events.clear(),
        Some(o) => {
            while inner.events.front().is_some_and(|(seq, _)| *seq < o) {
                inner.events.pop_front();
            }
        }
    }
}

/// Whether an update may change the scheduling outcome (`isPodUpdated`): anything but the
/// status and the bookkeeping metadata.
fn pod_spec_changed(old: &PodInfo, new: &PodInfo) -> bool {
    old.pod.spec != new.pod.spec
        || old.pod.metadata.labels != new.pod.metadata.labels
        || old.pod.metadata.annotations != new.pod.metadata.annotations
}

#[cfg(test)]
mod tests;
