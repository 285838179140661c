//! Go's text renderings that upstream messages are built from.
//!
//! Upstream assembles its error messages with `fmt` verbs (`%q`, `%v`, `%#v`) and
//! `encoding/json`. Clients compare those messages byte for byte (kubectl prints them, tests
//! match them), so the exact quoting and escaping rules of Go are reproduced here rather than
//! approximated with Rust's `Debug` output, which escapes differently.

use std::fmt::Write as _;

/// Go's `strconv.Quote` (the `%q` verb): double-quoted, with Go escapes for non-printable runes.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
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
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
///
/// Without Unicode category tables this recognises the non-printable ranges that occur in
/// practice (controls, non-ASCII spaces, format characters, private use, noncharacters); an
/// unassigned code point is treated as printable, where Go would escape it.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !matches!(u,
        0x80..=0xa0
        | 0xad
        | 0x600..=0x605
        | 0x61c
        | 0x6dd
        | 0x70f
        | 0x890..=0x891
        | 0x8e2
        | 0x1680
        | 0x180e
        | 0x2000..=0x200f
        | 0x2028..=0x202f
        | 0x205f..=0x2064
        | 0x2066..=0x206f
        | 0x3000
        | 0xd800..=0xdfff
        | 0xe000..=0xf8ff
        | 0xfdd0..=0xfdef
        | 0xfeff
        | 0xfff9..=0xfffb
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0001
        | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff
    ) && (u & 0xfffe) != 0xfffe
}

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it (HTML-safe escaping).
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
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

/// Renders a JSON value the way Go's `json.Marshal` would (compact, HTML-safe strings, Go's
/// float notation). Object members keep the order of the map.
pub(crate) fn json_value(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&json_float(f));
            }
        }
        serde_json::Value::String(s) => json_string(out, s),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, item);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                json_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON array of strings, as `json.Marshal([]string{...})`.
pub(crate) fn json_string_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, s.as_ref());
    }
    out.push(']');
    out
}

/// The shortest decimal digits of `f` (no sign) and the power of ten of the first digit.
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` prints the shortest round-tripping digits, e.g. "1.2345e8".
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Go's exponent notation: `d.ddde+XX` with at least two exponent digits.
fn go_exponent_form(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)` with fmt's switch to exponent
/// notation from 1e+06 upwards and below 1e-04).
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (digits, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        return go_exponent_form(f < 0.0, &digits, exp);
    }
    format!("{f}")
}

/// Go's `encoding/json` rendering of a float64: plain decimal between 1e-6 and 1e21, otherwise
/// exponent notation with the exponent's leading zero dropped (`1e-7`, `1e+21`).
pub(crate) fn json_float(f: f64) -> String {
    if !f.is_finite() {
        // encoding/json refuses these; callers never produce them.
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, exp) = shortest_digits(f);
        let mut s = go_exponent_form(f < 0.0, &digits, exp);
        if let Some(stripped) = s.strip_suffix(&format!("e-0{}", exp.abs())) {
            s = format!("{stripped}e-{}", exp.abs());
        }
        return s;
    }
    format!("{f}")
}

/// Go's `%#v` of a `[]string`: `[]string{"a", "b"}`.
pub(crate) fn go_syntax_string_slice<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_strconv_quote() {
        assert_eq!(quote("the value"), r#""the value""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(quote("rā"), "\"rā\"");
        assert_eq!(quote("\u{a0}\u{feff}"), r#""\u00a0\ufeff""#);
        assert_eq!(quote("\u{f0000}"), r#""\U000f0000""#);
    }

    #[test]
    fn json_string_escapes_html_like_go() {
        let mut s = String::new();
        json_string(&mut s, "<a href=\"x\">&\u{2028}\u{1}\u{8}");
        assert_eq!(s, r#""\u003ca href=\"x\"\u003e\u0026\u2028\u0001\b""#);
    }

    #[test]
    fn floats_render_as_go_does() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1000000.0), "1e+06");
        assert_eq!(format_float(123456789.0), "1.23456789e+08");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(-2.5e-10), "-2.5e-10");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e20), "100000000000000000000");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(0.5), "0.5");
    }

    #[test]
    fn go_syntax_slices() {
        assert_eq!(go_syntax_string_slice(&["y/b"]), r#"[]string{"y/b"}"#);
        assert_eq!(go_syntax_string_slice(&["a", "b"]), r#"[]string{"a", "b"}"#);
        assert_eq!(json_string_list(&["one", "two"]), r#"["one","two"]"#);
    }
}
