//! The ResourceQuota admission plugin (upstream's `apiserver/pkg/admission/plugin/resourcequota`).
//!
//! A write that adds to what a namespace uses (a new pod, service, claim or any object a quota
//! counts; a service or claim that grows) is checked against every quota of the namespace that
//! covers it, and charged to them before the object is stored: the quotas' `status.used` is
//! raised in the store with a compare-and-swap, so two creates racing for the last unit cannot
//! both pass. A write that would pass a quota's `status.hard` is forbidden with upstream's
//! message (`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`). The quota
//! controller later recounts `status.used` from the objects themselves, which also gives back
//! the charge of a write that failed after admission.
//!
//! Checks and charges of one namespace run one at a time (upstream queues them per namespace);
//! a quota whose write loses a race with the controller is read again and checked again, three
//! times at most.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, Pod, ResourceQuota, ScopedResourceSelectorRequirement, Service,
};
use krs_api::ResourceInfo;
use krs_apimachinery::quota::evaluators::{
    claim_matching_resources, claim_usage, object_count_matching_resources, object_count_usage,
    service_matching_resources, service_usage,
};
use krs_apimachinery::quota::resources::{
    ResourceList, add, exceeded, mask, negative, parse_list, pretty_print, remove_zeros, subtract_non_negative, to_wire,
};
use krs_apimachinery::quota::{pods, requirements};
use krs_kinds::Object;
use krs_store::{KeyValue, RangeRequest, StoreError};

use crate::errors::ApiError;
use crate::handler::App;
use crate::registry::{decode_stored, encode_for_storage};

/// How many times a charge is retried after a quota changed under it.
const RETRIES: usize = 3;

/// Resources quota admission never looks at (upstream's `DefaultIgnoredResources`).
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

/// The evaluator of a kind: how its objects are charged.
enum Evaluator {
    Pods,
    Services,
    Claims,
    /// Any other namespaced kind, counted as objects: (group, resource).
    Objects(String, String),
}

impl Evaluator {
    /// The evaluator for a write to `res`, when the write can change what quotas see
    /// (`Handles`): creates of every kind, and updates of services and claims.
    fn for_write(res: &ResourceInfo, update: bool) -> Option<Evaluator> {
        if !res.namespaced || IGNORED.contains(&(res.group.as_str(), res.resource.as_str())) {
            return None;
        }
        let evaluator = match (res.group.as_str(), res.resource.as_str()) {
            ("", "pods") => Evaluator::Pods,
            ("", "services") => Evaluator::Services,
            ("", "persistentvolumeclaims") => Evaluator::Claims,
            (group, resource) => Evaluator::Objects(group.to_string(), resource.to_string()),
        };
        let handles = match evaluator {
            Evaluator::Services | Evaluator::Claims => true,
            Evaluator::Pods | Evaluator::Objects(..) => !update,
        };
        handles.then_some(evaluator)
    }

    /// The quota resources among `names` this kind is charged for (`MatchingResources`).
    fn matching(&self, names: &BTreeSet<String>) -> BTreeSet<String> {
        match self {
            Evaluator::Pods => pods::matching_resources(names),
            Evaluator::Services => service_matching_resources(names),
            Evaluator::Claims => claim_matching_resources(names),
            Evaluator::Objects(g, r) => object_count_matching_resources(g, r, names),
        }
    }

    /// What `obj` uses.
    fn usage(&self, obj: &dyn Object, now: Timestamp) -> ResourceList {
        match self {
            Evaluator::Pods => krs_kinds::downcast_ref::<Pod>(obj).map(|p| pods::usage(p, now)),
            Evaluator::Services => krs_kinds::downcast_ref::<Service>(obj).map(service_usage),
            Evaluator::Claims => krs_kinds::downcast_ref::<PersistentVolumeClaim>(obj).map(claim_usage),
            Evaluator::Objects(g, r) => Some(object_count_usage(g, r)),
        }
        .unwrap_or_default()
    }

    /// Whether `obj` is in the scope a requirement of a quota selects. Only pods have scopes: a
    /// scoped quota counts no other object (`MatchesNoScopeFunc`).
    fn in_scope(&self, req: &ScopedResourceSelectorRequirement, obj: &dyn Object) -> Result<bool, String> {
        match (self, krs_kinds::downcast_ref::<Pod>(obj)) {
            (Evaluator::Pods, Some(pod)) => pods::matches_scope(pod, req),
            _ => Ok(false),
        }
    }

