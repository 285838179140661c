//! Workloads and their controls: apps, batch, autoscaling, policy.

use serde_json::{Value, json};

use super::super::apps::{CONTROLLER_REVISION, DAEMON_SET, DEPLOYMENT, REPLICA_SET, STATEFUL_SET};
use super::super::autoscaling::{HORIZONTAL_POD_AUTOSCALER, SCALE};
use super::super::batch::{CRON_JOB, JOB};
use super::super::policy::POD_DISRUPTION_BUDGET;
use super::{DAY, MINUTE, ago, almost_now, assert_columns, cells};

fn two_containers() -> Value {
    json!([{"name": "fake-container1", "image": "fake-image1"}, {"name": "fake-container2", "image": "fake-image2"}])
}

#[test]
fn deployment_table() {
    assert_columns(
        &DEPLOYMENT,
        &[
            "Name|string|name|0",
            "Ready|string||0",
            "Up-to-date|string||0",
            "Available|string||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let d = json!({"metadata": {"name": "test1", "creationTimestamp": almost_now()},
        "spec": {"replicas": 5, "template": {"spec": {"containers": two_containers()}}, "selector": {"matchLabels": {"foo": "bar"}}},
        "status": {"replicas": 10, "updatedReplicas": 2, "availableReplicas": 1, "unavailableReplicas": 4}});
    assert_eq!(
        Value::from(cells(&DEPLOYMENT, &d)),
        json!(["test1", "0/5", 2, 1, "0s", "fake-container1,fake-container2", "fake-image1,fake-image2", "foo=bar"])
    );
    // An empty selector prints empty; set-based requirements print sorted.
    let d = json!({"metadata": {"name": "d"}, "spec": {"selector": {}}, "status": {"readyReplicas": 1}});
    assert_eq!(cells(&DEPLOYMENT, &d)[7], json!(""));
    assert_eq!(cells(&DEPLOYMENT, &d)[1], json!("1/0"));
    let d = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"},
    ]}}});
    assert_eq!(cells(&DEPLOYMENT, &d)[7], json!("app=web,!canary,tier in (api,web)"));
    let d = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}}});
    assert_eq!(cells(&DEPLOYMENT, &d)[7], json!("<invalid>"));
}

#[test]
fn replica_set_table() {
    assert_columns(
        &REPLICA_SET,
        &[
            "Name|string|name|0",
            "Desired|integer||0",
            "Current|integer||0",
            "Ready|integer||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let rs = json!({"metadata": {"name": "test1", "creationTimestamp": almost_now()},
        "spec": {"replicas": 5, "template": {"spec": {"containers": two_containers()}}, "selector": {"matchLabels": {"foo": "bar"}}},
        "status": {"replicas": 5, "readyReplicas": 2}});
    assert_eq!(
        Value::from(cells(&REPLICA_SET, &rs)),
        json!(["test1", 5, 5, 2, "0s", "fake-container1,fake-container2", "fake-image1,fake-image2", "foo=bar"])
    );
    let rs = json!({"metadata": {"name": "replicaset2", "creationTimestamp": almost_now()}, "spec": {"replicas": 4, "template": {}}, "status": {"replicas": 3, "readyReplicas": 1}});
    assert_eq!(Value::from(cells(&REPLICA_SET, &rs)), json!(["replicaset2", 4, 3, 1, "0s", "", "", "<none>"]));
}

#[test]
fn stateful_set_table() {
    assert_columns(
        &STATEFUL_SET,
        &["Name|string|name|0", "Ready|string||0", "Age|string||0", "Containers|string||1", "Images|string||1"],
    );
    let ss = json!({"metadata": {"name": "test1", "creationTimestamp": almost_now()},
        "spec": {"replicas": 5, "template": {"spec": {"containers": two_containers()}}},
        "status": {"replicas": 5, "readyReplicas": 2}});
    assert_eq!(
        Value::from(cells(&STATEFUL_SET, &ss)),
        json!(["test1", "2/5", "0s", "fake-container1,fake-container2", "fake-image1,fake-image2"])
    );
}

