//! Strategic merge patch on real types: list strategies, directives, ordering quirks and
//! upstream's error messages.

use crate::merge_common;

use krs_api::merge::{GoPanic, MergeError, strategic_merge_patch};
use merge_common::{Case, Expect, Root, apply, apply_err, kind, run};
use serde_json::{Value, json};

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn containers(result: &Value) -> &Value {
    &result["spec"]["containers"]
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect()).unwrap_or_default()
}

#[test]
fn merge_containers_by_name() {
    let original = pod(json!({"containers": [
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "b", "image": "b:1"}
    ]}));
    let patch = json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(
        containers(&got),
        &json!([
            {"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "b", "image": "b:2"}
        ])
    );
}

#[test]
fn merge_new_list_items_go_first_without_set_element_order() {
    // Upstream puts items that only the patch has before the remaining live items.
    let original = pod(json!({"containers": [{"name": "c", "image": "c"}]}));
    let patch = json!({"spec": {"containers": [{"name": "sidecar", "image": "s"}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(names(containers(&got)), ["sidecar", "c"]);

    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "sidecar"}],
        "containers": [{"name": "sidecar", "image": "s"}]
    }});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(names(containers(&got)), ["c", "sidecar"]);
}

#[test]
fn merge_env_by_name_keeps_live_order() {
    let original = pod(json!({"containers": [{"name": "c", "env": [
        {"name": "X", "value": "1"}, {"name": "Y", "value": "y"}
    ]}]}));
    let patch = json!({"spec": {"containers": [{"name": "c", "env": [{"name": "X", "value": "2"}]}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(containers(&got)[0]["env"], json!([{"name": "X", "value": "2"}, {"name": "Y", "value": "y"}]));
}

#[test]
fn merge_patch_delete_removes_a_container() {
    let original = pod(json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}));
    let patch = json!({"spec": {"containers": [{"$patch": "delete", "name": "b"}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(names(containers(&got)), ["a", "c"]);
}

#[test]
fn merge_patch_replace_in_a_list_replaces_it() {
    let original = pod(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    let patch = json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "x", "image": "i"}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(containers(&got), &json!([{"name": "x", "image": "i"}]));
}

#[test]
fn merge_patch_replace_and_delete_on_maps() {
    let original = json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
        "spec": {"securityContext": {"runAsUser": 1}}});
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["metadata"]["labels"], json!({"c": "3"}));

    // The replacement is taken verbatim, nulls included.
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "c": null}}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["metadata"]["labels"], json!({"c": null}));

    // `$patch: delete` empties an existing object, and drops an absent one.
    let patch = json!({"spec": {"securityContext": {"$patch": "delete"}, "dnsConfig": {"$patch": "delete"}}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["spec"], json!({"securityContext": {}}));
}

#[test]
fn merge_null_deletes_and_added_values_lose_nulls() {
    let original = pod(json!({"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}}]}));
    let patch = json!({"spec": {
        "containers": [{"name": "c", "resources": null}],
        "nodeName": null,
        "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": null}
    }});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(
        got["spec"],
        json!({"containers": [{"name": "c", "image": "i"}], "dnsConfig": {"nameservers": ["1.1.1.1"]}})
    );

    // Items appended to a merging list are taken verbatim (upstream keeps their nulls).
    let patch = json!({"spec": {"containers": [{"name": "n", "securityContext": null}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(containers(&got)[0], json!({"name": "n", "securityContext": null}));
}

#[test]
fn merge_atomic_lists_are_replaced() {
    let original = pod(json!({"tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b"}],
        "containers": [{"name": "c", "args": ["x", "y"]}]}));
    let patch = json!({"spec": {"tolerations": [{"key": "c"}],
        "containers": [{"name": "c", "args": ["z"]}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["spec"]["tolerations"], json!([{"key": "c"}]));
    assert_eq!(containers(&got)[0]["args"], json!(["z"]));
}

#[test]
fn merge_finalizers_union_and_delete_from_primitive_list() {
    let original = json!({"metadata": {"name": "p", "finalizers": ["a", "b"]}});
    let got = apply("v1", "Pod", &original, &json!({"metadata": {"finalizers": ["b", "c"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["a", "b", "c"]));

    let got = apply("v1", "Pod", &original, &json!({"metadata": {"finalizers": ["z"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["z", "a", "b"]));

    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["metadata"]["finalizers"], json!(["b"]));

    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "b"]));

    // A deletion list never creates the list.
    let original = json!({"metadata": {"name": "p"}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
    assert_eq!(apply("v1", "Pod", &original, &patch), original);
}

#[test]
fn merge_owner_references_by_uid() {
    let original = json!({"metadata": {"name": "p", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1", "controller": true}
    ]}});
    let patch = json!({"metadata": {"ownerReferences": [
        {"uid": "1", "blockOwnerDeletion": true},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "2"}
    ]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(
        got["metadata"]["ownerReferences"],
        json!([
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1", "controller": true,
             "blockOwnerDeletion": true},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "2"}
        ])
    );
}

#[test]
fn merge_service_ports_by_port_including_the_protocol_quirk() {
    let original = json!({"spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": "web"}]}});
    let got = apply("v1", "Service", &original, &patch);
    assert_eq!(got["spec"]["ports"], json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}]));

    // The merge key is the port alone: a UDP entry merges into the first port 53, whatever
    // its protocol (kubernetes/kubernetes#39188).
    let original = json!({"spec": {"ports": [
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"}
    ]}});
    let patch = json!({"spec": {"ports": [{"name": "dns-udp", "port": 53, "protocol": "UDP"}]}});
    let got = apply("v1", "Service", &original, &patch);
    assert_eq!(
        got["spec"]["ports"],
        json!([
            {"name": "dns-udp", "port": 53, "protocol": "UDP"},
            {"name": "dns", "port": 53, "protocol": "UDP"}
        ])
    );
}

#[test]
fn merge_keys_compare_as_go_values() {
    // apimachinery decodes 80 as int64 and 80.0 as float64: different merge keys.
    let original = pod(json!({"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}));
    let patch = json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80.0, "name": "x"}]}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(containers(&got)[0]["ports"], json!([{"containerPort": 80.0, "name": "x"}, {"containerPort": 80}]));
}

#[test]
fn merge_retain_keys_on_deployment_strategy() {
    let original = json!({"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(got["spec"], json!({"replicas": 1, "strategy": {"type": "Recreate"}}));

    // Nulls need not be listed.
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));

    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}});
    let err = apply_err("apps/v1", "Deployment", &original, &patch);
    assert_eq!(err, MergeError::BadPatchFormatForRetainKeys);
    assert_eq!(err.to_string(), "invalid patch format of retainKeys");
    assert_eq!(err.http_status(), 400);

    let patch = json!({"spec": {"strategy": {"$retainKeys": "type"}}});
    assert_eq!(apply_err("apps/v1", "Deployment", &original, &patch), MergeError::BadPatchFormatForRetainKeys);
}

#[test]
fn merge_retain_keys_in_volumes() {
    let original =
        pod(json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "secret": {"secretName": "s"}}]}));
    let patch = json!({"spec": {"volumes": [
        {"$retainKeys": ["configMap", "name"], "name": "v", "configMap": {"name": "cm"}}
    ]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(
        got["spec"]["volumes"],
        json!([{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "secret": {"secretName": "s"}}])
    );
}

#[test]
fn merge_replace_strategy_and_atomic_structs() {
    // PodDisruptionBudget's selector has patchStrategy "replace".
    let original = json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "1"},
        "matchExpressions": [{"key": "k", "operator": "Exists"}]}}});
    let patch = json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}});
    let got = apply("policy/v1", "PodDisruptionBudget", &original, &patch);
    assert_eq!(got["spec"]["selector"], json!({"matchLabels": {"b": "2"}}));

    // A Deployment's selector is only +structType=atomic, which strategic merge ignores.
    let original = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(got["spec"]["selector"], json!({"matchLabels": {"a": "1", "b": "2"}}));
}

