//! The pod spec shared by Pods and every kind with a pod template (PodTemplate,
//! ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob):
//! its defaulting (upstream `pkg/apis/core/v1/defaults.go`), its validation
//! (`pkg/apis/core/validation` `ValidatePodSpec` and `ValidatePodTemplateSpec`), its QoS class
//! and the warnings upstream returns for it.
//!
//! Other strategies call the public functions here; the pod strategy adds what only pods have
//! (admission defaults, status, update rules).

mod containers;
mod defaults;
mod downward;
mod resources;
mod scheduling;
mod security;
pub mod semantic;
mod validation;
mod volume_sources;
mod volumes;
mod warnings;

#[cfg(test)]
mod tests;

pub use defaults::{
    drop_disabled_pod_spec_fields, round_up_resource_list, set_defaults_container, set_defaults_pod,
    set_defaults_pod_spec, set_defaults_pod_template_spec, sync_deprecated_service_account,
};
pub(crate) use resources::validate_resource_quantity_value;
pub use resources::{compute_pod_qos, is_restartable_init_container};
pub use scheduling::{validate_node_selector_term, validate_taint_effect, validate_tolerations};
pub use validation::{
    PodValidationOptions, validate_pod_spec, validate_pod_spec_annotations, validate_pod_template_spec,
    validate_pod_template_spec_for_owner,
};
pub use warnings::{warnings_for_pod_spec, warnings_for_pod_template};

use krs_apimachinery::validation::{ErrorList, Path, field, is_dns1123_label, is_dns1123_subdomain, is_qualified_name};

/// A DNS-1123 label (`ValidateDNS1123Label`).
pub(crate) fn dns1123_label(value: &str, path: &Path) -> ErrorList {
    is_dns1123_label(value)
        .into_iter()
        .map(|msg| field::invalid(path, value, msg).with_origin("format=dns-label"))
        .collect()
}

/// A DNS-1123 subdomain (`ValidateDNS1123Subdomain`).
pub(crate) fn dns1123_subdomain(value: &str, path: &Path) -> ErrorList {
    is_dns1123_subdomain(value).into_iter().map(|msg| field::invalid(path, value, msg)).collect()
}

/// A qualified name (`ValidateQualifiedName`).
pub(crate) fn qualified_name(value: &str, path: &Path) -> ErrorList {
    is_qualified_name(value)
        .into_iter()
        .map(|msg| field::invalid(path, value, msg).with_origin("format=qualified-name"))
        .collect()
}

/// The messages of a name rule as Invalid errors on `path`.
pub(crate) fn name_errors(msgs: Vec<String>, value: &str, path: &Path) -> ErrorList {
    msgs.into_iter().map(|msg| field::invalid(path, value, msg)).collect()
}

/// The string of an optional enum-like field, "" when unset (Go's zero value).
pub(crate) fn s(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or_default()
}
