//! krs-events: events, written as events.k8s.io/v1 Events. Each component records with its own
//! reportingController (upstream's names, e.g. `deployment-controller`, `kubelet`), writes
//! happen in the background, and events are correlated as client-go's recorder does:
//! - a repeated event within six minutes patches the first one's series instead of creating
//!   another object;
//! - similar events (same controller, object, type and reason, different notes) are merged
//!   from the tenth distinct note within ten minutes on: one event, its note prefixed
//!   "(combined from similar events): ", counts the rest;
//! - per controller, object, type and reason, a burst of 25 writes is allowed, then one per
//!   five minutes; the rest are dropped (client-go's spam filter).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use parking_lot::Mutex;
use tokio::sync::mpsc;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// How long a repeated event extends the first one's series.
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// How often expired series are forgotten.
const SERIES_SWEEP: Duration = Duration::from_secs(30);
/// Events waiting to be written; past this, new events are dropped (the API server is slow,
/// and events are best effort upstream too).
const BACKLOG: usize = 4096;
/// Events written at once.
const WRITERS: usize = 8;
/// Distinct notes of similar events after which they are merged (client-go's maxEvents).
const AGGREGATE_MAX: usize = 10;
/// Similar events further apart than this start counting afresh (maxIntervalInSeconds).
const AGGREGATE_WINDOW: Duration = Duration::from_secs(600);
/// The spam filter's token bucket: burst, and one token per interval.
const SPAM_BURST: f64 = 25.0;
const SPAM_REFILL: Duration = Duration::from_secs(300);
/// Keys remembered by the correlator before the oldest are forgotten (client-go's LRU size).
const CORRELATOR_KEYS: usize = 4096;
/// The prefix of a merged event's note.
const COMBINED: &str = "(combined from similar events): ";

struct Pending {
    controller: Arc<str>,
    regarding: ObjectReference,
    related: Option<ObjectReference>,
    type_: &'static str,
    reason: String,
    action: String,
    note: String,
}

/// The process's event writer; hands out one recorder per controller.
#[derive(Clone)]
pub struct EventBroadcaster {
    tx: mpsc::Sender<Pending>,
    instance_suffix: Arc<str>,
}

impl EventBroadcaster {
    /// Starts the writer task; it ends when every recorder is dropped.
    pub fn start(client: Client, host: &str) -> EventBroadcaster {
        let (tx, rx) = mpsc::channel::<Pending>(BACKLOG);
        let series: Arc<Mutex<SeriesMap>> = Arc::default();
        let correlator: Arc<Mutex<Correlator>> = Arc::default();
        let host: Arc<str> = host.into();
        let instance_suffix = host.clone();
        tokio::spawn(async move {
            tokio_stream_of(rx)
                .for_each_concurrent(WRITERS, |p| {
                    let client = client.clone();
                    let series = series.clone();
                    let host = host.clone();
                    let verdict = correlator.lock().observe(&p, Instant::now());
                    async move {
                        if let Some((key, note)) = verdict {
                            write(&client, &series, &host, p, key, note).await
                        }
                    }
                })
                .await;
        });
        EventBroadcaster { tx, instance_suffix }
    }

    pub fn recorder(&self, controller: &str) -> EventRecorder {
        EventRecorder { tx: self.tx.clone(), controller: controller.into(), _host: self.instance_suffix.clone() }
    }
}

fn tokio_stream_of<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// What client-go's EventCorrelator remembers: similar events' distinct notes, and the spam
/// filter's buckets.
#[derive(Default)]
struct Correlator {
    similar: HashMap<String, Similar>,
    spam: HashMap<String, Bucket>,
}

