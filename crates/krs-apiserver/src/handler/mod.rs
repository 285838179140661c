//! The request pipeline: public endpoints, authentication, authorization, then discovery or a
//! resource request routed through the catalog. Every response is logged with kubectl's
//! request headers (X-Kubectl-Command, -Flags, -Session) when present.

mod authn;
mod filter;
pub mod params;
mod resource;
mod respond;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use krs_api::{Catalog, ResourceInfo};
use krs_store::Store;
use parking_lot::Mutex;

use crate::allocators::WriteHooks;
use crate::auth::{Attributes, Authorizer, Decision, ForbiddenMessage, UserInfo};
use crate::body::{self, Body};
use crate::cacher::Cacher;
use crate::discovery;
use crate::encoding::{DiscoveryFormat, negotiate_discovery};
use crate::errors::ApiError;
use crate::request::RequestInfo;

pub use filter::SelectorFilter;
pub use respond::{encode_value, status_response};

/// The Kubernetes version krs implements.
pub const KUBERNETES_VERSION: &str = "v1.34.0";

/// The API server's shared state: the catalog, the store, the watch caches, the authorizer.
/// How many locks quota admission's namespaces are spread over.
const QUOTA_LOCKS: usize = 32;

pub struct App {
    pub catalog: Arc<Catalog>,
    pub store: Arc<dyn Store>,
    cachers: Mutex<HashMap<String, Arc<Cacher>>>,
    pub authorizer: Box<dyn Authorizer>,
    /// `host:port` clients reach this server at (for /api's serverAddressByClientCIDRs).
    pub server_address: String,
    /// Set once bootstrap finished; /readyz answers 503 before.
    pub ready: AtomicBool,
    /// Write hooks by group-qualified resource (`services`): allocations around writes.
    hooks: HashMap<String, Arc<dyn WriteHooks>>,
    /// Issues and verifies service account tokens.
    pub tokens: Option<Arc<crate::tokens::TokenIssuer>>,
    /// Recently authenticated bearer tokens.
    bearer_cache: Mutex<HashMap<String, (UserInfo, Instant)>>,
    /// Turns true when the server shuts down: long-running requests (watches) end at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// How connect subresources reach node agents.
    pub kubelet: Option<crate::proxy::KubeletClient>,
    /// The OpenAPI documents, built on first request.
    openapi: std::sync::OnceLock<krs_openapi::OpenApi>,
    /// The Priority admission plugin runs (off only by --disable-admission-plugins=Priority).
    pub priority_admission: bool,
    /// The ServiceAccount admission plugin runs (off only by
    /// --disable-admission-plugins=ServiceAccount).
    pub service_account_admission: bool,
    /// The DenyServiceExternalIPs admission plugin runs (only when enabled).
    pub deny_external_ips: bool,
    /// Request metrics, served at /metrics.
    pub metrics: crate::metrics::Metrics,
    /// Serializes quota admission per namespace (by hash: a namespace always maps to one lock).
    quota_locks: Box<[tokio::sync::Mutex<()>]>,
}

