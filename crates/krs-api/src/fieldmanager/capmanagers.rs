//! At most ten `Update` entries (upstream's `capManagersManager`): past that, the oldest
//! updaters are merged, per apiVersion, into an `ancient-changes` entry, so objects written
//! by many controllers keep bounded managedFields.

use super::managed::{Entry, ManagedFields, ManagerId, Operation, VersionedSet, unix_seconds};

/// Upstream's `DefaultMaxUpdateManagers`.
pub(crate) const MAX_UPDATE_MANAGERS: usize = 10;

const ANCIENT_CHANGES: &str = "ancient-changes";

pub(crate) fn cap_update_managers(managed: &mut ManagedFields) {
    let mut updaters: Vec<(i64, String)> = managed
        .entries
        .iter()
        .filter(|(_, e)| !e.fields.applied)
        .map(|(k, e)| (unix_seconds(&e.time), k.clone()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    // Oldest first; ties by identifier.
    updaters.sort();
    let mut first_of_version: std::collections::BTreeMap<String, String> = Default::default();
    let mut length = updaters.len();
    for (_, key) in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managed.entries.get(&key).cloned() else {
            continue;
        };
        let version = entry.fields.api_version.clone();
        let bucket = ManagerId::new(ANCIENT_CHANGES, Operation::Update, &version, "");
        let bucket_key = bucket.key();
        let Some(first) = first_of_version.get(&version) else {
            first_of_version.insert(version, key);
            continue;
        };
        if !managed.entries.contains_key(&bucket_key)
            && let Some(first_entry) = managed.entries.remove(first)
        {
            managed.entries.insert(bucket_key.clone(), Entry { id: bucket.clone(), ..first_entry });
        }
        let bucket_set = managed.entries.get(&bucket_key).map(|e| e.fields.set.clone()).unwrap_or_default();
        managed.entries.remove(&key);
        managed.entries.insert(
            bucket_key,
            Entry {
                id: bucket,
                fields: VersionedSet {
                    set: entry.fields.set.union(&bucket_set),
                    api_version: entry.fields.api_version,
                    applied: entry.fields.applied,
                },
                // The merged update is the more recent one.
                time: entry.time,
            },
        );
        length -= 1;
    }
}
