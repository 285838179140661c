//! `kubectl apply --server-side` after client-side `kubectl apply`: the server lets the
//! `kubectl` applier take over what the last-applied annotation describes, keeps the
//! annotation current, and honours the managedFields kubectl rewrites (client-go csaupgrade).

use crate::fieldmanager_common;

use fieldmanager_common::*;
use krs_api::fieldmanager::FieldSet;
use krs_api::fieldmanager::lastapplied::LAST_APPLIED_ANNOTATION;
use serde_json::{Value, json};

fn manifest(data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default", "labels": {"app": "web"}},
        "data": data
    })
}

/// What client-side `kubectl apply` creates: the manifest plus its last-applied annotation.
fn client_side_create(m: &Value) -> Value {
    let mut obj = m.clone();
    obj["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: format!("{m}\n")});
    create(obj, &req("kubectl-client-side-apply", "v1", "ConfigMap", T0))
}

/// client-go's csaupgrade.UpgradeManagedFields: the client-side manager's fields join the
/// `kubectl` Apply entry, and the client-side entry goes.
fn upgrade_managed_fields(obj: &Value) -> Value {
    let entries = managed_fields(obj);
    let csa = entries
        .iter()
        .find(|e| e["manager"] == "kubectl-client-side-apply" && e["operation"] == "Update")
        .map(|e| FieldSet::from_fields_v1(&e["fieldsV1"]).expect("decodes"))
        .unwrap_or_default();
    let upgraded: Vec<Value> = entries
        .into_iter()
        .filter(|e| !(e["manager"] == "kubectl-client-side-apply" && e["operation"] == "Update"))
        .map(|mut e| {
            if e["manager"] == "kubectl" && e["operation"] == "Apply" {
                let mine = FieldSet::from_fields_v1(&e["fieldsV1"]).expect("decodes");
                e["fieldsV1"] = mine.union(&csa).to_fields_v1();
            }
            e
        })
        .collect();
    let mut patched = obj.clone();
    patched["metadata"]["managedFields"] = Value::Array(upgraded);
    patched
}

#[test]
fn server_side_apply_after_client_side_apply_succeeds_and_migrates() {
    let m = manifest(json!({"a": "1", "b": "2"}));
    let live = client_side_create(&m);

    // 1. The same manifest, server-side: nothing changes, so nothing conflicts.
    let live = apply(Some(&live), &m, false, &req("kubectl", "v1", "ConfigMap", T1));
    assert_eq!(
        entries(&live),
        [
            ("kubectl".to_owned(), "Apply".to_owned(), String::new()),
            ("kubectl-client-side-apply".to_owned(), "Update".to_owned(), String::new())
        ]
    );
    // The annotation now describes the server-side configuration.
    assert_eq!(live["metadata"]["annotations"][LAST_APPLIED_ANNOTATION], format!("{m}\n"));

    // 2. kubectl keeps the annotation owned by an applier.
    let keep = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default", "annotations": {
            LAST_APPLIED_ANNOTATION: live["metadata"]["annotations"][LAST_APPLIED_ANNOTATION].clone()
        }}
    });
    let live = apply(Some(&live), &keep, false, &req("kubectl-last-applied", "v1", "ConfigMap", T1));

    // 3. kubectl moves the client-side fields into its Apply entry with a JSON patch.
    let live = update(&live, upgrade_managed_fields(&live), &req("kubectl", "v1", "ConfigMap", T2));
    let managers: Vec<String> = entries(&live).into_iter().map(|e| e.0).collect();
    assert_eq!(managers, ["kubectl", "kubectl-last-applied"]);
    assert!(owns(&live, "kubectl", &["f:data", "f:b"]));

    // 4. Now a field dropped from the manifest is removed.
    let smaller = manifest(json!({"a": "1"}));
    let live = apply(Some(&live), &smaller, false, &req("kubectl", "v1", "ConfigMap", T2));
    assert_eq!(live["data"], json!({"a": "1"}));
    assert!(live["metadata"]["annotations"].get(LAST_APPLIED_ANNOTATION).is_some());
}

