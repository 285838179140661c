//! admissionregistration.k8s.io: webhook configurations and admission policies with their
//! bindings.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, len_at, name, str_at, string_map};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => &WEBHOOK_CONFIGURATION,
        "ValidatingAdmissionPolicy" => &VALIDATING_ADMISSION_POLICY,
        "MutatingAdmissionPolicy" => &MUTATING_ADMISSION_POLICY,
        "ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicyBinding" => &ADMISSION_POLICY_BINDING,
        _ => return None,
    })
}

/// Mutating and validating webhook configurations print alike.
pub struct WebhookConfigurationPrinter;
pub static WEBHOOK_CONFIGURATION: WebhookConfigurationPrinter = WebhookConfigurationPrinter;

impl Printer for WebhookConfigurationPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(len_at(obj, "/webhooks")), age(obj, ctx)]
    }
}

const PARAM_KIND_DOC: &str = "ParamKind specifies the kind of resources used to parameterize this policy";

/// A policy's parameter kind, "apiVersion/kind", or `<unset>`.
fn param_kind(obj: &Value) -> String {
    match obj.pointer("/spec/paramKind") {
        Some(p) if p.is_object() => format!("{}/{}", str_at(p, "/apiVersion"), str_at(p, "/kind")),
        _ => "<unset>".to_owned(),
    }
}

pub struct ValidatingAdmissionPolicyPrinter;
pub static VALIDATING_ADMISSION_POLICY: ValidatingAdmissionPolicyPrinter = ValidatingAdmissionPolicyPrinter;

impl Printer for ValidatingAdmissionPolicyPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Validations",
                "integer",
                "Validations indicates the number of validation rules defined in this configuration",
            ),
            col("ParamKind", "string", PARAM_KIND_DOC),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(len_at(obj, "/spec/validations")), json!(param_kind(obj)), age(obj, ctx)]
    }
}

pub struct MutatingAdmissionPolicyPrinter;
pub static MUTATING_ADMISSION_POLICY: MutatingAdmissionPolicyPrinter = MutatingAdmissionPolicyPrinter;

impl Printer for MutatingAdmissionPolicyPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Mutations",
                "integer",
                "Mutation indicates the number of mutations rules defined in this configuration",
            ),
            col("ParamKind", "string", PARAM_KIND_DOC),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(len_at(obj, "/spec/mutations")), json!(param_kind(obj)), age(obj, ctx)]
    }
}

/// Validating and mutating admission policy bindings print alike.
pub struct AdmissionPolicyBindingPrinter;
pub static ADMISSION_POLICY_BINDING: AdmissionPolicyBindingPrinter = AdmissionPolicyBindingPrinter;

impl Printer for AdmissionPolicyBindingPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "PolicyName",
                "string",
                "PolicyName indicates the policy definition which the policy binding binded to",
            ),
            col("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let param = match obj.pointer("/spec/paramRef") {
            Some(p) if p.is_object() => match (str_at(p, "/name"), str_at(p, "/namespace")) {
                // Whether the param is cluster-scoped is unknown here, so a name without a
                // namespace shows namespace "*".
                ("", _) => match p.get("selector") {
                    Some(s) if !s.is_null() => selector_debug_string(s),
                    _ => "<unset>".to_owned(),
                },
                (name, "") => format!("*/{name}"),
                (name, ns) => format!("{ns}/{name}"),
            },
            _ => "<unset>".to_owned(),
        };
        vec![json!(name(obj)), json!(str_at(obj, "/spec/policyName")), json!(param), age(obj, ctx)]
    }
}

/// The Go debug form of a LabelSelector (its generated `String()`), which upstream prints for
/// a parameter selector.
fn selector_debug_string(selector: &Value) -> String {
    let labels: String = string_map(selector, "/matchLabels").iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = arr_at(selector, "/matchExpressions")
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr_at(e, "/values").iter().filter_map(Value::as_str).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                str_at(e, "/key"),
                str_at(e, "/operator"),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}
