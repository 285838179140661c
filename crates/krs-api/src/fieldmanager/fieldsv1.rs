//! The FieldsV1 encoding of a [`FieldSet`] (upstream's `Set.ToJSON` / `Set.FromJSON`): a JSON
//! object whose keys are serialized path elements; `{}` marks a member, and a member that also
//! has members below it carries a `".": {}` entry.
//!
//! `metadata.managedFields[].fieldsV1` lives inside a `serde_json::Value`, whose objects keep
//! keys in byte order. Upstream writes keys in path-element order, which is the same for
//! everything this crate produces except numeric keys of different widths (`v:9` sorts after
//! `v:10` bytewise). [`FieldSet::to_fields_v1_string`] gives upstream's exact bytes.

use serde_json::{Map, Value};

use super::error::FieldsV1Error;
use super::path::PathElement;
use super::set::FieldSet;
use super::value::{self, Dialect};

impl FieldSet {
    /// The FieldsV1 object.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.fields_v1_map(false))
    }

    fn fields_v1_map(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            out.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for pe in &self.members {
            let below = match self.children.get(pe) {
                Some(child) => child.fields_v1_map(true),
                None => Map::new(),
            };
            out.insert(pe.serialize(), Value::Object(below));
        }
        for (pe, child) in &self.children {
            if !self.members.contains(pe) {
                out.insert(pe.serialize(), Value::Object(child.fields_v1_map(false)));
            }
        }
        out
    }

    /// The FieldsV1 JSON exactly as upstream serializes it (keys in path-element order,
    /// Go's string escaping).
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.write_contents(false, &mut out);
        out.push('}');
        out
    }

    fn write_contents(&self, include_self: bool, out: &mut String) {
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
        };
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            sep(out);
            out.push_str("\".\":{}");
        }
        // Members and children merged in element order, as upstream's emitter walks them.
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let take_member = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(m), Some((c, _))) => *m <= *c,
            };
            sep(out);
            if take_member {
                let Some(pe) = members.next() else { break };
                value::write_go_string(out, &pe.serialize(), Dialect::JsonIterator);
                out.push(':');
                match self.children.get(pe) {
                    Some(child) => {
                        children.next();
                        out.push('{');
                        child.write_contents(true, out);
                        out.push('}');
                    }
                    None => out.push_str("{}"),
                }
            } else {
                let Some((pe, child)) = children.next() else {
                    break;
                };
                value::write_go_string(out, &pe.serialize(), Dialect::JsonIterator);
                out.push_str(":{");
                child.write_contents(false, out);
                out.push('}');
            }
        }
    }

    /// Decodes a FieldsV1 object. Keys of unknown kinds are dropped, as upstream does.
    pub fn from_fields_v1(fields: &Value) -> Result<FieldSet, FieldsV1Error> {
        let Value::Object(map) = fields else {
            return Err(FieldsV1Error::NotAnObject);
        };
        Ok(read_node(map)?.0.unwrap_or_default())
    }
}

/// Reads one level: the subset below it (if any) and whether the node is itself a member
/// (it has a `"."` entry, or nothing readable below it).
fn read_node(map: &Map<String, Value>) -> Result<(Option<FieldSet>, bool), FieldsV1Error> {
    let mut is_member = false;
    let mut children: Option<FieldSet> = None;
    for (key, v) in map {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::parse(key)? else {
            continue;
        };
        let Value::Object(below) = v else {
            return Err(FieldsV1Error::NotAnObject);
        };
        let (grandchildren, child_is_member) = read_node(below)?;
        let node = children.get_or_insert_with(FieldSet::new);
        if child_is_member {
            node.members.insert(pe.clone());
        }
        if let Some(g) = grandchildren.filter(|g| !g.is_empty()) {
            node.children.insert(pe, g);
        }
    }
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_members_carry_a_dot() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}});
        let set = FieldSet::from_fields_v1(&v).unwrap_or_default();
        assert_eq!(set.len(), 2);
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(set.to_fields_v1_string(), r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#);
    }

    #[test]
    fn numeric_values_keep_upstream_order_in_the_string_form() {
        let v = json!({"f:s": {"v:10": {}, "v:9": {}}});
        let set = FieldSet::from_fields_v1(&v).unwrap_or_default();
        assert_eq!(set.to_fields_v1_string(), r#"{"f:s":{"v:9":{},"v:10":{}}}"#);
    }
}
