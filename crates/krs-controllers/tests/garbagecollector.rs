//! The garbage collector against a real API server: background, foreground and orphan
//! propagation, dangling references, and a Deployment's whole tree.

use crate::common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;

async fn configmap(api: &Api<ConfigMap>, name: &str, owner: Option<&ConfigMap>, finalizers: &[&str]) -> ConfigMap {
    let mut cm = json!({"metadata": {"name": name, "finalizers": finalizers}});
    if let Some(o) = owner {
        cm["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid,
            "blockOwnerDeletion": true
        }]);
    }
    api.create(&PostParams::default(), &serde_json::from_value(cm).expect("configmap")).await.expect("create configmap")
}

async fn gone(api: &Api<ConfigMap>, name: &str) {
    wait_for(&format!("{name} to be deleted"), || async {
        api.get_opt(name).await.ok().and_then(|o| o.is_none().then_some(()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_foreground_and_orphan_propagation() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = Manager::start(client.clone(), &["garbagecollector"], None);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Background: the owner goes at once, its dependents after.
    let owner = configmap(&cms, "bg-owner", None, &[]).await;
    configmap(&cms, "bg-dep-1", Some(&owner), &[]).await;
    configmap(&cms, "bg-dep-2", Some(&owner), &[]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cms.get_opt("bg-dep-1").await.expect("get").is_some(), "a dependent of a live owner stays");
    cms.delete("bg-owner", &DeleteParams::background()).await.expect("delete");
    gone(&cms, "bg-dep-1").await;
    gone(&cms, "bg-dep-2").await;

    // A reference to an owner that never existed is dangling: the object is collected.
    let ghost: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000001"}}))
            .expect("cm");
    configmap(&cms, "dangling", Some(&ghost), &[]).await;
    gone(&cms, "dangling").await;

    // Foreground: the owner waits, with the foregroundDeletion finalizer, until its blocking
    // dependent is gone; the dependent here is held by a finalizer of its own.
    let owner = configmap(&cms, "fg-owner", None, &[]).await;
    configmap(&cms, "fg-dep", Some(&owner), &["example.com/hold"]).await;
    cms.delete("fg-owner", &DeleteParams::foreground()).await.expect("delete");
    wait_for("the dependent to be deleting", || async {
        cms.get_opt("fg-dep").await.ok().flatten().and_then(|d| d.metadata.deletion_timestamp)
    })
    .await;
    let o = cms.get("fg-owner").await.expect("the owner waits for its dependent");
    assert!(o.metadata.finalizers.iter().flatten().any(|f| f == "foregroundDeletion"));
    assert!(o.metadata.deletion_timestamp.is_some());
    cms.patch("fg-dep", &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"finalizers": null}})))
        .await
        .expect("release dependent");
    gone(&cms, "fg-dep").await;
    gone(&cms, "fg-owner").await;

    // Orphan: the owner goes, the dependent stays without the reference.
    let owner = configmap(&cms, "or-owner", None, &[]).await;
    configmap(&cms, "or-dep", Some(&owner), &[]).await;
    let dp = DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..Default::default() };
    cms.delete("or-owner", &dp).await.expect("delete");
    gone(&cms, "or-owner").await;
    let dep = cms.get("or-dep").await.expect("the dependent is orphaned, not deleted");
    assert!(dep.metadata.owner_references.unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_deployment_removes_its_replicasets_and_pods() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = Manager::start(client.clone(), &["garbagecollector", "deployment", "replicaset"], None);
    kubectl_ok(&server, &["create", "deployment", "tree", "--image=nginx", "--replicas=2"]).await;
    wait_for("two pods", || async { (list_pods(&client, "default", "app=tree").await.len() == 2).then_some(()) }).await;
    kubectl_ok(&server, &["delete", "deployment", "tree", "--cascade=foreground", "--timeout=60s"]).await;
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    wait_for("the tree to be gone", || async {
        let rs = sets.list(&ListParams::default().labels("app=tree")).await.ok()?;
        (rs.items.is_empty() && list_pods(&client, "default", "app=tree").await.is_empty()).then_some(())
    })
    .await;
    assert!(Api::<Deployment>::namespaced(client.clone(), "default").get_opt("tree").await.expect("get").is_none());
}
