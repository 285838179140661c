//! The node lifecycle controller (taints, NoExecute eviction) and the pod garbage collector
//! against a real API server; the test plays the kubelets, renewing node Leases or not.

use crate::common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use krs_controllers::ControllerManagerOptions;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

async fn ready_node(client: &kube::Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).expect("node");
    nodes.create(&PostParams::default(), &node).await.expect("node");
    renew(client, name).await;
}

/// One kubelet heartbeat: the Ready condition and the node Lease.
async fn renew(client: &kube::Client, name: &str) {
    let now = jiff::Timestamp::now().to_string();
    let nodes: Api<Node> = Api::all(client.clone());
    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now, "lastTransitionTime": now}]}});
    nodes.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("node status");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now}})).expect("lease");
    match leases.get_opt(name).await.expect("get lease") {
        Some(mut l) => {
            l.spec = lease.spec;
            leases.replace(name, &PostParams::default(), &l).await.expect("renew");
        }
        None => {
            leases.create(&PostParams::default(), &lease).await.expect("lease");
        }
    }
}

async fn pod_on(client: &kube::Client, name: &str, node: &str, tolerations: serde_json::Value) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p: Pod = serde_json::from_value(
        json!({"metadata": {"name": name}, "spec": {"nodeName": node, "tolerations": tolerations,
        "containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .expect("pod");
    pods.create(&PostParams::default(), &p).await.expect("pod");
}

async fn live(client: &kube::Client, name: &str) -> bool {
    Api::<Pod>::namespaced(client.clone(), "default")
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .is_some_and(|p| p.metadata.deletion_timestamp.is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrenewed_leases_taint_nodes_and_evict_pods_after_toleration_seconds() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    ready_node(&client, "alive").await;
    ready_node(&client, "lost").await;
    // Admission (DefaultTolerationSeconds, as upstream) gives a pod without tolerations 300 s
    // on unreachable nodes; "plain" tolerates them for 0 s, so it goes at once.
    pod_on(
        &client,
        "plain",
        "lost",
        json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]),
    )
    .await;
    pod_on(&client, "patient", "lost", json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 3}])).await;
    pod_on(
        &client,
        "forever",
        "lost",
        json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]),
    )
    .await;
    pod_on(&client, "safe", "alive", json!([])).await;
    let _m = Manager::with_options(
        client.clone(),
        ControllerManagerOptions {
            controllers: vec!["nodelifecycle".into()],
            leader_elect: false,
            node_monitor_period: Duration::from_millis(200),
            node_monitor_grace_period: Duration::from_secs(2),
            ..Default::default()
        },
    );
    // "alive" keeps renewing; "lost" stops.
    let heart = tokio::spawn({
        let client = client.clone();
        async move {
            loop {
                renew(&client, "alive").await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let nodes: Api<Node> = Api::all(client.clone());
    let node = wait_for("lost to be Unknown and tainted", || async {
        let n = nodes.get("lost").await.ok()?;
        let taints = n.spec.as_ref()?.taints.clone()?;
        taints.iter().any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == "NoExecute").then_some(n)
    })
    .await;
    let ready = node
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready");
    assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("Unknown", Some("NodeStatusUnknown")));
    assert_eq!(ready.message.as_deref(), Some("Kubelet stopped posting node status."));
    let tainted_at = std::time::Instant::now();
    wait_for("plain evicted", || async { (!live(&client, "plain").await).then_some(()) }).await;
    assert!(live(&client, "patient").await, "tolerationSeconds not yet over");
    wait_for("patient evicted after its tolerationSeconds", || async {
        (!live(&client, "patient").await).then_some(())
    })
    .await;
    assert!(tainted_at.elapsed() >= Duration::from_secs(2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(live(&client, "forever").await && live(&client, "safe").await);
    let alive = nodes.get("alive").await.expect("alive");
    assert!(alive.spec.and_then(|s| s.taints).unwrap_or_default().is_empty());
    heart.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_gc_collects_orphans_and_terminated_pods_past_the_threshold() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    ready_node(&client, "n1").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // Bound to a node that never existed, held by a finalizer so its last state can be seen.
    let orphan: Pod =
        serde_json::from_value(json!({"metadata": {"name": "orphan", "finalizers": ["example.com/hold"]},
        "spec": {"nodeName": "gone", "containers": [{"name": "c", "image": "busybox"}]}}))
        .expect("pod");
    pods.create(&PostParams::default(), &orphan).await.expect("pod");
    pods.patch_status("orphan", &PatchParams::default(), &Patch::Merge(&json!({"status": {"phase": "Running"}})))
        .await
        .expect("status");
    for i in 0..4 {
        pod_on(&client, &format!("done-{i}"), "n1", json!([])).await;
        pods.patch_status(
            &format!("done-{i}"),
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"phase": "Succeeded"}})),
        )
        .await
        .expect("status");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let _m = Manager::with_options(
        client.clone(),
        ControllerManagerOptions {
            controllers: vec!["podgc".into()],
            leader_elect: false,
            terminated_pod_gc_threshold: 2,
            ..Default::default()
        },
    );
    let p = wait_for("the orphan marked Failed and deleted", || async {
        let p = pods.get("orphan").await.ok()?;
        p.metadata.deletion_timestamp.is_some().then_some(p)
    })
    .await;
    let status = p.status.unwrap_or_default();
    assert_eq!(status.phase.as_deref(), Some("Failed"), "a running pod reaches a terminal phase");
    let c = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "DisruptionTarget")
        .expect("DisruptionTarget");
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (Some("DeletionByPodGC"), Some("PodGC: node no longer exists"))
    );
    wait_for("the two oldest terminated pods deleted", || async {
        let mut left: Vec<String> = Vec::new();
        for i in 0..4 {
            if live(&client, &format!("done-{i}")).await {
                left.push(format!("done-{i}"));
            }
        }
        (left == ["done-2", "done-3"]).then_some(())
    })
    .await;
}
