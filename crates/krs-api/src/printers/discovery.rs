//! discovery.k8s.io: endpoint slices.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, list_with_more, name, opt_int, opt_str, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    match kind {
        "EndpointSlice" => Some(&ENDPOINT_SLICE),
        _ => None,
    }
}

/// At most this many ports or addresses are listed before "+ N more...".
const MAX: usize = 3;

pub struct EndpointSlicePrinter;
pub static ENDPOINT_SLICE: EndpointSlicePrinter = EndpointSlicePrinter;

impl Printer for EndpointSlicePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice."),
            col("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice."),
            col("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // A port is its number, else its name, else "*" (all ports).
        let ports: Vec<String> = arr_at(obj, "/ports")
            .iter()
            .map(|p| match (opt_int(p, "/port"), opt_str(p, "/name")) {
                (Some(n), _) => n.to_string(),
                (None, Some(name)) => name.to_owned(),
                (None, None) => "*".to_owned(),
            })
            .collect();
        let addresses: Vec<String> = arr_at(obj, "/endpoints")
            .iter()
            .flat_map(|e| arr_at(e, "/addresses").iter().filter_map(Value::as_str).map(str::to_owned))
            .collect();
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/addressType")),
            json!(list_with_more(&ports[..ports.len().min(MAX)], ports.len(), MAX)),
            json!(list_with_more(&addresses[..addresses.len().min(MAX)], addresses.len(), MAX)),
            age(obj, ctx),
        ]
    }
}
