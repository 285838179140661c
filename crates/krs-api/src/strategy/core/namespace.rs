//! The namespace strategy (upstream's `pkg/registry/core/namespace`).
//!
//! A namespace always carries the immutable label `kubernetes.io/metadata.name=<name>`
//! (KEP 2161): it is set by defaulting on every write and again by `canonicalize`, because a
//! name generated from generateName is only known after defaulting. On create the namespace
//! gets phase `Active` and the `kubernetes` spec finalizer, which keeps it in phase
//! `Terminating` until the namespace controller has deleted its content and removed the
//! finalizer through the `finalize` subresource ([`NAMESPACE_FINALIZE`]).
//!
//! Deletion is not expressible with [`Strategy::graceful_delete_period`] (the spec finalizers
//! are not metadata finalizers); the registry uses [`begin_termination`],
//! [`has_spec_finalizers`], [`CONTENT_REMAINING_MESSAGE`] and [`should_delete_during_update`].

use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use krs_apimachinery::validation::{
    ErrorList, FINALIZER_KUBERNETES, Path, field, is_standard_finalizer_name, validate_finalizer_name,
    validate_namespace_name,
};
use krs_kinds::Object;

use crate::strategy::{FieldLabel, NameValidator, Strategy, typed, typed_mut};

/// The label every namespace carries, holding its name.
pub const LABEL_METADATA_NAME: &str = "kubernetes.io/metadata.name";

/// The Conflict message for deleting a namespace whose content is still being removed.
pub const CONTENT_REMAINING_MESSAGE: &str = "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.";

const PHASE_ACTIVE: &str = "Active";
pub const PHASE_TERMINATING: &str = "Terminating";

/// The namespace strategy.
pub struct NamespaceStrategy;

/// The namespace strategy.
pub static NAMESPACE: NamespaceStrategy = NamespaceStrategy;

/// The strategy of the `finalize` subresource: only `spec.finalizers` may change.
pub struct NamespaceFinalizeStrategy;

/// The strategy of the `finalize` subresource.
pub static NAMESPACE_FINALIZE: NamespaceFinalizeStrategy = NamespaceFinalizeStrategy;

static FIELD_LABELS: &[FieldLabel] = &[
    FieldLabel::string("status.phase"),
    // Upstream still accepts the bare `name`, a historical mistake kept for compatibility.
    FieldLabel::at("name", "metadata.name"),
];

fn set_name_label(ns: &mut Namespace) {
    let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) else {
        return;
    };
    ns.metadata.labels.get_or_insert_with(Default::default).insert(LABEL_METADATA_NAME.to_owned(), name);
}

