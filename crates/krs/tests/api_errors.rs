//! Request errors as upstream's handlers report them: oversized and malformed bodies, bodies of
//! the wrong kind or namespace, field validation (Strict and Warn), dry runs, missing
//! credentials, optimistic-concurrency conflicts, and the Priority, LimitRanger, ResourceQuota,
//! DefaultStorageClass, DefaultIngressClass, PodSecurity and ServiceAccount admission plugins,
//! DenyServiceExternalIPs when it is enabled, and Priority and ServiceAccount disabled.

use crate::common;

use common::http::{Api, JSON};
use common::{Cluster, Kubectl};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    oversized_body_is_rejected_with_413,
    malformed_json_is_bad_request,
    body_of_wrong_kind_is_bad_request,
    body_of_other_namespace_is_bad_request,
    strict_field_validation_rejects_unknown_field,
    warn_field_validation_accepts_with_warning_header,
    dry_run_create_returns_object_but_stores_nothing,
    no_credentials_is_unauthorized_except_public_endpoints,
    update_with_stale_resource_version_conflicts,
    pod_priority_comes_from_its_priority_class,
    pods_run_as_the_default_service_account_with_its_token,
    limit_ranges_default_and_bound_pods_and_claims,
    resource_quotas_forbid_and_charge_writes,
    claims_and_ingresses_get_the_default_class,
    pod_security_labels_enforce_and_warn,
);

scenarios!(etcd, Etcd, V1_33:
    oversized_body_is_rejected_with_413,
    dry_run_create_returns_object_but_stores_nothing,
    update_with_stale_resource_version_conflicts,
    resource_quotas_forbid_and_charge_writes,
);

const CONFIGMAPS: &str = "/api/v1/namespaces/e/configmaps";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/e/deployments";

fn namespace(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "e"}}))
        .expect(201);
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

fn deployment_with_unknown_field(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "foo": "bar",
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    })
}

fn oversized_body_is_rejected_with_413(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let mut big = configmap("big");
    big["data"]["a"] = json!("x".repeat(4 << 20));
    let r = api.post(CONFIGMAPS, &big);
    let status = r.expect(413);
    assert_eq!((&status["reason"], &status["code"]), (&json!("RequestEntityTooLarge"), &json!(413)), "{status}");
    assert_eq!(status["message"], "Request entity too large: limit is 3145728", "{status}");
    assert_eq!(api.get(&format!("{CONFIGMAPS}/big")).status, 404);
    // The connection (and the server) still serve.
    api.post(CONFIGMAPS, &configmap("small")).expect(201);
}

fn malformed_json_is_bad_request(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x",}}"#;
    let r = api.request("POST", CONFIGMAPS, Some(body), Some(JSON), Some(JSON));
    let status = r.expect(400);
    assert_eq!(status["reason"], "BadRequest", "{status}");
    // upstream (handlers.transformDecodeError over json.SimpleMetaFactory.Interpret):
    // the object provided is unrecognized (must be of type ConfigMap): couldn't get
    // version/kind; json parse error: <encoding/json's message> (<first 30 bytes> ...)
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: "),
        "{message}"
    );
    assert!(message.ends_with("({\"apiVersion\":\"v1\",\"kind\":\"Con ...)"), "{message}");
    assert_eq!(api.get(&format!("{CONFIGMAPS}/x")).status, 404);
}

fn body_of_wrong_kind_is_bad_request(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "1"}});
    let status = api.post(CONFIGMAPS, &secret).expect(400);
    assert_eq!(status["reason"], "BadRequest", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    // upstream: transformDecodeError after the codec fails to convert v1.Secret into a ConfigMap.
    assert!(message.starts_with("Secret in version \"v1\" cannot be handled as a ConfigMap: "), "{message}");
    // Another group's version of the kind.
    let mut wrong_version = configmap("y");
    wrong_version["apiVersion"] = json!("apps/v1");
    let status = api.post(CONFIGMAPS, &wrong_version).expect(400);
    assert!(status["message"].as_str().unwrap_or_default().contains("apps/v1"), "{status}");
    assert_eq!(api.get(&format!("{CONFIGMAPS}/x")).status, 404);
    assert_eq!(api.get(&format!("{CONFIGMAPS}/y")).status, 404);
}

