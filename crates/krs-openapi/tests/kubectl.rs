//! Real kubectl against the documents: a plain-HTTP mock API server on 127.0.0.1 serves legacy
//! discovery (derived from the catalog), `/openapi/v2` (gnostic protobuf), `/openapi/v3` and
//! the group-version documents, and answers every POST with 201 and the posted object, recording
//! the query. kubectl must create through it (validating on the server: `fieldValidation=Strict`)
//! and explain fields from its schemas.
//!
//! Skipped, with a printed reason, when the kubectl binaries are not installed.

use crate::common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use krs_openapi::{OpenApi, ResourceDoc};
use serde_json::{Value, json};

const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// The path of `kubectl.<version>`, or None (with the reason printed) when it is not installed.
fn kubectl(version: &str) -> Option<PathBuf> {
    let path = Path::new(KUBECTL_DIR).join(format!("kubectl.{version}"));
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is not installed", path.display());
        None
    }
}

/// A request the mock server received.
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    /// The body of a PATCH.
    patch: String,
}

struct MockServer {
    requests: Arc<Mutex<Vec<Recorded>>>,
    home: tempfile::TempDir,
    // Dropping the runtime stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl MockServer {
    fn start() -> MockServer {
        MockServer::serve(OpenApi::new(common::catalog::resources()), true)
    }

    /// `field_validation`: whether the v3 documents say that PATCH takes `fieldValidation`;
    /// when they do not, kubectl validates on the client, with the v2 models.
    fn serve(openapi: OpenApi, field_validation: bool) -> MockServer {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            resources: common::catalog::resources(),
            openapi,
            requests: requests.clone(),
            field_validation,
            objects: Mutex::new(BTreeMap::new()),
        });
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(state.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let home = tempfile::tempdir().expect("temporary HOME");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: user\n  user: {{}}\ncontexts:\n- name: mock\n  context:\n    cluster: mock\n    \
             user: user\n    namespace: default\ncurrent-context: mock\n"
        );
        std::fs::write(home.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
        MockServer { requests, home, _runtime: runtime }
    }

    /// Runs kubectl with `args` (and a manifest written to a file, passed as `-f`): its exit
    /// status, stdout and stderr.
    fn run(&self, kubectl: &Path, args: &[&str], manifest: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new(kubectl);
        command
            .args(args)
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .env("HOME", self.home.path())
            .env_remove("KUBECTL_EXPLAIN_OPENAPIV3");
        if let Some(manifest) = manifest {
            let file = self.home.path().join("manifest.yaml");
            std::fs::write(&file, manifest).expect("manifest");
            command.arg("-f").arg(file);
        }
        let output = command.output().expect("kubectl runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        eprintln!("$ {} {}\n{stdout}{stderr}", kubectl.display(), args.join(" "));
        self.print_requests();
        (output.status.success(), stdout, stderr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Prints the requests received, for the record (`--nocapture`).
    fn print_requests(&self) {
        for request in self.requests() {
            eprintln!("  {} {}?{}", request.method, request.path, request.query);
        }
    }

    /// The queries of the POSTs to `path`.
    fn posts(&self, path: &str) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.method == "POST" && r.path == path).map(|r| r.query).collect()
    }

    fn fetched(&self, path: &str) -> bool {
        self.requests().iter().any(|r| r.method == "GET" && r.path == path)
    }
}

struct State {
    resources: Vec<ResourceDoc>,
    openapi: OpenApi,
    requests: Arc<Mutex<Vec<Recorded>>>,
    field_validation: bool,
    /// The objects created, by path.
    objects: Mutex<BTreeMap<String, Bytes>>,
}

