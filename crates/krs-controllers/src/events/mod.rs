//! Events, written as events.k8s.io/v1 Events: each controller records with its own
//! reportingController (upstream's component names, e.g. `deployment-controller`), writes
//! happen in the background, and a repeated event within six minutes patches the first one's
//! series instead of creating another object, as upstream's event correlation does.

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
/// Events waiting to be written; past this, new events are dropped (the API server is slow,
/// and events are best effort upstream too).
const BACKLOG: usize = 4096;
/// Events written at once.
const WRITERS: usize = 8;

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
        let series: Arc<Mutex<HashMap<String, Series>>> = Arc::default();
        let host: Arc<str> = host.into();
        let instance_suffix = host.clone();
        tokio::spawn(async move {
            tokio_stream_of(rx)
                .for_each_concurrent(WRITERS, |p| {
                    let client = client.clone();
                    let series = series.clone();
                    let host = host.clone();
                    async move { write(&client, &series, &host, p).await }
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

struct Series {
    namespace: String,
    name: String,
    count: i32,
    last: Instant,
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

async fn write(client: &Client, series: &Mutex<HashMap<String, Series>>, host: &str, p: Pending) {
    let namespace = match p.regarding.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns.to_string(),
        _ => "default".to_string(),
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let now = Timestamp::now();
    let key = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
        p.controller,
        p.regarding.uid.as_deref().unwrap_or_default(),
        p.regarding.name.as_deref().unwrap_or_default(),
        p.type_,
        p.reason,
        p.note
    );
    let repeat = {
        let mut map = series.lock();
        map.retain(|_, s| s.last.elapsed() < SERIES_WINDOW);
        match map.get_mut(&key) {
            Some(s) => {
                s.count += 1;
                s.last = Instant::now();
                Some((s.namespace.clone(), s.name.clone(), s.count))
            }
            None => None,
        }
    };
    if let Some((ns, name, count)) = repeat {
        let api: Api<Event> = Api::namespaced(client.clone(), &ns);
        let patch = serde_json::json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
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
        note: Some(truncate_note(p.note)),
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
            series.lock().insert(key, Series { namespace, name, count: 1, last: Instant::now() });
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
