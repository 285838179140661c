//! ObjectMeta validation on create and update (`k8s.io/apimachinery/pkg/api/validation`), with
//! the per-kind name rules it is parameterised by.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::{
    BadValue, ErrorList, Path, field, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    validate_labels, validate_managed_fields,
};
use crate::gofmt;

/// The detail of every immutable-field error.
pub const FIELD_IMMUTABLE_ERROR_MSG: &str = "field is immutable";

/// The total size (keys plus values, in bytes) annotations may take: 256 KiB.
pub const TOTAL_ANNOTATION_SIZE_LIMIT_B: i64 = 256 * (1 << 10);

/// The detail of a negative-value error.
pub const IS_NEGATIVE_ERROR_MSG: &str = "must be greater than or equal to 0";

/// The finalizer that orphans dependents on deletion.
pub const FINALIZER_ORPHAN_DEPENDENTS: &str = "orphan";

/// The finalizer that deletes dependents in the foreground.
pub const FINALIZER_DELETE_DEPENDENTS: &str = "foregroundDeletion";

/// The namespace lifecycle finalizer (`spec.finalizers` of a Namespace).
pub const FINALIZER_KUBERNETES: &str = "kubernetes";

/// Checks a name for one kind (`ValidateNameFunc`). `prefix` is true when validating a
/// `generateName`, to which a random suffix will be appended. Returns the problems found.
/// [`validate_object_meta`] also accepts closures.
pub type ValidateNameFunc = fn(name: &str, prefix: bool) -> Vec<String>;

/// Replaces a trailing dash of a generateName before validation, since a suffix will follow.
///
/// Upstream drops the last two characters and appends `a` (`"ab-"` becomes `"aa"`); this is
/// reproduced as is, since it decides which prefixes pass.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name.len().saturating_sub(2);
        if let Some(head) = name.get(..cut) {
            return format!("{head}a");
        }
    }
    name.to_owned()
}

/// Names that must be DNS subdomains (most kinds) (`NameIsDNSSubdomain`).
pub fn name_is_dns_subdomain(name: &str, prefix: bool) -> Vec<String> {
    if prefix { is_dns1123_subdomain(&mask_trailing_dash(name)) } else { is_dns1123_subdomain(name) }
}

/// Names that must be DNS (RFC 1123) labels (`NameIsDNSLabel`).
pub fn name_is_dns_label(name: &str, prefix: bool) -> Vec<String> {
    if prefix { is_dns1123_label(&mask_trailing_dash(name)) } else { is_dns1123_label(name) }
}

/// Names that must be DNS (RFC 1035) labels, e.g. Services (`NameIsDNS1035Label`).
pub fn name_is_dns1035_label(name: &str, prefix: bool) -> Vec<String> {
    if prefix { is_dns1035_label(&mask_trailing_dash(name)) } else { is_dns1035_label(name) }
}

/// Namespace names (`ValidateNamespaceName`): DNS labels.
pub fn validate_namespace_name(name: &str, prefix: bool) -> Vec<String> {
    name_is_dns_label(name, prefix)
}

/// ServiceAccount names (`ValidateServiceAccountName`): DNS subdomains.
pub fn validate_service_account_name(name: &str, prefix: bool) -> Vec<String> {
    name_is_dns_subdomain(name, prefix)
}

/// A name usable as one URL path segment: not `.` or `..`, no `/` or `%`
/// (`IsValidPathSegmentName`).
pub fn is_valid_path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    is_valid_path_segment_prefix(name)
}

/// A prefix of a path segment name: no `/` or `%` (`IsValidPathSegmentPrefix`).
pub fn is_valid_path_segment_prefix(name: &str) -> Vec<String> {
    ["/", "%"].iter().filter(|s| name.contains(*s)).map(|s| format!("may not contain '{s}'")).collect()
}

/// Names of kinds that only need to be path segments, e.g. RBAC roles
/// (`ValidatePathSegmentName`).
pub fn validate_path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    if prefix { is_valid_path_segment_prefix(name) } else { is_valid_path_segment_name(name) }
}

