//! Map-lists with duplicate keys through create, apply, update and forced apply (upstream's
//! TestDuplicatesInAssociativeLists), field-level granularity markers, and managers at
//! other apiVersions.

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::conversion;
use serde_json::{Value, json};

fn defaulted_daemonset() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "example-daemonset", "namespace": "default", "generation": 1,
            "labels": {"app": "example"},
            "annotations": {"deprecated.daemonset.template.generation": "1"}
        },
        "spec": {
            "selector": {"matchLabels": {"app": "example"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "example"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx",
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
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst", "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            },
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10
        },
        "status": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}
    })
}

fn container(obj: &mut Value) -> &mut Value {
    &mut obj["spec"]["template"]["spec"]["containers"][0]
}

/// The defaulting the registry applies to ports after an apply.
fn default_protocols(obj: &mut Value) {
    if let Some(ports) = container(obj)["ports"].as_array_mut() {
        for p in ports {
            p.as_object_mut().map(|m| m.entry("protocol").or_insert(json!("TCP")));
        }
    }
}

const CREATE_AFTER_UPDATE: &str = r#"{"f:metadata":{"f:annotations":{},"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:revisionHistoryLimit":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{".":{},"k:{\"name\":\"ENV0\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":1,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{},"f:protocol":{}}},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}},"f:updateStrategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}}}}"#;

#[test]
fn duplicated_keys_change_owners_as_a_whole() {
    let r = |m| req(m, "apps/v1", "DaemonSet", T0);
    let ds = create(defaulted_daemonset(), &r("create"));
    let first = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "example-daemonset", "labels": {"app": "example"}},
        "spec": {
            "selector": {"matchLabels": {"app": "example"}},
            "template": {"spec": {"containers": [{
                "name": "nginx", "image": "nginx",
                "ports": [{"name": "port3", "containerPort": 443}],
                "env": [{"name": "HOME", "value": "/usr/home"}]
            }]}}
        }
    });
    let mut ds = apply(Some(&ds), &first, false, &req("apply", "apps/v1", "DaemonSet", T1));
    default_protocols(&mut ds);

    // A PUT renaming the duplicated ports and changing one of the duplicated PATHs; the
    // template change moves the template-generation annotation.
    let mut put = ds.clone();
    if let Some(meta) = put["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    put["metadata"]["annotations"]["deprecated.daemonset.template.generation"] = json!("2");
    container(&mut put)["ports"] = json!([
        {"name": "port0", "containerPort": 1, "protocol": "TCP"},
        {"name": "port3", "containerPort": 443, "protocol": "TCP"},
        {"name": "port4", "containerPort": 80, "protocol": "TCP"},
        {"name": "port5", "containerPort": 80, "protocol": "TCP"}
    ]);
    container(&mut put)["env"] = json!([
        {"name": "ENV0", "value": "/env0value"},
        {"name": "PATH", "value": "/bin"},
        {"name": "PATH", "value": "$PATH:/usr/bin:/usr/local/bin"},
        {"name": "HOME", "value": "/usr/home"}
    ]);
    let ds = update(&ds, put, &req("update", "apps/v1", "DaemonSet", T2));
    assert_eq!(fields_v1(&ds, "create", "Update"), CREATE_AFTER_UPDATE);
    assert_eq!(
        fields_v1(&ds, "update", "Update"),
        r#"{"f:metadata":{"f:annotations":{"f:deprecated.daemonset.template.generation":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:env":{"k:{\"name\":\"PATH\"}":{}},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}}}}}}}}"#
    );
    assert!(fields_v1(&ds, "apply", "Apply").contains("HOME"));

    // A forced apply replacing the duplicates with single elements.
    let second = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "example-daemonset", "labels": {"app": "example"}},
        "spec": {
            "selector": {"matchLabels": {"app": "example"}},
            "template": {"spec": {"containers": [{
                "name": "nginx", "image": "nginx",
                "ports": [{"name": "port80", "containerPort": 80}],
                "env": [{"name": "PATH", "value": "/bin:/usr/bin:/usr/local/bin"}]
            }]}}
        }
    });
    let mut ds = apply(Some(&ds), &second, true, &req("apply", "apps/v1", "DaemonSet", "2024-05-01T10:03:00Z"));
    let c = container(&mut ds).clone();
    assert_eq!(
        c["env"],
        json!([{"name": "ENV0", "value": "/env0value"}, {"name": "PATH", "value": "/bin:/usr/bin:/usr/local/bin"}])
    );
    assert_eq!(
        c["ports"],
        json!([{"name": "port0", "containerPort": 1, "protocol": "TCP"}, {"name": "port80", "containerPort": 80}])
    );
    assert_eq!(entries(&ds).into_iter().map(|e| e.0).collect::<Vec<_>>(), ["apply", "create", "update"]);
    assert_eq!(
        fields_v1(&ds, "apply", "Apply"),
        r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{"k:{\"name\":\"PATH\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{}}}}}}}}}"#
    );
    assert_eq!(fields_v1(&ds, "create", "Update"), CREATE_AFTER_UPDATE);
    assert_eq!(
        fields_v1(&ds, "update", "Update"),
        r#"{"f:metadata":{"f:annotations":{"f:deprecated.daemonset.template.generation":{}}}}"#
    );
}