impl App {
    pub fn new(
        catalog: Arc<Catalog>,
        store: Arc<dyn Store>,
        authorizer: Box<dyn Authorizer>,
        server_address: String,
    ) -> App {
        App {
            catalog,
            store,
            cachers: Mutex::new(HashMap::new()),
            authorizer,
            server_address,
            ready: AtomicBool::new(false),
            hooks: HashMap::new(),
            tokens: None,
            bearer_cache: Mutex::new(HashMap::new()),
            stopping: tokio::sync::watch::channel(false).0,
            openapi: std::sync::OnceLock::new(),
            kubelet: None,
            priority_admission: true,
            service_account_admission: true,
            deny_external_ips: false,
            metrics: crate::metrics::Metrics::default(),
            quota_locks: (0..QUOTA_LOCKS).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// The lock quota admission holds while it checks and charges a write in `namespace`.
    pub fn quota_lock(&self, namespace: &str) -> &tokio::sync::Mutex<()> {
        let hash = namespace.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        &self.quota_locks[hash % QUOTA_LOCKS]
    }

    /// Sets how node agents are reached. Call before serving.
    pub fn with_kubelet_client(mut self, kubelet: crate::proxy::KubeletClient) -> App {
        self.kubelet = Some(kubelet);
        self
    }

    /// Leaves the named metrics out of /metrics (upstream's --disabled-metrics).
    pub fn with_disabled_metrics(mut self, names: &[String]) -> App {
        self.metrics = crate::metrics::Metrics::new(names);
        self
    }

    /// The number of objects of each resource the watch caches hold, by upstream's resource
    /// label (`pods`, `deployments.apps`).
    fn stored_objects(&self) -> std::collections::BTreeMap<String, usize> {
        let cachers = self.cachers.lock();
        let mut out = std::collections::BTreeMap::new();
        for res in self.catalog.resources() {
            let Some(storage) = res.storage.as_ref() else { continue };
            let Some(c) = cachers.get(&storage.prefix).filter(|c| c.is_ready()) else { continue };
            let name =
                if res.group.is_empty() { res.resource.clone() } else { format!("{}.{}", res.resource, res.group) };
            out.entry(name).or_insert_with(|| c.snapshot().0.len());
        }
        out
    }

    /// Turns on the admission plugins that are off by default
    /// ([`crate::admission::OFF_BY_DEFAULT_PLUGINS`]); other names change nothing.
    pub fn with_admission_plugins(mut self, plugins: &[String]) -> App {
        if plugins.iter().any(|p| p == "DenyServiceExternalIPs") {
            self.deny_external_ips = true;
        }
        self
    }

    /// Turns admission plugins off (only those in [`crate::admission::OPTIONAL_PLUGINS`]).
    pub fn without_admission_plugins(mut self, plugins: &[String]) -> App {
        if plugins.iter().any(|p| p == "Priority") {
            self.priority_admission = false;
        }
        if plugins.iter().any(|p| p == "ServiceAccount") {
            self.service_account_admission = false;
        }
        self
    }

    /// Sets the service account token issuer. Call before serving.
    pub fn with_tokens(mut self, tokens: Arc<crate::tokens::TokenIssuer>) -> App {
        self.tokens = Some(tokens);
        self
    }

    /// Registers the write hooks of a resource (group-qualified name: `services`,
    /// `deployments.apps`). Call before serving.
    pub fn with_hooks(mut self, group_resource: &str, hooks: Arc<dyn WriteHooks>) -> App {
        self.hooks.insert(group_resource.to_string(), hooks);
        self
    }

    /// The write hooks of a resource, if it has any.
    pub fn hooks(&self, res: &ResourceInfo) -> Option<&Arc<dyn WriteHooks>> {
        if self.hooks.is_empty() {
            return None;
        }
        self.hooks.get(&res.group_resource())
    }

    /// The watch cache of a resource's storage if one is running and has caught up, without
    /// starting one.
    pub fn running_cacher(&self, res: &ResourceInfo) -> Option<Arc<Cacher>> {
        let storage = res.storage.as_ref()?;
        self.cachers.lock().get(&storage.prefix).filter(|c| c.is_ready()).cloned()
    }

    /// The watch cache of a resource's storage, started on first use.
    pub fn cacher(&self, res: &ResourceInfo) -> Option<Arc<Cacher>> {
        let storage = res.storage.as_ref()?;
        let mut cachers = self.cachers.lock();
        if let Some(c) = cachers.get(&storage.prefix) {
            return Some(c.clone());
        }
        let c = Cacher::start(self.store.clone(), storage.prefix.clone(), res.strategy.field_labels());
        cachers.insert(storage.prefix.clone(), c.clone());
        Some(c)
    }

    /// Serves one request. `user` is the connection's authenticated user, if any.
    pub async fn handle<B>(
        self: &Arc<Self>,
        req: Request<B>,
        user: Option<UserInfo>,
        peer: Option<SocketAddr>,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (mut parts, body) = req.into_parts();
        // Upgrades (exec, attach, port-forward) need the connection's upgrade handle, which the
        // HTTP server keeps in the request's extensions.
        let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
        let info = RequestInfo::parse(&parts.method, parts.uri.path(), watch_param(&parts));
        let in_flight = self.metrics.start(&info);
        let mut resp = self.route(&parts, body, user.as_ref(), on_upgrade).await;
        drop(in_flight);
        let apply = parts.method == Method::PATCH
            && parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/apply-patch"));
        let dry_run = parts.uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "dryRun=All"));
        self.metrics.observe(&info, apply, dry_run, resp.status().as_u16(), started.elapsed());
        if parts.method == Method::HEAD {
            *resp.body_mut() = body::empty();
        }
        log_request(&parts, &resp, user.as_ref(), peer, started);
        resp
    }

