//! autoscaling: horizontal pod autoscalers (v2 metrics, or v1's CPU utilization target) and
//! the Scale of the scale subresource.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, int_at, name, opt_int, quantity_at, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "HorizontalPodAutoscaler" => &HORIZONTAL_POD_AUTOSCALER,
        "Scale" => &SCALE,
        _ => return None,
    })
}

pub struct HorizontalPodAutoscalerPrinter;
pub static HORIZONTAL_POD_AUTOSCALER: HorizontalPodAutoscalerPrinter = HorizontalPodAutoscalerPrinter;

impl Printer for HorizontalPodAutoscalerPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Reference",
                "string",
                "reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.",
            ),
            col(
                "Targets",
                "string",
                "metrics contains the specifications for which to use to calculate the desired replica count.",
            ),
            col(
                "MinPods",
                "string",
                "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
            ),
            col(
                "MaxPods",
                "string",
                "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.",
            ),
            col(
                "Replicas",
                "string",
                "currentReplicas is current number of replicas of pods managed by this autoscaler.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let reference =
            format!("{}/{}", str_at(obj, "/spec/scaleTargetRef/kind"), str_at(obj, "/spec/scaleTargetRef/name"));
        let targets = match obj.pointer("/spec/metrics").and_then(Value::as_array) {
            Some(specs) => format_metrics(specs, arr_at(obj, "/status/currentMetrics")),
            None => v1_cpu_target(obj),
        };
        let min_pods = opt_int(obj, "/spec/minReplicas").map_or_else(|| "<unset>".to_owned(), |n| n.to_string());
        vec![
            json!(name(obj)),
            json!(reference),
            json!(targets),
            json!(min_pods),
            json!(int_at(obj, "/spec/maxReplicas")),
            json!(int_at(obj, "/status/currentReplicas")),
            age(obj, ctx),
        ]
    }
}

/// An autoscaling/v1 object's target: its CPU utilization, which upstream converts to a v2
/// Resource metric before printing. (The v1 metrics annotations are not read.)
fn v1_cpu_target(obj: &Value) -> String {
    match opt_int(obj, "/spec/targetCPUUtilizationPercentage") {
        Some(target) => {
            let current = opt_int(obj, "/status/currentCPUUtilizationPercentage")
                .map_or_else(|| "<unknown>".to_owned(), |c| format!("{c}%"));
            format!("cpu: {current}/{target}%")
        }
        None => "<none>".to_owned(),
    }
}

/// Upstream's `formatHPAMetrics`: each metric's "current/target" (statuses are matched by
/// index), the first two joined by ", " and "+ N more..." for the rest.
fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    const MAX: usize = 2;
    if specs.is_empty() {
        return "<none>".to_owned();
    }
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let kind = str_at(spec, "/type");
            // The status of the same index, when it reports the same source type.
            let field = match kind {
                "External" => "external",
                "Pods" => "pods",
                "Object" => "object",
                "Resource" => "resource",
                "ContainerResource" => "containerResource",
                _ => return "<unknown type>".to_owned(),
            };
            let source = spec.get(field).unwrap_or(&Value::Null);
            let status = statuses.get(i).and_then(|s| s.get(field)).filter(|s| s.is_object());
            metric(kind, source, status)
        })
        .collect();
    let count = list.len();
    let shown = list.into_iter().take(MAX).collect::<Vec<_>>().join(", ");
    if count > MAX { format!("{shown} + {} more...", count - MAX) } else { shown }
}

/// One metric's "current/target".
fn metric(kind: &str, source: &Value, status: Option<&Value>) -> String {
    const UNKNOWN: &str = "<unknown>";
    // A nil quantity prints as "<nil>" upstream.
    let current = |field: &str| status.map(|s| quantity_at(s, &format!("/current/{field}"), "<nil>"));
    let target = |field: &str| quantity_at(source, &format!("/target/{field}"), "<nil>");
    let has_average_value = source.pointer("/target/averageValue").is_some_and(|v| !v.is_null());
    match kind {
        "External" | "Object" if has_average_value => {
            // Upstream reads a current average only when the status has one.
            let current = status
                .and_then(|s| s.pointer("/current/averageValue").filter(|v| !v.is_null()))
                .map_or_else(|| UNKNOWN.to_owned(), super::helpers::quantity);
            format!("{current}/{} (avg)", target("averageValue"))
        }
        "External" | "Object" => {
            format!("{}/{}", current("value").unwrap_or_else(|| UNKNOWN.to_owned()), target("value"))
        }
        "Pods" => {
            format!("{}/{}", current("averageValue").unwrap_or_else(|| UNKNOWN.to_owned()), target("averageValue"))
        }
        _ => {
            // Resource and ContainerResource: "name: current/target".
            let resource = str_at(source, "/name");
            if has_average_value {
                let current = current("averageValue").unwrap_or_else(|| UNKNOWN.to_owned());
                return format!("{resource}: {current}/{}", target("averageValue"));
            }
            let current = status
                .and_then(|s| opt_int(s, "/current/averageUtilization"))
                .map_or_else(|| UNKNOWN.to_owned(), |u| format!("{u}%"));
            let target =
                opt_int(source, "/target/averageUtilization").map_or_else(|| "<auto>".to_owned(), |u| format!("{u}%"));
            format!("{resource}: {current}/{target}")
        }
    }
}

pub struct ScalePrinter;
pub static SCALE: ScalePrinter = ScalePrinter;

impl Printer for ScalePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            // Upstream's Scale name column has no name format.
            Column { format: "", ..NAME },
            col("Desired", "integer", "replicas is the desired number of instances for the scaled object."),
            col("Available", "integer", "replicas is the actual number of observed instances of the scaled object."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![
            json!(name(obj)),
            json!(int_at(obj, "/spec/replicas")),
            json!(int_at(obj, "/status/replicas")),
            age(obj, ctx),
        ]
    }
}
