//! Subresources that are another kind's view of an object: `scale` (autoscaling/v1 Scale),
//! `pods/binding` (what the scheduler posts) and `pods/eviction` (policy/v1 Eviction, refused
//! with 429 while a PodDisruptionBudget allows no disruption).

use crate::common;

use common::Kubectl;
use common::http::{Api, MERGE_PATCH};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    scale_subresource_reads_as_autoscaling_v1_scale,
    scale_put_and_merge_patch_change_deployment_replicas,
    scale_with_stale_resource_version_conflicts,
    kubectl_scale_deployment_sets_replicas,
    binding_assigns_node_and_marks_pod_scheduled,
    binding_an_assigned_pod_conflicts,
    bindings_start_from_the_watch_cache_and_stay_exact,
    eviction_without_disruption_budget_deletes_pod,
    eviction_refused_with_429_while_budget_allows_no_disruption,
    eviction_spends_one_allowed_disruption,
);

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    kubectl_scale_deployment_sets_replicas,
);

scenarios!(etcd, Etcd, V1_33:
    scale_put_and_merge_patch_change_deployment_replicas,
    binding_assigns_node_and_marks_pod_scheduled,
    bindings_start_from_the_watch_cache_and_stay_exact,
    eviction_spends_one_allowed_disruption,
);

fn namespace(api: &Api, name: &str) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        .expect(201);
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    })
}

fn pod(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    })
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/scale/deployments";

fn scale_subresource_reads_as_autoscaling_v1_scale(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "scale");
    let d = api.post(DEPLOYMENTS, &deployment("d", 2)).expect(201);
    let scale = api.get(&format!("{DEPLOYMENTS}/d/scale")).expect(200);
    assert_eq!((&scale["apiVersion"], &scale["kind"]), (&json!("autoscaling/v1"), &json!("Scale")), "{scale}");
    assert_eq!(scale["metadata"]["name"], "d");
    assert_eq!(scale["metadata"]["namespace"], "scale");
    assert_eq!(scale["metadata"]["uid"], d["metadata"]["uid"]);
    assert_eq!(scale["metadata"]["resourceVersion"], d["metadata"]["resourceVersion"]);
    assert_eq!(scale["spec"]["replicas"], 2, "{scale}");
    // status.selector is the label selector as a string (for the HPA), not a LabelSelector.
    assert_eq!(scale["status"]["selector"], "app=d", "{scale}");
    assert_eq!(scale["status"]["replicas"], 0, "{scale}");
}

fn scale_put_and_merge_patch_change_deployment_replicas(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "scale");
    api.post(DEPLOYMENTS, &deployment("d", 1)).expect(201);
    let path = format!("{DEPLOYMENTS}/d/scale");
    let mut scale = api.get(&path).expect(200);
    scale["spec"]["replicas"] = json!(4);
    let put = api.put(&path, &scale).expect(200);
    assert_eq!((&put["kind"], &put["spec"]["replicas"]), (&json!("Scale"), &json!(4)), "{put}");
    let d = api.get(&format!("{DEPLOYMENTS}/d")).expect(200);
    assert_eq!(d["spec"]["replicas"], 4, "{d}");
    assert_eq!(put["metadata"]["resourceVersion"], d["metadata"]["resourceVersion"]);

    let patched = api.patch(&path, MERGE_PATCH, &json!({"spec": {"replicas": 0}})).expect(200);
    assert_eq!(patched["spec"]["replicas"], 0, "{patched}");
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/d")).expect(200)["spec"]["replicas"], 0);
    // The deployment's generation moved with its spec.
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/d")).expect(200)["metadata"]["generation"], 3);
}

fn scale_with_stale_resource_version_conflicts(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "scale");
    api.post(DEPLOYMENTS, &deployment("d", 1)).expect(201);
    let path = format!("{DEPLOYMENTS}/d/scale");
    let stale = api.get(&path).expect(200);
    api.patch(&format!("{DEPLOYMENTS}/d"), MERGE_PATCH, &json!({"metadata": {"labels": {"touched": "yes"}}}))
        .expect(200);
    let mut scale = stale.clone();
    scale["spec"]["replicas"] = json!(5);
    let status = api.put(&path, &scale).expect(409);
    assert_eq!(status["reason"], "Conflict", "{status}");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on deployments.apps \"d\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/d")).expect(200)["spec"]["replicas"], 1);
}

fn kubectl_scale_deployment_sets_replicas(k: &Kubectl) {
    let k = k.in_new_namespace("scale");
    let api = Api::new(k.cluster);
    api.post(DEPLOYMENTS, &deployment("d", 1)).expect(201);
    assert_eq!(k.ok(&["scale", "deployment", "d", "--replicas=3"]).trim(), "deployment.apps/d scaled");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.replicas}"), "3");
    // --current-replicas is a precondition on the Scale.
    let err = k.fails(&["scale", "deployment", "d", "--current-replicas=2", "--replicas=5"]);
    assert!(err.contains("Expected replicas to be 2, was 3"), "{err}");
    assert_eq!(k.jsonpath(&["deployment", "d"], "{.spec.replicas}"), "3");
}

