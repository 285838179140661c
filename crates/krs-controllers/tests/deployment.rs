//! The Deployment controller against a real API server, driven by the pinned kubectl.

use crate::common;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn progressing_reason(d: &Deployment) -> Option<String> {
    d.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Progressing").and_then(|c| c.reason.clone())
}

async fn replicasets(client: &kube::Client, app: &str) -> Vec<ReplicaSet> {
    Api::<ReplicaSet>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list rs")
        .items
}

fn revision(rs: &ReplicaSet) -> String {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .cloned()
        .unwrap_or_default()
}

fn image(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_history_undo_and_wait_work_with_kubectl() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 3).await;
    let _m = Manager::start(client.clone(), &["replicaset", "deployment"], None);
    let _kubelet = spawn_kubelet(client.clone(), "default", 3, true);

    kubectl_ok(&server, &["create", "deployment", "web", "--image=nginx:1.0", "--replicas=3"]).await;
    let out = kubectl_ok(&server, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(out.contains("deployment \"web\" successfully rolled out"), "{out}");
    kubectl_ok(&server, &["wait", "--for=condition=Available", "deployment/web", "--timeout=60s"]).await;

    kubectl_ok(&server, &["set", "image", "deployment/web", "nginx=nginx:2.0"]).await;
    let out = kubectl_ok(&server, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let sets = replicasets(&client, "web").await;
    assert_eq!(sets.len(), 2, "one ReplicaSet per revision");
    let old = sets.iter().find(|r| image(r) == "nginx:1.0").expect("revision 1");
    let new = sets.iter().find(|r| image(r) == "nginx:2.0").expect("revision 2");
    assert_eq!((revision(old).as_str(), revision(new).as_str()), ("1", "2"));
    assert_eq!(old.spec.as_ref().and_then(|s| s.replicas), Some(0), "the old revision is scaled down");
    let hash = new.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash")).cloned().unwrap_or_default();
    assert!(new.metadata.name.as_deref().unwrap_or_default().ends_with(&hash) && !hash.is_empty());

    let history = kubectl_ok(&server, &["rollout", "history", "deployment/web"]).await;
    assert!(
        history.lines().any(|l| l.trim_start().starts_with('1'))
            && history.lines().any(|l| l.trim_start().starts_with('2')),
        "{history}"
    );

    kubectl_ok(&server, &["rollout", "undo", "deployment/web"]).await;
    let out = kubectl_ok(&server, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let sets = replicasets(&client, "web").await;
    assert_eq!(sets.len(), 2, "rollback reuses the revision-1 ReplicaSet");
    let back = sets.iter().find(|r| image(r) == "nginx:1.0").expect("rolled back");
    assert_eq!(revision(back), "3");
    assert_eq!(
        back.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deployment.kubernetes.io/revision-history"))
            .map(String::as_str),
        Some("1")
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = deployments.get("web").await.expect("deployment");
    assert_eq!(progressing_reason(&d).as_deref(), Some("NewReplicaSetAvailable"));
    let status = d.status.clone().unwrap_or_default();
    assert_eq!((status.replicas, status.updated_replicas, status.available_replicas), (Some(3), Some(3), Some(3)));

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.expect("events");
    assert!(list.items.iter().any(|e| {
        e.reason.as_deref() == Some("ScalingReplicaSet")
            && e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("Scaled up replica set web-") && n.ends_with("from 0 to 3"))
    }));
}

fn deployment(name: &str, replicas: i32, strategy: serde_json::Value, extra: serde_json::Value) -> Deployment {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}
        }
    });
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(v).expect("deployment")
}

async fn set_image(api: &Api<Deployment>, name: &str, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch)).await.expect("set image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_pause_history_limit_and_progress_deadline() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 2).await;
    let _m = Manager::start(client.clone(), &["replicaset", "deployment"], None);
    let _kubelet = spawn_kubelet(client.clone(), "default", 2, true);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");

    // Recreate with revisionHistoryLimit 1: after three templates, two ReplicaSets remain.
    api.create(
        &PostParams::default(),
        &deployment("re", 2, json!({"type": "Recreate"}), json!({"revisionHistoryLimit": 1})),
    )
    .await
    .expect("create");
    kubectl_ok(&server, &["rollout", "status", "deployment/re", "--timeout=60s"]).await;
    set_image(&api, "re", "img:2").await;
    kubectl_ok(&server, &["rollout", "status", "deployment/re", "--timeout=60s"]).await;
    set_image(&api, "re", "img:3").await;
    kubectl_ok(&server, &["rollout", "status", "deployment/re", "--timeout=60s"]).await;
    wait_for("old revisions pruned to the history limit", || async {
        let sets = replicasets(&client, "re").await;
        let mut images: Vec<String> = sets.iter().map(image).collect();
        images.sort();
        (images == ["img:2", "img:3"]).then_some(())
    })
    .await;

    // Paused: a template change makes no new ReplicaSet until resumed.
    api.create(&PostParams::default(), &deployment("pz", 2, json!({"type": "RollingUpdate"}), json!({})))
        .await
        .expect("create");
    kubectl_ok(&server, &["rollout", "status", "deployment/pz", "--timeout=60s"]).await;
    kubectl_ok(&server, &["rollout", "pause", "deployment/pz"]).await;
    set_image(&api, "pz", "img:2").await;
    wait_for("the DeploymentPaused condition", || async {
        (progressing_reason(&api.get("pz").await.ok()?).as_deref() == Some("DeploymentPaused")).then_some(())
    })
    .await;
    assert_eq!(replicasets(&client, "pz").await.len(), 1, "no rollout while paused");
    kubectl_ok(&server, &["rollout", "resume", "deployment/pz"]).await;
    kubectl_ok(&server, &["rollout", "status", "deployment/pz", "--timeout=60s"]).await;
    assert_eq!(replicasets(&client, "pz").await.len(), 2);

    // Pods that never become ready: the rollout times out after progressDeadlineSeconds.
    let ns = "slow";
    create_namespace(&client, ns).await;
    let _stuck = spawn_kubelet(client.clone(), ns, 2, false);
    let slow: Api<Deployment> = Api::namespaced(client.clone(), ns);
    slow.create(
        &PostParams::default(),
        &deployment("slow", 1, json!({"type": "RollingUpdate"}), json!({"progressDeadlineSeconds": 2})),
    )
    .await
    .expect("create");
    let d = wait_for("ProgressDeadlineExceeded", || async {
        let d = slow.get("slow").await.ok()?;
        (progressing_reason(&d).as_deref() == Some("ProgressDeadlineExceeded")).then_some(d)
    })
    .await;
    let available = d
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Available").cloned())
        .expect("Available");
    assert_eq!((available.status.as_str(), available.reason.as_deref()), ("False", Some("MinimumReplicasUnavailable")));
    let out = kubectl(&server, &["rollout", "status", "deployment/slow", "-n", ns, "--timeout=20s"]).await;
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("exceeded its progress deadline"),
        "{out:?}"
    );
}