#[test]
fn merge_set_element_order_with_server_only_items_and_a_deletion() {
    // kubectl apply removed `b` and added `n`; `s` was added by someone else. Upstream
    // deletes and appends inside the live list's backing array and then orders against
    // that array as its own slice header still sees it: [a s n], not [a b s].
    let original = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a"}, {"name": "b", "image": "b"}, {"name": "s", "image": "s"}
    ]}}}});
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "n"}],
        "containers": [{"name": "n", "image": "n"}, {"$patch": "delete", "name": "b"}]
    }}}});
    let got = apply("apps/v1", "Deployment", &original, &patch);
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "a"}, {"name": "s", "image": "s"}, {"name": "n", "image": "n"}])
    );
}

#[test]
fn merge_set_element_order_reorders_without_a_patch_list() {
    let original = json!({"metadata": {"name": "p", "finalizers": ["a", "b", "c"]},
        "spec": {"containers": [{"name": "x"}, {"name": "y"}, {"name": "z"}]}});
    let patch = json!({
        "metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]},
        "spec": {"$setElementOrder/containers": [{"name": "z"}, {"name": "x"}]}
    });
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
    // The server-only `y` keeps its place before `z`, which follows it in the live list.
    assert_eq!(names(containers(&got)), ["y", "z", "x"]);
}

