//! What the printers share: column definitions, reading fields of an object's JSON where any
//! field may be absent, and upstream's renderings (human durations, ages, labels, selectors,
//! container lists, "+ N more..." lists, quantities).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use krs_apimachinery::labels::{self, Selector};
use krs_apimachinery::quantity::Quantity;
use serde_json::{Value, json};

use super::{Column, Context};

/// `metav1.ObjectMeta{}.SwaggerDoc()["name"]`, the description of every Name column.
pub(super) const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]`, the description of every Age
/// column.
pub(super) const CREATION_TIMESTAMP_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// A default (priority 0) column.
pub(super) const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 0 }
}

/// A column shown only by `-o wide` (priority 1).
pub(super) const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 1 }
}

/// The object's name column.
pub(super) const NAME: Column =
    Column { name: "Name", kind: "string", format: "name", description: NAME_DOC, priority: 0 };

/// The object's age column; its cells are human durations, not dates.
pub(super) const AGE: Column = col("Age", "string", CREATION_TIMESTAMP_DOC);

pub(super) const CONTAINERS_DOC: &str = "Names of each container in the template.";
pub(super) const IMAGES_DOC: &str = "Images referenced by each container in the template.";
pub(super) const WIDE_CONTAINERS: Column = wide("Containers", "string", CONTAINERS_DOC);
pub(super) const WIDE_IMAGES: Column = wide("Images", "string", IMAGES_DOC);

static NO_VALUES: Vec<Value> = Vec::new();

/// The string at a JSON pointer, or "" (Go's zero value) when absent or not a string.
pub(super) fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at a JSON pointer, if present (a Go `*string` that is set).
pub(super) fn opt_str<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// The integer at a JSON pointer, if present.
pub(super) fn opt_int(v: &Value, ptr: &str) -> Option<i64> {
    let n = v.pointer(ptr)?;
    // Integers may arrive as floats (`5.0`) from some clients.
    n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))
}

/// The integer at a JSON pointer, or 0.
pub(super) fn int_at(v: &Value, ptr: &str) -> i64 {
    opt_int(v, ptr).unwrap_or(0)
}

/// The boolean at a JSON pointer, if present.
pub(super) fn opt_bool(v: &Value, ptr: &str) -> Option<bool> {
    v.pointer(ptr).and_then(Value::as_bool)
}

/// The boolean at a JSON pointer, or false.
pub(super) fn bool_at(v: &Value, ptr: &str) -> bool {
    opt_bool(v, ptr).unwrap_or(false)
}

/// The array at a JSON pointer, or an empty slice.
pub(super) fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr).and_then(Value::as_array).map_or(&NO_VALUES[..], Vec::as_slice)
}

/// The number of entries of the map (or array) at a JSON pointer.
pub(super) fn len_at(v: &Value, ptr: &str) -> i64 {
    let n = match v.pointer(ptr) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A string-to-string map at a JSON pointer; non-string values are skipped.
pub(super) fn string_map(v: &Value, ptr: &str) -> BTreeMap<String, String> {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// The object's name.
pub(super) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

/// Whether the object is being deleted.
pub(super) fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// The RFC 3339 time at a JSON pointer; `None` for an absent, null or unparsable one (Go's
/// zero time).
pub(super) fn timestamp(v: &Value, ptr: &str) -> Option<Timestamp> {
    opt_str(v, ptr).and_then(|s| s.parse::<Timestamp>().ok())
}

/// Upstream's `duration.HumanDuration` of a duration in nanoseconds: two or three significant
/// figures ("45s", "5m3s", "100m", "3h5m", "2d3h", "90d", "3y2d", "10y"); a duration a little
/// negative (clock skew under 2s) is "0s", a more negative one "<invalid>".
pub fn human_duration(nanos: i128) -> String {
    const SECOND: i128 = 1_000_000_000;
    const MINUTE: i128 = 60 * SECOND;
    const HOUR: i128 = 60 * MINUTE;
    // Go converts the duration to whole seconds by truncation toward zero.
    let seconds = nanos / SECOND;
    if seconds < -1 {
        return "<invalid>".to_owned();
    } else if seconds < 0 {
        return "0s".to_owned();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / MINUTE;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / HOUR;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// The nanoseconds from `earlier` to `later`.
pub(super) fn nanos_between(earlier: Timestamp, later: Timestamp) -> i128 {
    later.as_nanosecond() - earlier.as_nanosecond()
}

/// Upstream's `translateTimestampSince`: the human duration from `t` to now, "<unknown>" for
/// a zero (absent) time.
pub fn translate_timestamp_since(t: Option<Timestamp>, ctx: &Context) -> String {
    match t {
        Some(t) => human_duration(nanos_between(t, ctx.now)),
        None => "<unknown>".to_owned(),
    }
}

/// [`translate_timestamp_since`] of the time at a JSON pointer.
pub(super) fn since(v: &Value, ptr: &str, ctx: &Context) -> String {
    translate_timestamp_since(timestamp(v, ptr), ctx)
}

/// The Age cell: time since the object's creation.
pub(super) fn age(obj: &Value, ctx: &Context) -> Value {
    json!(since(obj, "/metadata/creationTimestamp", ctx))
}

/// `labels.FormatLabels` of the map at a JSON pointer: sorted `k=v` joined by `,`, or
/// `<none>`.
pub(super) fn format_labels(v: &Value, ptr: &str) -> String {
    labels::format_labels(&string_map(v, ptr))
}

/// `metav1.LabelSelectorAsSelector` of a selector's JSON; `None` (an absent selector) selects
/// nothing.
fn label_selector(v: Option<&Value>) -> Result<Selector, ()> {
    let parsed: Option<LabelSelector> = match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| ())?),
    };
    Selector::from_label_selector(parsed.as_ref()).map_err(|_| ())
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when it is empty, `<error>`
/// when the selector is invalid.
pub(super) fn format_label_selector(v: Option<&Value>) -> String {
    match label_selector(v) {
        Ok(s) => {
            let s = s.to_string();
            if s.is_empty() { "<none>".to_owned() } else { s }
        }
        Err(()) => "<error>".to_owned(),
    }
}

/// The selector string as Deployments print it (`selector.String()`): empty when the selector
/// is, `<invalid>` when it is invalid.
pub(super) fn selector_string(v: Option<&Value>) -> String {
    match label_selector(v) {
        Ok(s) => s.to_string(),
        Err(()) => "<invalid>".to_owned(),
    }
}

/// Upstream's `layoutContainerCells`: container names and images, each joined by `,`.
pub(super) fn containers(list: &[Value]) -> (Value, Value) {
    let names: Vec<&str> = list.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| str_at(c, "/image")).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// Upstream's `listWithMoreString`: the first `max` items joined by `,` and "+ N more..." for
/// the rest, or `<unset>` for no items.
pub(super) fn list_with_more(list: &[String], count: usize, max: usize) -> String {
    let joined = list.join(",");
    if count > max {
        return format!("{joined} + {} more...", count - max);
    }
    if joined.is_empty() { "<unset>".to_owned() } else { joined }
}

/// A quantity's `String()`: its canonical form. Quantities may be JSON strings or numbers;
/// an unparsable one is printed as given.
pub(super) fn quantity(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return String::new(),
    };
    match Quantity::parse(text.trim()) {
        Ok(q) => q.canonical_string(),
        Err(_) => text,
    }
}

/// The quantity at a JSON pointer; a missing one prints as `missing` (upstream prints a zero
/// quantity as "0" and a nil `*Quantity` as "<nil>").
pub(super) fn quantity_at(v: &Value, ptr: &str, missing: &str) -> String {
    match v.pointer(ptr) {
        Some(q) if !q.is_null() => quantity(q),
        _ => missing.to_owned(),
    }
}

/// An IntOrString's `String()`.
pub(super) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Upstream's `printBoolPtr`: "True", "False", or `<unset>`.
pub(super) fn bool_ptr(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
}

/// The string, or `placeholder` when it is empty.
pub(super) fn or(s: &str, placeholder: &str) -> String {
    if s.is_empty() { placeholder.to_owned() } else { s.to_owned() }
}

/// The first condition of a type in a `conditions` array.
pub(super) fn condition<'a>(conditions: &'a [Value], kind: &str) -> Option<&'a Value> {
    conditions.iter().find(|c| str_at(c, "/type") == kind)
}

/// Whether the first condition of a type has status True (upstream's `hasJobCondition` and
/// `isPodInitializedConditionTrue`).
pub(super) fn condition_true(conditions: &[Value], kind: &str) -> bool {
    condition(conditions, kind).is_some_and(|c| str_at(c, "/status") == "True")
}
