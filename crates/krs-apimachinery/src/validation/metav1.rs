//! Validation of meta/v1 building blocks: labels, label selectors, managed fields
//! (`k8s.io/apimachinery/pkg/apis/meta/v1/validation`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ManagedFieldsEntry};

use super::{ErrorList, Path, field, is_qualified_name, is_valid_label_value};
use crate::gofmt;

/// The longest field manager name.
pub const FIELD_MANAGER_MAX_LENGTH: i64 = 128;

/// The longest subresource name in a managed fields entry.
pub const MAX_SUBRESOURCE_NAME_LENGTH: i64 = 256;

/// Options of [`validate_label_selector`] (`LabelSelectorValidationOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelSelectorValidationOptions {
    /// Accept invalid label values in match expressions (only for data persisted before the
    /// check existed).
    pub allow_invalid_label_value_in_selector: bool,
    /// Accept operators that cannot be interpreted (as in SubjectAccessReviews).
    pub allow_unknown_operator_in_requirement: bool,
}

/// A label key (`ValidateLabelName`): a qualified name.
pub fn validate_label_name(label_name: &str, path: &Path) -> ErrorList {
    is_qualified_name(label_name)
        .into_iter()
        .map(|msg| field::invalid(path, label_name, msg).with_origin("labelKey"))
        .collect()
}

/// A label map (`ValidateLabels`): keys are qualified names, values label values. Errors are
/// reported against `path` itself, keys in sorted order.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (k, v) in labels {
        errs.append(validate_label_name(k, path));
        for msg in is_valid_label_value(v) {
            errs.push(field::invalid(path, v, msg));
        }
    }
    errs
}

/// True if a match expression of the selector holds an invalid label value
/// (`LabelSelectorHasInvalidLabelValue`).
pub fn label_selector_has_invalid_label_value(selector: Option<&LabelSelector>) -> bool {
    selector
        .and_then(|s| s.match_expressions.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|e| e.values.iter().flatten())
        .any(|v| !is_valid_label_value(v).is_empty())
}

/// A label selector (`ValidateLabelSelector`); `None` is valid.
pub fn validate_label_selector(
    selector: Option<&LabelSelector>,
    opts: LabelSelectorValidationOptions,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(selector) = selector else {
        return errs;
    };
    if let Some(labels) = &selector.match_labels {
        errs.append(validate_labels(labels, &path.child("matchLabels")));
    }
    for (i, expr) in selector.match_expressions.iter().flatten().enumerate() {
        errs.append(validate_label_selector_requirement(expr, opts, &path.child("matchExpressions").index(i)));
    }
    errs
}