struct Similar {
    notes: std::collections::HashSet<String>,
    last: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Correlator {
    /// Decides what becomes of `p`: dropped by the spam filter (None), or written under a
    /// series key with its note (merged with similar events' once there are enough of them).
    fn observe(&mut self, p: &Pending, now: Instant) -> Option<(String, String)> {
        let object = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            p.controller,
            p.regarding.kind.as_deref().unwrap_or_default(),
            p.regarding.namespace.as_deref().unwrap_or_default(),
            p.regarding.name.as_deref().unwrap_or_default(),
            p.regarding.uid.as_deref().unwrap_or_default(),
        );
        let similar_key = format!("{object}\u{0}{}\u{0}{}", p.type_, p.reason);
        bound(&mut self.similar, |s| s.last, |s| now.duration_since(s.last) >= AGGREGATE_WINDOW);
        let similar =
            self.similar.entry(similar_key.clone()).or_insert_with(|| Similar { notes: Default::default(), last: now });
        if now.duration_since(similar.last) > AGGREGATE_WINDOW {
            similar.notes.clear();
        }
        similar.last = now;
        similar.notes.insert(p.note.clone());
        let combined = similar.notes.len() >= AGGREGATE_MAX;
        if combined {
            // The set stays one short of the threshold, so every further distinct note is
            // merged too, while a repeat of a remembered note is still its own series.
            if let Some(any) = similar.notes.iter().next().cloned() {
                similar.notes.remove(&any);
            }
        }
        let (key, note) = if combined {
            (format!("{similar_key}\u{0}combined"), format!("{COMBINED}{}", p.note))
        } else {
            (format!("{similar_key}\u{0}{}", p.note), p.note.clone())
        };
        bound(&mut self.spam, |b| b.at, |b| now.duration_since(b.at) >= SPAM_REFILL.mul_f64(SPAM_BURST));
        let bucket = self.spam.entry(similar_key).or_insert(Bucket { tokens: SPAM_BURST, at: now });
        let refill = now.duration_since(bucket.at).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(SPAM_BURST);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return None;
        }
        bucket.tokens -= 1.0;
        Some((key, note))
    }
}

/// Keeps a correlator map under [`CORRELATOR_KEYS`] as client-go's LRU caches are kept: when
/// full, what has expired goes, and if that is not a quarter of it, the least recently seen
/// entries go too. Pruning runs once per many new keys, not on every event.
fn bound<V>(map: &mut HashMap<String, V>, seen: impl Fn(&V) -> Instant, expired: impl Fn(&V) -> bool) {
    if map.len() < CORRELATOR_KEYS {
        return;
    }
    map.retain(|_, v| !expired(v));
    let keep = CORRELATOR_KEYS * 3 / 4;
    if map.len() > keep {
        let mut times: Vec<Instant> = map.values().map(&seen).collect();
        let (_, cut, _) = times.select_nth_unstable(map.len() - keep);
        let cut = *cut;
        map.retain(|_, v| seen(v) >= cut);
    }
}

struct Series {
    namespace: String,
    name: String,
    count: i32,
    last: Instant,
}

/// The open series by key. Expired ones are swept now and then, not on every event: with one
/// series per object, sweeping per event costs the number of objects each time.
#[derive(Default)]
struct SeriesMap {
    map: HashMap<String, Series>,
    swept: Option<Instant>,
}

impl SeriesMap {
    /// Counts a repeat of `key` when its series is open: its namespace, name and new count.
    fn repeat(&mut self, key: &str, now: Instant) -> Option<(String, String, i32)> {
        if self.swept.is_none_or(|t| now.duration_since(t) >= SERIES_SWEEP) {
            self.map.retain(|_, s| now.duration_since(s.last) < SERIES_WINDOW);
            self.swept = Some(now);
        }
        let s = self.map.get_mut(key).filter(|s| now.duration_since(s.last) < SERIES_WINDOW)?;
        s.count += 1;
        s.last = now;
        Some((s.namespace.clone(), s.name.clone(), s.count))
    }
}

/// Records events for one controller.
#[derive(Clone)]
pub struct EventRecorder {
    tx: mpsc::Sender<Pending>,
    controller: Arc<str>,
    _host: Arc<str>,
}

