//! Watch semantics over the raw API: changes after a resourceVersion in order with their
//! types, watch-list (sendInitialEvents) ending its initial events with an annotated BOOKMARK,
//! 410 for a compacted resourceVersion, resumption after a server restart (KEP 1904),
//! label-selector transitions, and the legacy /watch/ paths.

use crate::common;

use std::time::Duration;

use common::http::{Api, MERGE_PATCH, Watch, events};
use common::{Cluster, Kubectl, start_etcd};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    watch_from_resource_version_delivers_later_changes_in_order,
    watch_list_sends_initial_events_then_bookmark_marking_their_end,
    watch_list_options_are_validated,
    label_selector_watch_sees_objects_enter_and_leave,
    legacy_watch_paths_stream_events,
);

scenarios!(etcd, Etcd, V1_33:
    watch_from_resource_version_delivers_later_changes_in_order,
    watch_list_sends_initial_events_then_bookmark_marking_their_end,
    label_selector_watch_sees_objects_enter_and_leave,
);

const CONFIGMAPS: &str = "/api/v1/namespaces/w/configmaps";

fn namespace(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "w"}}))
        .expect(201);
}

fn configmap(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"a": "1"}})
}

fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion: {obj}"))
}

fn create(api: &Api, name: &str) -> u64 {
    rv_of(&api.post(CONFIGMAPS, &configmap(name, json!({}))).expect(201))
}

fn patch_data(api: &Api, name: &str, a: &str) -> u64 {
    rv_of(&api.patch(&format!("{CONFIGMAPS}/{name}"), MERGE_PATCH, &json!({"data": {"a": a}})).expect(200))
}

/// Asserts nothing more arrives for a moment (bookmarks aside).
fn assert_quiet(w: &mut Watch) {
    let extra: Vec<_> = w.drain(Duration::from_millis(500)).into_iter().filter(|(t, _)| t != "BOOKMARK").collect();
    assert!(extra.is_empty(), "unexpected events: {extra:?}");
}

fn watch_from_resource_version_delivers_later_changes_in_order(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let start = create(&api, "x");
    // Changes made before the watch starts, after its resourceVersion: replayed.
    create(&api, "y");
    patch_data(&api, "x", "2");
    api.delete(&format!("{CONFIGMAPS}/y")).expect(200);
    let mut w = api.watch(&format!("{CONFIGMAPS}?watch=1&resourceVersion={start}"), None);
    w.ok();
    assert_eq!(w.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(w.next_change());
    }
    assert_eq!(got, events(&[("ADDED", "y"), ("MODIFIED", "x"), ("DELETED", "y")]));
    // And changes made while it runs.
    create(&api, "z");
    patch_data(&api, "z", "3");
    api.delete(&format!("{CONFIGMAPS}/x")).expect(200);
    for want in [("ADDED", "z"), ("MODIFIED", "z"), ("DELETED", "x")] {
        assert_eq!(w.next_change(), (want.0.to_string(), want.1.to_string()));
    }
    assert_quiet(&mut w);
    // Every event carries its own, increasing resourceVersion; the object is whole.
    let rvs: Vec<u64> = w.seen.iter().map(|e| rv_of(&e["object"])).collect();
    assert!(rvs.windows(2).all(|p| p[0] < p[1]), "resourceVersions not increasing: {rvs:?}");
    assert!(rvs[0] > start, "{rvs:?} after {start}");
    assert!(
        w.seen.iter().all(|e| e["object"]["kind"] == "ConfigMap" && e["object"]["apiVersion"] == "v1"),
        "{:#?}",
        w.seen
    );
    assert_eq!(w.seen[4]["object"]["data"]["a"], "3", "{}", w.seen[4]);
}

/// Reads a watch-list's initial events up to the BOOKMARK that ends them; returns the sorted
/// (type, name) of the initial events and the bookmark.
fn initial_events(w: &mut Watch) -> (Vec<(String, String)>, Value) {
    w.ok();
    let mut initial = Vec::new();
    loop {
        let e = w.next_event();
        if e["type"] == "BOOKMARK" {
            initial.sort();
            return (initial, e);
        }
        initial.push(common::http::summary(&e));
    }
}

