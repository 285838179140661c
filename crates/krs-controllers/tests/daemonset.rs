//! The DaemonSet controller against a real API server.

use crate::common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

fn pinned_node(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| {
            s.node_name.clone().or_else(|| {
                s.affinity
                    .as_ref()?
                    .node_affinity
                    .as_ref()?
                    .required_during_scheduling_ignored_during_execution
                    .as_ref()?
                    .node_selector_terms[0]
                    .match_fields
                    .as_ref()?
                    .first()?
                    .values
                    .as_ref()?
                    .first()
                    .cloned()
            })
        })
        .unwrap_or_default()
}

async fn daemon_pods(client: &kube::Client) -> Vec<Pod> {
    list_pods(client, "default", "app=agent")
        .await
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

async fn nodes_with_pods(client: &kube::Client) -> Vec<String> {
    let mut n: Vec<String> = daemon_pods(client).await.iter().map(pinned_node).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_per_eligible_node_and_rolling_update() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let mk = |name: &str, labels: serde_json::Value, taints: serde_json::Value| -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}))
            .expect("node")
    };
    nodes.create(&PostParams::default(), &mk("node-0", json!({"disk": "ssd"}), json!([]))).await.expect("node");
    nodes
        .create(
            &PostParams::default(),
            &mk("node-1", json!({"disk": "ssd"}), json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])),
        )
        .await
        .expect("node");
    nodes.create(&PostParams::default(), &mk("node-2", json!({"disk": "hdd"}), json!([]))).await.expect("node");
    nodes
        .create(
            &PostParams::default(),
            &mk("node-3", json!({"disk": "ssd"}), json!([{"key": "gpu", "effect": "NoSchedule"}])),
        )
        .await
        .expect("node");
    let _m = Manager::start(client.clone(), &["daemonset"], None);
    let _kubelet = spawn_kubelet(client.clone(), "default", 4, true);
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}},
                "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "containers": [{"name": "c", "image": "agent:1"}]}}
        }
    }))
    .expect("daemonset");
    api.create(&PostParams::default(), &ds).await.expect("create");
    // ssd nodes, minus the one whose taint is not tolerated.
    wait_for("pods on node-0 and node-3", || async {
        (nodes_with_pods(&client).await == ["node-0", "node-3"]).then_some(())
    })
    .await;
    let pods = daemon_pods(&client).await;
    let tolerations = pods[0].spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    assert!(tolerations.iter().any(
        |t| t.key.as_deref() == Some("node.kubernetes.io/unreachable") && t.effect.as_deref() == Some("NoExecute")
    ));
    wait_for("status", || async {
        let s = api.get("agent").await.ok()?.status?;
        (s.desired_number_scheduled == 2 && s.number_ready == 2 && s.current_number_scheduled == 2).then_some(())
    })
    .await;

    // A node that becomes eligible gets a pod; a NoExecute taint removes it.
    nodes
        .patch("node-2", &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"labels": {"disk": "ssd"}}})))
        .await
        .expect("label");
    wait_for("a pod on node-2", || async {
        (nodes_with_pods(&client).await == ["node-0", "node-2", "node-3"]).then_some(())
    })
    .await;
    nodes
        .patch(
            "node-0",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"taints": [{"key": "evict", "effect": "NoExecute"}]}})),
        )
        .await
        .expect("taint");
    wait_for("node-0's pod evicted", || async {
        (nodes_with_pods(&client).await == ["node-2", "node-3"]).then_some(())
    })
    .await;

    // Rolling update, one node at a time.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "agent:2"}]}}}});
    api.patch("agent", &PatchParams::default(), &Patch::Strategic(&patch)).await.expect("update");
    let mut max_old_missing = 0;
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let pods = daemon_pods(&client).await;
        let new = pods
            .iter()
            .filter(|p| p.spec.as_ref().is_some_and(|s| s.containers[0].image.as_deref() == Some("agent:2")))
            .count();
        max_old_missing = max_old_missing.max(2usize.saturating_sub(pods.len()));
        if new == 2 && pods.len() == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rolling update did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(max_old_missing <= 1, "maxUnavailable 1: at most one node without a pod");
    wait_for("updatedNumberScheduled 2", || async {
        (api.get("agent").await.ok()?.status?.updated_number_scheduled == Some(2)).then_some(())
    })
    .await;
}
