//! managedFields written on create, compared byte for byte with upstream's FieldsV1.

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::fieldmanager::{FieldSet, Path, PathElement};
use serde_json::{Value, json};

/// A DaemonSet as the API server stores it after defaulting (upstream's integration test
/// TestDuplicatesInAssociativeLists), with duplicate env and port keys.
fn defaulted_daemonset() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "example-daemonset",
            "namespace": "default",
            "generation": 1,
            "labels": {"app": "example"},
            "annotations": {"deprecated.daemonset.template.generation": "1"}
        },
        "spec": {
            "selector": {"matchLabels": {"app": "example"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "example"}},
                "spec": {
                    "containers": [{
                        "name": "nginx",
                        "image": "nginx",
                        "ports": [
                            {"name": "port0", "containerPort": 1, "protocol": "TCP"},
                            {"name": "port1", "containerPort": 80, "protocol": "TCP"},
                            {"name": "port2", "containerPort": 80, "protocol": "TCP"}
                        ],
                        "env": [
                            {"name": "ENV0", "value": "/env0value"},
                            {"name": "PATH", "value": "/bin"},
                            {"name": "PATH", "value": "$PATH:/usr/bin"}
                        ],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "Always"
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            },
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}
            },
            "revisionHistoryLimit": 10
        },
        "status": {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0
        }
    })
}

const DAEMONSET_CREATE_FIELDS: &str = r#"{
    "f:metadata": {
        "f:annotations": {".": {}, "f:deprecated.daemonset.template.generation": {}},
        "f:labels": {".": {}, "f:app": {}}
    },
    "f:spec": {
        "f:revisionHistoryLimit": {},
        "f:selector": {},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {
                    "k:{\"name\":\"nginx\"}": {
                        ".": {},
                        "f:env": {
                            ".": {},
                            "k:{\"name\":\"ENV0\"}": {".": {}, "f:name": {}, "f:value": {}},
                            "k:{\"name\":\"PATH\"}": {}
                        },
                        "f:image": {},
                        "f:imagePullPolicy": {},
                        "f:name": {},
                        "f:ports": {
                            ".": {},
                            "k:{\"containerPort\":1,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}
                            },
                            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}
                        },
                        "f:resources": {},
                        "f:terminationMessagePath": {},
                        "f:terminationMessagePolicy": {}
                    }
                },
                "f:dnsPolicy": {},
                "f:restartPolicy": {},
                "f:schedulerName": {},
                "f:securityContext": {},
                "f:terminationGracePeriodSeconds": {}
            }
        },
        "f:updateStrategy": {
            "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
            "f:type": {}
        }
    }
}"#;

#[test]
fn create_records_the_creator_with_duplicate_keys_owned_whole() {
    let ds = create(defaulted_daemonset(), &req("create", "apps/v1", "DaemonSet", T0));
    assert_eq!(entries(&ds), [("create".to_owned(), "Update".to_owned(), String::new())]);
    let e = entry(&ds, "create", "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["time"], T0);
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert_eq!(fields_v1(&ds, "create", "Update"), compact(DAEMONSET_CREATE_FIELDS));
}

#[test]
fn apply_next_to_a_creator_is_additive_and_merges_around_duplicates() {
    let ds = create(defaulted_daemonset(), &req("create", "apps/v1", "DaemonSet", T0));
    let config = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "example-daemonset", "labels": {"app": "example"}},
        "spec": {
            "selector": {"matchLabels": {"app": "example"}},
            "template": {"spec": {"containers": [{
                "name": "nginx",
                "image": "nginx",
                "ports": [{"name": "port3", "containerPort": 443}],
                "env": [{"name": "HOME", "value": "/usr/home"}]
            }]}}
        }
    });
    let out = apply(Some(&ds), &config, false, &req("apply", "apps/v1", "DaemonSet", T1));
    let c = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["env"].as_array().map(Vec::len), Some(4));
    assert_eq!(c["ports"].as_array().map(Vec::len), Some(4));
    assert_eq!(c["env"][3], json!({"name": "HOME", "value": "/usr/home"}));
    assert_eq!(
        entries(&out),
        [
            ("apply".to_owned(), "Apply".to_owned(), String::new()),
            ("create".to_owned(), "Update".to_owned(), String::new())
        ]
    );
    assert_eq!(
        fields_v1(&out, "apply", "Apply"),
        compact(
            r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{"k:{\"name\":\"HOME\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":443,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{}}}}}}}}}"#
        )
    );
    assert_eq!(fields_v1(&out, "create", "Update"), compact(DAEMONSET_CREATE_FIELDS));
}

/// `kubectl create deployment nginx --image=nginx`, after defaulting.
fn defaulted_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "nginx",
            "namespace": "default",
            "generation": 1,
            "labels": {"app": "nginx"}
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{
                        "name": "nginx",
                        "image": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "Always"
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        },
        "status": {}
    })
}

#[test]
fn kubectl_create_deployment_fields_match_upstream_bytes() {
    let d = create(defaulted_deployment(), &req("kubectl-create", "apps/v1", "Deployment", T0));
    assert_eq!(
        fields_v1(&d, "kubectl-create", "Update"),
        concat!(
            r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"#,
            r#""f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"#,
            r#""f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"#,
            r#""f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"#,
            r#""f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"#,
            r#""f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}}"#
        )
    );
}

#[test]
fn fields_v1_round_trips_and_orders_numeric_keys_like_upstream() {
    let raw = json!({
        "f:spec": {
            "f:ports": {
                "k:{\"port\":9000,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}},
                "k:{\"port\":10000,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}
            },
            "f:finalizers": {"v:\"b\"": {}, "v:\"a\"": {}}
        },
        "x:unknown": {}
    });
    let set = FieldSet::from_fields_v1(&raw).expect("decodes");
    // Unknown element kinds are dropped; keys come out in upstream's element order.
    assert_eq!(
        set.to_fields_v1_string(),
        r#"{"f:spec":{"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}},"f:ports":{"k:{\"port\":9000,\"protocol\":\"TCP\"}":{".":{},"f:port":{}},"k:{\"port\":10000,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}}}}"#
    );
    assert_eq!(set.len(), 6);
    let port = Path(vec![
        PathElement::field("spec"),
        PathElement::field("ports"),
        PathElement::key([("port".to_owned(), json!(9000)), ("protocol".to_owned(), json!("TCP"))]),
    ]);
    assert!(set.has(port.elements()));
    assert_eq!(port.to_string(), r#".spec.ports[port=9000,protocol="TCP"]"#);
    assert!(FieldSet::from_fields_v1(&json!({"f": {}})).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
}

#[test]
fn html_characters_in_keys_are_escaped_as_go_does() {
    let set = FieldSet::from_paths([&Path(vec![PathElement::field("data"), PathElement::field("a<b>&c")])]);
    assert_eq!(set.to_fields_v1_string(), r#"{"f:data":{"f:a\u003cb\u003e\u0026c":{}}}"#);
}
