//! The v2 document as gnostic's `openapi.v2.Document` protobuf message, which kubectl asks
//! `/openapi/v2` for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
//!
//! The encoder walks the swagger JSON the way gnostic's compiler reads it and writes the fields
//! of OpenAPIv2.proto (google/gnostic, package openapi.v2) that the document uses; the field
//! numbers below are that file's. Vendor extensions are `NamedAny`s whose `Any.yaml` holds the
//! value's JSON text, which YAML parsers (kubectl's) read as the same value. proto3 leaves out
//! empty strings, false and zero, so they are not written; a present message is written even
//! when empty, because readers tell a present empty `properties` from an absent one.

use serde_json::{Map, Value};

/// Encodes a swagger 2.0 JSON document.
pub(crate) fn encode_document(document: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let Value::Object(document) = document else {
        return out;
    };
    put_string(&mut out, 1, str_of(document.get("swagger")));
    if let Some(Value::Object(info)) = document.get("info") {
        put_message(&mut out, 2, |m| {
            put_string(m, 1, str_of(info.get("title")));
            put_string(m, 2, str_of(info.get("version")));
            put_string(m, 3, str_of(info.get("description")));
            put_extensions(m, 7, info);
        });
    }
    put_string(&mut out, 3, str_of(document.get("host")));
    put_string(&mut out, 4, str_of(document.get("basePath")));
    put_strings(&mut out, 5, document.get("schemes"));
    put_strings(&mut out, 6, document.get("consumes"));
    put_strings(&mut out, 7, document.get("produces"));
    if let Some(Value::Object(paths)) = document.get("paths") {
        put_message(&mut out, 8, |m| {
            put_extensions(m, 1, paths);
            for (path, item) in paths.iter().filter(|(key, _)| !key.starts_with("x-")) {
                put_named(m, 2, path, |m| path_item(m, item));
            }
        });
    }
    if let Some(Value::Object(definitions)) = document.get("definitions") {
        put_message(&mut out, 9, |m| {
            for (name, schema_value) in definitions {
                put_named(m, 1, name, |m| schema(m, schema_value));
            }
        });
    }
    if let Some(Value::Array(requirements)) = document.get("security") {
        for requirement in requirements {
            let Value::Object(requirement) = requirement else {
                continue;
            };
            put_message(&mut out, 12, |m| {
                for (name, scopes) in requirement {
                    put_named(m, 1, name, |m| put_strings(m, 1, Some(scopes)));
                }
            });
        }
    }
    if let Some(Value::Object(security)) = document.get("securityDefinitions") {
        put_message(&mut out, 13, |m| {
            for (name, definition) in security {
                put_named(m, 1, name, |m| security_definition(m, definition));
            }
        });
    }
    put_extensions(&mut out, 16, document);
    out
}

/// A `SecurityDefinitionsItem`; the API server only declares API keys (bearer tokens).
fn security_definition(out: &mut Vec<u8>, definition: &Value) {
    let Value::Object(definition) = definition else {
        return;
    };
    if str_of(definition.get("type")) == "apiKey" {
        put_message(out, 2, |m| {
            put_string(m, 1, "apiKey");
            put_string(m, 2, str_of(definition.get("name")));
            put_string(m, 3, str_of(definition.get("in")));
            put_string(m, 4, str_of(definition.get("description")));
            put_extensions(m, 5, definition);
        });
    }
}

