//! Core printers, continued: nodes, namespaces, events, resource quotas, persistent volumes
//! and claims, component statuses.

use serde_json::{Value, json};

use super::super::core_cluster::{
    COMPONENT_STATUS, EVENT, NAMESPACE, NODE, PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, RESOURCE_QUOTA,
};
use super::{DAY, MINUTE, ago, ago_ms, assert_columns, cells};

#[test]
fn node_table() {
    assert_columns(
        &NODE,
        &[
            "Name|string|name|0",
            "Status|string||0",
            "Roles|string||0",
            "Age|string||0",
            "Version|string||0",
            "Internal-IP|string||1",
            "External-IP|string||1",
            "OS-Image|string||1",
            "Kernel-Version|string||1",
            "Container-Runtime|string||1",
        ],
    );
    let node = |name: &str, unschedulable: bool, conditions: Value| json!({"metadata": {"name": name}, "spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}});
    let ready = json!([{"type": "Ready", "status": "True"}]);
    let not_ready = json!([{"type": "Ready", "status": "False"}]);
    let cases = [
        (node("foo1", false, ready.clone()), "Ready"),
        (node("foo2", true, ready.clone()), "Ready,SchedulingDisabled"),
        (
            node("foo3", false, json!([{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "True"}])),
            "Ready",
        ),
        (node("foo4", false, not_ready.clone()), "NotReady"),
        (node("foo5", true, not_ready), "NotReady,SchedulingDisabled"),
        (node("foo6", false, json!([{"type": "InvalidValue", "status": "True"}])), "Unknown"),
        (node("foo7", false, json!([{}])), "Unknown"),
        (node("foo8", true, json!([{"type": "InvalidValue", "status": "True"}])), "Unknown,SchedulingDisabled"),
        (node("foo9", true, json!([{}])), "Unknown,SchedulingDisabled"),
    ];
    for (obj, status) in cases {
        let name = obj.pointer("/metadata/name").cloned().unwrap_or_default();
        assert_eq!(Value::from(cells(&NODE, &obj)[..5].to_vec()), json!([name, status, "<none>", "<unknown>", ""]));
    }

    let roles = json!({"metadata": {"name": "foo10", "labels": {
        "node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": "",
        "node-role.kubernetes.io/proxy": "", "kubernetes.io/role": "node",
    }}});
    assert_eq!(cells(&NODE, &roles)[2], json!("control-plane,master,node,proxy"));
    let role = json!({"metadata": {"name": "foo11", "labels": {"kubernetes.io/role": "node"}}});
    assert_eq!(cells(&NODE, &role)[2], json!("node"));

    // Wide cells: the first address of each type, "<unknown>" for missing system info.
    let wide = json!({"metadata": {"name": "foo3", "creationTimestamp": ago(2 * DAY + 3 * 3600)},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "ExternalIP", "address": "2.2.2.2"}, {"type": "InternalIP", "address": "3.3.3.3"}, {"type": "ExternalIP", "address": "4.4.4.4"}],
            "nodeInfo": {"kubeletVersion": "v1.34.0", "osImage": "fake-os-image", "containerRuntimeVersion": "foo://1.2.3"}}});
    assert_eq!(
        Value::from(cells(&NODE, &wide)),
        json!([
            "foo3",
            "Ready",
            "<none>",
            "2d3h",
            "v1.34.0",
            "3.3.3.3",
            "2.2.2.2",
            "fake-os-image",
            "<unknown>",
            "foo://1.2.3"
        ])
    );
    let bare = json!({"metadata": {"name": "127.0.0.1"}, "status": {}});
    assert_eq!(
        Value::from(cells(&NODE, &bare)),
        json!([
            "127.0.0.1",
            "Unknown",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ])
    );
}

#[test]
fn namespace_table() {
    assert_columns(&NAMESPACE, &["Name|string|name|0", "Status|string||0", "Age|string||0"]);
    let ns = json!({"metadata": {"name": "namespace1", "creationTimestamp": ago_ms(-1900)}, "status": {"phase": "FooStatus"}});
    assert_eq!(Value::from(cells(&NAMESPACE, &ns)), json!(["namespace1", "FooStatus", "0s"]));
    let ns = json!({"metadata": {"name": "namespace2"}});
    assert_eq!(Value::from(cells(&NAMESPACE, &ns)), json!(["namespace2", "", "<unknown>"]));
}