impl State {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let patch = if method == "PATCH" { String::from_utf8_lossy(&body).into_owned() } else { String::new() };
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(Recorded { method: method.clone(), path: path.clone(), query, patch });
        }
        let stored = self.objects.lock().ok().and_then(|objects| objects.get(&path).cloned());
        match (method.as_str(), path.as_str()) {
            ("GET", "/openapi/v2") => {
                respond(StatusCode::OK, krs_openapi::V2_PROTOBUF_CONTENT_TYPE, self.openapi.v2_protobuf())
            }
            ("GET", "/openapi/v3") => respond(StatusCode::OK, "application/json", self.openapi.v3_index()),
            ("GET", _) if path.starts_with("/openapi/v3/") => {
                match self.openapi.v3_document(path.trim_start_matches("/openapi/v3/")) {
                    Some(document) if self.field_validation => respond(StatusCode::OK, "application/json", document),
                    Some(document) => json_response(StatusCode::OK, &without_field_validation(&document)),
                    None => not_found(),
                }
            }
            ("GET" | "PATCH", _) if stored.is_some() => {
                respond(StatusCode::OK, "application/json", stored.unwrap_or_default())
            }
            ("GET", _) => match self.discovery(&path) {
                Some(document) => json_response(StatusCode::OK, &document),
                None => not_found(),
            },
            // The object created is the object posted, kept for later reads.
            ("POST", _) => {
                let object: Value = serde_json::from_slice(&body).unwrap_or_default();
                if let (Some(name), Ok(mut objects)) = (object["metadata"]["name"].as_str(), self.objects.lock()) {
                    objects.insert(format!("{path}/{name}"), body.clone());
                }
                respond(StatusCode::CREATED, "application/json", body)
            }
            _ => not_found(),
        }
    }

    /// Legacy discovery: `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`.
    fn discovery(&self, path: &str) -> Option<Value> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for resource in &self.resources {
            let versions = groups.entry(resource.group.as_str()).or_default();
            if !versions.contains(&resource.version.as_str()) {
                versions.push(&resource.version);
            }
        }
        let group_version = |group: &str, version: &str| {
            if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
        };
        match path.trim_end_matches('/') {
            "/api" => Some(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})),
            "/apis" => Some(json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": groups.iter().filter(|(group, _)| !group.is_empty()).map(|(group, versions)| {
                    let versions: Vec<Value> = versions.iter().map(|version| json!({
                        "groupVersion": group_version(group, version),
                        "version": version,
                    })).collect();
                    json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
                }).collect::<Vec<_>>(),
            })),
            path => {
                let (group, version) = match path.strip_prefix("/api/") {
                    Some(version) => ("", version),
                    None => path.strip_prefix("/apis/")?.split_once('/')?,
                };
                let mut list = Vec::new();
                for resource in self.resources.iter().filter(|r| r.group == group && r.version == version) {
                    list.push(json!({
                        "name": resource.resource,
                        "singularName": resource.kind.to_lowercase(),
                        "namespaced": resource.namespaced,
                        "kind": resource.kind,
                        "verbs": resource.verbs,
                    }));
                    for (name, _, _, kind, verbs) in &resource.subresources {
                        list.push(json!({
                            "name": format!("{}/{name}", resource.resource),
                            "singularName": "",
                            "namespaced": resource.namespaced,
                            "kind": kind,
                            "verbs": verbs,
                        }));
                    }
                }
                if list.is_empty() {
                    return None;
                }
                Some(json!({
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": group_version(group, version),
                    "resources": list,
                }))
            }
        }
    }
}

/// A v3 document whose operations do not take `fieldValidation`, as an older server's.
fn without_field_validation(document: &[u8]) -> Value {
    let mut document: Value = serde_json::from_slice(document).unwrap_or_default();
    if let Some(paths) = document["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
            if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
                parameters.retain(|p| p["name"] != "fieldValidation");
            }
        }
    }
    document
}

fn respond(status: StatusCode, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/json", Bytes::from(value.to_string()))
}

fn not_found() -> Response<Full<Bytes>> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
    )
}

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  key: value\n";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
";

/// A ConfigMap with a field no ConfigMap has: the server, not kubectl, must judge it.
const UNKNOWN_FIELD: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\ndata:\n  key: value\nnotAField: 1\n";

#[test]
fn kubectl_1_33_creates_a_config_map_with_server_side_validation() {
    let Some(kubectl) = kubectl("1.33") else {
        return;
    };
    let server = MockServer::start();
    let (ok, stdout, stderr) = server.run(&kubectl, &["create"], Some(CONFIG_MAP));
    assert!(ok, "kubectl create failed: {stderr}");
    assert!(stdout.contains("configmap/demo created"), "{stdout}");
    // kubectl 1.33 reads /openapi/v2 only when it has to validate on the client.
    assert!(server.fetched("/openapi/v3/api/v1"), "the verifier reads the core/v1 document");
    let posts = server.posts("/api/v1/namespaces/default/configmaps");
    assert_eq!(posts.len(), 1, "{:?}", server.requests());
    assert!(posts[0].contains("fieldValidation=Strict"), "{}", posts[0]);
}

