//! The paths and operations of the served resources, as upstream's API server installs them.
//!
//! Both documents render this one model: swagger 2.0 ([`crate::v2`]) and OpenAPI 3.0
//! ([`crate::v3`]). Operation ids, tags, actions and the per-verb parameters follow upstream's
//! generator, because clients key on them: kubectl finds a kind's PATCH operation by its
//! `x-kubernetes-group-version-kind` and looks for `fieldValidation` among its parameters;
//! `kubectl explain` finds a resource's kind through the operations of its path.

use crate::ResourceDoc;
use crate::definitions::{self, Definitions, Gvk};
use crate::kinds;
use crate::parameters::{self, Parameter};

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
    } else if group == resource.group && version == resource.version && kind == resource.kind {
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
    let mut responses: Vec<Response> = codes
        .iter()
        .map(|(code, description)| Response { code, description, payload: payload.clone() })
        .collect();
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

/// The routes of one resource and its subresources.
struct ResourceRoutes<'a> {
    resource: &'a ResourceDoc,
    definitions: &'a Definitions,
    gvk: Gvk,
    /// The definition of the kind, and of its list.
    item: String,
    list: Option<String>,
    document: String,
    tag: String,
    /// `<Group><Version>` of the operation ids.
    id: String,
    /// `Namespaced` for namespaced resources.
    scope: &'static str,
    collection_path: String,
    item_path: String,
}

