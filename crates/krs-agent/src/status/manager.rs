//! The StatusManager: the pod statuses the kubelet computed, written to pods/status in the
//! background. Writes coalesce per pod (only the newest status is sent), run a few at a time,
//! and are retried until they land; each is a strategic-merge patch conditional on the pod's
//! UID that touches only the kubelet-owned conditions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client};
use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};

use super::generate::{KUBELET_CONDITIONS, set_transition_times};
use crate::error::{kube_conflict, kube_not_found};
use crate::ratelimit::RateLimiter;

/// What became of a status write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// Written (or nothing was left to write, or the pod is gone).
    Done,
    /// The API refused or could not be reached: to be tried again.
    Failed,
    /// A static pod whose mirror pod does not exist yet.
    NowhereToWrite,
}

/// How long a failed status write waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

struct Entry {
    /// A static pod: its status goes to its mirror pod, once that exists.
    static_pod: bool,
    namespace: String,
    name: String,
    status: PodStatus,
    version: u64,
    synced: u64,
}

#[derive(Clone)]
pub struct StatusManager {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    limiter: Arc<RateLimiter>,
    entries: Mutex<HashMap<String, Entry>>,
    /// Static pod UID → its mirror pod's UID.
    mirrors: Mutex<HashMap<String, String>>,
    dirty: Mutex<HashSet<String>>,
    /// Pods with a write under way. A pod has one write at a time: two in flight could land
    /// out of order and leave an older status in the API for good.
    writing: Mutex<HashSet<String>>,
    wake: Notify,
    synced: Notify,
}

fn strip_times(s: &PodStatus) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(cs) = v.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        for c in cs {
            if let Some(o) = c.as_object_mut() {
                o.remove("lastTransitionTime");
                o.remove("lastProbeTime");
            }
        }
    }
    v
}

impl StatusManager {
    pub fn new(client: Client, limiter: Arc<RateLimiter>) -> StatusManager {
        StatusManager {
            inner: Arc::new(Inner {
                client,
                limiter,
                entries: Mutex::new(HashMap::new()),
                mirrors: Mutex::new(HashMap::new()),
                dirty: Mutex::new(HashSet::new()),
                writing: Mutex::new(HashSet::new()),
                wake: Notify::new(),
                synced: Notify::new(),
            }),
        }
    }

    /// The status last set for the pod.
    pub fn get(&self, uid: &str) -> Option<PodStatus> {
        self.inner.entries.lock().get(uid).map(|e| e.status.clone())
    }

    /// Whether the status last set for the pod is terminal (Succeeded or Failed).
    pub fn is_terminal(&self, uid: &str) -> bool {
        self.inner
            .entries
            .lock()
            .get(uid)
            .is_some_and(|e| matches!(e.status.phase.as_deref(), Some("Succeeded" | "Failed")))
    }