/// A non-negative number (`ValidateNonnegativeField`).
pub fn validate_nonnegative_field(value: i64, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if value < 0 {
        errs.push(field::invalid(path, value, IS_NEGATIVE_ERROR_MSG).with_origin("minimum"));
    }
    errs
}

/// Annotations (`ValidateAnnotations`): keys are qualified names (case-insensitively) and the
/// total size is at most [`TOTAL_ANNOTATION_SIZE_LIMIT_B`].
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for k in annotations.keys() {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(field::invalid(path, k, msg));
        }
    }
    if validate_annotations_size(annotations).is_err() {
        errs.push(field::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_B));
    }
    errs
}

/// The total annotation size check alone (`ValidateAnnotationsSize`).
pub fn validate_annotations_size(annotations: &BTreeMap<String, String>) -> Result<(), AnnotationsTooLarge> {
    let total: i64 = annotations.iter().map(|(k, v)| (k.len() + v.len()) as i64).sum();
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B { Err(AnnotationsTooLarge { size: total }) } else { Ok(()) }
}

/// Annotations exceed the size limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("annotations size {size} is larger than limit {limit}", limit = TOTAL_ANNOTATION_SIZE_LIMIT_B)]
pub struct AnnotationsTooLarge {
    /// The total size found.
    pub size: i64,
}

/// An owner reference as upstream prints one: JSON members in Go's field order.
fn owner_reference_json(r: &OwnerReference) -> String {
    let mut out = String::from("{\"apiVersion\":");
    gofmt::json_string(&mut out, &r.api_version);
    out.push_str(",\"kind\":");
    gofmt::json_string(&mut out, &r.kind);
    out.push_str(",\"name\":");
    gofmt::json_string(&mut out, &r.name);
    out.push_str(",\"uid\":");
    gofmt::json_string(&mut out, &r.uid);
    if let Some(c) = r.controller {
        out.push_str(if c { ",\"controller\":true" } else { ",\"controller\":false" });
    }
    if let Some(b) = r.block_owner_deletion {
        out.push_str(if b { ",\"blockOwnerDeletion\":true" } else { ",\"blockOwnerDeletion\":false" });
    }
    out.push('}');
    out
}

/// Splits an apiVersion into (group, version) as `schema.ParseGroupVersion`; `None` when it has
/// more than one `/`.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    match api_version.split_once('/') {
        None => Some(("", api_version)),
        Some((_, v)) if v.contains('/') => None,
        Some((g, v)) => Some((g, v)),
    }
}

fn validate_owner_reference(r: &OwnerReference, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    // An unparsable apiVersion yields an empty group and version, as upstream's
    // FromAPIVersionAndKind does.
    let (group, version) = parse_group_version(&r.api_version).unwrap_or(("", ""));
    if version.is_empty() {
        errs.push(field::invalid(&path.child("apiVersion"), &r.api_version, "version must not be empty"));
    }
    if r.kind.is_empty() {
        errs.push(field::invalid(&path.child("kind"), &r.kind, "must not be empty"));
    }
    if r.name.is_empty() {
        errs.push(field::invalid(&path.child("name"), &r.name, "must not be empty"));
    }
    if r.uid.is_empty() {
        // The UID is a named string type upstream, so it prints as JSON.
        errs.push(field::invalid(&path.child("uid"), BadValue::json(&r.uid), "must not be empty"));
    }
    // Events may not own anything (upstream's BannedOwners).
    if group.is_empty() && version == "v1" && r.kind == "Event" {
        errs.push(field::invalid(
            path,
            BadValue::Json(owner_reference_json(r)),
            format!("{group}/{version}, Kind={} is disallowed from being an owner", r.kind),
        ));
    }
    errs
}

