//! Stored objects are JSON without `metadata.resourceVersion`: the version is the store revision
//! of the write, known only once the write committed (upstream's etcd3 store does the same and
//! sets it on decode). Serving an object means adding it back; doing that on the bytes, without
//! parsing the object, keeps the watch cache and list responses cheap.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Returns `json` (a JSON object) with `"resourceVersion":"<rv>"` as the first field of its
/// top-level `metadata` (which is created when absent). `json` must not already carry a
/// resourceVersion; the registry strips it before storing.
pub fn with_resource_version(json: &[u8], rv: i64) -> Vec<u8> {
    let field = format!("\"resourceVersion\":\"{rv}\"");
    let mut out = Vec::with_capacity(json.len() + field.len() + 16);
    match find_metadata_value(json) {
        Some(brace) => {
            out.extend_from_slice(&json[..=brace]);
            out.extend_from_slice(field.as_bytes());
            // `{}` needs no separator; `{"name":...` does.
            let rest = &json[brace + 1..];
            if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
        None => {
            let Some(open) = json.iter().position(|&b| b == b'{') else {
                return json.to_vec();
            };
            out.extend_from_slice(&json[..=open]);
            out.extend_from_slice(b"\"metadata\":{");
            out.extend_from_slice(field.as_bytes());
            out.push(b'}');
            let rest = &json[open + 1..];
            if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
    }
    out
}

/// The offset of the `{` that opens the top-level `metadata` object, if there is one.
fn find_metadata_value(json: &[u8]) -> Option<usize> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(json, i);
        match json.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_start = i + 1;
        let key_end = skip_string(json, i)?;
        let key = &json[key_start..key_end - 1];
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        if key == b"metadata" {
            return (json.get(i) == Some(&b'{')).then_some(i);
        }
        i = skip_value(json, i)?;
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// `json[i]` is a `"`; returns the offset just past the closing quote.
fn skip_string(json: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Skips one JSON value starting at `i`; returns the offset after it.
fn skip_value(json: &[u8], mut i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => skip_string(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match json.get(i)? {
                    b'"' => {
                        i = skip_string(json, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while let Some(b) = json.get(i) {
                if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                    break;
                }
                i += 1;
            }
            Some(i)
        }
    }
}

/// A JSON member name, borrowed from the input unless it had escapes (for decoders that walk
/// stored objects without building them).
pub(crate) struct MemberName<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = MemberName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<MemberName<'de>, E> {
                Ok(MemberName(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MemberName<'de>, E> {
                Ok(MemberName(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MemberName<'de>, E> {
                Ok(MemberName(Cow::Owned(v)))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rv_of(bytes: &[u8]) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        v["metadata"]["resourceVersion"].clone()
    }

    #[test]
    fn adds_the_version_to_existing_metadata() {
        let out = with_resource_version(
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"x":"{\"metadata\":1}"}}"#,
            42,
        );
        assert_eq!(rv_of(&out), "42");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["metadata"]["name"], "a");
        assert_eq!(v["data"]["x"], "{\"metadata\":1}");
    }

    #[test]
    fn handles_empty_and_missing_metadata() {
        assert_eq!(rv_of(&with_resource_version(br#"{"kind":"X","metadata":{}}"#, 7)), "7");
        assert_eq!(rv_of(&with_resource_version(br#"{"kind":"X"}"#, 7)), "7");
        assert_eq!(rv_of(&with_resource_version(br#"{}"#, 7)), "7");
    }

    #[test]
    fn skips_nested_values_before_metadata() {
        let out = with_resource_version(
            br#"{"a":{"metadata":{"b":[1,{"c":"]}"}]}},"n":-1.5e3,"t":true,"metadata":{"name":"x"}}"#,
            9,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "9");
        assert!(v["a"]["metadata"].get("resourceVersion").is_none());
    }
}
