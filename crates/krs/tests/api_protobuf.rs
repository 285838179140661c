//! Protobuf, as client-go speaks it: `Accept: application/vnd.kubernetes.protobuf` gets
//! `k8s\0`-prefixed bodies for get and list and length-prefixed frames for watches; a
//! protobuf request body creates an object.

use crate::common;

use std::time::Duration;

use common::Kubectl;
use common::http::{Api, JSON, PROTOBUF};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    get_and_list_answer_protobuf_when_asked,
    watch_streams_length_prefixed_protobuf_frames,
    protobuf_request_body_creates_object,
);

scenarios!(etcd, Etcd, V1_33:
    watch_streams_length_prefixed_protobuf_frames,
    protobuf_request_body_creates_object,
);

const CONFIGMAPS: &str = "/api/v1/namespaces/proto/configmaps";

fn setup(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "proto"}}))
        .expect(201);
}

fn configmap(name: &str, a: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "proto"}, "data": {"a": a}})
}

fn decode(body: &[u8]) -> Value {
    assert!(
        body.starts_with(b"k8s\0"),
        "not a protobuf body: {:?}",
        String::from_utf8_lossy(&body[..body.len().min(64)])
    );
    krs_proto::decode_object(body).unwrap_or_else(|e| panic!("undecodable protobuf body: {e}"))
}

fn get_and_list_answer_protobuf_when_asked(k: &Kubectl) {
    let api = Api::new(k.cluster);
    setup(&api);
    api.post(CONFIGMAPS, &configmap("x", "1")).expect(201);
    api.post(CONFIGMAPS, &configmap("y", "2")).expect(201);

    let r = api.request("GET", &format!("{CONFIGMAPS}/x"), None, None, Some(PROTOBUF));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), PROTOBUF);
    let x = decode(&r.body);
    assert_eq!((&x["apiVersion"], &x["kind"]), (&json!("v1"), &json!("ConfigMap")), "{x}");
    assert_eq!((&x["metadata"]["name"], &x["data"]["a"]), (&json!("x"), &json!("1")), "{x}");
    // The same object as the JSON answer.
    let json_x = api.get(&format!("{CONFIGMAPS}/x")).expect(200);
    assert_eq!(x["metadata"]["uid"], json_x["metadata"]["uid"]);
    assert_eq!(x["metadata"]["resourceVersion"], json_x["metadata"]["resourceVersion"]);

    // client-go's Accept: protobuf first, JSON as a fallback.
    let r = api.request("GET", CONFIGMAPS, None, None, Some("application/vnd.kubernetes.protobuf, application/json"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), PROTOBUF);
    let list = decode(&r.body);
    assert_eq!(list["kind"], "ConfigMapList", "{list}");
    let names: Vec<&Value> = list["items"].as_array().expect("items").iter().map(|i| &i["metadata"]["name"]).collect();
    assert_eq!(names, [&json!("x"), &json!("y")], "{list}");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()), "{list}");

    // Errors stay decodable by a protobuf client: a Status (protobuf or JSON both are fine
    // for client-go, which reads the content type).
    let r = api.request("GET", &format!("{CONFIGMAPS}/missing"), None, None, Some(PROTOBUF));
    assert_eq!(r.status, 404);
    let status = if r.body.starts_with(b"k8s\0") { decode(&r.body) } else { r.json() };
    assert_eq!((&status["kind"], &status["reason"]), (&json!("Status"), &json!("NotFound")), "{status}");
}

fn watch_streams_length_prefixed_protobuf_frames(k: &Kubectl) {
    let api = Api::new(k.cluster);
    setup(&api);
    let created = api.post(CONFIGMAPS, &configmap("x", "1")).expect(201);
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    let mut w = api.watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={rv}"), Some(PROTOBUF));
    w.ok();
    assert_eq!(
        w.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/vnd.kubernetes.protobuf;stream=watch")
    );
    api.patch(&format!("{CONFIGMAPS}/x"), common::http::MERGE_PATCH, &json!({"data": {"a": "2"}})).expect(200);
    api.post(CONFIGMAPS, &configmap("y", "3")).expect(201);
    api.delete(&format!("{CONFIGMAPS}/x")).expect(200);
    let mut got = Vec::new();
    while got.len() < 3 {
        let frame = w.next_frame(common::DEADLINE).unwrap_or_else(|| panic!("no protobuf frame; got {got:?}"));
        let event = krs_proto::decode_watch_event(&frame).unwrap_or_else(|e| panic!("undecodable watch frame: {e}"));
        let object = &event["object"];
        assert_eq!(object["kind"], "ConfigMap", "{event}");
        got.push((
            event["type"].as_str().unwrap_or_default().to_string(),
            object["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            object["data"]["a"].as_str().unwrap_or_default().to_string(),
        ));
    }
    let want = [("MODIFIED", "x", "2"), ("ADDED", "y", "3"), ("DELETED", "x", "2")];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(t, n, a)| (t.to_string(), n.to_string(), a.to_string())).collect();
    assert_eq!(got, want);
    assert!(w.next_frame(Duration::from_millis(300)).is_none(), "an extra frame");
}

fn protobuf_request_body_creates_object(k: &Kubectl) {
    let api = Api::new(k.cluster);
    setup(&api);
    let body = krs_proto::encode_object(&configmap("from-proto", "hello")).expect("encodable configmap");
    assert!(body.starts_with(b"k8s\0"));
    let r = api.request("POST", CONFIGMAPS, Some(&body), Some(PROTOBUF), Some(JSON));
    let created = r.expect(201);
    assert_eq!(
        (&created["metadata"]["name"], &created["data"]["a"]),
        (&json!("from-proto"), &json!("hello")),
        "{created}"
    );
    let stored = api.get(&format!("{CONFIGMAPS}/from-proto")).expect(200);
    assert_eq!(stored["data"], json!({"a": "hello"}));
    assert_eq!(stored["metadata"]["uid"], created["metadata"]["uid"]);

    // A protobuf update and a protobuf answer.
    let mut update = stored.clone();
    update["data"]["a"] = json!("again");
    let body = krs_proto::encode_object(&update).expect("encodable configmap");
    let r = api.request("PUT", &format!("{CONFIGMAPS}/from-proto"), Some(&body), Some(PROTOBUF), Some(PROTOBUF));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(decode(&r.body)["data"]["a"], "again");

    // Garbage after the magic is a 400, not a crash.
    let r = api.request("POST", CONFIGMAPS, Some(b"k8s\0\x0a\xff\xff"), Some(PROTOBUF), Some(JSON));
    assert_eq!(r.status, 400, "{}", r.text());
}
