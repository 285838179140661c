//! Validation: format checks for names and values, field errors, and ObjectMeta rules.
//!
//! This merges upstream's `util/validation` (the `is_*` format checks and IP/CIDR checks),
//! `util/validation/field` ([`Path`], [`FieldError`], [`ErrorList`]), `api/validation`
//! (ObjectMeta on create and update, name rules) and `apis/meta/v1/validation` (labels, label
//! selectors, managed fields). Messages are upstream's, byte for byte.

pub mod field;
mod ip;
mod metav1;
mod names;
mod objectmeta;
mod path;

pub use field::{Aggregate, BadValue, ErrorList, ErrorType, FieldError};
pub use ip::{
    get_warnings_for_cidr, get_warnings_for_ip, is_valid_cidr, is_valid_cidr_for_legacy_field,
    is_valid_interface_address, is_valid_ip, is_valid_ip_for_legacy_field,
};
pub use metav1::{
    FIELD_MANAGER_MAX_LENGTH, LabelSelectorValidationOptions, MAX_SUBRESOURCE_NAME_LENGTH,
    label_selector_has_invalid_label_value, validate_field_manager, validate_label_name, validate_label_selector,
    validate_label_selector_requirement, validate_labels, validate_managed_fields,
};
pub use names::{
    DNS1035_LABEL_MAX_LENGTH, DNS1123_LABEL_MAX_LENGTH, DNS1123_SUBDOMAIN_MAX_LENGTH, LABEL_VALUE_MAX_LENGTH,
    empty_error, inclusive_range_error, is_c_identifier, is_config_map_key, is_dns1035_label, is_dns1123_label,
    is_dns1123_subdomain, is_dns1123_subdomain_with_underscore, is_domain_prefixed_path, is_env_var_name,
    is_fully_qualified_domain_name, is_fully_qualified_name, is_http_header_name, is_in_range, is_qualified_name,
    is_relaxed_env_var_name, is_valid_group_id, is_valid_label_value, is_valid_percent, is_valid_port_name,
    is_valid_port_num, is_valid_user_id, is_wildcard_dns1123_subdomain, max_len_error, regex_error,
};
pub use objectmeta::{
    AnnotationsTooLarge, FIELD_IMMUTABLE_ERROR_MSG, FINALIZER_DELETE_DEPENDENTS, FINALIZER_KUBERNETES,
    FINALIZER_ORPHAN_DEPENDENTS, IS_NEGATIVE_ERROR_MSG, TOTAL_ANNOTATION_SIZE_LIMIT_B, ValidateNameFunc,
    is_standard_finalizer_name, is_valid_path_segment_name, is_valid_path_segment_prefix, name_is_dns_label,
    name_is_dns_subdomain, name_is_dns1035_label, validate_annotations, validate_annotations_size,
    validate_finalizer_name, validate_finalizers, validate_immutable_field, validate_namespace_name,
    validate_no_new_finalizers, validate_nonnegative_field, validate_object_meta, validate_object_meta_update,
    validate_owner_references, validate_path_segment_name, validate_service_account_name,
};
pub use path::Path;
