//! `metadata.managedFields` decoded (upstream's `DecodeManagedFields` / `encodeManagedFields`).
//!
//! Each entry is keyed by its manager identifier: the JSON of the entry without its fields,
//! time and fieldsType, and without apiVersion for `Apply` entries, so one applier has one
//! entry whatever version it applied last, while an updater has one entry per apiVersion.
//! Identifiers sort like upstream's (they are the same strings), which decides the order
//! of conflict messages and of the oldest-updaters cap.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::set::FieldSet;
use super::value::{self, Dialect};

/// `Apply` or `Update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update, patch (any non-apply write).
    Update,
}

impl Operation {
    /// The `operation` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who wrote a set of fields: the key of a managedFields entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ManagerId {
    pub(crate) manager: String,
    pub(crate) operation: Operation,
    /// Empty for `Apply`.
    pub(crate) api_version: String,
    pub(crate) subresource: String,
}

impl ManagerId {
    pub(crate) fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> ManagerId {
        ManagerId {
            manager: manager.to_owned(),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => api_version.to_owned(),
            },
            subresource: subresource.to_owned(),
        }
    }

    /// `BuildManagerIdentifier`: the entry's Go JSON with only these members.
    pub(crate) fn key(&self) -> String {
        let mut out = String::from("{");
        let mut member = |name: &str, v: &str| {
            if v.is_empty() {
                return;
            }
            if out.len() > 1 {
                out.push(',');
            }
            value::write_go_string(&mut out, name, Dialect::EncodingJson);
            out.push(':');
            value::write_go_string(&mut out, v, Dialect::EncodingJson);
        };
        member("manager", &self.manager);
        member("operation", self.operation.as_str());
        member("apiVersion", &self.api_version);
        member("subresource", &self.subresource);
        out.push('}');
        out
    }
}

/// A manager's fields at the apiVersion they were written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionedSet {
    pub(crate) set: FieldSet,
    pub(crate) api_version: String,
    pub(crate) applied: bool,
}

/// One manager's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: ManagerId,
    pub(crate) fields: VersionedSet,
    /// The `time` as written (RFC 3339); `None` when absent.
    pub(crate) time: Option<String>,
}

/// All managers of an object, by identifier key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ManagedFields {
    pub(crate) entries: BTreeMap<String, Entry>,
}

fn string_member<'v>(entry: &'v Map<String, Value>, name: &str) -> Result<&'v str, String> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{name} must be a string, got {other}")),
    }
}

impl ManagedFields {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decodes `metadata.managedFields` (absent or `null` is empty).
    pub(crate) fn decode(v: Option<&Value>) -> Result<ManagedFields, String> {
        let items = match v {
            None | Some(Value::Null) => return Ok(ManagedFields::default()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("managedFields must be a list, got {other}")),
        };
        let mut out = ManagedFields::default();
        for (i, item) in items.iter().enumerate() {
            let Value::Object(entry) = item else {
                return Err(format!("managed fields entry {i} must be an object"));
            };
            let operation = match string_member(entry, "operation")? {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".to_owned()),
            };
            let api_version = string_member(entry, "apiVersion")?;
            if api_version.is_empty() {
                return Err("apiVersion must not be empty".to_owned());
            }
            match string_member(entry, "fieldsType")? {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!("invalid fieldsType {} in managed fields entry {i}", value::go_quote(other)));
                }
            }
            let set = match entry.get("fieldsV1") {
                None | Some(Value::Null) => FieldSet::new(),
                Some(f) => FieldSet::from_fields_v1(f).map_err(|e| format!("error decoding set: {e}"))?,
            };
            let time = match string_member(entry, "time")? {
                "" => None,
                t => Some(t.to_owned()),
            };
            let id = ManagerId::new(
                string_member(entry, "manager")?,
                operation,
                api_version,
                string_member(entry, "subresource")?,
            );
            out.entries.insert(
                id.key(),
                Entry {
                    id,
                    fields: VersionedSet {
                        set,
                        api_version: api_version.to_owned(),
                        applied: operation == Operation::Apply,
                    },
                    time,
                },
            );
        }
        Ok(out)
    }

    /// `metadata.managedFields`, sorted as upstream sorts it (operation, time, manager,
    /// apiVersion, subresource); `None` when there are no managers.
    pub(crate) fn encode(&self) -> Option<Value> {
        if self.entries.is_empty() {
            return None;
        }
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by(|p, q| {
            p.id.operation
                .cmp(&q.id.operation)
                .then_with(|| unix_seconds(&p.time).cmp(&unix_seconds(&q.time)))
                .then_with(|| p.id.manager.cmp(&q.id.manager))
                .then_with(|| p.fields.api_version.cmp(&q.fields.api_version))
                .then_with(|| p.id.subresource.cmp(&q.id.subresource))
        });
        let items = entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".to_owned(), Value::String(e.id.manager.clone()));
                m.insert("operation".to_owned(), Value::String(e.id.operation.as_str().to_owned()));
                m.insert("apiVersion".to_owned(), Value::String(e.fields.api_version.clone()));
                if let Some(t) = &e.time {
                    m.insert("time".to_owned(), Value::String(t.clone()));
                }
                m.insert("fieldsType".to_owned(), Value::String("FieldsV1".to_owned()));
                m.insert("fieldsV1".to_owned(), e.fields.set.to_fields_v1());
                if !e.id.subresource.is_empty() {
                    m.insert("subresource".to_owned(), Value::String(e.id.subresource.clone()));
                }
                Value::Object(m)
            })
            .collect();
        Some(Value::Array(items))
    }

    /// The entry of `id`, if any.
    pub(crate) fn get(&self, id: &ManagerId) -> Option<&Entry> {
        self.entries.get(&id.key())
    }

    /// Replaces (or adds) the fields of `id`, keeping its time.
    pub(crate) fn set_fields(&mut self, id: &ManagerId, fields: VersionedSet) {
        let key = id.key();
        let time = self.entries.get(&key).and_then(|e| e.time.clone());
        self.entries.insert(key, Entry { id: id.clone(), fields, time });
    }

    /// Drops managers that own nothing.
    pub(crate) fn drop_empty(&mut self) {
        self.entries.retain(|_, e| !e.fields.set.is_empty());
    }
}

/// Seconds since the epoch of an RFC 3339 time; absent or unreadable times sort as 0, as a
/// nil time does upstream.
pub(crate) fn unix_seconds(t: &Option<String>) -> i64 {
    t.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(0, jiff::Timestamp::as_second)
}