#[test]
fn event_table() {
    assert_columns(
        &EVENT,
        &[
            "Last Seen|string||0",
            "Type|string||0",
            "Reason|string||0",
            "Object|string||0",
            "Subobject|string||1",
            "Source|string||1",
            "Message|string||0",
            "First Seen|string||1",
            "Count|string||1",
            "Name|string|name|1",
        ],
    );
    let event = |name: &str, fields: Value| {
        let mut e = json!({"metadata": {"name": name}, "reason": "Event Reason", "message": "Message Data", "type": "Warning",
            "involvedObject": {"kind": "Deployment", "name": "Deployment Name", "fieldPath": "spec.containers{foo}"}});
        if let (Some(e), Some(fields)) = (e.as_object_mut(), fields.as_object()) {
            e.extend(fields.clone());
        }
        e
    };
    let node1 = json!({"component": "kubelet", "host": "Node1"});
    let cases = [
        (
            event(
                "event1",
                json!({"source": {"component": "kubelet"}, "type": "Normal", "involvedObject": {"kind": "Pod", "name": "Pod Name", "fieldPath": "spec.containers{foo}"},
                "firstTimestamp": ago(3 * DAY), "lastTimestamp": ago(2 * DAY), "count": 6}),
            ),
            json!([
                "2d",
                "Normal",
                "Event Reason",
                "pod/Pod Name",
                "spec.containers{foo}",
                "kubelet",
                "Message Data",
                "3d",
                6,
                "event1"
            ]),
        ),
        (
            event(
                "event2",
                json!({"source": node1, "firstTimestamp": ago(3 * DAY), "lastTimestamp": ago(2 * DAY), "count": 6}),
            ),
            json!([
                "2d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                6,
                "event2"
            ]),
        ),
        // Without FirstTimestamp: the event time.
        (
            event(
                "event3",
                json!({"source": node1, "eventTime": ago(3 * DAY), "lastTimestamp": ago(3 * DAY), "count": 1}),
            ),
            json!([
                "3d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                1,
                "event3"
            ]),
        ),
        // Without LastTimestamp: the first one.
        (
            event(
                "event4",
                json!({"source": node1, "eventTime": ago(3 * DAY), "firstTimestamp": ago(3 * DAY), "count": 1}),
            ),
            json!([
                "3d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                1,
                "event4"
            ]),
        ),
        (
            event("event5", json!({"source": node1, "eventTime": ago(3 * DAY), "count": 1})),
            json!([
                "3d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                1,
                "event5"
            ]),
        ),
        // A series: its last observation and count.
        (
            event(
                "event6",
                json!({"source": node1, "eventTime": ago(3 * DAY), "series": {"count": 2, "lastObservedTime": ago(2 * DAY)}}),
            ),
            json!([
                "2d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                2,
                "event6"
            ]),
        ),
        // A singleton without a count counts once.
        (
            event("event7", json!({"source": node1, "eventTime": ago(3 * DAY)})),
            json!([
                "3d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, Node1",
                "Message Data",
                "3d",
                1,
                "event7"
            ]),
        ),
        // Without a source: the reporting controller and instance.
        (
            event(
                "event2",
                json!({"reportingComponent": "kubelet", "reportingInstance": "test", "firstTimestamp": ago(3 * DAY), "lastTimestamp": ago(2 * DAY), "count": 6}),
            ),
            json!([
                "2d",
                "Warning",
                "Event Reason",
                "deployment/Deployment Name",
                "spec.containers{foo}",
                "kubelet, test",
                "Message Data",
                "3d",
                6,
                "event2"
            ]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&EVENT, &obj)), expected, "{obj}");
    }

    // The same event as events.k8s.io/v1 serves it.
    let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "event8"},
        "reason": "Started", "note": "  Started container  ", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
        "reportingController": "kubelet", "reportingInstance": "node-1",
        "eventTime": ago(10 * MINUTE), "series": {"count": 4, "lastObservedTime": ago(30)}});
    assert_eq!(
        Value::from(cells(&EVENT, &v1)),
        json!([
            "30s",
            "Normal",
            "Started",
            "pod/web",
            "spec.containers{web}",
            "kubelet, node-1",
            "Started container",
            "10m",
            4,
            "event8"
        ])
    );
    let deprecated = json!({"metadata": {"name": "event9"}, "regarding": {"kind": "Node"},
        "deprecatedSource": {"component": "kubelet"}, "deprecatedFirstTimestamp": ago(DAY), "deprecatedLastTimestamp": ago(HOUR_5M), "deprecatedCount": 3});
    assert_eq!(
        Value::from(cells(&EVENT, &deprecated)),
        json!(["65m", "", "", "node", "", "kubelet", "", "24h", 3, "event9"])
    );
}

