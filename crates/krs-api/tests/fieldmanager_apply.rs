//! Server-side apply: merging, ownership, removal, conflicts and force (upstream's documented
//! behaviour and its integration tests in test/integration/apiserver/apply).

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::fieldmanager::{ApplyError, FieldSet, Path, Request};
use serde_json::{Value, json};

fn cm(data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default"},
        "data": data
    })
}

fn cm_req<'a>(manager: &'a str, now: &'a str) -> Request<'a> {
    req(manager, "v1", "ConfigMap", now)
}

fn deployment(replicas: i64, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "deployment", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": containers}
            }
        }
    })
}

fn deploy_req<'a>(manager: &'a str, now: &'a str) -> Request<'a> {
    req(manager, "apps/v1", "Deployment", now)
}

fn conflicts(err: ApplyError) -> (String, Vec<(String, String, String)>) {
    assert_eq!(err.http_status(), 409);
    let ApplyError::Conflicts(c) = err else {
        panic!("not a conflict: {err}");
    };
    let causes = c.causes().into_iter().map(|c| (c.reason.to_owned(), c.message, c.field)).collect();
    (c.message(), causes)
}

#[test]
fn apply_creates_the_object_owned_by_the_applier() {
    let mut config = cm(json!({"key": "value"}));
    config["metadata"]["labels"] = json!({"test-label": "test"});
    let obj = apply(None, &config, false, &cm_req("apply_test", T0));
    assert_eq!(obj["data"], json!({"key": "value"}));
    assert_eq!(obj["metadata"]["labels"], json!({"test-label": "test"}));
    assert_eq!(
        managed_fields(&obj),
        [json!({
            "manager": "apply_test",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}
        })]
    );
}

#[test]
fn an_update_moves_ownership_of_what_it_changes() {
    let mut config = cm(json!({"key": "value"}));
    config["metadata"]["labels"] = json!({"test-label": "test"});
    let obj = apply(None, &config, false, &cm_req("apply_test", T0));
    let mut patched = obj.clone();
    patched["data"]["key"] = json!("new value");
    let obj = update(&obj, patched, &cm_req("updater", T1));
    assert_eq!(
        entries(&obj),
        [
            ("apply_test".to_owned(), "Apply".to_owned(), String::new()),
            ("updater".to_owned(), "Update".to_owned(), String::new())
        ]
    );
    assert_eq!(fields_v1(&obj, "apply_test", "Apply"), r#"{"f:metadata":{"f:labels":{"f:test-label":{}}}}"#);
    assert_eq!(fields_v1(&obj, "updater", "Update"), r#"{"f:data":{"f:key":{}}}"#);
    assert_eq!(entry(&obj, "updater", "Update")["time"], T1);
}

#[test]
fn applying_only_identity_leaves_no_managed_fields() {
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default"}
    });
    let obj = apply(None, &config, false, &cm_req("apply_test", T0));
    let obj = apply(Some(&obj), &config, false, &cm_req("apply_test", T1));
    assert!(obj["metadata"].get("managedFields").is_none(), "{obj:#}");
}

#[test]
fn reapplying_without_a_field_removes_it() {
    let with_port = deployment(
        3,
        json!([{"name": "nginx", "image": "nginx:latest", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]),
    );
    let obj = apply(None, &with_port, false, &deploy_req("apply_test", T0));
    assert!(owns(
        &obj,
        "apply_test",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"nginx"}"#,
            "f:ports",
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
            "f:protocol"
        ]
    ));
    let without = deployment(3, json!([{"name": "nginx", "image": "nginx:latest"}]));
    let obj = apply(Some(&obj), &without, false, &deploy_req("apply_test", T1));
    let c = &obj["spec"]["template"]["spec"]["containers"][0];
    assert!(c.get("ports").is_none(), "ports remain: {c}");
    assert_eq!(c["image"], "nginx:latest");
    assert!(!fields_v1(&obj, "apply_test", "Apply").contains("ports"));
}

