//! node.k8s.io: runtime classes.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, col, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    match kind {
        "RuntimeClass" => Some(&RUNTIME_CLASS),
        _ => None,
    }
}

pub struct RuntimeClassPrinter;
pub static RUNTIME_CLASS: RuntimeClassPrinter = RuntimeClassPrinter;

impl Printer for RuntimeClassPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Handler",
                "string",
                "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(str_at(obj, "/handler")), age(obj, ctx)]
    }
}
