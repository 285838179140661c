//! The swagger 2.0 document (`/openapi/v2`): every path and every definition in one document.

use serde_json::{Map, Value, json};

use crate::definitions::{self, Definitions};
use crate::operations::{self, Operation, Payload, Route};
use crate::parameters::{Location, Parameter};
use crate::{FieldExtensions, ResourceDoc};

/// The Kubernetes version the documents describe.
pub(crate) const KUBERNETES_VERSION: &str = "v1.34.0";

/// The whole swagger 2.0 document.
pub(crate) fn document(resources: &[ResourceDoc], extensions: Option<&FieldExtensions>) -> Value {
    let definitions = Definitions::build(resources, extensions);
    let routes = operations::routes(resources, &definitions);
    let paths: Map<String, Value> = routes.iter().map(|route| (route.path.clone(), path_item(route))).collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions.schemas,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "in": "header",
                "name": "authorization",
                "type": "apiKey",
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
    let mut parameters: Vec<Value> = Vec::new();
    if let Some(body) = &operation.body {
        let mut parameter = json!({"in": "body", "name": "body", "schema": schema(&body.payload)});
        if body.required {
            parameter["required"] = Value::Bool(true);
        }
        parameters.push(parameter);
    }
    parameters.extend(operation.parameters.iter().map(parameter));

    let responses: Map<String, Value> = operation
        .responses
        .iter()
        .map(|response| {
            let mut value = json!({"description": response.description});
            if let Some(payload) = &response.payload {
                value["schema"] = schema(payload);
            }
            (response.code.to_string(), value)
        })
        .collect();

    let mut value = json!({
        "consumes": operation.consumes,
        "description": operation.description,
        "operationId": operation.id,
        "produces": operation.produces,
        "responses": responses,
        "schemes": ["https"],
        "tags": [operation.tag],
    });
    if !parameters.is_empty() {
        value["parameters"] = Value::Array(parameters);
    }
    if let Some(action) = operation.action {
        value["x-kubernetes-action"] = Value::String(action.to_string());
    }
    if let Some(gvk) = &operation.gvk {
        value["x-kubernetes-group-version-kind"] = gvk.to_value();
    }
    value
}

fn parameter(parameter: &Parameter) -> Value {
    let mut value = json!({
        "description": parameter.description,
        "in": match parameter.location { Location::Path => "path", Location::Query => "query" },
        "name": parameter.name,
        "type": parameter.kind,
        "uniqueItems": true,
    });
    if parameter.required {
        value["required"] = Value::Bool(true);
    }
    value
}

fn schema(payload: &Payload) -> Value {
    match payload {
        Payload::Definition(name) => definitions::reference(name),
        Payload::Text => json!({"type": "string"}),
    }
}
