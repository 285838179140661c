//! managedFields across the `scale` subresource (upstream's `ScaleHandler`).
//!
//! A Scale (autoscaling/v1) has its own managedFields, derived from the parent's: each
//! manager owning the parent's replicas field owns `.spec.replicas` of the Scale. After a
//! write through `scale`, the Scale's entries go back to the parent: whoever wrote replicas
//! through `scale` now owns the parent's replicas field, and the previous owners lose it.
//!
//! The registry calls [`to_subresource`] to build the old Scale's managedFields, runs
//! [`super::update`] on the Scale (subresource `scale`, `autoscaling/v1`, kind `Scale`),
//! then [`to_parent`] to get the parent's new managedFields.

use serde_json::Value;

use super::error::FieldManagerError;
use super::managed::{Entry, ManagedFields, VersionedSet};
use super::path::Path;
use super::set::FieldSet;

/// The Scale's apiVersion.
pub const SCALE_API_VERSION: &str = "autoscaling/v1";

/// The parent's replicas field for each apiVersion of the parent kind, e.g.
/// `[("apps/v1", Path::fields(&["spec", "replicas"]))]`. Entries at versions not listed are
/// dropped by [`to_parent`], as upstream drops them.
pub type ReplicasPaths<'a> = &'a [(&'a str, Path)];

fn replicas_in_scale() -> Path {
    Path::fields(&["spec", "replicas"])
}

fn path_for<'p>(mappings: ReplicasPaths<'p>, version: &str) -> Option<&'p Path> {
    mappings.iter().find(|(v, _)| *v == version).map(|(_, p)| p)
}

fn decode(v: Option<&Value>) -> Result<ManagedFields, FieldManagerError> {
    ManagedFields::decode(v).map_err(FieldManagerError::DecodeManagedFields)
}

/// The Scale's managedFields from the parent's `parent_managed_fields`.
pub fn to_subresource(
    parent_managed_fields: Option<&Value>,
    mappings: ReplicasPaths<'_>,
) -> Result<Option<Value>, FieldManagerError> {
    let parent = decode(parent_managed_fields)?;
    let mut out = ManagedFields::default();
    for (key, e) in parent.entries {
        let Some(path) = path_for(mappings, &e.fields.api_version) else {
            continue;
        };
        if e.fields.set.has(path.elements()) {
            out.entries.insert(
                key,
                Entry {
                    fields: VersionedSet {
                        set: FieldSet::from_paths([&replicas_in_scale()]),
                        api_version: SCALE_API_VERSION.to_owned(),
                        applied: e.fields.applied,
                    },
                    ..e
                },
            );
        }
    }
    Ok(out.encode())
}

/// The parent's managedFields after a write through `scale`: `parent_managed_fields` with
/// the Scale's `scale_managed_fields` merged in, at `parent_api_version`.
pub fn to_parent(
    parent_managed_fields: Option<&Value>,
    scale_managed_fields: Option<&Value>,
    parent_api_version: &str,
    mappings: ReplicasPaths<'_>,
) -> Result<Option<Value>, FieldManagerError> {
    let parent = decode(parent_managed_fields)?;
    let mut scale = decode(scale_managed_fields)?;
    let mut out = ManagedFields::default();
    for (key, e) in parent.entries.iter() {
        let Some(path) = path_for(mappings, &e.fields.api_version) else {
            continue;
        };
        if !e.fields.set.has(path.elements()) {
            out.entries.insert(key.clone(), e.clone());
            continue;
        }
        if scale.entries.remove(key).is_some() {
            // The same manager wrote replicas through scale: its entry stays as it is.
            out.entries.insert(key.clone(), e.clone());
            continue;
        }
        let rest = e.fields.set.difference(&FieldSet::from_paths([path]));
        if !rest.is_empty() {
            let mut kept = e.clone();
            kept.fields.set = rest;
            out.entries.insert(key.clone(), kept);
        }
    }
    let parent_path = path_for(mappings, parent_api_version);
    for (key, e) in scale.entries {
        if !e.fields.set.has(replicas_in_scale().elements()) {
            continue;
        }
        let set = parent_path.map_or_else(FieldSet::new, |p| FieldSet::from_paths([p]));
        out.entries.insert(
            key.clone(),
            Entry {
                id: e.id,
                fields: VersionedSet { set, api_version: parent_api_version.to_owned(), applied: e.fields.applied },
                // Upstream looks the time up among the parent's entries by the Scale's
                // identifier, which only an applier's matches.
                time: parent.entries.get(&key).and_then(|p| p.time.clone()),
            },
        );
    }
    Ok(out.encode())
}
