//! Ownership bookkeeping and the apply merge (structured-merge-diff's `merge.Updater`).
//!
//! - Update: every field the write changed (added, modified, or removed) is taken from the
//!   managers that owned it and given to the writer.
//! - Apply: the configuration is merged into the live object; the applier owns exactly the
//!   configuration's fields; fields it applied last time and no longer applies are removed
//!   unless someone else owns them; fields the configuration changes and others own are
//!   conflicts (or, forced, are taken from them).
//!
//! Managers whose entries are at another apiVersion see the change in their version:
//! objects are converted with [`crate::conversion`] where a conversion exists, and compared
//! as they are where versions share a shape. Managers at a version the kind no longer has
//! are dropped, as upstream drops them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use super::compare::{Comparison, compare};
use super::conflict::{Conflict, Conflicts};
use super::managed::{ManagedFields, ManagerId, VersionedSet};
use super::merge::merge;
use super::reconcile::reconcile;
use super::remove::remove_items;
use super::schema::{Atom, Node, ensure_named_fields_are_members};
use super::set::FieldSet;
use super::tofieldset::to_field_set;

/// The objects' kind and what the strategy resets.
pub(crate) struct Updater<'a> {
    pub(crate) kind: &'a str,
    /// The request's apiVersion: objects without one are at it.
    pub(crate) version: &'a str,
    /// Fields the endpoint resets (upstream's `GetResetFields`): nobody gains them here.
    pub(crate) ignored: Option<&'a FieldSet>,
}