#[test]
fn a_field_removed_from_the_config_stays_while_another_applier_owns_it() {
    let obj = apply(None, &cm(json!({"a": "1", "b": "2"})), false, &cm_req("one", T0));
    // Same value: no conflict, both own .data.a.
    let obj = apply(Some(&obj), &cm(json!({"a": "1"})), false, &cm_req("two", T1));
    assert!(owns(&obj, "one", &["f:data", "f:a"]) && owns(&obj, "two", &["f:data", "f:a"]));
    let obj = apply(Some(&obj), &cm(json!({"b": "2"})), false, &cm_req("one", T2));
    assert_eq!(obj["data"], json!({"a": "1", "b": "2"}));
    let obj = apply(Some(&obj), &cm(json!({"c": "3"})), false, &cm_req("two", T2));
    assert_eq!(obj["data"], json!({"b": "2", "c": "3"}));
}

#[test]
fn a_field_removed_from_the_config_stays_when_an_updater_changed_it() {
    let obj = apply(None, &cm(json!({"a": "1", "b": "2"})), false, &cm_req("applier", T0));
    let mut changed = obj.clone();
    changed["data"]["a"] = json!("edited");
    let obj = update(&obj, changed, &cm_req("kubectl-edit", T1));
    let obj = apply(Some(&obj), &cm(json!({"b": "2"})), false, &cm_req("applier", T2));
    assert_eq!(obj["data"], json!({"a": "edited", "b": "2"}));
}

