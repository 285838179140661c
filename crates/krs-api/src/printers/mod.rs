//! Server-side printing: the Table (meta.k8s.io/v1) that `kubectl get` shows. Each kind's
//! strategy names its [`Printer`]; kinds without one get upstream's default columns (Name and
//! Created At).

use serde_json::{Value, json};

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

/// The columns and cells of one kind.
pub trait Printer: Send + Sync {
    fn columns(&self) -> &'static [Column];
    /// The cells of one object (its JSON), one per column.
    fn cells(&self, obj: &Value) -> Vec<Value>;
}

/// Upstream's default table convertor.
pub struct DefaultPrinter;

const DEFAULT_COLUMNS: &[Column] = &[
    Column {
        name: "Name",
        kind: "string",
        format: "name",
        description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        priority: 0,
    },
    Column {
        name: "Created At",
        kind: "date",
        format: "",
        description: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        priority: 0,
    },
];

impl Printer for DefaultPrinter {
    fn columns(&self) -> &'static [Column] {
        DEFAULT_COLUMNS
    }
    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![
            obj.pointer("/metadata/name").cloned().unwrap_or(json!("")),
            obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
        ]
    }
}

/// What a Table row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

/// Builds a Table of `objects` with `printer`'s columns.
pub fn table(printer: &dyn Printer, objects: &[Value], list_meta: Option<Value>, include: IncludeObject) -> Value {
    let columns: Vec<Value> = printer
        .columns()
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": printer.cells(o)});
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