impl Updater<'_> {
    /// `obj` (at its own apiVersion) in `version`; `None` when the kind has no such version.
    fn convert<'v>(&self, obj: &'v Value, version: &str) -> Option<Cow<'v, Value>> {
        let from = obj.get("apiVersion").and_then(Value::as_str).filter(|v| !v.is_empty()).unwrap_or(self.version);
        if from == version {
            return Some(Cow::Borrowed(obj));
        }
        let known = |v: &str| crate::merge::lookup(v, self.kind).is_some();
        if known(from) && !known(version) {
            return None;
        }
        let (group, ver) = version.rsplit_once('/').unwrap_or(("", version));
        match crate::conversion::convert(obj.clone(), group, ver) {
            Ok(v) => Some(Cow::Owned(v)),
            // Versions without a conversion share their shape (they differ in defaults).
            Err(_) => {
                let mut v = obj.clone();
                // Stamped so that converting back finds it at `version`.
                if let Some(m) = v.as_object_mut() {
                    m.insert("apiVersion".to_owned(), Value::String(version.to_owned()));
                }
                Some(Cow::Owned(v))
            }
        }
    }

    /// Fits every manager's set to the current schema and drops managers at versions the
    /// kind no longer has (`reconcileManagedFieldsWithSchemaChanges`).
    fn reconcile_managers(&self, managers: &mut ManagedFields) {
        let known = |v: &str| crate::merge::lookup(v, self.kind).is_some();
        let current_known = known(self.version);
        managers.entries.retain(|_, e| {
            let v = e.fields.api_version.as_str();
            if current_known && !known(v) {
                return false;
            }
            if let Some(set) = reconcile(&e.fields.set, self.node(v)) {
                e.fields.set = set;
            }
            true
        });
    }

    fn node(&self, version: &str) -> Node {
        Node::root(version, self.kind)
    }

    fn compare_at(&self, old: &Value, new: &Value, version: &str) -> Option<Comparison> {
        let old = self.convert(old, version)?;
        let new = self.convert(new, version)?;
        let mut c = compare(&old, &new, self.node(version));
        c.exclude(self.ignored);
        Some(c)
    }

    /// Takes what changed between `old` and `new` from every manager but `workflow`:
    /// removed fields always, changed fields only with `force` (else they are conflicts).
    /// Returns the comparison at `version`.
    fn update_managers(
        &self,
        old: &Value,
        new: &Value,
        version: &str,
        managers: &mut ManagedFields,
        workflow: &str,
        force: bool,
    ) -> Result<Comparison, Conflicts> {
        // Comparisons at the other managers' versions, made once each.
        let mut at_version: BTreeMap<String, Option<Comparison>> = BTreeMap::new();
        let current = self.compare_at(old, new, version).unwrap_or_default();

        let mut conflicts = Vec::new();
        let mut taken: Vec<(String, FieldSet)> = Vec::new();
        let mut missing = Vec::new();
        for (key, entry) in &managers.entries {
            if key == workflow {
                continue;
            }
            let v = &entry.fields.api_version;
            let cmp = if v == version {
                Some(&current)
            } else {
                at_version.entry(v.clone()).or_insert_with(|| self.compare_at(old, new, v)).as_ref()
            };
            let Some(cmp) = cmp else {
                missing.push(key.clone());
                continue;
            };
            let changed = entry.fields.set.intersection(&cmp.modified.union(&cmp.added));
            for path in changed.paths() {
                conflicts.push(Conflict { manager: entry.id.clone(), path });
            }
            taken.push((key.clone(), changed.union(&cmp.removed)));
        }
        if !force && !conflicts.is_empty() {
            return Err(Conflicts(conflicts));
        }
        for key in missing {
            managers.entries.remove(&key);
        }
        for (key, gone) in taken {
            if let Some(e) = managers.entries.get_mut(&key) {
                e.fields.set = e.fields.set.difference(&gone);
            }
        }
        managers.drop_empty();
        Ok(current)
    }

    /// Records a non-apply write (`Updater.Update`): takes what changed from the other
    /// managers and returns what the writer, keyed `workflow`, owns afterwards.
    pub(crate) fn update(
        &self,
        live: &Value,
        new: &Value,
        version: &str,
        managers: &mut ManagedFields,
        workflow: &str,
    ) -> FieldSet {
        self.reconcile_managers(managers);
        let Ok(cmp) = self.update_managers(live, new, version, managers, workflow, true) else {
            return FieldSet::new();
        };
        let mut set = match managers.entries.get(workflow) {
            Some(e) => e.fields.set.difference(&cmp.removed).union_with(&cmp.modified).union_with(&cmp.added),
            None => cmp.added.union_with(&cmp.modified),
        };
        if let Some(ignored) = self.ignored {
            set.subtract_recursive(ignored);
        }
        set
    }

    /// Applies `config` for `manager` (`Updater.Apply`). `Ok(None)` when the object does
    /// not change (the managers may still have).
    pub(crate) fn apply(
        &self,
        live: &Value,
        config: &Value,
        version: &str,
        managers: &mut ManagedFields,
        manager: &ManagerId,
        force: bool,
    ) -> Result<Option<Value>, Conflicts> {
        self.reconcile_managers(managers);
        let node = self.node(version);
        let merged = merge(live, config, node);
        let last = managers.get(manager).map(|e| e.fields.clone());
        let mut set = to_field_set(config, node);
        if let Some(ignored) = self.ignored {
            set.subtract_recursive(ignored);
        }
        managers.set_fields(manager, VersionedSet { set, api_version: version.to_owned(), applied: true });
        let pruned = self.prune(merged, managers, last.as_ref(), version);
        self.update_managers(live, &pruned, version, managers, &manager.key(), force)?;
        if super::value::equals(live, &pruned) {
            return Ok(None);
        }
        Ok(Some(pruned))
    }

    /// Removes what `manager` applied last time and no longer applies, unless another
    /// manager owns it (`Updater.prune`).
    fn prune(&self, merged: Value, managers: &ManagedFields, last: Option<&VersionedSet>, version: &str) -> Value {
        let Some(last) = last.filter(|l| !l.set.is_empty()) else {
            return merged;
        };
        let lv = last.api_version.as_str();
        let Some(converted) = self.convert(&merged, lv).map(Cow::into_owned) else {
            return merged;
        };
        let node = self.node(lv);
        let pruned = remove_items(&converted, &ensure_named_fields_are_members(&last.set, Some(node)), node);
        let pruned = self.add_back_owned(converted.clone(), pruned, lv, managers);
        let result = self.add_back_dangling(&converted, &pruned, last);
        match self.convert(&result, version) {
            Some(v) => v.into_owned(),
            None => result,
        }
    }

    /// Puts back what pruning removed but some manager (the applier's new configuration
    /// included) owns (`addBackOwnedItems`). Returns the pruned object at the last version
    /// processed.
    fn add_back_owned(
        &self,
        mut merged: Value,
        mut pruned: Value,
        pruned_version: &str,
        managers: &ManagedFields,
    ) -> Value {
        let mut by_version: BTreeMap<&str, FieldSet> = BTreeMap::new();
        for e in managers.entries.values() {
            let s = by_version.entry(e.fields.api_version.as_str()).or_default();
            *s = s.union(&e.fields.set);
        }
        // The pruned version first, so that nothing conversion needs is missing.
        let mut order: Vec<(&str, FieldSet)> = Vec::new();
        if let Some(s) = by_version.remove(pruned_version) {
            order.push((pruned_version, s));
        }
        order.extend(by_version);
        for (version, managed) in order {
            let (Some(m), Some(p)) = (self.convert(&merged, version), self.convert(&pruned, version)) else {
                continue;
            };
            let node = self.node(version);
            let named = |s: &FieldSet| ensure_named_fields_are_members(s, Some(node));
            let merged_set = named(&to_field_set(&m, node));
            let keep = named(&to_field_set(&p, node)).union(&named(&managed));
            let p = remove_items(&m, &merged_set.difference(&keep), node);
            merged = m.into_owned();
            pruned = p;
        }
        pruned
    }

    /// Keeps only removals of fields the applier owned last time: anything else pruning
    /// lost (unowned, or owned by updaters) comes back (`addBackDanglingItems`).
    fn add_back_dangling(&self, merged: &Value, pruned: &Value, last: &VersionedSet) -> Value {
        let lv = last.api_version.as_str();
        let Some(p) = self.convert(pruned, lv) else {
            return merged.clone();
        };
        let node = self.node(lv);
        let named = |s: &FieldSet| ensure_named_fields_are_members(s, Some(node));
        let pruned_set = named(&to_field_set(&p, node));
        let merged_set = named(&to_field_set(merged, node));
        let last_set = named(&last.set);
        remove_items(merged, &merged_set.difference(&pruned_set).intersection(&last_set), node)
    }
}

/// Drops `null` members of granular structs and maps, which the apply walkers leave where
/// they emptied a node and a configuration may send: upstream's result passes through the
/// Go types, where such members are nil and omitted.
pub(crate) fn drop_nulls(v: &mut Value, node: Node) {
    match node.atom(Some(v)) {
        Atom::Map { atomic: false, shape } => {
            if let Value::Object(m) = v {
                m.retain(|_, child| !child.is_null());
                for (key, child) in m.iter_mut() {
                    drop_nulls(child, shape.member(key).0);
                }
            }
        }
        Atom::List { kind, elem } if kind != super::schema::ListKind::Atomic => {
            if let Value::Array(items) = v {
                for item in items {
                    drop_nulls(item, elem);
                }
            }
        }
        _ => {}
    }
}
