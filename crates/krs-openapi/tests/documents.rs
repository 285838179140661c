//! The documents' structure, checked the way their clients read them: client-go's query
//! parameter verifier (v3), kubectl explain's template walk (v3), kube-openapi's model parser
//! (v2 protobuf).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use common::protobuf::Message;
use krs_openapi::{OpenApi, ResourceDoc};
use serde_json::{Value, json};

fn openapi() -> OpenApi {
    OpenApi::new(common::catalog::resources())
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("document is JSON")
}

fn document_path(resource: &ResourceDoc) -> String {
    if resource.group.is_empty() {
        format!("api/{}", resource.version)
    } else {
        format!("apis/{}/{}", resource.group, resource.version)
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// client-go's `supportsQueryParamV3`: the PATCH operation carrying the kind's
/// group/version/kind takes the parameter (inline or through components/parameters).
fn supports_query_param(document: &Value, gvk: &Value, param: &str) -> bool {
    let Some(paths) = document["paths"].as_object() else {
        return false;
    };
    for item in paths.values() {
        let patch = &item["patch"];
        if patch.is_null() || &patch["x-kubernetes-group-version-kind"] != gvk {
            continue;
        }
        let parameters = patch["parameters"].as_array().cloned().unwrap_or_default();
        return parameters.iter().any(|p| {
            let p = match p["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/parameters/")) {
                Some(name) => &document["components"]["parameters"][name],
                None => p,
            };
            p["name"] == param
        });
    }
    false
}

#[test]
fn apps_v1_deployment_patch_takes_field_validation() {
    let openapi = openapi();
    let index = parse(&openapi.v3_index());
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().expect("apps/v1 is listed");
    let hash = openapi.hash_v3("apis/apps/v1").expect("apps/v1 is hashed");
    assert_eq!(url, format!("/openapi/v3/apis/apps/v1?hash={hash}"));

    let document = parse(&openapi.v3_document("apis/apps/v1").expect("apps/v1 document"));
    assert_eq!(document["openapi"], "3.0.0");
    let patch = &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"], gvk("apps", "v1", "Deployment"));
    assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert!(supports_query_param(&document, &gvk("apps", "v1", "Deployment"), "fieldValidation"));
    assert!(!supports_query_param(&document, &gvk("apps", "v1", "Deployment"), "noSuchParameter"));
}

#[test]
fn every_patchable_kind_supports_field_validation() {
    let openapi = openapi();
    let mut documents = BTreeMap::new();
    for resource in common::catalog::resources() {
        if !resource.verbs.iter().any(|v| v == "patch") {
            continue;
        }
        let path = document_path(&resource);
        let document = documents
            .entry(path.clone())
            .or_insert_with(|| parse(&openapi.v3_document(&path).expect("group-version document")));
        let kind = gvk(&resource.group, &resource.version, &resource.kind);
        assert!(supports_query_param(document, &kind, "fieldValidation"), "{kind}");
    }
}

/// The definitions of a document that carry `gvk` in `x-kubernetes-group-version-kind`.
fn definitions_with(definitions: &Value, gvk: &Value) -> Vec<String> {
    definitions
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, schema)| {
            schema["x-kubernetes-group-version-kind"].as_array().is_some_and(|gvks| gvks.contains(gvk))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn every_served_kind_has_a_schema_with_its_group_version_kind() {
    let openapi = openapi();
    let v2 = parse(&openapi.v2_json());
    for resource in common::catalog::resources() {
        let document = parse(&openapi.v3_document(&document_path(&resource)).expect("document"));
        let mut kinds = vec![resource.kind.clone()];
        if resource.verbs.iter().any(|v| v == "list") {
            kinds.push(format!("{}List", resource.kind));
        }
        for kind in kinds {
            let kind = gvk(&resource.group, &resource.version, &kind);
            assert_eq!(definitions_with(&v2["definitions"], &kind).len(), 1, "v2 {kind}");
            let v3 = definitions_with(&document["components"]["schemas"], &kind);
            assert_eq!(v3.len(), 1, "v3 {kind}");
            assert!(v3[0].starts_with("io.k8s."), "{}", v3[0]);
        }
    }
    let pod = &v2["definitions"]["io.k8s.api.core.v1.Pod"];
    assert!(pod["description"].as_str().is_some_and(|d| d.contains("Pod is a collection of containers")));
    assert!(pod.get("required").is_none(), "metadata is not required: {}", pod["required"]);
    let delete_options = definitions_with(&v2["definitions"], &gvk("apps", "v1", "DeleteOptions"));
    assert_eq!(delete_options, ["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]);
}

#[test]
fn operations_are_named_as_upstream_names_them() {
    let v2 = parse(&openapi().v2_json());
    let operation = |path: &str, method: &str| v2["paths"][path][method].clone();
    let expected = [
        ("/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list"),
        ("/api/v1/namespaces/{namespace}/pods", "delete", "deleteCoreV1CollectionNamespacedPod", "deletecollection"),
        ("/apis/apps/v1/namespaces/{namespace}/deployments", "post", "createAppsV1NamespacedDeployment", "post"),
        ("/api/v1/namespaces/{namespace}/configmaps/{name}", "patch", "patchCoreV1NamespacedConfigMap", "patch"),
        ("/api/v1/namespaces/{namespace}/configmaps/{name}", "put", "replaceCoreV1NamespacedConfigMap", "put"),
        ("/api/v1/namespaces/{namespace}/configmaps/{name}", "get", "readCoreV1NamespacedConfigMap", "get"),
        ("/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list"),
        ("/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList", "watchlist"),
        ("/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watchCoreV1NamespacedPod", "watch"),
        ("/api/v1/watch/pods", "get", "watchCoreV1PodListForAllNamespaces", "watchlist"),
        ("/api/v1/nodes/{name}", "delete", "deleteCoreV1Node", "delete"),
        ("/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize", "put"),
        (
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
            "get",
            "readAppsV1NamespacedDeploymentScale",
            "get",
        ),
        ("/api/v1/namespaces/{namespace}/pods/{name}/exec", "post", "connectCoreV1PostNamespacedPodExec", "connect"),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}",
            "get",
            "connectCoreV1GetNamespacedPodProxyWithPath",
            "connect",
        ),
        ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "readCoreV1NamespacedPodLog", "get"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "createCoreV1NamespacedPodEviction", "post"),
        ("/apis/authentication.k8s.io/v1/tokenreviews", "post", "createAuthenticationV1TokenReview", "post"),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", "get", "listRbacAuthorizationV1ClusterRole", "list"),
        (
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/{name}/status",
            "patch",
            "patchFlowcontrolApiserverV1FlowSchemaStatus",
            "patch",
        ),
    ];
    for (path, method, id, action) in expected {
        let op = operation(path, method);
        assert_eq!(op["operationId"], id, "{method} {path}");
        assert_eq!(op["x-kubernetes-action"], action, "{method} {path}");
    }
    let scale = operation("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch");
    assert_eq!(scale["x-kubernetes-group-version-kind"], gvk("autoscaling", "v1", "Scale"));
    assert_eq!(scale["responses"]["200"]["schema"]["$ref"], "#/definitions/io.k8s.api.autoscaling.v1.Scale");
    assert_eq!(scale["tags"], json!(["apps_v1"]));
    let eviction = operation("/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post");
    assert_eq!(eviction["x-kubernetes-group-version-kind"], gvk("policy", "v1", "Eviction"));
    assert_eq!(operation("/apis/rbac.authorization.k8s.io/v1/roles", "get")["tags"], json!(["rbacAuthorization_v1"]));

    let names = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    let create = operation("/api/v1/namespaces/{namespace}/configmaps", "post");
    assert_eq!(names(&create), ["body", "dryRun", "fieldManager", "fieldValidation"]);
    let patch = operation("/api/v1/namespaces/{namespace}/configmaps/{name}", "patch");
    assert_eq!(names(&patch), ["body", "dryRun", "fieldManager", "fieldValidation", "force"]);
    let delete = operation("/api/v1/namespaces/{namespace}/configmaps/{name}", "delete");
    assert!(names(&delete).contains(&"propagationPolicy".to_string()));
    let list = operation("/api/v1/namespaces/{namespace}/configmaps", "get");
    assert!(names(&list).contains(&"labelSelector".to_string()) && names(&list).contains(&"watch".to_string()));
    let item = &v2["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["parameters"];
    assert_eq!(item[0]["name"], "name");
    assert_eq!(item[0]["in"], "path");
    assert_eq!(item[0]["required"], true);
    assert_eq!(item[1]["name"], "namespace");
    assert_eq!(item[2]["name"], "pretty");
}

/// Resolves a v3 `$ref` within the document.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &document["components"]["schemas"][name],
        None => schema,
    }
}

