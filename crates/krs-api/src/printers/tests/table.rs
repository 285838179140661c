//! Durations and ages, the Table built from a printer, the default printer, and the lookup of
//! printers by group and kind.

use serde_json::{Value, json};

use super::super::{DefaultPrinter, IncludeObject, human_duration, printer_for, table_at, translate_timestamp_since};
use super::{DAY, HOUR, MINUTE, ago, ago_ms, assert_columns, cells, ctx};

const SECOND_NS: i128 = 1_000_000_000;

#[test]
fn human_durations() {
    let cases: &[(i128, &str)] = &[
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (5 * 60 + 3, "5m3s"),
        (10 * 60 + 3, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (51 * 3600, "2d3h"),
        (7 * 86400, "7d"),
        (8 * 86400, "8d"),
        (90 * 86400, "90d"),
        (729 * 86400, "729d"),
        (3 * 365 * 86400, "3y"),
        (3 * 365 * 86400 + 2 * 86400, "3y2d"),
        (10 * 365 * 86400, "10y"),
    ];
    for (secs, expected) in cases {
        assert_eq!(human_duration(secs * SECOND_NS), *expected, "{secs}s");
    }
    // Fractions of a second truncate toward zero, as Go's int(d.Seconds()) does.
    assert_eq!(human_duration(-1_900_000_000), "0s");
    assert_eq!(human_duration(-2_100_000_000), "<invalid>");
    assert_eq!(human_duration(59_999_999_999), "59s");
}

#[test]
fn translate_timestamps() {
    let ctx = ctx();
    let at = |s: String| s.parse().ok();
    let cases = [
        (at(ago_ms(-2100)), "<invalid>"),
        (at(ago_ms(-1900)), "0s"),
        (at(ago(0)), "0s"),
        (None, "<unknown>"),
        (at(ago(30)), "30s"),
        (at(ago(5 * MINUTE)), "5m"),
        (at(ago(100 * MINUTE)), "100m"),
        (at(ago(2 * DAY)), "2d"),
        (at(ago(90 * DAY)), "90d"),
        (at(ago(10 * 365 * DAY)), "10y"),
    ];
    for (t, expected) in cases {
        assert_eq!(translate_timestamp_since(t, &ctx), expected);
    }
}

#[test]
fn default_printer_table() {
    assert_columns(&DefaultPrinter, &["Name|string|name|0", "Created At|date||0"]);
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2025-05-01T10:20:30Z"}});
    assert_eq!(Value::from(cells(&DefaultPrinter, &role)), json!(["r", "2025-05-01T10:20:30Z"]));
    // Other offsets and fractions print in UTC at second precision; a missing time is Go's
    // zero time.
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2025-05-01T12:20:30.5+02:00"}});
    assert_eq!(Value::from(cells(&DefaultPrinter, &role)), json!(["r", "2025-05-01T10:20:30Z"]));
    assert_eq!(Value::from(cells(&DefaultPrinter, &json!({}))), json!(["", "0001-01-01T00:00:00Z"]));
}

#[test]
fn printers_by_group_and_kind() {
    let first_columns = |group: &str, kind: &str| -> Vec<&'static str> {
        printer_for(group, kind).columns().iter().take(2).map(|c| c.name).collect()
    };
    let cases: &[(&str, &str, [&str; 2])] = &[
        ("", "Pod", ["Name", "Ready"]),
        ("", "PodTemplate", ["Name", "Containers"]),
        ("", "ReplicationController", ["Name", "Desired"]),
        ("", "Service", ["Name", "Type"]),
        ("", "Endpoints", ["Name", "Endpoints"]),
        ("", "Node", ["Name", "Status"]),
        ("", "Namespace", ["Name", "Status"]),
        ("", "Event", ["Last Seen", "Type"]),
        ("events.k8s.io", "Event", ["Last Seen", "Type"]),
        ("", "LimitRange", ["Name", "Created At"]),
        ("", "ResourceQuota", ["Name", "Age"]),
        ("", "Secret", ["Name", "Type"]),
        ("", "ConfigMap", ["Name", "Data"]),
        ("", "ServiceAccount", ["Name", "Secrets"]),
        ("", "PersistentVolume", ["Name", "Capacity"]),
        ("", "PersistentVolumeClaim", ["Name", "Status"]),
        ("", "ComponentStatus", ["Name", "Status"]),
        ("apps", "Deployment", ["Name", "Ready"]),
        ("apps", "ReplicaSet", ["Name", "Desired"]),
        ("apps", "StatefulSet", ["Name", "Ready"]),
        ("apps", "DaemonSet", ["Name", "Desired"]),
        ("apps", "ControllerRevision", ["Name", "Controller"]),
        ("batch", "Job", ["Name", "Status"]),
        ("batch", "CronJob", ["Name", "Schedule"]),
        ("autoscaling", "HorizontalPodAutoscaler", ["Name", "Reference"]),
        ("autoscaling", "Scale", ["Name", "Desired"]),
        ("policy", "PodDisruptionBudget", ["Name", "Min Available"]),
        ("networking.k8s.io", "Ingress", ["Name", "Class"]),
        ("networking.k8s.io", "IngressClass", ["Name", "Controller"]),
        ("networking.k8s.io", "NetworkPolicy", ["Name", "Pod-Selector"]),
        ("networking.k8s.io", "ServiceCIDR", ["Name", "CIDRs"]),
        ("networking.k8s.io", "IPAddress", ["Name", "ParentRef"]),
        ("discovery.k8s.io", "EndpointSlice", ["Name", "AddressType"]),
        ("coordination.k8s.io", "Lease", ["Name", "Holder"]),
        ("coordination.k8s.io", "LeaseCandidate", ["Name", "LeaseName"]),
        ("scheduling.k8s.io", "PriorityClass", ["Name", "Value"]),
        ("node.k8s.io", "RuntimeClass", ["Name", "Handler"]),
        ("storage.k8s.io", "StorageClass", ["Name", "Provisioner"]),
        ("storage.k8s.io", "CSIDriver", ["Name", "AttachRequired"]),
        ("storage.k8s.io", "CSINode", ["Name", "Drivers"]),
        ("storage.k8s.io", "CSIStorageCapacity", ["Name", "Created At"]),
        ("storage.k8s.io", "VolumeAttachment", ["Name", "Attacher"]),
        ("storage.k8s.io", "VolumeAttributesClass", ["Name", "DriverName"]),
        ("rbac.authorization.k8s.io", "Role", ["Name", "Created At"]),
        ("rbac.authorization.k8s.io", "ClusterRole", ["Name", "Created At"]),
        ("rbac.authorization.k8s.io", "RoleBinding", ["Name", "Role"]),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", ["Name", "Role"]),
        ("certificates.k8s.io", "CertificateSigningRequest", ["Name", "Age"]),
        ("certificates.k8s.io", "ClusterTrustBundle", ["Name", "SignerName"]),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", ["Name", "Webhooks"]),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", ["Name", "Webhooks"]),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", ["Name", "Validations"]),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", ["Name", "PolicyName"]),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy", ["Name", "Mutations"]),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding", ["Name", "PolicyName"]),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema", ["Name", "PriorityLevel"]),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", ["Name", "Type"]),
        ("resource.k8s.io", "DeviceClass", ["Name", "Age"]),
        ("resource.k8s.io", "ResourceClaim", ["Name", "State"]),
        ("resource.k8s.io", "ResourceClaimTemplate", ["Name", "Age"]),
        ("resource.k8s.io", "ResourceSlice", ["Name", "Node"]),
        ("apiextensions.k8s.io", "CustomResourceDefinition", ["Name", "Created At"]),
        ("apiregistration.k8s.io", "APIService", ["Name", "Service"]),
        ("example.com", "Widget", ["Name", "Created At"]),
        ("", "Widget", ["Name", "Created At"]),
    ];
    for (group, kind, expected) in cases {
        assert_eq!(first_columns(group, kind), expected, "{group}/{kind}");
    }
}

