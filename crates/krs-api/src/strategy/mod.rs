//! Strategies: what differs per kind when objects are created, updated and deleted.
//!
//! The generic registry (in krs-apiserver) does everything that is the same for every kind:
//! metadata (uid, creationTimestamp, generateName, resourceVersion, finalizers, deletion),
//! preconditions, status/spec separation for kinds with a status subresource, generation,
//! ObjectMeta validation, dry-run and storage. A [`Strategy`] holds only the policy that differs:
//! defaulting, validation, canonicalization, field-selector attributes, warnings and graceful
//! deletion. Every hook has a default that is right for a kind that needs nothing special, so
//! most kinds use [`Generic`].
//!
//! Hooks receive `&dyn Object`; a kind's strategy gets its concrete k8s-openapi type back with
//! [`typed`]/[`typed_mut`]. Hooks are called only with objects of the strategy's own kind.

pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod coordination;
pub mod core;
pub mod discovery;
pub mod events;
pub mod networking;
pub mod policy;
pub mod rbac;
pub mod scheduling;
pub mod storage;

use krs_apimachinery::validation::ErrorList;
use krs_kinds::Object;

/// Validates an object's name (or, with `prefix`, its generateName) and returns the problems,
/// like upstream's `ValidateNameFunc`.
pub type NameValidator = fn(name: &str, prefix: bool) -> Vec<String>;

/// Per-kind policy for the generic registry. The contract of each hook is written on it; keep
/// to it, the registry relies on it.
pub trait Strategy: Send + Sync + 'static {
    /// Sets defaults on an object a client sent (create, update and the result of a patch), as
    /// upstream's `SetDefaults_*` functions do when a request body is decoded. Runs before
    /// `prepare_for_*` and validation. Must be idempotent.
    fn default(&self, _obj: &mut dyn Object) {}

    /// Prepares a new object for storage: clears what users may not set and sets what the
    /// server owns. The registry has already emptied the status of kinds with a status
    /// subresource and set generation 1 for kinds that track it. Must not fail; validation
    /// comes after.
    fn prepare_for_create(&self, _obj: &mut dyn Object) {}

    /// Prepares an update through the main resource. The registry has already restored the
    /// stored status for kinds with a status subresource and bumped generation when the spec
    /// changed.
    fn prepare_for_update(&self, _new: &mut dyn Object, _old: &dyn Object) {}

    /// Validates a new object (everything but ObjectMeta, which the registry validates with
    /// [`Strategy::name_validator`]). Must not mutate.
    fn validate(&self, _obj: &dyn Object) -> ErrorList {
        ErrorList::new()
    }

    /// Validates an update: the new object's validity plus what may not change. The default
    /// validates `new` as a new object.
    fn validate_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        self.validate(new)
    }

    /// Warnings to return to the client on create (deprecated fields, risky values).
    fn warnings_on_create(&self, _obj: &dyn Object) -> Vec<String> {
        Vec::new()
    }

    /// Warnings to return to the client on update.
    fn warnings_on_update(&self, _new: &dyn Object, _old: &dyn Object) -> Vec<String> {
        Vec::new()
    }

    /// Normalizes an object after validation, before storage (e.g. sorting a set-like list).
    fn canonicalize(&self, _obj: &mut dyn Object) {}

    /// How names (and generateName prefixes) of this kind are validated. Upstream's default
    /// for most kinds is a DNS-1123 subdomain.
    fn name_validator(&self) -> NameValidator {
        krs_apimachinery::validation::name_is_dns_subdomain
    }

    /// Whether a PUT of an absent object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether a PUT without resourceVersion overwrites the stored object (true for most
    /// kinds).
    fn allow_unconditional_update(&self) -> bool {
        true
    }

    /// The field-selector fields this kind supports besides metadata.name and
    /// metadata.namespace, as upstream's `GetAttrs`/field label conversion accepts them.
    fn field_labels(&self) -> &'static [FieldLabel] {
        &[]
    }

    /// Prepares an update through the status subresource. The registry has already restored
    /// the stored spec and the metadata a status update may not change.
    fn prepare_for_status_update(&self, _new: &mut dyn Object, _old: &dyn Object) {}

    /// Validates an update through the status subresource.
    fn validate_status_update(&self, _new: &dyn Object, _old: &dyn Object) -> ErrorList {
        ErrorList::new()
    }

    /// Prepares an update through a subresource of the object's own kind other than status
    /// (a namespace's `finalize`, a CSR's `approval`, a pod's `ephemeralcontainers` or
    /// `resize`, `binding`): keeps in `new` everything of `old` that the subresource may not
    /// change, metadata included.
    fn prepare_for_subresource_update(&self, _subresource: &str, _new: &mut dyn Object, _old: &dyn Object) {}

    /// Validates an update through such a subresource.
    fn validate_subresource_update(&self, _subresource: &str, _new: &dyn Object, _old: &dyn Object) -> ErrorList {
        ErrorList::new()
    }

    /// Called when a delete is requested, before the registry decides between marking and
    /// removing. Returns true when the object must stay, marked with a deletionTimestamp, even
    /// without metadata finalizers or a grace period (a namespace whose spec.finalizers are
    /// not empty); the strategy may change the object (status.phase = Terminating). An error
    /// refuses the delete with 409 Conflict and that message.
    fn before_delete(&self, _obj: &mut dyn Object) -> Result<bool, String> {
        Ok(false)
    }

    /// Whether an update finishes an object being deleted (upstream's
    /// `ShouldDeleteDuringUpdate`): by default, when it is marked for deletion, has no
    /// finalizers left and no grace period pending.
    fn should_delete_during_update(&self, obj: &dyn Object) -> bool {
        let meta = obj.meta();
        meta.deletion_timestamp.is_some()
            && meta.finalizers.as_ref().is_none_or(|f| f.is_empty())
            && meta.deletion_grace_period_seconds.unwrap_or(0) == 0
    }

    /// Whether a create empties the status of a kind with a status subresource (true for all
    /// kinds but those whose clients set status at creation, like Node).
    fn reset_status_on_create(&self) -> bool {
        true
    }

    /// The grace period for deleting this object, given the one the client asked for:
    /// `None` deletes at once; `Some(seconds)` marks the object with a deletionTimestamp and
    /// leaves it for its owner (for pods, the node agent) to finish. Upstream:
    /// `CheckGracefulDelete`.
    fn graceful_delete_period(&self, _obj: &dyn Object, _requested: Option<i64>) -> Option<i64> {
        None
    }
}