impl EventRecorder {
    /// Records an event about `obj`. `action` is what the controller did (events.k8s.io/v1
    /// requires one); upstream's legacy-recorder controllers use the reason for it.
    pub fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: &'static str,
        reason: &str,
        note: impl Into<String>,
    ) {
        self.event_ref(object_reference(obj), None, type_, reason, reason, note);
    }

    pub fn event_ref(
        &self,
        regarding: ObjectReference,
        related: Option<ObjectReference>,
        type_: &'static str,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) {
        let pending = Pending {
            controller: self.controller.clone(),
            regarding,
            related,
            type_,
            reason: reason.to_string(),
            action: action.to_string(),
            note: note.into(),
        };
        if self.tx.try_send(pending).is_err() {
            tracing::debug!(controller = %self.controller, "event backlog full; event dropped");
        }
    }
}

/// A reference to `obj` for an event's `regarding`.
pub fn object_reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    let meta = obj.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

async fn write(client: &Client, series: &Mutex<SeriesMap>, host: &str, p: Pending, key: String, note: String) {
    let namespace = match p.regarding.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns.to_string(),
        _ => "default".to_string(),
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let now = Timestamp::now();
    let repeat = series.lock().repeat(&key, Instant::now());
    if let Some((ns, name, count)) = repeat {
        let api: Api<Event> = Api::namespaced(client.clone(), &ns);
        let mut patch = serde_json::json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
        // A merged event shows the newest of the notes it counts.
        if note.starts_with(COMBINED) {
            patch["note"] = serde_json::Value::String(truncate_note(note.clone()));
        }
        match api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => return,
            // The first event expired or was deleted: record this one afresh.
            Err(e) => tracing::debug!(error = %e, "event series update failed"),
        }
    }
    let regarding_name = p.regarding.name.clone().unwrap_or_default();
    let name = format!("{regarding_name}.{:x}", now.as_nanosecond());
    let event = Event {
        metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.clone()), ..Default::default() },
        event_time: Some(MicroTime(now)),
        action: Some(p.action),
        reason: Some(p.reason),
        note: Some(truncate_note(note)),
        type_: Some(p.type_.to_string()),
        regarding: Some(p.regarding),
        related: p.related,
        reporting_controller: Some(p.controller.to_string()),
        reporting_instance: Some(format!("{}-{host}", p.controller)),
        series: None::<EventSeries>,
        ..Default::default()
    };
    match api.create(&PostParams::default(), &event).await {
        Ok(_) => {
            series.lock().map.insert(key, Series { namespace, name, count: 1, last: Instant::now() });
        }
        Err(e) => tracing::debug!(error = %e, "cannot record event"),
    }
}