#[test]
fn a_field_marked_granular_overrides_its_atomic_type() {
    // Upstream's TestApplyFormerlyAtomicFields: ObjectReference is atomic, but
    // PersistentVolume's claimRef is granular, so the binder's uid survives a re-apply.
    let mut pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pv-storage", "labels": {"type": "local"}, "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "16Mi"},
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "pvc-storage",
                "namespace": "default", "resourceVersion": "15499",
                "uid": "2018e302-7b12-406c-9fa2-e52535d29e48"
            },
            "hostPath": {"path": "/tmp/mydata", "type": ""},
            "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem"
        },
        "status": {"phase": "Bound"}
    });
    store(&mut pv);
    pv["metadata"]["managedFields"] = json!([
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "apply_test", "operation": "Apply",
         "time": "2022-06-08T23:46:32Z",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:type": {}}}, "f:spec": {"f:accessModes": {}, "f:capacity": {"f:storage": {}}, "f:hostPath": {"f:path": {}}, "f:storageClassName": {}}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager", "operation": "Update",
         "subresource": "status", "time": "2022-06-08T23:46:32Z", "fieldsV1": {"f:status": {"f:phase": {}}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager", "operation": "Update",
         "time": "2022-06-08T23:46:37Z", "fieldsV1": {"f:spec": {"f:claimRef": {}}}}
    ]);
    let config = json!({
        "kind": "PersistentVolume", "apiVersion": "v1",
        "metadata": {"labels": {"type": "local"}, "name": "pv-storage"},
        "spec": {
            "storageClassName": "",
            "capacity": {"storage": "16Mi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/tmp/mydata"},
            "claimRef": {"name": "pvc-storage", "namespace": "default"}
        }
    });
    let out = apply(Some(&pv), &config, false, &req("apply_test", "v1", "PersistentVolume", T0));
    assert_eq!(out["spec"]["claimRef"], pv["spec"]["claimRef"]);
    let got: Vec<Value> = managed_fields(&out)
        .into_iter()
        .map(|mut e| {
            e.as_object_mut().map(|m| m.remove("time"));
            e
        })
        .collect();
    assert_eq!(
        got,
        [
            json!({"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "apply_test", "operation": "Apply",
                   "fieldsV1": {"f:metadata": {"f:labels": {"f:type": {}}}, "f:spec": {"f:accessModes": {}, "f:capacity": {"f:storage": {}}, "f:claimRef": {"f:name": {}, "f:namespace": {}}, "f:hostPath": {"f:path": {}}, "f:storageClassName": {}}}}),
            json!({"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager", "operation": "Update",
                   "subresource": "status", "fieldsV1": {"f:status": {"f:phase": {}}}}),
            json!({"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager", "operation": "Update",
                   "fieldsV1": {"f:spec": {"f:claimRef": {}}}})
        ]
    );
}

fn hpa_v2() -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        }
    })
}

#[test]
fn managers_at_another_version_see_changes_in_their_version() {
    let hpa = create(hpa_v2(), &req("kubectl-autoscale", "autoscaling/v2", "HorizontalPodAutoscaler", T0));
    assert_eq!(entry(&hpa, "kubectl-autoscale", "Update")["apiVersion"], "autoscaling/v2");
    let live_v1 = conversion::convert(hpa, "autoscaling", "v1").expect("converts");
    let config = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxReplicas": 9}
    });
    let r = req("tuner", "autoscaling/v1", "HorizontalPodAutoscaler", T1);
    let err = apply_err(Some(&live_v1), &config, false, &r);
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-autoscale" using autoscaling/v2: .spec.maxReplicas"#
    );
    let out = apply(Some(&live_v1), &config, true, &r);
    assert_eq!(out["spec"]["maxReplicas"], 9);
    let autoscale = entry(&out, "kubectl-autoscale", "Update");
    assert_eq!(autoscale["apiVersion"], "autoscaling/v2");
    assert!(!owns(&out, "kubectl-autoscale", &["f:spec", "f:maxReplicas"]));
    assert!(owns(&out, "kubectl-autoscale", &["f:spec", "f:minReplicas"]));
    assert_eq!(entry(&out, "tuner", "Apply")["apiVersion"], "autoscaling/v1");
}

#[test]
fn managers_at_versions_the_kind_no_longer_has_are_dropped() {
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    store(&mut cm);
    cm["metadata"]["managedFields"] = json!([
        {"manager": "old", "operation": "Update", "apiVersion": "v0", "time": T0,
         "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
        {"manager": "current", "operation": "Update", "apiVersion": "v1", "time": T0,
         "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}
    ]);
    let mut new = cm.clone();
    new["data"]["b"] = json!("2");
    let out = update(&cm, new, &req("writer", "v1", "ConfigMap", T1));
    assert_eq!(entries(&out).into_iter().map(|e| e.0).collect::<Vec<_>>(), ["current", "writer"]);
}

#[test]
fn fields_inside_an_atomic_struct_are_reconciled_to_the_struct() {
    // Written when the selector was granular: the owner of one of its labels now owns the
    // selector itself.
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "replicas": 1}
    });
    store(&mut d);
    d["metadata"]["managedFields"] = json!([
        {"manager": "old", "operation": "Update", "apiVersion": "apps/v1", "time": T0,
         "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}, "f:selector": {"f:matchLabels": {"f:app": {}}}}}}
    ]);
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "y"}}}
    });
    let err = apply_err(Some(&d), &config, false, &req("new", "apps/v1", "Deployment", T1));
    assert_eq!(err.to_string(), r#"Apply failed with 1 conflict: conflict with "old" using apps/v1: .spec.selector"#);
    let mut relabeled = d.clone();
    relabeled["metadata"]["labels"] = json!({"a": "b"});
    let out = update(&d, relabeled, &req("labeler", "apps/v1", "Deployment", T1));
    assert_eq!(fields_v1(&out, "old", "Update"), r#"{"f:spec":{"f:replicas":{},"f:selector":{}}}"#);
}