#[test]
fn kubectl_1_27_creates_a_deployment_with_server_side_validation() {
    let Some(kubectl) = kubectl("1.27") else {
        return;
    };
    let server = MockServer::start();
    let (ok, stdout, stderr) = server.run(&kubectl, &["create"], Some(DEPLOYMENT));
    assert!(ok, "kubectl create failed: {stderr}");
    assert!(stdout.contains("deployment.apps/web created"), "{stdout}");
    assert!(server.fetched("/openapi/v2"));
    assert!(server.fetched("/openapi/v3/apis/apps/v1"));
    let posts = server.posts("/apis/apps/v1/namespaces/default/deployments");
    assert_eq!(posts.len(), 1, "{:?}", server.requests());
    assert!(posts[0].contains("fieldValidation=Strict"), "{}", posts[0]);
}

#[test]
fn unknown_fields_are_left_to_the_server() {
    for version in ["1.27", "1.33"] {
        let Some(kubectl) = kubectl(version) else {
            return;
        };
        let server = MockServer::start();
        let (ok, _, stderr) = server.run(&kubectl, &["create", "--validate=true"], Some(UNKNOWN_FIELD));
        assert!(ok, "kubectl {version} refused the object client-side: {stderr}");
        let posts = server.posts("/api/v1/namespaces/default/configmaps");
        assert_eq!(posts.len(), 1, "kubectl {version}: {:?}", server.requests());
        assert!(posts[0].contains("fieldValidation=Strict"), "kubectl {version}: {}", posts[0]);
    }
}

/// A Deployment with the values whose schemas k8s-openapi and upstream write differently:
/// int-or-string (maxSurge, maxUnavailable), quantities given as numbers and strings.
const RICH_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rich
  labels:
    app: rich
spec:
  replicas: 1
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 1
  selector:
    matchLabels:
      app: rich
  template:
    metadata:
      labels:
        app: rich
    spec:
      containers:
      - name: app
        image: nginx:1.27
        resources:
          limits:
            cpu: 1
            memory: 128Mi
          requests:
            cpu: 500m
        readinessProbe:
          httpGet:
            path: /
            port: http
        ports:
        - name: http
          containerPort: 80
";

#[test]
fn client_side_validation_uses_the_v2_models() {
    for version in ["1.27", "1.33"] {
        let Some(kubectl) = kubectl(version) else {
            return;
        };
        let server = MockServer::serve(OpenApi::new(common::catalog::resources()), false);
        let (ok, _, stderr) = server.run(&kubectl, &["create", "--validate=strict"], Some(UNKNOWN_FIELD));
        assert!(!ok, "kubectl {version} accepted an unknown field");
        assert!(stderr.contains("notAField"), "kubectl {version}: {stderr}");
        assert!(server.posts("/api/v1/namespaces/default/configmaps").is_empty());

        let (ok, stdout, stderr) = server.run(&kubectl, &["create", "--validate=strict"], Some(RICH_DEPLOYMENT));
        assert!(ok, "kubectl {version} refused a valid Deployment: {stderr}");
        assert!(stdout.contains("deployment.apps/rich created"), "{stdout}");
        assert!(server.fetched("/openapi/v2"));
        assert_eq!(server.posts("/apis/apps/v1/namespaces/default/deployments").len(), 1);
    }
}

#[test]
fn kubectl_1_33_explains_a_nested_field() {
    let Some(kubectl) = kubectl("1.33") else {
        return;
    };
    let server = MockServer::start();
    let (ok, stdout, stderr) =
        server.run(&kubectl, &["explain", "deployment.spec.template.spec.containers.image"], None);
    assert!(ok, "kubectl explain failed: {stderr}");
    assert!(stdout.contains("GROUP:      apps"), "{stdout}");
    assert!(stdout.contains("KIND:       Deployment"), "{stdout}");
    assert!(stdout.contains("FIELD: image <string>"), "{stdout}");
    assert!(stdout.contains("Container image name"), "{stdout}");
}

#[test]
fn kubectl_1_27_explains_pod_spec_from_v3_and_v2() {
    let Some(kubectl) = kubectl("1.27") else {
        return;
    };
    let server = MockServer::start();
    let (ok, stdout, stderr) = server.run(&kubectl, &["explain", "pods.spec"], None);
    assert!(ok, "kubectl explain failed: {stderr}");
    assert!(stdout.contains("KIND:       Pod"), "{stdout}");
    assert!(stdout.contains("containers\t<[]Container> -required-"), "{stdout}");
    assert!(stdout.contains("List of containers belonging to the pod"), "{stdout}");

    // The same through the v2 (protobuf) models.
    let (ok, stdout, stderr) = server.run(&kubectl, &["explain", "pods.spec", "--output=plaintext-openapiv2"], None);
    assert!(ok, "kubectl explain (v2) failed: {stderr}");
    assert!(stdout.contains("KIND:     Pod"), "{stdout}");
    assert!(stdout.contains("containers\t<[]Object> -required-"), "{stdout}");
    assert!(stdout.contains("List of containers belonging to the pod"), "{stdout}");
}

