//! flowcontrol.apiserver.k8s.io: flow schemas and priority level configurations.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, condition, int_at, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "FlowSchema" => &FLOW_SCHEMA,
        "PriorityLevelConfiguration" => &PRIORITY_LEVEL_CONFIGURATION,
        _ => return None,
    })
}

pub struct FlowSchemaPrinter;
pub static FLOW_SCHEMA: FlowSchemaPrinter = FlowSchemaPrinter;

impl Printer for FlowSchemaPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("PriorityLevel", "string", "name is the name of the priority level configuration being referenced."),
            col(
                "MatchingPrecedence",
                "string",
                "matchingPrecedence is used to choose among the FlowSchemas that match a given request.",
            ),
            col(
                "DistinguisherMethod",
                "string",
                "distinguisherMethod defines how to compute the flow distinguisher for requests that match this schema.",
            ),
            AGE,
            col("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let distinguisher = match obj.pointer("/spec/distinguisherMethod") {
            Some(d) if d.is_object() => str_at(d, "/type").to_owned(),
            _ => "<none>".to_owned(),
        };
        // The Dangling condition's status tells whether the priority level is missing.
        let missing = condition(arr_at(obj, "/status/conditions"), "Dangling").map_or("?", |c| str_at(c, "/status"));
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/priorityLevelConfiguration/name")),
            json!(int_at(obj, "/spec/matchingPrecedence")),
            json!(distinguisher),
            age(obj, ctx),
            json!(missing),
        ]
    }

    /// Lists show flow schemas in matching order: precedence, then name.
    fn sort(&self, objects: &mut [&Value]) {
        objects.sort_by(|a, b| {
            int_at(a, "/spec/matchingPrecedence")
                .cmp(&int_at(b, "/spec/matchingPrecedence"))
                .then_with(|| name(a).cmp(name(b)))
        });
    }
}

pub struct PriorityLevelConfigurationPrinter;
pub static PRIORITY_LEVEL_CONFIGURATION: PriorityLevelConfigurationPrinter = PriorityLevelConfigurationPrinter;

impl Printer for PriorityLevelConfigurationPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Type",
                "string",
                "type indicates whether this priority level is subject to limitation on request execution.",
            ),
            col(
                "NominalConcurrencyShares",
                "string",
                "nominalConcurrencyShares (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level.",
            ),
            col("Queues", "string", "queues is the number of queues for this priority level."),
            col(
                "HandSize",
                "string",
                "handSize is a small positive number that configures the shuffle sharding of requests into queues.",
            ),
            col(
                "QueueLengthLimit",
                "string",
                "queueLengthLimit is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // Limited levels print their numbers; exempt levels and unqueued limits "<none>".
        let none = || json!("<none>");
        let (mut shares, mut queues, mut hand_size, mut queue_length) = (none(), none(), none(), none());
        if let Some(limited) = obj.pointer("/spec/limited").filter(|l| l.is_object()) {
            shares = json!(int_at(limited, "/nominalConcurrencyShares"));
            if let Some(q) = limited.pointer("/limitResponse/queuing").filter(|q| q.is_object()) {
                queues = json!(int_at(q, "/queues"));
                hand_size = json!(int_at(q, "/handSize"));
                queue_length = json!(int_at(q, "/queueLengthLimit"));
            }
        }
        vec![json!(name(obj)), json!(str_at(obj, "/spec/type")), shares, queues, hand_size, queue_length, age(obj, ctx)]
    }
}