/// kubectl explain's walk to a field: properties, then array items, then `allOf`.
fn field<'a>(document: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    let resolved = resolve(document, schema);
    if let Some(property) = resolved["properties"].get(name) {
        return Some(property);
    }
    if resolved.get("items").is_some() {
        return field(document, &resolved["items"], name);
    }
    resolved["allOf"].as_array()?.iter().find_map(|s| field(document, s, name))
}

#[test]
fn explain_walks_from_a_resource_to_a_nested_field() {
    let document = parse(&openapi().v3_document("apis/apps/v1").expect("apps/v1"));
    let list = &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["get"];
    let kind = &list["x-kubernetes-group-version-kind"];
    let schemas = &document["components"]["schemas"];
    let deployment = schemas
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, s)| s["x-kubernetes-group-version-kind"].as_array().is_some_and(|g| g.contains(kind)))
        .map(|(_, s)| s)
        .expect("Deployment schema");
    let mut schema = deployment;
    for name in ["spec", "template", "spec", "containers", "image"] {
        schema = field(&document, schema, name).unwrap_or_else(|| panic!("field {name}"));
    }
    assert_eq!(schema["type"], "string");
    assert!(schema["description"].as_str().is_some_and(|d| d.contains("Container image name")));
    let spec = &deployment["properties"]["spec"];
    assert_eq!(spec["allOf"][0]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec");
    assert!(spec["description"].is_string());
}

