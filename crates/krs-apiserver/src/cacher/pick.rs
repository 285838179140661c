//! Reads a few paths out of a JSON document without building the rest: the watch cache needs
//! an object's name, namespace, labels and field-selector values on every write, and a full
//! parse of a pod allocates every string and map in it only to drop them again.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use krs_api::strategy::FieldLabel;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::objbytes::MemberName;

/// The members wanted below a node; a node without any is wanted whole.
#[derive(Debug, Default)]
pub struct Wanted(BTreeMap<&'static str, Wanted>);

impl Wanted {
    /// Wants the value at a dotted path (`spec.nodeName`).
    pub fn add(&mut self, path: &'static str) {
        let mut node = self;
        for part in path.split('.') {
            node = node.0.entry(part).or_default();
        }
    }

    /// The document reduced to the wanted paths: objects on the way keep only wanted members,
    /// wanted values are whole. Where a path meets something other than an object, the
    /// result has null, which reads as absent.
    pub fn pick(&self, json: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let v = Pick(self).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

/// Runs `f` with the paths the watch cache reads for a kind with these field labels (the
/// object's name, namespace and labels, and each label's path), built once per kind and thread.
pub fn for_selectors<R>(field_labels: &'static [FieldLabel], f: impl FnOnce(&Wanted) -> R) -> R {
    thread_local! {
        static BUILT: RefCell<Vec<(usize, Rc<Wanted>)>> = const { RefCell::new(Vec::new()) };
    }
    let id = field_labels.as_ptr() as usize;
    let wanted = BUILT.with_borrow_mut(|built| {
        if let Some((_, w)) = built.iter().find(|(k, _)| *k == id) {
            return w.clone();
        }
        let mut w = Wanted::default();
        for path in ["metadata.name", "metadata.namespace", "metadata.labels"]
            .into_iter()
            .chain(field_labels.iter().map(|l| l.path))
        {
            w.add(path);
        }
        let w = Rc::new(w);
        built.push((id, w.clone()));
        w
    });
    f(&wanted)
}

struct Pick<'w>(&'w Wanted);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.0.is_empty() {
            return Value::deserialize(d);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(MemberName(key)) = map.next_key()? {
            match self.0.0.get(key.as_ref()) {
                Some(below) => {
                    let v = map.next_value_seed(Pick(below))?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wanted(paths: &[&'static str]) -> Wanted {
        let mut w = Wanted::default();
        paths.iter().for_each(|p| w.add(p));
        w
    }

    #[test]
    fn keeps_only_the_wanted_paths_whole() {
        let doc = json!({
            "metadata": {"name": "a", "namespace": "n", "labels": {"x": "1"}, "uid": "u"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}], "x\"y": {"deep": [1, 2]}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
        });
        let w = wanted(&["metadata.name", "metadata.namespace", "metadata.labels", "spec.nodeName", "status.phase"]);
        let got = w.pick(doc.to_string().as_bytes()).expect("parses");
        assert_eq!(
            got,
            json!({"metadata": {"name": "a", "namespace": "n", "labels": {"x": "1"}},
                   "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
        );
    }

    #[test]
    fn paths_through_non_objects_read_as_absent() {
        let w = wanted(&["spec.nodeName", "status.phase", "metadata.name"]);
        let got = w.pick(br#"{"spec": [1, {"nodeName": "x"}], "status": "odd", "metadata": null}"#).expect("parses");
        assert_eq!(got, json!({"spec": null, "status": null, "metadata": null}));
        assert!(got.pointer("/spec/nodeName").is_none());
        // Escaped member names are matched by their value.
        let got = w.pick(br#"{"spec": {"node\u004eame": "n2"}}"#).expect("parses");
        assert_eq!(got, json!({"spec": {"nodeName": "n2"}}));
    }

    #[test]
    fn bad_json_is_an_error() {
        let w = wanted(&["metadata.name"]);
        assert!(w.pick(br#"{"metadata": {"name": "a"}"#).is_err());
        assert!(w.pick(br#"{"metadata": {"name": "a"}} x"#).is_err());
    }
}
