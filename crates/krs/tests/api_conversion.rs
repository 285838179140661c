//! Kinds served in several versions read and write as one object: HorizontalPodAutoscaler in
//! autoscaling/v1 and v2, Event in core/v1 and events.k8s.io/v1, for get, list and watch.

use crate::common;

use common::Kubectl;
use common::http::Api;
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    hpa_created_as_v2_reads_as_v1,
    hpa_created_as_v1_reads_as_v2,
    hpa_watch_in_v1_converts_events,
    event_created_as_events_v1_reads_as_core_v1,
    event_created_as_core_v1_reads_as_events_v1,
);

scenarios!(etcd, Etcd, V1_33:
    hpa_created_as_v2_reads_as_v1,
    event_created_as_events_v1_reads_as_core_v1,
);

const HPA_V1: &str = "/apis/autoscaling/v1/namespaces/conv/horizontalpodautoscalers";
const HPA_V2: &str = "/apis/autoscaling/v2/namespaces/conv/horizontalpodautoscalers";
const EVENTS_CORE: &str = "/api/v1/namespaces/conv/events";
const EVENTS_V1: &str = "/apis/events.k8s.io/v1/namespaces/conv/events";

fn namespace(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "conv"}}))
        .expect(201);
}

fn target() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
}

fn hpa_v2(name: &str, cpu: i64) -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": target(),
            "minReplicas": 2,
            "maxReplicas": 7,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}],
        },
    })
}

fn hpa_created_as_v2_reads_as_v1(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let created = api.post(HPA_V2, &hpa_v2("h", 70)).expect(201);
    assert_eq!(created["apiVersion"], "autoscaling/v2");
    let v1 = api.get(&format!("{HPA_V1}/h")).expect(200);
    assert_eq!((&v1["apiVersion"], &v1["kind"]), (&json!("autoscaling/v1"), &json!("HorizontalPodAutoscaler")), "{v1}");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70, "{v1}");
    assert_eq!((&v1["spec"]["minReplicas"], &v1["spec"]["maxReplicas"]), (&json!(2), &json!(7)), "{v1}");
    assert_eq!(v1["spec"]["scaleTargetRef"], target(), "{v1}");
    assert!(v1["spec"].get("metrics").is_none(), "a v2 field in v1: {v1}");
    // One object: same uid and resourceVersion in both versions.
    assert_eq!(v1["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(v1["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);

    let list = api.get(HPA_V1).expect(200);
    assert_eq!(
        (&list["apiVersion"], &list["kind"]),
        (&json!("autoscaling/v1"), &json!("HorizontalPodAutoscalerList")),
        "{list}"
    );
    assert_eq!(list["items"][0]["spec"]["targetCPUUtilizationPercentage"], 70, "{list}");

    // An update through v1 changes the v2 metric it maps to.
    let mut update = v1.clone();
    update["spec"]["targetCPUUtilizationPercentage"] = json!(55);
    api.put(&format!("{HPA_V1}/h"), &update).expect(200);
    let v2 = api.get(&format!("{HPA_V2}/h")).expect(200);
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 55, "{v2}");
    assert_eq!(v2["spec"]["metrics"].as_array().map(Vec::len), Some(1), "{v2}");
}