const HOUR_5M: i64 = 65 * MINUTE;

#[test]
fn resource_quota_table() {
    assert_columns(&RESOURCE_QUOTA, &["Name|string|name|0", "Age|string||0", "Request|string||0", "Limit|string||0"]);
    let quota = json!({"metadata": {"name": "test-resourcequota", "creationTimestamp": ago(5 * MINUTE)}, "spec": {},
    "status": {
        "used": {"cpu": "1", "memory": "1Gi", "pods": "1", "services": "1", "replicationcontrollers": "1", "resourcequotas": "1", "limits.cpu": "2", "limits.memory": "2Gi"},
        "hard": {"cpu": "100", "memory": "4Gi", "pods": "10", "services": "10", "replicationcontrollers": "10", "resourcequotas": "1", "limits.cpu": "200", "limits.memory": "8Gi"},
    }});
    assert_eq!(
        Value::from(cells(&RESOURCE_QUOTA, &quota)),
        json!([
            "test-resourcequota",
            "5m",
            "cpu: 1/100, memory: 1Gi/4Gi, pods: 1/10, replicationcontrollers: 1/10, resourcequotas: 1/1, services: 1/10",
            "limits.cpu: 2/200, limits.memory: 2Gi/8Gi"
        ])
    );
    // Unused resources print 0; quantities print canonically.
    let quota =
        json!({"metadata": {"name": "q"}, "status": {"hard": {"requests.memory": "1024Mi", "count/jobs.batch": 5}}});
    assert_eq!(
        Value::from(cells(&RESOURCE_QUOTA, &quota)),
        json!(["q", "<unknown>", "count/jobs.batch: 0/5, requests.memory: 0/1Gi", ""])
    );
}

