//! kubectl's tools beyond CRUD against a real krs, with kubectl 1.27, 1.33 and 1.37: diff,
//! edit, explain, dry runs, wait, strict field validation, strategic merge patches, label,
//! annotate, set image, rollout restart and `get all`.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::{Kubectl, V1_27};
use serde_json::json;

kubectl_scenarios!(
    diff_exits_1_with_a_diff_for_a_changed_manifest_and_0_for_the_same,
    edit_with_a_scripted_editor_changes_the_object,
    explain_prints_descriptions_of_nested_fields,
    create_dry_run_server_returns_the_defaulted_object_and_stores_nothing,
    wait_for_jsonpath_succeeds_now_and_after_a_change,
    create_with_unknown_field_fails_with_strict_decoding_error,
    create_with_unknown_field_warns_or_ignores_as_validate_says,
    server_side_apply_with_unknown_field_fails_typed_conversion,
    strategic_merge_patch_merges_containers_by_name,
    label_annotate_set_image_and_rollout_restart_update_the_object,
    get_all_lists_workloads_and_services,
);

fn configmap(ns: &str, a: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {ns}\ndata:\n  a: \"{a}\"\n")
}

fn diff_exits_1_with_a_diff_for_a_changed_manifest_and_0_for_the_same(k: &Kubectl) {
    let k = k.in_new_namespace("diff");
    k.ok_stdin(&["apply", "-f", "-"], &configmap("diff", "1"));

    let same = k.run_stdin(&["diff", "-f", "-"], &configmap("diff", "1"));
    assert_eq!(
        same.status.code(),
        Some(0),
        "no diff expected:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&same.stdout),
        String::from_utf8_lossy(&same.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&same.stdout), "");

    let changed = k.run_stdin(&["diff", "-f", "-"], &configmap("diff", "2"));
    let stdout = String::from_utf8_lossy(&changed.stdout);
    assert_eq!(
        changed.status.code(),
        Some(1),
        "a diff expected (exit 1):\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"-  a: \"1\""), "{stdout}");
    assert!(lines.contains(&"+  a: \"2\""), "{stdout}");
    // The diff compares the live object with a dry run of the apply: besides the data, only the
    // last-applied-configuration annotation's value changes (managedFields are not shown).
    let changes: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++"))
        .filter(|l| !l[1..].trim_start().starts_with("{\"apiVersion\":\"v1\""))
        .collect();
    assert_eq!(changes, ["-  a: \"1\"", "+  a: \"2\""], "{stdout}");
    assert_eq!(k.jsonpath(&["configmap", "x"], "{.data.a}"), "1");

    // A new object is a diff too.
    let new = configmap("diff", "1").replace("name: x", "name: other");
    let out = k.run_stdin(&["diff", "-f", "-"], &new);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    k.fails(&["get", "configmap", "other"]);
}

fn edit_with_a_scripted_editor_changes_the_object(k: &Kubectl) {
    let k = k.in_new_namespace("edit");
    k.ok(&["create", "deployment", "d", "--image=nginx:1.25"]);
    let editor = k.cluster.work.join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nexec sed -i -e 's/image: nginx:1.25/image: nginx:1.27/' \"$1\"\n")
        .expect("editor script");
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).expect("chmod editor");
    let editor = editor.to_string_lossy().into_owned();

    for var in ["KUBE_EDITOR", "EDITOR"] {
        if var == "EDITOR" {
            k.ok(&["set", "image", "deployment/d", "nginx=nginx:1.25"]);
        }
        let out = k.run_env(&["edit", "deployment", "d"], &[(var, &editor)]);
        assert!(
            out.status.success(),
            "kubectl edit with {var}:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "deployment.apps/d edited\n");
        assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
    }

    // An editor that changes nothing: kubectl reports the edit was cancelled, nothing written.
    let rv = k.jsonpath(&["deployment", "d"], "{.metadata.resourceVersion}");
    let out = k.run_env(&["edit", "deployment", "d"], &[("KUBE_EDITOR", "true")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "Edit cancelled, no changes made.");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.metadata.resourceVersion}"), rv);
}

