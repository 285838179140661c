//! The StatefulSet controller against a real API server.

use crate::common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn statefulset(name: &str, replicas: i32, extra: serde_json::Value) -> StatefulSet {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}
        }
    });
    if let (Some(s), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(v).expect("statefulset")
}

async fn pods_of(client: &kube::Client, app: &str) -> Vec<Pod> {
    let mut pods: Vec<Pod> = list_pods(client, "default", &format!("app={app}"))
        .await
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    pods.sort_by_key(|p| p.metadata.name.clone());
    pods
}

fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter().filter_map(|p| p.metadata.name.clone()).collect()
}

fn image(p: &Pod) -> String {
    p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

async fn set_image(api: &Api<StatefulSet>, name: &str, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch)).await.expect("set image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_ready_creation_identity_storage_and_scale_down_retention() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["statefulset", "garbagecollector"], None);
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let claims = json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]);
    let retention = json!({"whenDeleted": "Retain", "whenScaled": "Delete"});
    api.create(
        &PostParams::default(),
        &statefulset(
            "web",
            3,
            json!({"volumeClaimTemplates": claims, "persistentVolumeClaimRetentionPolicy": retention}),
        ),
    )
    .await
    .expect("create");
    // OrderedReady: web-1 waits for web-0 to be running and ready.
    wait_for("web-0", || async { (names(&pods_of(&client, "web").await) == ["web-0"]).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(names(&pods_of(&client, "web").await), ["web-0"], "no web-1 before web-0 is ready");
    let _kubelet = spawn_kubelet(client.clone(), "default", 2, true);
    let pods = wait_for("three ready pods", || async {
        let pods = pods_of(&client, "web").await;
        (names(&pods) == ["web-0", "web-1", "web-2"]).then_some(pods)
    })
    .await;
    for (i, p) in pods.iter().enumerate() {
        let spec = p.spec.clone().unwrap_or_default();
        assert_eq!(spec.hostname, Some(format!("web-{i}")));
        assert_eq!(spec.subdomain.as_deref(), Some("web"));
        let labels = p.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("statefulset.kubernetes.io/pod-name"), Some(&format!("web-{i}")));
        assert_eq!(labels.get("apps.kubernetes.io/pod-index"), Some(&i.to_string()));
        let vol = spec.volumes.unwrap_or_default().into_iter().find(|v| v.name == "data").expect("claim volume");
        assert_eq!(vol.persistent_volume_claim.map(|c| c.claim_name), Some(format!("data-web-{i}")));
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    for i in 0..3 {
        assert!(pvcs.get_opt(&format!("data-web-{i}")).await.expect("get").is_some(), "claim of web-{i}");
    }
    wait_for("status ready 3", || async {
        (api.get("web").await.ok()?.status?.ready_replicas == Some(3)).then_some(())
    })
    .await;

    // Scale down: highest ordinal first; whenScaled=Delete removes the condemned pods' claims.
    api.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 1}}))).await.expect("scale");
    wait_for("web-0 alone", || async { (names(&pods_of(&client, "web").await) == ["web-0"]).then_some(()) }).await;
    wait_for("the condemned claims deleted", || async {
        let list = pvcs.list(&ListParams::default()).await.ok()?;
        let left: Vec<String> = list
            .items
            .into_iter()
            .filter(|c| c.metadata.deletion_timestamp.is_none())
            .filter_map(|c| c.metadata.name)
            .collect();
        (left == ["data-web-0"]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_with_partition_then_full_rollout() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["statefulset"], None);
    let _kubelet = spawn_kubelet(client.clone(), "default", 2, true);
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
    api.create(&PostParams::default(), &statefulset("db", 3, json!({"updateStrategy": strategy})))
        .await
        .expect("create");
    kubectl_ok(&server, &["rollout", "status", "statefulset/db", "--timeout=60s"]).await;
    set_image(&api, "db", "img:2").await;
    let out = kubectl_ok(&server, &["rollout", "status", "statefulset/db", "--timeout=60s"]).await;
    assert!(out.contains("partitioned roll out complete"), "{out}");
    let pods = pods_of(&client, "db").await;
    assert_eq!(
        pods.iter().map(image).collect::<Vec<_>>(),
        ["img:1", "img:2", "img:2"],
        "ordinals below the partition keep the old revision"
    );
    api.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})),
    )
    .await
    .expect("partition");
    let out = kubectl_ok(&server, &["rollout", "status", "statefulset/db", "--timeout=60s"]).await;
    assert!(out.contains("roll out complete"), "{out}");
    let s = api.get("db").await.expect("set").status.unwrap_or_default();
    assert_eq!(s.current_revision, s.update_revision);
    assert_eq!(s.updated_replicas, Some(3));
    assert!(pods_of(&client, "db").await.iter().all(|p| image(p) == "img:2"));
    let history = kubectl_ok(&server, &["rollout", "history", "statefulset/db"]).await;
    assert!(history.contains('1') && history.contains('2'), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_start_ordinal_and_on_delete() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["statefulset"], None);
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let extra =
        json!({"podManagementPolicy": "Parallel", "ordinals": {"start": 5}, "updateStrategy": {"type": "OnDelete"}});
    api.create(&PostParams::default(), &statefulset("par", 3, extra)).await.expect("create");
    // Parallel: all three exist before any is ready (no kubelet yet).
    wait_for("par-5..7", || async {
        (names(&pods_of(&client, "par").await) == ["par-5", "par-6", "par-7"]).then_some(())
    })
    .await;
    let _kubelet = spawn_kubelet(client.clone(), "default", 2, true);
    wait_for("ready", || async { (api.get("par").await.ok()?.status?.ready_replicas == Some(3)).then_some(()) }).await;
    set_image(&api, "par", "img:2").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(pods_of(&client, "par").await.iter().all(|p| image(p) == "img:1"), "OnDelete leaves running pods alone");
    Api::<Pod>::namespaced(client.clone(), "default").delete("par-6", &Default::default()).await.expect("delete");
    wait_for("par-6 recreated at the new revision", || async {
        pods_of(&client, "par")
            .await
            .into_iter()
            .find(|p| p.metadata.name.as_deref() == Some("par-6") && image(p) == "img:2")
    })
    .await;
    assert_eq!(pods_of(&client, "par").await.iter().map(image).collect::<Vec<_>>(), ["img:1", "img:2", "img:1"]);
}
