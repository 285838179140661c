//! Upstream's semantic equality (`apiequality.Semantic.DeepEqual`), which the update rules of
//! pods and workloads are written in: an empty list or map equals an absent one, and quantities
//! compare by value. Objects are compared through their JSON, normalized that way.

use krs_apimachinery::quantity::Quantity;
use serde::Serialize;
use serde_json::Value;

/// Whether two API values are semantically equal.
pub fn semantically_equal<T: Serialize + ?Sized>(a: &T, b: &T) -> bool {
    normalized(a) == normalized(b)
}

/// The JSON of a value with empty lists, empty maps and nulls removed (they equal absence).
pub(crate) fn normalized<T: Serialize + ?Sized>(value: &T) -> Value {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    prune(&mut v);
    v
}

fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, child| !is_empty(child));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        // Quantities are strings on the wire; write them canonically so that `1Gi` equals
        // `1024Mi`. Plain words do not parse as quantities and stay as they are.
        Value::String(s) if s.as_bytes().first().is_some_and(|b| b.is_ascii_digit()) => {
            if let Ok(q) = Quantity::parse(s) {
                *s = q.canonical_string();
            }
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A short, line-per-field account of how `new` differs from `old` at the top level of their
/// JSON objects (`-` old, `+` new), standing in for the Go struct diff upstream appends to some
/// messages.
pub(crate) fn top_level_diff<T: Serialize + ?Sized>(old: &T, new: &T) -> String {
    let (old, new) = (normalized(old), normalized(new));
    let empty = serde_json::Map::new();
    let old_map = old.as_object().unwrap_or(&empty);
    let new_map = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::new();
    for key in keys {
        let (o, n) = (old_map.get(key), new_map.get(key));
        if o == n {
            continue;
        }
        if let Some(o) = o {
            out.push_str(&format!("- {key}: {o}\n"));
        }
        if let Some(n) = n {
            out.push_str(&format!("+ {key}: {n}\n"));
        }
    }
    out
}
