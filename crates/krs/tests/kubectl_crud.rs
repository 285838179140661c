//! kubectl create, get, label, annotate, patch, replace and delete against a real krs, with the
//! errors kubectl prints for missing, duplicate and invalid objects. kubectl 1.33 sends protobuf
//! bodies for its typed commands (create configmap/secret/deployment), 1.27 sends JSON.

use crate::common;

use common::{Kubectl, V1_27};
use serde_json::json;

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    create_configmap_secret_and_deployment_round_trip,
    created_deployment_gets_upstream_defaults,
    get_missing_object_reports_not_found,
    create_existing_object_reports_already_exists,
    create_from_manifest_existing_object_reports_already_exists,
    create_invalid_name_reports_field_error,
    create_from_manifest_invalid_name_reports_field_error,
    label_and_annotate_update_metadata,
    label_with_stale_resource_version_conflicts,
    patch_merge_json_and_strategic,
    patch_without_change_keeps_resource_version,
    replace_updates_and_detects_conflicts,
    delete_removes_object,
    delete_with_finalizer_waits_for_finalizer_removal,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    create_configmap_secret_and_deployment_round_trip,
    created_deployment_gets_upstream_defaults,
    get_missing_object_reports_not_found,
    create_existing_object_reports_already_exists,
    create_from_manifest_existing_object_reports_already_exists,
    create_invalid_name_reports_field_error,
    create_from_manifest_invalid_name_reports_field_error,
    label_and_annotate_update_metadata,
    label_with_stale_resource_version_conflicts,
    patch_merge_json_and_strategic,
    patch_without_change_keeps_resource_version,
    replace_updates_and_detects_conflicts,
    delete_removes_object,
    delete_with_finalizer_waits_for_finalizer_removal,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    create_configmap_secret_and_deployment_round_trip,
    get_missing_object_reports_not_found,
    create_existing_object_reports_already_exists,
    create_invalid_name_reports_field_error,
    label_and_annotate_update_metadata,
    patch_merge_json_and_strategic,
    replace_updates_and_detects_conflicts,
    delete_with_finalizer_waits_for_finalizer_removal,
);

/// upstream's message for a name that is not a DNS subdomain (apimachinery's
/// validation.IsDNS1123Subdomain through field.Invalid).
const BAD_NAME_ERROR: &str = "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// upstream's storage.OptimisticLockErrorMsg in a Conflict status.
const CONFLICT_X: &str = "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again";

fn configmap_manifest(ns: &str, name: &str, resource_version: Option<&str>, a: &str) -> String {
    let rv = resource_version.map(|rv| format!("  resourceVersion: \"{rv}\"\n")).unwrap_or_default();
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n{rv}data:\n  a: \"{a}\"\n")
}

fn resource_version(k: &Kubectl, kind_name: &str) -> String {
    let rv = k.jsonpath(&[kind_name], "{.metadata.resourceVersion}");
    assert!(!rv.is_empty() && rv.bytes().all(|b| b.is_ascii_digit()), "resourceVersion {rv:?}");
    rv
}

