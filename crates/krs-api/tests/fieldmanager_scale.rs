//! managedFields through the scale subresource: `kubectl scale` then an apply with other
//! replicas conflicts on `.spec.replicas` (upstream's TestScaleAllResources).

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::fieldmanager::{self, Path, Request, scale};
use serde_json::{Value, json};

fn config(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "test", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:latest"}]}
            }
        }
    })
}

fn mappings() -> Vec<(&'static str, Path)> {
    vec![("apps/v1", Path::fields(&["spec", "replicas"]))]
}

/// What the registry does for a write through `scale`: builds the old Scale with its
/// managedFields, records the write on the Scale, and moves replicas and managedFields back.
fn write_scale(parent: &Value, replicas: i64, manager: &str, now: &str) -> Value {
    let m = mappings();
    let parent_mf = parent.pointer("/metadata/managedFields");
    let mut old = json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": "test", "namespace": "default", "uid": parent["metadata"]["uid"].clone(),
            "resourceVersion": "1", "creationTimestamp": T0
        },
        "spec": {"replicas": parent["spec"]["replicas"].clone()},
        "status": {"replicas": 0, "selector": "app=nginx"}
    });
    if let Some(mf) = scale::to_subresource(parent_mf, &m).expect("decodes") {
        old["metadata"]["managedFields"] = mf;
    }
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(replicas);
    let r = Request { subresource: "scale", ..req(manager, scale::SCALE_API_VERSION, "Scale", now) };
    fieldmanager::update(Some(&old), &mut new, &r).expect("update");
    let mut out = parent.clone();
    out["spec"]["replicas"] = json!(replicas);
    match scale::to_parent(parent_mf, new.pointer("/metadata/managedFields"), "apps/v1", &m).expect("decodes") {
        Some(mf) => out["metadata"]["managedFields"] = mf,
        None => {
            if let Some(meta) = out["metadata"].as_object_mut() {
                meta.remove("managedFields");
            }
        }
    }
    out
}

fn replicas_owners(obj: &Value) -> Vec<String> {
    managed_fields(obj)
        .into_iter()
        .filter(|e| e["fieldsV1"]["f:spec"]["f:replicas"].is_object())
        .map(|e| e["manager"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn r(manager: &str) -> Request<'_> {
    req(manager, "apps/v1", "Deployment", T1)
}

#[test]
fn scaling_takes_replicas_and_a_later_apply_conflicts_until_forced() {
    let obj = apply(None, &config(1), false, &r("apply_test"));
    assert_eq!(replicas_owners(&obj), ["apply_test"]);

    let obj = write_scale(&obj, 5, "kubectl-scale", T2);
    assert_eq!(obj["spec"]["replicas"], 5);
    assert_eq!(replicas_owners(&obj), ["kubectl-scale"]);
    let scaled = managed_fields(&obj).into_iter().find(|e| e["manager"] == "kubectl-scale").unwrap_or_default();
    assert_eq!(scaled["operation"], "Update");
    assert_eq!(scaled["subresource"], "scale");
    assert_eq!(scaled["apiVersion"], "apps/v1");
    assert_eq!(scaled["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));

    let err = apply_err(Some(&obj), &config(1), false, &r("apply_test"));
    assert_eq!(err.http_status(), 409);
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" using apps/v1: .spec.replicas"#
    );
    let obj = apply(Some(&obj), &config(1), true, &r("apply_test"));
    assert_eq!(obj["spec"]["replicas"], 1);
    assert_eq!(replicas_owners(&obj), ["apply_test"]);
}

#[test]
fn applying_the_scaled_value_co_owns_replicas() {
    let obj = apply(None, &config(1), false, &r("apply_test"));
    let obj = write_scale(&obj, 7, "replace_test", T2);
    let obj = apply(Some(&obj), &config(7), false, &r("apply_test"));
    let mut owners = replicas_owners(&obj);
    owners.sort();
    assert_eq!(owners, ["apply_test", "replace_test"]);
    let obj = write_scale(&obj, 5, "scale_test", T2);
    assert_eq!(replicas_owners(&obj), ["scale_test"]);
}

#[test]
fn scale_managed_fields_follow_the_replicas_owners() {
    let obj = apply(None, &config(1), false, &r("apply_test"));
    let sub = scale::to_subresource(obj.pointer("/metadata/managedFields"), &mappings())
        .expect("decodes")
        .unwrap_or_default();
    assert_eq!(
        sub,
        json!([{
            "manager": "apply_test", "operation": "Apply", "apiVersion": "autoscaling/v1",
            "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}
        }])
    );
}