/// Collapses runs of whitespace: kubectl wraps descriptions at its terminal width.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn explain_prints_descriptions_of_nested_fields(k: &Kubectl) {
    let out = k.ok(&["explain", "deployment.spec.template.spec.containers.resources.limits"]);
    let text = words(&out);
    for want in [
        "KIND: Deployment",
        "VERSION: v1",
        "FIELD: limits <map[string]Quantity>",
        "DESCRIPTION: Limits describes the maximum amount of compute resources allowed. More info: https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{out}");
    }

    let out = k.ok(&["explain", "pod.spec.affinity.nodeAffinity"]);
    let text = words(&out);
    for want in [
        "KIND: Pod",
        "FIELD: nodeAffinity <NodeAffinity>",
        "DESCRIPTION: Describes node affinity scheduling rules for the pod.",
        "preferredDuringSchedulingIgnoredDuringExecution <[]PreferredSchedulingTerm>",
        "requiredDuringSchedulingIgnoredDuringExecution <NodeSelector>",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{out}");
    }

    // A field that does not exist.
    let err = k.fails(&["explain", "pod.spec.nope"]);
    assert!(err.contains("field \"nope\" does not exist"), "{err}");
}

fn create_dry_run_server_returns_the_defaulted_object_and_stores_nothing(k: &Kubectl) {
    let k = k.in_new_namespace("dryrun");
    let out = k.ok(&["create", "deployment", "d", "--image=nginx:1.25", "--dry-run=server", "-o", "json"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["metadata"]["name"], "d");
    assert_eq!(d["metadata"]["namespace"], "dryrun");
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(pod["containers"][0]["terminationMessagePath"], "/dev/termination-log");
    assert!(d["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "{d}");

    let yaml = k.ok_stdin(&["create", "--dry-run=server", "-o", "yaml", "-f", "-"], &configmap("dryrun", "1"));
    assert!(yaml.contains("kind: ConfigMap\n") && yaml.contains("  a: \"1\"\n"), "{yaml}");

    assert_eq!(k.names(&["deployments"]), Vec::<String>::new());
    assert_eq!(k.names(&["configmaps", "--field-selector=metadata.name=x"]), Vec::<String>::new());
    assert_eq!(k.fails(&["get", "deployment", "d"]), "Error from server (NotFound): deployments.apps \"d\" not found");

    // A dry-run of something invalid fails as the real request would.
    let err = k.fails(&["create", "configmap", "Bad_Name", "--dry-run=server"]);
    assert!(err.contains("ConfigMap \"Bad_Name\" is invalid"), "{err}");
}

fn wait_for_jsonpath_succeeds_now_and_after_a_change(k: &Kubectl) {
    let k = k.in_new_namespace("wait");
    k.ok(&["create", "deployment", "d", "--image=nginx", "--replicas=2"]);
    assert_eq!(
        k.ok(&["wait", "--for=jsonpath={.spec.replicas}=2", "deploy/d", "--timeout=60s"]),
        "deployment.apps/d condition met\n"
    );

    // A wait that is satisfied later, through its watch.
    let mut waiting = k.spawn(&["wait", "--for=jsonpath={.spec.replicas}=4", "deploy/d", "--timeout=90s"]);
    k.ok(&["scale", "deployment", "d", "--replicas=4"]);
    waiting.expect_line("deployment.apps/d condition met");

    // A condition never met times out.
    let err = k.fails(&["wait", "--for=jsonpath={.spec.replicas}=9", "deploy/d", "--timeout=2s"]);
    assert!(err.contains("timed out waiting for the condition on deployments/d"), "{err}");
}

/// A Deployment with the unknown field `spec.foo`.
fn manifest_with_unknown_field(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  foo: bar
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
        image: nginx
"
    )
}

/// kubectl's default --validate=strict sends fieldValidation=Strict; the create handler turns
/// the decoder's strict error into a BadRequest through transformDecodeError ("%s in version
/// %q cannot be handled as a %s: %v").
fn create_with_unknown_field_fails_with_strict_decoding_error(k: &Kubectl) {
    let k = k.in_new_namespace("strict");
    assert_eq!(
        k.fails_stdin(&["create", "-f", "-"], &manifest_with_unknown_field("strict", "d")),
        "Error from server (BadRequest): error when creating \"STDIN\": Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\""
    );
    assert_eq!(k.names(&["deployments"]), Vec::<String>::new());
}

fn create_with_unknown_field_warns_or_ignores_as_validate_says(k: &Kubectl) {
    let k = k.in_new_namespace("lenient");
    let manifest = manifest_with_unknown_field("lenient", "d");
    // --validate=warn: fieldValidation=Warn, accepted with the warning.
    let out = k.run_stdin(&["create", "--validate=warn", "-f", "-"], &manifest);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "deployment.apps/d created\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "Warning: unknown field \"spec.foo\"");
    k.ok(&["delete", "deployment", "d"]);

    // --validate=false: fieldValidation=Ignore, accepted silently, the field dropped.
    let out = k.run_stdin(&["create", "--validate=false", "-f", "-"], &manifest);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "deployment.apps/d created\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let d = k.get_json(&["deployment", "d"]);
    assert!(d["spec"].get("foo").is_none(), "{d}");
}

/// Server-side apply converts the configuration to its typed form first
/// (structured-merge-diff): "failed to create typed patch object (%v): %v", a plain error that
/// upstream 1.34 answers as a 500 Status without a reason, which kubectl prints as "Error from
/// server: ..." (kubernetes/kubernetes#122480, #139253).
fn server_side_apply_with_unknown_field_fails_typed_conversion(k: &Kubectl) {
    let k = k.in_new_namespace("strictssa");
    assert_eq!(
        k.fails_stdin(&["apply", "--server-side", "-f", "-"], &manifest_with_unknown_field("strictssa", "e")),
        "Error from server: failed to create typed patch object (strictssa/e; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema"
    );
    assert_eq!(k.names(&["deployments"]), Vec::<String>::new());
}

fn strategic_merge_patch_merges_containers_by_name(k: &Kubectl) {
    let k = k.in_new_namespace("smp");
    let manifest = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector:
    matchLabels:
      app: d
  template:
    metadata:
      labels:
        app: d
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: A
          value: \"1\"
      - name: sidecar
        image: busybox:1.36
";
    k.ok_stdin(&["create", "-f", "-"], manifest);

    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"},{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}"#;
    assert_eq!(k.ok(&["patch", "deployment", "d", "--type", "strategic", "-p", patch]), "deployment.apps/d patched\n");
    let d = k.get_json(&["deployment", "d"]);
    let containers = &d["spec"]["template"]["spec"]["containers"];
    // Merged by name; without $setElementOrder the patch's order comes first, then the items
    // only the live list has (upstream's mergeSlice: normalizeElementOrder).
    let names: Vec<&str> = containers.as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["sidecar", "web"], "{containers}");
    assert_eq!(containers[0]["image"], "busybox:1.37");
    assert_eq!(containers[1]["image"], "nginx:1.25");
    assert_eq!(containers[1]["env"], json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]));

    // With $setElementOrder (what kubectl apply sends) the order is the directive's.
    let ordered = r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],"containers":[{"name":"web","image":"nginx:1.26"}]}}}}"#;
    k.ok(&["patch", "deployment", "d", "--type", "strategic", "-p", ordered]);
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.template.spec.containers[*].name}"), "web sidecar");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.template.spec.containers[0].image}"), "nginx:1.26");

    // $patch: delete removes one container by its merge key.
    let delete = r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#;
    k.ok(&["patch", "deployment", "d", "--type", "strategic", "-p", delete]);
    let names = k.jsonpath(&["deployment", "d"], "{.spec.template.spec.containers[*].name}");
    assert_eq!(names, "web");

    // A merge patch replaces the list instead.
    let merge = r#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"nginx:1.27"}]}}}}"#;
    k.ok(&["patch", "deployment", "d", "--type", "merge", "-p", merge]);
    let d = k.get_json(&["deployment", "d"]);
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(1), "{containers}");
    assert_eq!(containers[0]["name"], "only");
    assert!(containers[0].get("env").is_none(), "{containers}");
}

