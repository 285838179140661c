//! managedFields of non-apply writes: ownership transfer, client-provided managedFields,
//! subresources, the cap on updaters, and manager names.

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::fieldmanager::{self, Request, manager_or_user_agent, validate_field_manager};
use serde_json::{Value, json};

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "just-a-pod", "namespace": "default"},
        "spec": {"containers": [{"name": "test-container-a", "image": "test-image-one"}]}
    })
}

fn pod_req<'a>(manager: &'a str, now: &'a str) -> Request<'a> {
    req(manager, "v1", "Pod", now)
}

fn with_label(obj: &Value, key: &str, value: &str) -> Value {
    let mut obj = obj.clone();
    obj["metadata"]["labels"][key] = json!(value);
    obj
}

#[test]
fn an_update_takes_the_fields_it_changes_from_their_owners() {
    let obj = create(pod(), &pod_req("creator", T0));
    assert!(owns(&obj, "creator", &["f:spec", "f:containers", r#"k:{"name":"test-container-a"}"#, "f:image"]));
    let mut new = obj.clone();
    new["spec"]["containers"][0]["image"] = json!("test-image-two");
    let obj = update(&obj, new, &pod_req("kubectl-set", T1));
    assert!(!owns(&obj, "creator", &["f:spec", "f:containers", r#"k:{"name":"test-container-a"}"#, "f:image"]));
    assert_eq!(
        fields_v1(&obj, "kubectl-set", "Update"),
        r#"{"f:spec":{"f:containers":{"k:{\"name\":\"test-container-a\"}":{"f:image":{}}}}}"#
    );
}

#[test]
fn an_update_removing_a_field_takes_it_from_its_owner() {
    let obj = create(with_label(&pod(), "a", "1"), &pod_req("creator", T0));
    assert!(owns(&obj, "creator", &["f:metadata", "f:labels", "f:a"]));
    let mut new = obj.clone();
    new["metadata"]["labels"] = json!({});
    let obj = update(&obj, new, &pod_req("remover", T1));
    assert!(!owns(&obj, "creator", &["f:metadata", "f:labels", "f:a"]));
    // Removing gains nothing: the remover has no entry, the creator keeps the map itself.
    assert_eq!(entries(&obj), [("creator".to_owned(), "Update".to_owned(), String::new())]);
    assert!(owns(&obj, "creator", &["f:metadata", "f:labels"]));
}

#[test]
fn updates_by_the_same_manager_accumulate_and_move_its_time() {
    let obj = create(pod(), &pod_req("creator", T0));
    let obj = update(&obj, with_label(&obj, "a", "1"), &pod_req("labeler", T1));
    let obj = update(&obj, with_label(&obj, "b", "2"), &pod_req("labeler", T2));
    assert_eq!(fields_v1(&obj, "labeler", "Update"), r#"{"f:metadata":{"f:labels":{".":{},"f:a":{},"f:b":{}}}}"#);
    assert_eq!(entry(&obj, "labeler", "Update")["time"], T2);
    // A write that changes nothing leaves the entry (and its time) alone.
    let same = update(&obj, obj.clone(), &pod_req("labeler", "2024-05-01T11:00:00Z"));
    assert_eq!(entry(&same, "labeler", "Update")["time"], T2);
}

#[test]
fn bookkeeping_metadata_is_never_owned() {
    let obj = create(pod(), &pod_req("creator", T0));
    let mut new = obj.clone();
    new["metadata"]["resourceVersion"] = json!("99");
    new["metadata"]["generation"] = json!(7);
    let obj = update(&obj, new, &pod_req("someone", T1));
    assert_eq!(entries(&obj), [("creator".to_owned(), "Update".to_owned(), String::new())]);
}

#[test]
fn objects_stored_without_managed_fields_stay_untracked_by_updates() {
    let mut live = pod();
    store(&mut live);
    let obj = update(&live, with_label(&live, "a", "1"), &pod_req("labeler", T1));
    assert!(obj["metadata"].get("managedFields").is_none());
}

#[test]
fn sending_empty_managed_fields_clears_them() {
    let obj = create(pod(), &pod_req("creator", T0));
    let mut new = with_label(&obj, "a", "1");
    new["metadata"]["managedFields"] = json!([]);
    let obj = update(&obj, new, &pod_req("clearer", T1));
    assert!(obj["metadata"].get("managedFields").is_none(), "{obj:#}");
    assert_eq!(obj["metadata"]["labels"]["a"], "1");
}

#[test]
fn unusable_managed_fields_in_a_write_are_ignored() {
    let obj = create(pod(), &pod_req("creator", T0));
    let mut new = obj.clone();
    new["metadata"]["managedFields"] =
        json!([{"manager": "x", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
    let obj2 = update(&obj, new, &pod_req("writer", T1));
    assert_eq!(entries(&obj2), entries(&obj));
}

#[test]
fn renamed_update_managers_sent_by_the_client_are_kept() {
    // Upstream's TestRenamingUpdatedFieldManagers.
    let obj = apply(None, &pod(), false, &pod_req("first", T0));
    let obj = update(&obj, with_label(&obj, "a", "one"), &pod_req("multi_manager_one", T1));
    let obj = update(&obj, with_label(&obj, "b", "two"), &pod_req("multi_manager_two", T2));
    let mut renamed = obj.clone();
    if let Some(entries) = renamed["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            e["manager"] = json!("multi_manager");
        }
    }
    let obj = update(&obj, renamed, &pod_req("kubectl", "2024-05-01T10:03:00Z"));
    assert_eq!(
        entries(&obj),
        [
            ("multi_manager".to_owned(), "Apply".to_owned(), String::new()),
            ("multi_manager".to_owned(), "Update".to_owned(), String::new())
        ]
    );
    assert_eq!(fields_v1(&obj, "multi_manager", "Update"), r#"{"f:metadata":{"f:labels":{"f:b":{}}}}"#);
}

#[test]
fn renamed_appliers_merge_into_the_last_listed() {
    // Upstream's TestRenamingAppliedFieldManagers.
    let mut first = pod();
    first["metadata"]["labels"] = json!({"a": "one"});
    let obj = apply(None, &first, false, &pod_req("multi_manager_one", T0));
    let second = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"b": "two"}}});
    let obj = apply(Some(&obj), &second, false, &pod_req("multi_manager_two", T1));
    let mut renamed = obj.clone();
    if let Some(entries) = renamed["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            e["manager"] = json!("multi_manager");
        }
    }
    let obj = update(&obj, renamed, &pod_req("kubectl", T2));
    assert_eq!(entries(&obj), [("multi_manager".to_owned(), "Apply".to_owned(), String::new())]);
    assert_eq!(fields_v1(&obj, "multi_manager", "Apply"), r#"{"f:metadata":{"f:labels":{"f:b":{}}}}"#);
}

#[test]
fn status_updates_are_recorded_under_the_status_subresource() {
    // Upstream's TestDroppingSubresourceFromSpecField.
    let mut obj = apply(None, &pod(), false, &pod_req("first", T0));
    // The registry gives a created pod its initial status.
    obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
    let obj = update(&obj, with_label(&obj, "a", "two"), &pod_req("manager", T1));
    let mut running = obj.clone();
    running["status"] = json!({"phase": "Running"});
    let status = Request { subresource: "status", ..pod_req("manager", T2) };
    let obj = update(&obj, running, &status);
    assert_eq!(
        entries(&obj),
        [
            ("first".to_owned(), "Apply".to_owned(), String::new()),
            ("manager".to_owned(), "Update".to_owned(), String::new()),
            ("manager".to_owned(), "Update".to_owned(), "status".to_owned())
        ]
    );
    let e = entry(&obj, "manager", "Update");
    assert_eq!(e["fieldsV1"], json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}}));
    let status_entry = managed_fields(&obj).into_iter().find(|e| e["subresource"] == "status").unwrap_or_default();
    assert_eq!(status_entry["fieldsV1"], json!({"f:status": {"f:phase": {}}}));

    // Dropping the subresource makes both entries one manager; the later one wins.
    let mut dropped = obj.clone();
    if let Some(entries) = dropped["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            if let Some(m) = e.as_object_mut() {
                m.remove("subresource");
            }
        }
    }
    let obj = update(&obj, dropped, &pod_req("kubectl", "2024-05-01T10:03:00Z"));
    assert_eq!(entries(&obj).len(), 2);
    assert_eq!(fields_v1(&obj, "manager", "Update"), r#"{"f:status":{"f:phase":{}}}"#);
}

#[test]
fn subresource_writes_ignore_managed_fields_in_the_request() {
    let obj = create(pod(), &pod_req("creator", T0));
    let mut new = obj.clone();
    new["metadata"]["managedFields"] = json!([]);
    new["status"] = json!({"phase": "Pending"});
    let status = Request { subresource: "status", ..pod_req("kubelet", T1) };
    let obj = update(&obj, new, &status);
    assert_eq!(
        entries(&obj),
        [
            ("creator".to_owned(), "Update".to_owned(), String::new()),
            ("kubelet".to_owned(), "Update".to_owned(), "status".to_owned())
        ]
    );
}

#[test]
fn at_most_ten_updaters_are_kept_the_oldest_merged_into_ancient_changes() {
    let mut obj = create(pod(), &pod_req("creator", "2024-05-01T09:00:00Z"));
    for i in 0..10 {
        let now = format!("2024-05-01T10:{i:02}:00Z");
        let manager = format!("m{i}");
        obj = update(&obj, with_label(&obj, &manager, "x"), &pod_req(&manager, &now));
    }
    let names: Vec<String> = entries(&obj).into_iter().map(|e| e.0).collect();
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "ancient-changes");
    assert!(!names.contains(&"creator".to_owned()) && !names.contains(&"m0".to_owned()));
    let ancient = entry(&obj, "ancient-changes", "Update");
    assert_eq!(ancient["time"], "2024-05-01T10:00:00Z");
    assert!(owns(&obj, "ancient-changes", &["f:metadata", "f:labels", "f:m0"]));
    assert!(owns(&obj, "ancient-changes", &["f:spec", "f:containers"]));
}

#[test]
fn an_update_of_something_not_an_object_is_an_error() {
    let obj = create(pod(), &pod_req("creator", T0));
    let mut new = Value::String("not an object".to_owned());
    let err = fieldmanager::update(Some(&obj), &mut new, &pod_req("x", T1));
    assert!(err.is_err());
}

#[test]
fn the_manager_defaults_to_the_user_agent_prefix() {
    assert_eq!(manager_or_user_agent("kubectl-create", "kubectl/v1.34.0"), "kubectl-create");
    assert_eq!(manager_or_user_agent("", "kubectl/v1.34.0 (linux/amd64) kubernetes/abc"), "kubectl");
    assert_eq!(manager_or_user_agent("", "my\u{7}agent/1"), "myagent");
    assert_eq!(manager_or_user_agent("", &"a".repeat(200)).len(), 128);
    let obj = create(pod(), &pod_req("", T0));
    assert_eq!(entries(&obj)[0].0, "unknown");
}

#[test]
fn field_manager_names_are_validated_like_upstream() {
    assert!(validate_field_manager("kubectl", true).is_empty());
    assert!(validate_field_manager("", false).is_empty());
    let msgs = |errs: krs_apimachinery::validation::ErrorList| -> Vec<String> {
        errs.0.iter().map(ToString::to_string).collect()
    };
    assert_eq!(msgs(validate_field_manager("", true)), ["fieldManager: Required value: is required for apply patch"]);
    assert_eq!(
        msgs(validate_field_manager(&"m".repeat(129), false)),
        ["fieldManager: Too long: may not be more than 128 bytes"]
    );
}
