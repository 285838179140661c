//! Server-side printing: the Table (meta.k8s.io/v1) that `kubectl get` shows.
//!
//! Each built-in kind has a [`Printer`] ported from upstream's
//! `pkg/printers/internalversion/printers.go` (plus the kube-aggregator's APIService
//! convertor); [`printer_for`] finds it by group and kind. Kinds whose upstream storage uses
//! the default table convertor (LimitRange, Role, ClusterRole, CSIStorageCapacity,
//! CustomResourceDefinition, and any kind without a printer) get [`DefaultPrinter`]: Name and
//! Created At.
//!
//! Printers read the object's JSON, so one printer serves every version of its kind (for
//! example core/v1 and events.k8s.io/v1 Events). Upstream's API server always prints with the
//! wide option and lets kubectl hide the priority-1 columns, so cells are computed for every
//! column. Ages are rendered on the server, as upstream does ("5m", "<unknown>"), from the
//! [`Context`]'s current time.

mod admissionregistration;
mod apiregistration;
mod apps;
mod autoscaling;
mod batch;
mod certificates;
mod coordination;
mod core;
mod core_cluster;
mod discovery;
mod flowcontrol;
mod helpers;
mod networking;
mod node;
mod pod;
mod policy;
mod rbac;
mod resource;
mod scheduling;
mod storage;

#[cfg(test)]
mod tests;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

pub use helpers::{human_duration, translate_timestamp_since};

/// A column of a Table, as upstream's TableColumnDefinition.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    /// string, integer, number, boolean, date.
    pub kind: &'static str,
    /// `name` for the object's name column, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for default columns, 1 for `-o wide` ones.
    pub priority: i32,
}

/// What cells may depend on besides the object: the current time, for ages and durations.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub now: Timestamp,
}

impl Context {
    /// A context at the current wall-clock time.
    pub fn now() -> Context {
        // From the system clock directly: jiff's own clock needs its std feature.
        let nanos = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
        };
        Context { now: Timestamp::from_nanosecond(nanos).unwrap_or(Timestamp::UNIX_EPOCH) }
    }

    /// A context at a fixed time (tests, or a whole response printed at one instant).
    pub fn at(now: Timestamp) -> Context {
        Context { now }
    }
}

/// The columns and cells of one kind.
pub trait Printer: Send + Sync {
    fn columns(&self) -> &'static [Column];

    /// The cells of one object (its JSON), one per column, wide columns included.
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value>;

    /// The row's conditions (metav1.TableRowCondition list), if the kind reports any; only
    /// pods do (Completed when Succeeded or Failed).
    fn conditions(&self, _obj: &Value) -> Option<Value> {
        None
    }

    /// Reorders a list's objects before printing; upstream sorts only FlowSchemas.
    fn sort(&self, _objects: &mut [&Value]) {}
}

/// Upstream's default table convertor (`rest.NewDefaultTableConvertor`).
pub struct DefaultPrinter;

const DEFAULT_COLUMNS: &[Column] = &[
    helpers::NAME,
    Column { name: "Created At", kind: "date", format: "", description: helpers::CREATION_TIMESTAMP_DOC, priority: 0 },
];

impl Printer for DefaultPrinter {
    fn columns(&self) -> &'static [Column] {
        DEFAULT_COLUMNS
    }
    fn cells(&self, obj: &Value, _ctx: &Context) -> Vec<Value> {
        // Upstream formats the creation time in UTC at second precision; a missing one is
        // Go's zero time.
        let created = helpers::timestamp(obj, "/metadata/creationTimestamp")
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned());
        vec![json!(helpers::name(obj)), json!(created)]
    }
}

/// The printer of a kind, by API group ("" for core) and kind; [`DefaultPrinter`] for kinds
/// upstream prints with the default convertor and for unknown kinds.
pub fn printer_for(group: &str, kind: &str) -> &'static dyn Printer {
    let found: Option<&'static dyn Printer> = match group {
        "" => core::printer(kind),
        "apps" => apps::printer(kind),
        "batch" => batch::printer(kind),
        "autoscaling" => autoscaling::printer(kind),
        "policy" => policy::printer(kind),
        "networking.k8s.io" => networking::printer(kind),
        "discovery.k8s.io" => discovery::printer(kind),
        // events.k8s.io/v1 Events are the same objects as core/v1 ones; the printer reads
        // both shapes.
        "events.k8s.io" if kind == "Event" => Some(&core::EVENT),
        "coordination.k8s.io" => coordination::printer(kind),
        "scheduling.k8s.io" => scheduling::printer(kind),
        "node.k8s.io" => node::printer(kind),
        "storage.k8s.io" => storage::printer(kind),
        "rbac.authorization.k8s.io" => rbac::printer(kind),
        "certificates.k8s.io" => certificates::printer(kind),
        "admissionregistration.k8s.io" => admissionregistration::printer(kind),
        "flowcontrol.apiserver.k8s.io" => flowcontrol::printer(kind),
        "resource.k8s.io" => resource::printer(kind),
        "apiregistration.k8s.io" => apiregistration::printer(kind),
        _ => None,
    };
    found.unwrap_or(&DefaultPrinter)
}

/// What a Table row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

/// Builds a Table of `objects` with `printer`'s columns, ages relative to the current time.
pub fn table(printer: &dyn Printer, objects: &[Value], list_meta: Option<Value>, include: IncludeObject) -> Value {
    table_at(printer, objects, list_meta, include, &Context::now())
}

/// [`table`] at the time of `ctx`.
pub fn table_at(
    printer: &dyn Printer,
    objects: &[Value],
    list_meta: Option<Value>,
    include: IncludeObject,
    ctx: &Context,
) -> Value {
    let columns: Vec<Value> = printer
        .columns()
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let mut ordered: Vec<&Value> = objects.iter().collect();
    printer.sort(&mut ordered);
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|o| {
            let mut row = json!({"cells": printer.cells(o, ctx)});
            if let Some(conditions) = printer.conditions(o) {
                row["conditions"] = conditions;
            }
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    })
                }
                IncludeObject::Object => row["object"] = o.clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta.unwrap_or_else(|| json!({})),
        "columnDefinitions": columns,
        "rows": rows,
    })
}
