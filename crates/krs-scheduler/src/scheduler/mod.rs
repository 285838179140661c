//! The scheduling loop (`scheduleOne`): pop a pod, run the scheduling cycle on a fresh
//! snapshot, assume the pod on the chosen node, then bind it asynchronously (the binding cycle)
//! while the next pod is scheduled. Failures re-queue the pod and are reported as upstream
//! reports them: a FailedScheduling event and PodScheduled=False.

pub mod algorithm;
pub mod results_memo;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::api::{self, EventRecorder, PodEvent, PodStatusUpdate};
use crate::cache::{Cache, Snapshot};
use crate::framework::interface::PostFilterContext;
use crate::framework::{Code, CycleState, Framework, PodInfo, Status};
use crate::metrics::Metrics;
use crate::queue::{QueuedPodInfo, SchedulingQueue};
use algorithm::{Algorithm, ERR_NO_NODES_AVAILABLE, ScheduleError};

/// Bindings in flight at once: enough to keep the API server busy, bounded so a burst of pods
/// does not open unbounded requests.
const MAX_CONCURRENT_BINDINGS: usize = 64;

/// Everything the scheduling loop and the binding tasks share.
pub struct Scheduler {
    pub profiles: HashMap<String, Arc<Framework>>,
    pub queue: Arc<SchedulingQueue>,
    pub cache: Arc<Mutex<Cache>>,
    pub client: Option<kube::Client>,
    pub events: EventRecorder,
    pub metrics: Arc<Metrics>,
    pub runtime: Option<tokio::runtime::Handle>,
    pub binding_slots: Arc<Semaphore>,
}

/// The state only the scheduling thread touches.
pub struct Loop {
    pub scheduler: Arc<Scheduler>,
    snapshot: Snapshot,
    algorithm: Algorithm,
}

/// How one attempt ended, for tests and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Assumed on the node; binding started.
    Assumed(String),
    Unschedulable(String),
    Error(String),
    Skipped,
}

impl Scheduler {
    pub fn new_binding_slots() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(MAX_CONCURRENT_BINDINGS))
    }
}

impl Loop {
    pub fn new(scheduler: Arc<Scheduler>) -> Loop {
        Loop { scheduler, snapshot: Snapshot::default(), algorithm: Algorithm::default() }
    }

    /// Schedules pods until the queue is closed.
    pub fn run(mut self) {
        while let Some(qpi) = self.scheduler.queue.pop() {
            self.schedule_one(qpi);
        }
    }