#[test]
fn merge_unknown_fields_and_custom_json_leaves_merge_as_plain_json() {
    // Upstream's struct lookup would fail ("unable to find api field"); here an unknown key
    // (which only a non-typed original can hold) merges as plain JSON.
    let original = pod(json!({"foo": {"b": 2, "c": 3}, "bar": [1, 2]}));
    let patch = json!({"spec": {"foo": {"a": 1, "c": null}, "bar": [3]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(got["spec"], json!({"foo": {"a": 1, "b": 2}, "bar": [3]}));

    // A RawExtension holds arbitrary JSON, merged the same way.
    let original = json!({"data": {"spec": {"x": 1}}, "revision": 1});
    let patch = json!({"data": {"spec": {"y": 2}}});
    let got = apply("apps/v1", "ControllerRevision", &original, &patch);
    assert_eq!(got["data"], json!({"spec": {"x": 1, "y": 2}}));
}

#[test]
fn merge_documents_that_are_not_objects() {
    let pod_type = kind("v1", "Pod");
    assert_eq!(strategic_merge_patch(&Value::Null, &json!({"a": 1}), pod_type), Ok(json!({"a": 1})));
    assert_eq!(strategic_merge_patch(&json!({"a": 1}), &Value::Null, pod_type), Ok(json!({"a": 1})));
    let err = strategic_merge_patch(&json!("x"), &json!({}), pod_type);
    assert_eq!(err, Err(MergeError::BadJsonDoc));
    let err = strategic_merge_patch(&json!({}), &json!([1]), pod_type);
    assert_eq!(err.map_err(|e| (e.to_string(), e.http_status())), Err(("invalid JSON document".into(), 400)));
}

fn err_message(api_version: &str, kind_name: &str, original: Value, patch: Value) -> (String, u16) {
    let e = apply_err(api_version, kind_name, &original, &patch);
    (e.to_string(), e.http_status())
}

#[test]
fn merge_errors_carry_upstream_messages() {
    let two = pod(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    let cases: Vec<(Value, Value, &str, u16)> = vec![
        (
            two.clone(),
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "map: map[image:x] does not contain declared merge key: name",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {"containers": [{"$patch": "delete", "image": "x"}]}}),
            "map: map[$patch:delete image:x] does not contain declared merge key: name",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {"containers": [{"$patch": "merge", "name": "a"}]}}),
            "merging lists cannot yet be specified in the patch",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {"containers": [{"$patch": 1, "name": "a"}]}}),
            "unknown patch type: %!s(int64=1) in map: map[$patch:1 name:a]",
            500,
        ),
        (
            json!({"metadata": {"labels": {"x": "y"}}}),
            json!({"metadata": {"labels": {"$patch": "merge", "a": "b"}}}),
            "unknown patch type: merge in map: map[$patch:merge a:b]",
            500,
        ),
        (
            json!({"metadata": {"labels": {"x": "y"}}}),
            json!({"metadata": {"labels": {"$patch": "foo", "a": "b"}}}),
            "unknown patch type: foo in map: map[$patch:foo a:b]",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]
            }}),
            "The order in patch list:\n[map[image:x name:a] map[image:y name:b]]\n doesn't match \
             $setElementOrder list:\n[map[name:b] map[name:a]]\n",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {"$setElementOrder": [{"name": "a"}]}}),
            "invalid patch format of setElementOrder list",
            400,
        ),
        (
            two.clone(),
            json!({"spec": {"$setElementOrder/containers": "a"}}),
            "expected a []interface {}, but received a string",
            500,
        ),
        (
            two.clone(),
            json!({"spec": {"$setElementOrder/containers": [{"image": "a"}], "containers": [{"name": "a"}]}}),
            "map: map[image:a] does not contain declared merge key: name",
            500,
        ),
        (
            json!({"kind": "Pod"}),
            json!({"$setElementOrder/metadata": []}),
            "expected slice or array type, but got: struct",
            500,
        ),
        (
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
            "invalid patch format of primitive list",
            400,
        ),
        (
            json!({"metadata": {"finalizers": []}}),
            json!({"metadata": {"finalizers": [["x"]]}}),
            "lists of lists are not supported",
            422,
        ),
        (
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": [1, 2.5]}}),
            "list element types are not identical: [[a] [1 2.5]]",
            500,
        ),
        (
            json!({"metadata": {"finalizers": []}}),
            json!({"metadata": {"$setElementOrder/finalizers": []}}),
            "no elements in any of the given slices",
            500,
        ),
        (
            pod(json!({"tolerations": [{"key": "a"}]})),
            json!({"spec": {"$deleteFromPrimitiveList/tolerations": [{"key": "a"}]}}),
            "cannot merge lists without merge key for struct",
            500,
        ),
        (
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
            json!({"spec": {"strategy": {"$retainKeys": [{}], "type": "Recreate"}}}),
            "runtime error: hash of unhashable type map[string]interface {}",
            500,
        ),
        (
            json!({"metadata": {"finalizers": []}}),
            json!({"metadata": {"finalizers": [null]}}),
            "runtime error: invalid memory address or nil pointer dereference",
            500,
        ),
    ];
    for (original, patch, want, status) in cases {
        let kind_name =
            if original.pointer("/spec/strategy").is_some() { ("apps/v1", "Deployment") } else { ("v1", "Pod") };
        assert_eq!(
            err_message(kind_name.0, kind_name.1, original, patch.clone()),
            (want.to_string(), status),
            "patch {patch}"
        );
    }
}

#[test]
fn merge_uncomparable_merge_keys_fail_like_upstream_panics() {
    let original = pod(json!({"containers": [{"name": {"a": 1}}]}));
    let patch = json!({"spec": {"containers": [{"name": {"b": 1}}]}});
    assert_eq!(apply_err("v1", "Pod", &original, &patch), MergeError::Panic(GoPanic::UncomparableMap));
}

#[test]
fn merge_delete_from_primitive_list_of_objects_merges_instead() {
    // Upstream quirk: a deletion list of a merging list of objects is merged by key.
    let original = pod(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    let patch = json!({"spec": {"$deleteFromPrimitiveList/containers": [{"name": "a", "image": "i"}]}});
    let got = apply("v1", "Pod", &original, &patch);
    assert_eq!(containers(&got), &json!([{"name": "a", "image": "i"}, {"name": "b"}]));
}

#[test]
fn merge_harness_reports_failures() {
    let cases = [Case {
        description: "wrong on purpose",
        root: Root::Meta,
        original: r#"{"name":"a"}"#,
        patch: r#"{"name":"b"}"#,
        expected: Expect::Result(r#"{"name":"a"}"#),
    }];
    assert_eq!(run(&cases).len(), 1);
}