#[test]
fn conflict_with_an_updater_names_the_field_manager_and_version() {
    let obj =
        apply(None, &deployment(3, json!([{"name": "nginx", "image": "nginx"}])), false, &deploy_req("apply_test", T0));
    let mut scaled = obj.clone();
    scaled["spec"]["replicas"] = json!(5);
    let obj = update(&obj, scaled, &deploy_req("kubectl-edit", T1));
    let err = apply_err(
        Some(&obj),
        &deployment(3, json!([{"name": "nginx", "image": "nginx"}])),
        false,
        &deploy_req("apply_test", T2),
    );
    let (message, causes) = conflicts(err);
    assert_eq!(message, r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#);
    assert_eq!(
        causes,
        [(
            "FieldManagerConflict".to_owned(),
            r#"conflict with "kubectl-edit" using apps/v1"#.to_owned(),
            ".spec.replicas".to_owned()
        )]
    );
}

#[test]
fn force_takes_ownership_and_drops_emptied_entries() {
    let config = deployment(3, json!([{"name": "nginx", "image": "nginx"}]));
    let obj = apply(None, &config, false, &deploy_req("apply_test", T0));
    let mut scaled = obj.clone();
    scaled["spec"]["replicas"] = json!(5);
    let obj = update(&obj, scaled, &deploy_req("kubectl-edit", T1));
    assert!(owns(&obj, "kubectl-edit", &["f:spec", "f:replicas"]));
    let obj = apply(Some(&obj), &config, true, &deploy_req("apply_test", T2));
    assert_eq!(obj["spec"]["replicas"], 3);
    assert!(owns(&obj, "apply_test", &["f:spec", "f:replicas"]));
    // kubectl-edit owned nothing else: its entry is gone.
    assert_eq!(entries(&obj), [("apply_test".to_owned(), "Apply".to_owned(), String::new())]);
    assert_eq!(entry(&obj, "apply_test", "Apply")["time"], T2);
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let obj = apply(None, &cm(json!({"a": "1", "b": "1", "c": "1"})), false, &cm_req("applier", T0));
    let mut one = obj.clone();
    one["data"]["a"] = json!("2");
    one["data"]["b"] = json!("2");
    let obj = update(&obj, one, &cm_req("m1", T1));
    let mut two = obj.clone();
    two["data"]["c"] = json!("2");
    let obj = update(&obj, two, &cm_req("m2", T1));
    let err = apply_err(Some(&obj), &cm(json!({"a": "3", "b": "3", "c": "3"})), false, &cm_req("applier", T2));
    let (message, causes) = conflicts(err);
    assert_eq!(
        message,
        "Apply failed with 3 conflicts: conflicts with \"m1\" using v1:\n- .data.a\n- .data.b\nconflicts with \"m2\" using v1:\n- .data.c"
    );
    let fields: Vec<&str> = causes.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(fields, [".data.a", ".data.b", ".data.c"]);
}

#[test]
fn conflict_with_another_applier_omits_the_version() {
    let obj = apply(None, &cm(json!({"a": "1"})), false, &cm_req("first", T0));
    let err = apply_err(Some(&obj), &cm(json!({"a": "2"})), false, &cm_req("second", T1));
    assert_eq!(err.to_string(), r#"Apply failed with 1 conflict: conflict with "first": .data.a"#);
}

#[test]
fn applying_the_same_value_shares_ownership_without_conflict() {
    let obj = apply(None, &cm(json!({"a": "1"})), false, &cm_req("first", T0));
    let obj = apply(Some(&obj), &cm(json!({"a": "1"})), false, &cm_req("second", T1));
    assert_eq!(fields_v1(&obj, "first", "Apply"), r#"{"f:data":{"f:a":{}}}"#);
    assert_eq!(fields_v1(&obj, "second", "Apply"), r#"{"f:data":{"f:a":{}}}"#);
    // Nothing changed, so the second applier's entry has no time yet.
    assert!(entry(&obj, "second", "Apply").get("time").is_none());
}

#[test]
fn a_noop_reapply_keeps_the_appliers_time() {
    let obj = apply(None, &cm(json!({"a": "1"})), false, &cm_req("first", T0));
    let obj = apply(Some(&obj), &cm(json!({"a": "1"})), false, &cm_req("first", T1));
    assert_eq!(entry(&obj, "first", "Apply")["time"], T0);
    let obj = apply(Some(&obj), &cm(json!({"a": "2"})), false, &cm_req("first", T2));
    assert_eq!(entry(&obj, "first", "Apply")["time"], T2);
}

#[test]
fn containers_merge_by_name_across_managers() {
    let obj = apply(None, &deployment(1, json!([{"name": "a", "image": "a:1"}])), false, &deploy_req("team-a", T0));
    let sidecar = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "deployment", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:1"}]}}}
    });
    let obj = apply(Some(&obj), &sidecar, false, &deploy_req("team-b", T1));
    let names: Vec<&Value> = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().map(|c| &c["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("a"), &json!("b")]);
    assert_eq!(
        fields_v1(&obj, "team-b", "Apply"),
        r#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"b\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
    );
    // team-a replaces its container: a goes, b (team-b's) stays; live elements keep their
    // place and new ones follow them.
    let obj =
        apply(Some(&obj), &deployment(1, json!([{"name": "c", "image": "c:1"}])), false, &deploy_req("team-a", T2));
    let names: Vec<&Value> = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().map(|c| &c["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("b"), &json!("c")]);
}

#[test]
fn changing_a_container_owned_by_another_applier_conflicts_on_that_field() {
    let obj = apply(None, &deployment(1, json!([{"name": "a", "image": "a:1"}])), false, &deploy_req("team-a", T0));
    let other = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "deployment", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}}
    });
    let err = apply_err(Some(&obj), &other, false, &deploy_req("team-b", T1));
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "team-a": .spec.template.spec.containers[name="a"].image"#
    );
}

#[test]
fn sets_union_values_across_appliers() {
    let with = |finalizers: Value| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "test-cm", "namespace": "default", "finalizers": finalizers}
        })
    };
    let obj = apply(None, &with(json!(["example.com/a"])), false, &cm_req("one", T0));
    let obj = apply(Some(&obj), &with(json!(["example.com/b"])), false, &cm_req("two", T1));
    assert_eq!(obj["metadata"]["finalizers"], json!(["example.com/a", "example.com/b"]));
    assert_eq!(fields_v1(&obj, "two", "Apply"), r#"{"f:metadata":{"f:finalizers":{"v:\"example.com/b\"":{}}}}"#);
    let obj = apply(Some(&obj), &with(json!([])), false, &cm_req("one", T2));
    assert_eq!(obj["metadata"]["finalizers"], json!(["example.com/b"]));
}