/// Every `$ref` of a value.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        out.insert(target.clone());
                    }
                    _ => references(value, out),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let openapi = openapi();
    let v2 = parse(&openapi.v2_json());
    let mut targets = BTreeSet::new();
    references(&v2, &mut targets);
    for target in &targets {
        let name = target.strip_prefix("#/definitions/").unwrap_or_else(|| panic!("{target}"));
        assert!(v2["definitions"].get(name).is_some(), "{target}");
    }
    let index = parse(&openapi.v3_index());
    let paths: Vec<String> = index["paths"].as_object().expect("paths").keys().cloned().collect();
    for expected in ["api", "apis", "api/v1", "apis/apps", "apis/apps/v1", "version"] {
        assert!(paths.contains(&expected.to_string()), "{expected} in {paths:?}");
    }
    for path in paths {
        let document = parse(&openapi.v3_document(&path).expect("listed document"));
        let mut targets = BTreeSet::new();
        references(&document, &mut targets);
        for target in targets {
            let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{path}: {target}"));
            assert!(document["components"]["schemas"].get(name).is_some(), "{path}: {target}");
        }
    }
    assert!(openapi.v3_document("apis/nosuch/v1").is_none());
    assert!(openapi.hash_v3("apis/nosuch/v1").is_none());
}

