use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;

use super::*;
use crate::framework::events::{ADD, EventResource, UPDATE_NODE_LABEL};
use crate::framework::{PreEnqueuePlugin, Status};
use crate::plugins::priority_sort::PrioritySort;
use crate::plugins::scheduling_gates::SchedulingGates;
use crate::testing::PodBuilder;

/// A PreEnqueue plugin that rejects pods while `closed` is set.
struct Door {
    closed: Arc<AtomicBool>,
}

impl Plugin for Door {
    fn name(&self) -> &'static str {
        "Door"
    }
    fn as_pre_enqueue(&self) -> Option<&dyn crate::framework::PreEnqueuePlugin> {
        Some(self)
    }
}

impl PreEnqueuePlugin for Door {
    fn pre_enqueue(&self, _pod: &PodInfo) -> Status {
        if self.closed.load(Ordering::SeqCst) { Status::unresolvable("door closed") } else { Status::success() }
    }
}

fn queue(pre_enqueue: Vec<Arc<dyn Plugin>>, backoff: Duration) -> SchedulingQueue {
    let mut events = HashMap::new();
    events.insert("NodeAffinity", vec![ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_LABEL)]);
    events.insert("SchedulingGates", SchedulingGates.events_to_register());
    SchedulingQueue::new(
        QueueConfig {
            less: Arc::new(PrioritySort),
            pre_enqueue: HashMap::from([("default-scheduler".to_string(), pre_enqueue)]),
            events,
            initial_backoff: backoff,
            max_backoff: backoff * 10,
            nominator: Arc::default(),
        },
        Metrics::new(),
    )
}

#[test]
fn pops_by_priority_then_arrival() {
    let q = queue(vec![], Duration::from_secs(1));
    q.add(PodBuilder::new("low").priority(1).info());
    q.add(PodBuilder::new("high").priority(10).info());
    q.add(PodBuilder::new("low2").priority(1).info());
    let order: Vec<String> = (0..3).filter_map(|_| q.try_pop()).map(|p| p.pod_info.name.clone()).collect();
    assert_eq!(order, ["high", "low", "low2"]);
}

#[test]
fn pre_enqueue_runs_for_pods_returning_from_backoff() {
    let closed = Arc::new(AtomicBool::new(false));
    let q = queue(vec![Arc::new(Door { closed: closed.clone() })], Duration::from_millis(20));
    q.add(PodBuilder::new("p").info());
    let popped = q.try_pop().expect("pod in activeQ");
    // The attempt failed with an error: backoffQ.
    q.add_unschedulable(popped);
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Backoff));
    closed.store(true, Ordering::SeqCst);
    sleep(Duration::from_millis(40));
    q.flush_backoff_completed();
    // The door is closed: the pod must not reach activeQ (upstream's 1.27.0 bug let it through).
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Gated));
    assert!(q.try_pop().is_none());
    assert_eq!(q.lengths(), (0, 0, 0, 1));
}

#[test]
fn gated_pods_wait_until_their_gates_are_removed() {
    let q = queue(vec![Arc::new(SchedulingGates)], Duration::from_secs(1));
    assert_eq!(q.add(PodBuilder::new("g").gates(&["a"]).info()), QueueName::Gated);
    // Cluster events do not move gated pods.
    q.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::Node, ADD), None);
    assert_eq!(q.queue_of("uid-g"), Some(QueueName::Gated));
    q.flush_unschedulable_leftover();
    assert!(q.try_pop().is_none());
    assert_eq!(q.update(PodBuilder::new("g").gates(&[]).info()), QueueName::Active);
    assert_eq!(q.try_pop().map(|p| p.pod_info.name.clone()).as_deref(), Some("g"));
}

#[test]
fn unschedulable_pods_move_only_on_events_their_plugins_registered() {
    let q = queue(vec![], Duration::from_millis(1));
    q.add(PodBuilder::new("p").info());
    let mut popped = q.try_pop().expect("pod");
    popped.unschedulable_plugins.insert("NodeAffinity");
    q.add_unschedulable(popped);
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Unschedulable));
    q.move_all_to_active_or_backoff(
        &ClusterEvent::new(EventResource::AssignedPod, crate::framework::events::DELETE),
        None,
    );
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Unschedulable), "a pod deletion cannot help NodeAffinity");
    sleep(Duration::from_millis(5));
    q.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::Node, UPDATE_NODE_LABEL), None);
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Active));
}

#[test]
fn an_event_during_the_attempt_sends_the_pod_to_backoff() {
    let q = queue(vec![], Duration::from_secs(5));
    q.add(PodBuilder::new("p").info());
    let mut popped = q.try_pop().expect("pod");
    // A node is added while the pod is being scheduled: it may have missed it.
    q.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::Node, ADD), None);
    popped.unschedulable_plugins.insert("NodeAffinity");
    q.add_unschedulable(popped);
    assert_eq!(q.queue_of("uid-p"), Some(QueueName::Backoff));
}

#[test]
fn backoff_doubles_from_initial_to_max() {
    let q = queue(vec![], Duration::from_secs(1));
    assert_eq!(q.backoff_duration(1), Duration::from_secs(1));
    assert_eq!(q.backoff_duration(2), Duration::from_secs(2));
    assert_eq!(q.backoff_duration(4), Duration::from_secs(8));
    assert_eq!(q.backoff_duration(10), Duration::from_secs(10));
}

#[test]
fn deleted_pods_leave_every_queue() {
    let q = queue(vec![], Duration::from_secs(1));
    q.add(PodBuilder::new("p").info());
    q.delete("uid-p");
    assert_eq!(q.queue_of("uid-p"), None);
    q.add(PodBuilder::new("p").info());
    let popped = q.try_pop().expect("pod");
    // Deleted while in flight: not re-queued.
    q.delete("uid-p");
    q.add_unschedulable(popped);
    assert_eq!(q.queue_of("uid-p"), None);
}
