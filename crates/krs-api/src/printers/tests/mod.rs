//! Table tests per kind: each printer's column definitions (names, types, formats,
//! priorities) and its cells for representative objects, most of them ported from upstream's
//! `pkg/printers/internalversion/printers_test.go` cases (whose times are relative to now,
//! here to a fixed [`NOW`]).

mod apps_batch;
mod cluster;
mod control;
mod core;
mod groups;
mod pod;
mod table;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{Context, Printer};

/// The fixed "now" of every test.
const NOW: &str = "2025-06-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ctx() -> Context {
    Context::at(now())
}

/// The RFC 3339 time `ms` milliseconds before [`NOW`] (after it when negative).
fn ago_ms(ms: i64) -> String {
    let t = now().checked_sub(SignedDuration::from_millis(ms)).unwrap_or(Timestamp::UNIX_EPOCH);
    t.to_string()
}

/// The RFC 3339 time `secs` seconds before [`NOW`].
fn ago(secs: i64) -> String {
    ago_ms(secs * 1000)
}

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The cells of one object.
fn cells(printer: &dyn Printer, obj: &Value) -> Vec<Value> {
    let cells = printer.cells(obj, &ctx());
    assert_eq!(cells.len(), printer.columns().len(), "one cell per column for {obj}");
    cells
}

/// The cells of one object, for printers whose upstream rows carry more cells than columns.
fn raw_cells(printer: &dyn Printer, obj: &Value) -> Vec<Value> {
    printer.cells(obj, &ctx())
}

/// Asserts the column definitions; each expected column is "Name|type|format|priority".
fn assert_columns(printer: &dyn Printer, expected: &[&str]) {
    let actual: Vec<String> =
        printer.columns().iter().map(|c| format!("{}|{}|{}|{}", c.name, c.kind, c.format, c.priority)).collect();
    assert_eq!(actual, expected);
    for c in printer.columns() {
        assert!(!c.description.is_empty(), "column {} has a description", c.name);
    }
}

/// A creation time 1.9s in the future: within the clock-skew tolerance, so aged "0s".
fn almost_now() -> String {
    ago_ms(-1900)
}

/// An object with a name and creation time, and further top-level fields.
fn named(name: &str, created: String, rest: Value) -> Value {
    let mut obj = serde_json::json!({"metadata": {"name": name, "creationTimestamp": created}});
    if let (Some(o), Some(rest)) = (obj.as_object_mut(), rest.as_object()) {
        o.extend(rest.clone());
    }
    obj
}

/// Asserts the cells of each object.
fn check(printer: &dyn Printer, cases: &[(Value, Value)]) {
    for (obj, expected) in cases {
        assert_eq!(&Value::from(cells(printer, obj)), expected, "{obj}");
    }
}
