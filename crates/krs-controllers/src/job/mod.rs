//! The Job controller: runs pods to completion (NonIndexed and Indexed), with parallelism,
//! completions, backoffLimit and backoffLimitPerIndex, podFailurePolicy, podReplacementPolicy,
//! successPolicy, suspend/resume and activeDeadlineSeconds; it tracks finished pods with the
//! batch.kubernetes.io/job-tracking finalizer and reports SuccessCriteriaMet/FailureTarget,
//! then Complete/Failed once no pod is terminating.

mod indexes;
mod policy;
mod status;
mod sync;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use parking_lot::Mutex;

use crate::Error;
use crate::controller_utils::pod::{get_controller_of, is_not_found};
use crate::controller_utils::{Expectations, PodControl, run_workers};
use crate::events::EventRecorder;
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

pub use indexes::COMPLETION_INDEX;

const NAME: &str = "job-controller";
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Queue keys of pods whose job is gone but which still carry the tracking finalizer.
const ORPHAN_PREFIX: &str = "orphan-pod:";

pub(crate) struct Controller {
    jobs: Arc<Informer<Job>>,
    pods: Arc<Informer<Pod>>,
    queue: WorkQueue,
    client: kube::Client,
    expectations: Expectations,
    /// Pods whose finalizer removal was issued and not yet observed: a stale cache must not
    /// count them twice.
    finalizer_removals: Mutex<HashSet<String>>,
    pod_control: PodControl,
    recorder: EventRecorder,
    /// The first delay before recreating a failed pod (upstream's DefaultJobPodFailureBackOff).
    backoff: Duration,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("job");
    let recorder = ctx.events.recorder(NAME);
    let c = Arc::new(Controller {
        jobs: ctx.factory.informer::<Job>(),
        pods: ctx.factory.informer::<Pod>(),
        queue: queue.clone(),
        client: ctx.client.clone(),
        expectations: Expectations::default(),
        finalizer_removals: Mutex::new(HashSet::new()),
        pod_control: PodControl { client: ctx.client.clone(), recorder: recorder.clone() },
        recorder,
        backoff: ctx.options.job_pod_failure_backoff,
    });
    {
        let q = queue.clone();
        c.jobs.add_handler(move |e| match e {
            Event::Added(j) | Event::Deleted(j) => q.add(key_of(j.as_ref())),
            Event::Updated { new, .. } => q.add(key_of(new.as_ref())),
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_pod_event(e);
            }
        });
    }
    let workers = ctx.options.concurrent_job_syncs;
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                NAME,
                queue,
                workers,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync_key(&key).await })
                }),
            )
        }),
    }
}

fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

impl Controller {
    fn job_key_of(&self, pod: &Pod) -> Option<(String, bool)> {
        let r = get_controller_of(&pod.metadata)?;
        if r.kind != "Job" {
            return None;
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let live = self.jobs.get(Some(&ns), &r.name).is_some_and(|j| j.metadata.uid.as_deref() == Some(r.uid.as_str()));
        Some((format!("{ns}/{}", r.name), live))
    }

    fn on_pod_event(&self, e: &Event<Pod>) {
        let (pod, deleted) = match e {
            Event::Added(p) => (p, false),
            Event::Updated { old, new } => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return;
                }
                if has_tracking_finalizer(old) && !has_tracking_finalizer(new) {
                    self.finalizer_removals.lock().remove(new.metadata.uid.as_deref().unwrap_or_default());
                }
                (new, false)
            }
            Event::Deleted(p) => {
                self.finalizer_removals.lock().remove(p.metadata.uid.as_deref().unwrap_or_default());
                (p, true)
            }
        };
        let Some((key, live)) = self.job_key_of(pod) else { return };
        if !live {
            if !deleted && has_tracking_finalizer(pod) {
                self.queue.add(format!("{ORPHAN_PREFIX}{}", key_of(pod.as_ref())));
            }
            return;
        }
        match e {
            Event::Added(p) if p.metadata.deletion_timestamp.is_none() => self.expectations.creation_observed(&key),
            Event::Added(p) => self.expectations.deletion_observed(&key, &key_of(p.as_ref())),
            Event::Updated { old, new }
                if old.metadata.deletion_timestamp.is_none() && new.metadata.deletion_timestamp.is_some() =>
            {
                self.expectations.deletion_observed(&key, &key_of(new.as_ref()))
            }
            Event::Deleted(p) => self.expectations.deletion_observed(&key, &key_of(p.as_ref())),
            _ => {}
        }
        self.queue.add(key);
    }

    async fn sync_key(&self, key: &str) -> Result<(), Error> {
        if let Some(pod_key) = key.strip_prefix(ORPHAN_PREFIX) {
            let (ns, name) = split_key(pod_key);
            let Some(pod) = self.pods.get(ns, name) else { return Ok(()) };
            return self.remove_finalizer(&pod).await;
        }
        let (ns, name) = split_key(key);
        let Some(job) = self.jobs.get(ns, name) else {
            self.expectations.delete(key);
            return Ok(());
        };
        self.sync_job(key, (*job).clone()).await
    }

    /// Removes the tracking finalizer from `pod`.
    async fn remove_finalizer(&self, pod: &Pod) -> Result<(), Error> {
        if !has_tracking_finalizer(pod) {
            return Ok(());
        }
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let keep: Vec<&String> =
            pod.metadata.finalizers.iter().flatten().filter(|f| *f != TRACKING_FINALIZER).collect();
        let patch =
            serde_json::json!({"metadata": {"finalizers": keep, "resourceVersion": pod.metadata.resource_version}});
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        self.finalizer_removals.lock().insert(uid.clone());
        match api
            .patch(pod.metadata.name.as_deref().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => {
                self.finalizer_removals.lock().remove(&uid);
                Err(e.into())
            }
        }
    }
}
