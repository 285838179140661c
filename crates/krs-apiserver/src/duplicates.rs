//! Duplicate JSON object keys in request bodies. Strict field validation refuses them and Warn
//! warns about them, as upstream's strict decoder does (`duplicate field "metadata.name"`); a
//! normal JSON decode silently keeps the last value.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The paths of duplicated keys in a JSON document (empty when the document is not valid
/// JSON: the regular decode reports that).
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(json);
    let _ = Walk { path: String::new(), out: &mut out, depth: 0 }.deserialize(&mut de);
    out
}

/// Deeper documents are not walked (the decoder refuses them anyway).
const MAX_DEPTH: usize = 100;

struct Walk<'a> {
    path: String,
    out: &'a mut Vec<String>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if self.depth >= MAX_DEPTH {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if !seen.insert(key) {
                self.out.push(path.clone());
            }
            map.next_value_seed(Walk { path, out: self.out, depth: self.depth + 1 })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let path = format!("{}[{i}]", self.path);
            let more = if self.depth >= MAX_DEPTH {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else {
                seq.next_element_seed(Walk { path, out: self.out, depth: self.depth + 1 })?.is_some()
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
}