    async fn route<B>(
        self: &Arc<Self>,
        parts: &Parts,
        body: B,
        user: Option<&UserInfo>,
        on_upgrade: Option<hyper::upgrade::OnUpgrade>,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = parts.uri.path();
        // Public endpoints, as upstream's system:public-info-viewer role makes them.
        match path {
            "/healthz" | "/livez" | "/healthz/ping" | "/livez/ping" | "/healthz/etcd" | "/livez/etcd" => {
                return text(StatusCode::OK, "ok");
            }
            "/readyz" | "/readyz/ping" | "/readyz/etcd" => {
                return if self.ready.load(Ordering::Acquire) {
                    text(StatusCode::OK, "ok")
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "[-]bootstrap failed: not finished\nreadyz check failed")
                };
            }
            "/version" | "/version/" => return json(StatusCode::OK, &version_info()),
            _ => {}
        }
        let bearer;
        let user = match user {
            Some(u) => u,
            None => {
                bearer = self.authenticate_bearer(&parts.headers).await;
                match &bearer {
                    Some(u) => u,
                    None => return status_response(&ApiError::unauthorized()),
                }
            }
        };
        match (path, &self.tokens) {
            ("/.well-known/openid-configuration", Some(t)) => {
                return json(StatusCode::OK, &t.openid_configuration());
            }
            ("/openid/v1/jwks", Some(t)) => {
                let mut resp = json(StatusCode::OK, &t.jwks());
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
                return resp;
            }
            _ => {}
        }
        let info = RequestInfo::parse(&parts.method, path, watch_param(parts));
        let attrs = Attributes {
            verb: &info.verb,
            group: &info.group,
            resource: &info.resource,
            subresource: &info.subresource,
            namespace: &info.namespace,
            name: &info.name,
            path,
            resource_request: info.is_resource_request,
        };
        if let Decision::Deny(reason) = self.authorizer.authorize(user, &attrs) {
            let mut msg = ForbiddenMessage(user, &attrs).to_string();
            if !reason.is_empty() {
                msg.push_str(": ");
                msg.push_str(&reason);
            }
            let res = if info.is_resource_request {
                self.catalog.lookup(&info.group, &info.version, &info.resource).cloned()
            } else {
                None
            };
            return status_response(&match res {
                Some(r) => ApiError::forbidden(Some(&r), &info.name, &msg),
                None => ApiError::forbidden(None, "", &msg),
            });
        }
        if path == "/metrics" && parts.method == Method::GET {
            let mut resp = Response::new(body::full(self.metrics.render(&self.stored_objects())));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            return resp;
        }
        if !info.is_resource_request {
            return self.non_resource(parts, &info);
        }
        match resource::serve(self, parts, body, &info, user, on_upgrade).await {
            Ok(resp) => resp,
            Err(e) => status_response(&e),
        }
    }

    fn non_resource(&self, parts: &Parts, info: &RequestInfo) -> Response<Body> {
        let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
        let path = parts.uri.path().trim_end_matches('/');
        let catalog = &self.catalog;
        if let Some(resp) = self.openapi_document(parts, path, accept) {
            return resp;
        }
        match path {
            "/api" => match negotiate_discovery(accept) {
                DiscoveryFormat::Legacy => json(StatusCode::OK, &discovery::api_versions(&self.server_address)),
                DiscoveryFormat::Aggregated { v2 } => aggregated(&discovery::aggregated(catalog, true, v2), v2),
            },
            "/apis" => match negotiate_discovery(accept) {
                DiscoveryFormat::Legacy => json(StatusCode::OK, &discovery::api_group_list(catalog)),
                DiscoveryFormat::Aggregated { v2 } => aggregated(&discovery::aggregated(catalog, false, v2), v2),
            },
            _ => {
                let doc = if info.api_prefix.is_empty() {
                    // /apis/<group>
                    path.strip_prefix("/apis/")
                        .filter(|g| !g.contains('/'))
                        .and_then(|g| discovery::api_group_doc(catalog, g))
                } else {
                    discovery::api_resource_list(catalog, &info.group, &info.version)
                };
                match doc {
                    Some(doc) => json(StatusCode::OK, &doc),
                    None => status_response(&ApiError::no_such_path()),
                }
            }
        }
    }
}

