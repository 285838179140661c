//! The resource catalog: for every served group/version/resource, its kind, scope, verbs,
//! subresources, short names, categories, storage location and [`Strategy`].
//!
//! The catalog is data. The API server derives its routes, discovery documents, OpenAPI and RBAC
//! resource names from it, so adding a built-in kind is a row in [`builtin`] plus, when the kind
//! needs special behaviour, a strategy. Custom resources will enter the same catalog at run time.

mod builtin;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use krs_kinds::KindCodec;

use crate::strategy::{self, Strategy};

/// A set of API verbs, as discovery lists them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Verbs(u16);

impl Verbs {
    pub const CREATE: Verbs = Verbs(1);
    pub const DELETE: Verbs = Verbs(1 << 1);
    pub const DELETECOLLECTION: Verbs = Verbs(1 << 2);
    pub const GET: Verbs = Verbs(1 << 3);
    pub const LIST: Verbs = Verbs(1 << 4);
    pub const PATCH: Verbs = Verbs(1 << 5);
    pub const UPDATE: Verbs = Verbs(1 << 6);
    pub const WATCH: Verbs = Verbs(1 << 7);
    pub const NONE: Verbs = Verbs(0);
    pub const ALL: Verbs = Verbs(0xff);

    const NAMES: [(Verbs, &'static str); 8] = [
        (Verbs::CREATE, "create"),
        (Verbs::DELETE, "delete"),
        (Verbs::DELETECOLLECTION, "deletecollection"),
        (Verbs::GET, "get"),
        (Verbs::LIST, "list"),
        (Verbs::PATCH, "patch"),
        (Verbs::UPDATE, "update"),
        (Verbs::WATCH, "watch"),
    ];

    pub const fn with(self, other: Verbs) -> Verbs {
        Verbs(self.0 | other.0)
    }
    pub const fn without(self, other: Verbs) -> Verbs {
        Verbs(self.0 & !other.0)
    }
    pub const fn contains(self, other: Verbs) -> bool {
        self.0 & other.0 == other.0
    }
    /// The verb names in discovery's (alphabetical) order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(v, _)| self.contains(*v)).map(|(_, n)| *n).collect()
    }
}

impl fmt::Debug for Verbs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// What a subresource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubresourceKind {
    /// The parent's own kind, a part of it (status, ephemeralcontainers, finalize, approval...).
    SameKind,
    /// Another kind's object (scale → autoscaling/v1 Scale, eviction, binding, token).
    Other { group: &'static str, version: &'static str, kind: &'static str },
    /// A connection or stream (exec, attach, portforward, proxy) whose options kind is named.
    Connect { kind: &'static str },
}

/// A subresource row of the built-in table.
#[derive(Clone, Copy, Debug)]
pub struct Sub {
    pub name: &'static str,
    pub kind: SubresourceKind,
    pub verbs: Verbs,
}

impl Sub {
    pub const fn same_kind(name: &'static str, verbs: Verbs) -> Sub {
        Sub { name, kind: SubresourceKind::SameKind, verbs }
    }
    pub const fn other_kind(
        name: &'static str,
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        verbs: Verbs,
    ) -> Sub {
        Sub { name, kind: SubresourceKind::Other { group, version, kind }, verbs }
    }
    pub const fn connect(name: &'static str, kind: &'static str, verbs: Verbs) -> Sub {
        Sub { name, kind: SubresourceKind::Connect { kind }, verbs }
    }
}

/// A row of the built-in table, written with a const builder so the table reads like discovery.
#[derive(Clone, Copy)]
pub struct Builtin {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    namespaced: bool,
    verbs: Verbs,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Sub],
    /// Kept in the store (false for virtual resources such as reviews and bindings).
    stored: bool,
    /// The key segment under /registry/ when it differs from the resource name.
    storage: Option<&'static str>,
    /// The group/version the objects are stored as, when another version of the resource is the
    /// storage version.
    stored_as: Option<(&'static str, &'static str)>,
    generation: bool,
    return_deleted: bool,
    deprecation: Option<&'static str>,
    strategy: Option<&'static dyn Strategy>,
}

