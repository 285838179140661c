//! scheduling.k8s.io: priority classes.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, bool_at, col, int_at, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    match kind {
        "PriorityClass" => Some(&PRIORITY_CLASS),
        _ => None,
    }
}

pub struct PriorityClassPrinter;
pub static PRIORITY_CLASS: PriorityClassPrinter = PriorityClassPrinter;

impl Printer for PriorityClassPrinter {
    fn columns(&self) -> &'static [Column] {
        // Upstream lists PreemptionPolicy at priority 0 but fills it only when printing wide,
        // which the server always does.
        const COLUMNS: &[Column] = &[
            NAME,
            col("Value", "integer", "value represents the integer value of this priority class."),
            col(
                "Global-Default",
                "boolean",
                "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
            ),
            AGE,
            col(
                "PreemptionPolicy",
                "string",
                "preemptionPolicy is the Policy for preempting pods with lower priority.",
            ),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![
            json!(name(obj)),
            json!(int_at(obj, "/value")),
            json!(bool_at(obj, "/globalDefault")),
            age(obj, ctx),
            json!(str_at(obj, "/preemptionPolicy")),
        ]
    }
}