fn watch_list_sends_initial_events_then_bookmark_marking_their_end(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    create(&api, "a");
    create(&api, "b");
    let last = create(&api, "c");
    let watch_list = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";

    // From an explicit resourceVersion: the initial state is at least that new.
    let mut w = api.watch(&format!("{CONFIGMAPS}?{watch_list}&resourceVersion={last}"), None);
    let (initial, bookmark) = initial_events(&mut w);
    assert_eq!(initial, events(&[("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]));
    let meta = &bookmark["object"]["metadata"];
    assert_eq!(meta["annotations"]["k8s.io/initial-events-end"], "true", "{bookmark}");
    assert_eq!(bookmark["object"]["kind"], "ConfigMap", "{bookmark}");
    assert!(rv_of(&bookmark["object"]) >= last, "bookmark {bookmark} older than the last write {last}");
    // Then the watch goes on with changes.
    patch_data(&api, "b", "2");
    assert_eq!(w.next_change(), ("MODIFIED".to_string(), "b".to_string()));

    // Without a resourceVersion (client-go's reflector starting a watch-list): the most
    // recent state.
    let mut w = api.watch(&format!("{CONFIGMAPS}?{watch_list}"), None);
    let (initial, bookmark) = initial_events(&mut w);
    assert_eq!(initial, events(&[("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]));
    assert_eq!(bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true", "{bookmark}");
    assert_eq!(
        w.seen.iter().find(|e| e["object"]["metadata"]["name"] == "b").map(|e| e["object"]["data"]["a"].clone()),
        Some(json!("2"))
    );
    api.delete(&format!("{CONFIGMAPS}/a")).expect(200);
    assert_eq!(w.next_change(), ("DELETED".to_string(), "a".to_string()));
}

fn watch_list_options_are_validated(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    // ValidateListOptions, answered with 422 Invalid ListOptions.
    let invalid = |query: &str, detail: &str| {
        let status = api.watch(&format!("{CONFIGMAPS}?{query}"), None).refused(422);
        assert_eq!(status["reason"], "Invalid", "{query}: {status}");
        assert_eq!(status["message"], json!(format!("ListOptions.meta.k8s.io \"\" is invalid: {detail}")), "{query}");
    };
    invalid(
        "watch=1&sendInitialEvents=true&allowWatchBookmarks=true",
        "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
    );
    invalid(
        "watch=1&resourceVersionMatch=NotOlderThan&resourceVersion=1",
        "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
    );
    invalid("sendInitialEvents=true", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list");
}

fn label_selector_watch_sees_objects_enter_and_leave(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let start = create(&api, "unrelated");
    let mut w = api.watch(&format!("{CONFIGMAPS}?watch=1&labelSelector=app%3Dweb&resourceVersion={start}"), None);
    api.post(CONFIGMAPS, &configmap("a", json!({"app": "web"}))).expect(201);
    api.post(CONFIGMAPS, &configmap("b", json!({"app": "db"}))).expect(201);
    let label = |name: &str, app: &str| {
        api.patch(&format!("{CONFIGMAPS}/{name}"), MERGE_PATCH, &json!({"metadata": {"labels": {"app": app}}}))
            .expect(200);
    };
    label("b", "web"); // enters
    label("a", "db"); // leaves
    patch_data(&api, "b", "2"); // stays in
    patch_data(&api, "a", "2"); // stays out
    api.delete(&format!("{CONFIGMAPS}/b")).expect(200);
    api.delete(&format!("{CONFIGMAPS}/a")).expect(200);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(w.next_change());
    }
    assert_eq!(got, events(&[("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("MODIFIED", "b"), ("DELETED", "b")]));
    assert_quiet(&mut w);
    // The DELETED of an object leaving the selection carries its last state that matched.
    assert_eq!(w.seen[2]["object"]["metadata"]["labels"]["app"], "web", "{}", w.seen[2]);
}

fn legacy_watch_paths_stream_events(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let start = create(&api, "x");
    let mut all = api.watch(&format!("/api/v1/watch/namespaces/w/configmaps?resourceVersion={start}"), None);
    let mut one = api.watch(&format!("/api/v1/watch/namespaces/w/configmaps/x?resourceVersion={start}"), None);
    all.ok();
    one.ok();
    create(&api, "y");
    patch_data(&api, "x", "2");
    assert_eq!(all.next_change(), ("ADDED".to_string(), "y".to_string()));
    assert_eq!(all.next_change(), ("MODIFIED".to_string(), "x".to_string()));
    // The watch of one object sees only that object.
    assert_eq!(one.next_change(), ("MODIFIED".to_string(), "x".to_string()));
    assert_quiet(&mut one);
    // The all-namespaces legacy path too.
    let mut everywhere = api.watch(&format!("/api/v1/watch/configmaps?resourceVersion={start}"), None);
    assert_eq!(everywhere.next_change(), ("ADDED".to_string(), "y".to_string()));
}

/// A watch from a resourceVersion the store compacted away gets one ERROR event carrying a
/// 410 Expired Status (and a list at it a 410). The server restarts so that no watch cache
/// still holds that history; with one second of retention the store soon compacts.
#[test]
fn watch_from_compacted_resource_version_gets_410_error_event() {
    let flags = ["--etcd-compaction-interval", "1", "--compaction-retention", "1"];
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let old = {
        let mut first = Cluster::start_in_with_flags(&data, None, &dir.path().join("first"), &flags);
        let api = Api::new(&first);
        namespace(&api);
        let old = create(&api, "x");
        for i in 0..5 {
            patch_data(&api, "x", &i.to_string());
        }
        assert!(first.stop().is_some_and(|s| s.success()), "krs did not exit cleanly:\n{}", first.log());
        old
    };
    let second = Cluster::start_in_with_flags(&data, None, &dir.path().join("second"), &flags);
    let api = Api::new(&second);
    let error = api.eventually("the store to compact and the watch to answer 410", || {
        let mut w = api.watch(&format!("{CONFIGMAPS}?watch=1&resourceVersion={old}"), None);
        w.ok();
        let e = w.next_event();
        (e["type"] == "ERROR").then_some(e)
    });
    let status = &error["object"];
    assert_eq!((&status["kind"], &status["apiVersion"]), (&json!("Status"), &json!("v1")), "{error}");
    // errors.NewResourceExpired: the watch cache's "too old resource version: RV (OLDEST)", or
    // the etcd watcher's message for a compacted revision.
    assert_eq!(
        (&status["code"], &status["reason"], &status["status"]),
        (&json!(410), &json!("Expired"), &json!("Failure")),
        "{error}"
    );
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("too old resource version: {old} ("))
            || message == "The resourceVersion for the provided watch is too old.",
        "{error}"
    );
    let list = api.get(&format!("{CONFIGMAPS}?resourceVersion={old}&resourceVersionMatch=Exact"));
    let status = list.expect(410);
    assert_eq!(status["reason"], "Expired", "{status}");
    // The current state is whole.
    assert_eq!(api.get(&format!("{CONFIGMAPS}/x")).expect(200)["data"]["a"], "4");
}

/// KEP 1904: a client resuming its watch after the API server restarted, from the last
/// resourceVersion it saw, gets exactly the changes after it: those made before the restart
/// that it missed and those made after, without a 410.
fn watch_resumes_after_restart(etcd: Option<&str>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let seen = {
        let mut first = Cluster::start_in(&data, etcd, &dir.path().join("first"));
        let api = Api::new(&first);
        namespace(&api);
        create(&api, "a");
        let seen = patch_data(&api, "a", "2");
        // Missed by the client: made after the last event it saw.
        create(&api, "missed");
        assert!(first.stop().is_some_and(|s| s.success()), "krs did not exit cleanly:\n{}", first.log());
        seen
    };
    let second = Cluster::start_in(&data, etcd, &dir.path().join("second"));
    let api = Api::new(&second);
    let mut w = api.watch(&format!("{CONFIGMAPS}?watch=1&resourceVersion={seen}&allowWatchBookmarks=true"), None);
    w.ok();
    create(&api, "after");
    patch_data(&api, "a", "3");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(w.next_change());
    }
    assert_eq!(got, events(&[("ADDED", "missed"), ("ADDED", "after"), ("MODIFIED", "a")]), "events: {:#?}", w.seen);
    assert_quiet(&mut w);
    assert!(w.seen.iter().all(|e| e["type"] != "ERROR"), "{:#?}", w.seen);
}

#[test]
fn watch_resumes_after_restart_from_recent_resource_version_embedded() {
    watch_resumes_after_restart(None);
}

#[test]
fn watch_resumes_after_restart_from_recent_resource_version_etcd() {
    let Some(etcd) = start_etcd() else {
        return;
    };
    watch_resumes_after_restart(Some(&etcd.endpoint(0)));
}
