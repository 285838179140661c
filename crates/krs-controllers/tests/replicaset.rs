//! The ReplicaSet and ReplicationController controller against a real API server.

use crate::common;

use std::time::Duration;

use common::*;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn replicaset(name: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    }))
    .expect("replicaset")
}

async fn scale(api: &Api<ReplicaSet>, name: &str, replicas: i32) {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": replicas}})))
        .await
        .expect("scale");
}

async fn active_pods(client: &kube::Client, app: &str) -> Vec<Pod> {
    list_pods(client, "default", &format!("app={app}"))
        .await
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

async fn wait_pods(client: &kube::Client, app: &str, n: usize) -> Vec<Pod> {
    wait_for(&format!("{n} pods of {app}"), || async {
        let pods = active_pods(client, app).await;
        (pods.len() == n).then_some(pods)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_creates_owned_pods_once_and_reports_status() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["replicaset"], None);
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs = api.create(&PostParams::default(), &replicaset("web", 5)).await.expect("create rs");
    let pods = wait_pods(&client, "web", 5).await;
    for p in &pods {
        let owner = p.metadata.owner_references.as_ref().and_then(|o| o.first()).expect("owner reference");
        assert_eq!(owner.uid, rs.metadata.uid.clone().unwrap_or_default());
        assert_eq!(owner.controller, Some(true));
        assert!(p.metadata.name.as_deref().unwrap_or_default().starts_with("web-"));
    }
    // Expectations: no further creates once the five are observed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(active_pods(&client, "web").await.len(), 5, "no double creates");
    for (i, p) in pods.iter().enumerate() {
        run_pod(&client, p, &format!("node-{}", i % 2), true, Timestamp::now()).await;
    }
    wait_for("readyReplicas 5", || async {
        let s = api.get("web").await.ok()?.status?;
        (s.ready_replicas == Some(5) && s.available_replicas == Some(5) && s.fully_labeled_replicas == Some(5))
            .then_some(())
    })
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    wait_for("SuccessfulCreate events", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let n = list
            .items
            .iter()
            .filter(|e| {
                e.reason.as_deref() == Some("SuccessfulCreate")
                    && e.reporting_controller.as_deref() == Some("replicaset-controller")
            })
            .count();
        (n == 5).then_some(())
    })
    .await;
    // A deleted pod is replaced.
    let victim = pods[0].metadata.name.clone().unwrap_or_default();
    Api::<Pod>::namespaced(client.clone(), "default").delete(&victim, &Default::default()).await.expect("delete pod");
    wait_for("a replacement", || async {
        let pods = active_pods(&client, "web").await;
        (pods.len() == 5 && pods.iter().all(|p| p.metadata.name.as_deref() != Some(victim.as_str()))).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_down_honours_deletion_cost_then_logarithmic_age_buckets() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 1).await;
    let _m = Manager::start(client.clone(), &["replicaset"], None);
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &replicaset("web", 4)).await.expect("create rs");
    let mut pods = wait_pods(&client, "web", 4).await;
    pods.sort_by_key(|p| p.metadata.uid.clone());
    let now = Timestamp::now();
    // pods[0] (smallest UID) ready 70 min ago and pods[1] 40 min ago: the same power-of-two
    // bucket of age, so UID order decides and pods[0] goes before the more recently ready one.
    // pods[2] became ready 1 min ago: the youngest bucket. pods[3] is the most recently ready
    // but the dearest to delete.
    let since = [70 * 60, 40 * 60, 60, 1];
    for (p, s) in pods.iter().zip(since) {
        run_pod(&client, p, "node-0", true, now - SignedDuration::from_secs(s)).await;
    }
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let cost = json!({"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "1000"}}});
    pods_api
        .patch(pods[3].metadata.name.as_deref().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&cost))
        .await
        .expect("cost");
    let names: Vec<String> = pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect();
    wait_for("ready status", || async { (api.get("web").await.ok()?.status?.ready_replicas == Some(4)).then_some(()) })
        .await;

    let survivors = |pods: Vec<Pod>| pods.into_iter().map(|p| p.metadata.name.unwrap_or_default()).collect::<Vec<_>>();
    scale(&api, "web", 3).await;
    let left = survivors(wait_pods(&client, "web", 3).await);
    assert!(!left.contains(&names[2]), "the most recently ready pod without cost goes first: {left:?}");
    scale(&api, "web", 2).await;
    let left = survivors(wait_pods(&client, "web", 2).await);
    assert!(!left.contains(&names[0]), "same age bucket: the smaller UID goes first: {left:?}");
    scale(&api, "web", 1).await;
    let left = survivors(wait_pods(&client, "web", 1).await);
    assert_eq!(left, vec![names[3].clone()], "the pod with the highest deletion cost stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_adopted_and_replication_controllers_work_alike() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "labels": {"app": "legacy"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .expect("pod");
    pods_api.create(&PostParams::default(), &orphan).await.expect("orphan");
    let _m = Manager::start(client.clone(), &["replicationcontroller"], None);
    let rcs: Api<ReplicationController> = Api::namespaced(client.clone(), "default");
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "legacy"},
        "spec": {"replicas": 2, "selector": {"app": "legacy"}, "template": {
            "metadata": {"labels": {"app": "legacy"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .expect("rc");
    let rc = rcs.create(&PostParams::default(), &rc).await.expect("create rc");
    let pods = wait_pods(&client, "legacy", 2).await;
    let adopted = pods.iter().find(|p| p.metadata.name.as_deref() == Some("orphan")).expect("the orphan is kept");
    let owner = adopted.metadata.owner_references.as_ref().and_then(|o| o.first()).expect("adopted");
    assert_eq!((owner.kind.as_str(), Some(owner.uid.clone())), ("ReplicationController", rc.metadata.uid.clone()));
    wait_for("rc status", || async { (rcs.get("legacy").await.ok()?.status?.replicas == 2).then_some(()) }).await;
}
