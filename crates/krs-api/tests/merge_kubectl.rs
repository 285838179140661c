//! The strategic merge patches that kubectl sends: client-side `apply` (three-way, with
//! `$setElementOrder`, `$retainKeys` and `$patch: delete`), `edit`, `set image`,
//! `rollout restart`, `label`, `scale`, `cordon`, `taint`.

use crate::merge_common;

use merge_common::apply;
use serde_json::{Value, json};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "0b7c",
            "resourceVersion": "42",
            "generation": 3,
            "labels": {"app": "web"},
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"old\":true}\n"
            }
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "c",
                        "image": "nginx:1",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "imagePullPolicy": "IfNotPresent"
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "restartPolicy": "Always",
                    "dnsPolicy": "ClusterFirst"
                }
            }
        },
        "status": {"replicas": 2, "readyReplicas": 2}
    })
}

fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
    }
    v
}

fn remove(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(Value::Object(m)) = v.pointer_mut(parent) {
        m.remove(key);
    }
    v
}

#[test]
fn merge_kubectl_apply_updates_an_image() {
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":true}\n"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"image": "nginx:2", "name": "c"}]
        }}}
    });
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    let want = with(
        with(
            deployment(),
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
            json!("{\"new\":true}\n"),
        ),
        "/spec/template/spec/containers/0/image",
        json!("nginx:2"),
    );
    assert_eq!(got, want);
}

#[test]
fn merge_kubectl_apply_adds_and_removes_env_vars() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}],
        "containers": [{
            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
            "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
            "name": "c"
        }]
    }}}});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
}

#[test]
fn merge_kubectl_apply_adds_and_removes_containers() {
    let original = with(
        deployment(),
        "/spec/template/spec/containers",
        json!([{"name": "c", "image": "nginx:1"}, {"name": "sidecar", "image": "envoy"}]),
    );
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}],
        "containers": [{"$patch": "delete", "name": "sidecar"}]
    }}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(got["spec"]["template"]["spec"]["containers"], json!([{"name": "c", "image": "nginx:1"}]));

    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "init-like"}, {"name": "c"}, {"name": "sidecar"}],
        "containers": [{"image": "busybox", "name": "init-like"}]
    }}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([
            {"name": "init-like", "image": "busybox"},
            {"name": "c", "image": "nginx:1"},
            {"name": "sidecar", "image": "envoy"}
        ])
    );
}

#[test]
fn merge_kubectl_apply_switches_the_strategy_with_retain_keys() {
    let patch = json!({"spec": {
        "replicas": null,
        "strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}
    }});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    let want = with(remove(deployment(), "/spec/replicas"), "/spec/strategy", json!({"type": "Recreate"}));
    assert_eq!(got, want);
}

#[test]
fn merge_kubectl_apply_changes_a_volume_source_with_retain_keys() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}],
        "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "name": "data"}]
    }}}});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    assert_eq!(got["spec"]["template"]["spec"]["volumes"], json!([{"name": "data", "configMap": {"name": "cm"}}]));
}

#[test]
fn merge_kubectl_set_image_and_rollout_restart() {
    // kubectl set image: a two-way strategic patch of the containers.
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}],
        "containers": [{"image": "nginx:3", "name": "c"}]
    }}}});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    assert_eq!(got["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:3");
    assert_eq!(got["spec"]["template"]["spec"]["containers"][0]["env"][1]["name"], "B");

    // kubectl rollout restart.
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"
    }}}}});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    assert_eq!(
        got["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"},
               "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}})
    );
}

#[test]
fn merge_kubectl_edit_label_and_scale() {
    // kubectl edit sends the two-way difference.
    let patch = json!({"metadata": {"labels": {"tier": "frontend"}}, "spec": {"minReadySeconds": 5, "paused": true}});
    let got = apply("apps/v1", "Deployment", &deployment(), &patch);
    assert_eq!(got["metadata"]["labels"], json!({"app": "web", "tier": "frontend"}));
    assert_eq!(got["spec"]["minReadySeconds"], 5);
    assert_eq!(got["spec"]["paused"], true);

    // kubectl label tier- app=api
    let patch = json!({"metadata": {"labels": {"app": "api", "tier": null}}});
    let got = apply("apps/v1", "Deployment", &got, &patch);
    assert_eq!(got["metadata"]["labels"], json!({"app": "api"}));

    // kubectl scale --replicas=5 (on the scale subresource the same body patches a Scale).
    let got = apply("apps/v1", "Deployment", &deployment(), &json!({"spec": {"replicas": 5}}));
    assert_eq!(got, with(deployment(), "/spec/replicas", json!(5)));
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
        "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}});
    let got = apply("autoscaling/v1", "Scale", &scale, &json!({"spec": {"replicas": 5}}));
    assert_eq!(got["spec"], json!({"replicas": 5}));
}

#[test]
fn merge_kubectl_cordon_and_taint() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"],
                 "taints": [{"key": "a", "effect": "NoSchedule"}]}});
    let got = apply("v1", "Node", &node, &json!({"spec": {"unschedulable": true}}));
    assert_eq!(got["spec"]["unschedulable"], true);
    assert_eq!(got["spec"]["taints"], node["spec"]["taints"]);

    // Taints are atomic: kubectl taint sends the whole new list.
    let patch = json!({"spec": {"taints": [
        {"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "v", "effect": "NoExecute"}
    ]}});
    let got = apply("v1", "Node", &node, &patch);
    assert_eq!(got["spec"]["taints"], patch["spec"]["taints"]);
}

#[test]
fn merge_kubectl_apply_service_ports_and_config_map_data() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "ClusterIP",
                 "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}});
    let patch = json!({"spec": {
        "$setElementOrder/ports": [{"port": 80}, {"port": 443}],
        "ports": [{"name": "https", "port": 443, "targetPort": 8443}]
    }});
    let got = apply("v1", "Service", &svc, &patch);
    assert_eq!(
        got["spec"]["ports"],
        json!([
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443}
        ])
    );
    assert_eq!(got["spec"]["clusterIP"], "10.96.0.10");

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"k": "v1", "old": "x", "keep": "y"}});
    let patch = json!({"data": {"k": "v2", "old": null, "new": "z"}});
    let got = apply("v1", "ConfigMap", &cm, &patch);
    assert_eq!(got["data"], json!({"k": "v2", "keep": "y", "new": "z"}));
}