fn label_annotate_set_image_and_rollout_restart_update_the_object(k: &Kubectl) {
    let k = k.in_new_namespace("tools");
    k.ok(&["create", "deployment", "d", "--image=nginx:1.25"]);

    assert_eq!(k.ok(&["label", "deployment", "d", "tier=web"]), "deployment.apps/d labeled\n");
    assert_eq!(
        k.fails(&["label", "deployment", "d", "tier=db"]),
        "error: 'tier' already has a value (web), and --overwrite is false"
    );
    assert_eq!(k.ok(&["label", "--overwrite", "deployment", "d", "tier=db"]), "deployment.apps/d labeled\n");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.metadata.labels.tier}"), "db");

    let annotated = if k.version == V1_27 { "deployment.apps/d annotate\n" } else { "deployment.apps/d annotated\n" };
    assert_eq!(k.ok(&["annotate", "deployment", "d", "note=first"]), annotated);
    k.fails(&["annotate", "deployment", "d", "note=second"]);
    assert_eq!(k.ok(&["annotate", "--overwrite", "deployment", "d", "note=second"]), annotated);
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.metadata.annotations.note}"), "second");

    assert_eq!(k.ok(&["set", "image", "deployment/d", "nginx=nginx:1.27"]), "deployment.apps/d image updated\n");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
    let err = k.fails(&["set", "image", "deployment/d", "nope=nginx"]);
    assert!(err.contains("unable to find container named \"nope\""), "{err}");

    let generation = k.jsonpath(&["deployment", "d"], "{.metadata.generation}");
    assert_eq!(k.ok(&["rollout", "restart", "deployment/d"]), "deployment.apps/d restarted\n");
    let d = k.get_json(&["deployment", "d"]);
    let restarted = d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no restartedAt annotation: {d}"));
    // RFC 3339 with the local offset (time.Now().Format(time.RFC3339)).
    assert!(restarted.len() >= 20 && restarted.as_bytes()[10] == b'T', "{restarted:?}");
    assert_ne!(d["metadata"]["generation"].to_string(), generation, "a template change is a new generation");
}

