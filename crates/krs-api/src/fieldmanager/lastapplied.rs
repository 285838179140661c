//! Moving from client-side to server-side apply (upstream's `lastAppliedManager` and
//! `lastAppliedUpdater`), for the manager `kubectl` only.
//!
//! After `kubectl apply` (client-side: manager `kubectl-client-side-apply`, operation
//! Update, and the `kubectl.kubernetes.io/last-applied-configuration` annotation),
//! `kubectl apply --server-side` applies as `kubectl`. Conflicts with fields the annotation
//! lists and the live object still has with the same value are not conflicts: the applier
//! takes them (upstream forces the apply). Afterwards the annotation is rewritten from the
//! applied configuration, so that a later client-side apply still diffs correctly.
//! kubectl then moves the client-side manager's fields into its `Apply` entry itself, by
//! patching managedFields (client-go `csaupgrade`), which [`super::update`] honours.

use serde_json::Value;

use super::compare::compare;
use super::schema::Node;
use super::set::FieldSet;
use super::tofieldset::to_field_set;
use super::validate::validate;
use super::value::{self, Dialect};

/// The annotation client-side apply keeps its last configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager whose applies take over client-side apply.
pub(crate) const KUBECTL: &str = "kubectl";

/// Upstream's limit on the total size of annotations (256 KiB).
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn annotations(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    obj.get("metadata")?.get("annotations")?.as_object()
}

fn last_applied(obj: &Value) -> Option<&str> {
    annotations(obj)?.get(LAST_APPLIED_ANNOTATION)?.as_str().filter(|s| !s.is_empty())
}

/// The fields a conflict on which the applier may take over: the annotation's fields that
/// the live object still has, unchanged. `None` without a usable annotation.
pub(crate) fn allowed_conflicts(live: &Value, api_version: &str, kind: &str) -> Option<FieldSet> {
    let last: Value = serde_json::from_str(last_applied(live)?).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    let node = Node::root(api_version, kind);
    // Upstream converts both objects strictly; either failing disables the allowance.
    if !validate(&last, node, false).is_empty() || !validate(live, node, false).is_empty() {
        return None;
    }
    let cmp = compare(&last, live, node);
    Some(to_field_set(&last, node).difference(&cmp.modified).difference(&cmp.added).difference(&cmp.removed))
}

/// Rewrites the annotation of `result` (when it has one) from the applied `config`, as
/// `kubectl apply` would have written it: the configuration without the annotation, as Go's
/// JSON encoder writes it (sorted keys, trailing newline). Dropped if annotations would
/// exceed their size limit.
pub(crate) fn update_annotation(result: &mut Value, config: &Value) {
    if last_applied(result).is_none() {
        return;
    }
    let mut applied = config.clone();
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut)
        && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
    {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
    let mut encoded = String::new();
    value::write_go_json(&mut encoded, &applied, Dialect::EncodingJson);
    encoded.push('\n');
    let Some(annotations) =
        result.get_mut("metadata").and_then(|m| m.get_mut("annotations")).and_then(Value::as_object_mut)
    else {
        return;
    };
    annotations.insert(LAST_APPLIED_ANNOTATION.to_owned(), Value::String(encoded));
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
}
