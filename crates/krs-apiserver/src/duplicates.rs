//! Duplicate JSON object keys in request bodies. Strict field validation refuses them and Warn
//! warns about them, as upstream's strict decoder does (`duplicate field "metadata.name"`); a
//! normal JSON decode silently keeps the last value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The paths of duplicated keys in a JSON document (empty when the document is not valid
/// JSON: the regular decode reports that).
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut path = Vec::new();
    let _ = Walk { path: &mut path, out: &mut out, depth: 0 }.deserialize(&mut de);
    out
}

/// Deeper documents are not walked (the decoder refuses them anyway).
const MAX_DEPTH: usize = 100;

/// Keys of one object seen so far: a list while the object is small, then a set.
const SMALL_OBJECT: usize = 16;

/// A step of the path to the current value. Keys borrow the document unless they hold
/// escapes; the path is only formatted for a duplicate.
enum Step<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

fn format_path(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

struct Walk<'a, 'de> {
    path: &'a mut Vec<Step<'de>>,
    out: &'a mut Vec<String>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the document when it can be.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            if self.depth >= MAX_DEPTH {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let duplicate = match &mut many {
                Some(set) => !set.insert(key.clone()),
                None if few.contains(&key) => true,
                None => {
                    few.push(key.clone());
                    if few.len() > SMALL_OBJECT {
                        many = Some(few.drain(..).collect());
                    }
                    false
                }
            };
            self.path.push(Step::Key(key));
            if duplicate {
                self.out.push(format_path(self.path));
            }
            let walked =
                map.next_value_seed(Walk { path: &mut *self.path, out: &mut *self.out, depth: self.depth + 1 });
            self.path.pop();
            walked?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let more = if self.depth >= MAX_DEPTH {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else {
                self.path.push(Step::Index(i));
                let walked =
                    seq.next_element_seed(Walk { path: &mut *self.path, out: &mut *self.out, depth: self.depth + 1 });
                self.path.pop();
                walked?.is_some()
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_duplicates_with_their_path() {
        let doc =
            br#"{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"image":"x","image":"y"}]},"spec":{}}"#;
        assert_eq!(duplicate_fields(doc), vec!["metadata.name", "spec.containers[0].image", "spec"]);
        assert!(duplicate_fields(br#"{"a":1,"b":{"a":2}}"#).is_empty());
        assert!(duplicate_fields(b"not json").is_empty());
    }

    #[test]
    fn large_objects_and_escaped_keys() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let doc = format!(r#"{{"data":{{{},"k3":0,"k39":1}},"a\u0062":1,"ab":2}}"#, keys.join(","));
        assert_eq!(duplicate_fields(doc.as_bytes()), vec!["data.k3", "data.k39", "ab"]);
    }
}