fn body_of_other_namespace_is_bad_request(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let mut cm = configmap("x");
    cm["metadata"]["namespace"] = json!("default");
    let status = api.post(CONFIGMAPS, &cm).expect(400);
    assert_eq!(
        status["message"], "the namespace of the provided object does not match the namespace sent on the request",
        "{status}"
    );
}

fn strict_field_validation_rejects_unknown_field(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let status =
        api.post(&format!("{DEPLOYMENTS}?fieldValidation=Strict"), &deployment_with_unknown_field("d")).expect(400);
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert_eq!(
        status["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\"",
        "{status}"
    );
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/d")).status, 404);
    // Ignore drops it silently.
    let r = api.post(&format!("{DEPLOYMENTS}?fieldValidation=Ignore"), &deployment_with_unknown_field("d"));
    r.expect(201);
    assert_eq!(r.header("warning"), "", "Ignore warned");
    // An unknown value of fieldValidation is refused (ValidateCreateOptions: 422).
    let status =
        api.post(&format!("{DEPLOYMENTS}?fieldValidation=Loud"), &deployment_with_unknown_field("e")).expect(422);
    assert_eq!(
        status["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Loud\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"",
        "{status}"
    );
}

fn warn_field_validation_accepts_with_warning_header(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let r = api.post(&format!("{DEPLOYMENTS}?fieldValidation=Warn"), &deployment_with_unknown_field("d"));
    let created = r.expect(201);
    assert!(created["spec"].get("foo").is_none(), "the unknown field was kept: {created}");
    assert_eq!(r.header("warning"), "299 - \"unknown field \\\"spec.foo\\\"\"");
    api.get(&format!("{DEPLOYMENTS}/d")).expect(200);
}

fn dry_run_create_returns_object_but_stores_nothing(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let created = api.post(&format!("{CONFIGMAPS}?dryRun=All"), &configmap("x")).expect(201);
    assert_eq!((&created["metadata"]["name"], &created["data"]["a"]), (&json!("x"), &json!("1")), "{created}");
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "{created}");
    assert!(created["metadata"]["creationTimestamp"].is_string(), "{created}");
    assert_eq!(api.get(&format!("{CONFIGMAPS}/x")).status, 404);
    assert_eq!(api.get(CONFIGMAPS).expect(200)["items"], json!([]));
    // Dry-run updates and deletes change nothing.
    api.post(CONFIGMAPS, &configmap("real")).expect(201);
    let mut real = api.get(&format!("{CONFIGMAPS}/real")).expect(200);
    real["data"]["a"] = json!("2");
    api.put(&format!("{CONFIGMAPS}/real?dryRun=All"), &real).expect(200);
    api.request("DELETE", &format!("{CONFIGMAPS}/real?dryRun=All"), None, None, Some(JSON)).expect(200);
    assert_eq!(api.get(&format!("{CONFIGMAPS}/real")).expect(200)["data"]["a"], "1");
    // An unknown dryRun value is refused (ValidateCreateOptions: 422).
    let status = api.post(&format!("{CONFIGMAPS}?dryRun=Maybe"), &configmap("y")).expect(422);
    assert_eq!(
        status["message"],
        // 1.34 renders list values as JSON in field errors (kubernetes/kubernetes#132314).
        "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: [\"Maybe\"]: supported values: \"All\"",
        "{status}"
    );
    assert_eq!(api.get(&format!("{CONFIGMAPS}/y")).status, 404);
    // A dry run sees real conflicts (DryRunnableStorage.Create: the key exists -> AlreadyExists).
    let status = api.post(&format!("{CONFIGMAPS}?dryRun=All"), &configmap("real")).expect(409);
    assert_eq!(status["reason"], "AlreadyExists", "{status}");
    assert_eq!(status["message"], "configmaps \"real\" already exists", "{status}");
}

fn no_credentials_is_unauthorized_except_public_endpoints(k: &Kubectl) {
    let api = Api::new(k.cluster).anonymous();
    for path in ["/api/v1/namespaces", "/api", "/apis", "/openapi/v2", "/api/v1/namespaces/default/configmaps/x"] {
        let r = api.get(path);
        let status = r.expect(401);
        assert_eq!(
            (&status["kind"], &status["reason"], &status["message"], &status["code"]),
            (&json!("Status"), &json!("Unauthorized"), &json!("Unauthorized"), &json!(401)),
            "{path}: {status}"
        );
    }
    let version = api.get("/version").expect(200);
    assert_eq!(version["major"], "1", "{version}");
    for path in ["/healthz", "/livez", "/readyz"] {
        let r = api.get(path);
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{path}");
    }
}

fn update_with_stale_resource_version_conflicts(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let stale = api.post(CONFIGMAPS, &configmap("x")).expect(201);
    let mut fresh = stale.clone();
    fresh["data"]["a"] = json!("2");
    api.put(&format!("{CONFIGMAPS}/x"), &fresh).expect(200);
    let mut late = stale.clone();
    late["data"]["a"] = json!("3");
    let status = api.put(&format!("{CONFIGMAPS}/x"), &late).expect(409);
    assert_eq!((&status["reason"], &status["code"]), (&json!("Conflict"), &json!(409)), "{status}");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(status["details"]["name"], "x", "{status}");
    assert_eq!(status["details"]["kind"], "configmaps", "{status}");
    assert_eq!(api.get(&format!("{CONFIGMAPS}/x")).expect(200)["data"]["a"], "2");
    // A merge patch carrying the stale resourceVersion conflicts too.
    let patch = json!({"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]}, "data": {"a": "4"}});
    api.patch(&format!("{CONFIGMAPS}/x"), common::http::MERGE_PATCH, &patch).expect(409);

    // Creates of a shape seen before take their managedFields from memory, stored where
    // serializing the object puts them: putting such an object back unchanged writes nothing.
    for name in ["same-1", "same-2", "same-3"] {
        let created = api.post(CONFIGMAPS, &configmap(name)).expect(201);
        assert_eq!(created["metadata"]["managedFields"].as_array().map(Vec::len), Some(1), "{created}");
        let again = api.put(&format!("{CONFIGMAPS}/{name}"), &created).expect(200);
        assert_eq!(again["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"], "{again}");
        assert_eq!(again["metadata"]["managedFields"], created["metadata"]["managedFields"], "{again}");
    }
    let dry = api.post(&format!("{CONFIGMAPS}?dryRun=All"), &configmap("same-4")).expect(201);
    assert_eq!(dry["metadata"]["managedFields"][0]["fieldsV1"]["f:data"]["f:a"], json!({}), "{dry}");
}

fn pod_priority_comes_from_its_priority_class(k: &Kubectl) {
    const PODS: &str = "/api/v1/namespaces/e/pods";
    const CLASSES: &str = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let api = Api::new(k.cluster);
    namespace(&api);
    let pod = |name: &str, spec: Value| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        for (key, value) in spec.as_object().cloned().unwrap_or_default() {
            p["spec"][key] = value;
        }
        p
    };
    let class = |name: &str, value: i64, extra: Value| {
        let mut c = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value});
        for (key, v) in extra.as_object().cloned().unwrap_or_default() {
            c[key] = v;
        }
        c
    };
    // The system's classes exist from the start.
    let system = api.get(&format!("{CLASSES}/system-node-critical")).expect(200);
    assert_eq!(system["value"], 2_000_001_000);
    assert_eq!(api.get(&format!("{CLASSES}/system-cluster-critical")).expect(200)["value"], 2_000_000_000);

    // No class and no global default: priority 0.
    let plain = api.post(PODS, &pod("plain", json!({}))).expect(201);
    assert_eq!(
        (plain["spec"]["priority"].clone(), plain["spec"]["preemptionPolicy"].clone()),
        (json!(0), json!("PreemptLowerPriority"))
    );
    assert!(plain["spec"].get("priorityClassName").is_none(), "{plain}");

    api.post(CLASSES, &class("high", 1000, json!({"preemptionPolicy": "Never"}))).expect(201);
    let high = api.post(PODS, &pod("high", json!({"priorityClassName": "high"}))).expect(201);
    assert_eq!(
        (high["spec"]["priority"].clone(), high["spec"]["preemptionPolicy"].clone()),
        (json!(1000), json!("Never"))
    );
    let critical = api.post(PODS, &pod("critical", json!({"priorityClassName": "system-node-critical"}))).expect(201);
    assert_eq!(critical["spec"]["priority"], 2_000_001_000);

    let r = api.post(PODS, &pod("missing", json!({"priorityClassName": "nope"})));
    assert_eq!(r.expect(403)["message"], "pods \"missing\" is forbidden: no PriorityClass with name nope was found");
    let r = api.post(PODS, &pod("given", json!({"priorityClassName": "high", "priority": 5})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"given\" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"
    );
    let r = api
        .post(PODS, &pod("policy", json!({"priorityClassName": "high", "preemptionPolicy": "PreemptLowerPriority"})));
    assert!(
        r.expect(403)["message"]
            .as_str()
            .unwrap_or_default()
            .contains("the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided"),
        "{}",
        r.text()
    );

    // One global default: pods without a class get it; a second default is refused.
    api.post(CLASSES, &class("everyone", 7, json!({"globalDefault": true}))).expect(201);
    let defaulted = api.post(PODS, &pod("defaulted", json!({}))).expect(201);
    assert_eq!(
        (defaulted["spec"]["priorityClassName"].clone(), defaulted["spec"]["priority"].clone()),
        (json!("everyone"), json!(7))
    );
    let r = api.post(CLASSES, &class("another", 8, json!({"globalDefault": true})));
    assert_eq!(
        r.expect(403)["message"],
        "priorityclasses.scheduling.k8s.io \"another\" is forbidden: PriorityClass everyone is already marked as default. Only one default can exist"
    );
    let mut high_class = api.get(&format!("{CLASSES}/high")).expect(200);
    high_class["globalDefault"] = json!(true);
    api.put(&format!("{CLASSES}/high"), &high_class).expect(403);
    let mut everyone = api.get(&format!("{CLASSES}/everyone")).expect(200);
    everyone["description"] = json!("still the default");
    api.put(&format!("{CLASSES}/everyone"), &everyone).expect(200);

    // Replacing a pod with a body that leaves the priority out keeps the resolved one.
    let mut replaced = api.get(&format!("{PODS}/high")).expect(200);
    replaced["spec"].as_object_mut().expect("spec").remove("priority");
    replaced["metadata"]["labels"] = json!({"replaced": "yes"});
    let replaced = api.put(&format!("{PODS}/high"), &replaced).expect(200);
    assert_eq!(replaced["spec"]["priority"], 1000);
}

fn limit_ranges_default_and_bound_pods_and_claims(k: &Kubectl) {
    const PODS: &str = "/api/v1/namespaces/e/pods";
    let api = Api::new(k.cluster);
    namespace(&api);
    let range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"}, "spec": {"limits": [
        {"type": "Container", "min": {"cpu": "50m"}, "max": {"cpu": "1", "memory": "1Gi"},
         "default": {"cpu": "300m", "memory": "200Mi"}, "defaultRequest": {"cpu": "100m", "memory": "100Mi"}},
        {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}
    ]}});
    api.post("/api/v1/namespaces/e/limitranges", &range).expect(201);
    let pod = |name: &str, resources: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources}]}})
    };
    // The watch cache sees the range a moment after its create, as upstream's informer does.
    let defaulted = api.eventually("the range to apply", || {
        let r = api.post(PODS, &pod(&format!("d{}", rand_suffix()), json!({})));
        let p = r.json();
        p["metadata"]["annotations"]["kubernetes.io/limit-ranger"].is_string().then_some(p)
    });
    assert_eq!(
        defaulted["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "300m", "memory": "200Mi"}, "requests": {"cpu": "100m", "memory": "100Mi"}})
    );
    assert_eq!(
        defaulted["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c"
    );
    let partial = api.post(PODS, &pod("partial", json!({"requests": {"cpu": "200m"}}))).expect(201);
    assert_eq!(partial["spec"]["containers"][0]["resources"]["requests"], json!({"cpu": "200m", "memory": "100Mi"}));

    let r = api.post(PODS, &pod("big", json!({"limits": {"cpu": "2"}})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
    );
    let r = api.post(PODS, &pod("small", json!({"requests": {"cpu": "10m"}, "limits": {"memory": "2Gi"}})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"small\" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum memory usage per Container is 1Gi, but limit is 2Gi]"
    );

    let claim = |name: &str, size: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})
    };
    const CLAIMS: &str = "/api/v1/namespaces/e/persistentvolumeclaims";
    api.post(CLAIMS, &claim("fits", "1Gi")).expect(201);
    let r = api.post(CLAIMS, &claim("huge", "5Gi"));
    assert_eq!(
        r.expect(403)["message"],
        "persistentvolumeclaims \"huge\" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"
    );
    // Growing a (bound) claim past the maximum is forbidden too.
    let mut bound = api.get(&format!("{CLAIMS}/fits")).expect(200);
    bound["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
    api.put(&format!("{CLAIMS}/fits/status"), &bound).expect(200);
    let mut grown = api.get(&format!("{CLAIMS}/fits")).expect(200);
    grown["spec"]["resources"]["requests"]["storage"] = json!("3Gi");
    let r = api.put(&format!("{CLAIMS}/fits"), &grown);
    assert_eq!(
        r.expect(403)["message"],
        "persistentvolumeclaims \"fits\" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"
    );
}

/// The API server alone (no quota controller): the test writes each quota's status as the
/// controller would, so what admission decides is exact.
fn resource_quotas_forbid_and_charge_writes(k: &Kubectl) {
    const PODS: &str = "/api/v1/namespaces/e/pods";
    const QUOTAS: &str = "/api/v1/namespaces/e/resourcequotas";
    let api = Api::new(k.cluster);
    namespace(&api);
    let quota = |name: &str, hard: Value, used: Option<Value>| {
        let created = api
            .post(
                QUOTAS,
                &json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
                "spec": {"hard": hard}}),
            )
            .expect(201);
        let mut status = json!({"hard": hard});
        if let Some(used) = used {
            status["used"] = used;
        }
        let mut with_status = created.clone();
        with_status["status"] = status;
        api.put(&format!("{QUOTAS}/{name}/status"), &with_status).expect(200);
    };
    let used = |name: &str| api.get(&format!("{QUOTAS}/{name}")).expect(200)["status"]["used"].clone();
    let pod = |name: &str, resources: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources}]}})
    };

    // A quota whose status the controller has not filled in yet stops what it covers.
    quota("unknown", json!({"services": "5"}), None);
    let svc = |name: &str, type_: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "ports": [{"port": 80}]}})
    };
    const SERVICES: &str = "/api/v1/namespaces/e/services";
    let (name, r) = api.eventually("the quota to be seen", || {
        let name = format!("u{}", rand_suffix());
        let r = api.post(SERVICES, &svc(&name, "ClusterIP"));
        (r.status == 403).then_some((name, r))
    });
    assert_eq!(
        r.json()["message"],
        format!("services \"{name}\" is forbidden: status unknown for quota: unknown, resources: services")
    );
    api.delete(&format!("{QUOTAS}/unknown")).expect(200);

    quota("pods", json!({"pods": "2", "requests.cpu": "1"}), Some(json!({"pods": "0", "requests.cpu": "0"})));
    // cpu is limited, so every container must request it.
    let (name, r) = api.eventually("the quota to be seen", || {
        let name = format!("bare{}", rand_suffix());
        let r = api.post(PODS, &pod(&name, json!({})));
        (r.status == 403).then_some((name, r))
    });
    assert_eq!(
        r.json()["message"],
        format!("pods \"{name}\" is forbidden: failed quota: pods: must specify requests.cpu for: c")
    );
    // A dry run is checked but not charged.
    api.post(&format!("{PODS}?dryRun=All"), &pod("dry", json!({"requests": {"cpu": "400m"}}))).expect(201);
    assert_eq!(used("pods"), json!({"pods": "0", "requests.cpu": "0"}));
    api.post(PODS, &pod("a", json!({"requests": {"cpu": "400m"}}))).expect(201);
    assert_eq!(used("pods"), json!({"pods": "1", "requests.cpu": "400m"}));
    let r = api.post(PODS, &pod("big", json!({"requests": {"cpu": "700m"}})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"big\" is forbidden: exceeded quota: pods, requested: requests.cpu=700m, used: requests.cpu=400m, limited: requests.cpu=1"
    );
    api.post(PODS, &pod("b", json!({"requests": {"cpu": "600m"}}))).expect(201);
    let r = api.post(PODS, &pod("c", json!({"requests": {"cpu": "0"}})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"c\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"
    );
    assert_eq!(used("pods"), json!({"pods": "2", "requests.cpu": "1"}));

    // Object counts, by their legacy name and by count/<resource>.<group>.
    quota(
        "objects",
        json!({"configmaps": "1", "count/deployments.apps": "0"}),
        Some(json!({"configmaps": "0", "count/deployments.apps": "0"})),
    );
    api.eventually("the quota to be seen", || {
        let r = api.post(CONFIGMAPS, &configmap(&format!("m{}", rand_suffix())));
        (r.status == 403).then_some(())
    });
    let r = api.post(CONFIGMAPS, &configmap("more"));
    assert_eq!(
        r.expect(403)["message"],
        "configmaps \"more\" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"
    );
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let r = api.post(DEPLOYMENTS, &deployment);
    assert_eq!(
        r.expect(403)["message"],
        "deployments.apps \"d\" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0"
    );

    // An update is charged what it adds: a service turning NodePort takes node ports.
    let created = api.eventually("the deleted quota to be gone", || {
        let r = api.post(SERVICES, &svc("s", "ClusterIP"));
        (r.status == 201).then(|| r.json())
    });
    quota("services", json!({"services.nodeports": "0"}), Some(json!({"services.nodeports": "0"})));
    api.eventually("the quota to be seen", || {
        (api.post(SERVICES, &svc(&format!("n{}", rand_suffix()), "NodePort")).status == 403).then_some(())
    });
    let mut node_port = created.clone();
    node_port["spec"]["type"] = json!("NodePort");
    let r = api.put(&format!("{SERVICES}/s"), &node_port);
    assert_eq!(
        r.expect(403)["message"],
        "services \"s\" is forbidden: exceeded quota: services, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0"
    );
}

fn claims_and_ingresses_get_the_default_class(k: &Kubectl) {
    const CLAIMS: &str = "/api/v1/namespaces/e/persistentvolumeclaims";
    const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/e/ingresses";
    let api = Api::new(k.cluster);
    namespace(&api);
    let storage_class = |name: &str| {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/p",
            "metadata": {"name": name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}})
    };
    api.post("/apis/storage.k8s.io/v1/storageclasses", &storage_class("a-old")).expect(201);
    // Creation timestamps have whole seconds: the second default is newer.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    api.post("/apis/storage.k8s.io/v1/storageclasses", &storage_class("z-new")).expect(201);
    let claim = |name: &str, class: Option<&str>| {
        let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        c
    };
    // Several defaults: the newest wins (the watch cache sees it a moment after its create).
    api.eventually("the newest default class", || {
        let c = api.post(CLAIMS, &claim(&format!("c{}", rand_suffix()), None)).expect(201);
        (c["spec"]["storageClassName"] == "z-new").then_some(())
    });
    // An explicit class, even the empty one, stays.
    let c = api.post(CLAIMS, &claim("none", Some(""))).expect(201);
    assert_eq!(c["spec"]["storageClassName"], "");

    let ingress_class = json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "web", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": "example.com/ingress"}});
    api.post("/apis/networking.k8s.io/v1/ingressclasses", &ingress_class).expect(201);
    let ingress = |name: &str, annotations: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}})
    };
    api.eventually("the default ingress class", || {
        let i = api.post(INGRESSES, &ingress(&format!("i{}", rand_suffix()), json!({}))).expect(201);
        (i["spec"]["ingressClassName"] == "web").then_some(())
    });
    // The old annotation names a class too.
    let i = api.post(INGRESSES, &ingress("annotated", json!({"kubernetes.io/ingress.class": "other"}))).expect(201);
    assert!(i["spec"].get("ingressClassName").is_none(), "{i}");
}

