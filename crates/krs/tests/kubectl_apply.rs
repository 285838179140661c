//! `kubectl apply`: client-side apply (three-way merge through the last-applied-configuration
//! annotation) and server-side apply (managedFields, conflicts, --force-conflicts, the upgrade
//! from client-side apply), with kubectl 1.27, 1.33 and 1.37.

use crate::common;

use common::Kubectl;
use serde_json::{Value, json};

kubectl_scenarios!(
    apply_creates_updates_and_removes_fields_dropped_from_the_manifest,
    apply_records_last_applied_configuration_and_client_side_manager,
    server_side_apply_records_kubectl_as_apply_manager,
    server_side_apply_conflicts_with_scale_unless_forced,
    scale_records_its_manager_for_the_scale_subresource,
    server_side_apply_takes_over_from_client_side_apply,
);

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A Deployment `d` in `ns`: `labels` on the object, one container `app` with `env`.
fn deployment(ns: &str, replicas: u32, image: &str, labels: &[(&str, &str)], env: &[(&str, &str)]) -> String {
    let labels = if labels.is_empty() {
        String::new()
    } else {
        let pairs: String = labels.iter().map(|(k, v)| format!("    {k}: \"{v}\"\n")).collect();
        format!("  labels:\n{pairs}")
    };
    let env = if env.is_empty() {
        String::new()
    } else {
        let vars: String =
            env.iter().map(|(k, v)| format!("        - name: {k}\n          value: \"{v}\"\n")).collect();
        format!("        env:\n{vars}")
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  namespace: {ns}
{labels}spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: d
  template:
    metadata:
      labels:
        app: d
    spec:
      containers:
      - name: app
        image: {image}
{env}"
    )
}

fn managed_fields(k: &Kubectl, what: &str) -> Vec<Value> {
    k.get_json(&[what, "--show-managed-fields"])["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

fn entry<'v>(managed: &'v [Value], manager: &str, operation: &str) -> Option<&'v Value> {
    managed.iter().find(|e| e["manager"] == manager && e["operation"] == operation)
}

fn managers(managed: &[Value]) -> Vec<String> {
    managed
        .iter()
        .map(|e| {
            format!(
                "{}/{}/{}",
                e["manager"].as_str().unwrap_or(""),
                e["operation"].as_str().unwrap_or(""),
                e["subresource"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn apply_creates_updates_and_removes_fields_dropped_from_the_manifest(k: &Kubectl) {
    let k = k.in_new_namespace("csa");
    let v1 = deployment("csa", 1, "nginx:1.25", &[("app", "d"), ("tier", "web")], &[("A", "1"), ("B", "2")]);
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &v1), "deployment.apps/d created\n");
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &v1), "deployment.apps/d unchanged\n");

    // A changed field.
    let v2 = deployment("csa", 3, "nginx:1.27", &[("app", "d"), ("tier", "web")], &[("A", "1"), ("B", "2")]);
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &v2), "deployment.apps/d configured\n");
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(d["metadata"]["generation"], 2);

    // A field set outside the manifest survives; fields dropped from the manifest go (the
    // three-way merge deletes what the last applied configuration had and the new one lacks).
    k.ok(&["label", "deployment", "d", "owner=ops"]);
    let v3 = deployment("csa", 3, "nginx:1.27", &[("app", "d")], &[("A", "1")]);
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &v3), "deployment.apps/d configured\n");
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["metadata"]["labels"], json!({"app": "d", "owner": "ops"}));
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(d["spec"]["replicas"], 3);

    // Removing the whole env list.
    let v4 = deployment("csa", 3, "nginx:1.27", &[("app", "d")], &[]);
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &v4), "deployment.apps/d configured\n");
    let d = k.get_json(&["deployment", "d"]);
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert!(container.get("env").is_none(), "env is still there: {container}");
}

