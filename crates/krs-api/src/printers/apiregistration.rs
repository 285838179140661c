//! apiregistration.k8s.io: API services, printed by the kube-aggregator's own convertor.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, condition, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    match kind {
        "APIService" => Some(&API_SERVICE),
        _ => None,
    }
}

pub struct ApiServicePrinter;
pub static API_SERVICE: ApiServicePrinter = ApiServicePrinter;

impl Printer for ApiServicePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Service", "string", "The reference to the service that hosts this API endpoint."),
            col("Available", "string", "Whether this service is available."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // Groups served by the API server itself have no service.
        let service = match obj.pointer("/spec/service") {
            Some(s) if s.is_object() => {
                format!("{}/{}", str_at(s, "/namespace"), str_at(s, "/name"))
            }
            _ => "Local".to_owned(),
        };
        let available = match condition(arr_at(obj, "/status/conditions"), "Available") {
            Some(c) => match (str_at(c, "/status"), str_at(c, "/reason")) {
                ("True", _) => "True".to_owned(),
                (status, "") => status.to_owned(),
                (status, reason) => format!("{status} ({reason})"),
            },
            None => "Unknown".to_owned(),
        };
        vec![json!(name(obj)), json!(service), json!(available), age(obj, ctx)]
    }
}
