//! The resource quota controller against a real API server: object counts, compute usage from
//! pods, scopes, storage per class, and usage following creations, phase changes, deletions
//! and spec changes.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, ResourceQuota, Service};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

const NS: &str = "quota";

async fn create<K>(client: &Client, v: serde_json::Value) -> K
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).expect("object");
    let api: Api<K> = Api::namespaced(client.clone(), NS);
    api.create(&PostParams::default(), &obj).await.expect("create")
}

async fn delete<K>(client: &Client, name: &str)
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), NS);
    api.delete(name, &DeleteParams::default().grace_period(0)).await.expect("delete");
}

async fn quota(client: &Client, name: &str, spec: serde_json::Value) {
    create::<ResourceQuota>(client, json!({"metadata": {"name": name}, "spec": spec})).await;
}

fn strings(
    m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
) -> Vec<(String, String)> {
    m.into_iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

/// Waits until quota `name` reports exactly `want` as used, with `status.hard` equal to
/// `spec.hard`; the panic names what was last seen.
async fn used(client: &Client, name: &str, want: &[(&str, &str)]) {
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), NS);
    let mut want: Vec<(String, String)> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    want.sort();
    let deadline = Instant::now() + DEADLINE;
    let mut seen = None;
    while Instant::now() < deadline {
        if let Ok(q) = api.get(name).await {
            let status = q.status.clone().unwrap_or_default();
            let hard = strings(q.spec.as_ref().and_then(|s| s.hard.as_ref()));
            let got = strings(status.used.as_ref());
            if got == want && strings(status.hard.as_ref()) == hard {
                return;
            }
            seen = Some((got, strings(status.hard.as_ref())));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("quota {name}: wanted used {want:?}; last saw (used, hard) {seen:?}");
}

async fn start(controllers: &[&str]) -> (Server, Client, Manager) {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_namespace(&client, NS).await;
    let manager = Manager::start(client.clone(), controllers, None);
    (server, client, manager)
}

fn pod_spec(containers: serde_json::Value) -> serde_json::Value {
    json!({"containers": containers})
}

fn container(name: &str, requests: serde_json::Value, limits: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "image": "busybox", "resources": {"requests": requests, "limits": limits}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_counts_follow_creations_deletions_and_spec_changes() {
    let (_server, client, manager) = start(&["resourcequota"]).await;
    quota(
        &client,
        "objects",
        json!({"hard": {
            "pods": "10", "count/pods": "10",
            "configmaps": "10", "count/configmaps": "10",
            "services": "10", "services.nodeports": "10", "services.loadbalancers": "5",
            "count/deployments.apps": "5", "resourcequotas": "3",
            // No evaluator: limited, but never reported as used.
            "count/widgets.example.com": "1",
        }}),
    )
    .await;
    used(
        &client,
        "objects",
        &[
            ("pods", "0"),
            ("count/pods", "0"),
            ("configmaps", "0"),
            ("count/configmaps", "0"),
            ("services", "0"),
            ("services.nodeports", "0"),
            ("services.loadbalancers", "0"),
            ("count/deployments.apps", "0"),
            ("resourcequotas", "1"),
        ],
    )
    .await;

    for name in ["a", "b"] {
        create::<Pod>(
            &client,
            json!({"metadata": {"name": name}, "spec": pod_spec(json!([{"name": "c", "image": "busybox"}]))}),
        )
        .await;
    }
    for name in ["one", "two", "three"] {
        create::<ConfigMap>(&client, json!({"metadata": {"name": name}, "data": {"k": "v"}})).await;
    }
    create::<Service>(&client, json!({"metadata": {"name": "cip"}, "spec": {"ports": [{"port": 80}]}})).await;
    create::<Service>(
        &client,
        json!({"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}}),
    )
    .await;
    create::<Service>(
        &client,
        json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
    )
    .await;
    create::<Deployment>(
        &client,
        json!({"metadata": {"name": "web"}, "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(json!([{"name": "c", "image": "nginx"}]))},
        }}),
    )
    .await;
    quota(&client, "second", json!({"hard": {"configmaps": "1"}})).await;
    used(
        &client,
        "objects",
        &[
            ("pods", "2"),
            ("count/pods", "2"),
            ("configmaps", "3"),
            ("count/configmaps", "3"),
            ("services", "3"),
            ("services.nodeports", "3"),
            ("services.loadbalancers", "1"),
            ("count/deployments.apps", "1"),
            ("resourcequotas", "2"),
        ],
    )
    .await;
    used(&client, "second", &[("configmaps", "3")]).await;

    delete::<ConfigMap>(&client, "two").await;
    delete::<Service>(&client, "lb").await;
    delete::<Deployment>(&client, "web").await;
    delete::<Pod>(&client, "a").await;
    delete::<ResourceQuota>(&client, "second").await;
    used(
        &client,
        "objects",
        &[
            ("pods", "1"),
            ("count/pods", "1"),
            ("configmaps", "2"),
            ("count/configmaps", "2"),
            ("services", "2"),
            ("services.nodeports", "2"),
            ("services.loadbalancers", "0"),
            ("count/deployments.apps", "0"),
            ("resourcequotas", "1"),
        ],
    )
    .await;

    // A new limit is measured at once; a dropped one leaves status.
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), NS);
    api.patch(
        "objects",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"hard": {
            "count/jobs.batch": "2", "secrets": "4",
            "services.nodeports": null, "services.loadbalancers": null, "count/widgets.example.com": null,
        }}})),
    )
    .await
    .expect("patch quota");
    used(
        &client,
        "objects",
        &[
            ("pods", "1"),
            ("count/pods", "1"),
            ("configmaps", "2"),
            ("count/configmaps", "2"),
            ("services", "2"),
            ("count/deployments.apps", "0"),
            ("resourcequotas", "1"),
            ("count/jobs.batch", "0"),
            ("secrets", "0"),
        ],
    )
    .await;
    manager.stop().await.expect("controller manager stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_usage_sums_effective_requests_and_limits_of_charged_pods() {
    let (_server, client, manager) = start(&["resourcequota"]).await;
    create_nodes(&client, 1).await;
    quota(
        &client,
        "compute",
        json!({"hard": {
            "requests.cpu": "10", "requests.memory": "10Gi", "limits.cpu": "20", "limits.memory": "20Gi",
            "cpu": "10", "memory": "10Gi", "pods": "10", "count/pods": "10",
            "requests.ephemeral-storage": "10Gi",
        }}),
    )
    .await;
    used(
        &client,
        "compute",
        &[
            ("requests.cpu", "0"),
            ("requests.memory", "0"),
            ("limits.cpu", "0"),
            ("limits.memory", "0"),
            ("cpu", "0"),
            ("memory", "0"),
            ("pods", "0"),
            ("count/pods", "0"),
            ("requests.ephemeral-storage", "0"),
        ],
    )
    .await;

    // Two app containers: requests 500m+500m and 128Mi+128Mi.
    create::<Pod>(
        &client,
        json!({"metadata": {"name": "a"}, "spec": pod_spec(json!([
            container("one", json!({"cpu": "500m", "memory": "128Mi"}), json!({"cpu": "1", "memory": "256Mi"})),
            container("two", json!({"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "1Gi"}), json!({"cpu": "1", "memory": "256Mi"})),
        ]))}),
    )
    .await;
    // The init container needs more than the app container: it sets the pod's cpu request.
    create::<Pod>(
        &client,
        json!({"metadata": {"name": "b"}, "spec": {
            "initContainers": [container("init", json!({"cpu": "2", "memory": "64Mi"}), json!({"cpu": "2", "memory": "512Mi"}))],
            "containers": [container("app", json!({"cpu": "250m", "memory": "64Mi"}), json!({"cpu": "500m", "memory": "128Mi"}))],
        }}),
    )
    .await;
    used(
        &client,
        "compute",
        &[
            ("requests.cpu", "3"),
            ("requests.memory", "320Mi"),
            ("limits.cpu", "4"),
            ("limits.memory", "1Gi"),
            ("cpu", "3"),
            ("memory", "320Mi"),
            ("pods", "2"),
            ("count/pods", "2"),
            ("requests.ephemeral-storage", "1Gi"),
        ],
    )
    .await;

    // A terminal pod is no longer charged, though it is still an object.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let a = pods.get("a").await.expect("pod a");
    finish_pod(&client, &a, 0).await;
    used(
        &client,
        "compute",
        &[
            ("requests.cpu", "2"),
            ("requests.memory", "64Mi"),
            ("limits.cpu", "2"),
            ("limits.memory", "512Mi"),
            ("cpu", "2"),
            ("memory", "64Mi"),
            ("pods", "1"),
            ("count/pods", "2"),
            ("requests.ephemeral-storage", "0"),
        ],
    )
    .await;

    // A pod whose graceful deletion has run past its grace period (its node is gone) stops
    // being charged while it still exists.
    let b = pods.get("b").await.expect("pod b");
    run_pod(&client, &b, "node-0", true, jiff::Timestamp::now()).await;
    pods.delete("b", &DeleteParams::default().grace_period(1)).await.expect("delete b");
    let b = pods.get("b").await.expect("pod b is still terminating");
    assert!(b.metadata.deletion_timestamp.is_some(), "a bound pod is deleted gracefully");
    used(
        &client,
        "compute",
        &[
            ("requests.cpu", "0"),
            ("requests.memory", "0"),
            ("limits.cpu", "0"),
            ("limits.memory", "0"),
            ("cpu", "0"),
            ("memory", "0"),
            ("pods", "0"),
            ("count/pods", "2"),
            ("requests.ephemeral-storage", "0"),
        ],
    )
    .await;

    pods.delete("b", &DeleteParams::default().grace_period(0)).await.expect("delete b now");
    delete::<Pod>(&client, "a").await;
    used(
        &client,
        "compute",
        &[
            ("requests.cpu", "0"),
            ("requests.memory", "0"),
            ("limits.cpu", "0"),
            ("limits.memory", "0"),
            ("cpu", "0"),
            ("memory", "0"),
            ("pods", "0"),
            ("count/pods", "0"),
            ("requests.ephemeral-storage", "0"),
        ],
    )
    .await;
    manager.stop().await.expect("controller manager stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_quotas_count_only_the_pods_they_select() {
    let (_server, client, manager) = start(&["resourcequota"]).await;
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let high: PriorityClass =
        serde_json::from_value(json!({"metadata": {"name": "high"}, "value": 1000})).expect("class");
    classes.create(&PostParams::default(), &high).await.expect("priority class");

    quota(&client, "best-effort", json!({"hard": {"pods": "10"}, "scopes": ["BestEffort"]})).await;
    quota(
        &client,
        "not-best-effort",
        json!({"hard": {"pods": "10", "requests.cpu": "10"}, "scopes": ["NotBestEffort"]}),
    )
    .await;
    quota(&client, "terminating", json!({"hard": {"pods": "10", "requests.cpu": "10"}, "scopes": ["Terminating"]}))
        .await;
    quota(&client, "not-terminating", json!({"hard": {"pods": "10"}, "scopes": ["NotTerminating"]})).await;
    quota(
        &client,
        "high",
        json!({"hard": {"pods": "10", "requests.memory": "1Gi"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}),
    )
    .await;
    quota(
        &client,
        "unprioritized",
        json!({"hard": {"pods": "10"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "DoesNotExist"}]}}),
    )
    .await;

    create::<Pod>(
        &client,
        json!({"metadata": {"name": "be"}, "spec": pod_spec(json!([{"name": "c", "image": "busybox"}]))}),
    )
    .await;
    create::<Pod>(
        &client,
        json!({"metadata": {"name": "burst"}, "spec": {
            "priorityClassName": "high",
            "containers": [container("c", json!({"cpu": "100m", "memory": "64Mi"}), json!({}))],
        }}),
    )
    .await;
    create::<Pod>(
        &client,
        json!({"metadata": {"name": "deadline"}, "spec": {
            "activeDeadlineSeconds": 600,
            "containers": [container("c", json!({"cpu": "200m"}), json!({}))],
        }}),
    )
    .await;

    used(&client, "best-effort", &[("pods", "1")]).await;
    used(&client, "not-best-effort", &[("pods", "2"), ("requests.cpu", "300m")]).await;
    used(&client, "terminating", &[("pods", "1"), ("requests.cpu", "200m")]).await;
    used(&client, "not-terminating", &[("pods", "2")]).await;
    used(&client, "high", &[("pods", "1"), ("requests.memory", "64Mi")]).await;
    used(&client, "unprioritized", &[("pods", "2")]).await;

    delete::<Pod>(&client, "burst").await;
    delete::<Pod>(&client, "be").await;
    used(&client, "best-effort", &[("pods", "0")]).await;
    used(&client, "not-best-effort", &[("pods", "1"), ("requests.cpu", "200m")]).await;
    used(&client, "not-terminating", &[("pods", "0")]).await;
    used(&client, "high", &[("pods", "0"), ("requests.memory", "0")]).await;
    used(&client, "unprioritized", &[("pods", "1")]).await;
    manager.stop().await.expect("controller manager stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_charge_storage_overall_and_per_storage_class() {
    let (_server, client, manager) = start(&["resourcequota-controller"]).await;
    quota(
        &client,
        "storage",
        json!({"hard": {
            "persistentvolumeclaims": "10", "requests.storage": "100Gi",
            "gold.storageclass.storage.k8s.io/requests.storage": "10Gi",
            "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "5",
            "silver.storageclass.storage.k8s.io/requests.storage": "10Gi",
        }}),
    )
    .await;
    let claim = |name: &str, class: &str, size: &str| {
        json!({"metadata": {"name": name}, "spec": {
            "storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
        }})
    };
    create::<PersistentVolumeClaim>(&client, claim("g1", "gold", "1Gi")).await;
    create::<PersistentVolumeClaim>(&client, claim("g2", "gold", "512Mi")).await;
    create::<PersistentVolumeClaim>(&client, claim("s1", "silver", "2Gi")).await;
    used(
        &client,
        "storage",
        &[
            ("persistentvolumeclaims", "3"),
            ("requests.storage", "3584Mi"),
            ("gold.storageclass.storage.k8s.io/requests.storage", "1536Mi"),
            ("gold.storageclass.storage.k8s.io/persistentvolumeclaims", "2"),
            ("silver.storageclass.storage.k8s.io/requests.storage", "2Gi"),
        ],
    )
    .await;

    delete::<PersistentVolumeClaim>(&client, "g1").await;
    used(
        &client,
        "storage",
        &[
            ("persistentvolumeclaims", "2"),
            ("requests.storage", "2560Mi"),
            ("gold.storageclass.storage.k8s.io/requests.storage", "512Mi"),
            ("gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1"),
            ("silver.storageclass.storage.k8s.io/requests.storage", "2Gi"),
        ],
    )
    .await;
    manager.stop().await.expect("controller manager stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_resync_repairs_a_status_written_by_someone_else() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    create_namespace(&client, NS).await;
    let options = krs_controllers::ControllerManagerOptions {
        controllers: vec!["resourcequota".into()],
        leader_elect: false,
        resource_quota_sync_period: Duration::from_secs(2),
        ..Default::default()
    };
    let manager = Manager::with_options(client.clone(), options);
    quota(&client, "objects", json!({"hard": {"configmaps": "5"}})).await;
    create::<ConfigMap>(&client, json!({"metadata": {"name": "one"}})).await;
    used(&client, "objects", &[("configmaps", "1")]).await;

    // A status update is the controller's own business, so no event triggers a sync: only the
    // full resync puts the real usage back.
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), NS);
    let mut q = api.get("objects").await.expect("quota");
    if let Some(s) = q.status.as_mut() {
        s.used = Some(BTreeMap::from([(
            "configmaps".to_string(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("4".into()),
        )]));
    }
    api.replace_status("objects", &PostParams::default(), &q).await.expect("overwrite status");
    used(&client, "objects", &[("configmaps", "1")]).await;
    manager.stop().await.expect("controller manager stops cleanly");
}

/// With the API server's quota admission: the controller's status lets the first pod in and
/// keeps the second out (upstream's message), and a deletion frees the room once the
/// controller has counted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_keeps_pods_out_until_a_deletion_frees_room() {
    let (_server, client, manager) = start(&["resourcequota"]).await;
    quota(&client, "one-pod", json!({"hard": {"pods": "1"}})).await;
    used(&client, "one-pod", &[("pods", "0")]).await;
    let pod =
        |name: &str| json!({"metadata": {"name": name}, "spec": pod_spec(json!([{"name": "c", "image": "busybox"}]))});
    create::<Pod>(&client, pod("first")).await;
    // Charged at admission, before the controller recounts.
    used(&client, "one-pod", &[("pods", "1")]).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let second: Pod = serde_json::from_value(pod("second")).expect("pod");
    match pods.create(&PostParams::default(), &second).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403);
            assert_eq!(
                status.message,
                "pods \"second\" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1"
            );
        }
        other => panic!("the second pod was not forbidden: {other:?}"),
    }
    delete::<Pod>(&client, "first").await;
    used(&client, "one-pod", &[("pods", "0")]).await;
    create::<Pod>(&client, pod("second")).await;
    used(&client, "one-pod", &[("pods", "1")]).await;
    manager.stop().await.expect("controller manager stops cleanly");
}
