//! Checking an applied configuration against the schema (structured-merge-diff's
//! `TypedValue.Validate`, which upstream runs when it converts the configuration).
//!
//! Upstream rejects the configuration with every error, each prefixed by its path:
//! `.spec.template.spec.containers: duplicate entries for key [name="c"]`,
//! `.spec.foo: field not declared in schema`, `.spec.replicas: expected numeric (int or
//! float), got string`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::path::PathElement;
use super::schema::{Atom, ListKind, Node, ScalarType, item_path_element};
use super::value;

/// The validation errors of `v` at `node`, as upstream prints them (empty when valid).
pub(crate) fn validate(v: &Value, node: Node, allow_duplicates: bool) -> Vec<String> {
    let mut errs = Vec::new();
    let mut path = Vec::new();
    walk(v, node, allow_duplicates, &mut path, &mut errs);
    errs
}

fn push(errs: &mut Vec<String>, path: &[PathElement], msg: String) {
    let prefix: String = path.iter().map(ToString::to_string).collect();
    if prefix.is_empty() {
        errs.push(msg);
    } else {
        errs.push(format!("{prefix}: {msg}"));
    }
}

fn walk(v: &Value, node: Node, allow_duplicates: bool, path: &mut Vec<PathElement>, errs: &mut Vec<String>) {
    match node.declared(Some(v)) {
        Atom::Scalar(t) => {
            if let Some(msg) = check_scalar(t, v) {
                push(errs, path, msg);
            }
        }
        Atom::List { kind, elem } => {
            let items = match v {
                Value::Null => return,
                Value::Array(items) => items,
                other => {
                    return push(errs, path, format!("expected list, got {}", value::go_debug(other)));
                }
            };
            let mut observed = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = if kind == ListKind::Atomic {
                    PathElement::Index(i as i64)
                } else {
                    match item_path_element(&kind, elem, item) {
                        Ok(pe) => pe,
                        Err(e) => {
                            // Upstream stops at the first element it cannot identify.
                            return push(errs, path, format!("element {i}: {e}"));
                        }
                    }
                };
                if kind != ListKind::Atomic && !observed.insert(pe.clone()) && !allow_duplicates {
                    push(errs, path, format!("duplicate entries for key {pe}"));
                }
                path.push(pe);
                walk(item, elem, allow_duplicates, path, errs);
                path.pop();
            }
        }
        Atom::Map { shape, .. } => {
            let m = match v {
                Value::Null => return,
                Value::Object(m) => m,
                other => {
                    return push(errs, path, format!("expected map, got {}", value::go_debug(other)));
                }
            };
            for (key, val) in m {
                path.push(PathElement::Field(key.clone()));
                if !shape.declares(key) {
                    push(errs, path, "field not declared in schema".to_owned());
                    path.pop();
                    // Upstream's map iteration stops at the first unknown field.
                    return;
                }
                let (child, _) = shape.member(key);
                walk(val, child, allow_duplicates, path, errs);
                path.pop();
            }
        }
    }
}

fn check_scalar(t: ScalarType, v: &Value) -> Option<String> {
    let ok = match (t, v) {
        (_, Value::Null) => true,
        (ScalarType::Numeric, Value::Number(_)) => true,
        (ScalarType::Numeric, other) => {
            return Some(format!("expected numeric (int or float), got {}", value::go_type_name(other)));
        }
        (ScalarType::String, Value::String(_)) => true,
        (ScalarType::String, other) => {
            return Some(format!("expected string, got {}", value::go_debug(other)));
        }
        (ScalarType::Boolean, Value::Bool(_)) => true,
        (ScalarType::Boolean, other) => {
            return Some(format!("expected boolean, got {}", value::go_debug(other)));
        }
        (ScalarType::Untyped, Value::Array(_) | Value::Object(_)) => false,
        (ScalarType::Untyped, _) => true,
    };
    (!ok).then(|| format!("expected any scalar, got {}", value::go_debug(v)))
}
