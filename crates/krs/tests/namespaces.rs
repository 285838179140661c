//! Namespace lifecycle: a new namespace is Active with the "kubernetes" finalizer; deleting it
//! makes it Terminating (no new content), its content is deleted, and it disappears once the
//! last finalizer of its content is removed. Objects cannot be created in a missing namespace;
//! the system namespaces cannot be deleted.

use crate::common;

use common::Kubectl;
use serde_json::json;

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    namespace_is_created_active_with_finalizer,
    deleting_namespace_terminates_then_removes_content,
    creating_in_missing_namespace_fails,
    creating_from_manifest_in_missing_namespace_fails,
    system_namespaces_cannot_be_deleted,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    namespace_is_created_active_with_finalizer,
    deleting_namespace_terminates_then_removes_content,
    creating_in_missing_namespace_fails,
    creating_from_manifest_in_missing_namespace_fails,
    system_namespaces_cannot_be_deleted,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    namespace_is_created_active_with_finalizer,
    deleting_namespace_terminates_then_removes_content,
    creating_in_missing_namespace_fails,
);

fn namespace_is_created_active_with_finalizer(k: &Kubectl) {
    assert_eq!(k.ok(&["create", "namespace", "fresh"]), "namespace/fresh created\n");
    let ns = k.get_json(&["namespace", "fresh"]);
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "fresh"}));

    assert_eq!(
        k.fails(&["create", "namespace", "fresh"]),
        "Error from server (AlreadyExists): namespaces \"fresh\" already exists"
    );
    assert_eq!(
        k.fails(&["create", "namespace", "Bad_Name"]),
        "The Namespace \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    );
    let all = k.names(&["namespaces"]);
    for ns in ["namespace/default", "namespace/fresh", "namespace/kube-public", "namespace/kube-system"] {
        assert!(all.iter().any(|n| n == ns), "{ns} not in {all:?}");
    }
}

fn deleting_namespace_terminates_then_removes_content(k: &Kubectl) {
    let k = k.in_new_namespace("doomed");
    k.ok(&["create", "configmap", "plain", "--from-literal=a=1"]);
    k.ok(&["create", "secret", "generic", "s", "--from-literal=a=1"]);
    k.ok(&["create", "deployment", "d", "--image=nginx"]);
    k.ok(&["create", "configmap", "held"]);
    k.ok(&["patch", "configmap", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);
    let other = k.in_new_namespace("bystander");
    other.ok(&["create", "configmap", "keep"]);

    let out = k.ok(&["delete", "namespace", "doomed", "--wait=false"]);
    assert!(out.starts_with("namespace \"doomed\" deleted"), "{out}");
    let ns = k.get_json(&["namespace", "doomed"]);
    assert_eq!(ns["status"]["phase"], "Terminating", "{ns}");
    assert!(ns["metadata"]["deletionTimestamp"].as_str().is_some_and(|t| !t.is_empty()), "{ns}");

    // NamespaceLifecycle admission.
    assert_eq!(
        k.fails(&["create", "configmap", "new"]),
        "error: failed to create configmap: configmaps \"new\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );

    // The content goes; the object held by a finalizer is marked and keeps the namespace.
    k.eventually("the namespace's content to be deleted", || {
        let left = [k.names(&["configmaps"]), k.names(&["secrets"]), k.names(&["deployments"])].concat();
        (left == ["configmap/held"]).then_some(())
    });
    let held = k.get_json(&["configmap", "held"]);
    assert!(held["metadata"]["deletionTimestamp"].as_str().is_some_and(|t| !t.is_empty()), "{held}");
    assert_eq!(k.jsonpath(&["namespace", "doomed"], "{.status.phase}"), "Terminating");

    k.ok(&["patch", "configmap", "held", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    k.eventually("the namespace to disappear", || {
        (!k.run(&["get", "namespace", "doomed"]).status.success()).then_some(())
    });
    assert_eq!(
        k.fails(&["get", "namespace", "doomed"]),
        "Error from server (NotFound): namespaces \"doomed\" not found"
    );
    assert_eq!(k.names(&["configmaps"]), Vec::<String>::new());
    assert_eq!(other.names(&["configmaps"]), ["configmap/keep"]);
}

fn creating_in_missing_namespace_fails(k: &Kubectl) {
    let k = k.in_namespace("nope");
    assert_eq!(
        k.fails(&["create", "configmap", "x", "--from-literal=a=1"]),
        "error: failed to create configmap: namespaces \"nope\" not found"
    );
    assert_eq!(
        k.fails(&["create", "deployment", "d", "--image=nginx"]),
        "error: failed to create deployment: namespaces \"nope\" not found"
    );
    assert_eq!(k.fails(&["get", "namespace", "nope"]), "Error from server (NotFound): namespaces \"nope\" not found");
}

fn creating_from_manifest_in_missing_namespace_fails(k: &Kubectl) {
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: nope\n";
    assert_eq!(
        k.fails_stdin(&["create", "-f", "-"], manifest),
        "Error from server (NotFound): error when creating \"STDIN\": namespaces \"nope\" not found"
    );
}

/// upstream's NamespaceLifecycle admission keeps default, kube-system and kube-public.
fn system_namespaces_cannot_be_deleted(k: &Kubectl) {
    for ns in ["default", "kube-system", "kube-public"] {
        assert_eq!(
            k.fails(&["delete", "namespace", ns]),
            format!(
                "Error from server (Forbidden): namespaces \"{ns}\" is forbidden: this namespace may not be deleted"
            )
        );
        assert_eq!(k.jsonpath(&["namespace", ns], "{.status.phase}"), "Active");
    }
}