/// One match expression of a label selector (`ValidateLabelSelectorRequirement`).
pub fn validate_label_selector_requirement(
    requirement: &LabelSelectorRequirement,
    opts: LabelSelectorValidationOptions,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let values = requirement.values.as_deref().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(field::required(
                    &path.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(field::forbidden(
                    &path.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        op => {
            if !opts.allow_unknown_operator_in_requirement {
                errs.push(field::invalid(&path.child("operator"), op, "not a valid selector operator"));
            }
        }
    }
    errs.append(validate_label_name(&requirement.key, &path.child("key")));
    if !opts.allow_invalid_label_value_in_selector {
        for (i, value) in values.iter().enumerate() {
            for msg in is_valid_label_value(value) {
                errs.push(field::invalid(&path.child("values").index(i), value, msg));
            }
        }
    }
    errs
}

/// A field manager name (`ValidateFieldManager`): at most 128 bytes, printable characters only.
pub fn validate_field_manager(field_manager: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if field_manager.len() as i64 > FIELD_MANAGER_MAX_LENGTH {
        errs.push(field::too_long(path, FIELD_MANAGER_MAX_LENGTH));
    }
    for (i, c) in field_manager.char_indices() {
        if !gofmt::is_print(c) {
            errs.push(field::invalid(
                path,
                field_manager,
                format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    errs
}

/// The managed fields of an object (`ValidateManagedFields`).
pub fn validate_managed_fields(entries: &[ManagedFieldsEntry], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = path.index(i);
        let operation = entry.operation.as_deref().unwrap_or_default();
        if operation != "Apply" && operation != "Update" {
            errs.push(field::invalid(&path.child("operation"), operation, "must be `Apply` or `Update`"));
        }
        let fields_type = entry.fields_type.as_deref().unwrap_or_default();
        if !fields_type.is_empty() && fields_type != "FieldsV1" {
            errs.push(field::invalid(&path.child("fieldsType"), fields_type, "must be `FieldsV1`"));
        }
        errs.append(validate_field_manager(entry.manager.as_deref().unwrap_or_default(), &path.child("manager")));
        if entry.subresource.as_deref().unwrap_or_default().len() as i64 > MAX_SUBRESOURCE_NAME_LENGTH {
            errs.push(field::too_long(&path.child("subresource"), MAX_SUBRESOURCE_NAME_LENGTH));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: &str, values: Option<Vec<&str>>) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.map(|v| v.into_iter().map(String::from).collect()),
        }
    }

    #[test]
    fn label_selectors() {
        let p = Path::new("spec").child("selector");
        let opts = LabelSelectorValidationOptions::default();
        let sel = LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![
                req("tier", "In", Some(vec![])),
                req("env", "Exists", Some(vec!["x"])),
                req("zone", "Gt", None),
                req("x", "In", Some(vec!["a b"])),
            ]),
        };
        let errs = validate_label_selector(Some(&sel), opts, &p);
        let got: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                r#"spec.selector.matchExpressions[2].operator: Invalid value: "Gt": not a valid selector operator"#,
                "spec.selector.matchExpressions[3].values[0]: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ]
        );
        let lenient = LabelSelectorValidationOptions {
            allow_invalid_label_value_in_selector: true,
            allow_unknown_operator_in_requirement: true,
        };
        assert_eq!(validate_label_selector(Some(&sel), lenient, &p).len(), 2);
        assert!(label_selector_has_invalid_label_value(Some(&sel)));
        assert!(validate_label_selector(None, opts, &p).is_empty());
    }

    #[test]
    fn labels_report_keys_and_values_at_the_map() {
        let p = Path::new("metadata").child("labels");
        let labels: BTreeMap<String, String> =
            [("a/b/c".to_string(), "ok".to_string()), ("k".into(), "-bad".into())].into();
        let errs = validate_labels(&labels, &p);
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0]
                .to_string()
                .starts_with(r#"metadata.labels: Invalid value: "a/b/c": a qualified name must consist of"#)
        );
        assert_eq!(errs[0].origin, "labelKey");
        assert!(errs[1].to_string().starts_with(r#"metadata.labels: Invalid value: "-bad": a valid label must be"#));
    }

    #[test]
    fn managed_fields() {
        let p = Path::new("metadata").child("managedFields");
        let entries = vec![
            ManagedFieldsEntry {
                operation: Some("Apply".into()),
                manager: Some("kubectl".into()),
                fields_type: Some("FieldsV1".into()),
                ..Default::default()
            },
            ManagedFieldsEntry {
                operation: Some("Patch".into()),
                manager: Some("bad\u{7}".into()),
                fields_type: Some("FieldsV2".into()),
                subresource: Some("s".repeat(257)),
                ..Default::default()
            },
        ];
        let got: Vec<String> = validate_managed_fields(&entries, &p).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                r#"metadata.managedFields[1].operation: Invalid value: "Patch": must be `Apply` or `Update`"#,
                r#"metadata.managedFields[1].fieldsType: Invalid value: "FieldsV2": must be `FieldsV1`"#,
                r#"metadata.managedFields[1].manager: Invalid value: "bad\a": invalid character U+0007 (at position 3)"#,
                "metadata.managedFields[1].subresource: Too long: may not be more than 256 bytes",
            ]
        );
        assert_eq!(
            validate_field_manager(&"m".repeat(129), &Path::new("fieldManager")).to_string(),
            "fieldManager: Too long: may not be more than 128 bytes"
        );
    }
}