fn pod_security_labels_enforce_and_warn(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let labelled = |name: &str, labels: Value| {
        api.post(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}),
        )
        .expect(201);
    };
    let r = api.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "bad", "labels": {"pod-security.kubernetes.io/enforce": "bogus"}}}),
    );
    assert_eq!(
        r.expect(422)["message"],
        "Namespace \"bad\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"bogus\": must be one of privileged, baseline, restricted"
    );
    labelled("strict", json!({"pod-security.kubernetes.io/enforce": "restricted"}));
    labelled(
        "loose",
        json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
    );
    let pod = |name: &str, extra: Value| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p["spec"][k] = v;
        }
        p
    };
    let warnings = |r: &common::http::Response| -> Vec<String> {
        // `299 - "text"`, the text's quotes escaped.
        r.headers.get_all("warning").iter().filter_map(|v| v.to_str().ok()).map(|w| w.replace("\\\"", "\"")).collect()
    };
    let r = api.post("/api/v1/namespaces/strict/pods", &pod("bare", json!({})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"bare\" is forbidden: violates PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    let hardened = json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "nginx",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
    api.post("/api/v1/namespaces/strict/pods", &pod("hardened", hardened)).expect(201);

    // Baseline enforced, restricted warned: a plain pod is admitted with a warning, a
    // host-network one is refused.
    let r = api.post("/api/v1/namespaces/loose/pods", &pod("plain", json!({})));
    r.expect(201);
    let w = warnings(&r);
    assert!(
        w.iter()
            .any(|w| w.contains("would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false")),
        "{w:?}"
    );
    let r = api.post("/api/v1/namespaces/loose/pods", &pod("host", json!({"hostNetwork": true})));
    assert_eq!(
        r.expect(403)["message"],
        "pods \"host\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)"
    );
    // Workloads are never refused, only warned about.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
        "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "nginx"}]}}}});
    let r = api.post("/apis/apps/v1/namespaces/strict/deployments", &deployment);
    r.expect(201);
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("would violate PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true)")),
        "{:?}",
        warnings(&r)
    );
}