fn hpa_created_as_v1_reads_as_v2(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let v1 = json!({
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": target(), "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50},
    });
    let created = api.post(HPA_V1, &v1).expect(201);
    assert_eq!(created["spec"]["targetCPUUtilizationPercentage"], 50, "{created}");
    let v2 = api.get(&format!("{HPA_V2}/h")).expect(200);
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]),
        "{v2}"
    );
    assert_eq!((&v2["spec"]["minReplicas"], &v2["spec"]["maxReplicas"]), (&json!(1), &json!(4)), "{v2}");
    let list = api.get(HPA_V2).expect(200);
    assert_eq!(list["apiVersion"], "autoscaling/v2", "{list}");
    assert_eq!(list["items"][0]["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 50, "{list}");
}

fn hpa_watch_in_v1_converts_events(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let first = api.post(HPA_V2, &hpa_v2("a", 60)).expect(201);
    let rv = first["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    let mut w = api.watch(&format!("{HPA_V1}?watch=1&resourceVersion={rv}"), None);
    api.post(HPA_V2, &hpa_v2("b", 65)).expect(201);
    let e = w.next_event();
    assert_eq!((&e["type"], &e["object"]["metadata"]["name"]), (&json!("ADDED"), &json!("b")), "{e}");
    assert_eq!(e["object"]["apiVersion"], "autoscaling/v1", "{e}");
    assert_eq!(e["object"]["spec"]["targetCPUUtilizationPercentage"], 65, "{e}");
}

fn event_created_as_events_v1_reads_as_core_v1(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let event = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "eventTime": "2024-05-01T10:00:00.000000Z",
        "reportingController": "example.com/tester",
        "reportingInstance": "tester-1",
        "action": "Testing",
        "reason": "Tested",
        "regarding": {"apiVersion": "v1", "kind": "Pod", "namespace": "conv", "name": "p", "uid": "u-1"},
        "note": "hello from events.k8s.io",
        "type": "Normal",
    });
    let created = api.post(EVENTS_V1, &event).expect(201);
    assert_eq!(created["note"], "hello from events.k8s.io", "{created}");
    let core = api.get(&format!("{EVENTS_CORE}/e1")).expect(200);
    assert_eq!((&core["apiVersion"], &core["kind"]), (&json!("v1"), &json!("Event")), "{core}");
    assert_eq!(
        core["involvedObject"],
        json!({"apiVersion": "v1", "kind": "Pod", "namespace": "conv", "name": "p", "uid": "u-1"}),
        "{core}"
    );
    assert_eq!(core["message"], "hello from events.k8s.io", "{core}");
    assert_eq!(
        (&core["reason"], &core["type"], &core["action"]),
        (&json!("Tested"), &json!("Normal"), &json!("Testing")),
        "{core}"
    );
    assert_eq!(core["reportingComponent"], "example.com/tester", "{core}");
    assert_eq!(core["reportingInstance"], "tester-1", "{core}");
    assert_eq!(core["eventTime"], "2024-05-01T10:00:00.000000Z", "{core}");

    // Listed both ways.
    let core_list = api.get(EVENTS_CORE).expect(200);
    assert_eq!((&core_list["apiVersion"], &core_list["kind"]), (&json!("v1"), &json!("EventList")), "{core_list}");
    assert_eq!(core_list["items"][0]["involvedObject"]["name"], "p", "{core_list}");
    let list = api.get(EVENTS_V1).expect(200);
    assert_eq!((&list["apiVersion"], &list["kind"]), (&json!("events.k8s.io/v1"), &json!("EventList")), "{list}");
    assert_eq!(list["items"][0]["regarding"]["name"], "p", "{list}");
    assert_eq!(list["items"][0]["note"], "hello from events.k8s.io", "{list}");
}

fn event_created_as_core_v1_reads_as_events_v1(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e2"},
        "involvedObject": {"kind": "Pod", "namespace": "conv", "name": "q"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": "2024-05-01T10:00:00Z",
        "lastTimestamp": "2024-05-01T10:05:00Z",
        "count": 3,
    });
    api.post(EVENTS_CORE, &event).expect(201);
    let v1 = api.get(&format!("{EVENTS_V1}/e2")).expect(200);
    assert_eq!((&v1["apiVersion"], &v1["kind"]), (&json!("events.k8s.io/v1"), &json!("Event")), "{v1}");
    assert_eq!(v1["regarding"], json!({"kind": "Pod", "namespace": "conv", "name": "q"}), "{v1}");
    assert_eq!(v1["note"], "Back-off restarting failed container", "{v1}");
    assert_eq!((&v1["reason"], &v1["type"]), (&json!("BackOff"), &json!("Warning")), "{v1}");
    assert_eq!(v1["deprecatedSource"], json!({"component": "kubelet", "host": "n1"}), "{v1}");
    assert_eq!(v1["deprecatedCount"], 3, "{v1}");
    assert_eq!(v1["deprecatedFirstTimestamp"], "2024-05-01T10:00:00Z", "{v1}");
    assert_eq!(v1["deprecatedLastTimestamp"], "2024-05-01T10:05:00Z", "{v1}");
    assert!(v1.get("message").is_none() && v1.get("involvedObject").is_none(), "core fields in events.k8s.io/v1: {v1}");
}