#[test]
fn table_of_objects() {
    let pods = [
        json!({"metadata": {"name": "done", "creationTimestamp": ago(HOUR), "resourceVersion": "7"}, "spec": {"containers": [{}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}}),
        json!({"metadata": {"name": "web"}, "spec": {"containers": [{}]}, "status": {"phase": "Running"}}),
    ];
    let printer = printer_for("", "Pod");
    let table = table_at(printer, &pods, Some(json!({"resourceVersion": "9"})), IncludeObject::Metadata, &ctx());
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({"resourceVersion": "9"}));
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name", "priority": 0,
            "description": super::super::helpers::NAME_DOC})
    );
    assert_eq!(table["columnDefinitions"][5]["priority"], 1);
    assert_eq!(
        table["rows"][0],
        json!({
            "cells": ["done", "0/1", "Completed", "0", "60m", "<none>", "<none>", "<none>", "<none>"],
            "conditions": [{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pods[0]["metadata"]},
        })
    );
    assert!(table["rows"][1].get("conditions").is_none());

    let table = table_at(printer, &pods[1..], None, IncludeObject::Object, &ctx());
    assert_eq!(table["metadata"], json!({}));
    assert_eq!(table["rows"][0]["object"], pods[1]);
    let table = table_at(printer, &pods[1..], None, IncludeObject::None, &ctx());
    assert!(table["rows"][0].get("object").is_none());

    // FlowSchemas print in matching order.
    let schemas = [
        json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 500}}),
        json!({"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 500}}),
        json!({"metadata": {"name": "exempt"}, "spec": {"matchingPrecedence": 1}}),
    ];
    let table = table_at(
        printer_for("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        &schemas,
        None,
        IncludeObject::Object,
        &ctx(),
    );
    let names: Vec<&Value> = (0..3).map(|i| &table["rows"][i]["cells"][0]).collect();
    assert_eq!(names, [&json!("exempt"), &json!("a"), &json!("b")]);
    assert_eq!(table["rows"][0]["object"]["metadata"]["name"], "exempt");
}

#[test]
fn every_printer_survives_empty_and_malformed_objects() {
    let groups_kinds = [
        (
            "",
            ["Pod", "PodTemplate", "ReplicationController", "Service", "Endpoints", "Node", "Namespace", "Event"]
                .as_slice(),
        ),
        (
            "",
            &[
                "ResourceQuota",
                "Secret",
                "ConfigMap",
                "ServiceAccount",
                "PersistentVolume",
                "PersistentVolumeClaim",
                "ComponentStatus",
            ],
        ),
        ("apps", &["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision"]),
        ("batch", &["Job", "CronJob"]),
        ("autoscaling", &["HorizontalPodAutoscaler", "Scale"]),
        ("policy", &["PodDisruptionBudget"]),
        ("networking.k8s.io", &["Ingress", "IngressClass", "NetworkPolicy", "ServiceCIDR", "IPAddress"]),
        ("discovery.k8s.io", &["EndpointSlice"]),
        ("storage.k8s.io", &["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"]),
        ("rbac.authorization.k8s.io", &["RoleBinding", "ClusterRoleBinding"]),
        ("certificates.k8s.io", &["CertificateSigningRequest", "ClusterTrustBundle"]),
        (
            "admissionregistration.k8s.io",
            &["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingWebhookConfiguration"],
        ),
        ("flowcontrol.apiserver.k8s.io", &["FlowSchema", "PriorityLevelConfiguration"]),
        ("resource.k8s.io", &["DeviceClass", "ResourceClaim", "ResourceSlice"]),
        ("apiregistration.k8s.io", &["APIService"]),
    ];
    // Fields of the wrong JSON type read as absent.
    let malformed = json!({"metadata": {"name": 5, "creationTimestamp": "yesterday", "labels": [1]},
        "spec": {"containers": "x", "replicas": "3", "selector": 7, "ports": {}, "metrics": [3], "podSelector": "x"},
        "status": {"conditions": {}, "containerStatuses": [null, 4], "hard": {"cpu": "lots"}}});
    for (group, kinds) in groups_kinds {
        for kind in kinds {
            let printer = printer_for(group, kind);
            for obj in [json!({}), json!(null), malformed.clone()] {
                let n = printer.cells(&obj, &ctx()).len();
                assert!(n >= printer.columns().len(), "{group}/{kind} printed {n} cells");
            }
        }
    }
}