/// A field-selector field and where its value is in the object's JSON. A field absent from the
/// object has the value `default` (upstream renders Go zero values: "" for strings, "false" for
/// booleans, "0" for numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLabel {
    /// The name used in `fieldSelector`: `spec.nodeName`.
    pub name: &'static str,
    /// The dotted JSON path of the value: usually the name itself.
    pub path: &'static str,
    pub default: &'static str,
}

impl FieldLabel {
    /// A string field whose selector name is its JSON path.
    pub const fn string(name: &'static str) -> FieldLabel {
        FieldLabel { name, path: name, default: "" }
    }
    /// A boolean field whose selector name is its JSON path.
    pub const fn boolean(name: &'static str) -> FieldLabel {
        FieldLabel { name, path: name, default: "false" }
    }
    /// A numeric field whose selector name is its JSON path.
    pub const fn number(name: &'static str) -> FieldLabel {
        FieldLabel { name, path: name, default: "0" }
    }
    /// A field whose selector name differs from its JSON path.
    pub const fn at(name: &'static str, path: &'static str) -> FieldLabel {
        FieldLabel { name, path, default: "" }
    }

    /// The field's value in an object, rendered as upstream renders field-selector values.
    pub fn value_in(&self, obj: &serde_json::Value) -> String {
        let mut cur = obj;
        for part in self.path.split('.') {
            match cur.get(part) {
                Some(v) => cur = v,
                None => return self.default.to_string(),
            }
        }
        match cur {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => self.default.to_string(),
            other => other.to_string(),
        }
    }
}

/// The strategy of kinds that need nothing beyond the generic registry.
pub struct Generic;

impl Strategy for Generic {}

/// A field's value, or its type's default when the field is unset, without copying a set value
/// (validation reads whole specs; a clone of a pod's spec costs more than checking it).
pub fn or_default<T: Clone + Default>(field: &Option<T>) -> std::borrow::Cow<'_, T> {
    field.as_ref().map_or_else(|| std::borrow::Cow::Owned(T::default()), std::borrow::Cow::Borrowed)
}

/// The concrete object a strategy of kind `K` was handed. Strategies are only ever called with
/// objects of their own kind (the catalog pairs them), so a mismatch is a bug in the catalog;
/// it is reported by returning `None` rather than by panicking in a request.
pub fn typed<K: 'static>(obj: &dyn Object) -> Option<&K> {
    krs_kinds::downcast_ref::<K>(obj)
}

/// See [`typed`].
pub fn typed_mut<K: 'static>(obj: &mut dyn Object) -> Option<&mut K> {
    krs_kinds::downcast_mut::<K>(obj)
}