fn apply_records_last_applied_configuration_and_client_side_manager(k: &Kubectl) {
    let k = k.in_new_namespace("lastapplied");
    let manifest = deployment("lastapplied", 2, "nginx:1.25", &[("tier", "web")], &[("A", "1")]);
    k.ok_stdin(&["apply", "-f", "-"], &manifest);
    let d = k.get_json(&["deployment", "d"]);
    let annotation =
        d["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap_or_else(|| panic!("no {LAST_APPLIED}: {d}"));
    let applied: Value =
        serde_json::from_str(annotation).unwrap_or_else(|e| panic!("{LAST_APPLIED}: {e}: {annotation}"));
    assert_eq!(applied["kind"], "Deployment");
    assert_eq!(applied["apiVersion"], "apps/v1");
    assert_eq!(applied["metadata"]["name"], "d");
    assert_eq!(applied["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(applied["spec"]["replicas"], 2);
    assert_eq!(applied["spec"]["template"]["spec"]["containers"][0]["env"], json!([{"name": "A", "value": "1"}]));

    // kubectl's client-side apply writes as "kubectl-client-side-apply" (an Update).
    let managed = managed_fields(&k, "deployment/d");
    let csa = entry(&managed, "kubectl-client-side-apply", "Update")
        .unwrap_or_else(|| panic!("no kubectl-client-side-apply entry: {:?}", managers(&managed)));
    assert_eq!(csa["apiVersion"], "apps/v1");
    assert_eq!(csa["fieldsType"], "FieldsV1");
    assert!(csa["fieldsV1"]["f:spec"]["f:replicas"].is_object(), "{csa}");

    // `apply view-last-applied` prints the annotation back.
    let view = k.ok(&["apply", "view-last-applied", "deployment/d", "-o", "json"]);
    let viewed: Value = serde_json::from_str(&view).unwrap_or_else(|e| panic!("view-last-applied: {e}: {view}"));
    assert_eq!(viewed, applied);
}

fn server_side_apply_records_kubectl_as_apply_manager(k: &Kubectl) {
    let k = k.in_new_namespace("ssa");
    let manifest = deployment("ssa", 2, "nginx:1.25", &[("tier", "web")], &[]);
    assert_eq!(k.ok_stdin(&["apply", "--server-side", "-f", "-"], &manifest), "deployment.apps/d serverside-applied\n");
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate", "applied objects are defaulted");

    let managed = managed_fields(&k, "deployment/d");
    assert_eq!(managers(&managed), ["kubectl/Apply/"], "{managed:?}");
    let applied = &managed[0];
    assert_eq!(applied["apiVersion"], "apps/v1");
    assert_eq!(applied["fieldsType"], "FieldsV1");
    assert!(applied["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{applied}");
    let fields = &applied["fieldsV1"];
    // An applied configuration's set (structured-merge-diff's ToFieldSet) has leaves, list
    // items and map keys, not the struct fields above them: no "." for labels.
    assert_eq!(fields["f:metadata"]["f:labels"], json!({"f:tier": {}}));
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    // Containers are a map keyed by name; the applier owns only what it sent, not defaults.
    let container = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert_eq!(container, &json!({".": {}, "f:image": {}, "f:name": {}}), "{fields}");
    assert!(fields["f:spec"].get("f:strategy").is_none(), "defaulted fields are not applied: {fields}");

    // Applying again without a field removes it: the applier owned it alone.
    let without_label = deployment("ssa", 2, "nginx:1.25", &[], &[]);
    assert_eq!(
        k.ok_stdin(&["apply", "--server-side", "-f", "-"], &without_label),
        "deployment.apps/d serverside-applied\n"
    );
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["metadata"].get("labels").cloned().unwrap_or(json!({})), json!({}), "{d}");
}

/// The managedFields entry of whoever owns `.spec.replicas` besides the applier.
fn replicas_owner(managed: &[Value]) -> Value {
    managed
        .iter()
        .find(|e| e["manager"] != "kubectl" && e["fieldsV1"]["f:spec"].get("f:replicas").is_some())
        .cloned()
        .unwrap_or_else(|| panic!("nobody else owns .spec.replicas: {managed:?}"))
}

/// `kubectl scale` PATCHes `deployments/d/scale`: upstream's field manager of the scale
/// endpoint records the writer with `subresource: scale`, owning `.spec.replicas` of the
/// parent.
fn scale_records_its_manager_for_the_scale_subresource(k: &Kubectl) {
    let k = k.in_new_namespace("scalemgr");
    k.ok(&["create", "deployment", "d", "--image=nginx"]);
    assert_eq!(k.ok(&["scale", "deployment", "d", "--replicas=3"]), "deployment.apps/d scaled\n");
    let managed = managed_fields(&k, "deployment/d");
    let scaler = replicas_owner(&managed);
    // No --field-manager: the user agent's program name (kubectl.1.33/v1.33.1 ... -> kubectl.1.33).
    assert_eq!(scaler["manager"], format!("kubectl.{}", k.version), "{scaler}");
    assert_eq!(scaler["operation"], "Update");
    assert_eq!(scaler["apiVersion"], "apps/v1");
    assert_eq!(scaler["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(scaler["subresource"], "scale", "{scaler}");
    // kubectl create's entry gave up .spec.replicas.
    let created = entry(&managed, "kubectl-create", "Update").unwrap_or_else(|| panic!("{:?}", managers(&managed)));
    assert!(created["fieldsV1"]["f:spec"].get("f:replicas").is_none(), "{created}");
}

fn server_side_apply_conflicts_with_scale_unless_forced(k: &Kubectl) {
    let k = k.in_new_namespace("conflict");
    let manifest = deployment("conflict", 2, "nginx:1.25", &[], &[]);
    k.ok_stdin(&["apply", "--server-side", "-f", "-"], &manifest);
    assert_eq!(k.ok(&["scale", "deployment", "d", "--replicas=5"]), "deployment.apps/d scaled\n");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.replicas}"), "5");

    // The scaler now owns .spec.replicas; the applier lost it.
    let managed = managed_fields(&k, "deployment/d");
    let scaler = replicas_owner(&managed);
    let applied = entry(&managed, "kubectl", "Apply").unwrap_or_else(|| panic!("{:?}", managers(&managed)));
    assert!(applied["fieldsV1"]["f:spec"].get("f:replicas").is_none(), "the applier lost replicas: {applied}");

    // Re-applying replicas 2 conflicts with the scaler: upstream's managedfields conflict error
    // names the manager as `"NAME"[ with subresource "SUB"] using APIVERSION`.
    let err = k.fails_stdin(&["apply", "--server-side", "-f", "-"], &manifest);
    let subresource = match scaler["subresource"].as_str() {
        Some(s) if !s.is_empty() => format!(" with subresource \"{s}\""),
        _ => String::new(),
    };
    let want = format!(
        "error: Apply failed with 1 conflict: conflict with \"{}\"{subresource} using apps/v1: .spec.replicas\n",
        scaler["manager"].as_str().unwrap_or_default()
    );
    assert!(err.starts_with(&want), "expected {want:?}, got:\n{err}");
    assert!(err.contains("--force-conflicts"), "kubectl's advice is missing:\n{err}");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.replicas}"), "5");

    assert_eq!(
        k.ok_stdin(&["apply", "--server-side", "--force-conflicts", "-f", "-"], &manifest),
        "deployment.apps/d serverside-applied\n"
    );
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.replicas}"), "2");
    let managed = managed_fields(&k, "deployment/d");
    assert!(
        !managed.iter().any(|e| e["manager"] == scaler["manager"]),
        "the scaler owned nothing else and is gone: {:?}",
        managers(&managed)
    );
    let applied = entry(&managed, "kubectl", "Apply").unwrap_or_else(|| panic!("{:?}", managers(&managed)));
    assert_eq!(applied["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
}

fn server_side_apply_takes_over_from_client_side_apply(k: &Kubectl) {
    let k = k.in_new_namespace("upgrade");
    let manifest = deployment("upgrade", 2, "nginx:1.25", &[("tier", "web")], &[("A", "1")]);
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &manifest), "deployment.apps/d created\n");
    let before = k.get_json(&["deployment", "d"]);

    // The same manifest server-side: no conflict with kubectl-client-side-apply (kubectl
    // migrates its managedFields entry, the server lets "kubectl" take over the fields the
    // last applied configuration names).
    assert_eq!(k.ok_stdin(&["apply", "--server-side", "-f", "-"], &manifest), "deployment.apps/d serverside-applied\n");
    let after = k.get_json(&["deployment", "d"]);
    assert_eq!(after["spec"], before["spec"]);
    assert_eq!(after["metadata"]["labels"], json!({"tier": "web"}));
    let managed = managed_fields(&k, "deployment/d");
    let applied = entry(&managed, "kubectl", "Apply").unwrap_or_else(|| panic!("{:?}", managers(&managed)));
    assert_eq!(applied["fieldsV1"]["f:spec"]["f:replicas"], json!({}), "{applied}");
    assert!(
        entry(&managed, "kubectl-client-side-apply", "Update").is_none(),
        "kubectl moved the client-side entry into its apply entry: {:?}",
        managers(&managed)
    );

    // From now on server-side apply owns the fields: a changed manifest applies cleanly and
    // dropped fields go.
    let changed = deployment("upgrade", 4, "nginx:1.27", &[], &[]);
    assert_eq!(k.ok_stdin(&["apply", "--server-side", "-f", "-"], &changed), "deployment.apps/d serverside-applied\n");
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    assert!(d["spec"]["template"]["spec"]["containers"][0].get("env").is_none(), "{d}");
    assert_eq!(d["metadata"].get("labels").cloned().unwrap_or(json!({})), json!({}), "{d}");
}
