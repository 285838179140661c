//! Label selectors (-l) and field selectors (--field-selector) on kubectl get, including the
//! pod fields upstream indexes (spec.nodeName, status.phase).

use crate::common;

use common::{Kubectl, table};

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    label_selectors_filter_lists,
    field_selector_on_metadata_name,
    unsupported_field_selector_is_rejected,
    pod_field_selectors_on_node_name_and_phase,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    label_selectors_filter_lists,
    field_selector_on_metadata_name,
    unsupported_field_selector_is_rejected,
    pod_field_selectors_on_node_name_and_phase,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    label_selectors_filter_lists,
    field_selector_on_metadata_name,
    pod_field_selectors_on_node_name_and_phase,
);

fn label_selectors_filter_lists(k: &Kubectl) {
    let k = k.in_new_namespace("labels");
    let objects: [(&str, &[&str]); 4] =
        [("a", &["tier=web", "env=prod"]), ("b", &["tier=db", "env=prod"]), ("c", &["tier=web"]), ("d", &[])];
    for (name, labels) in objects {
        k.ok(&["create", "configmap", name]);
        if !labels.is_empty() {
            let mut args = vec!["label", "configmap", name];
            args.extend_from_slice(labels);
            k.ok(&args);
        }
    }
    let select = |selector: &str| k.names(&["configmaps", "-l", selector]);
    assert_eq!(select("tier=web"), ["configmap/a", "configmap/c"]);
    assert_eq!(select("tier=web,env=prod"), ["configmap/a"]);
    assert_eq!(select("tier!=web"), ["configmap/b", "configmap/d"]);
    assert_eq!(select("tier in (web,db)"), ["configmap/a", "configmap/b", "configmap/c"]);
    assert_eq!(select("tier notin (web)"), ["configmap/b", "configmap/d"]);
    assert_eq!(select("env"), ["configmap/a", "configmap/b"]);
    assert_eq!(select("!env"), ["configmap/c", "configmap/d"]);
    assert_eq!(select("tier=none"), Vec::<String>::new());
    // Across namespaces too.
    let all = k.ok(&[
        "get",
        "configmaps",
        "-A",
        "-l",
        "env=prod",
        "-o",
        "custom-columns=NS:.metadata.namespace,NAME:.metadata.name",
    ]);
    assert_eq!(table(&all), [["NS", "NAME"], ["labels", "a"], ["labels", "b"]]);
}

fn field_selector_on_metadata_name(k: &Kubectl) {
    let k = k.in_new_namespace("fields");
    for name in ["a", "b", "c"] {
        k.ok(&["create", "configmap", name]);
    }
    let select = |selector: &str| k.names(&["configmaps", "--field-selector", selector]);
    assert_eq!(select("metadata.name=b"), ["configmap/b"]);
    assert_eq!(select("metadata.name!=b"), ["configmap/a", "configmap/c"]);
    assert_eq!(select("metadata.namespace=fields,metadata.name=c"), ["configmap/c"]);
    assert_eq!(select("metadata.namespace=elsewhere"), Vec::<String>::new());
    // Combined with a label selector.
    k.ok(&["label", "configmap", "a", "x=1"]);
    k.ok(&["label", "configmap", "b", "x=1"]);
    assert_eq!(k.names(&["configmaps", "-l", "x=1", "--field-selector", "metadata.name!=a"]), ["configmap/b"]);
}

/// upstream: the field label conversion of a kind without its own fields accepts only
/// metadata.name and metadata.namespace (runtime.DefaultMetaV1FieldSelectorConversion); pods
/// have their own list ("field label not supported"). kubectl adds "Unable to find ...".
fn unsupported_field_selector_is_rejected(k: &Kubectl) {
    let k = k.in_new_namespace("badfields");
    k.ok(&["create", "configmap", "a"]);
    assert_eq!(
        k.fails(&["get", "configmaps", "--field-selector", "data.a=1"]),
        "Error from server (BadRequest): Unable to find \"/v1, Resource=configmaps\" that match label selector \"\", field selector \"data.a=1\": \"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
    assert_eq!(
        k.fails(&["get", "pods", "--field-selector", "spec.foo=x"]),
        "Error from server (BadRequest): Unable to find \"/v1, Resource=pods\" that match label selector \"\", field selector \"spec.foo=x\": field label not supported: spec.foo"
    );
}

fn pod_field_selectors_on_node_name_and_phase(k: &Kubectl) {
    let k = k.in_new_namespace("pods");
    for (name, node) in [("p1", "node-a"), ("p2", "node-b"), ("p3", "node-a"), ("p4", "")] {
        let mut args = vec!["run", name, "--image=nginx", "--restart=Never"];
        let overrides;
        if !node.is_empty() {
            overrides = format!(r#"--overrides={{"apiVersion":"v1","spec":{{"nodeName":"{node}"}}}}"#);
            args.push(&overrides);
        }
        assert_eq!(k.ok(&args), format!("pod/{name} created\n"));
    }
    // New pods are Pending (upstream's pod strategy); a kubelet would report the phase through
    // the status subresource.
    assert_eq!(k.jsonpath(&["pod", "p1"], "{.status.phase}"), "Pending");
    k.ok(&["patch", "pod", "p1", "--subresource=status", "--type=merge", "-p", r#"{"status":{"phase":"Running"}}"#]);
    k.ok(&["patch", "pod", "p2", "--subresource=status", "--type=merge", "-p", r#"{"status":{"phase":"Running"}}"#]);

    let select = |selector: &str| k.names(&["pods", "--field-selector", selector]);
    assert_eq!(select("spec.nodeName=node-a"), ["pod/p1", "pod/p3"]);
    assert_eq!(select("spec.nodeName="), ["pod/p4"]);
    assert_eq!(select("status.phase=Running"), ["pod/p1", "pod/p2"]);
    assert_eq!(select("status.phase=Pending"), ["pod/p3", "pod/p4"]);
    assert_eq!(select("spec.nodeName=node-a,status.phase!=Running"), ["pod/p3"]);
    assert_eq!(k.ok(&["get", "pods", "-A", "--field-selector", "spec.nodeName=node-b", "-o", "name"]), "pod/p2\n");
}
