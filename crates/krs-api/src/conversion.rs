//! Conversion between the versions of a resource that share one storage: what upstream's
//! scheme does through its internal types, done here on JSON objects.
//!
//! - core/v1 `Event` ⇄ events.k8s.io/v1 `Event` (core/v1 is stored), see [`events`];
//! - autoscaling/v1 ⇄ autoscaling/v2 `HorizontalPodAutoscaler` (v2 is stored), see
//!   [`autoscaling`].
//!
//! [`convert`] takes an object (or a `…List` of them) with `apiVersion` and `kind` and returns
//! it in the requested group/version, with `apiVersion` updated. Converting to the version an
//! object already has returns it unchanged.

mod autoscaling;
mod events;

use std::fmt;

use serde_json::Value;

pub use autoscaling::{
    BEHAVIOR_SPECS_ANNOTATION, CONDITIONS_ANNOTATION, DEFAULT_CPU_UTILIZATION, METRIC_SPECS_ANNOTATION,
    METRIC_STATUSES_ANNOTATION,
};

/// Why an object could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConversionError {
    /// The value is not an object with a string `apiVersion` and `kind`.
    NotAnObject,
    /// No conversion between these versions of this kind exists.
    Unsupported { kind: String, from: String, to: String },
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversionError::NotAnObject => f.write_str("object has no apiVersion or kind"),
            ConversionError::Unsupported { kind, from, to } => {
                write!(f, "converting {kind} from {from} to {to} is not supported")
            }
        }
    }
}

impl std::error::Error for ConversionError {}

/// The `apiVersion` of a group and version (`v1` for the core group).
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") }
}

/// Converts an object, or each item of a list, to `to_group`/`to_version`.
pub fn convert(value: Value, to_group: &str, to_version: &str) -> Result<Value, ConversionError> {
    let target = api_version(to_group, to_version);
    let (from, kind) = match (value.get("apiVersion"), value.get("kind")) {
        (Some(Value::String(a)), Some(Value::String(k))) => (a.clone(), k.clone()),
        _ => return Err(ConversionError::NotAnObject),
    };
    if from == target {
        return Ok(value);
    }
    if let Some(item_kind) = kind.strip_suffix("List")
        && value.get("items").is_some_and(Value::is_array)
    {
        let mut value = value;
        if let Some(Value::Array(items)) = value.get_mut("items") {
            for item in items.iter_mut() {
                let mut owned = std::mem::take(item);
                // Items of a list may omit their apiVersion and kind.
                if let Some(obj) = owned.as_object_mut() {
                    obj.entry("apiVersion").or_insert_with(|| Value::String(from.clone()));
                    obj.entry("kind").or_insert_with(|| Value::String(item_kind.to_owned()));
                }
                *item = convert(owned, to_group, to_version)?;
            }
        }
        value["apiVersion"] = Value::String(target);
        return Ok(value);
    }
    let unsupported = || ConversionError::Unsupported { kind: kind.clone(), from: from.clone(), to: target.clone() };
    let mut out = match (kind.as_str(), from.as_str(), target.as_str()) {
        ("Event", "v1", "events.k8s.io/v1") => events::core_to_events(&value),
        ("Event", "events.k8s.io/v1", "v1") => events::events_to_core(&value),
        ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1") => autoscaling::v2_to_v1(&value),
        ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2") => autoscaling::v1_to_v2(&value),
        _ => return Err(unsupported()),
    };
    if let Some(obj) = out.as_object_mut() {
        obj.insert("apiVersion".to_owned(), Value::String(target));
        obj.insert("kind".to_owned(), Value::String(kind));
    }
    Ok(out)
}

/// Moves `from` of `src` to `to` of `dst` when present.
fn carry(src: &Value, dst: &mut serde_json::Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = src.get(from)
        && !v.is_null()
    {
        dst.insert(to.to_owned(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn same_version_is_unchanged_and_unknown_pairs_fail() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert_eq!(convert(cm.clone(), "", "v1").unwrap(), cm);
        assert_eq!(
            convert(cm, "apps", "v1").unwrap_err().to_string(),
            "converting ConfigMap from v1 to apps/v1 is not supported"
        );
        assert_eq!(convert(json!(1), "", "v1").unwrap_err(), ConversionError::NotAnObject);
    }

    #[test]
    fn lists_convert_each_item() {
        let list = json!({
            "apiVersion": "v1",
            "kind": "EventList",
            "metadata": {"resourceVersion": "7"},
            "items": [{"metadata": {"name": "a"}, "involvedObject": {"kind": "Pod"}, "message": "hi"}],
        });
        let out = convert(list, "events.k8s.io", "v1").unwrap();
        assert_eq!(out["apiVersion"], "events.k8s.io/v1");
        assert_eq!(out["metadata"]["resourceVersion"], "7");
        assert_eq!(out["items"][0]["apiVersion"], "events.k8s.io/v1");
        assert_eq!(out["items"][0]["note"], "hi");
        assert_eq!(out["items"][0]["regarding"]["kind"], "Pod");
    }
}