    /// One scheduling cycle for a popped pod (`ScheduleOne`).
    pub fn schedule_one(&mut self, qpi: QueuedPodInfo) -> Outcome {
        let s = self.scheduler.clone();
        let pod = qpi.pod_info.clone();
        let Some(fw) = s.profiles.get(pod.scheduler_name()).cloned() else {
            s.queue.done(&pod.key);
            return Outcome::Skipped;
        };
        // A pod being deleted, or already assumed by an earlier cycle, is not scheduled again.
        if pod.is_terminating() || s.cache.lock().is_assumed(&pod.key) {
            s.queue.done(&pod.key);
            return Outcome::Skipped;
        }
        let start = Instant::now();
        s.cache.lock().update_snapshot(&mut self.snapshot);
        let mut state = CycleState::default();
        match self.algorithm.schedule_pod(&fw, &mut state, &pod, &self.snapshot) {
            Ok(result) => self.assume_and_bind(fw, state, qpi, result.suggested_host.to_string(), start),
            Err(ScheduleError::NoNodes) => {
                let status = Status::unresolvable(ERR_NO_NODES_AVAILABLE);
                self.fail(&fw, qpi, status, ERR_NO_NODES_AVAILABLE.to_string(), None, start)
            }
            Err(ScheduleError::Error(status)) => {
                let msg = status.message();
                self.fail(&fw, qpi, status, msg, None, start)
            }
            Err(ScheduleError::Fit(mut fit)) => {
                let mut nominated = None;
                if fw.has_post_filter() {
                    let ctx = PostFilterContext {
                        framework: &fw,
                        snapshot: &self.snapshot,
                        node_statuses: &fit.diagnosis.node_to_status,
                    };
                    let (result, status) = fw.run_post_filter(&ctx, &state, &pod);
                    if status.code == Code::Error {
                        tracing::debug!(pod = %pod.key, error = %status.message(), "PostFilter failed");
                    }
                    fit.diagnosis.post_filter_msg = status.message();
                    nominated = result.and_then(|r| r.nominated_node_name);
                }
                let mut qpi = qpi;
                qpi.unschedulable_plugins = fit.diagnosis.unschedulable_plugins.clone();
                qpi.pending_plugins = fit.diagnosis.pending_plugins.clone();
                let msg = fit.message();
                self.fail(&fw, qpi, Status::unschedulable(msg.clone()), msg, nominated, start)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &self,
        fw: &Framework,
        qpi: QueuedPodInfo,
        status: Status,
        message: String,
        nominated: Option<String>,
        start: Instant,
    ) -> Outcome {
        let s = &self.scheduler;
        let pod = qpi.pod_info.clone();
        let rejected = status.is_rejected();
        let (result, reason) = if rejected { ("unschedulable", "Unschedulable") } else { ("error", "SchedulerError") };
        s.metrics.observe_attempt(result, &fw.profile_name, start.elapsed());
        if let Some(node) = &nominated {
            s.queue_nominate(&pod, node);
        }
        s.queue.add_unschedulable(qpi);
        s.events.record(PodEvent {
            pod: pod.clone(),
            type_: "Warning",
            reason: "FailedScheduling",
            action: "Scheduling",
            note: message.clone(),
        });
        if let (Some(client), Some(rt)) = (s.client.clone(), s.runtime.as_ref()) {
            let update = PodStatusUpdate { reason, message: message.clone(), nominated_node_name: nominated };
            rt.spawn(async move {
                if let Err(e) = api::update_pod_status(client, &pod, update).await {
                    tracing::debug!(pod = %pod.key, error = %e, "updating pod status");
                }
            });
        }
        if rejected { Outcome::Unschedulable(message) } else { Outcome::Error(message) }
    }

    fn assume_and_bind(
        &mut self,
        fw: Arc<Framework>,
        mut state: CycleState,
        qpi: QueuedPodInfo,
        node: String,
        start: Instant,
    ) -> Outcome {
        let s = self.scheduler.clone();
        let pod = qpi.pod_info.clone();
        let assumed = Arc::new(pod.assumed_on(&node));
        if let Err(e) = s.cache.lock().assume_pod(assumed.clone()) {
            return self.fail(&fw, qpi, Status::error(e.to_string()), e.to_string(), None, start);
        }
        let status = fw.run_reserve(&mut state, &pod, &node);
        if !status.is_success() {
            fw.run_unreserve(&mut state, &pod, &node);
            let _ = s.cache.lock().forget_pod(&pod.key);
            let msg = status.message();
            return self.fail(&fw, qpi, status, msg, None, start);
        }
        let (permit, wait) = fw.run_permit(&mut state, &pod, &node);
        if !permit.is_success() && permit.code != Code::Wait {
            fw.run_unreserve(&mut state, &pod, &node);
            let _ = s.cache.lock().forget_pod(&pod.key);
            let msg = permit.message();
            return self.fail(&fw, qpi, permit, msg, None, start);
        }
        // The pod is no longer nominated anywhere: it has its node.
        s.handle_nominator_on_assume(&pod);
        s.metrics.observe_attempt("scheduled", &fw.profile_name, start.elapsed());
        let Some(rt) = s.runtime.clone() else {
            // Without a runtime (unit tests) the binding cycle is not run.
            return Outcome::Assumed(node);
        };
        let node_out = node.clone();
        let loop_scheduler = s.clone();
        rt.spawn(async move {
            let _slot = loop_scheduler.binding_slots.clone().acquire_owned().await;
            if permit.code == Code::Wait {
                // No in-tree plugin waits; a waiting pod is released after its timeout.
                tokio::time::sleep(wait).await;
            }
            // Boxed: the binding cycle's state (the API request in flight) is large, and the
            // runtime moves a task's whole future when it spawns and finishes it.
            Box::pin(loop_scheduler.binding_cycle(fw, state, qpi, assumed, node, start)).await;
        });
        Outcome::Assumed(node_out)
    }
}

impl Scheduler {
    fn queue_nominate(&self, pod: &Arc<PodInfo>, node: &str) {
        if let Some(fw) = self.profiles.get(pod.scheduler_name()) {
            fw.handle.nominator.add(pod.clone(), node);
        }
    }

    fn handle_nominator_on_assume(&self, pod: &Arc<PodInfo>) {
        if let Some(fw) = self.profiles.get(pod.scheduler_name()) {
            fw.handle.nominator.delete(&pod.key);
        }
    }

    /// PreBind, Bind, PostBind; on failure the pod is forgotten and re-queued (`bindingCycle`).
    #[allow(clippy::too_many_arguments)]
    async fn binding_cycle(
        self: Arc<Self>,
        fw: Arc<Framework>,
        mut state: CycleState,
        qpi: QueuedPodInfo,
        assumed: Arc<PodInfo>,
        node: String,
        start: Instant,
    ) {
        let pod = qpi.pod_info.clone();
        let mut status = fw.run_pre_bind(&state, &assumed, &node).await;
        if status.is_success() {
            status = fw.run_bind(&state, &assumed, &node).await;
            if status.is_skip() {
                status = Status::error(format!("bind plugins skipped pod {}/{}", pod.namespace, pod.name));
            }
        }
        if status.is_success() {
            fw.run_post_bind(&state, &assumed, &node);
            self.queue.done(&pod.key);
            let e2e = qpi.initial_attempt_timestamp.map(|t| t.elapsed()).unwrap_or_else(|| start.elapsed());
            self.metrics.observe_scheduled(qpi.attempts, e2e);
            self.events.record(PodEvent {
                pod: pod.clone(),
                type_: "Normal",
                reason: "Scheduled",
                action: "Binding",
                note: format!("Successfully assigned {}/{} to {}", pod.namespace, pod.name, node),
            });
            return;
        }
        // The binding failed: release what was reserved, drop the assumed pod (its room is free
        // again, which may help other pods), and retry this pod after backoff.
        fw.run_unreserve(&mut state, &pod, &node);
        let _ = self.cache.lock().forget_pod(&pod.key);
        self.queue.move_all_to_active_or_backoff(
            &crate::framework::ClusterEvent::new(
                crate::framework::events::EventResource::AssignedPod,
                crate::framework::events::DELETE,
            ),
            None,
        );
        let msg = status.message();
        tracing::debug!(pod = %pod.key, node = %node, error = %msg, "binding failed");
        self.metrics.observe_attempt("error", &fw.profile_name, start.elapsed());
        let mut qpi = qpi;
        qpi.unschedulable_plugins.clear();
        qpi.pending_plugins.clear();
        // A pod already bound (409 from the binding subresource) is handled by the informer.
        self.queue.add_unschedulable(qpi);
        self.events.record(PodEvent {
            pod: pod.clone(),
            type_: "Warning",
            reason: "FailedScheduling",
            action: "Scheduling",
            note: msg.clone(),
        });
        if let Some(client) = self.client.clone() {
            let update = PodStatusUpdate { reason: "SchedulerError", message: msg, nominated_node_name: None };
            if let Err(e) = api::update_pod_status(client, &pod, update).await {
                tracing::debug!(pod = %pod.key, error = %e, "updating pod status");
            }
        }
    }
}

/// Waits for the binding tasks to finish (at shutdown), up to `timeout`.
pub async fn drain_bindings(slots: &Arc<Semaphore>, timeout: Duration) {
    let all = u32::try_from(MAX_CONCURRENT_BINDINGS).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(timeout, slots.acquire_many(all)).await;
}