fn get_all_lists_workloads_and_services(k: &Kubectl) {
    let k = k.in_new_namespace("all");
    let manifests = "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  selector:
    app: d
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
spec:
  replicas: 0
  selector:
    matchLabels:
      app: rs
  template:
    metadata:
      labels:
        app: rs
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cj
spec:
  schedule: \"*/5 * * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
";
    k.ok_stdin(&["create", "-f", "-"], manifests);
    k.ok(&["create", "deployment", "d", "--image=nginx"]);
    k.ok(&["create", "job", "j", "--image=busybox"]);
    // Not in the "all" category.
    k.ok(&["create", "configmap", "c"]);

    // kubectl expands the "all" category from discovery, in discovery's order.
    assert_eq!(
        k.names(&["all"]),
        ["pod/p", "service/s", "deployment.apps/d", "replicaset.apps/rs", "cronjob.batch/cj", "job.batch/j",]
    );

    let out = k.ok(&["get", "all"]);
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("NAME")).collect();
    let header_words: Vec<String> = headers.iter().map(|h| words(h)).collect();
    assert_eq!(
        header_words,
        [
            "NAME READY STATUS RESTARTS AGE",
            "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
            "NAME READY UP-TO-DATE AVAILABLE AGE",
            "NAME DESIRED CURRENT READY AGE",
            "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
            "NAME STATUS COMPLETIONS DURATION AGE",
        ],
        "{out}"
    );
    for row in
        ["pod/p ", "service/s ", "deployment.apps/d ", "replicaset.apps/rs ", "cronjob.batch/cj ", "job.batch/j "]
    {
        assert!(out.lines().any(|l| l.starts_with(row)), "no row {row:?} in:\n{out}");
    }
}