#[test]
fn daemon_set_table() {
    assert_columns(
        &DAEMON_SET,
        &[
            "Name|string|name|0",
            "Desired|integer||0",
            "Current|integer||0",
            "Ready|integer||0",
            "Up-to-date|integer||0",
            "Available|integer||0",
            "Node Selector|string||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let ds = json!({"metadata": {"name": "test1", "creationTimestamp": almost_now()},
        "spec": {"template": {"spec": {"containers": two_containers()}}, "selector": {"matchLabels": {"foo": "bar"}}},
        "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 3, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 0}});
    assert_eq!(
        Value::from(cells(&DAEMON_SET, &ds)),
        json!([
            "test1",
            3,
            2,
            1,
            2,
            0,
            "<none>",
            "0s",
            "fake-container1,fake-container2",
            "fake-image1,fake-image2",
            "foo=bar"
        ])
    );
    let ds = json!({"metadata": {"name": "ds"}, "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}});
    assert_eq!(cells(&DAEMON_SET, &ds)[6], json!("kubernetes.io/os=linux"));
}

#[test]
fn controller_revision_table() {
    assert_columns(
        &CONTROLLER_REVISION,
        &["Name|string|name|0", "Controller|string||0", "Revision|string||0", "Age|string||0"],
    );
    let rev = |name: &str, owners: Value, revision: i64| json!({"metadata": {"name": name, "creationTimestamp": almost_now(), "ownerReferences": owners}, "revision": revision});
    let cases = [
        (
            rev("test1", json!([{"controller": true, "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "foo"}]), 1),
            json!(["test1", "daemonset.apps/foo", 1, "0s"]),
        ),
        (
            rev("test2", json!([{"controller": false, "kind": "ABC", "name": "foo"}]), 2),
            json!(["test2", "<none>", 2, "0s"]),
        ),
        (rev("test3", json!([]), 3), json!(["test3", "<none>", 3, "0s"])),
        (rev("test4", Value::Null, 4), json!(["test4", "<none>", 4, "0s"])),
        (
            rev(
                "core",
                json!([{"controller": true, "apiVersion": "v1", "kind": "ReplicationController", "name": "rc"}]),
                5,
            ),
            json!(["core", "replicationcontroller/rc", 5, "0s"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&CONTROLLER_REVISION, &obj)), expected);
    }
}

#[test]
fn job_table() {
    assert_columns(
        &JOB,
        &[
            "Name|string|name|0",
            "Status|string||0",
            "Completions|string||0",
            "Duration|string||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let job = json!({"metadata": {"name": "job1", "creationTimestamp": almost_now()},
        "spec": {"completions": 2, "template": {"spec": {"containers": [
            {"name": "fake-job-container1", "image": "fake-job-image1"}, {"name": "fake-job-container2", "image": "fake-job-image2"},
        ]}}, "selector": {"matchLabels": {"job-label": "job-label-value"}}},
        "status": {"succeeded": 1}});
    assert_eq!(
        Value::from(cells(&JOB, &job)),
        json!([
            "job1",
            "Running",
            "1/2",
            "",
            "0s",
            "fake-job-container1,fake-job-container2",
            "fake-job-image1,fake-job-image2",
            "job-label=job-label-value"
        ])
    );
    let short = |status: Value, meta: Value| {
        let job = json!({"metadata": meta, "spec": {}, "status": status});
        cells(&JOB, &job)[..5].to_vec()
    };
    let ten_years = json!({"name": "j", "creationTimestamp": ago(10 * 365 * DAY)});
    let fresh = json!({"name": "j", "creationTimestamp": almost_now()});
    let cases = [
        (short(json!({"succeeded": 0}), ten_years.clone()), json!(["j", "Running", "0/1", "", "10y"])),
        // A completed job's duration runs from start to completion.
        (
            short(json!({"startTime": ago(-MINUTE), "completionTime": ago(-31 * MINUTE)}), ten_years.clone()),
            json!(["j", "Running", "0/1", "30m", "10y"]),
        ),
        // A running job's duration runs until now.
        (short(json!({"startTime": ago(20 * MINUTE)}), ten_years), json!(["j", "Running", "0/1", "20m", "10y"])),
        (
            short(json!({"conditions": [{"type": "Complete", "status": "True"}]}), fresh.clone()),
            json!(["j", "Complete", "0/1", "", "0s"]),
        ),
        (
            short(json!({"conditions": [{"type": "Failed", "status": "True"}]}), fresh.clone()),
            json!(["j", "Failed", "0/1", "", "0s"]),
        ),
        (
            short(json!({"conditions": [{"type": "Suspended", "status": "True"}]}), fresh.clone()),
            json!(["j", "Suspended", "0/1", "", "0s"]),
        ),
        (
            short(json!({"conditions": [{"type": "FailureTarget", "status": "True"}]}), fresh.clone()),
            json!(["j", "FailureTarget", "0/1", "", "0s"]),
        ),
        (
            short(
                json!({}),
                json!({"name": "j", "creationTimestamp": almost_now(), "deletionTimestamp": almost_now()}),
            ),
            json!(["j", "Terminating", "0/1", "", "0s"]),
        ),
        // A condition that is not True does not count.
        (
            short(json!({"conditions": [{"type": "Complete", "status": "False"}]}), fresh),
            json!(["j", "Running", "0/1", "", "0s"]),
        ),
    ];
    for (actual, expected) in cases {
        assert_eq!(Value::from(actual), expected);
    }
    let parallel = json!({"metadata": {"name": "p"}, "spec": {"parallelism": 3}, "status": {"succeeded": 1}});
    assert_eq!(cells(&JOB, &parallel)[2], json!("1/1 of 3"));
}

#[test]
fn cron_job_table() {
    assert_columns(
        &CRON_JOB,
        &[
            "Name|string|name|0",
            "Schedule|string||0",
            "Timezone|string||0",
            "Suspend|boolean||0",
            "Active|integer||0",
            "Last Schedule|string||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let cron = json!({"metadata": {"name": "cronjob1", "creationTimestamp": almost_now()},
        "spec": {"schedule": "0/5 * * * ?", "suspend": false, "jobTemplate": {"spec": {"completions": 2,
            "template": {"spec": {"containers": [{"name": "fake-job-container1", "image": "fake-job-image1"}, {"name": "fake-job-container2", "image": "fake-job-image2"}]}},
            "selector": {"matchLabels": {"a": "b"}}}}},
        "status": {"lastScheduleTime": almost_now()}});
    assert_eq!(
        Value::from(cells(&CRON_JOB, &cron)),
        json!([
            "cronjob1",
            "0/5 * * * ?",
            "<none>",
            "False",
            0,
            "0s",
            "0s",
            "fake-job-container1,fake-job-container2",
            "fake-job-image1,fake-job-image2",
            "a=b"
        ])
    );
    let cron = json!({"metadata": {"name": "cronjob1", "creationTimestamp": almost_now()},
        "spec": {"schedule": "0/5 * * * ?", "timeZone": "LOCAL", "suspend": false}, "status": {"lastScheduleTime": almost_now()}});
    assert_eq!(
        Value::from(cells(&CRON_JOB, &cron)[..7].to_vec()),
        json!(["cronjob1", "0/5 * * * ?", "LOCAL", "False", 0, "0s", "0s"])
    );
    let cron = json!({"metadata": {"name": "cronjob2", "creationTimestamp": ago(5 * MINUTE)},
        "spec": {"schedule": "0/5 * * * ?", "suspend": false}, "status": {"lastScheduleTime": ago(30), "active": [{"name": "j"}]}});
    assert_eq!(
        Value::from(cells(&CRON_JOB, &cron)),
        json!(["cronjob2", "0/5 * * * ?", "<none>", "False", 1, "30s", "5m", "", "", "<none>"])
    );
    let cron = json!({"metadata": {"name": "cronjob3", "creationTimestamp": ago(5 * MINUTE)}, "spec": {"schedule": "0/5 * * * ?"}, "status": {}});
    assert_eq!(
        Value::from(cells(&CRON_JOB, &cron)[..7].to_vec()),
        json!(["cronjob3", "0/5 * * * ?", "<none>", "<unset>", 0, "<none>", "5m"])
    );
}

#[test]
fn horizontal_pod_autoscaler_table() {
    assert_columns(
        &HORIZONTAL_POD_AUTOSCALER,
        &[
            "Name|string|name|0",
            "Reference|string||0",
            "Targets|string||0",
            "MinPods|string||0",
            "MaxPods|string||0",
            "Replicas|string||0",
            "Age|string||0",
        ],
    );
    let hpa = |min: Option<i64>, metrics: Value, current: Value| {
        let mut spec = json!({"scaleTargetRef": {"name": "some-rc", "kind": "ReplicationController"}, "maxReplicas": 10, "metrics": metrics});
        if let Some(min) = min {
            spec["minReplicas"] = json!(min);
        }
        json!({"metadata": {"name": "some-hpa"}, "spec": spec, "status": {"currentReplicas": 4, "desiredReplicas": 5, "currentMetrics": current}})
    };
    let targets =
        |metrics: Value, current: Value| cells(&HORIZONTAL_POD_AUTOSCALER, &hpa(Some(2), metrics, current))[2].clone();
    let external = |target: Value| json!([{"type": "External", "external": {"metric": {"name": "some-external-metric"}, "target": target}}]);
    let external_now = |current: Value| json!([{"type": "External", "external": {"metric": {"name": "some-external-metric"}, "current": current}}]);
    let pods = json!([{"type": "Pods", "pods": {"metric": {"name": "some-pods-metric"}, "target": {"type": "AverageValue", "averageValue": "100m"}}}]);
    let object = json!([{"type": "Object", "object": {"describedObject": {"name": "some-service", "kind": "Service"}, "metric": {"name": "some-service-metric"},
        "target": {"type": "Value", "value": "100m"}}}]);
    let resource = |target: Value| json!([{"type": "Resource", "resource": {"name": "cpu", "target": target}}]);
    let resource_now = |current: Value| json!([{"type": "Resource", "resource": {"name": "cpu", "current": current}}]);
    let container = |target: Value| json!([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "application", "target": target}}]);
    let avg100 = json!({"type": "AverageValue", "averageValue": "100m"});
    let util80 = json!({"type": "Utilization", "averageUtilization": 80});
    let cases = [
        (external(avg100.clone()), json!([]), "<unknown>/100m (avg)"),
        (external(avg100.clone()), external_now(json!({"averageValue": "50m"})), "50m/100m (avg)"),
        (external(json!({"type": "Value", "value": "100m"})), json!([]), "<unknown>/100m"),
        (external(json!({"type": "Value", "value": "100m"})), external_now(json!({"value": "50m"})), "50m/100m"),
        (pods.clone(), json!([]), "<unknown>/100m"),
        (
            pods,
            json!([{"type": "Pods", "pods": {"metric": {"name": "some-pods-metric"}, "current": {"averageValue": "50m"}}}]),
            "50m/100m",
        ),
        (object.clone(), json!([]), "<unknown>/100m"),
        (
            object,
            json!([{"type": "Object", "object": {"metric": {"name": "some-service-metric"}, "current": {"value": "50m"}}}]),
            "50m/100m",
        ),
        (resource(avg100.clone()), json!([]), "cpu: <unknown>/100m"),
        (resource(avg100.clone()), resource_now(json!({"averageValue": "50m"})), "cpu: 50m/100m"),
        (resource(util80.clone()), json!([]), "cpu: <unknown>/80%"),
        (
            resource(util80.clone()),
            resource_now(json!({"averageUtilization": 50, "averageValue": "40m"})),
            "cpu: 50%/80%",
        ),
        (container(avg100.clone()), json!([]), "cpu: <unknown>/100m"),
        (
            container(avg100),
            json!([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "application", "current": {"averageValue": "50m"}}}]),
            "cpu: 50m/100m",
        ),
        (container(util80.clone()), json!([]), "cpu: <unknown>/80%"),
        (resource(json!({"type": "Utilization"})), json!([]), "cpu: <unknown>/<auto>"),
        (json!([{"type": "Bogus"}]), json!([]), "<unknown type>"),
        // Two metrics are listed, the rest counted.
        (
            json!([
                {"type": "Resource", "resource": {"name": "cpu", "target": util80}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            ]),
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}]),
            "cpu: 50%/80%, memory: <unknown>/100Mi + 1 more...",
        ),
    ];
    for (metrics, current, expected) in cases {
        assert_eq!(targets(metrics.clone(), current), json!(expected), "{metrics}");
    }
    // No metrics and no minimum.
    assert_eq!(
        Value::from(cells(&HORIZONTAL_POD_AUTOSCALER, &hpa(None, json!([]), json!([])))),
        json!(["some-hpa", "ReplicationController/some-rc", "<none>", "<unset>", 10, 4, "<unknown>"])
    );
    // autoscaling/v1 objects: a CPU utilization target.
    let v1 = json!({"apiVersion": "autoscaling/v1", "metadata": {"name": "v1"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80},
        "status": {"currentReplicas": 2, "currentCPUUtilizationPercentage": 35}});
    assert_eq!(
        Value::from(cells(&HORIZONTAL_POD_AUTOSCALER, &v1)),
        json!(["v1", "Deployment/web", "cpu: 35%/80%", "1", 5, 2, "<unknown>"])
    );
    let v1 = json!({"metadata": {"name": "v1"}, "spec": {"targetCPUUtilizationPercentage": 80}});
    assert_eq!(cells(&HORIZONTAL_POD_AUTOSCALER, &v1)[2], json!("cpu: <unknown>/80%"));
}

#[test]
fn scale_table() {
    assert_columns(&SCALE, &["Name|string||0", "Desired|integer||0", "Available|integer||0", "Age|string||0"]);
    let scale = json!({"metadata": {"name": "test-autoscaling", "creationTimestamp": almost_now()}, "spec": {"replicas": 2}, "status": {"replicas": 1}});
    assert_eq!(Value::from(cells(&SCALE, &scale)), json!(["test-autoscaling", 2, 1, "0s"]));
}

#[test]
fn pod_disruption_budget_table() {
    assert_columns(
        &POD_DISRUPTION_BUDGET,
        &[
            "Name|string|name|0",
            "Min Available|string||0",
            "Max Unavailable|string||0",
            "Allowed Disruptions|integer||0",
            "Age|string||0",
        ],
    );
    let pdb = json!({"metadata": {"name": "pdb1", "creationTimestamp": ago(DAY)}, "spec": {"minAvailable": 22}, "status": {"disruptionsAllowed": 5}});
    assert_eq!(Value::from(cells(&POD_DISRUPTION_BUDGET, &pdb)), json!(["pdb1", "22", "N/A", 5, "24h"]));
    let pdb = json!({"metadata": {"name": "pdb2"}, "spec": {"maxUnavailable": "25%"}});
    assert_eq!(Value::from(cells(&POD_DISRUPTION_BUDGET, &pdb)), json!(["pdb2", "N/A", "25%", 0, "<unknown>"]));
}
