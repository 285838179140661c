//! The disruption controller against a real API server.

use crate::common;

use common::*;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

async fn status(api: &Api<PodDisruptionBudget>, name: &str, want: (i32, i32, i32, i32)) -> PodDisruptionBudget {
    wait_for(&format!("{name} status {want:?}"), || async {
        let p = api.get(name).await.ok()?;
        let s = p.status.clone()?;
        ((s.current_healthy, s.desired_healthy, s.expected_pods, s.disruptions_allowed) == want).then_some(p)
    })
    .await
}

fn allowed_condition(p: &PodDisruptionBudget) -> Option<(String, String)> {
    let c = p.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "DisruptionAllowed")?;
    Some((c.status.clone(), c.reason.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_count_healthy_pods_against_min_available_and_max_unavailable() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["replicaset", "disruption"], None);
    let _kubelet = spawn_kubelet(client.clone(), "default", 2, true);
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    }))
    .expect("rs");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &rs).await.expect("rs");
    let api: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let min: PodDisruptionBudget = serde_json::from_value(
        json!({"metadata": {"name": "min"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}),
    )
    .expect("pdb");
    api.create(&PostParams::default(), &min).await.expect("pdb");
    let pct: PodDisruptionBudget =
        serde_json::from_value(json!({"metadata": {"name": "pct"}, "spec": {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}}})).expect("pdb");
    api.create(&PostParams::default(), &pct).await.expect("pdb");
    // policy/v1: an empty selector selects every pod of the namespace.
    let all: PodDisruptionBudget =
        serde_json::from_value(json!({"metadata": {"name": "all"}, "spec": {"minAvailable": 1, "selector": {}}}))
            .expect("pdb");
    api.create(&PostParams::default(), &all).await.expect("pdb");

    let p = status(&api, "min", (3, 2, 3, 1)).await;
    assert_eq!(allowed_condition(&p), Some(("True".into(), "SufficientPods".into())));
    // 50% of the ReplicaSet's 3, rounded up, may be unavailable: 1 must stay healthy.
    status(&api, "pct", (3, 1, 3, 2)).await;
    status(&api, "all", (3, 1, 3, 2)).await;

    // The controller's scale drives the expected count; unready pods are unhealthy.
    sets.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 2}}))).await.expect("scale");
    let p = status(&api, "min", (2, 2, 2, 0)).await;
    assert_eq!(allowed_condition(&p), Some(("False".into(), "InsufficientPods".into())));
    status(&api, "pct", (2, 1, 2, 1)).await;
    status(&api, "all", (2, 1, 2, 1)).await;
}