#[test]
fn before_migration_fields_the_client_side_manager_set_are_kept() {
    let m = manifest(json!({"a": "1", "b": "2"}));
    let live = client_side_create(&m);
    let live = apply(Some(&live), &m, false, &req("kubectl", "v1", "ConfigMap", T1));
    let live = apply(Some(&live), &manifest(json!({"a": "1"})), false, &req("kubectl", "v1", "ConfigMap", T2));
    assert_eq!(live["data"], json!({"a": "1", "b": "2"}));
}

fn deployment_created_client_side() -> Value {
    // Upstream's TestUpgradeClientSideToServerSideApply: the annotation says 3 replicas,
    // the live object has 100000.
    let last = r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"my-deployment","labels":{"app":"my-app"}},"spec":{"replicas": 3,"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"name":"my-c","image":"my-image"}]}}}}"#;
    let obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "my-deployment",
            "namespace": "default",
            "annotations": {LAST_APPLIED_ANNOTATION: format!("{last}\n")},
            "labels": {"app": "my-app"}
        },
        "spec": {
            "replicas": 100000,
            "selector": {"matchLabels": {"app": "my-app"}},
            "template": {
                "metadata": {"labels": {"app": "my-app"}},
                "spec": {"containers": [{"name": "my-c", "image": "my-image"}]}
            }
        }
    });
    create(obj, &req("kubectl-client-side-apply", "apps/v1", "Deployment", T0))
}

fn ssa_config(replicas: Option<i64>, image: &str) -> Value {
    let mut spec = json!({
        "template": {
            "metadata": {"labels": {"app": "my-app"}},
            "spec": {"containers": [{"name": "my-c", "image": image}]}
        }
    });
    if let Some(r) = replicas {
        spec["replicas"] = json!(r);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "my-deployment", "labels": {"app": "my-new-label"}},
        "spec": spec
    })
}

#[test]
fn kubectl_takes_over_only_what_the_annotation_still_describes() {
    let live = deployment_created_client_side();
    let r = req("kubectl", "apps/v1", "Deployment", T1);
    // Replicas differ from the annotation: a real conflict. The label and image do not.
    let err = apply_err(Some(&live), &ssa_config(Some(3), "my-image"), false, &r);
    assert_eq!(err.http_status(), 409);
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
    let out = apply(Some(&live), &ssa_config(None, "my-image-new"), false, &r);
    assert_eq!(out["spec"]["replicas"], 100000);
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "my-image-new");
    assert_eq!(out["metadata"]["labels"]["app"], "my-new-label");
    assert!(owns(
        &out,
        "kubectl",
        &["f:spec", "f:template", "f:spec", "f:containers", r#"k:{"name":"my-c"}"#, "f:image"]
    ));
}

#[test]
fn other_appliers_do_not_take_over_client_side_apply() {
    let live = deployment_created_client_side();
    let err =
        apply_err(Some(&live), &ssa_config(None, "my-image-new"), false, &req("argocd", "apps/v1", "Deployment", T1));
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n\
         - .metadata.labels.app\n\
         - .spec.template.spec.containers[name=\"my-c\"].image"
    );
}

#[test]
fn the_annotation_is_rewritten_as_kubectl_would_encode_the_configuration() {
    let live = deployment_created_client_side();
    let config = ssa_config(None, "my-image-new");
    let out = apply(Some(&live), &config, false, &req("kubectl", "apps/v1", "Deployment", T1));
    assert_eq!(
        out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
        concat!(
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"my-new-label"},"name":"my-deployment"},"#,
            r#""spec":{"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"image":"my-image-new","name":"my-c"}]}}}}"#,
            "\n"
        )
    );
    // Other appliers leave the annotation alone.
    let out = apply(
        Some(&live),
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "my-deployment", "labels": {"team": "x"}}
        }),
        false,
        &req("argocd", "apps/v1", "Deployment", T1),
    );
    assert_eq!(
        out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
        live["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    );
}