fn create_configmap_secret_and_deployment_round_trip(k: &Kubectl) {
    let k = k.in_new_namespace("crud");
    assert_eq!(
        k.ok(&["create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=two"]),
        "configmap/c created\n"
    );
    assert_eq!(k.ok(&["create", "secret", "generic", "s", "--from-literal=pw=s3cret"]), "secret/s created\n");
    assert_eq!(
        k.ok(&["create", "deployment", "d", "--image=nginx:1.25", "--replicas=2"]),
        "deployment.apps/d created\n"
    );

    let cm = k.get_json(&["configmap", "c"]);
    assert_eq!(cm["apiVersion"], "v1");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "c");
    assert_eq!(cm["metadata"]["namespace"], "crud");
    assert_eq!(cm["data"], json!({"a": "1", "b": "two"}));
    for field in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(cm["metadata"][field].as_str().is_some_and(|s| !s.is_empty()), "metadata.{field} in {cm}");
    }

    let secret = k.get_json(&["secret", "s"]);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"], json!({"pw": "czNjcmV0"}));

    let deploy = k.get_json(&["deployment", "d"]);
    assert_eq!(deploy["apiVersion"], "apps/v1");
    assert_eq!(deploy["kind"], "Deployment");
    assert_eq!(deploy["metadata"]["generation"], 1);
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["spec"]["selector"], json!({"matchLabels": {"app": "d"}}));
    assert_eq!(deploy["spec"]["template"]["metadata"]["labels"], json!({"app": "d"}));
    let containers = &deploy["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(1), "{containers}");
    assert_eq!(containers[0]["name"], "nginx");
    assert_eq!(containers[0]["image"], "nginx:1.25");
}

/// The deployment strategy's and the pod template's defaults (upstream's SetDefaults_Deployment,
/// SetDefaults_PodSpec, SetDefaults_Container).
fn created_deployment_gets_upstream_defaults(k: &Kubectl) {
    let k = k.in_new_namespace("defaults");
    k.ok(&["create", "deployment", "d", "--image=nginx:1.25"]);
    let d = k.get_json(&["deployment", "d"]);
    let spec = &d["spec"];
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["securityContext"], json!({}));
    let c = &pod["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
}

fn get_missing_object_reports_not_found(k: &Kubectl) {
    let k = k.in_new_namespace("missing");
    assert_eq!(k.fails(&["get", "configmap", "x"]), "Error from server (NotFound): configmaps \"x\" not found");
    assert_eq!(k.fails(&["get", "deployment", "x"]), "Error from server (NotFound): deployments.apps \"x\" not found");
    assert_eq!(k.fails(&["delete", "configmap", "x"]), "Error from server (NotFound): configmaps \"x\" not found");
}

fn create_existing_object_reports_already_exists(k: &Kubectl) {
    let k = k.in_new_namespace("dup");
    k.ok(&["create", "configmap", "x"]);
    // `kubectl create configmap` wraps the server's error: "failed to create configmap: %v".
    assert_eq!(
        k.fails(&["create", "configmap", "x", "--from-literal=a=1"]),
        "error: failed to create configmap: configmaps \"x\" already exists"
    );
    k.ok(&["create", "deployment", "d", "--image=nginx"]);
    assert_eq!(
        k.fails(&["create", "deployment", "d", "--image=nginx"]),
        "error: failed to create deployment: deployments.apps \"d\" already exists"
    );
    assert_eq!(
        k.fails(&["create", "namespace", "dup"]),
        "Error from server (AlreadyExists): namespaces \"dup\" already exists"
    );
}

/// `create -f` with kubectl's default validation (strict: kubectl needs the server's OpenAPI to
/// know it supports fieldValidation).
fn create_from_manifest_existing_object_reports_already_exists(k: &Kubectl) {
    let k = k.in_new_namespace("dupf");
    let manifest = configmap_manifest("dupf", "x", None, "1");
    assert_eq!(k.ok_stdin(&["create", "-f", "-"], &manifest), "configmap/x created\n");
    assert_eq!(
        k.fails_stdin(&["create", "-f", "-"], &manifest),
        "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"x\" already exists"
    );
}

fn create_invalid_name_reports_field_error(k: &Kubectl) {
    let k = k.in_new_namespace("invalid");
    assert_eq!(
        k.fails(&["create", "configmap", "Bad_Name"]),
        format!("error: failed to create configmap: ConfigMap \"Bad_Name\" is invalid: {BAD_NAME_ERROR}")
    );
    assert_eq!(k.names(&["configmaps"]), Vec::<String>::new());
}