/// Spec finalizers: qualified names, and standard ones unless domain-prefixed.
fn validate_spec_finalizer(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_finalizer_name(name, path);
    if !name.contains('/') && !is_standard_finalizer_name(name) {
        errs.push(field::invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"));
    }
    errs
}

fn validate_namespace(ns: &Namespace) -> ErrorList {
    let mut errs = ErrorList::new();
    // Upstream reports every spec finalizer at the list's path, without an index.
    let path = Path::new("spec").child("finalizers");
    for f in spec_finalizers(ns) {
        errs.append(validate_spec_finalizer(f, &path));
    }
    errs
}

fn spec_finalizers(ns: &Namespace) -> &[String] {
    ns.spec.as_ref().and_then(|s| s.finalizers.as_deref()).unwrap_or_default()
}

fn phase(ns: &Namespace) -> &str {
    ns.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

impl Strategy for NamespaceStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(ns) = typed_mut::<Namespace>(obj) {
            set_name_label(ns);
            // Upstream's status is a struct, always present, so its phase always defaults.
            let status = ns.status.get_or_insert_with(Default::default);
            if status.phase.as_deref().unwrap_or_default().is_empty() {
                status.phase = Some(PHASE_ACTIVE.to_owned());
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(ns) = typed_mut::<Namespace>(obj) else {
            return;
        };
        ns.status = Some(NamespaceStatus { phase: Some(PHASE_ACTIVE.to_owned()), ..Default::default() });
        // The kubernetes finalizer is required on create (not a default: it may be removed
        // over the namespace's life).
        let finalizers = ns.spec.get_or_insert_with(Default::default).finalizers.get_or_insert_with(Vec::new);
        if !finalizers.iter().any(|f| f == FINALIZER_KUBERNETES) {
            finalizers.push(FINALIZER_KUBERNETES.to_owned());
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<Namespace>(old) else {
            return;
        };
        let finalizers = old.spec.as_ref().and_then(|s| s.finalizers.clone());
        let status = old.status.clone();
        if let Some(new) = typed_mut::<Namespace>(new) {
            if finalizers.is_some() || new.spec.is_some() {
                new.spec.get_or_insert_with(Default::default).finalizers = finalizers;
            }
            new.status = status;
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Namespace>(obj).map(validate_namespace).unwrap_or_default()
    }

    fn canonicalize(&self, obj: &mut dyn Object) {
        if let Some(ns) = typed_mut::<Namespace>(obj) {
            set_name_label(ns);
        }
    }

    fn name_validator(&self) -> NameValidator {
        validate_namespace_name
    }

    fn before_delete(&self, obj: &mut dyn Object) -> Result<bool, String> {
        let terminating = obj.meta().deletion_timestamp.is_some();
        if terminating && has_spec_finalizers(obj) {
            return Err(CONTENT_REMAINING_MESSAGE.to_string());
        }
        if has_spec_finalizers(obj) {
            begin_termination(obj, now());
            return Ok(true);
        }
        Ok(false)
    }

    fn should_delete_during_update(&self, obj: &dyn Object) -> bool {
        should_delete_during_update(obj)
    }

    fn prepare_for_subresource_update(&self, subresource: &str, new: &mut dyn Object, old: &dyn Object) {
        if subresource == "finalize" {
            NAMESPACE_FINALIZE.prepare_for_update(new, old);
        }
    }

    fn validate_subresource_update(&self, subresource: &str, new: &dyn Object, old: &dyn Object) -> ErrorList {
        if subresource == "finalize" { NAMESPACE_FINALIZE.validate_update(new, old) } else { ErrorList::new() }
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn prepare_for_status_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<Namespace>(new), typed::<Namespace>(old)) {
            new.spec = old.spec.clone();
        }
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        let mut errs = ErrorList::new();
        let Some(ns) = typed::<Namespace>(new) else {
            return errs;
        };
        let path = Path::new("status").child("Phase");
        let phase = phase(ns);
        if ns.metadata.deletion_timestamp.is_none() {
            if phase != PHASE_ACTIVE {
                errs.push(field::invalid(&path, phase, "may only be 'Active' if `deletionTimestamp` is empty"));
            }
        } else if phase != PHASE_TERMINATING {
            errs.push(field::invalid(&path, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
        }
        errs
    }
}

impl Strategy for NamespaceFinalizeStrategy {
    fn default(&self, obj: &mut dyn Object) {
        NAMESPACE.default(obj);
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<Namespace>(new), typed::<Namespace>(old)) {
            new.status = old.status.clone();
        }
    }

    fn validate_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        let mut errs = ErrorList::new();
        if let Some(ns) = typed::<Namespace>(new) {
            let path = Path::new("spec").child("finalizers");
            for (i, f) in spec_finalizers(ns).iter().enumerate() {
                errs.append(validate_spec_finalizer(f, &path.index(i)));
            }
        }
        errs
    }

    fn canonicalize(&self, obj: &mut dyn Object) {
        NAMESPACE.canonicalize(obj);
    }

    fn name_validator(&self) -> NameValidator {
        validate_namespace_name
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }
}

/// The first delete of a namespace: sets the deletionTimestamp (if unset) and phase
/// `Terminating`, and returns whether anything changed. The registry stores the result instead
/// of deleting (upstream's namespace `REST.Delete`).
/// The current time with upstream's whole-second precision.
fn now() -> Time {
    Time(jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

pub fn begin_termination(obj: &mut dyn Object, now: Time) -> bool {
    let Some(ns) = typed_mut::<Namespace>(obj) else {
        return false;
    };
    let mut changed = false;
    if ns.metadata.deletion_timestamp.is_none() {
        ns.metadata.deletion_timestamp = Some(now);
        changed = true;
    }
    let status = ns.status.get_or_insert_with(Default::default);
    if status.phase.as_deref() != Some(PHASE_TERMINATING) {
        status.phase = Some(PHASE_TERMINATING.to_owned());
        changed = true;
    }
    changed
}

/// Whether the namespace still has spec finalizers: a delete of a terminating namespace with
/// any is refused with a Conflict carrying [`CONTENT_REMAINING_MESSAGE`].
pub fn has_spec_finalizers(obj: &dyn Object) -> bool {
    typed::<Namespace>(obj).is_some_and(|ns| !spec_finalizers(ns).is_empty())
}

/// Whether an update (through any subresource) finishes a terminating namespace: it is marked
/// for deletion and has neither metadata nor spec finalizers (upstream's
/// `ShouldDeleteNamespaceDuringUpdate`). Without the spec check the generic rule would delete a
/// terminating namespace whose content is still being removed.
pub fn should_delete_during_update(obj: &dyn Object) -> bool {
    typed::<Namespace>(obj).is_some_and(|ns| {
        ns.metadata.deletion_timestamp.is_some()
            && ns.metadata.finalizers.as_ref().is_none_or(|f| f.is_empty())
            && spec_finalizers(ns).is_empty()
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NamespaceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn ns(name: &str) -> Namespace {
        Namespace { metadata: ObjectMeta { name: Some(name.to_owned()), ..Default::default() }, ..Default::default() }
    }

    fn label(ns: &Namespace) -> Option<&str> {
        ns.metadata.labels.as_ref()?.get(LABEL_METADATA_NAME).map(String::as_str)
    }

    #[test]
    fn create_sets_name_label_phase_and_kubernetes_finalizer() {
        let mut obj = ns("team-a");
        NAMESPACE.default(&mut obj);
        NAMESPACE.prepare_for_create(&mut obj);
        assert_eq!(label(&obj), Some("team-a"));
        assert_eq!(phase(&obj), "Active");
        assert_eq!(spec_finalizers(&obj), ["kubernetes"]);
        assert!(NAMESPACE.validate(&obj).is_empty());
    }

    #[test]
    fn name_label_is_immutable_and_follows_generated_names() {
        let mut obj = ns("team-a");
        obj.metadata.labels = Some([(LABEL_METADATA_NAME.to_owned(), "other".to_owned())].into());
        NAMESPACE.default(&mut obj);
        assert_eq!(label(&obj), Some("team-a"));

        // generateName: the name is only known when canonicalize runs.
        let mut generated = Namespace::default();
        NAMESPACE.default(&mut generated);
        assert_eq!(label(&generated), None);
        generated.metadata.name = Some("gen-x7k2p".into());
        NAMESPACE.canonicalize(&mut generated);
        assert_eq!(label(&generated), Some("gen-x7k2p"));
    }

    #[test]
    fn update_keeps_spec_finalizers() {
        let mut old = ns("a");
        NAMESPACE.prepare_for_create(&mut old);
        let mut new = ns("a");
        new.spec = Some(NamespaceSpec { finalizers: Some(vec![]) });
        NAMESPACE.prepare_for_update(&mut new, &old);
        assert_eq!(spec_finalizers(&new), ["kubernetes"]);
    }

    #[test]
    fn finalize_may_clear_spec_finalizers() {
        let mut old = ns("a");
        NAMESPACE.prepare_for_create(&mut old);
        let mut new = ns("a");
        new.spec = Some(NamespaceSpec { finalizers: Some(vec![]) });
        NAMESPACE_FINALIZE.prepare_for_update(&mut new, &old);
        assert!(spec_finalizers(&new).is_empty());
        assert_eq!(phase(&new), "Active");
    }

    #[test]
    fn invalid_spec_finalizer_is_reported_like_upstream() {
        let mut obj = ns("a");
        obj.spec = Some(NamespaceSpec { finalizers: Some(vec!["foo".into()]) });
        assert_eq!(
            NAMESPACE.validate(&obj).to_string(),
            r#"spec.finalizers: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified"#
        );
    }

    #[test]
    fn status_phase_must_match_deletion() {
        let mut obj = ns("a");
        obj.status = Some(NamespaceStatus { phase: Some("Terminating".into()), ..Default::default() });
        assert_eq!(
            NAMESPACE.validate_status_update(&obj, &obj.clone()).to_string(),
            r#"status.Phase: Invalid value: "Terminating": may only be 'Active' if `deletionTimestamp` is empty"#
        );
    }

    #[test]
    fn termination_marks_and_waits_for_spec_finalizers() {
        let mut obj = ns("a");
        NAMESPACE.prepare_for_create(&mut obj);
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        assert!(begin_termination(&mut obj, now.clone()));
        assert!(!begin_termination(&mut obj, now));
        assert_eq!(phase(&obj), "Terminating");
        assert!(has_spec_finalizers(&obj));
        assert!(!should_delete_during_update(&obj));
        obj.spec = Some(NamespaceSpec { finalizers: Some(vec![]) });
        assert!(should_delete_during_update(&obj));
    }
}
