//! The paths and operations of the served resources, as upstream's API server installs them.
//!
//! Both documents render this one model: swagger 2.0 ([`crate::v2`]) and OpenAPI 3.0
//! ([`crate::v3`]). Operation ids, tags, actions and the per-verb parameters follow upstream's
//! generator, because clients key on them: kubectl finds a kind's PATCH operation by its
//! `x-kubernetes-group-version-kind` and looks for `fieldValidation` among its parameters;
//! `kubectl explain` finds a resource's kind through the operations of its path.

mod resource;

use crate::ResourceDoc;
use crate::definitions::{self, Definitions, Gvk};
use crate::kinds;
use crate::parameters::Parameter;

use resource::ResourceRoutes;

/// An HTTP method, in the order of swagger's path item fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
}

impl Method {
    /// The path item's key.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
        }
    }

    /// As it appears in connect operation ids (`connectCoreV1GetNamespacedPodExec`).
    fn title(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Put => "Put",
            Method::Post => "Post",
            Method::Delete => "Delete",
            Method::Options => "Options",
            Method::Head => "Head",
            Method::Patch => "Patch",
        }
    }
}

/// What a request or response body holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// An object of a definition.
    Definition(String),
    /// Text (logs, streams).
    Text,
}

#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub code: &'static str,
    pub description: &'static str,
    pub payload: Option<Payload>,
}

#[derive(Clone, Debug)]
pub(crate) struct Body {
    pub payload: Payload,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub method: Method,
    pub id: String,
    pub description: String,
    pub tag: String,
    /// `x-kubernetes-action`: get, list, watch, watchlist, post, put, patch, delete,
    /// deletecollection, connect.
    pub action: Option<&'static str>,
    pub gvk: Option<Gvk>,
    pub parameters: Vec<Parameter>,
    pub body: Option<Body>,
    pub consumes: &'static [&'static str],
    pub produces: &'static [&'static str],
    pub responses: Vec<Response>,
}

#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub path: String,
    /// The v3 document that lists the path: `api/v1`, `apis/apps/v1`, `apis/apps`, `api`,
    /// `apis` or `version`.
    pub document: String,
    /// Parameters of every operation of the path (path segments, `pretty`).
    pub parameters: Vec<Parameter>,
    pub operations: Vec<Operation>,
}

const ANY: &[&str] = &["*/*"];
const OBJECT: &[&str] = &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
const STREAM: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];
const PATCHES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
const LOG: &[&str] = &["text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];

/// How a subresource is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubresourceClass {
    /// A part of the parent object (status, ephemeralcontainers, finalize...).
    SameKind,
    /// An object of another kind (scale, eviction, binding, token).
    OtherKind,
    /// A connection (exec, attach, portforward, proxy), named by its options kind.
    Connect,
    /// The text of a pod's log.
    Log,
}

/// Tells what a subresource of `resource` is from its name and kind.
pub(crate) fn classify(resource: &ResourceDoc, name: &str, group: &str, version: &str, kind: &str) -> SubresourceClass {
    if name == "log" {
        SubresourceClass::Log
    } else if kind.ends_with("Options") && kinds::find(group, version, kind).is_none() {
        SubresourceClass::Connect
    } else if kind == resource.kind
        && ((group.is_empty() && version.is_empty()) || (group == resource.group && version == resource.version))
    {
        // The parent's kind, named in full or by kind alone.
        SubresourceClass::SameKind
    } else {
        SubresourceClass::OtherKind
    }
}

/// Every path of the served resources, sorted by path.
pub(crate) fn routes(resources: &[ResourceDoc], definitions: &Definitions) -> Vec<Route> {
    let mut routes = discovery_routes(resources);
    for resource in resources {
        ResourceRoutes::new(resource, definitions).add(&mut routes);
    }
    routes.sort_by(|a, b| a.path.cmp(&b.path));
    routes
}

/// The path prefix of a group/version: `/api/v1`, `/apis/apps/v1`.
fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") }
}

/// The v3 document of a group/version: `api/v1`, `apis/apps/v1`.
pub(crate) fn document_of(group: &str, version: &str) -> String {
    prefix(group, version).trim_start_matches('/').to_string()
}

/// A group's part of operation ids: `Core`, `Apps`, `RbacAuthorization`, `FlowcontrolApiserver`.
fn group_id(group: &str) -> String {
    if group.is_empty() {
        return "Core".to_string();
    }
    group.trim_end_matches(".k8s.io").split('.').map(capitalize).collect()
}

/// A group/version's tag: `core_v1`, `apps_v1`, `rbacAuthorization_v1`.
fn tag(group: &str, version: &str) -> String {
    format!("{}_{version}", group_tag(group))
}

fn group_tag(group: &str) -> String {
    let id = group_id(group);
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => id,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn responses(codes: &[(&'static str, &'static str)], payload: Option<Payload>) -> Vec<Response> {
    let mut responses: Vec<Response> =
        codes.iter().map(|(code, description)| Response { code, description, payload: payload.clone() }).collect();
    responses.push(Response { code: "401", description: "Unauthorized", payload: None });
    responses
}

const OK: (&str, &str) = ("200", "OK");
const CREATED: (&str, &str) = ("201", "Created");
const ACCEPTED: (&str, &str) = ("202", "Accepted");

/// The discovery paths: `/api/`, `/apis/`, each group's and each group/version's, `/version/`.
fn discovery_routes(resources: &[ResourceDoc]) -> Vec<Route> {
    let get = |path: String, document: String, id: String, description: &str, tag: String, definition: &str| Route {
        path,
        document,
        parameters: Vec::new(),
        operations: vec![Operation {
            method: Method::Get,
            id,
            description: description.to_string(),
            tag,
            action: None,
            gvk: None,
            parameters: Vec::new(),
            body: None,
            consumes: OBJECT,
            produces: OBJECT,
            responses: responses(&[OK], Some(Payload::Definition(definition.to_string()))),
        }],
    };
    let mut routes = vec![
        get(
            "/api/".into(),
            "api".into(),
            "getCoreAPIVersions".into(),
            "get available API versions",
            "core".into(),
            definitions::API_VERSIONS,
        ),
        get(
            "/apis/".into(),
            "apis".into(),
            "getAPIVersions".into(),
            "get available API versions",
            "apis".into(),
            definitions::API_GROUP_LIST,
        ),
        get(
            "/version/".into(),
            "version".into(),
            "getCodeVersion".into(),
            "get the version information for this server",
            "version".into(),
            definitions::VERSION_INFO,
        ),
    ];
    let mut groups: Vec<&str> = resources.iter().map(|r| r.group.as_str()).filter(|g| !g.is_empty()).collect();
    groups.sort_unstable();
    groups.dedup();
    for group in groups {
        routes.push(get(
            format!("/apis/{group}/"),
            format!("apis/{group}"),
            format!("get{}APIGroup", group_id(group)),
            "get information of a group",
            group_tag(group),
            definitions::API_GROUP,
        ));
    }
    let mut group_versions: Vec<(&str, &str)> =
        resources.iter().map(|r| (r.group.as_str(), r.version.as_str())).collect();
    group_versions.sort_unstable();
    group_versions.dedup();
    for (group, version) in group_versions {
        routes.push(get(
            format!("{}/", prefix(group, version)),
            document_of(group, version),
            format!("get{}{}APIResources", group_id(group), capitalize(version)),
            "get available resources",
            tag(group, version),
            definitions::API_RESOURCE_LIST,
        ));
    }
    routes
}