fn pods_run_as_the_default_service_account_with_its_token(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sa"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let created = api.post("/api/v1/namespaces/e/pods", &pod).expect(201);
    let spec = &created["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    let volume = &spec["volumes"][0];
    let name = volume["name"].as_str().unwrap_or_default();
    assert!(name.starts_with("kube-api-access-"), "{volume}");
    assert_eq!(volume["projected"]["sources"][0]["serviceAccountToken"]["path"], "token");
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": name, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}])
    );
}

/// A server of its own started with `flags`, and a client of it with namespace `e` created.
fn cluster_with(dir: &std::path::Path, flags: &[&str]) -> (Cluster, Api) {
    let cluster = Cluster::start_with(&dir.join("data"), None, dir, flags);
    let api = Api::new(&cluster);
    namespace(&api);
    (cluster, api)
}

/// Upstream's scheduler benchmarks run their API server with ServiceAccount and Priority
/// turned off: pods then mount no token and may give their priority directly.
#[test]
fn disabled_service_account_and_priority_plugins_leave_pods_as_sent() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut cluster, api) = cluster_with(dir.path(), &["--disable-admission-plugins", "ServiceAccount,Priority"]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
        "spec": {"priority": 10, "containers": [{"name": "c", "image": "nginx"}]}});
    let created = api.post("/api/v1/namespaces/e/pods", &pod).expect(201);
    let spec = &created["spec"];
    assert_eq!(spec["priority"], 10);
    assert_eq!(spec.get("serviceAccountName"), None, "{spec}");
    assert_eq!(spec.get("volumes"), None, "{spec}");
    assert_eq!(spec["containers"][0].get("volumeMounts"), None, "{spec}");
    // DefaultTolerationSeconds still runs.
    assert_eq!(spec["tolerations"][0]["key"], "node.kubernetes.io/not-ready");
    cluster.stop();
}

#[test]
fn enabled_deny_service_external_ips_keeps_new_external_ips_out() {
    const SERVICES: &str = "/api/v1/namespaces/e/services";
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut cluster, api) =
        cluster_with(dir.path(), &["--enable-admission-plugins", "NamespaceLifecycle,DenyServiceExternalIPs"]);
    let svc = |name: &str, ips: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], "externalIPs": ips}})
    };
    let r = api.post(SERVICES, &svc("ext", json!(["192.0.2.10"])));
    assert_eq!(
        r.expect(403)["message"],
        "services \"ext\" is forbidden: Use of external IPs is denied by admission control"
    );
    let created = api.post(SERVICES, &svc("plain", json!([]))).expect(201);
    let mut update = created.clone();
    update["spec"]["externalIPs"] = json!(["192.0.2.11"]);
    let r = api.put(&format!("{SERVICES}/plain"), &update);
    assert_eq!(
        r.expect(403)["message"],
        "services \"plain\" is forbidden: Use of external IPs is denied by admission control"
    );
    cluster.stop();
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}