    /// The kind's own constraints on an object a quota limiting `required` covers.
    fn constraints(&self, required: &BTreeSet<String>, obj: &dyn Object) -> Result<(), String> {
        match (self, krs_kinds::downcast_ref::<Pod>(obj)) {
            (Evaluator::Pods, Some(pod)) => pods::constraints(pod, required),
            _ => Ok(()),
        }
    }
}

/// A quota as read from the store.
struct StoredQuota {
    kv: KeyValue,
    quota: ResourceQuota,
    hard: ResourceList,
    used: ResourceList,
}

impl StoredQuota {
    fn name(&self) -> &str {
        self.quota.metadata.name.as_deref().unwrap_or_default()
    }
}

/// A quota the write is charged to, with its usage after the write.
struct Charge {
    index: usize,
    used: ResourceList,
}

/// Why a write cannot be admitted.
fn forbidden(res: &ResourceInfo, name: &str, message: String) -> ApiError {
    ApiError::forbidden(Some(res), name, &message)
}

/// The quotas the write must be charged to (`CheckRequest`), or why it is forbidden.
fn check(
    res: &ResourceInfo,
    evaluator: &Evaluator,
    quotas: &[StoredQuota],
    obj: &dyn Object,
    old: Option<&dyn Object>,
) -> Result<Vec<Charge>, ApiError> {
    let name = obj.meta().name.clone().unwrap_or_default();
    let now = Timestamp::now();
    let mut interesting = Vec::new();
    for (i, q) in quotas.iter().enumerate() {
        let hard_names: BTreeSet<String> = q.hard.keys().cloned().collect();
        let restricted = evaluator.matching(&hard_names);
        if restricted.is_empty() {
            continue;
        }
        let mut in_scope = true;
        for req in requirements(&q.quota) {
            match evaluator.in_scope(&req, obj) {
                Ok(m) => in_scope &= m,
                Err(e) => {
                    return Err(ApiError::internal(format!("error matching scopes of quota {}, err: {e}", q.name())));
                }
            }
        }
        if !in_scope {
            continue;
        }
        if let Err(e) = evaluator.constraints(&restricted, obj) {
            return Err(forbidden(res, &name, format!("failed quota: {}: {e}", q.name())));
        }
        if restricted.iter().any(|r| !q.used.contains_key(r)) {
            let names: Vec<&str> = restricted.iter().map(String::as_str).collect();
            return Err(forbidden(
                res,
                &name,
                format!("status unknown for quota: {}, resources: {}", q.name(), names.join(",")),
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(Vec::new());
    }
    let usage = evaluator.usage(obj, now);
    let negatives = negative(&usage);
    if !negatives.is_empty() {
        let names: Vec<&str> = negatives.iter().map(String::as_str).collect();
        return Err(forbidden(res, &name, format!("quota usage is negative for resource(s): {}", names.join(","))));
    }
    // An update is charged what it adds, to the quotas the old object was charged to already;
    // a quota the old object was outside of is charged the whole new usage.
    let old_usage = old.map(|o| (evaluator.usage(o, now), o));
    let mut charges = Vec::new();
    for i in interesting {
        let q = &quotas[i];
        let delta = match &old_usage {
            Some((prev, o)) if covers(evaluator, q, *o) => subtract_non_negative(&usage, prev),
            _ => usage.clone(),
        };
        let delta = remove_zeros(delta);
        if delta.is_empty() {
            continue;
        }
        let hard_names: BTreeSet<String> = q.hard.keys().cloned().collect();
        let requested = mask(delta, &hard_names);
        let mut used = q.used.clone();
        add(&mut used, &requested);
        let requested_names: BTreeSet<String> = requested.keys().cloned().collect();
        let over = exceeded(&mask(used.clone(), &requested_names), &q.hard);
        if !over.is_empty() {
            return Err(forbidden(
                res,
                &name,
                format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    q.name(),
                    pretty_print(&mask(requested, &over)),
                    pretty_print(&mask(q.used.clone(), &over)),
                    pretty_print(&mask(q.hard.clone(), &over)),
                ),
            ));
        }
        charges.push(Charge { index: i, used });
    }
    Ok(charges)
}

/// Whether a quota covers `obj` (its resources and scopes), scope errors counting as no.
fn covers(evaluator: &Evaluator, q: &StoredQuota, obj: &dyn Object) -> bool {
    let hard_names: BTreeSet<String> = q.hard.keys().cloned().collect();
    !evaluator.matching(&hard_names).is_empty()
        && requirements(&q.quota).iter().all(|req| evaluator.in_scope(req, obj).unwrap_or(false))
}

/// Reads the namespace's quotas from the store (admission charges against the latest values).
async fn read_quotas(app: &App, quota_res: &Arc<ResourceInfo>, namespace: &str) -> Result<Vec<StoredQuota>, ApiError> {
    let base = quota_res.storage.as_ref().map(|s| s.prefix.clone()).unwrap_or_default();
    let resp = app
        .store
        .range(RangeRequest { prefix: format!("{base}{namespace}/"), ..Default::default() })
        .await
        .map_err(|e| ApiError::from_store(e, quota_res, ""))?;
    Ok(resp
        .kvs
        .into_iter()
        .filter_map(|kv| {
            let quota: ResourceQuota = serde_json::from_slice(&kv.value).ok()?;
            let status = quota.status.as_ref();
            let hard = parse_list(status.and_then(|s| s.hard.as_ref()));
            let used = parse_list(status.and_then(|s| s.used.as_ref()));
            Some(StoredQuota { kv, quota, hard, used })
        })
        .collect())
}

/// Writes a quota's new `status.used` if the quota is still as read. `Ok(false)`: it changed.
async fn write_used(
    app: &App,
    quota_res: &Arc<ResourceInfo>,
    q: &StoredQuota,
    used: &ResourceList,
) -> Result<bool, ApiError> {
    let mut obj = decode_stored(quota_res, &q.kv)?;
    let Some(quota) = krs_kinds::downcast_mut::<ResourceQuota>(obj.as_mut()) else {
        return Err(ApiError::internal("a stored ResourceQuota did not decode as one"));
    };
    quota.status.get_or_insert_with(Default::default).used = Some(to_wire(used));
    let value: Bytes = encode_for_storage(obj.as_mut());
    match app.store.update(&q.kv.key, value, q.kv.mod_revision, q.kv.lease).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(ApiError::from_store(e, quota_res, q.name())),
    }
}

/// The ResourceQuota plugin on a create (`old` is `None`) or an update of `obj` in `namespace`:
/// forbids what a covering quota has no room for, else charges it to those quotas (not on a
/// dry run).
pub async fn admit(
    app: &App,
    res: &ResourceInfo,
    namespace: &str,
    obj: &dyn Object,
    old: Option<&dyn Object>,
    dry_run: bool,
) -> Result<(), ApiError> {
    let Some(evaluator) = Evaluator::for_write(res, old.is_some()) else {
        return Ok(());
    };
    let Some(quota_res) = app.catalog.lookup("", "v1", "resourcequotas").cloned() else {
        return Ok(());
    };
    // Most namespaces have no quota: the watch cache says so without a store read.
    let cached: Vec<ResourceQuota> =
        crate::admission::cached_objects(app, ("", "v1", "resourcequotas"), &format!("{namespace}/")).await?;
    if cached.is_empty() {
        return Ok(());
    }
    let _serial = app.quota_lock(namespace).lock().await;
    let mut pending: Option<BTreeSet<String>> = None;
    for _ in 0..=RETRIES {
        let mut quotas = read_quotas(app, &quota_res, namespace).await?;
        if let Some(names) = &pending {
            quotas.retain(|q| names.contains(q.name()));
        }
        let charges = check(res, &evaluator, &quotas, obj, old)?;
        if dry_run || charges.is_empty() {
            return Ok(());
        }
        let mut lost = BTreeSet::new();
        for charge in &charges {
            let q = &quotas[charge.index];
            if !write_used(app, &quota_res, q, &charge.used).await? {
                lost.insert(q.name().to_string());
            }
        }
        if lost.is_empty() {
            return Ok(());
        }
        pending = Some(lost);
    }
    Err(ApiError::conflict(
        &quota_res,
        "",
        "the namespace's resource quotas changed too often while this request was charged to them, please retry",
    ))
}