impl Builtin {
    pub const fn new(group: &'static str, version: &'static str, resource: &'static str, kind: &'static str) -> Self {
        Builtin {
            group,
            version,
            resource,
            kind,
            namespaced: true,
            verbs: Verbs::ALL,
            short_names: &[],
            categories: &[],
            subresources: &[],
            stored: true,
            storage: None,
            stored_as: None,
            generation: false,
            return_deleted: false,
            deprecation: None,
            strategy: None,
        }
    }
    pub const fn cluster(mut self) -> Self {
        self.namespaced = false;
        self
    }
    pub const fn verbs(mut self, verbs: Verbs) -> Self {
        self.verbs = verbs;
        self
    }
    pub const fn short(mut self, names: &'static [&'static str]) -> Self {
        self.short_names = names;
        self
    }
    pub const fn categories(mut self, categories: &'static [&'static str]) -> Self {
        self.categories = categories;
        self
    }
    /// In the `all` category (`kubectl get all`).
    pub const fn all(self) -> Self {
        self.categories(&["all"])
    }
    pub const fn subs(mut self, subs: &'static [Sub]) -> Self {
        self.subresources = subs;
        self
    }
    pub const fn virtual_resource(mut self) -> Self {
        self.stored = false;
        self
    }
    pub const fn storage(mut self, segment: &'static str) -> Self {
        self.storage = Some(segment);
        self
    }
    pub const fn stored_as(mut self, group: &'static str, version: &'static str) -> Self {
        self.stored_as = Some((group, version));
        self
    }
    /// The kind counts spec changes in metadata.generation.
    pub const fn generation(mut self) -> Self {
        self.generation = true;
        self
    }
    /// Every request to the resource is answered with this Warning (a deprecated API).
    pub const fn deprecated(mut self, warning: &'static str) -> Self {
        self.deprecation = Some(warning);
        self
    }
    /// A delete answers with the deleted object rather than a Status (upstream's
    /// `ReturnDeletedObject`).
    pub const fn returns_deleted(mut self) -> Self {
        self.return_deleted = true;
        self
    }
    pub const fn strategy(mut self, strategy: &'static dyn Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }
}

/// A served subresource.
#[derive(Clone, Debug)]
pub struct SubresourceInfo {
    pub name: String,
    pub kind: SubresourceKind,
    pub verbs: Verbs,
}

/// Where and how a resource's objects are stored.
#[derive(Clone, Debug)]
pub struct StorageInfo {
    /// The key prefix of all objects, ending in `/`: `/registry/pods/`.
    pub prefix: String,
    /// The group and version objects are stored as.
    pub group: String,
    pub version: String,
}

impl StorageInfo {
    /// The key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) => format!("{}{ns}/{name}", self.prefix),
            None => format!("{}{name}", self.prefix),
        }
    }

    /// The prefix of a namespace's objects, or of all objects.
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) => format!("{}{ns}/", self.prefix),
            None => self.prefix.clone(),
        }
    }
}

/// A served group/version/resource.
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    /// The plural, lower-case resource name used in URLs: `deployments`.
    pub resource: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub verbs: Verbs,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<SubresourceInfo>,
    /// Spec changes bump metadata.generation.
    pub generation: bool,
    /// A delete answers with the deleted object instead of a Status.
    pub return_deleted_object: bool,
    /// The Warning every request to a deprecated resource gets.
    pub deprecation: Option<&'static str>,
    /// None for virtual resources (reviews, bindings, component statuses).
    pub storage: Option<StorageInfo>,
    /// How to decode the kind (built-in kinds).
    pub codec: Option<&'static KindCodec>,
    pub strategy: &'static dyn Strategy,
    /// The columns `kubectl get` shows.
    pub printer: &'static dyn crate::printers::Printer,
}

impl fmt::Debug for ResourceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceInfo({})", self.group_resource())
    }
}

impl ResourceInfo {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// `resource.group`, or `resource` for the core group: how errors name the resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() { self.resource.clone() } else { format!("{}.{}", self.resource, self.group) }
    }

    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn has_status(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// True when objects are stored as another version than this one.
    pub fn needs_conversion(&self) -> bool {
        self.storage.as_ref().is_some_and(|s| s.group != self.group || s.version != self.version)
    }

    fn from_builtin(b: &Builtin) -> ResourceInfo {
        let storage = b.stored.then(|| {
            let (group, version) = b.stored_as.unwrap_or((b.group, b.version));
            let segment = b.storage.unwrap_or(b.resource);
            StorageInfo { prefix: format!("/registry/{segment}/"), group: group.into(), version: version.into() }
        });
        ResourceInfo {
            group: b.group.into(),
            version: b.version.into(),
            resource: b.resource.into(),
            singular: b.kind.to_ascii_lowercase(),
            kind: b.kind.into(),
            list_kind: format!("{}List", b.kind),
            namespaced: b.namespaced,
            verbs: b.verbs,
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            subresources: b
                .subresources
                .iter()
                .map(|s| SubresourceInfo { name: s.name.into(), kind: s.kind, verbs: s.verbs })
                .collect(),
            generation: b.generation,
            return_deleted_object: b.return_deleted,
            deprecation: b.deprecation,
            storage,
            codec: krs_kinds::lookup(b.group, b.version, b.kind),
            strategy: b.strategy.unwrap_or(&strategy::Generic),
            printer: crate::printers::printer_for(b.group, b.kind),
        }
    }
}

/// One API group and the versions it serves, the preferred one first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub versions: Vec<String>,
}

/// Every served resource, indexed for routing.
#[derive(Debug)]
pub struct Catalog {
    resources: Vec<Arc<ResourceInfo>>,
    /// Positions in `resources` by resource name: a name is served by a few group/versions at
    /// most, so a lookup borrows the request's strings and compares them, allocating nothing.
    index: HashMap<String, Vec<usize>>,
    groups: Vec<GroupInfo>,
}

impl Catalog {
    /// The catalog of built-in resources.
    pub fn builtin() -> Catalog {
        Self::from_resources(builtin::BUILTIN.iter().map(ResourceInfo::from_builtin).collect())
    }