const PODS: &str = "/api/v1/namespaces/sched/pods";

fn binding_assigns_node_and_marks_pod_scheduled(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "sched");
    let created = api.post(PODS, &pod("p", json!({}))).expect(201);
    // Annotations are strings; anything else is refused and binds nothing.
    let bad = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "annotations": {"n": 1}}, "target": {"kind": "Node", "name": "n1"}});
    api.post(&format!("{PODS}/p/binding"), &bad).expect(400);
    assert!(api.get(&format!("{PODS}/p")).expect(200)["spec"]["nodeName"].is_null());
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "annotations": {"chosen-by": "test"}}, "target": {"kind": "Node", "name": "n1"}});
    let status = api.post(&format!("{PODS}/p/binding"), &binding).expect(201);
    assert_eq!((&status["kind"], &status["status"]), (&json!("Status"), &json!("Success")), "{status}");
    let p = api.get(&format!("{PODS}/p")).expect(200);
    assert_eq!(p["spec"]["nodeName"], "n1", "{p}");
    // The binding's annotations are added to the pod's.
    assert_eq!(p["metadata"]["annotations"]["chosen-by"], "test", "{p}");
    let conditions = p["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let scheduled: Vec<&Value> = conditions.iter().filter(|c| c["type"] == "PodScheduled").collect();
    assert_eq!(scheduled.len(), 1, "{p}");
    assert_eq!(scheduled[0]["status"], "True", "{p}");
    // As upstream's BindingREST writes at the storage layer, the binding adds no managedFields
    // entry: the creator's stays the only one.
    assert_eq!(p["metadata"]["managedFields"], created["metadata"]["managedFields"], "{p}");
}

fn binding_an_assigned_pod_conflicts(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "sched");
    api.post(PODS, &pod("p", json!({}))).expect(201);
    let bind = |node: &str| json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": node}});
    api.post(&format!("{PODS}/p/binding"), &bind("n1")).expect(201);
    let status = api.post(&format!("{PODS}/p/binding"), &bind("n2")).expect(409);
    assert_eq!(status["reason"], "Conflict", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("pod p is already assigned to node \"n1\""), "{message}");
    assert_eq!(api.get(&format!("{PODS}/p")).expect(200)["spec"]["nodeName"], "n1");

    // A pod being deleted (held by a finalizer) is not bound either.
    let mut held = pod("held", json!({}));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    api.post(PODS, &held).expect(201);
    api.delete(&format!("{PODS}/held")).expect(200);
    let bind_held = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "held"}, "target": {"kind": "Node", "name": "n1"}});
    let status = api.post(&format!("{PODS}/held/binding"), &bind_held).expect(409);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("pod held is being deleted, cannot be assigned to a host"), "{message}");
    let held = api.get(&format!("{PODS}/held")).expect(200);
    assert!(held["spec"]["nodeName"].is_null(), "{held}");

    // Nor is a pod whose scheduling gates are not all removed.
    let mut gated = pod("gated", json!({}));
    gated["spec"]["schedulingGates"] = json!([{"name": "example.com/hold"}]);
    api.post(PODS, &gated).expect(201);
    let bind_gated =
        json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "gated"}, "target": {"name": "n1"}});
    let status = api.post(&format!("{PODS}/gated/binding"), &bind_gated).expect(409);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("pod gated has non-empty .spec.schedulingGates"), "{message}");

    // A binding names a node: another kind of target is refused, as a missing name is.
    api.post(PODS, &pod("q", json!({}))).expect(201);
    let to_pod = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "q"}, "target": {"kind": "Pod"}});
    let status = api.post(&format!("{PODS}/q/binding"), &to_pod).expect(422);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with(
            r#"[target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>", target.name: Required value]"#
        ),
        "{message}"
    );
    assert!(api.get(&format!("{PODS}/q")).expect(200)["spec"]["nodeName"].is_null());

    // The older `bindings` resource binds the pod its binding names, with the same checks.
    let bindings = "/api/v1/namespaces/sched/bindings";
    let status =
        api.post(bindings, &json!({"metadata": {"name": "q", "annotations": {"a": 1}}, "target": {"name": "n1"}}));
    status.expect(400);
    api.post(bindings, &json!({"metadata": {"name": "q", "annotations": {"a": "b"}}, "target": {"name": "n2"}}))
        .expect(201);
    let q = api.get(&format!("{PODS}/q")).expect(200);
    assert_eq!((&q["spec"]["nodeName"], &q["metadata"]["annotations"]["a"]), (&json!("n2"), &json!("b")), "{q}");
    let status = api.post(bindings, &json!({"metadata": {"name": "q"}, "target": {"name": "n1"}})).expect(409);
    assert_eq!(status["reason"], "Conflict", "{status}");
}