/// Owner references (`ValidateOwnerReferences`): each complete, Events never owners, and at
/// most one with `controller: true`.
pub fn validate_owner_references(refs: &[OwnerReference], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        errs.append(validate_owner_reference(r, path));
        if r.controller == Some(true) {
            let current = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => {
                    let all: Vec<String> = refs.iter().map(owner_reference_json).collect();
                    errs.push(field::invalid(
                        path,
                        BadValue::Json(format!("[{}]", all.join(","))),
                        format!(
                            "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                        ),
                    ));
                }
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// A finalizer name (`ValidateFinalizerName`): a qualified name, so both domain-qualified names
/// and the standard unqualified ones (`kubernetes`, `orphan`, `foregroundDeletion`) pass.
pub fn validate_finalizer_name(name: &str, path: &Path) -> ErrorList {
    is_qualified_name(name).into_iter().map(|msg| field::invalid(path, name, msg)).collect()
}

/// True for the finalizers Kubernetes itself defines without a domain
/// (`IsStandardFinalizerName`).
pub fn is_standard_finalizer_name(name: &str) -> bool {
    matches!(name, FINALIZER_KUBERNETES | FINALIZER_ORPHAN_DEPENDENTS | FINALIZER_DELETE_DEPENDENTS)
}

/// Finalizers (`ValidateFinalizers`): valid names, and not both `orphan` and
/// `foregroundDeletion`.
pub fn validate_finalizers(finalizers: &[String], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for f in finalizers {
        errs.append(validate_finalizer_name(f, path));
    }
    let has = |name: &str| finalizers.iter().any(|f| f == name);
    if has(FINALIZER_ORPHAN_DEPENDENTS) && has(FINALIZER_DELETE_DEPENDENTS) {
        errs.push(field::invalid(
            path,
            BadValue::string_list(finalizers),
            format!("finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} cannot be both set"),
        ));
    }
    errs
}

/// No finalizer may be added once deletion started (`ValidateNoNewFinalizers`).
pub fn validate_no_new_finalizers(new: &[String], old: &[String], path: &Path) -> ErrorList {
    let mut extra: Vec<&String> = new.iter().filter(|f| !old.contains(f)).collect();
    extra.sort();
    extra.dedup();
    let mut errs = ErrorList::new();
    if !extra.is_empty() {
        errs.push(field::forbidden(
            path,
            format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                gofmt::go_syntax_string_slice(&extra)
            ),
        ));
    }
    errs
}

/// A field that may not change (`ValidateImmutableField`); `new_value` is what the error shows.
pub fn validate_immutable_field<T: PartialEq + ?Sized>(
    new: &T,
    old: &T,
    new_value: impl Into<BadValue>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if new != old {
        errs.push(field::invalid(path, new_value, FIELD_IMMUTABLE_ERROR_MSG));
    }
    errs
}

fn empty_map() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

/// ObjectMeta of an object being created (`ValidateObjectMeta`); name generation must already
/// have happened.
///
/// `name_fn` is the kind's name rule (e.g. [`name_is_dns_subdomain`]); `requires_namespace`
/// says whether the kind is namespaced (a namespace on a cluster-scoped kind is forbidden).
///
/// ```
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
/// use krs_apimachinery::validation::{name_is_dns_subdomain, validate_object_meta, Path};
/// let meta = ObjectMeta { name: Some("Foo".into()), namespace: Some("default".into()), ..Default::default() };
/// let errs = validate_object_meta(&meta, true, name_is_dns_subdomain, &Path::new("metadata"));
/// assert!(errs.to_string().starts_with(r#"metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain"#));
/// ```
pub fn validate_object_meta(
    meta: &ObjectMeta,
    requires_namespace: bool,
    name_fn: impl Fn(&str, bool) -> Vec<String>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let generate_name = meta.generate_name.as_deref().unwrap_or_default();
    if !generate_name.is_empty() {
        for msg in name_fn(generate_name, true) {
            errs.push(field::invalid(&path.child("generateName"), generate_name, msg));
        }
    }
    let name = meta.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        errs.push(field::required(&path.child("name"), "name or generateName is required"));
    } else {
        for msg in name_fn(name, false) {
            errs.push(field::invalid(&path.child("name"), name, msg));
        }
    }
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    if requires_namespace {
        if namespace.is_empty() {
            errs.push(field::required(&path.child("namespace"), ""));
        } else {
            for msg in validate_namespace_name(namespace, false) {
                errs.push(field::invalid(&path.child("namespace"), namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(field::forbidden(&path.child("namespace"), "not allowed on this type"));
    }
    errs.append(validate_nonnegative_field(meta.generation.unwrap_or(0), &path.child("generation")));
    errs.append(validate_labels(meta.labels.as_ref().unwrap_or(empty_map()), &path.child("labels")));
    errs.append(validate_annotations(meta.annotations.as_ref().unwrap_or(empty_map()), &path.child("annotations")));
    errs.append(validate_owner_references(
        meta.owner_references.as_deref().unwrap_or_default(),
        &path.child("ownerReferences"),
    ));
    errs.append(validate_finalizers(meta.finalizers.as_deref().unwrap_or_default(), &path.child("finalizers")));
    errs.append(validate_managed_fields(
        meta.managed_fields.as_deref().unwrap_or_default(),
        &path.child("managedFields"),
    ));
    errs
}

/// A timestamp as upstream prints a `metav1.Time` bad value: its JSON (`"2006-01-02T15:04:05Z"`)
/// or `null`.
fn time_value<T: serde::Serialize>(t: Option<&T>) -> BadValue {
    match t {
        Some(t) => BadValue::json(t),
        None => BadValue::null(),
    }
}

/// ObjectMeta of an object being updated (`ValidateObjectMetaUpdate`): no finalizer added
/// during deletion, a resourceVersion given, generation not decremented, and name, namespace,
/// uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds unchanged; labels,
/// annotations, owner references and managed fields valid.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let no_strings: &[String] = &[];
    if old.deletion_timestamp.is_some() {
        errs.append(validate_no_new_finalizers(
            new.finalizers.as_deref().unwrap_or(no_strings),
            old.finalizers.as_deref().unwrap_or(no_strings),
            &path.child("finalizers"),
        ));
    }
    let resource_version = new.resource_version.as_deref().unwrap_or_default();
    if resource_version.is_empty() {
        errs.push(field::invalid(&path.child("resourceVersion"), resource_version, "must be specified for an update"));
    }
    let (new_gen, old_gen) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if new_gen < old_gen {
        errs.push(field::invalid(&path.child("generation"), new_gen, "must not be decremented"));
    }

    let s = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
    let (new_name, old_name) = (s(&new.name), s(&old.name));
    errs.append(validate_immutable_field(&new_name, &old_name, new_name.as_str(), &path.child("name")));
    let (new_ns, old_ns) = (s(&new.namespace), s(&old.namespace));
    errs.append(validate_immutable_field(&new_ns, &old_ns, new_ns.as_str(), &path.child("namespace")));
    let (new_uid, old_uid) = (s(&new.uid), s(&old.uid));
    errs.append(validate_immutable_field(&new_uid, &old_uid, BadValue::json(&new_uid), &path.child("uid")));
    errs.append(validate_immutable_field(
        &new.creation_timestamp,
        &old.creation_timestamp,
        time_value(new.creation_timestamp.as_ref()),
        &path.child("creationTimestamp"),
    ));
    errs.append(validate_immutable_field(
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        time_value(new.deletion_timestamp.as_ref()),
        &path.child("deletionTimestamp"),
    ));
    let grace = match new.deletion_grace_period_seconds {
        Some(g) => BadValue::Int(g),
        None => BadValue::null(),
    };
    errs.append(validate_immutable_field(
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        grace,
        &path.child("deletionGracePeriodSeconds"),
    ));

    errs.append(validate_labels(new.labels.as_ref().unwrap_or(empty_map()), &path.child("labels")));
    errs.append(validate_annotations(new.annotations.as_ref().unwrap_or(empty_map()), &path.child("annotations")));
    errs.append(validate_owner_references(
        new.owner_references.as_deref().unwrap_or_default(),
        &path.child("ownerReferences"),
    ));
    errs.append(validate_managed_fields(
        new.managed_fields.as_deref().unwrap_or_default(),
        &path.child("managedFields"),
    ));
    errs
}

#[cfg(test)]
#[path = "objectmeta_tests.rs"]
mod tests;
