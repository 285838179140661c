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

/// Returns `json` (an object as the registry stores it, without managedFields) with `managed`
/// (a JSON array) as its `metadata.managedFields`, where serializing the object with them puts
/// them: metadata's fields are written in alphabetical order, so before the first one that
/// sorts after `managedFields`, or last. None when `json` has no top-level metadata object or
/// already has managedFields.
pub fn with_managed_fields(json: &[u8], managed: &str) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"managedFields";
    let mut members = Members::new(json, find_metadata_value(json)?)?;
    let (mut before, mut at) = (0usize, None);
    for m in members.by_ref() {
        match json[m.name].cmp(NAME) {
            std::cmp::Ordering::Less => before += 1,
            std::cmp::Ordering::Equal => return None,
            std::cmp::Ordering::Greater => {
                at = Some(m.start);
                break;
            }
        }
    }
    // Last: before the closing brace, after a comma unless metadata is empty.
    let (at, last) = match at {
        Some(at) => (at, false),
        None => (members.end?, true),
    };
    let mut out = Vec::with_capacity(json.len() + managed.len() + NAME.len() + 4);
    out.extend_from_slice(&json[..at]);
    if last && before > 0 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"managedFields\":");
    out.extend_from_slice(managed.as_bytes());
    if !last {
        out.push(b',');
    }
    out.extend_from_slice(&json[at..]);
    Some(out)
}

/// The offset of the `{` that opens the top-level `metadata` object, if there is one.
fn find_metadata_value(json: &[u8]) -> Option<usize> {
    let m = Members::new(json, skip_ws(json, 0))?.find(|m| &json[m.name.clone()] == b"metadata")?;
    (json.get(m.value.start) == Some(&b'{')).then_some(m.value.start)
}

/// One member of a JSON object: the offset of its name's opening quote, its name (inside the
/// quotes, escapes as written) and its value.
pub(crate) struct Member {
    pub start: usize,
    pub name: std::ops::Range<usize>,
    pub value: std::ops::Range<usize>,
}

/// The members of the object that opens at `json[open]`, found by skipping values without
/// validating them (for JSON the registry's encoder wrote). The iteration stops at the closing
/// brace, whose offset `end` then holds, or at the first malformed member (`end` stays None).
pub(crate) struct Members<'a> {
    json: &'a [u8],
    at: usize,
    pub end: Option<usize>,
}

impl<'a> Members<'a> {
    /// None unless `json[open]` is a `{`.
    pub fn new(json: &'a [u8], open: usize) -> Option<Members<'a>> {
        (json.get(open) == Some(&b'{')).then_some(Members { json, at: open + 1, end: None })
    }
}

impl Iterator for Members<'_> {
    type Item = Member;

    fn next(&mut self) -> Option<Member> {
        let json = self.json;
        loop {
            self.at = skip_ws(json, self.at);
            match json.get(self.at)? {
                b'}' => {
                    self.end = Some(self.at);
                    self.at = json.len();
                    return None;
                }
                b',' => self.at += 1,
                b'"' => break,
                _ => {
                    self.at = json.len();
                    return None;
                }
            }
        }
        let start = self.at;
        let found = (|| {
            let name_end = skip_string(json, start)?;
            let colon = skip_ws(json, name_end);
            (json.get(colon) == Some(&b':')).then_some(())?;
            let value_start = skip_ws(json, colon + 1);
            let value_end = skip_value(json, value_start)?;
            Some(Member { start, name: start + 1..name_end - 1, value: value_start..value_end })
        })();
        self.at = found.as_ref().map_or(json.len(), |m| m.value.end);
        found
    }
}

pub(crate) fn skip_ws(json: &[u8], mut i: usize) -> usize {
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

    /// Splicing the entries' text into an object serialized without them gives the bytes of the
    /// object serialized with them (the registry's unchanged-object check compares bytes).
    #[test]
    fn managed_fields_go_where_serializing_them_puts_them() {
        use k8s_openapi::api::core::v1::Pod;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta, OwnerReference};
        let entries: Vec<ManagedFieldsEntry> = serde_json::from_value(serde_json::json!([{
            "apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "m\"}{", "operation": "Update",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:name": {}}}}, "time": "2026-01-01T00:00:00Z"
        }]))
        .unwrap();
        let text = serde_json::to_string(&entries).unwrap();
        let labels = |pairs: &[(&str, &str)]| Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let metas = [
            ObjectMeta { name: Some("p".into()), uid: Some("u".into()), ..Default::default() },
            ObjectMeta {
                annotations: labels(&[("name", "{\"name\":\"x\"}"), ("z", "\\")]),
                finalizers: Some(vec!["a/b".into()]),
                generate_name: Some("p-".into()),
                generation: Some(3),
                labels: labels(&[("name", "v"), ("uid", "w")]),
                name: Some("p-x".into()),
                namespace: Some("default".into()),
                owner_references: Some(vec![OwnerReference { name: "o".into(), ..Default::default() }]),
                ..Default::default()
            },
            ObjectMeta { labels: labels(&[("a", "b")]), generation: Some(1), ..Default::default() },
            ObjectMeta::default(),
        ];
        for metadata in metas {
            let mut pod = Pod { metadata, ..Default::default() };
            let without = serde_json::to_vec(&pod).unwrap();
            pod.metadata.managed_fields = Some(entries.clone());
            let with = serde_json::to_vec(&pod).unwrap();
            let spliced = with_managed_fields(&without, &text).expect("a metadata object");
            assert_eq!(String::from_utf8_lossy(&spliced), String::from_utf8_lossy(&with));
            assert!(with_managed_fields(&with, &text).is_none(), "entries are never added twice");
        }
        // Objects held as JSON trees (custom resources) sort their metadata's fields the same way.
        let mut cr =
            serde_json::json!({"apiVersion": "e.io/v1", "kind": "K", "metadata": {"labels": {"a": "b"}, "name": "c"}});
        let without = serde_json::to_vec(&cr).unwrap();
        cr["metadata"]["managedFields"] = serde_json::to_value(&entries).unwrap();
        let spliced = with_managed_fields(&without, &text).unwrap();
        assert_eq!(spliced, serde_json::to_vec(&cr).unwrap());
        assert!(with_managed_fields(br#"{"kind":"K"}"#, &text).is_none());
    }
}
