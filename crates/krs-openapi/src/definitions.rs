//! The schema definitions: every type reachable from the served kinds, named as upstream names
//! them (`io.k8s.api.core.v1.Pod`), in swagger 2.0 form (references are `#/definitions/<name>`).
//!
//! The built-in kinds' schemas and descriptions are k8s-openapi's. On top of them this module
//! adds what upstream's definitions carry and k8s-openapi's do not: the `<Kind>List` kinds,
//! `x-kubernetes-group-version-kind` on every kind, and the per-field extensions fed through
//! [`FieldExtensions`]. It also brings the few schemas that differ from upstream's back to
//! upstream's shape, because kubectl parses them (see [`normalize`]).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::operations::{SubresourceClass, classify};
use crate::{FieldExtensions, ResourceDoc, kinds};

pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
pub(crate) const API_GROUP_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList";
pub(crate) const API_GROUP: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup";
pub(crate) const API_VERSIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions";
pub(crate) const VERSION_INFO: &str = "io.k8s.apimachinery.pkg.version.Info";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The prefix of a swagger 2.0 reference to a definition.
pub(crate) const REF_PREFIX: &str = "#/definitions/";

/// A group/version/kind, ordered as upstream orders them in extensions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk { group: group.to_string(), version: version.to_string(), kind: kind.to_string() }
    }

    /// The `{group, kind, version}` object of `x-kubernetes-group-version-kind`.
    pub fn to_value(&self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// A reference to a definition.
pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

/// The definitions of a set of served resources.
pub(crate) struct Definitions {
    /// Definition name → schema.
    pub schemas: Map<String, Value>,
    /// Served kind (its list kind, a subresource's kind) → definition name.
    names: BTreeMap<Gvk, String>,
}

impl Definitions {
    pub fn build(resources: &[ResourceDoc], extensions: Option<&FieldExtensions>) -> Definitions {
        let mut generator = SchemaSettings::draft07()
            .with(|settings| {
                settings.meta_schema = None;
                settings.definitions_path = "/definitions".into();
            })
            .into_generator();
        // The kinds every document refers to, whatever is served.
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::Status>();
        generator.subschema_for::<meta::Patch>();
        generator.subschema_for::<meta::ListMeta>();
        generator.subschema_for::<meta::APIResourceList>();
        generator.subschema_for::<meta::APIGroupList>();
        generator.subschema_for::<meta::APIGroup>();
        generator.subschema_for::<meta::APIVersions>();
        generator.subschema_for::<meta::WatchEvent<RawExtension>>();
        generator.subschema_for::<k8s_openapi::apimachinery::pkg::version::Info>();

        let mut names = BTreeMap::new();
        let mut generic = Vec::new();
        let mut listed = Vec::new();
        for resource in resources {
            let gvk = Gvk::new(&resource.group, &resource.version, &resource.kind);
            let mut served = vec![gvk.clone()];
            for (name, group, version, kind, _) in &resource.subresources {
                if classify(resource, name, group, version, kind) == SubresourceClass::OtherKind {
                    served.push(Gvk::new(group, version, kind));
                }
            }
            for gvk in served {
                if names.contains_key(&gvk) {
                    continue;
                }
                let name = match kinds::find(&gvk.group, &gvk.version, &gvk.kind) {
                    Some(known) => (known.add)(&mut generator),
                    None => {
                        let name = generic_name(&gvk);
                        generic.push((name.clone(), gvk.clone()));
                        name
                    }
                };
                names.insert(gvk, name);
            }
            if resource.verbs.iter().any(|verb| verb == "list") {
                listed.push(gvk);
            }
        }

        let mut schemas = generator.take_definitions(false);
        for (name, gvk) in generic {
            schemas.entry(name).or_insert_with(|| generic_schema(&gvk));
        }
        for gvk in listed {
            let Some(item) = names.get(&gvk).cloned() else {
                continue;
            };
            let list_name = format!("{item}List");
            let list = list_schema(&schemas, &item, &gvk.kind);
            schemas.entry(list_name.clone()).or_insert(list);
            names.insert(Gvk::new(&gvk.group, &gvk.version, &format!("{}List", gvk.kind)), list_name);
        }

        normalize(&mut schemas);
        let mut definitions = Definitions { schemas, names };
        definitions.set_group_version_kinds(resources);
        if let Some(extensions) = extensions {
            definitions.apply(extensions);
        }
        definitions
    }

    /// The definition name of a served kind.
    pub fn name(&self, gvk: &Gvk) -> Option<&str> {
        self.names.get(gvk).map(String::as_str)
    }

    /// The names of `roots` and of every definition they reference, transitively.
    pub fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut pending: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = pending.pop() {
            if !self.schemas.contains_key(&name) || !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = self.schemas.get(&name) {
                references(schema, &mut |target| {
                    if !seen.contains(target) {
                        pending.push(target.to_string());
                    }
                });
            }
        }
        seen
    }

    /// Sets `x-kubernetes-group-version-kind` on every served kind and list kind, and on the
    /// meta kinds as upstream sets it (DeleteOptions and WatchEvent name every group/version).
    fn set_group_version_kinds(&mut self, resources: &[ResourceDoc]) {
        let mut by_name: BTreeMap<String, BTreeSet<Gvk>> = BTreeMap::new();
        for (gvk, name) in &self.names {
            by_name.entry(name.clone()).or_default().insert(gvk.clone());
        }
        for (name, kind) in [
            (STATUS, "Status"),
            (API_RESOURCE_LIST, "APIResourceList"),
            (API_GROUP_LIST, "APIGroupList"),
            (API_GROUP, "APIGroup"),
            (API_VERSIONS, "APIVersions"),
        ] {
            by_name.entry(name.to_string()).or_default().insert(Gvk::new("", "v1", kind));
        }
        let mut group_versions: BTreeSet<(String, String)> =
            resources.iter().map(|r| (r.group.clone(), r.version.clone())).collect();
        group_versions.insert((String::new(), "v1".to_string()));
        for (name, kind) in [(DELETE_OPTIONS, "DeleteOptions"), (WATCH_EVENT, "WatchEvent")] {
            let entry = by_name.entry(name.to_string()).or_default();
            for (group, version) in &group_versions {
                entry.insert(Gvk::new(group, version, kind));
            }
        }
        for (name, gvks) in by_name {
            let Some(Value::Object(schema)) = self.schemas.get_mut(&name) else {
                continue;
            };
            let values: Vec<Value> = gvks.iter().map(Gvk::to_value).collect();
            schema.insert("x-kubernetes-group-version-kind".into(), Value::Array(values));
            // k8s-openapi requires metadata because its Rust field is not optional; upstream
            // does not, and `kubectl explain` would print every kind's metadata as required.
            if let Some(Value::Array(required)) = schema.get_mut("required") {
                required.retain(|field| field != "metadata");
                if required.is_empty() {
                    schema.remove("required");
                }
            }
        }
    }

    /// Adds the extensions that `extensions` returns to each definition and property.
    fn apply(&mut self, extensions: &FieldExtensions) {
        for (name, schema) in self.schemas.iter_mut() {
            let Value::Object(schema) = schema else {
                continue;
            };
            for (key, value) in extensions(name, "") {
                schema.insert(key, value);
            }
            let Some(Value::Object(properties)) = schema.get_mut("properties") else {
                continue;
            };
            for (property, property_schema) in properties.iter_mut() {
                let Value::Object(property_schema) = property_schema else {
                    continue;
                };
                for (key, value) in extensions(name, property) {
                    property_schema.insert(key, value);
                }
            }
        }
    }
}