    fn from_resources(resources: Vec<ResourceInfo>) -> Catalog {
        let mut index: HashMap<String, Vec<usize>> = HashMap::with_capacity(resources.len());
        let mut groups: Vec<GroupInfo> = Vec::new();
        for (i, r) in resources.iter().enumerate() {
            index.entry(r.resource.clone()).or_default().push(i);
            match groups.iter_mut().find(|g| g.name == r.group) {
                Some(g) if !g.versions.contains(&r.version) => g.versions.push(r.version.clone()),
                Some(_) => {}
                None => groups.push(GroupInfo { name: r.group.clone(), versions: vec![r.version.clone()] }),
            }
        }
        Catalog { resources: resources.into_iter().map(Arc::new).collect(), index, groups }
    }

    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<&Arc<ResourceInfo>> {
        let at = self.index.get(resource)?;
        at.iter().rev().map(|&i| &self.resources[i]).find(|r| r.version == version && r.group == group)
    }

    /// Every served resource, in table order.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        self.resources.iter()
    }

    /// The resources of one group/version, in table order.
    pub fn resources_in<'a>(&'a self, group: &'a str, version: &'a str) -> impl Iterator<Item = &'a Arc<ResourceInfo>> {
        self.resources.iter().filter(move |r| r.group == group && r.version == version)
    }

    /// The served groups, the core group ("") first, in table order.
    pub fn groups(&self) -> &[GroupInfo] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&GroupInfo> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The resource stored as this group/version with this storage prefix (the storage version
    /// of a resource served in several versions).
    pub fn storage_resource(&self, r: &ResourceInfo) -> Option<&Arc<ResourceInfo>> {
        let storage = r.storage.as_ref()?;
        self.lookup(&storage.group, &storage.version, &r.resource).or_else(|| {
            self.resources.iter().find(|o| o.group == storage.group && o.version == storage.version && o.kind == r.kind)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_builtin_has_a_typed_codec() {
        let catalog = Catalog::builtin();
        for r in catalog.resources() {
            assert!(r.codec.is_some(), "{} has no codec", r.group_resource());
        }
    }

    #[test]
    fn removed_betas_are_not_served() {
        let catalog = Catalog::builtin();
        for (g, v, r) in [
            ("batch", "v1beta1", "cronjobs"),
            ("policy", "v1beta1", "poddisruptionbudgets"),
            ("policy", "v1beta1", "podsecuritypolicies"),
            ("discovery.k8s.io", "v1beta1", "endpointslices"),
            ("events.k8s.io", "v1beta1", "events"),
            ("autoscaling", "v2beta1", "horizontalpodautoscalers"),
            ("node.k8s.io", "v1beta1", "runtimeclasses"),
        ] {
            assert!(catalog.lookup(g, v, r).is_none(), "{g}/{v} {r} is served");
        }
        assert!(catalog.resources().all(|r| !r.version.contains("beta") && !r.version.contains("alpha")));
    }

    #[test]
    fn storage_keys_follow_upstream_layout() {
        let catalog = Catalog::builtin();
        let pods = catalog.lookup("", "v1", "pods").unwrap();
        assert_eq!(pods.storage.as_ref().unwrap().key(Some("ns"), "p"), "/registry/pods/ns/p");
        let svc = catalog.lookup("", "v1", "services").unwrap();
        assert_eq!(svc.storage.as_ref().unwrap().prefix, "/registry/services/specs/");
        let nodes = catalog.lookup("", "v1", "nodes").unwrap();
        assert_eq!(nodes.storage.as_ref().unwrap().key(None, "n1"), "/registry/minions/n1");
        let crd = catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
        assert_eq!(crd.storage.as_ref().unwrap().prefix, "/registry/apiextensions.k8s.io/customresourcedefinitions/");
    }

    #[test]
    fn resources_served_in_two_versions_share_storage() {
        let catalog = Catalog::builtin();
        let v1 = catalog.lookup("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let v2 = catalog.lookup("autoscaling", "v2", "horizontalpodautoscalers").unwrap();
        assert_eq!(v1.storage.as_ref().unwrap().prefix, v2.storage.as_ref().unwrap().prefix);
        assert!(v1.needs_conversion() && !v2.needs_conversion());
        assert_eq!(catalog.group("autoscaling").unwrap().versions, vec!["v2", "v1"]);
        let ev = catalog.lookup("events.k8s.io", "v1", "events").unwrap();
        assert_eq!(ev.storage.as_ref().unwrap().prefix, "/registry/events/");
        assert!(ev.needs_conversion());
    }

    #[test]
    fn discovery_names_match_upstream() {
        let catalog = Catalog::builtin();
        let deploy = catalog.lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(deploy.short_names, vec!["deploy"]);
        assert_eq!(deploy.categories, vec!["all"]);
        assert_eq!(deploy.singular, "deployment");
        assert_eq!(
            deploy.verbs.names(),
            vec!["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        );
        let ns = catalog.lookup("", "v1", "namespaces").unwrap();
        assert!(!ns.verbs.contains(Verbs::DELETECOLLECTION));
        assert_eq!(catalog.groups()[0].name, "");
    }
}
