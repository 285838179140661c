//! Discovery: aggregated discovery (apidiscovery.k8s.io/v2) of /api and /apis, and what
//! kubectl builds from discovery: `api-resources` with short names, `get all`; the server's
//! /metrics.

use crate::common;

use common::http::Api;
use common::{Kubectl, table};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    aggregated_discovery_v2_of_api_and_apis,
    kubectl_api_resources_lists_short_names,
    kubectl_get_all_lists_workloads_and_services,
    metrics_count_requests_and_stored_objects,
);

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    kubectl_api_resources_lists_short_names,
    kubectl_get_all_lists_workloads_and_services,
);

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// The resource `name` of version `version` in an aggregated discovery document.
fn resource<'a>(doc: &'a Value, group: &str, version: &str, name: &str) -> &'a Value {
    let items = doc["items"].as_array().unwrap_or_else(|| panic!("no items: {doc}"));
    let g = items
        .iter()
        .find(|g| g["metadata"]["name"].as_str().unwrap_or_default() == group)
        .unwrap_or_else(|| panic!("no group {group:?} in discovery"));
    let v = g["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["version"] == version)
        .unwrap_or_else(|| panic!("no {group}/{version}: {g}"));
    v["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["resource"] == name)
        .unwrap_or_else(|| panic!("no {name} in {group}/{version}"))
}

fn aggregated_discovery_v2_of_api_and_apis(k: &Kubectl) {
    let api = Api::new(k.cluster);
    for path in ["/api", "/apis"] {
        let r = api.request("GET", path, None, None, Some(&format!("{AGGREGATED_V2},application/json")));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), AGGREGATED_V2, "{path}");
        let doc = r.json();
        assert_eq!(
            (&doc["apiVersion"], &doc["kind"]),
            (&json!("apidiscovery.k8s.io/v2"), &json!("APIGroupDiscoveryList")),
            "{path}"
        );
    }
    let core = api.request("GET", "/api", None, None, Some(AGGREGATED_V2)).json();
    let pods = resource(&core, "", "v1", "pods");
    assert_eq!(pods["shortNames"], json!(["po"]), "{pods}");
    assert_eq!(pods["scope"], "Namespaced", "{pods}");
    assert_eq!(pods["singularResource"], "pod", "{pods}");
    // Group and version are empty unless they differ from the resource's (installer.go: only
    // storages that are GroupVersionKindProviders, like scale and eviction, set them).
    assert_eq!(pods["responseKind"], json!({"group": "", "version": "", "kind": "Pod"}), "{pods}");
    let verbs: Vec<&str> = pods["verbs"].as_array().expect("verbs").iter().filter_map(Value::as_str).collect();
    for verb in ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] {
        assert!(verbs.contains(&verb), "pods cannot {verb}: {verbs:?}");
    }
    assert_eq!(pods["categories"], json!(["all"]), "{pods}");
    let subresources: Vec<&str> = pods["subresources"]
        .as_array()
        .expect("subresources")
        .iter()
        .filter_map(|s| s["subresource"].as_str())
        .collect();
    for sub in ["binding", "eviction", "status"] {
        assert!(subresources.contains(&sub), "no pods/{sub}: {subresources:?}");
    }
    assert_eq!(resource(&core, "", "v1", "services")["shortNames"], json!(["svc"]));
    assert_eq!(resource(&core, "", "v1", "namespaces")["scope"], "Cluster");

    let apis = api.request("GET", "/apis", None, None, Some(AGGREGATED_V2)).json();
    let deployments = resource(&apis, "apps", "v1", "deployments");
    assert_eq!(deployments["shortNames"], json!(["deploy"]), "{deployments}");
    assert_eq!(deployments["responseKind"], json!({"group": "", "version": "", "kind": "Deployment"}));
    let scale = deployments["subresources"]
        .as_array()
        .expect("subresources")
        .iter()
        .find(|s| s["subresource"] == "scale")
        .unwrap_or_else(|| panic!("no deployments/scale: {deployments}"));
    assert_eq!(scale["responseKind"], json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}), "{scale}");
    assert_eq!(resource(&apis, "batch", "v1", "cronjobs")["shortNames"], json!(["cj"]));
    assert_eq!(resource(&apis, "apps", "v1", "replicasets")["shortNames"], json!(["rs"]));
    // A group served in several versions lists its preferred version first.
    let autoscaling = apis["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|g| g["metadata"]["name"] == "autoscaling")
        .expect("autoscaling");
    let versions: Vec<&str> =
        autoscaling["versions"].as_array().expect("versions").iter().filter_map(|v| v["version"].as_str()).collect();
    assert_eq!(versions, ["v2", "v1"], "{autoscaling}");
    // The core group is not in /apis, and /apis' groups are not in /api.
    assert!(
        apis["items"].as_array().expect("items").iter().all(|g| g["metadata"]["name"] != ""),
        "core group in /apis"
    );
    assert_eq!(core["items"].as_array().map(Vec::len), Some(1), "/api has one group");
}