#[test]
fn kubectl_1_33_explains_every_served_kind() {
    let Some(kubectl) = kubectl("1.33") else {
        return;
    };
    let server = MockServer::start();
    for resource in common::catalog::resources() {
        // explain reads dots as field paths: the group goes in --api-version.
        let name = resource.resource.clone();
        let api_version = if resource.group.is_empty() {
            resource.version.clone()
        } else {
            format!("{}/{}", resource.group, resource.version)
        };
        let args = ["explain", name.as_str(), "--api-version", api_version.as_str()];
        let (ok, stdout, stderr) = server.run(&kubectl, &args, None);
        assert!(ok, "kubectl explain {name}: {stderr}");
        assert!(stdout.contains(&format!("KIND:       {}", resource.kind)), "{name}: {stdout}");
        assert!(stdout.contains("DESCRIPTION:") && stdout.contains("FIELDS:"), "{name}: {stdout}");
    }
    let nested = [
        ("configmaps.data", "map[string]string"),
        ("pods.spec.volumes.configMap.items.key", "FIELD: key <string>"),
        ("services.spec.ports.targetPort", "FIELD: targetPort <IntOrString>"),
        ("pods.spec.containers.resources.limits", "map[string]Quantity"),
        ("customresourcedefinitions.spec.versions.schema.openAPIV3Schema.properties", "JSONSchemaProps"),
        ("deployments.status.conditions.lastUpdateTime", "FIELD: lastUpdateTime <string>"),
    ];
    for (path, expected) in nested {
        let (ok, stdout, stderr) = server.run(&kubectl, &["explain", path], None);
        assert!(ok, "kubectl explain {path}: {stderr}");
        assert!(stdout.contains(expected), "{path}: {stdout}");
    }
    let (ok, stdout, stderr) = server.run(&kubectl, &["explain", "customresourcedefinitions", "--recursive"], None);
    assert!(ok, "kubectl explain --recursive: {stderr}");
    assert!(stdout.contains("openAPIV3Schema"), "{stdout}");
}

/// The Deployment of [`DEPLOYMENT`] with a new image and a second container.
const DEPLOYMENT_CHANGED: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.28
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.37
";

/// kubectl apply computes strategic merge patches from the schemas' patch extensions (v2 models
/// in 1.27, v3 in 1.33): the merge key fed through `with_field_extensions` must reach it.
#[test]
fn apply_merges_lists_by_the_fed_merge_keys() {
    for version in ["1.27", "1.33"] {
        let Some(kubectl) = kubectl(version) else {
            return;
        };
        for merge_key in [true, false] {
            let mut openapi = OpenApi::new(common::catalog::resources());
            if merge_key {
                openapi.with_field_extensions(|definition, property| match (definition, property) {
                    ("io.k8s.api.core.v1.PodSpec", "containers") => vec![
                        ("x-kubernetes-patch-merge-key".to_string(), json!("name")),
                        ("x-kubernetes-patch-strategy".to_string(), json!("merge")),
                    ],
                    _ => Vec::new(),
                });
            }
            let server = MockServer::serve(openapi, true);
            let (ok, stdout, stderr) = server.run(&kubectl, &["apply"], Some(DEPLOYMENT));
            assert!(ok && stdout.contains("deployment.apps/web created"), "kubectl {version}: {stdout}{stderr}");
            let (ok, stdout, stderr) = server.run(&kubectl, &["apply"], Some(DEPLOYMENT_CHANGED));
            assert!(ok && stdout.contains("deployment.apps/web configured"), "kubectl {version}: {stdout}{stderr}");
            let patches: Vec<Recorded> = server.requests().into_iter().filter(|r| r.method == "PATCH").collect();
            assert_eq!(patches.len(), 1, "kubectl {version}: {patches:?}");
            assert_eq!(patches[0].path, "/apis/apps/v1/namespaces/default/deployments/web");
            // Without the merge key the schema says nothing of the list, which is replaced.
            let merged = patches[0].patch.contains("$setElementOrder/containers");
            assert_eq!(merged, merge_key, "kubectl {version}: {}", patches[0].patch);
        }
    }
}
