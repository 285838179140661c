//! resource.k8s.io (dynamic resource allocation): device classes, resource claims and their
//! templates, resource slices.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, deleting, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "DeviceClass" | "ResourceClaimTemplate" => &NAME_AND_AGE,
        "ResourceClaim" => &RESOURCE_CLAIM,
        "ResourceSlice" => &RESOURCE_SLICE,
        _ => return None,
    })
}

/// Device classes and resource claim templates show only their name and age.
pub struct NameAndAgePrinter;
pub static NAME_AND_AGE: NameAndAgePrinter = NameAndAgePrinter;

impl Printer for NameAndAgePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[NAME, AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), age(obj, ctx)]
    }
}

pub struct ResourceClaimPrinter;
pub static RESOURCE_CLAIM: ResourceClaimPrinter = ResourceClaimPrinter;

impl Printer for ResourceClaimPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("State", "string", "A summary of the current state (allocated, pending, reserved, etc.)."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // deleted, then allocated (and reserved) or pending; a deleted claim is not pending.
        let mut states = Vec::new();
        if deleting(obj) {
            states.push("deleted");
        }
        if obj.pointer("/status/allocation").is_some_and(|a| !a.is_null()) {
            states.push("allocated");
            if !arr_at(obj, "/status/reservedFor").is_empty() {
                states.push("reserved");
            }
        } else if !deleting(obj) {
            states.push("pending");
        }
        vec![json!(name(obj)), json!(states.join(",")), age(obj, ctx)]
    }
}

pub struct ResourceSlicePrinter;
pub static RESOURCE_SLICE: ResourceSlicePrinter = ResourceSlicePrinter;

impl Printer for ResourceSlicePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Node", "string", "NodeName identifies the node which provides the resources in this pool."),
            col("Driver", "string", "Driver identifies the DRA driver providing the capacity information."),
            col("Pool", "string", "Name is used to identify the pool."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/nodeName")),
            json!(str_at(obj, "/spec/driver")),
            json!(str_at(obj, "/spec/pool/name")),
            age(obj, ctx),
        ]
    }
}
