//! kubectl's output formats on objects served by krs: -o yaml|json|name|jsonpath|custom-columns,
//! and the default table, whose columns come from the server (upstream's printers).

use crate::common;

use common::{Kubectl, table};

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    get_output_yaml_json_and_name,
    get_output_jsonpath_and_custom_columns,
    get_default_table_has_upstream_columns,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    get_output_yaml_json_and_name,
    get_output_jsonpath_and_custom_columns,
    get_default_table_has_upstream_columns,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    get_output_yaml_json_and_name,
);

fn get_output_yaml_json_and_name(k: &Kubectl) {
    let k = k.in_new_namespace("out");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
    k.ok(&["create", "configmap", "y", "--from-literal=a=2"]);

    // kubectl prints YAML with sorted keys and without managedFields.
    let yaml = k.ok(&["get", "configmap", "x", "-o", "yaml"]);
    assert!(
        yaml.starts_with("apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  creationTimestamp: \""),
        "{yaml}"
    );
    for line in ["  name: x\n", "  namespace: out\n", "  resourceVersion: \"", "  uid: "] {
        assert!(yaml.contains(line), "no {line:?} in:\n{yaml}");
    }

    let x = k.get_json(&["configmap", "x"]);
    assert_eq!(x["kind"], "ConfigMap");
    assert_eq!(x["metadata"]["name"], "x");
    let created = x["metadata"]["creationTimestamp"].as_str().unwrap_or_default();
    // RFC 3339 in UTC with second precision, as metav1.Time marshals.
    assert!(created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T', "{created:?}");

    let list = k.get_json(&["configmaps"]);
    assert_eq!(list["kind"], "List");
    assert_eq!(list["apiVersion"], "v1");
    let names: Vec<&str> = list["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["metadata"]["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(list["items"][1]["kind"], "ConfigMap", "list items carry their kind");

    assert_eq!(k.names(&["configmaps"]), ["configmap/x", "configmap/y"]);
    assert_eq!(k.names(&["configmap", "y"]), ["configmap/y"]);
}

fn get_output_jsonpath_and_custom_columns(k: &Kubectl) {
    let k = k.in_new_namespace("cols");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
    k.ok(&["create", "configmap", "y", "--from-literal=a=2"]);
    k.ok(&["label", "configmap", "y", "app=web"]);

    assert_eq!(k.jsonpath(&["configmap", "x"], "{.data.a}"), "1");
    assert_eq!(k.jsonpath(&["configmaps"], r#"{range .items[*]}{.metadata.name}={.data.a}{"\n"}{end}"#), "x=1\ny=2\n");
    assert_eq!(k.jsonpath(&["configmaps"], "{.items[?(@.metadata.labels.app==\"web\")].metadata.name}"), "y");

    let out =
        k.ok(&["get", "configmaps", "-o", "custom-columns=NAME:.metadata.name,A:.data.a,APP:.metadata.labels.app"]);
    assert_eq!(table(&out), [["NAME", "A", "APP"], ["x", "1", "<none>"], ["y", "2", "web"]]);
}

/// Server-side printing: upstream's table columns per kind (pkg/printers/internalversion).
fn get_default_table_has_upstream_columns(k: &Kubectl) {
    let k = k.in_new_namespace("tables");
    k.ok(&["create", "configmap", "x", "--from-literal=a=1", "--from-literal=b=2"]);
    k.ok(&["create", "deployment", "d", "--image=nginx"]);
    k.ok(&["run", "p", "--image=nginx"]);

    let cms = table(&k.ok(&["get", "configmaps"]));
    assert_eq!(cms[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(cms[1][..2], ["x", "2"]);

    let ns = table(&k.ok(&["get", "namespace", "tables"]));
    assert_eq!(ns[0], ["NAME", "STATUS", "AGE"]);
    assert_eq!(ns[1][..2], ["tables", "Active"]);

    let pods = table(&k.ok(&["get", "pods"]));
    assert_eq!(pods[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(pods[1][..4], ["p", "0/1", "Pending", "0"]);

    let deploys = table(&k.ok(&["get", "deployments"]));
    assert_eq!(deploys[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(deploys[1][..4], ["d", "0/1", "0", "0"]);
}