impl<'a> ResourceRoutes<'a> {
    fn new(resource: &'a ResourceDoc, definitions: &'a Definitions) -> ResourceRoutes<'a> {
        let gvk = Gvk::new(&resource.group, &resource.version, &resource.kind);
        let list_gvk = Gvk::new(&resource.group, &resource.version, &format!("{}List", resource.kind));
        let prefix = prefix(&resource.group, &resource.version);
        let collection_path = if resource.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", resource.resource)
        } else {
            format!("{prefix}/{}", resource.resource)
        };
        ResourceRoutes {
            resource,
            definitions,
            item: definitions.name(&gvk).unwrap_or_default().to_string(),
            list: definitions.name(&list_gvk).map(str::to_string),
            gvk,
            document: document_of(&resource.group, &resource.version),
            tag: tag(&resource.group, &resource.version),
            id: format!("{}{}", group_id(&resource.group), capitalize(&resource.version)),
            scope: if resource.namespaced { "Namespaced" } else { "" },
            item_path: format!("{collection_path}/{{name}}"),
            collection_path,
        }
    }

    fn has(&self, verb: &str) -> bool {
        self.resource.verbs.iter().any(|v| v == verb)
    }

    fn kind(&self) -> &str {
        &self.resource.kind
    }

    /// An operation of this resource's kind, with the fields every operation shares.
    fn operation(&self, method: Method, id: String, description: String, action: &'static str) -> Operation {
        Operation {
            method,
            id,
            description,
            tag: self.tag.clone(),
            action: Some(action),
            gvk: Some(self.gvk.clone()),
            parameters: Vec::new(),
            body: None,
            consumes: ANY,
            produces: OBJECT,
            responses: Vec::new(),
        }
    }

    fn route(&self, path: String, parameters: Vec<Parameter>, operations: Vec<Operation>) -> Route {
        Route { path, document: self.document.clone(), parameters, operations }
    }

    /// `{namespace}` for namespaced resources, then `pretty`.
    fn scope_parameters(&self) -> Vec<Parameter> {
        let mut parameters = Vec::new();
        if self.resource.namespaced {
            parameters.push(parameters::namespace());
        }
        parameters.push(parameters::pretty());
        parameters
    }

    /// `{name}` of the object, then the scope's parameters.
    fn item_parameters(&self) -> Vec<Parameter> {
        let mut parameters = vec![parameters::name(self.kind())];
        parameters.extend(self.scope_parameters());
        parameters
    }

    fn add(&self, routes: &mut Vec<Route>) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let item = Payload::Definition(self.item.clone());
        let status = Payload::Definition(definitions::STATUS.to_string());
        let delete_options = Body { payload: Payload::Definition(definitions::DELETE_OPTIONS.to_string()), required: false };

        let mut collection = Vec::new();
        if let (true, Some(list)) = (self.has("list"), &self.list) {
            let mut op = self.operation(
                Method::Get,
                format!("list{id}{scope}{kind}"),
                format!("list or watch objects of kind {kind}"),
                "list",
            );
            op.parameters = parameters::queries(parameters::LIST);
            op.produces = STREAM;
            op.responses = responses(&[OK], Some(Payload::Definition(list.clone())));
            collection.push(op);
        }
        if self.has("create") {
            let mut op = self.operation(Method::Post, format!("create{id}{scope}{kind}"), format!("create a {kind}"), "post");
            op.parameters = parameters::queries(parameters::WRITE);
            op.body = Some(Body { payload: item.clone(), required: true });
            op.responses = responses(&[OK, CREATED, ACCEPTED], Some(item.clone()));
            collection.push(op);
        }
        if self.has("deletecollection") {
            let mut op = self.operation(
                Method::Delete,
                format!("delete{id}Collection{scope}{kind}"),
                format!("delete collection of {kind}"),
                "deletecollection",
            );
            op.parameters = parameters::queries(parameters::DELETE_COLLECTION);
            op.body = Some(delete_options.clone());
            op.responses = responses(&[OK], Some(status.clone()));
            collection.push(op);
        }
        if !collection.is_empty() {
            routes.push(self.route(self.collection_path.clone(), self.scope_parameters(), collection));
        }

        let mut object = Vec::new();
        if self.has("get") {
            let mut op =
                self.operation(Method::Get, format!("read{id}{scope}{kind}"), format!("read the specified {kind}"), "get");
            op.responses = responses(&[OK], Some(item.clone()));
            object.push(op);
        }
        if self.has("update") {
            let mut op = self.operation(
                Method::Put,
                format!("replace{id}{scope}{kind}"),
                format!("replace the specified {kind}"),
                "put",
            );
            op.parameters = parameters::queries(parameters::WRITE);
            op.body = Some(Body { payload: item.clone(), required: true });
            op.responses = responses(&[OK, CREATED], Some(item.clone()));
            object.push(op);
        }
        if self.has("patch") {
            object.push(self.patch(format!("patch{id}{scope}{kind}"), format!("partially update the specified {kind}"), item.clone()));
        }
        if self.has("delete") {
            let mut op = self.operation(Method::Delete, format!("delete{id}{scope}{kind}"), format!("delete a {kind}"), "delete");
            op.parameters = parameters::queries(parameters::DELETE);
            op.body = Some(delete_options);
            op.responses = responses(&[OK, ACCEPTED], Some(status));
            object.push(op);
        }
        if !object.is_empty() {
            routes.push(self.route(self.item_path.clone(), self.item_parameters(), object));
        }

        if self.has("watch") {
            self.add_watches(routes);
        }
        if self.resource.namespaced && self.has("list") {
            if let Some(list) = &self.list {
                let prefix = prefix(&self.resource.group, &self.resource.version);
                let mut op = self.operation(
                    Method::Get,
                    format!("list{id}{kind}ForAllNamespaces"),
                    format!("list or watch objects of kind {kind}"),
                    "list",
                );
                op.produces = STREAM;
                op.responses = responses(&[OK], Some(Payload::Definition(list.clone())));
                let mut parameters = parameters::queries(parameters::LIST);
                parameters.push(parameters::pretty());
                routes.push(self.route(format!("{prefix}/{}", self.resource.resource), parameters, vec![op]));
            }
        }
        for (name, group, version, sub_kind, verbs) in &self.resource.subresources {
            let sub_gvk = Gvk::new(group, version, sub_kind);
            match classify(self.resource, name, group, version, sub_kind) {
                SubresourceClass::SameKind => self.add_part(routes, name, self.gvk.clone(), item.clone(), verbs),
                SubresourceClass::OtherKind => {
                    let definition = self.definitions.name(&sub_gvk).unwrap_or(sub_kind);
                    let payload = Payload::Definition(definition.to_string());
                    self.add_part(routes, name, sub_gvk, payload, verbs)
                }
                SubresourceClass::Connect => self.add_connect(routes, name, sub_gvk, verbs),
                SubresourceClass::Log => self.add_log(routes, name),
            }
        }
    }

    /// A PATCH operation: any patch type, answered with the object.
    fn patch(&self, id: String, description: String, item: Payload) -> Operation {
        let mut op = self.operation(Method::Patch, id, description, "patch");
        op.parameters = parameters::queries(parameters::PATCH);
        op.body = Some(Body { payload: Payload::Definition(definitions::PATCH.to_string()), required: true });
        op.consumes = PATCHES;
        op.responses = responses(&[OK, CREATED], Some(item));
        op
    }

    /// The deprecated watch paths: `/watch/...` of the collection and of one object, and the
    /// all-namespaces watch of namespaced resources. Their parameters are all the path's.
    fn add_watches(&self, routes: &mut Vec<Route>) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let prefix = prefix(&self.resource.group, &self.resource.version);
        let watch_collection = self.collection_path.replacen(&prefix, &format!("{prefix}/watch"), 1);
        let event = Payload::Definition(definitions::WATCH_EVENT.to_string());
        let watch = |id: String, description: String, action: &'static str| {
            let mut op = self.operation(Method::Get, id, description, action);
            op.produces = STREAM;
            op.responses = responses(&[OK], Some(event.clone()));
            op
        };
        let with = |mut parameters: Vec<Parameter>| {
            parameters.extend(parameters::queries(parameters::LIST));
            parameters.sort_by_key(|p| p.name);
            parameters
        };
        let deprecated = "deprecated: use the 'watch' parameter with a list operation instead";
        routes.push(self.route(
            watch_collection.clone(),
            with(self.scope_parameters()),
            vec![watch(
                format!("watch{id}{scope}{kind}List"),
                format!("watch individual changes to a list of {kind}. {deprecated}."),
                "watchlist",
            )],
        ));
        routes.push(self.route(
            format!("{watch_collection}/{{name}}"),
            with(self.item_parameters()),
            vec![watch(
                format!("watch{id}{scope}{kind}"),
                format!("watch changes to an object of kind {kind}. {deprecated}, filtered to a single item with the 'fieldSelector' parameter."),
                "watch",
            )],
        ));
        if self.resource.namespaced {
            routes.push(self.route(
                format!("{prefix}/watch/{}", self.resource.resource),
                with(vec![parameters::pretty()]),
                vec![watch(
                    format!("watch{id}{kind}ListForAllNamespaces"),
                    format!("watch individual changes to a list of {kind}. {deprecated}."),
                    "watchlist",
                )],
            ));
        }
    }

    /// A subresource read and written as an object: the parent's (status) or another kind's
    /// (scale, eviction).
    fn add_part(&self, routes: &mut Vec<Route>, name: &str, gvk: Gvk, payload: Payload, verbs: &[String]) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let sub = capitalize(name);
        let has = |verb: &str| verbs.iter().any(|v| v == verb);
        let with_gvk = |mut op: Operation| {
            op.gvk = Some(gvk.clone());
            op
        };
        let mut operations = Vec::new();
        if has("get") {
            let mut op = self.operation(
                Method::Get,
                format!("read{id}{scope}{kind}{sub}"),
                format!("read {name} of the specified {kind}"),
                "get",
            );
            op.responses = responses(&[OK], Some(payload.clone()));
            operations.push(with_gvk(op));
        }
        if has("create") {
            let mut op =
                self.operation(Method::Post, format!("create{id}{scope}{kind}{sub}"), format!("create {name} of a {kind}"), "post");
            op.parameters = parameters::queries(parameters::WRITE);
            op.body = Some(Body { payload: payload.clone(), required: true });
            op.responses = responses(&[OK, CREATED, ACCEPTED], Some(payload.clone()));
            operations.push(with_gvk(op));
        }
        if has("update") {
            let mut op = self.operation(
                Method::Put,
                format!("replace{id}{scope}{kind}{sub}"),
                format!("replace {name} of the specified {kind}"),
                "put",
            );
            op.parameters = parameters::queries(parameters::WRITE);
            op.body = Some(Body { payload: payload.clone(), required: true });
            op.responses = responses(&[OK, CREATED], Some(payload.clone()));
            operations.push(with_gvk(op));
        }
        if has("patch") {
            let op = self.patch(
                format!("patch{id}{scope}{kind}{sub}"),
                format!("partially update {name} of the specified {kind}"),
                payload.clone(),
            );
            operations.push(with_gvk(op));
        }
        if !operations.is_empty() {
            routes.push(self.route(format!("{}/{name}", self.item_path), self.item_parameters(), operations));
        }
    }

    /// A connect subresource (exec, attach, portforward, proxy): one operation per method, the
    /// options as query parameters; proxies also take a trailing `{path}`.
    fn add_connect(&self, routes: &mut Vec<Route>, name: &str, gvk: Gvk, verbs: &[String]) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let sub = capitalize(name);
        let mut methods: Vec<Method> = verbs
            .iter()
            .filter_map(|verb| match verb.as_str() {
                "get" => Some(Method::Get),
                "create" => Some(Method::Post),
                "update" => Some(Method::Put),
                "patch" => Some(Method::Patch),
                "delete" => Some(Method::Delete),
                _ => None,
            })
            .collect();
        if name == "proxy" && !methods.is_empty() {
            methods.extend([Method::Head, Method::Options]);
        }
        methods.sort();
        let operations = |suffix: &str, with_path: bool| -> Vec<Operation> {
            methods
                .iter()
                .map(|method| {
                    let mut op = self.operation(
                        *method,
                        format!("connect{id}{}{scope}{kind}{sub}{suffix}", method.title()),
                        format!("connect {} requests to {name} of {kind}", method.key().to_uppercase()),
                        "connect",
                    );
                    op.gvk = Some(gvk.clone());
                    op.parameters = parameters::queries(parameters::connect(&gvk.kind))
                        .into_iter()
                        .filter(|p| !(with_path && p.name == "path"))
                        .collect();
                    op.produces = ANY;
                    op.responses = responses(&[OK], Some(Payload::Text));
                    op
                })
                .collect()
        };
        let mut parameters = vec![parameters::name(&gvk.kind)];
        if self.resource.namespaced {
            parameters.push(parameters::namespace());
        }
        let base = format!("{}/{name}", self.item_path);
        if name == "proxy" {
            let mut with_path = parameters.clone();
            with_path.push(parameters::proxy_path());
            routes.push(self.route(format!("{base}/{{path}}"), with_path, operations("WithPath", true)));
        }
        routes.push(self.route(base, parameters, operations("", false)));
    }

    /// A pod's log: text, read with the log options.
    fn add_log(&self, routes: &mut Vec<Route>, name: &str) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let mut op = self.operation(
            Method::Get,
            format!("read{id}{scope}{kind}{}", capitalize(name)),
            format!("read {name} of the specified {kind}"),
            "get",
        );
        op.parameters = parameters::queries(parameters::LOG);
        op.produces = LOG;
        op.responses = responses(&[OK], Some(Payload::Text));
        routes.push(self.route(format!("{}/{name}", self.item_path), self.item_parameters(), vec![op]));
    }
}
