//! krs-openapi: the OpenAPI documents of the krs API server.
//!
//! kubectl fetches `/openapi/v2` (as gnostic protobuf) before it creates or applies anything and
//! asks `/openapi/v3` whether the server validates fields itself (`fieldValidation` on the PATCH
//! operation of the object's group/version/kind); `kubectl explain` renders the v3 (or, for older
//! clients, v2) schemas. This crate generates those documents from the resource catalog, which
//! the API server converts into [`ResourceDoc`]s: the schemas of the built-in kinds come from
//! k8s-openapi's `JsonSchema` impls (upstream's definition names and descriptions), the paths and
//! operations are generated as upstream's API server generates them for every served resource and
//! subresource. Per-field patch metadata (`x-kubernetes-patch-merge-key`, list types...) is fed in
//! through [`OpenApi::with_field_extensions`].
//!
//! Nothing is built at startup: each document is built on its first request, encoded, and only
//! the bytes are kept.

mod definitions;
mod digest;
mod gnostic;
mod kinds;
mod operations;
mod parameters;
mod v2;
mod v3;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

/// The content type of [`OpenApi::v2_protobuf`] responses. Clients ask for it as
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (the deprecated spelling kubectl
/// still sends) or with `.v1.0`; the response must name the `.v1.0` spelling, because Go's MIME
/// parser rejects the `@` and client-go then fails the request.
pub const V2_PROTOBUF_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// A served resource of the catalog, as the OpenAPI documents need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDoc {
    pub group: String,
    pub version: String,
    /// The plural resource name, e.g. `deployments`.
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
    /// Discovery's verbs: get, list, watch, create, update, patch, delete, deletecollection.
    pub verbs: Vec<String>,
    /// `(name, kind group, kind version, kind, verbs)`: `status` names the resource's own kind,
    /// `scale` autoscaling/v1 Scale, `exec` core/v1 PodExecOptions (a connect subresource)...
    pub subresources: Vec<(String, String, String, String, Vec<String>)>,
}

/// Extra vendor extensions of a definition's property: called with a definition name
/// (`io.k8s.api.core.v1.PodSpec`) and a property name (`containers`), or with an empty property
/// name for the definition itself; returns the extensions to set, e.g.
/// `("x-kubernetes-patch-merge-key", "name")`.
pub type FieldExtensions = Arc<dyn Fn(&str, &str) -> Vec<(String, serde_json::Value)> + Send + Sync>;

/// The OpenAPI documents of a set of served resources, built on first request and cached.
pub struct OpenApi {
    resources: Vec<ResourceDoc>,
    extensions: Option<FieldExtensions>,
    v2_json: OnceLock<Bytes>,
    v2_protobuf: OnceLock<Bytes>,
    etag_v2: OnceLock<String>,
    v3_index: OnceLock<V3Index>,
    /// The group-version documents asked for so far; the others are only hashed.
    v3_documents: Mutex<HashMap<String, Bytes>>,
}

/// The v3 discovery document and the hash of every document it lists.
struct V3Index {
    body: Bytes,
    hashes: HashMap<String, String>,
}

impl OpenApi {
    /// `resources`: every served resource of the catalog. Nothing is built until asked for.
    pub fn new(resources: Vec<ResourceDoc>) -> OpenApi {
        OpenApi {
            resources,
            extensions: None,
            v2_json: OnceLock::new(),
            v2_protobuf: OnceLock::new(),
            etag_v2: OnceLock::new(),
            v3_index: OnceLock::new(),
            v3_documents: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the per-field extensions (patch strategies, merge keys, list and map types) that the
    /// schemas carry, in addition to those k8s-openapi's schemas already have. Documents built
    /// before are dropped.
    pub fn with_field_extensions(
        &mut self,
        f: impl Fn(&str, &str) -> Vec<(String, serde_json::Value)> + Send + Sync + 'static,
    ) {
        self.extensions = Some(Arc::new(f));
        self.v2_json = OnceLock::new();
        self.v2_protobuf = OnceLock::new();
        self.etag_v2 = OnceLock::new();
        self.v3_index = OnceLock::new();
        self.v3_documents = Mutex::new(HashMap::new());
    }

    /// The swagger 2.0 document, as JSON.
    pub fn v2_json(&self) -> Bytes {
        self.v2_json
            .get_or_init(|| {
                let document = v2::document(&self.resources, self.extensions.as_ref());
                to_json(&document)
            })
            .clone()
    }

    /// The swagger 2.0 document as a gnostic `openapi.v2.Document` protobuf message, served as
    /// [`V2_PROTOBUF_CONTENT_TYPE`].
    pub fn v2_protobuf(&self) -> Bytes {
        self.v2_protobuf
            .get_or_init(|| {
                let document = v2::document(&self.resources, self.extensions.as_ref());
                Bytes::from(gnostic::encode_document(&document))
            })
            .clone()
    }

    /// The quoted entity tag of the v2 document (the same for both encodings).
    pub fn etag_v2(&self) -> String {
        self.etag_v2.get_or_init(|| format!("\"{}\"", digest::hex(&self.v2_protobuf()))).clone()
    }

    /// The v3 discovery document: every group-version document's path and hashed URL.
    pub fn v3_index(&self) -> Bytes {
        self.index().body.clone()
    }

    /// The OpenAPI 3.0 document of `path` (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`,
    /// `apis`, `version`), or None when no such document is served.
    pub fn v3_document(&self, path: &str) -> Option<Bytes> {
        let path = path.trim_matches('/');
        self.index().hashes.get(path)?;
        let mut cache = self.v3_documents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bytes) = cache.get(path) {
            return Some(bytes.clone());
        }
        let document = v3::document(&self.resources, self.extensions.as_ref(), path)?;
        let bytes = to_json(&document);
        cache.insert(path.to_string(), bytes.clone());
        Some(bytes)
    }

    /// The hash that versions the v3 document of `path` (the `hash` query parameter of its URL).
    pub fn hash_v3(&self, path: &str) -> Option<String> {
        self.index().hashes.get(path.trim_matches('/')).cloned()
    }

    /// Builds every v3 document once to hash it; only the hashes are kept, so that a client that
    /// reads one group-version does not keep all of them in memory.
    fn index(&self) -> &V3Index {
        self.v3_index.get_or_init(|| {
            let mut hashes = HashMap::new();
            v3::for_each_document(&self.resources, self.extensions.as_ref(), |path, document| {
                hashes.insert(path.to_string(), digest::hex(&to_json(document)));
            });
            let body = v3::index(&hashes);
            V3Index { body: to_json(&body), hashes }
        })
    }
}

/// The compact JSON of a document. Serializing a `Value` into memory cannot fail: its map keys
/// are strings.
fn to_json(document: &serde_json::Value) -> Bytes {
    Bytes::from(serde_json::to_vec(document).unwrap_or_default())
}