/// Compares a decoded gnostic `Schema` with the JSON schema it was encoded from, and checks what
/// kube-openapi's parser (`proto.NewOpenAPIData`) requires of it.
fn compare_schema(path: &str, message: &Message, json: &Value, definitions: &Value) {
    assert_eq!(message.string(1), json["$ref"].as_str().unwrap_or(""), "{path} $ref");
    assert_eq!(message.string(2), json["format"].as_str().unwrap_or(""), "{path} format");
    assert_eq!(message.string(4), json["description"].as_str().unwrap_or(""), "{path} description");
    let types: Vec<&str> = message.message(22).map(|t| t.strings(1)).unwrap_or_default();
    let expected: Vec<&str> = json["type"].as_str().into_iter().collect();
    assert_eq!(types, expected, "{path} type");
    let required: Vec<&str> = message.strings(19);
    let expected: Vec<&str> = json["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(required, expected, "{path} required");
    let extensions: BTreeMap<&str, Value> = message.extensions(31).into_iter().collect();
    let expected: BTreeMap<&str, Value> = json
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(extensions, expected, "{path} extensions");

    if !message.string(1).is_empty() {
        let target = message.string(1).strip_prefix("#/definitions/").expect("definition reference");
        assert!(definitions.get(target).is_some(), "{path}: unknown model {target}");
        assert!(types.is_empty() && !message.has(25), "{path}: a reference with a type or properties");
    }
    if types == ["array"] {
        let items = message.message(23).expect("array items").messages(1);
        assert_eq!(items.len(), 1, "{path}: an array has one item schema");
        compare_schema(&format!("{path}[]"), &items[0], &json["items"], definitions);
    }
    match (message.message(21), &json["additionalProperties"]) {
        (Some(additional), Value::Object(_)) => compare_schema(
            &format!("{path}{{}}"),
            &additional.message(1).expect("additionalProperties schema"),
            &json["additionalProperties"],
            definitions,
        ),
        (None, Value::Null) => {}
        (Some(additional), Value::Bool(allowed)) => {
            assert_eq!(additional.bool(2), *allowed, "{path}")
        }
        (decoded, expected) => panic!("{path}: additionalProperties {decoded:?} vs {expected}"),
    }
    let properties = message.message(25).map(|p| p.named(1)).unwrap_or_default();
    let expected = json["properties"].as_object().cloned().unwrap_or_default();
    assert_eq!(properties.len(), expected.len(), "{path} properties");
    assert_eq!(message.has(25), json.get("properties").is_some(), "{path} properties presence");
    for (name, property) in properties {
        compare_schema(&format!("{path}.{name}"), &property, &expected[name], definitions);
    }
}

#[test]
fn v2_protobuf_decodes_to_the_json_document() {
    let openapi = openapi();
    let json = parse(&openapi.v2_json());
    let bytes = openapi.v2_protobuf();
    let document = Message::parse(&bytes).expect("Document");
    assert_eq!(document.string(1), "2.0");
    assert_eq!(document.message(2).expect("info").string(1), "Kubernetes");

    let definitions = document.message(9).expect("definitions").named(1);
    let names: BTreeSet<&str> = definitions.iter().map(|(name, _)| *name).collect();
    let expected: BTreeSet<&str> =
        json["definitions"].as_object().expect("definitions").keys().map(String::as_str).collect();
    assert_eq!(names, expected);
    for (name, schema) in &definitions {
        compare_schema(name, schema, &json["definitions"][*name], &json["definitions"]);
    }

    let paths = document.message(8).expect("paths").named(2);
    let names: BTreeSet<&str> = paths.iter().map(|(name, _)| *name).collect();
    let expected: BTreeSet<&str> = json["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    assert_eq!(names, expected);
    for (path, item) in &paths {
        for (method, field) in
            [("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("options", 6), ("head", 7), ("patch", 8)]
        {
            let expected = &json["paths"][*path][method];
            let Some(operation) = item.message(field) else {
                assert!(expected.is_null(), "{method} {path} is missing");
                continue;
            };
            assert_eq!(operation.string(5), expected["operationId"].as_str().expect("id"), "{method} {path}");
            let extensions: BTreeMap<&str, Value> = operation.extensions(13).into_iter().collect();
            assert_eq!(
                extensions.get("x-kubernetes-group-version-kind"),
                expected.get("x-kubernetes-group-version-kind")
            );
            assert_eq!(extensions.get("x-kubernetes-action"), expected.get("x-kubernetes-action"));
            let parameters = operation.messages(8);
            let expected_parameters = expected["parameters"].as_array().cloned().unwrap_or_default();
            assert_eq!(parameters.len(), expected_parameters.len(), "{method} {path}");
            for (parameter, expected) in parameters.iter().zip(&expected_parameters) {
                let parameter = parameter.message(1).expect("Parameter");
                if expected["in"] == "body" {
                    let body = parameter.message(1).expect("BodyParameter");
                    assert_eq!(body.string(2), "body");
                    let schema = body.message(5).expect("body schema");
                    assert_eq!(schema.string(1), expected["schema"]["$ref"].as_str().unwrap_or(""));
                } else {
                    let non_body = parameter.message(2).expect("NonBodyParameter");
                    // kubectl's v2 verifier reads query parameters at NonBodyParameter field 3.
                    let (field, name_field) = if expected["in"] == "query" { (3, 4) } else { (4, 4) };
                    let sub = non_body.message(field).expect("sub-schema");
                    assert_eq!(sub.string(name_field), expected["name"].as_str().expect("name"));
                }
            }
            let responses = operation.message(9).expect("responses").named(1);
            let codes: Vec<&str> = responses.iter().map(|(code, _)| *code).collect();
            let expected_codes: Vec<&str> =
                expected["responses"].as_object().expect("responses").keys().map(String::as_str).collect();
            assert_eq!(codes, expected_codes, "{method} {path}");
        }
    }
}

#[test]
fn field_extensions_reach_every_document() {
    let mut openapi = openapi();
    let before = openapi.v2_protobuf();
    openapi.with_field_extensions(|definition, property| match (definition, property) {
        ("io.k8s.api.core.v1.PodSpec", "containers") => vec![
            ("x-kubernetes-patch-merge-key".to_string(), json!("name")),
            ("x-kubernetes-patch-strategy".to_string(), json!("merge")),
            ("x-kubernetes-list-map-keys".to_string(), json!(["name"])),
            ("x-kubernetes-list-type".to_string(), json!("map")),
        ],
        ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "") => {
            vec![("x-kubernetes-map-type".to_string(), json!("atomic"))]
        }
        _ => Vec::new(),
    });
    let after = openapi.v2_protobuf();
    assert_ne!(before, after, "documents built before are dropped");

    let v2 = parse(&openapi.v2_json());
    let containers = &v2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
    assert_eq!(
        v2["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
        "atomic"
    );

    let v3 = parse(&openapi.v3_document("api/v1").expect("core/v1"));
    let containers = &v3["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["items"]["$ref"], "#/components/schemas/io.k8s.api.core.v1.Container");
}

#[test]
fn custom_kinds_get_a_generic_schema() {
    let openapi = OpenApi::new(vec![ResourceDoc {
        group: "stable.example.com".into(),
        version: "v1".into(),
        resource: "crontabs".into(),
        kind: "CronTab".into(),
        namespaced: true,
        verbs: vec!["get".into(), "list".into(), "patch".into()],
        subresources: Vec::new(),
    }]);
    let document = parse(&openapi.v3_document("apis/stable.example.com/v1").expect("document"));
    let schema = &document["components"]["schemas"]["com.example.stable.v1.CronTab"];
    assert_eq!(schema["x-kubernetes-group-version-kind"], json!([gvk("stable.example.com", "v1", "CronTab")]));
    assert!(supports_query_param(&document, &gvk("stable.example.com", "v1", "CronTab"), "fieldValidation"));
}

#[test]
fn the_documents_can_be_shared_between_requests() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<OpenApi>();
}

#[test]
fn a_subresource_may_name_its_parent_kind_alone() {
    let mut resources = common::catalog::resources();
    for resource in &mut resources {
        for (_, group, version, kind, _) in &mut resource.subresources {
            if *kind == resource.kind {
                group.clear();
                version.clear();
            }
        }
    }
    let v2 = parse(&OpenApi::new(resources).v2_json());
    let status = &v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]["patch"];
    assert_eq!(status["operationId"], "patchAppsV1NamespacedDeploymentStatus");
    assert_eq!(status["x-kubernetes-group-version-kind"], gvk("apps", "v1", "Deployment"));
    assert_eq!(status["responses"]["200"]["schema"]["$ref"], "#/definitions/io.k8s.api.apps.v1.Deployment");
}

/// The cost of building: printed for the record (`--nocapture`).
#[test]
fn documents_are_built_on_demand() {
    let start = Instant::now();
    let openapi = openapi();
    let created = start.elapsed();
    let start = Instant::now();
    let v2 = openapi.v2_protobuf();
    let protobuf = start.elapsed();
    let start = Instant::now();
    let json = openapi.v2_json();
    let v2_json = start.elapsed();
    let start = Instant::now();
    let index = openapi.v3_index();
    let v3_index = start.elapsed();
    let start = Instant::now();
    let core = openapi.v3_document("api/v1").expect("core/v1");
    let v3_core = start.elapsed();
    eprintln!(
        "new {created:?}; v2 protobuf {} bytes in {protobuf:?}; v2 JSON {} bytes in {v2_json:?}; \
         v3 index {} bytes in {v3_index:?}; v3 api/v1 {} bytes in {v3_core:?}",
        v2.len(),
        json.len(),
        index.len(),
        core.len()
    );
    assert!(created.as_millis() < 5);
    assert_eq!(openapi.etag_v2(), openapi.etag_v2());
    assert!(openapi.etag_v2().starts_with('"'));
}