    /// Records the pod's new status; it is written if it differs from the last one.
    pub fn set(&self, pod: &Pod, mut status: PodStatus) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = jiff::Timestamp::now();
        let mut entries = self.inner.entries.lock();
        let old = entries.get(&uid).map(|e| e.status.clone()).or_else(|| pod.status.clone()).unwrap_or_default();
        if let Some(conds) = status.conditions.as_mut() {
            set_transition_times(conds, old.conditions.as_deref().unwrap_or_default(), now);
        }
        // A start time, once set, stays.
        if old.start_time.is_some() {
            status.start_time = old.start_time.clone();
        }
        if let Some(e) = entries.get_mut(&uid) {
            if strip_times(&e.status) == strip_times(&status) {
                return;
            }
            e.status = status;
            e.version += 1;
        } else {
            // Unchanged from what the API already has: nothing to write.
            let unchanged = pod.status.as_ref().is_some_and(|s| strip_times(s) == strip_times(&status));
            entries.insert(
                uid.clone(),
                Entry {
                    static_pod: crate::staticpods::is_static(pod),
                    namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                    name: pod.metadata.name.clone().unwrap_or_default(),
                    status,
                    version: 1,
                    synced: if unchanged { 1 } else { 0 },
                },
            );
            if unchanged {
                return;
            }
        }
        drop(entries);
        self.inner.dirty.lock().insert(uid);
        self.inner.wake.notify_one();
    }

    /// Where a static pod's status goes (its mirror pod appeared or changed).
    pub fn set_mirror(&self, static_uid: &str, mirror_uid: Option<&str>) {
        let changed = {
            let mut m = self.inner.mirrors.lock();
            match mirror_uid {
                Some(u) => m.insert(static_uid.to_owned(), u.to_owned()).as_deref() != Some(u),
                None => m.remove(static_uid).is_some(),
            }
        };
        if changed && let Some(e) = self.inner.entries.lock().get_mut(static_uid) {
            // The new mirror has not seen any status yet.
            e.synced = 0;
            self.inner.dirty.lock().insert(static_uid.to_owned());
            self.inner.wake.notify_one();
        }
    }

    pub fn forget(&self, uid: &str) {
        self.inner.mirrors.lock().remove(uid);
        self.inner.entries.lock().remove(uid);
        self.inner.dirty.lock().remove(uid);
    }

    /// Waits (up to `timeout`) until the newest status of the pod has been written.
    pub async fn flush(&self, uid: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so a write finishing in between is not missed.
            let notified = self.inner.synced.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let done = self.inner.entries.lock().get(uid).is_none_or(|e| e.synced >= e.version);
            if done {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// The final deletion of a terminated pod: grace period 0, only this UID.
    pub async fn delete_pod(&self, pod: &Pod) -> Result<(), kube::Error> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.inner.client.clone(), ns);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
            ..Default::default()
        };
        self.inner.limiter.acquire().await;
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(e) if kube_not_found(&e) || kube_conflict(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Writes dirty statuses until the process ends; up to `concurrency` at once.
    pub async fn run(self, concurrency: usize) {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        loop {
            let batch: Vec<String> = std::mem::take(&mut *self.inner.dirty.lock()).into_iter().collect();
            if batch.is_empty() {
                self.inner.wake.notified().await;
                continue;
            }
            for uid in batch {
                // A pod whose write is under way is looked at again when that write ends.
                if !self.inner.writing.lock().insert(uid.clone()) {
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let me = self.clone();
                tokio::spawn(async move {
                    let written = me.write(&uid).await;
                    drop(permit);
                    if written == Written::Failed {
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                    me.inner.writing.lock().remove(&uid);
                    // A status set while this write was under way (or a failed write) goes
                    // next; a static pod without a mirror waits for set_mirror instead.
                    let pending = me.inner.entries.lock().get(&uid).is_some_and(|e| e.synced < e.version);
                    if pending && written != Written::NowhereToWrite {
                        me.inner.dirty.lock().insert(uid);
                        me.inner.wake.notify_one();
                    }
                });
            }
        }
    }

    /// Writes the pod's newest status.
    async fn write(&self, uid: &str) -> Written {
        let Some((ns, name, status, version, static_pod)) = self
            .inner
            .entries
            .lock()
            .get(uid)
            .filter(|e| e.synced < e.version)
            .map(|e| (e.namespace.clone(), e.name.clone(), e.status.clone(), e.version, e.static_pod))
        else {
            return Written::Done;
        };
        let target_uid = if static_pod {
            // Without a mirror pod there is nowhere to write; set_mirror marks it dirty again.
            match self.inner.mirrors.lock().get(uid) {
                Some(m) => m.clone(),
                None => return Written::NowhereToWrite,
            }
        } else {
            uid.to_owned()
        };
        let mut body = serde_json::to_value(&status).unwrap_or_default();
        // Only kubelet-owned conditions: others (PodScheduled, DisruptionTarget, readiness
        // gates) are merged by type and left as they are.
        if let Some(conds) = body.get_mut("conditions").and_then(|c| c.as_array_mut()) {
            // The kubelet's own DisruptionTarget (an eviction) is written too.
            conds.retain(|c| {
                let kind = c.get("type").and_then(|t| t.as_str()).unwrap_or_default();
                KUBELET_CONDITIONS.contains(&kind)
                    || (kind == "DisruptionTarget"
                        && c.get("reason").and_then(|r| r.as_str()) == Some("TerminationByKubelet"))
            });
        }
        let patch = serde_json::json!({"metadata": {"uid": target_uid}, "status": body});
        let api: Api<Pod> = Api::namespaced(self.inner.client.clone(), &ns);
        self.inner.limiter.acquire().await;
        match api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
            Ok(_) => self.mark_synced(uid, version),
            Err(e) if kube_not_found(&e) || kube_conflict(&e) => {
                // The pod is gone or is another pod now: nothing to write any more.
                self.mark_synced(uid, version);
            }
            Err(e) => {
                tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "updating pod status; retrying");
                return Written::Failed;
            }
        }
        Written::Done
    }

    fn mark_synced(&self, uid: &str, version: u64) {
        if let Some(e) = self.inner.entries.lock().get_mut(uid) {
            e.synced = e.synced.max(version);
        }
        self.inner.synced.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Full};

    use super::*;

    /// An API server that answers pods/status patches, slowly for the first one, and records
    /// the phases in the order the patches land.
    fn fake_api(landed: Arc<Mutex<Vec<String>>>, in_flight_max: Arc<AtomicUsize>) -> Client {
        let calls = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let (landed, calls, in_flight, max) =
                (landed.clone(), calls.clone(), in_flight.clone(), in_flight_max.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                let patch: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let phase = patch["status"]["phase"].as_str().unwrap_or_default().to_owned();
                landed.lock().push(phase);
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
                let resp = http::Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(bytes::Bytes::from(pod.to_string())))
                    .expect("response");
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        Client::new(service, "default")
    }

    fn pod() -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some("p".into());
        p.metadata.namespace = Some("default".into());
        p.metadata.uid = Some("u1".into());
        p
    }

    fn phase(p: &str) -> PodStatus {
        PodStatus { phase: Some(p.into()), ..Default::default() }
    }

    #[tokio::test]
    async fn a_newer_status_never_lands_before_an_older_one() {
        let landed: Arc<Mutex<Vec<String>>> = Arc::default();
        let max = Arc::new(AtomicUsize::new(0));
        let m = StatusManager::new(fake_api(landed.clone(), max.clone()), Arc::new(RateLimiter::new(0.0, 1)));
        tokio::spawn(m.clone().run(8));
        let p = pod();
        m.set(&p, phase("Pending"));
        // The first write is on the wire (and slow) when the newer status comes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        m.set(&p, phase("Running"));
        assert!(m.flush("u1", Duration::from_secs(5)).await, "the newest status is written");
        // Whatever is still on the wire lands too: the API must end with the newest status.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(*landed.lock(), vec!["Pending".to_owned(), "Running".to_owned()], "in the order set");
        assert_eq!(max.load(Ordering::SeqCst), 1, "one write of a pod at a time");
    }

    #[tokio::test]
    async fn a_static_pod_status_waits_for_its_mirror() {
        let landed: Arc<Mutex<Vec<String>>> = Arc::default();
        let m = StatusManager::new(fake_api(landed.clone(), Arc::default()), Arc::new(RateLimiter::new(0.0, 1)));
        tokio::spawn(m.clone().run(8));
        let mut p = pod();
        p.metadata.annotations =
            Some([(crate::staticpods::SOURCE_ANNOTATION.to_owned(), "file".to_owned())].into_iter().collect());
        m.set(&p, phase("Running"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(landed.lock().is_empty(), "nowhere to write yet");
        // Not retried in a loop meanwhile: nothing is queued or under way.
        assert!(m.inner.dirty.lock().is_empty() && m.inner.writing.lock().is_empty());
        m.set_mirror("u1", Some("mirror-uid"));
        assert!(m.flush("u1", Duration::from_secs(5)).await, "written once the mirror exists");
        assert_eq!(*landed.lock(), vec!["Running".to_owned()]);
    }
}