fn path_item(out: &mut Vec<u8>, item: &Value) {
    let Value::Object(item) = item else { return };
    for (method, field) in
        [("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("options", 6), ("head", 7), ("patch", 8)]
    {
        if let Some(op) = item.get(method) {
            put_message(out, field, |m| operation(m, op));
        }
    }
    if let Some(Value::Array(parameters)) = item.get("parameters") {
        for p in parameters {
            put_message(out, 9, |m| parameters_item(m, p));
        }
    }
    put_extensions(out, 10, item);
}

fn operation(out: &mut Vec<u8>, op: &Value) {
    let Value::Object(op) = op else { return };
    put_strings(out, 1, op.get("tags"));
    put_string(out, 2, str_of(op.get("summary")));
    put_string(out, 3, str_of(op.get("description")));
    put_string(out, 5, str_of(op.get("operationId")));
    put_strings(out, 6, op.get("produces"));
    put_strings(out, 7, op.get("consumes"));
    if let Some(Value::Array(parameters)) = op.get("parameters") {
        for p in parameters {
            put_message(out, 8, |m| parameters_item(m, p));
        }
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        put_message(out, 9, |m| {
            for (code, response) in responses.iter().filter(|(key, _)| !key.starts_with("x-")) {
                // NamedResponseValue { name, value: ResponseValue { response } }
                put_named(m, 1, code, |m| put_message(m, 1, |m| self::response(m, response)));
            }
            put_extensions(m, 2, responses);
        });
    }
    put_strings(out, 10, op.get("schemes"));
    put_bool(out, 11, op.get("deprecated") == Some(&Value::Bool(true)));
    put_extensions(out, 13, op);
}

fn response(out: &mut Vec<u8>, response: &Value) {
    let Value::Object(response) = response else {
        return;
    };
    put_string(out, 1, str_of(response.get("description")));
    if let Some(schema_value) = response.get("schema") {
        // SchemaItem { schema }
        put_message(out, 2, |m| put_message(m, 1, |m| schema(m, schema_value)));
    }
    put_extensions(out, 5, response);
}

/// A `ParametersItem`: a reference, a body parameter, or a path/query/header parameter.
fn parameters_item(out: &mut Vec<u8>, parameter: &Value) {
    let Value::Object(parameter) = parameter else {
        return;
    };
    if let Some(Value::String(target)) = parameter.get("$ref") {
        put_message(out, 2, |m| put_string(m, 1, target));
        return;
    }
    put_message(out, 1, |m| {
        let location = str_of(parameter.get("in"));
        if location == "body" {
            put_message(m, 1, |m| {
                put_string(m, 1, str_of(parameter.get("description")));
                put_string(m, 2, str_of(parameter.get("name")));
                put_string(m, 3, location);
                put_bool(m, 4, parameter.get("required") == Some(&Value::Bool(true)));
                if let Some(schema_value) = parameter.get("schema") {
                    put_message(m, 5, |m| schema(m, schema_value));
                }
                put_extensions(m, 6, parameter);
            });
            return;
        }
        // NonBodyParameter's sub-schemas; query and form data have allowEmptyValue at 5, which
        // shifts the fields after `name` by one.
        let (field, shift) = match location {
            "header" => (1, 0),
            "formData" => (2, 1),
            "query" => (3, 1),
            _ => (4, 0),
        };
        put_message(m, 2, |m| {
            put_message(m, field, |m| {
                put_bool(m, 1, parameter.get("required") == Some(&Value::Bool(true)));
                put_string(m, 2, location);
                put_string(m, 3, str_of(parameter.get("description")));
                put_string(m, 4, str_of(parameter.get("name")));
                if shift == 1 {
                    put_bool(m, 5, parameter.get("allowEmptyValue") == Some(&Value::Bool(true)));
                }
                put_string(m, 5 + shift, str_of(parameter.get("type")));
                put_string(m, 6 + shift, str_of(parameter.get("format")));
                put_bool(m, 19 + shift, parameter.get("uniqueItems") == Some(&Value::Bool(true)));
                put_extensions(m, 22 + shift, parameter);
            });
        });
    });
}

/// A `Schema`.
fn schema(out: &mut Vec<u8>, schema_value: &Value) {
    let Value::Object(s) = schema_value else {
        return;
    };
    put_string(out, 1, str_of(s.get("$ref")));
    put_string(out, 2, str_of(s.get("format")));
    put_string(out, 3, str_of(s.get("title")));
    put_string(out, 4, str_of(s.get("description")));
    if let Some(default) = s.get("default") {
        put_any(out, 5, default);
    }
    put_double(out, 6, s.get("multipleOf"));
    put_double(out, 7, s.get("maximum"));
    put_bool(out, 8, s.get("exclusiveMaximum") == Some(&Value::Bool(true)));
    put_double(out, 9, s.get("minimum"));
    put_bool(out, 10, s.get("exclusiveMinimum") == Some(&Value::Bool(true)));
    for (key, field) in [
        ("maxLength", 11),
        ("minLength", 12),
        ("maxItems", 14),
        ("minItems", 15),
        ("maxProperties", 17),
        ("minProperties", 18),
    ] {
        put_int(out, field, s.get(key));
    }
    put_string(out, 13, str_of(s.get("pattern")));
    put_bool(out, 16, s.get("uniqueItems") == Some(&Value::Bool(true)));
    put_strings(out, 19, s.get("required"));
    if let Some(Value::Array(values)) = s.get("enum") {
        for value in values {
            put_any(out, 20, value);
        }
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(allowed)) => put_message(out, 21, |m| put_bool(m, 2, *allowed)),
        Some(additional @ Value::Object(_)) => put_message(out, 21, |m| put_message(m, 1, |m| schema(m, additional))),
        _ => {}
    }
    match s.get("type") {
        Some(Value::String(kind)) => put_message(out, 22, |m| put_string(m, 1, kind)),
        Some(kinds @ Value::Array(_)) => put_message(out, 22, |m| put_strings(m, 1, Some(kinds))),
        _ => {}
    }
    match s.get("items") {
        Some(items @ Value::Object(_)) => put_message(out, 23, |m| put_message(m, 1, |m| schema(m, items))),
        Some(Value::Array(items)) => put_message(out, 23, |m| {
            for item in items {
                put_message(m, 1, |m| schema(m, item));
            }
        }),
        _ => {}
    }
    if let Some(Value::Array(all_of)) = s.get("allOf") {
        for item in all_of {
            put_message(out, 24, |m| schema(m, item));
        }
    }
    if let Some(Value::Object(properties)) = s.get("properties") {
        put_message(out, 25, |m| {
            for (name, property) in properties {
                put_named(m, 1, name, |m| schema(m, property));
            }
        });
    }
    put_string(out, 26, str_of(s.get("discriminator")));
    put_bool(out, 27, s.get("readOnly") == Some(&Value::Bool(true)));
    if let Some(example) = s.get("example") {
        put_any(out, 30, example);
    }
    put_extensions(out, 31, s);
}

fn str_of(value: Option<&Value>) -> &str {
    match value {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

/// The `x-` keys of an object as `NamedAny`s in field `field`.
fn put_extensions(out: &mut Vec<u8>, field: u32, object: &Map<String, Value>) {
    for (name, value) in object.iter().filter(|(key, _)| key.starts_with("x-")) {
        put_named(out, field, name, |m| any(m, value));
    }
}

/// An `Any` message in field `field`.
fn put_any(out: &mut Vec<u8>, field: u32, value: &Value) {
    put_message(out, field, |m| any(m, value));
}

/// The fields of an `Any`: `yaml` holds the value's JSON text (JSON is YAML).
fn any(out: &mut Vec<u8>, value: &Value) {
    // Serializing a `Value` into memory cannot fail.
    let text = serde_json::to_string(value).unwrap_or_default();
    put_string(out, 2, &text);
}

/// A `Named*` message: `name` (1) and the value message (2) that `value` writes.
fn put_named(out: &mut Vec<u8>, field: u32, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
    put_message(out, field, |m| {
        put_string(m, 1, name);
        put_message(m, 2, value);
    });
}

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    put_varint(out, u64::from((field << 3) | wire_type));
}

fn put_message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut message = Vec::new();
    body(&mut message);
    put_key(out, field, LENGTH_DELIMITED);
    put_varint(out, message.len() as u64);
    out.extend_from_slice(&message);
}

fn put_string(out: &mut Vec<u8>, field: u32, value: &str) {
    if value.is_empty() {
        return;
    }
    put_key(out, field, LENGTH_DELIMITED);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// A repeated string field from a JSON array of strings.
fn put_strings(out: &mut Vec<u8>, field: u32, values: Option<&Value>) {
    if let Some(Value::Array(values)) = values {
        for value in values {
            if let Value::String(value) = value {
                // Repeated strings keep their empty elements.
                put_key(out, field, LENGTH_DELIMITED);
                put_varint(out, value.len() as u64);
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
}

fn put_bool(out: &mut Vec<u8>, field: u32, value: bool) {
    if value {
        put_key(out, field, VARINT);
        put_varint(out, 1);
    }
}

fn put_int(out: &mut Vec<u8>, field: u32, value: Option<&Value>) {
    if let Some(value) = value.and_then(Value::as_i64).filter(|v| *v != 0) {
        put_key(out, field, VARINT);
        // int64 is encoded as its two's complement.
        put_varint(out, value as u64);
    }
}

fn put_double(out: &mut Vec<u8>, field: u32, value: Option<&Value>) {
    if let Some(value) = value.and_then(Value::as_f64).filter(|v| *v != 0.0) {
        put_key(out, field, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn varints_and_strings() {
        let mut out = Vec::new();
        super::put_string(&mut out, 1, "2.0");
        assert_eq!(out, [0x0a, 3, b'2', b'.', b'0']);
        let mut out = Vec::new();
        super::put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}
