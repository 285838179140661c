//! The paths of one served resource: its collection and objects, the deprecated watch paths,
//! the all-namespaces list, and its subresources (parts, other kinds, connections, logs).

use super::{
    ACCEPTED, ANY, Body, CREATED, LOG, Method, OBJECT, OK, Operation, PATCHES, Payload, Route, STREAM,
    SubresourceClass, capitalize, classify, document_of, group_id, prefix, responses, tag,
};
use crate::ResourceDoc;
use crate::definitions::{self, Definitions, Gvk};
use crate::parameters::{self, Parameter};

/// The routes of one resource and its subresources.
pub(super) struct ResourceRoutes<'a> {
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
    pub(super) fn new(resource: &'a ResourceDoc, definitions: &'a Definitions) -> ResourceRoutes<'a> {
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

    pub(super) fn add(&self, routes: &mut Vec<Route>) {
        self.add_collection(routes);
        self.add_object(routes);
        if self.has("watch") {
            self.add_watches(routes);
        }
        self.add_all_namespaces(routes);
        self.add_subresources(routes);
    }

    /// The list of a namespaced resource's objects in every namespace.
    fn add_all_namespaces(&self, routes: &mut Vec<Route>) {
        let (id, kind) = (&self.id, self.kind());
        if self.resource.namespaced
            && self.has("list")
            && let Some(list) = &self.list
        {
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
            parameters.sort_by_key(|p| p.name);
            routes.push(self.route(format!("{prefix}/{}", self.resource.resource), parameters, vec![op]));
        }
    }

    /// The item and status payloads and the DeleteOptions body, which most operations use.
    fn payloads(&self) -> (Payload, Payload, Body) {
        let item = Payload::Definition(self.item.clone());
        let status = Payload::Definition(definitions::STATUS.to_string());
        let delete_options =
            Body { payload: Payload::Definition(definitions::DELETE_OPTIONS.to_string()), required: false };
        (item, status, delete_options)
    }

    /// The collection's path: list, create, deletecollection.
    fn add_collection(&self, routes: &mut Vec<Route>) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let (item, status, delete_options) = self.payloads();
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
            let mut op =
                self.operation(Method::Post, format!("create{id}{scope}{kind}"), format!("create a {kind}"), "post");
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
    }

    /// The object's path: read, replace, patch, delete.
    fn add_object(&self, routes: &mut Vec<Route>) {
        let (id, scope, kind) = (&self.id, self.scope, self.kind());
        let (item, status, delete_options) = self.payloads();
        let mut object = Vec::new();
        if self.has("get") {
            let mut op = self.operation(
                Method::Get,
                format!("read{id}{scope}{kind}"),
                format!("read the specified {kind}"),
                "get",
            );
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
            object.push(self.patch(
                format!("patch{id}{scope}{kind}"),
                format!("partially update the specified {kind}"),
                item.clone(),
            ));
        }
        if self.has("delete") {
            let mut op = self.operation(
                Method::Delete,
                format!("delete{id}{scope}{kind}"),
                format!("delete a {kind}"),
                "delete",
            );
            op.parameters = parameters::queries(parameters::DELETE);
            op.body = Some(delete_options);
            op.responses = responses(&[OK, ACCEPTED], Some(status));
            object.push(op);
        }
        if !object.is_empty() {
            routes.push(self.route(self.item_path.clone(), self.item_parameters(), object));
        }
    }

    fn add_subresources(&self, routes: &mut Vec<Route>) {
        let (item, _, _) = self.payloads();
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
            let mut op = self.operation(
                Method::Post,
                format!("create{id}{scope}{kind}{sub}"),
                format!("create {name} of a {kind}"),
                "post",
            );
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
