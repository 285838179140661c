//! How upstream's Go code sees a decoded JSON value (`interface{}`), where merge results or
//! error messages depend on it: the dynamic type (apimachinery decodes integral numbers as
//! int64 and others as float64), interface equality (which panics for maps and slices), and
//! `fmt`'s `%v` / `%s` rendering used in error messages.

use serde_json::{Map, Number, Value};

use super::error::GoPanic;

/// The dynamic Go type of a decoded JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GoType {
    Nil,
    Bool,
    String,
    Int64,
    Float64,
    Map,
    Slice,
}

/// apimachinery's JSON decoding: a number is int64 when it parses as one, else float64.
fn number_type(n: &Number) -> GoType {
    if n.is_i64() { GoType::Int64 } else { GoType::Float64 }
}

pub(super) fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::String(_) => GoType::String,
        Value::Number(n) => number_type(n),
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

impl GoType {
    /// `reflect.TypeOf(v).String()`; a nil interface prints as fmt's `%!s(<nil>)`.
    pub(super) fn name(self) -> &'static str {
        match self {
            GoType::Nil => "%!s(<nil>)",
            GoType::Bool => "bool",
            GoType::String => "string",
            GoType::Int64 => "int64",
            GoType::Float64 => "float64",
            GoType::Map => "map[string]interface {}",
            GoType::Slice => "[]interface {}",
        }
    }
}

pub(super) const MAP_TYPE: &str = "map[string]interface {}";
pub(super) const SLICE_TYPE: &str = "[]interface {}";

fn float_of(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// Go's `==` on two `interface{}` values: equal dynamic types and values; comparing two maps
/// or two slices panics.
pub(super) fn go_eq(a: &Value, b: &Value) -> Result<bool, GoPanic> {
    let (ta, tb) = (go_type(a), go_type(b));
    if ta != tb {
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => match ta {
            GoType::Int64 => x.as_i64() == y.as_i64(),
            _ => float_of(x) == float_of(y),
        },
        (Value::Object(_), _) => return Err(GoPanic::UncomparableMap),
        (Value::Array(_), _) => return Err(GoPanic::UncomparableSlice),
        _ => false,
    })
}

/// Using the value as a Go map key (`map[interface{}]...`) panics for maps and slices.
pub(super) fn check_hashable(v: &Value) -> Result<(), GoPanic> {
    match v {
        Value::Object(_) => Err(GoPanic::UnhashableMap),
        Value::Array(_) => Err(GoPanic::UnhashableSlice),
        _ => Ok(()),
    }
}

/// Membership in a Go `map[interface{}]bool` built from `set`: building it panics on an
/// unhashable member, and so does looking up an unhashable `v`.
pub(super) struct GoSet<'a> {
    members: &'a [Value],
}

impl<'a> GoSet<'a> {
    pub(super) fn new(members: &'a [Value]) -> Result<Self, GoPanic> {
        for m in members {
            check_hashable(m)?;
        }
        Ok(GoSet { members })
    }

    pub(super) fn contains(&self, v: &Value) -> Result<bool, GoPanic> {
        check_hashable(v)?;
        for m in self.members {
            if go_eq(m, v)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// fmt's `%v` of a float64: strconv's shortest 'g' form, which switches to the exponent form
/// when the decimal exponent is below -4 or at least 6 (`1e+06`, `123456`, `1.5e-05`).
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e-5", "1e6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

fn format_number(n: &Number) -> String {
    match number_type(n) {
        GoType::Int64 => n.as_i64().map(|i| i.to_string()).unwrap_or_default(),
        _ => format_float(float_of(n)),
    }
}

/// fmt's `%v` of a decoded JSON value (maps print with sorted keys).
#[cfg(test)]
fn fmt_v(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, false);
    out
}

/// fmt's `%v` of a map.
pub(super) fn fmt_v_map(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_map(&mut out, m, false);
    out
}

/// fmt's `%s` of a decoded JSON value: strings as they are, other scalars as `%!s(T=v)`.
pub(super) fn fmt_s(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

/// fmt's `%v` of a list of lists (`fmt.Sprint([][]interface{}{...})`).
pub(super) fn fmt_v_lists(lists: &[&[Value]]) -> String {
    let mut out = String::from("[");
    for (i, l) in lists.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_slice(&mut out, l, false);
    }
    out.push(']');
    out
}

/// fmt's `%v` of a list.
pub(super) fn fmt_v_slice(l: &[Value]) -> String {
    let mut out = String::new();
    write_slice(&mut out, l, false);
    out
}

fn write_value(out: &mut String, v: &Value, verb_s: bool) {
    match v {
        Value::Object(m) => write_map(out, m, verb_s),
        Value::Array(l) => write_slice(out, l, verb_s),
        Value::String(s) => out.push_str(s),
        Value::Null if verb_s => out.push_str("%!s(<nil>)"),
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) if verb_s => out.push_str(&format!("%!s(bool={b})")),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if verb_s => out.push_str(&format!("%!s({}={})", number_type(n).name(), format_number(n))),
        Value::Number(n) => out.push_str(&format_number(n)),
    }
}

fn write_map(out: &mut String, m: &Map<String, Value>, verb_s: bool) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    out.push_str("map[");
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push(':');
        if let Some(v) = m.get(k) {
            write_value(out, v, verb_s);
        }
    }
    out.push(']');
}

fn write_slice(out: &mut String, l: &[Value], verb_s: bool) {
    out.push('[');
    for (i, v) in l.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, v, verb_s);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(123456.0), "123456");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(-2.5e100), "-2.5e+100");
    }

    #[test]
    fn maps_print_like_go() {
        let v = json!({"b": [1, "x", null], "a": {"c": true}, "f": 1.5});
        assert_eq!(fmt_v(&v), "map[a:map[c:true] b:[1 x <nil>] f:1.5]");
        assert_eq!(fmt_s(&v), "map[a:map[c:%!s(bool=true)] b:[%!s(int64=1) x %!s(<nil>)] f:%!s(float64=1.5)]");
    }

    #[test]
    fn interface_equality() {
        assert_eq!(go_eq(&json!(1), &json!(1)), Ok(true));
        assert_eq!(go_eq(&json!(1), &json!(1.0)), Ok(false));
        assert_eq!(go_eq(&json!("a"), &json!({})), Ok(false));
        assert_eq!(go_eq(&json!(null), &json!(null)), Ok(true));
        assert_eq!(go_eq(&json!({}), &json!({})), Err(GoPanic::UncomparableMap));
        assert_eq!(go_eq(&json!([]), &json!([1])), Err(GoPanic::UncomparableSlice));
    }
}
