//! How structured-merge-diff sees a JSON value: its total order and equality (`value.Compare`,
//! `value.Equals`), its human rendering in paths (`value.ToString`), and the Go JSON encodings
//! that end up in FieldsV1 keys and in the last-applied annotation.
//!
//! Upstream decodes JSON numbers into int64 when they parse as one and float64 otherwise, and
//! compares ints with floats numerically; `1` and `1.0` are the same value there, unlike in
//! `serde_json::Value`'s `==`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// A JSON number as upstream decodes it.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(n: &Number) -> Num {
    match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64().unwrap_or(0.0)),
    }
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// `value.Compare`: numbers (ints and floats numerically) < strings < booleans < lists <
/// maps < null.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    use Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => match (num(x), num(y)) {
            (Num::Int(x), Num::Int(y)) => x.cmp(&y),
            (Num::Int(x), Num::Float(y)) => float_cmp(x as f64, y),
            (Num::Float(x), Num::Int(y)) => float_cmp(x, y as f64),
            (Num::Float(x), Num::Float(y)) => float_cmp(x, y),
        },
        (V::Number(_), _) => Ordering::Less,
        (_, V::Number(_)) => Ordering::Greater,
        (V::String(x), V::String(y)) => x.cmp(y),
        (V::String(_), _) => Ordering::Less,
        (_, V::String(_)) => Ordering::Greater,
        (V::Bool(x), V::Bool(y)) => x.cmp(y),
        (V::Bool(_), _) => Ordering::Less,
        (_, V::Bool(_)) => Ordering::Greater,
        (V::Array(x), V::Array(y)) => {
            for (l, r) in x.iter().zip(y) {
                let c = compare(l, r);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (V::Array(_), _) => Ordering::Less,
        (_, V::Array(_)) => Ordering::Greater,
        (V::Object(x), V::Object(y)) => map_compare(x, y),
        (V::Object(_), _) => Ordering::Less,
        (_, V::Object(_)) => Ordering::Greater,
        (V::Null, V::Null) => Ordering::Equal,
    }
}

/// `MapCompare`: walks the union of the keys in lexical order; the map missing a key (or
/// running out of keys first) sorts first.
fn map_compare(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
    keys.sort();
    keys.dedup();
    for (i, key) in keys.into_iter().enumerate() {
        let c = if i == x.len() {
            Ordering::Less
        } else if i == y.len() {
            Ordering::Greater
        } else {
            match (x.get(key), y.get(key)) {
                (None, _) => Ordering::Greater,
                (_, None) => Ordering::Less,
                (Some(l), Some(r)) => compare(l, r),
            }
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

/// `value.Equals`: deep equality with ints and floats compared numerically.
pub(crate) fn equals(a: &Value, b: &Value) -> bool {
    use Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => match (num(x), num(y)) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (Num::Int(x), Num::Float(y)) | (Num::Float(y), Num::Int(x)) => x as f64 == y,
            (Num::Float(x), Num::Float(y)) => x == y,
        },
        (V::Array(x), V::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(l, r)| equals(l, r)),
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, l)| y.get(k).is_some_and(|r| equals(l, r)))
        }
        _ => a == b,
    }
}

/// `value.ToString`, used where paths are printed (`[name="c"]`, `[=80]`).
pub(crate) fn to_smd_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float_v(f),
        },
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_smd_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k}={}", to_smd_string(v))).collect(),
    }
}

/// Go's `%v` of a value inside `&{...}`, as upstream prints `value.Value` in the validation
/// messages "expected map, got ..." / "expected list, got ...".
pub(crate) fn go_debug(v: &Value) -> String {
    fn inner(v: &Value, out: &mut String) {
        match v {
            Value::Null => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match num(n) {
                Num::Int(i) => out.push_str(&i.to_string()),
                Num::Float(f) => out.push_str(&go_float_v(f)),
            },
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    inner(item, out);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push_str("map[");
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    inner(item, out);
                }
                out.push(']');
            }
        }
    }
    let mut out = String::from("&{");
    inner(v, &mut out);
    out.push('}');
    out
}

/// Go's `%T` of a decoded JSON value.
pub(crate) fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n) {
            Num::Int(_) => "int64",
            Num::Float(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `strconv.Quote` (`%q`): printable characters are kept, the rest escaped.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a float64 (`%g` with the shortest representation, exponent from 1e21).
fn go_float_v(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) { go_exponent(f, 2) } else { format!("{f}") }
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`, with at least `min_digits` exponent digits.
fn go_exponent(f: f64, min_digits: usize) -> String {
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>min_digits$}")
}

/// How strings are escaped: encoding/json (Go 1.22+) writes `\b` and `\f`, json-iterator
/// (which serializes field sets) writes them as `\u0008` and `\u000c`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    EncodingJson,
    JsonIterator,
}

/// Appends `s` as a JSON string the way Go does with HTML escaping on.
pub(crate) fn write_go_string(out: &mut String, s: &str, dialect: Dialect) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' if dialect == Dialect::EncodingJson => out.push_str("\\b"),
            '\u{c}' if dialect == Dialect::EncodingJson => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `v` as compact JSON the way Go marshals a decoded `interface{}`: map keys sorted,
/// HTML characters escaped, floats in Go's notation.
pub(crate) fn write_go_json(out: &mut String, v: &Value, dialect: Dialect) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match num(n) {
            Num::Int(i) => out.push_str(&i.to_string()),
            Num::Float(f) => {
                let abs = f.abs();
                if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                    out.push_str(&go_exponent(f, 1));
                } else {
                    let _ = write!(out, "{f}");
                }
            }
        },
        Value::String(s) => write_go_string(out, s, dialect),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, item, dialect);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // serde_json's map is ordered by key already; Go sorts keys bytewise too.
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(out, k, dialect);
                out.push(':');
                write_go_json(out, item, dialect);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_across_int_and_float() {
        assert_eq!(compare(&json!(1), &json!(1.0)), Ordering::Equal);
        assert!(equals(&json!(1), &json!(1.0)));
        assert_eq!(compare(&json!(9), &json!(10)), Ordering::Less);
        assert_eq!(compare(&json!(10), &json!("a")), Ordering::Less);
        assert_eq!(compare(&json!(null), &json!({})), Ordering::Greater);
    }

    #[test]
    fn go_renderings() {
        assert_eq!(to_smd_string(&json!("c")), "\"c\"");
        assert_eq!(to_smd_string(&json!(1.5)), "1.5");
        assert_eq!(go_float_v(1e21), "1e+21");
        let mut s = String::new();
        write_go_json(&mut s, &json!({"b": "<", "a": 1e-7}), Dialect::EncodingJson);
        assert_eq!(s, r#"{"a":1e-7,"b":"\u003c"}"#);
    }
}