/// events.k8s.io/v1 caps notes at 1 kB.
fn truncate_note(mut note: String) -> String {
    const MAX: usize = 1024;
    if note.len() > MAX {
        let mut cut = MAX;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(name: &str, reason: &str, note: &str) -> Pending {
        Pending {
            controller: "replicaset-controller".into(),
            regarding: ObjectReference {
                kind: Some("ReplicaSet".into()),
                namespace: Some("default".into()),
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            related: None,
            type_: NORMAL,
            reason: reason.into(),
            action: reason.into(),
            note: note.into(),
        }
    }

    #[test]
    fn identical_events_share_a_series_key() {
        let mut c = Correlator::default();
        let now = Instant::now();
        let a = c.observe(&pending("web", "SuccessfulCreate", "Created pod: a"), now);
        let b = c.observe(&pending("web", "SuccessfulCreate", "Created pod: a"), now);
        assert_eq!(a, b);
        let other = c.observe(&pending("db", "SuccessfulCreate", "Created pod: a"), now);
        assert_ne!(a, other, "another object's event is its own series");
    }

    #[test]
    fn the_tenth_distinct_note_is_combined_with_the_rest() {
        let mut c = Correlator::default();
        let now = Instant::now();
        let mut verdicts = Vec::new();
        for i in 0..12 {
            verdicts.push(c.observe(&pending("web", "SuccessfulCreate", &format!("Created pod: p{i}")), now));
        }
        for v in &verdicts[..9] {
            let (_, note) = v.clone().expect("written");
            assert!(!note.starts_with(COMBINED), "{note}");
        }
        let (key9, note9) = verdicts[9].clone().expect("written");
        assert_eq!(note9, "(combined from similar events): Created pod: p9");
        let (key11, note11) = verdicts[11].clone().expect("written");
        assert_eq!(key9, key11, "merged events update one series");
        assert_eq!(note11, "(combined from similar events): Created pod: p11");
        // Another reason is not similar.
        let (_, note) = c.observe(&pending("web", "SuccessfulDelete", "Deleted pod: p0"), now).expect("written");
        assert_eq!(note, "Deleted pod: p0");
        // Ten minutes later the count starts over.
        let later = now + AGGREGATE_WINDOW + Duration::from_secs(1);
        let (_, note) = c.observe(&pending("web", "SuccessfulCreate", "Created pod: q"), later).expect("written");
        assert_eq!(note, "Created pod: q");
    }

    #[test]
    fn the_correlator_forgets_the_least_recent_objects_when_full() {
        let mut c = Correlator::default();
        let start = Instant::now();
        for i in 0..CORRELATOR_KEYS * 3 {
            let now = start + Duration::from_millis(i as u64);
            assert!(c.observe(&pending(&format!("p{i}"), "Scheduled", "assigned"), now).is_some());
            assert!(c.similar.len() <= CORRELATOR_KEYS && c.spam.len() <= CORRELATOR_KEYS);
        }
        // The newest objects are still remembered: their buckets have spent a token.
        let last = format!("p{}", CORRELATOR_KEYS * 3 - 1);
        let key = c.spam.keys().find(|k| k.contains(&format!("\u{0}{last}\u{0}"))).expect("newest kept").clone();
        assert_eq!(c.spam[&key].tokens, SPAM_BURST - 1.0);
    }

    #[test]
    fn a_series_repeats_within_its_window_only() {
        let mut m = SeriesMap::default();
        let now = Instant::now();
        let series = |count| Series { namespace: "ns".into(), name: "e".into(), count, last: now };
        m.map.insert("k".into(), series(1));
        assert_eq!(m.repeat("k", now + Duration::from_secs(1)), Some(("ns".into(), "e".into(), 2)));
        assert_eq!(m.repeat("other", now), None);
        // Expired, whether or not a sweep has removed it yet.
        assert_eq!(m.repeat("k", now + Duration::from_secs(1) + SERIES_WINDOW), None);
        m.map.insert("k".into(), series(1));
        m.swept = Some(now);
        assert_eq!(m.repeat("k", now + SERIES_WINDOW + Duration::from_secs(1)), None);
    }

    #[test]
    fn spam_filter_allows_a_burst_of_25_then_one_per_five_minutes() {
        let mut c = Correlator::default();
        let now = Instant::now();
        let written =
            (0..40).filter(|_| c.observe(&pending("web", "FailedCreate", "quota exceeded"), now).is_some()).count();
        assert_eq!(written, 25);
        assert!(c.observe(&pending("web", "FailedCreate", "quota exceeded"), now + SPAM_REFILL / 2).is_none());
        assert!(c.observe(&pending("web", "FailedCreate", "quota exceeded"), now + SPAM_REFILL).is_some());
        assert!(c.observe(&pending("web", "FailedCreate", "quota exceeded"), now + SPAM_REFILL).is_none());
        // Other objects have their own buckets.
        assert!(c.observe(&pending("db", "FailedCreate", "quota exceeded"), now).is_some());
    }
}