#[test]
fn atomic_lists_are_replaced_whole_and_owned_as_one_field() {
    let pod = |args: Value| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "args": args}]}
        })
    };
    let r = |m| req(m, "v1", "Pod", T0);
    let obj = apply(None, &pod(json!(["x", "y"])), false, &r("one"));
    assert!(fields_v1(&obj, "one", "Apply").contains(r#""f:args":{}"#));
    let err = apply_err(Some(&obj), &pod(json!(["z"])), false, &r("two"));
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "one": .spec.containers[name="c"].args"#
    );
    let obj = apply(Some(&obj), &pod(json!(["z"])), true, &r("two"));
    assert_eq!(obj["spec"]["containers"][0]["args"], json!(["z"]));
    assert!(!fields_v1(&obj, "one", "Apply").contains("f:args"));
}

#[test]
fn atomic_structs_are_replaced_whole() {
    let mut config = deployment(1, json!([{"name": "a", "image": "a"}]));
    config["spec"]["selector"] = json!({"matchLabels": {"app": "nginx", "tier": "web"}});
    let obj = apply(None, &config, false, &deploy_req("one", T0));
    config["spec"]["selector"] = json!({"matchLabels": {"app": "nginx"}});
    let obj = apply(Some(&obj), &config, false, &deploy_req("one", T1));
    assert_eq!(obj["spec"]["selector"], json!({"matchLabels": {"app": "nginx"}}));
    assert!(fields_v1(&obj, "one", "Apply").contains(r#""f:selector":{}"#));
}

#[test]
fn map_keys_are_owned_separately() {
    let labels = |l: Value| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "test-cm", "namespace": "default", "labels": l}
        })
    };
    let obj = apply(None, &labels(json!({"a": "1"})), false, &cm_req("one", T0));
    let obj = apply(Some(&obj), &labels(json!({"b": "2"})), false, &cm_req("two", T1));
    assert_eq!(obj["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    let obj = apply(Some(&obj), &labels(json!({})), false, &cm_req("one", T2));
    assert_eq!(obj["metadata"]["labels"], json!({"b": "2"}));
}

#[test]
fn the_first_apply_to_an_untracked_object_records_its_fields_as_before_first_apply() {
    // Stored without managedFields (e.g. after `managedFields: []`).
    let mut live = cm(json!({"a": "1"}));
    store(&mut live);
    let err = apply_err(Some(&live), &cm(json!({"a": "2"})), false, &cm_req("applier", T1));
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a"#
    );
    let obj = apply(Some(&live), &cm(json!({"b": "2"})), false, &cm_req("applier", T1));
    assert_eq!(
        entries(&obj),
        [
            ("applier".to_owned(), "Apply".to_owned(), String::new()),
            ("before-first-apply".to_owned(), "Update".to_owned(), String::new())
        ]
    );
    assert_eq!(fields_v1(&obj, "before-first-apply", "Update"), r#"{"f:data":{".":{},"f:a":{}}}"#);
}

#[test]
fn status_in_a_config_for_the_main_resource_is_not_owned_under_reset_fields() {
    let reset = FieldSet::from_paths([&Path::fields(&["status"])]);
    let r = Request { reset_fields: Some(&reset), ..deploy_req("apply_test", T0) };
    let mut config = deployment(1, json!([{"name": "a", "image": "a"}]));
    config["status"] = json!({"replicas": 7});
    let obj = apply(None, &config, false, &r);
    assert!(!fields_v1(&obj, "apply_test", "Apply").contains("f:status"));
}

#[test]
fn custom_resources_without_schema_use_granular_maps_and_atomic_lists() {
    let widget = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
    let r = |m| req(m, "example.com/v1", "Widget", T0);
    let obj = apply(None, &widget(json!({"size": {"w": 1}, "tags": ["a"]})), false, &r("one"));
    assert_eq!(fields_v1(&obj, "one", "Apply"), r#"{"f:spec":{".":{},"f:size":{".":{},"f:w":{}},"f:tags":{}}}"#);
    // Another key of the same map is someone else's; the list is one value.
    let obj = apply(Some(&obj), &widget(json!({"size": {"h": 2}})), false, &r("two"));
    assert_eq!(obj["spec"]["size"], json!({"w": 1, "h": 2}));
    let err = apply_err(Some(&obj), &widget(json!({"tags": ["a", "b"]})), false, &r("two"));
    assert_eq!(err.to_string(), r#"Apply failed with 1 conflict: conflict with "one": .spec.tags"#);
}

#[test]
fn an_apply_of_another_kind_or_version_is_a_bad_request() {
    let err = apply_err(None, &cm(json!({})), false, &req("m", "v1", "Secret", T0));
    assert_eq!(err.http_status(), 400);
    assert_eq!(err.to_string(), "invalid object type: /v1, Kind=ConfigMap");
    let mut config = deployment(1, json!([]));
    config["apiVersion"] = json!("apps/v1beta1");
    let err = apply_err(None, &config, false, &deploy_req("m", T0));
    assert_eq!(err.to_string(), "invalid object type: apps/v1beta1, Kind=Deployment");
}

#[test]
fn managed_fields_in_an_apply_configuration_are_rejected() {
    let mut config = cm(json!({}));
    config["metadata"]["managedFields"] = json!([]);
    let err = apply_err(None, &config, false, &cm_req("m", T0));
    assert_eq!(err.http_status(), 400);
    assert_eq!(err.to_string(), "metadata.managedFields must be nil");
}

#[test]
fn configurations_that_do_not_fit_the_schema_fail_like_upstream() {
    let env = json!([
        {"name": "A", "value": "1"}, {"name": "A", "value": "2"},
        {"name": "B", "value": "1"}, {"name": "B", "value": "2"}
    ]);
    let mut config = deployment(1, json!([{"name": "nv-ingest", "image": "x", "env": env}]));
    config["metadata"]["namespace"] = json!("rag");
    config["metadata"]["name"] = json!("rag-nv-ingest");
    let err = apply_err(None, &config, false, &deploy_req("helm", T0));
    assert_eq!(err.http_status(), 500);
    assert_eq!(
        err.to_string(),
        "failed to create typed patch object (rag/rag-nv-ingest; apps/v1, Kind=Deployment): errors:\n  \
         .spec.template.spec.containers[name=\"nv-ingest\"].env: duplicate entries for key [name=\"A\"]\n  \
         .spec.template.spec.containers[name=\"nv-ingest\"].env: duplicate entries for key [name=\"B\"]"
    );
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "longhorn-r2-secret", "namespace": "longhorn-system"},
        "sops": {"mac": "x"}
    });
    let err = apply_err(None, &secret, false, &req("argocd", "v1", "Secret", T0));
    assert_eq!(
        err.to_string(),
        "failed to create typed patch object (longhorn-system/longhorn-r2-secret; /v1, Kind=Secret): .sops: field not declared in schema"
    );
    let err = apply_err(None, &deployment(1, json!("nope")), false, &deploy_req("m", T0));
    assert!(err.to_string().ends_with(".spec.template.spec.containers: expected list, got &{nope}"), "{err}");
}

