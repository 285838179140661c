//! PodWorkers: one task per pod that serializes everything done to it. Updates (from the API,
//! the PLEG, probes, timers) only wake the worker; the worker always acts on the newest pod,
//! so bursts of updates coalesce into one sync.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What the worker should do next with its pod.
#[derive(Clone)]
pub enum Work {
    /// Run the pod toward its spec (or terminate it if it is being deleted or is terminal).
    Sync(Arc<Pod>),
    /// The pod is gone from the API: stop whatever runs and clean up, then the worker ends.
    Remove(Arc<Pod>),
}

/// What one round of work concluded.
pub enum Outcome {
    /// Sync again after this long, or when woken.
    Again(Duration),
    /// Nothing to do until woken (a terminated pod waiting for its deletion).
    Idle,
    /// The pod is fully cleaned up: the worker ends.
    Done,
}

/// The function that does the work (the kubelet's syncPod / terminate paths).
pub type SyncFn = Arc<dyn Fn(Work) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

struct Slot {
    work: Mutex<Work>,
    wake: Notify,
}

#[derive(Clone)]
pub struct PodWorkers {
    inner: Arc<Inner>,
}

struct Inner {
    sync: SyncFn,
    workers: Mutex<HashMap<String, Arc<Slot>>>,
}

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

impl PodWorkers {
    pub fn new(sync: SyncFn) -> PodWorkers {
        PodWorkers { inner: Arc::new(Inner { sync, workers: Mutex::new(HashMap::new()) }) }
    }

    /// Hands the worker of `work`'s pod its newest instruction, starting the worker if needed.
    pub fn update(&self, work: Work) {
        self.hand(work, true);
    }

    /// Like `update`, but a running worker is not woken: it acts on the newer object at its
    /// next sync (for updates that change nothing it would do).
    pub fn refresh(&self, work: Work) {
        self.hand(work, false);
    }

    fn hand(&self, work: Work, wake: bool) {
        let pod = match &work {
            Work::Sync(p) | Work::Remove(p) => p.clone(),
        };
        let uid = uid_of(&pod);
        let mut workers = self.inner.workers.lock();
        if let Some(slot) = workers.get(&uid) {
            let mut w = slot.work.lock();
            // Removal is final: a late update of the same pod does not revive it.
            if !matches!(*w, Work::Remove(_)) {
                *w = work;
            }
            drop(w);
            if wake {
                slot.wake.notify_one();
            }
            return;
        }
        let slot = Arc::new(Slot { work: Mutex::new(work), wake: Notify::new() });
        workers.insert(uid.clone(), slot.clone());
        drop(workers);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                let work = slot.work.lock().clone();
                match (inner.sync)(work).await {
                    Outcome::Again(after) => {
                        let _ = tokio::time::timeout(after, slot.wake.notified()).await;
                    }
                    Outcome::Idle => slot.wake.notified().await,
                    Outcome::Done => break,
                }
            }
            inner.workers.lock().remove(&uid);
        });
    }

    /// Wakes a pod's worker (its runtime state or probe results changed).
    pub fn wake(&self, uid: &str) {
        if let Some(slot) = self.inner.workers.lock().get(uid) {
            slot.wake.notify_one();
        }
    }

    pub fn has(&self, uid: &str) -> bool {
        self.inner.workers.lock().contains_key(uid)
    }

    pub fn len(&self) -> usize {
        self.inner.workers.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn pod(uid: &str, rv: &str) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.uid = Some(uid.into());
        p.metadata.resource_version = Some(rv.into());
        Arc::new(p)
    }

    #[tokio::test]
    async fn refresh_hands_over_the_newer_pod_without_a_sync() {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let syncs = Arc::new(AtomicUsize::new(0));
        let (s, n) = (seen.clone(), syncs.clone());
        let workers = PodWorkers::new(Arc::new(move |work| {
            let (s, n) = (s.clone(), n.clone());
            Box::pin(async move {
                if let Work::Sync(p) = work {
                    s.lock().push(p.metadata.resource_version.clone().unwrap_or_default());
                }
                n.fetch_add(1, Ordering::SeqCst);
                Outcome::Idle
            })
        }));
        workers.update(Work::Sync(pod("u", "1")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        workers.refresh(Work::Sync(pod("u", "2")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 1, "a refresh does not wake the worker");
        workers.wake("u");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(*seen.lock(), vec!["1".to_owned(), "2".to_owned()], "the next sync sees the refreshed pod");
        workers.update(Work::Sync(pod("u", "3")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 3, "an update wakes it");
        // A refresh of a pod without a worker starts one.
        workers.refresh(Work::Sync(pod("v", "1")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 4);
        assert_eq!(workers.len(), 2);
    }
}