fn create_from_manifest_invalid_name_reports_field_error(k: &Kubectl) {
    let k = k.in_new_namespace("invalidf");
    assert_eq!(
        k.fails_stdin(&["create", "-f", "-"], &configmap_manifest("invalidf", "Bad_Name", None, "1")),
        format!("The ConfigMap \"Bad_Name\" is invalid: {BAD_NAME_ERROR}")
    );
}

fn label_and_annotate_update_metadata(k: &Kubectl) {
    let k = k.in_new_namespace("meta");
    k.ok(&["create", "configmap", "x"]);
    let rv0 = resource_version(&k, "configmap/x");

    assert_eq!(k.ok(&["label", "configmap", "x", "app=web", "tier=front"]), "configmap/x labeled\n");
    assert_eq!(k.get_json(&["configmap", "x"])["metadata"]["labels"], json!({"app": "web", "tier": "front"}));
    let rv1 = resource_version(&k, "configmap/x");
    assert_ne!(rv0, rv1, "a label change is a new resourceVersion");

    assert_eq!(k.ok(&["label", "configmap", "x", "app=db", "--overwrite"]), "configmap/x labeled\n");
    assert_eq!(k.ok(&["label", "configmap", "x", "tier-"]), "configmap/x unlabeled\n");
    assert_eq!(k.get_json(&["configmap", "x"])["metadata"]["labels"], json!({"app": "db"}));

    // kubectl 1.27 names the operation "annotate" (its own wording; later releases "annotated").
    let annotated = if k.version == V1_27 { "configmap/x annotate\n" } else { "configmap/x annotated\n" };
    assert_eq!(k.ok(&["annotate", "configmap", "x", "note=hello world"]), annotated);
    assert_eq!(k.jsonpath(&["configmap", "x"], "{.metadata.annotations.note}"), "hello world");
    k.ok(&["annotate", "configmap", "x", "note-"]);
    assert_eq!(k.get_json(&["configmap", "x"])["metadata"].get("annotations").cloned().unwrap_or(json!({})), json!({}));
}

fn label_with_stale_resource_version_conflicts(k: &Kubectl) {
    let k = k.in_new_namespace("stale");
    k.ok(&["create", "configmap", "x"]);
    let stale = resource_version(&k, "configmap/x");
    k.ok(&["label", "configmap", "x", "app=web"]);
    let err = k.fails(&["label", "configmap", "x", "app=db", "--overwrite", &format!("--resource-version={stale}")]);
    assert_eq!(err, format!("Error from server (Conflict): {CONFLICT_X}"));
    assert_eq!(k.jsonpath(&["configmap", "x"], "{.metadata.labels.app}"), "web");
}

fn patch_merge_json_and_strategic(k: &Kubectl) {
    let k = k.in_new_namespace("patch");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);

    let merge = |p: &str| k.ok(&["patch", "configmap", "x", "--type=merge", "-p", p]);
    assert_eq!(merge(r#"{"data":{"b":"2"}}"#), "configmap/x patched\n");
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"a": "1", "b": "2"}));
    merge(r#"{"data":{"a":null}}"#);
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"b": "2"}));

    let json_patch = r#"[{"op":"add","path":"/data/c","value":"3"},{"op":"replace","path":"/data/b","value":"20"}]"#;
    assert_eq!(k.ok(&["patch", "configmap", "x", "--type=json", "-p", json_patch]), "configmap/x patched\n");
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"b": "20", "c": "3"}));
    // A failing "test" operation rejects the whole patch.
    let failing = r#"[{"op":"replace","path":"/data/c","value":"30"},{"op":"test","path":"/data/b","value":"wrong"}]"#;
    k.fails(&["patch", "configmap", "x", "--type=json", "-p", failing]);
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"b": "20", "c": "3"}));

    // Strategic merge (kubectl's default for built-in kinds): containers merge by name.
    k.ok(&["create", "deployment", "d", "--image=nginx:1.25"]);
    assert_eq!(
        k.ok(&[
            "patch",
            "deployment",
            "d",
            "-p",
            r#"{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"#
        ]),
        "deployment.apps/d patched\n"
    );
    let d = k.get_json(&["deployment", "d"]);
    assert_eq!(d["spec"]["replicas"], 3);
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(d["metadata"]["generation"], 2, "a spec change bumps the generation");
}