#[test]
fn a_port_without_protocol_is_keyed_by_the_default_protocol() {
    let config = deployment(1, json!([{"name": "a", "image": "a", "ports": [{"containerPort": 8080}]}]));
    let obj = apply(None, &config, false, &deploy_req("m", T0));
    assert!(fields_v1(&obj, "m", "Apply").contains(r#"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}"#));
}

#[test]
fn status_subresource_applies_are_recorded_with_their_subresource() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "just-a-pod", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}
    });
    let obj = apply(None, &pod, false, &req("first", "v1", "Pod", T0));
    let labels = |k: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {k: "x"}}});
    let obj = apply(Some(&obj), &labels("a"), false, &req("label_manager", "v1", "Pod", T1));
    let status = Request { subresource: "status", ..req("label_manager", "v1", "Pod", T2) };
    let obj = apply(Some(&obj), &labels("b"), false, &status);
    assert_eq!(obj["metadata"]["labels"], json!({"a": "x", "b": "x"}));
    assert_eq!(
        entries(&obj),
        [
            ("first".to_owned(), "Apply".to_owned(), String::new()),
            ("label_manager".to_owned(), "Apply".to_owned(), String::new()),
            ("label_manager".to_owned(), "Apply".to_owned(), "status".to_owned())
        ]
    );
}