/// A binding starts from the watch cache's copy of the pod when a cache runs (a list starts
/// one), and that copy may lag the store: a second binding posted right after the first must
/// still see the first (the compare-and-swap fails on the stale copy and the retry reads the
/// store), and a pod deleted and created again under the same name is bound as the new one.
fn bindings_start_from_the_watch_cache_and_stay_exact(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "sched");
    api.get(PODS).expect(200);
    let bind = |pod: &str, node: &str| json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod}, "target": {"kind": "Node", "name": node}});
    for i in 0..20 {
        let name = format!("p{i}");
        api.post(PODS, &pod(&name, json!({}))).expect(201);
        api.post(&format!("{PODS}/{name}/binding"), &bind(&name, "n1")).expect(201);
        let status = api.post(&format!("{PODS}/{name}/binding"), &bind(&name, "n2")).expect(409);
        let message = status["message"].as_str().unwrap_or_default();
        assert!(message.ends_with(&format!("pod {name} is already assigned to node \"n1\"")), "{message}");
        assert_eq!(api.get(&format!("{PODS}/{name}")).expect(200)["spec"]["nodeName"], "n1");
    }
    for _ in 0..5 {
        api.delete(&format!("{PODS}/p0?gracePeriodSeconds=0")).expect(200);
        let created = api.post(PODS, &pod("p0", json!({}))).expect(201);
        api.post(&format!("{PODS}/p0/binding"), &bind("p0", "n3")).expect(201);
        let bound = api.get(&format!("{PODS}/p0")).expect(200);
        assert_eq!(bound["spec"]["nodeName"], "n3", "{bound}");
        assert_eq!(bound["metadata"]["uid"], created["metadata"]["uid"], "{bound}");
    }
}

const EVICT_PODS: &str = "/api/v1/namespaces/evict/pods";
const PDBS: &str = "/apis/policy/v1/namespaces/evict/poddisruptionbudgets";

fn eviction(name: &str) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "evict"}})
}

/// A running, ready pod labelled app=web.
fn ready_pod(api: &Api, name: &str) {
    let created = api.post(EVICT_PODS, &pod(name, json!({"app": "web"}))).expect(201);
    let mut p = created.clone();
    p["status"] = json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
    });
    api.put(&format!("{EVICT_PODS}/{name}/status"), &p).expect(200);
}

/// A PDB over app=web whose status (as the disruption controller would write it) allows
/// `allowed` disruptions.
fn budget(api: &Api, name: &str, healthy: i64, desired: i64, allowed: i64) {
    let pdb = json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": desired, "selector": {"matchLabels": {"app": "web"}}},
    });
    let mut pdb = api.post(PDBS, &pdb).expect(201);
    let generation = pdb["metadata"]["generation"].clone();
    pdb["status"] = json!({
        "observedGeneration": generation,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": healthy,
    });
    api.put(&format!("{PDBS}/{name}/status"), &pdb).expect(200);
}

fn eviction_without_disruption_budget_deletes_pod(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "evict");
    ready_pod(&api, "p");
    let status = api.post(&format!("{EVICT_PODS}/p/eviction"), &eviction("p")).expect(201);
    assert_eq!((&status["kind"], &status["status"]), (&json!("Status"), &json!("Success")), "{status}");
    // Not bound to a node: deleted at once (no kubelet to wait for).
    assert_eq!(api.get(&format!("{EVICT_PODS}/p")).status, 404);
}

fn eviction_refused_with_429_while_budget_allows_no_disruption(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "evict");
    ready_pod(&api, "p");
    budget(&api, "x", 1, 1, 0);
    let status = api.post(&format!("{EVICT_PODS}/p/eviction"), &eviction("p")).expect(429);
    assert_eq!(status["reason"], "TooManyRequests", "{status}");
    assert_eq!(status["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    let causes = status["details"]["causes"].as_array().cloned().unwrap_or_default();
    assert_eq!(causes.len(), 1, "{status}");
    assert_eq!(causes[0]["reason"], "DisruptionBudget", "{status}");
    assert_eq!(causes[0]["message"], "The disruption budget x needs 1 healthy pods and has 1 currently", "{status}");
    // The pod and the budget are untouched.
    api.get(&format!("{EVICT_PODS}/p")).expect(200);
    assert_eq!(api.get(&format!("{PDBS}/x")).expect(200)["status"]["disruptionsAllowed"], 0);
}

fn eviction_spends_one_allowed_disruption(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api, "evict");
    ready_pod(&api, "p");
    ready_pod(&api, "q");
    budget(&api, "x", 2, 1, 1);
    api.post(&format!("{EVICT_PODS}/p/eviction"), &eviction("p")).expect(201);
    assert_eq!(api.get(&format!("{EVICT_PODS}/p")).status, 404);
    let pdb = api.get(&format!("{PDBS}/x")).expect(200);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0, "{pdb}");
    let disrupted = pdb["status"]["disruptedPods"].as_object().cloned().unwrap_or_default();
    assert_eq!(disrupted.keys().collect::<Vec<_>>(), ["p"], "{pdb}");
    // The budget is spent: the next eviction waits for the disruption controller.
    let status = api.post(&format!("{EVICT_PODS}/q/eviction"), &eviction("q")).expect(429);
    assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget", "{status}");
}
