//! The scheduler against the real API server: nodes created by the test, pods bound through
//! pods/binding, and what users see (PodScheduled, events, nominatedNodeName, the Lease).

mod common;

use std::time::Duration;

use common::{Server, eventually};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::oneshot;

fn node(name: &str, cpu: &str, extra: serde_json::Value) -> Node {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    });
    merge(&mut v, extra);
    serde_json::from_value(v).expect("node")
}

fn pod(name: &str, cpu: &str, extra: serde_json::Value) -> Pod {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": cpu}}}]},
    });
    merge(&mut v, extra);
    serde_json::from_value(v).expect("pod")
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Creates a node, then sets its status (the API server ignores status on create).
async fn create_node(client: &kube::Client, n: Node) {
    let api: Api<Node> = Api::all(client.clone());
    let name = n.metadata.name.clone().unwrap_or_default();
    api.create(&PostParams::default(), &n).await.expect("create node");
    let status = json!({"status": serde_json::to_value(&n.status).expect("status")});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status)).await.expect("node status");
}

/// A scheduler running in this test process; stopped (and its lease released) when dropped.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), krs_scheduler::Error>>>,
}

impl Running {
    fn start(client: &kube::Client, identity: &str) -> Running {
        let (tx, rx) = oneshot::channel();
        let options = krs_scheduler::SchedulerOptions { identity: Some(identity.into()), ..Default::default() };
        let task = tokio::spawn(krs_scheduler::run(client.clone(), options, async {
            let _ = rx.await;
        }));
        Running { stop: Some(tx), task: Some(task) }
    }

