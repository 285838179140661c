//! policy: pod disruption budgets.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, col, int_at, int_or_string, name};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    match kind {
        "PodDisruptionBudget" => Some(&POD_DISRUPTION_BUDGET),
        _ => None,
    }
}

pub struct PodDisruptionBudgetPrinter;
pub static POD_DISRUPTION_BUDGET: PodDisruptionBudgetPrinter = PodDisruptionBudgetPrinter;

impl Printer for PodDisruptionBudgetPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Min Available", "string", "The minimum number of pods that must be available."),
            col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
            col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // An unset bound is "N/A"; a set one is an integer or a percentage.
        let bound = |ptr: &str| match obj.pointer(ptr) {
            Some(v) if !v.is_null() => int_or_string(v),
            _ => "N/A".to_owned(),
        };
        vec![
            json!(name(obj)),
            json!(bound("/spec/minAvailable")),
            json!(bound("/spec/maxUnavailable")),
            json!(int_at(obj, "/status/disruptionsAllowed")),
            age(obj, ctx),
        ]
    }
}
