//! What the scheduler writes besides bindings: the PodScheduled condition and
//! nominatedNodeName (pods/status, strategic merge patch), and events (events.k8s.io/v1,
//! reportingController default-scheduler), sent from a bounded queue so a burst of events never
//! slows scheduling; like upstream's broadcaster, events beyond the queue are dropped.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::mpsc;

use crate::framework::PodInfo;

/// The controller name in events (`reportingController`).
pub const REPORTING_CONTROLLER: &str = "default-scheduler";
/// How many events may wait to be sent (`maxQueuedEvents`).
const MAX_QUEUED_EVENTS: usize = 1000;
/// Events sent concurrently.
const EVENT_CONCURRENCY: usize = 8;

/// An event about a pod.
pub struct PodEvent {
    pub pod: Arc<PodInfo>,
    pub type_: &'static str,
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

/// Sends events in the background; `record` never blocks.
#[derive(Clone)]
pub struct EventRecorder {
    tx: Option<mpsc::Sender<PodEvent>>,
}

impl EventRecorder {
    /// A recorder that sends through `client` (spawned on the current runtime).
    pub fn start(client: kube::Client, instance: String) -> EventRecorder {
        let (tx, rx) = mpsc::channel::<PodEvent>(MAX_QUEUED_EVENTS);
        tokio::spawn(async move {
            tokio_stream_like(rx)
                .for_each_concurrent(EVENT_CONCURRENCY, |ev| {
                    let client = client.clone();
                    let instance = instance.clone();
                    async move {
                        if let Err(e) = send_event(client, &instance, ev).await {
                            tracing::debug!(error = %e, "sending event");
                        }
                    }
                })
                .await;
        });
        EventRecorder { tx: Some(tx) }
    }

    /// A recorder that drops everything (unit tests).
    pub fn disabled() -> EventRecorder {
        EventRecorder { tx: None }
    }

    pub fn record(&self, ev: PodEvent) {
        if let Some(tx) = &self.tx
            && tx.try_send(ev).is_err()
        {
            tracing::debug!("event queue full, dropping event");
        }
    }
}

fn tokio_stream_like<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn now_micro() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

async fn send_event(client: kube::Client, instance: &str, ev: PodEvent) -> Result<(), kube::Error> {
    let pod = &ev.pod;
    let now = jiff::Timestamp::now();
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", pod.name, now.as_nanosecond())),
            namespace: Some(pod.namespace.clone()),
            ..Default::default()
        },
        event_time: Some(now_micro()),
        reporting_controller: Some(REPORTING_CONTROLLER.into()),
        reporting_instance: Some(instance.to_string()),
        action: Some(ev.action.into()),
        reason: Some(ev.reason.into()),
        regarding: Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(pod.namespace.clone()),
            name: Some(pod.name.clone()),
            uid: pod.pod.metadata.uid.clone(),
            resource_version: pod.pod.metadata.resource_version.clone(),
            ..Default::default()
        }),
        note: Some(truncate_message(&ev.note)),
        type_: Some(ev.type_.into()),
        ..Default::default()
    };
    // The created Event that comes back is not decoded: nothing reads it.
    let body = serde_json::to_vec(&event).map_err(kube::Error::SerdeError)?;
    let request = kube::core::Request::new(<Event as kube::Resource>::url_path(&(), Some(&pod.namespace)))
        .create(&PostParams::default(), body)
        .map_err(kube::Error::BuildRequest)?;
    client.request::<serde::de::IgnoredAny>(request).await.map(|_| ())
}

/// Event notes are limited to 1 KiB (`truncateMessage`).
fn truncate_message(m: &str) -> String {
    const MAX: usize = 1024;
    if m.len() <= MAX {
        return m.to_string();
    }
    let mut end = MAX - 3;
    while !m.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &m[..end])
}

/// What to set on a pod that failed a scheduling attempt.
pub struct PodStatusUpdate {
    pub reason: &'static str,
    pub message: String,
    /// `Some("")` clears the nomination, `Some(node)` sets it, `None` leaves it.
    pub nominated_node_name: Option<String>,
}

/// Sets PodScheduled=False with reason and message, and the nominated node, unless the pod
/// already shows exactly that (`updatePod` with `podutil.UpdatePodCondition`).
pub async fn update_pod_status(
    client: kube::Client,
    pod: &PodInfo,
    update: PodStatusUpdate,
) -> Result<(), kube::Error> {
    let status = pod.pod.status.as_ref();
    let current =
        status.and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"));
    let same_condition = current.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some(update.reason)
            && c.message.as_deref() == Some(update.message.as_str())
    });
    let current_nominated = status.and_then(|s| s.nominated_node_name.as_deref()).unwrap_or_default();
    let nominated_changed = update.nominated_node_name.as_deref().is_some_and(|n| n != current_nominated);
    if same_condition && !nominated_changed {
        return Ok(());
    }
    // The transition time moves only when the condition's status changes.
    let transition = match current {
        Some(c) if c.status == "False" => {
            c.last_transition_time.as_ref().map(|t| json!(t)).unwrap_or_else(|| json!(jiff::Timestamp::now()))
        }
        _ => json!(jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now())),
    };
    let mut status_patch = json!({
        "conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": update.reason,
            "message": update.message,
            "lastProbeTime": null,
            "lastTransitionTime": transition,
        }]
    });
    if let Some(n) = &update.nominated_node_name
        && nominated_changed
    {
        status_patch["nominatedNodeName"] = if n.is_empty() { serde_json::Value::Null } else { json!(n) };
    }
    let patch = json!({ "status": status_patch });
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    api.patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(|_| ())
}

/// Clears or sets only the nominated node (after preemption, or when a nominated pod is bound
/// elsewhere).
pub async fn set_nominated_node(client: kube::Client, pod: &PodInfo, node: &str) -> Result<(), kube::Error> {
    let value = if node.is_empty() { serde_json::Value::Null } else { json!(node) };
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    api.patch_status(&pod.name, &PatchParams::default(), &Patch::Merge(json!({"status": {"nominatedNodeName": value}})))
        .await
        .map(|_| ())
}