fn patch_without_change_keeps_resource_version(k: &Kubectl) {
    let k = k.in_new_namespace("noop");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
    let rv = resource_version(&k, "configmap/x");
    assert_eq!(
        k.ok(&["patch", "configmap", "x", "--type=merge", "-p", r#"{"data":{"a":"1"}}"#]),
        "configmap/x patched (no change)\n"
    );
    assert_eq!(resource_version(&k, "configmap/x"), rv);
}

fn replace_updates_and_detects_conflicts(k: &Kubectl) {
    let k = k.in_new_namespace("replace");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
    let rv = resource_version(&k, "configmap/x");

    let update = configmap_manifest("replace", "x", Some(&rv), "2");
    assert_eq!(k.ok_stdin(&["replace", "-f", "-"], &update), "configmap/x replaced\n");
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"a": "2"}));
    assert_ne!(resource_version(&k, "configmap/x"), rv);

    let stale = configmap_manifest("replace", "x", Some(&rv), "3");
    assert_eq!(
        k.fails_stdin(&["replace", "-f", "-"], &stale),
        format!("Error from server (Conflict): error when replacing \"STDIN\": {CONFLICT_X}")
    );
    assert_eq!(k.get_json(&["configmap", "x"])["data"], json!({"a": "2"}));

    assert_eq!(
        k.fails_stdin(&["replace", "-f", "-"], &configmap_manifest("replace", "nope", None, "1")),
        "Error from server (NotFound): error when replacing \"STDIN\": configmaps \"nope\" not found"
    );
}

fn delete_removes_object(k: &Kubectl) {
    let k = k.in_new_namespace("delete");
    k.ok(&["create", "configmap", "x"]);
    k.ok(&["create", "configmap", "y"]);
    let out = k.ok(&["delete", "configmap", "x"]);
    assert!(out.starts_with("configmap \"x\" deleted"), "{out}");
    assert_eq!(k.fails(&["get", "configmap", "x"]), "Error from server (NotFound): configmaps \"x\" not found");
    assert_eq!(k.names(&["configmaps"]), ["configmap/y"]);
}

fn delete_with_finalizer_waits_for_finalizer_removal(k: &Kubectl) {
    let k = k.in_new_namespace("finalize");
    k.ok(&["create", "configmap", "fin"]);
    k.ok(&["patch", "configmap", "fin", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);

    let out = k.ok(&["delete", "configmap", "fin", "--wait=false"]);
    assert!(out.starts_with("configmap \"fin\" deleted"), "{out}");
    let cm = k.get_json(&["configmap", "fin"]);
    assert!(cm["metadata"]["deletionTimestamp"].as_str().is_some_and(|t| !t.is_empty()), "{cm}");
    assert_eq!(cm["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(cm["metadata"]["finalizers"], json!(["example.com/hold"]));
    assert_eq!(k.names(&["configmaps"]), ["configmap/fin"]);

    // No new finalizers on an object being deleted (apimachinery's ValidateNoNewFinalizers).
    assert_eq!(
        k.fails(&[
            "patch",
            "configmap",
            "fin",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/other"}]"#
        ]),
        "The ConfigMap \"fin\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/other\"}"
    );

    k.ok(&["patch", "configmap", "fin", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    k.eventually("the finalized configmap to disappear", || {
        let out = k.run(&["get", "configmap", "fin"]);
        (!out.status.success()).then_some(String::from_utf8_lossy(&out.stderr).trim().to_string())
    });
    assert_eq!(k.fails(&["get", "configmap", "fin"]), "Error from server (NotFound): configmaps \"fin\" not found");
}