fn kubectl_api_resources_lists_short_names(k: &Kubectl) {
    let out = k.ok(&["api-resources"]);
    let rows = table(&out);
    assert_eq!(rows[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], "{out}");
    let row = |name: &str, api_version: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r[0] == name && r.iter().any(|c| c == api_version))
            .unwrap_or_else(|| panic!("no {name} ({api_version}) in api-resources:\n{out}"))
            .clone()
    };
    for (name, short, api_version, namespaced, kind) in [
        ("pods", "po", "v1", "true", "Pod"),
        ("services", "svc", "v1", "true", "Service"),
        ("namespaces", "ns", "v1", "false", "Namespace"),
        ("configmaps", "cm", "v1", "true", "ConfigMap"),
        ("deployments", "deploy", "apps/v1", "true", "Deployment"),
        ("replicasets", "rs", "apps/v1", "true", "ReplicaSet"),
        ("daemonsets", "ds", "apps/v1", "true", "DaemonSet"),
        ("statefulsets", "sts", "apps/v1", "true", "StatefulSet"),
        ("cronjobs", "cj", "batch/v1", "true", "CronJob"),
        ("horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"),
        ("poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"),
        ("ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"),
        ("customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"),
    ] {
        assert_eq!(row(name, api_version), [name, short, api_version, namespaced, kind], "api-resources row of {name}");
    }
    // Resources without short names have an empty cell.
    assert_eq!(row("bindings", "v1"), ["bindings", "v1", "true", "Binding"]);
    // The short names resolve.
    k.ok(&["get", "deploy,rs,cj,po,svc", "-A"]);
    let names = k.ok(&["api-resources", "--api-group=apps", "-o", "name"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["controllerrevisions.apps", "daemonsets.apps", "deployments.apps", "replicasets.apps", "statefulsets.apps"]
    );
}

fn kubectl_get_all_lists_workloads_and_services(k: &Kubectl) {
    let k = k.in_new_namespace("everything");
    let api = Api::new(k.cluster);
    let ns = "/api/v1/namespaces/everything";
    api.post(
        &format!("{ns}/services"),
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .expect(201);
    api.post(
        "/apis/apps/v1/namespaces/everything/deployments",
        &json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
            },
        }),
    )
    .expect(201);
    api.post(
        "/apis/batch/v1/namespaces/everything/cronjobs",
        &json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}},
            },
        }),
    )
    .expect(201);
    api.post(
        &format!("{ns}/configmaps"),
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-in-all"}}),
    )
    .expect(201);
    let names = k.names(&["all"]);
    for want in ["cronjob.batch/nightly", "deployment.apps/web", "service/web"] {
        assert!(names.iter().any(|n| n == want), "no {want} in get all: {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("configmap")), "a configmap in get all: {names:?}");
    let out = k.ok(&["get", "all"]);
    assert!(
        out.contains("service/web") && out.contains("deployment.apps/web") && out.contains("cronjob.batch/nightly"),
        "{out}"
    );
}

fn metrics_count_requests_and_stored_objects(k: &Kubectl) {
    let api = Api::new(k.cluster);
    for _ in 0..3 {
        api.get("/api/v1/namespaces/default/configmaps").expect(200);
    }
    let r = api.get("/metrics");
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body).to_string();
    let count = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    };
    let lists = count(
        "apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\",scope=\"namespace\",subresource=\"\",verb=\"LIST\",version=\"v1\"}",
    );
    assert!(lists >= 3, "{lists}");
    assert!(text.contains("# TYPE apiserver_request_duration_seconds histogram"));
    // The namespaces the server made at start-up are in the watch cache.
    assert!(count("apiserver_storage_objects{resource=\"namespaces\"}") >= 4, "{text}");
}