impl App {
    /// /openapi/v2 and /openapi/v3[/...], or None for other paths.
    fn openapi_document(&self, parts: &Parts, path: &str, accept: Option<&str>) -> Option<Response<Body>> {
        if !path.starts_with("/openapi/") {
            return None;
        }
        let api = self.openapi.get_or_init(|| crate::openapi::build(&self.catalog));
        let not_modified =
            |etag: &str| parts.headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag);
        let resp = match path {
            "/openapi/v2" => {
                let etag = api.etag_v2();
                if not_modified(&etag) {
                    let mut r = Response::new(body::empty());
                    *r.status_mut() = StatusCode::NOT_MODIFIED;
                    return Some(r);
                }
                let wants_proto = accept.is_some_and(|a| a.contains("proto-openapi.spec.v2"));
                let (bytes, ct) = if wants_proto {
                    (api.v2_protobuf(), krs_openapi::V2_PROTOBUF_CONTENT_TYPE)
                } else {
                    (api.v2_json(), "application/json")
                };
                let mut r = Response::new(body::full(bytes));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
                if let Ok(v) = HeaderValue::from_str(&etag) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
            "/openapi/v3" => {
                let mut r = Response::new(body::full(api.v3_index()));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            other => {
                let doc_path = other.strip_prefix("/openapi/v3/")?;
                let Some(doc) = api.v3_document(doc_path) else {
                    return Some(status_response(&ApiError::no_such_path()));
                };
                let mut r = Response::new(body::full(doc));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                let hashed = parts.uri.query().is_some_and(|q| q.contains("hash="));
                let cache = if hashed { "public, immutable" } else { "no-cache, private" };
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                if let Some(h) = api.hash_v3(doc_path)
                    && let Ok(v) = HeaderValue::from_str(&format!("\"{h}\""))
                {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
        };
        Some(resp)
    }
}

fn version_info() -> serde_json::Value {
    let minor = KUBERNETES_VERSION.split('.').nth(1).unwrap_or("34");
    serde_json::json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": minor,
        "gitVersion": format!("{KUBERNETES_VERSION}+krs-{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// The architecture in Go's naming (kubectl prints it).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn text(code: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(body::full(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

fn json(code: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(body::full(serde_json::to_vec(value).unwrap_or_default()));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn aggregated(value: &serde_json::Value, v2: bool) -> Response<Body> {
    let mut resp = json(StatusCode::OK, value);
    let ct = if v2 {
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    } else {
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}

/// Whether the query asks for a watch (`watch=true|1`).
fn watch_param(parts: &Parts) -> bool {
    parts.uri.query().is_some_and(|q| params::Query::parse(Some(q)).flag("watch").ok().flatten().unwrap_or(false))
}

/// One structured log line per request, with kubectl's headers when sent (KEP 859).
fn log_request(
    parts: &Parts,
    resp: &Response<Body>,
    user: Option<&UserInfo>,
    peer: Option<SocketAddr>,
    started: Instant,
) {
    let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info!(
        target: "krs::request",
        verb = %parts.method,
        uri = %parts.uri,
        status = resp.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        user = user.map(|u| u.name.as_str()).unwrap_or(""),
        peer = %peer.map(|p| p.to_string()).unwrap_or_default(),
        user_agent = h("user-agent"),
        kubectl_command = h("x-kubectl-command"),
        kubectl_flags = h("x-kubectl-flags"),
        kubectl_session = h("x-kubectl-session"),
        "request"
    );
}