    async fn stop(mut self) -> Result<(), krs_scheduler::Error> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

async fn bound_node(pods: &Api<Pod>, name: &str) -> Option<String> {
    pods.get(name).await.ok()?.spec?.node_name
}

async fn condition(pods: &Api<Pod>, name: &str) -> Option<(String, String, String)> {
    let p = pods.get(name).await.ok()?;
    let c = p.status?.conditions?.into_iter().find(|c| c.type_ == "PodScheduled")?;
    Some((c.status, c.reason.unwrap_or_default(), c.message.unwrap_or_default()))
}

async fn events_for(client: &kube::Client, pod: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
    list.into_iter().filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(pod)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_pods_with_scheduled_condition_event_and_lease() {
    let server = Server::start();
    let client = server.client().await;
    for i in 0..3 {
        create_node(&client, node(&format!("node-{i}"), "2", json!({}))).await;
    }
    let sched = Running::start(&client, "test-scheduler-a");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for i in 0..6 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}"), "500m", json!({}))).await.expect("create pod");
    }
    for i in 0..6 {
        let name = format!("p{i}");
        let n = eventually("the pod to be bound", || bound_node(&pods, &name)).await;
        assert!(n.starts_with("node-"), "bound to {n}");
        let (status, _, _) = eventually("PodScheduled", || condition(&pods, &name)).await;
        assert_eq!(status, "True");
    }
    // 6 pods of 500m on 3 nodes of 2 CPUs: LeastAllocated and BalancedAllocation spread them.
    let mut per_node = std::collections::HashMap::new();
    for i in 0..6 {
        *per_node.entry(bound_node(&pods, &format!("p{i}")).await.unwrap_or_default()).or_insert(0) += 1;
    }
    assert_eq!(per_node.len(), 3, "pods were not spread: {per_node:?}");
    let ev = eventually("a Scheduled event", || async {
        events_for(&client, "p0").await.into_iter().find(|e| e.reason.as_deref() == Some("Scheduled"))
    })
    .await;
    let node0 = bound_node(&pods, "p0").await.unwrap_or_default();
    assert_eq!(ev.note.as_deref(), Some(format!("Successfully assigned default/p0 to {node0}").as_str()));
    assert_eq!(ev.reporting_controller.as_deref(), Some("default-scheduler"));
    assert_eq!(ev.type_.as_deref(), Some("Normal"));
    let lease: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let l = lease.get("kube-scheduler").await.expect("the scheduler's lease");
    assert_eq!(l.spec.and_then(|s| s.holder_identity).as_deref(), Some("test-scheduler-a"));
    sched.stop().await.expect("scheduler stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pod_is_reported_and_retried_when_a_node_is_added() {
    let server = Server::start();
    let client = server.client().await;
    for i in 0..2 {
        let taint = json!({"spec": {"taints": [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]}});
        create_node(&client, node(&format!("tainted-{i}"), "8", taint)).await;
    }
    for i in 0..3 {
        create_node(&client, node(&format!("small-{i}"), "2", json!({}))).await;
    }
    let sched = Running::start(&client, "test-scheduler-b");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // One filler per small node (two do not fit on one): the small nodes have 500m left.
    for i in 0..3 {
        pods.create(&PostParams::default(), &pod(&format!("fill-{i}"), "1500m", json!({}))).await.expect("create pod");
    }
    for i in 0..3 {
        let name = format!("fill-{i}");
        eventually("the filler to be bound", || bound_node(&pods, &name)).await;
    }
    // The pod fits no small node now, but would on an empty one (preemption could help,
    // were there lower-priority pods); the tainted nodes are not helped by preemption.
    pods.create(&PostParams::default(), &pod("big", "1", json!({}))).await.expect("create pod");
    let expected = "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu. \
                    preemption: 0/5 nodes are available: 2 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.";
    let (status, reason, message) =
        eventually("PodScheduled=False", || async { condition(&pods, "big").await.filter(|(s, _, _)| s == "False") })
            .await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Unschedulable"));
    assert_eq!(message, expected);
    let ev = eventually("a FailedScheduling event", || async {
        events_for(&client, "big").await.into_iter().find(|e| e.reason.as_deref() == Some("FailedScheduling"))
    })
    .await;
    assert_eq!(ev.note.as_deref(), Some(expected));
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    // A request larger than a node's allocatable cannot be helped by preemption either.
    pods.create(&PostParams::default(), &pod("huge", "4", json!({}))).await.expect("create pod");
    let (_, _, message) =
        eventually("PodScheduled=False", || async { condition(&pods, "huge").await.filter(|(s, _, _)| s == "False") })
            .await;
    assert_eq!(
        message,
        "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu. \
         preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    );
    // A node that fits arrives: the NodeAdd event moves the pod back and it is bound.
    create_node(&client, node("large", "8", json!({}))).await;
    let n = eventually("the pod to be bound after the node is added", || bound_node(&pods, "big")).await;
    assert_eq!(n, "large");
    sched.stop().await.expect("scheduler stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_pod_is_scheduled_only_after_its_gates_are_removed() {
    let server = Server::start();
    let client = server.client().await;
    create_node(&client, node("n", "4", json!({}))).await;
    let sched = Running::start(&client, "test-scheduler-c");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let gated = pod("gated", "100m", json!({"spec": {"schedulingGates": [{"name": "example.com/wait"}]}}));
    pods.create(&PostParams::default(), &gated).await.expect("create pod");
    pods.create(&PostParams::default(), &pod("free", "100m", json!({}))).await.expect("create pod");
    eventually("the ungated pod to be bound", || bound_node(&pods, "free")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bound_node(&pods, "gated").await, None, "a gated pod was scheduled");
    let (status, reason, _) = condition(&pods, "gated").await.expect("PodScheduled condition");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "SchedulingGated"));
    let none: Vec<Event> = events_for(&client, "gated").await;
    assert!(none.iter().all(|e| e.reason.as_deref() != Some("FailedScheduling")), "gated pods are never attempted");
    pods.patch("gated", &PatchParams::default(), &Patch::Merge(json!({"spec": {"schedulingGates": null}})))
        .await
        .expect("remove gates");
    assert_eq!(eventually("the pod to be bound after its gates are removed", || bound_node(&pods, "gated")).await, "n");
    sched.stop().await.expect("scheduler stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preemption_evicts_a_lower_priority_pod_and_nominates_the_node() {
    let server = Server::start();
    let client = server.client().await;
    create_node(&client, node("only", "1", json!({}))).await;
    let sched = Running::start(&client, "test-scheduler-d");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // Priorities come from PriorityClasses through the API server's Priority admission.
    let classes: Api<PriorityClass> = Api::all(client.clone());
    for (name, value) in [("low", 1), ("high", 1000)] {
        let pc: PriorityClass =
            serde_json::from_value(json!({"metadata": {"name": name}, "value": value})).expect("class");
        classes.create(&PostParams::default(), &pc).await.expect("create priority class");
    }
    pods.create(&PostParams::default(), &pod("low", "800m", json!({"spec": {"priorityClassName": "low"}})))
        .await
        .expect("create pod");
    eventually("the low-priority pod to be bound", || bound_node(&pods, "low")).await;
    let high = pods
        .create(&PostParams::default(), &pod("high", "800m", json!({"spec": {"priorityClassName": "high"}})))
        .await
        .expect("create pod");
    assert_eq!(high.spec.and_then(|s| s.priority), Some(1000));
    let nominated = eventually("nominatedNodeName", || async {
        let p = pods.get("high").await.ok()?;
        if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
            return Some("only".to_string());
        }
        p.status?.nominated_node_name
    })
    .await;
    assert_eq!(nominated, "only");
    // The victim is marked (DisruptionTarget) and deleted; if the deletion is graceful (no
    // kubelet finishes it here), the test completes it as a kubelet would.
    let victim = eventually("the victim to be deleted or terminating", || async {
        match pods.get_opt("low").await.ok()? {
            None => Some(None),
            Some(p) if p.metadata.deletion_timestamp.is_some() => Some(Some(p)),
            Some(_) => None,
        }
    })
    .await;
    if let Some(victim) = victim {
        let disruption = victim
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "DisruptionTarget");
        assert_eq!(disruption.and_then(|c| c.reason).as_deref(), Some("PreemptionByScheduler"));
        let _ =
            pods.delete("low", &kube::api::DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
    }
    assert_eq!(eventually("the preemptor to be bound", || bound_node(&pods, "high")).await, "only");
    let preempted = events_for(&client, "low").await;
    assert!(preempted.iter().any(|e| e.reason.as_deref() == Some("Preempted")), "no Preempted event: {preempted:?}");
    sched.stop().await.expect("scheduler stops cleanly");
}