#[test]
fn persistent_volume_table() {
    assert_columns(
        &PERSISTENT_VOLUME,
        &[
            "Name|string|name|0",
            "Capacity|string||0",
            "Access Modes|string||0",
            "Reclaim Policy|string||0",
            "Status|string||0",
            "Claim|string||0",
            "StorageClass|string||0",
            "VolumeAttributesClass|string||0",
            "Reason|string||0",
            "Age|string||0",
            "VolumeMode|string||1",
        ],
    );
    let pv = |name: &str, mode: &str, size: &str, phase: &str, extra: Value| {
        let mut spec = json!({"claimRef": {"name": "test", "namespace": "default"}, "accessModes": [mode], "capacity": {"storage": size}});
        if let (Some(s), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(extra.clone());
        }
        json!({"metadata": {"name": name}, "spec": spec, "status": {"phase": phase}})
    };
    let cases = [
        (
            pv("test1", "ReadOnlyMany", "4Gi", "Bound", json!({})),
            json!(["test1", "4Gi", "ROX", "", "Bound", "default/test", "", "<unset>", "", "<unknown>", "<unset>"]),
        ),
        (
            pv("test2", "ReadOnlyMany", "4Gi", "Failed", json!({})),
            json!(["test2", "4Gi", "ROX", "", "Failed", "default/test", "", "<unset>", "", "<unknown>", "<unset>"]),
        ),
        (
            pv("test3", "ReadWriteMany", "10Gi", "Pending", json!({})),
            json!(["test3", "10Gi", "RWX", "", "Pending", "default/test", "", "<unset>", "", "<unknown>", "<unset>"]),
        ),
        (
            pv("test4", "ReadWriteOnce", "10Gi", "Pending", json!({"storageClassName": "my-scn"})),
            json!([
                "test4",
                "10Gi",
                "RWO",
                "",
                "Pending",
                "default/test",
                "my-scn",
                "<unset>",
                "",
                "<unknown>",
                "<unset>"
            ]),
        ),
        (
            pv(
                "test4",
                "ReadWriteOnce",
                "10Gi",
                "Pending",
                json!({"storageClassName": "my-scn", "volumeAttributesClassName": "my-vacn"}),
            ),
            json!([
                "test4",
                "10Gi",
                "RWO",
                "",
                "Pending",
                "default/test",
                "my-scn",
                "my-vacn",
                "",
                "<unknown>",
                "<unset>"
            ]),
        ),
        (
            pv(
                "test6",
                "ReadWriteOnce",
                "10Gi",
                "Released",
                json!({"storageClassName": "my-scn", "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Block"}),
            ),
            json!([
                "test6",
                "10Gi",
                "RWO",
                "Retain",
                "Released",
                "default/test",
                "my-scn",
                "<unset>",
                "",
                "<unknown>",
                "Block"
            ]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&PERSISTENT_VOLUME, &obj)), expected);
    }
    let deleting = json!({"metadata": {"name": "gone", "deletionTimestamp": ago(1),
        "annotations": {"volume.beta.kubernetes.io/storage-class": "beta"}},
        "spec": {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"], "storageClassName": "ignored"}, "status": {"phase": "Bound", "reason": "Why"}});
    assert_eq!(
        Value::from(cells(&PERSISTENT_VOLUME, &deleting)),
        json!(["gone", "0", "RWO,RWOP", "", "Terminating", "", "beta", "<unset>", "Why", "<unknown>", "<unset>"])
    );
}

#[test]
fn persistent_volume_claim_table() {
    assert_columns(
        &PERSISTENT_VOLUME_CLAIM,
        &[
            "Name|string|name|0",
            "Status|string||0",
            "Volume|string||0",
            "Capacity|string||0",
            "Access Modes|string||0",
            "StorageClass|string||0",
            "VolumeAttributesClass|string||0",
            "Age|string||0",
            "VolumeMode|string||1",
        ],
    );
    let pvc = |name: &str, spec: Value, phase: &str, mode: &str, size: &str| json!({"metadata": {"name": name}, "spec": spec, "status": {"phase": phase, "accessModes": [mode], "capacity": {"storage": size}}});
    let cases = [
        (
            pvc(
                "test1",
                json!({"volumeName": "my-volume", "volumeMode": "Filesystem"}),
                "Bound",
                "ReadOnlyMany",
                "4Gi",
            ),
            json!(["test1", "Bound", "my-volume", "4Gi", "ROX", "", "<unset>", "<unknown>", "Filesystem"]),
        ),
        // Unbound claims show no capacity or access modes.
        (
            pvc("test2", json!({"volumeMode": "Filesystem"}), "Lost", "ReadOnlyMany", "4Gi"),
            json!(["test2", "Lost", "", "", "", "", "<unset>", "<unknown>", "Filesystem"]),
        ),
        (
            pvc(
                "test3",
                json!({"volumeName": "my-volume", "volumeMode": "Filesystem"}),
                "Pending",
                "ReadWriteMany",
                "10Gi",
            ),
            json!(["test3", "Pending", "my-volume", "10Gi", "RWX", "", "<unset>", "<unknown>", "Filesystem"]),
        ),
        (
            pvc(
                "test4",
                json!({"volumeName": "my-volume", "storageClassName": "my-scn", "volumeMode": "Filesystem"}),
                "Pending",
                "ReadWriteOnce",
                "10Gi",
            ),
            json!(["test4", "Pending", "my-volume", "10Gi", "RWO", "my-scn", "<unset>", "<unknown>", "Filesystem"]),
        ),
        (
            pvc(
                "test5",
                json!({"volumeName": "my-volume", "storageClassName": "my-scn"}),
                "Pending",
                "ReadWriteOnce",
                "10Gi",
            ),
            json!(["test5", "Pending", "my-volume", "10Gi", "RWO", "my-scn", "<unset>", "<unknown>", "<unset>"]),
        ),
        (
            pvc(
                "test5",
                json!({"volumeName": "my-volume", "storageClassName": "my-scn", "volumeAttributesClassName": "my-vacn"}),
                "Pending",
                "ReadWriteOnce",
                "10Gi",
            ),
            json!(["test5", "Pending", "my-volume", "10Gi", "RWO", "my-scn", "my-vacn", "<unknown>", "<unset>"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&PERSISTENT_VOLUME_CLAIM, &obj)), expected);
    }
}

#[test]
fn component_status_table() {
    assert_columns(
        &COMPONENT_STATUS,
        &["Name|string|name|0", "Status|string||0", "Message|string||0", "Error|string||0"],
    );
    let cases = [
        (json!({"metadata": {"name": "cs1"}, "conditions": []}), json!(["cs1", "Unknown", "", ""])),
        (
            json!({"metadata": {"name": "cs2"}, "conditions": [{"type": "Healthy", "status": "True", "message": "test message", "error": "test error"}]}),
            json!(["cs2", "Healthy", "test message", "test error"]),
        ),
        (
            json!({"metadata": {"name": "cs3"}, "conditions": [{"type": "Healthy", "status": "False", "message": "test message", "error": "test error"}]}),
            json!(["cs3", "Unhealthy", "test message", "test error"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&COMPONENT_STATUS, &obj)), expected);
    }
}