/// Calls `f` with the definition name of every `$ref` in `schema`.
pub(crate) fn references(schema: &Value, f: &mut impl FnMut(&str)) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        if let Some(name) = target.strip_prefix(REF_PREFIX) {
                            f(name);
                        }
                    }
                    _ => references(value, f),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| references(value, f)),
        _ => {}
    }
}

/// The name upstream gives a kind it has no Go type for (a custom resource): the group's DNS
/// labels reversed, then version and kind (`com.example.stable.v1.CronTab`).
fn generic_name(gvk: &Gvk) -> String {
    let group = if gvk.group.is_empty() {
        "io.k8s.api.core".to_string()
    } else {
        gvk.group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{group}.{}.{}", gvk.version, gvk.kind)
}

/// The schema of a kind without a known structure: its type and object metadata, anything else.
fn generic_schema(gvk: &Gvk) -> Value {
    json!({
        "description": format!("{} of {}/{}.", gvk.kind, if gvk.group.is_empty() { "core" } else { &gvk.group }, gvk.version),
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": reference(OBJECT_META),
        },
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// The `<Kind>List` definition: k8s-openapi has one generic `List<T>` without a schema.
fn list_schema(schemas: &Map<String, Value>, item: &str, kind: &str) -> Value {
    let item_property = |property: &str| {
        schemas
            .get(item)
            .and_then(|schema| schema.pointer(&format!("/properties/{property}")))
            .cloned()
            .unwrap_or_else(|| json!({"type": "string"}))
    };
    let mut metadata = reference(LIST_META);
    if let Some(Value::String(description)) = schemas.get(LIST_META).and_then(|s| s.get("description")) {
        metadata["description"] = Value::String(description.clone());
    }
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": item_property("apiVersion"),
            "items": {
                "description": format!("The {kind} objects of the list."),
                "type": "array",
                "items": reference(item),
            },
            "kind": item_property("kind"),
            "metadata": metadata,
        },
        "required": ["items"],
    })
}

/// Brings k8s-openapi's schemas of the few "any of" types back to upstream's swagger shapes.
///
/// k8s-openapi describes them for JSON Schema validators (`x-kubernetes-int-or-string`,
/// `oneOf`), which swagger 2.0 cannot express and which kubectl's v2 parser rejects or reads
/// as a map; upstream publishes an int-or-string string, a string, or an untyped value.
fn normalize(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        let Value::Object(map) = schema else { continue };
        let description = map.get("description").cloned();
        let keep_description = |mut replacement: Map<String, Value>| {
            if let Some(description) = description.clone() {
                replacement.insert("description".into(), description);
            }
            Value::Object(replacement)
        };
        let replacement = match name.as_str() {
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
                Some(json!({"type": "string", "format": "int-or-string"}))
            }
            "io.k8s.apimachinery.pkg.api.resource.Quantity" => Some(json!({"type": "string"})),
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON" => Some(json!({})),
            _ if map.contains_key("oneOf") || map.contains_key("anyOf") => Some(json!({})),
            _ => None,
        };
        if let Some(Value::Object(replacement)) = replacement {
            *schema = keep_description(replacement);
        }
    }
}
