//! The OpenAPI 3.0 documents (`/openapi/v3/<path>`): one per group/version (`api/v1`,
//! `apis/apps/v1`), one per group's discovery (`apis/apps`), and `api`, `apis`, `version`.
//!
//! Each document holds its paths and the definitions they reference, transitively, as
//! `components/schemas`. A property that references a definition and says more (a description,
//! extensions) wraps the reference in `allOf`, as upstream does: OpenAPI 3.0 ignores the siblings
//! of a `$ref`, and `kubectl explain` follows `allOf`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::definitions::{Definitions, REF_PREFIX};
use crate::operations::{self, Operation, Payload, Route};
use crate::parameters::{Location, Parameter};
use crate::v2::KUBERNETES_VERSION;
use crate::{FieldExtensions, ResourceDoc};

const COMPONENTS_PREFIX: &str = "#/components/schemas/";

/// Calls `f` with every document and its path, one at a time, so that only one is in memory.
pub(crate) fn for_each_document(
    resources: &[ResourceDoc],
    extensions: Option<&FieldExtensions>,
    mut f: impl FnMut(&str, &Value),
) {
    let definitions = Definitions::build(resources, extensions);
    let routes = operations::routes(resources, &definitions);
    let mut by_document: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for route in &routes {
        by_document.entry(route.document.as_str()).or_default().push(route);
    }
    for (path, routes) in by_document {
        f(path, &render(&definitions, &routes));
    }
}

/// The document of `path`, or None when no route belongs to it.
pub(crate) fn document(resources: &[ResourceDoc], extensions: Option<&FieldExtensions>, path: &str) -> Option<Value> {
    let definitions = Definitions::build(resources, extensions);
    let routes = operations::routes(resources, &definitions);
    let routes: Vec<&Route> = routes.iter().filter(|route| route.document == path).collect();
    if routes.is_empty() {
        return None;
    }
    Some(render(&definitions, &routes))
}

/// The discovery document of `/openapi/v3`: each document's path and versioned URL.
pub(crate) fn index(hashes: &HashMap<String, String>) -> Value {
    let paths: Map<String, Value> = hashes
        .iter()
        .map(|(path, hash)| (path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")})))
        .collect();
    json!({ "paths": paths })
}

fn render(definitions: &Definitions, routes: &[&Route]) -> Value {
    let mut roots = Vec::new();
    for route in routes {
        for operation in &route.operations {
            let body = operation.body.iter().map(|body| &body.payload);
            let responses = operation.responses.iter().filter_map(|response| response.payload.as_ref());
            for payload in body.chain(responses) {
                if let Payload::Definition(name) = payload {
                    roots.push(name.as_str());
                }
            }
        }
    }
    let schemas: Map<String, Value> = definitions
        .closure(roots)
        .into_iter()
        .filter_map(|name| {
            definitions.schemas.get(&name).map(|schema| (name.clone(), one_of_types(&name, schema_v3(schema))))
        })
        .collect();
    let paths: Map<String, Value> = routes.iter().map(|route| (route.path.clone(), path_item(route))).collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer Token authentication",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey",
                },
            },
        },
        "security": [{"BearerToken": []}],
    })
}

fn path_item(route: &Route) -> Value {
    let mut item = Map::new();
    for operation in &route.operations {
        item.insert(operation.method.key().to_string(), self::operation(operation));
    }
    if !route.parameters.is_empty() {
        item.insert("parameters".into(), route.parameters.iter().map(parameter).collect());
    }
    Value::Object(item)
}

fn operation(operation: &Operation) -> Value {
    let responses: Map<String, Value> = operation
        .responses
        .iter()
        .map(|response| {
            let mut value = json!({"description": response.description});
            if let Some(payload) = &response.payload {
                value["content"] = content(operation.produces, payload);
            }
            (response.code.to_string(), value)
        })
        .collect();
    let mut value = json!({
        "description": operation.description,
        "operationId": operation.id,
        "responses": responses,
        "tags": [operation.tag],
    });
    if !operation.parameters.is_empty() {
        value["parameters"] = operation.parameters.iter().map(parameter).collect();
    }
    if let Some(body) = &operation.body {
        let mut request = json!({"content": content(operation.consumes, &body.payload)});
        if body.required {
            request["required"] = Value::Bool(true);
        }
        value["requestBody"] = request;
    }
    if let Some(action) = operation.action {
        value["x-kubernetes-action"] = Value::String(action.to_string());
    }
    if let Some(gvk) = &operation.gvk {
        value["x-kubernetes-group-version-kind"] = gvk.to_value();
    }
    value
}

fn content(media_types: &[&str], payload: &Payload) -> Value {
    let schema = match payload {
        Payload::Definition(name) => json!({"$ref": format!("{COMPONENTS_PREFIX}{name}")}),
        Payload::Text => json!({"type": "string"}),
    };
    let content: Map<String, Value> =
        media_types.iter().map(|media_type| (media_type.to_string(), json!({"schema": schema}))).collect();
    Value::Object(content)
}

fn parameter(parameter: &Parameter) -> Value {
    let mut value = json!({
        "description": parameter.description,
        "in": match parameter.location { Location::Path => "path", Location::Query => "query" },
        "name": parameter.name,
        "schema": {"type": parameter.kind, "uniqueItems": true},
    });
    if parameter.required {
        value["required"] = Value::Bool(true);
    }
    value
}

/// The types that are "one of" several: swagger 2.0 calls them strings, OpenAPI 3.0 lists the
/// alternatives, as upstream's generator does from their `OpenAPIV3OneOfTypes`. Having no single
/// type, they print by name in `kubectl explain` (`<IntOrString>`, `<map[string]Quantity>`).
fn one_of_types(name: &str, mut schema: Value) -> Value {
    let types: &[&str] = match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => &["integer", "string"],
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => &["string", "number"],
        _ => return schema,
    };
    if let Value::Object(map) = &mut schema {
        map.remove("type");
        let one_of: Vec<Value> = types.iter().map(|t| json!({ "type": t })).collect();
        map.insert("oneOf".into(), Value::Array(one_of));
    }
    schema
}

/// A definition in OpenAPI 3.0 form: references point into `components/schemas` and a reference
/// with siblings becomes `allOf`. The walk follows the schema keywords only, so that a property
/// named `$ref` (JSONSchemaProps has one) is not taken for a reference.
fn schema_v3(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "$ref" => match value {
                Value::String(target) => match target.strip_prefix(REF_PREFIX) {
                    Some(name) => Value::String(format!("{COMPONENTS_PREFIX}{name}")),
                    None => value.clone(),
                },
                _ => value.clone(),
            },
            "properties" => match value {
                Value::Object(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, property)| (name.clone(), wrap_reference(schema_v3(property))))
                        .collect(),
                ),
                _ => value.clone(),
            },
            "items" | "additionalProperties" => match value {
                Value::Object(_) => wrap_reference(schema_v3(value)),
                _ => value.clone(),
            },
            "allOf" | "oneOf" | "anyOf" => match value {
                Value::Array(schemas) => schemas.iter().map(schema_v3).collect(),
                _ => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    Value::Object(out)
}

/// `{"$ref": X, "description": D}` → `{"allOf": [{"$ref": X}], "description": D}`.
fn wrap_reference(schema: Value) -> Value {
    match schema {
        Value::Object(mut map) if map.len() > 1 && map.contains_key("$ref") => {
            let target = map.remove("$ref").unwrap_or(Value::Null);
            map.insert("allOf".into(), json!([{ "$ref": target }]));
            Value::Object(map)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn reference_with_siblings_becomes_all_of() {
        let schema = json!({"properties": {
            "metadata": {"$ref": "#/definitions/a.B", "description": "d"},
            "items": {"type": "array", "items": {"$ref": "#/definitions/a.C"}},
            "$ref": {"type": "string"},
        }});
        assert_eq!(
            super::schema_v3(&schema),
            json!({"properties": {
                "metadata": {"allOf": [{"$ref": "#/components/schemas/a.B"}], "description": "d"},
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/a.C"}},
                "$ref": {"type": "string"},
            }})
        );
    }

    #[test]
    fn definitions_ref_prefix_is_swagger() {
        assert_eq!(super::REF_PREFIX, "#/definitions/");
    }
}
