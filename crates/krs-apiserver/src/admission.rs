//! Admission checks that upstream runs as admission plugins and that every cluster has.
//!
//! NamespaceLifecycle: objects cannot be created in a namespace that does not exist or is being
//! terminated, and the system namespaces (default, kube-system, kube-public) cannot be deleted.
//!
//! ServiceAccount ([`krs_api::strategy::core::pod::admit_service_account`]): a new pod runs as
//! the `default` service account unless it names one, with the account's token projected into
//! every container.
//!
//! Priority: a new pod's priority and preemption policy come from its PriorityClass, or from
//! the global default class when it names none; at most one class is the global default.
//!
//! LimitRanger ([`crate::limit_ranger`]): the namespace's LimitRanges default and bound new pods'
//! resources and the storage of new and updated claims.
//!
//! DefaultStorageClass and DefaultIngressClass: a new claim or ingress that names no class gets
//! the default one (the newest of the classes marked default).
//!
//! PodSecurity ([`crate::pod_security`]): pods are judged by the Pod Security Standard their
//! namespace's labels enforce, and warned about by the one they warn.
//!
//! ResourceQuota ([`crate::quota`]): writes are checked against and charged to the namespace's
//! quotas.
//!
//! DenyServiceExternalIPs (off unless `--enable-admission-plugins` names it, as upstream): no
//! service may take an external IP it did not have.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use krs_api::ResourceInfo;

use crate::cacher::CachedObject;
use crate::errors::ApiError;
use crate::handler::App;

/// The mutating plugins on a create: NamespaceLifecycle, ServiceAccount, Priority, LimitRanger's
/// defaults, DefaultStorageClass and DefaultIngressClass (upstream runs LimitRanger before
/// ServiceAccount and Priority; none of them reads what another writes).
pub async fn mutate_create(
    app: &App,
    res: &ResourceInfo,
    namespace: &str,
    obj: &mut dyn krs_kinds::Object,
) -> Result<(), ApiError> {
    admit_create(app, res, namespace, obj.meta().name.as_deref().unwrap_or_default()).await?;
    if app.service_account_admission
        && res.group.is_empty()
        && res.resource == "pods"
        && let Some(pod) = krs_kinds::downcast_mut::<Pod>(obj)
    {
        krs_api::strategy::core::pod::admit_service_account(pod);
    }
    if app.priority_admission {
        admit_priority(app, res, obj).await?;
    }
    admit_limit_ranger(app, res, namespace, obj).await?;
    if (res.group.is_empty() && res.resource == "persistentvolumeclaims")
        || (res.group == "networking.k8s.io" && res.resource == "ingresses")
    {
        admit_default_class(app, res, obj).await?;
    }
    Ok(())
}

/// The validating plugins on the final object of a create (`old` is `None`) or of an update of
/// the main resource: PriorityClass uniqueness, LimitRanger's claim bounds on updates,
/// PodSecurity, DenyServiceExternalIPs, ResourceQuota (last: it charges the quotas).
pub async fn validate(
    app: &App,
    res: &ResourceInfo,
    ctx: &mut crate::registry::WriteContext,
    namespace: &str,
    obj: &mut dyn krs_kinds::Object,
    old: Option<&dyn krs_kinds::Object>,
) -> Result<(), ApiError> {
    if let Some(old) = old {
        if app.priority_admission
            && res.group == "scheduling.k8s.io"
            && res.resource == "priorityclasses"
            && let Some(pc) = krs_kinds::downcast_ref::<PriorityClass>(obj)
        {
            admit_priority_class(app, res, pc).await?;
        }
        // LimitRanger bounds a claim's storage on updates too (not once it is being deleted).
        if res.group.is_empty() && res.resource == "persistentvolumeclaims" && old.meta().deletion_timestamp.is_none() {
            admit_limit_ranger(app, res, namespace, obj).await?;
        }
    }
    crate::pod_security::admit(app, res, ctx, namespace, obj, old).await?;
    if app.deny_external_ips && res.group.is_empty() && res.resource == "services" {
        admit_external_ips(res, obj, old)?;
    }
    crate::quota::admit(app, res, namespace, obj, old, ctx.dry_run).await
}

/// The validating plugins on an update through a subresource: PodSecurity judges new
/// ephemeral containers.
pub async fn validate_subresource(
    app: &App,
    res: &ResourceInfo,
    ctx: &mut crate::registry::WriteContext,
    namespace: &str,
    subresource: &str,
    obj: &dyn krs_kinds::Object,
    old: &dyn krs_kinds::Object,
) -> Result<(), ApiError> {
    if subresource == "ephemeralcontainers" {
        crate::pod_security::admit(app, res, ctx, namespace, obj, Some(old)).await?;
    }
    Ok(())
}

/// The namespaces NamespaceLifecycle never lets anyone delete.
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Admission of a delete request.
pub fn admit_delete(res: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    if res.group.is_empty() && res.resource == "namespaces" && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(Some(res), name, "this namespace may not be deleted"));
    }
    Ok(())
}

/// Admission of a create of `name` (possibly empty, for generated names) in `namespace`.
pub async fn admit_create(app: &App, res: &ResourceInfo, namespace: &str, name: &str) -> Result<(), ApiError> {
    if !res.namespaced {
        return Ok(());
    }
    let Some(ns) = namespace_entry(app, namespace).await? else {
        return match app.catalog.lookup("", "v1", "namespaces") {
            Some(ns_res) => Err(ApiError::not_found(ns_res, namespace)),
            None => Ok(()),
        };
    };
    // Upstream's NamespaceLifecycle reads the phase: deleting a namespace sets it to
    // Terminating together with the deletion timestamp.
    if ns.phase() == Some(krs_api::strategy::core::namespace::PHASE_TERMINATING) {
        return Err(ApiError::forbidden(
            Some(res),
            name,
            &format!("unable to create new content in namespace {namespace} because it is being terminated"),
        ));
    }
    Ok(())
}

/// A namespace as admission reads it on every create: the watch cache's entry, whose labels and
/// field values were read once when that version was cached, so a create decodes nothing of it.
pub(crate) struct NamespaceEntry {
    entry: Arc<CachedObject>,
    /// Where `status.phase` is among the entry's field values.
    phase_at: Option<usize>,
}

impl NamespaceEntry {
    pub fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        &self.entry.labels
    }

    /// `status.phase`, if the namespace has one.
    pub fn phase(&self) -> Option<&str> {
        self.phase_at.and_then(|i| self.entry.fields.get(i)).map(String::as_str).filter(|p| !p.is_empty())
    }
}

/// The namespace named `namespace`. The cache answers almost always; a namespace created an
/// instant ago may not be in it yet, so a miss is read from the store (and its attributes read
/// as the cache would).
pub(crate) async fn namespace_entry(app: &App, namespace: &str) -> Result<Option<NamespaceEntry>, ApiError> {
    let Some(ns_res) = app.catalog.lookup("", "v1", "namespaces") else {
        return Ok(None);
    };
    let field_labels = ns_res.strategy.field_labels();
    let phase_at = field_labels.iter().position(|f| f.name == "status.phase");
    let key = format!("/registry/namespaces/{namespace}");
    if let Some(entry) = app.cacher(ns_res).and_then(|c| c.get(&key)) {
        return Ok(Some(NamespaceEntry { entry, phase_at }));
    }
    let (kv, _) = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, ns_res, namespace))?;
    Ok(kv.map(|kv| NamespaceEntry {
        entry: Arc::new(CachedObject::from_stored(&key, &kv.value, kv.mod_revision, field_labels)),
        phase_at,
    }))
}

/// Admission plugins that can be turned off (upstream's --disable-admission-plugins).
pub const OPTIONAL_PLUGINS: &[&str] = &["Priority", "ServiceAccount"];

/// The admission plugins that always run (naming them in --enable-admission-plugins changes
/// nothing).
pub const DEFAULT_PLUGINS: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "DefaultIngressClass",
    "PodSecurity",
    "ResourceQuota",
];

/// The admission plugins that run only when --enable-admission-plugins names them.
pub const OFF_BY_DEFAULT_PLUGINS: &[&str] = &["DenyServiceExternalIPs"];

/// The DenyServiceExternalIPs plugin on a created (`old` is `None`) or updated service: every
/// external IP must be one the service already had.
pub fn admit_external_ips(
    res: &ResourceInfo,
    new: &dyn krs_kinds::Object,
    old: Option<&dyn krs_kinds::Object>,
) -> Result<(), ApiError> {
    use k8s_openapi::api::core::v1::Service;
    let ips = |o: &dyn krs_kinds::Object| {
        krs_kinds::downcast_ref::<Service>(o)
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.external_ips.clone())
            .unwrap_or_default()
    };
    let had = old.map(ips).unwrap_or_default();
    if ips(new).iter().all(|ip| had.contains(ip)) {
        return Ok(());
    }
    let name = new.meta().name.clone().unwrap_or_default();
    Err(ApiError::forbidden(Some(res), &name, "Use of external IPs is denied by admission control"))
}

/// The preemption policy of a pod whose class does not say, or that has no class.
const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";

/// The objects of a kind under `prefix` (below the kind's own key prefix): the watch cache's
/// when it is ready, as upstream's listers, else the store's.
pub(crate) async fn cached_objects<T: serde::de::DeserializeOwned>(
    app: &App,
    (group, version, resource): (&str, &str, &str),
    prefix: &str,
) -> Result<Vec<T>, ApiError> {
    let Some(res) = app.catalog.lookup(group, version, resource).cloned() else {
        return Ok(Vec::new());
    };
    let base = res.storage.as_ref().map(|s| s.prefix.clone()).unwrap_or_default();
    let prefix = format!("{base}{prefix}");
    let decode = |json: &[u8]| serde_json::from_slice::<T>(json).ok();
    if let Some(c) = app.cacher(&res).filter(|c| c.is_ready()) {
        let (objects, _) = c.snapshot();
        return Ok(objects
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, o)| decode(&o.json))
            .collect());
    }
    let resp = app
        .store
        .range(krs_store::RangeRequest { prefix, ..Default::default() })
        .await
        .map_err(|e| ApiError::from_store(e, &res, ""))?;
    Ok(resp.kvs.iter().filter_map(|kv| decode(&kv.value)).collect())
}

/// The priority classes the server has now.
async fn priority_classes(app: &App) -> Result<Vec<PriorityClass>, ApiError> {
    cached_objects(app, ("scheduling.k8s.io", "v1", "priorityclasses"), "").await
}

/// One priority class by name: from the watch cache, or the store when the cache has not seen
/// it (a class created an instant ago).
async fn priority_class(app: &App, name: &str) -> Result<Option<PriorityClass>, ApiError> {
    let Some(res) = app.catalog.lookup("scheduling.k8s.io", "v1", "priorityclasses").cloned() else {
        return Ok(None);
    };
    let prefix = res.storage.as_ref().map(|s| s.prefix.as_str()).unwrap_or_default();
    let key = format!("{prefix}{name}");
    if let Some(obj) = app.cacher(&res).and_then(|c| c.get(&key)) {
        return Ok(serde_json::from_slice(&obj.json).ok());
    }
    let (kv, _) = app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, &res, name))?;
    Ok(kv.and_then(|kv| serde_json::from_slice(&kv.value).ok()))
}

/// The global default class; with several (a race between two creates), the lowest.
fn global_default(classes: Vec<PriorityClass>) -> Option<PriorityClass> {
    classes.into_iter().filter(|c| c.global_default == Some(true)).min_by_key(|c| c.value)
}

/// The Priority plugin on a created object: pods get their priority, priority classes are
/// checked for a second global default.
pub async fn admit_priority(app: &App, res: &ResourceInfo, obj: &mut dyn krs_kinds::Object) -> Result<(), ApiError> {
    if res.group.is_empty() && res.resource == "pods" {
        if let Some(pod) = krs_kinds::downcast_mut::<Pod>(obj) {
            admit_pod_priority(app, res, pod).await?;
        }
    } else if res.group == "scheduling.k8s.io"
        && res.resource == "priorityclasses"
        && let Some(pc) = krs_kinds::downcast_ref::<PriorityClass>(obj)
    {
        admit_priority_class(app, res, pc).await?;
    }
    Ok(())
}

/// The Priority plugin on a pod being created: resolves `priorityClassName` (the global
/// default's name when empty) into `priority` and `preemptionPolicy`. A pod naming a class that
/// does not exist, or giving a priority or policy other than its class's, is forbidden.
pub async fn admit_pod_priority(app: &App, res: &ResourceInfo, pod: &mut Pod) -> Result<(), ApiError> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.get_or_insert_with(Default::default);
    let class_name = spec.priority_class_name.clone().unwrap_or_default();
    let (priority, policy) = if class_name.is_empty() {
        match global_default(priority_classes(app).await?) {
            Some(pc) => {
                spec.priority_class_name = pc.metadata.name.clone();
                (pc.value, pc.preemption_policy)
            }
            None => (0, None),
        }
    } else {
        match priority_class(app, &class_name).await? {
            Some(pc) => (pc.value, pc.preemption_policy),
            None => {
                return Err(ApiError::forbidden(
                    Some(res),
                    &name,
                    &format!("no PriorityClass with name {class_name} was found"),
                ));
            }
        }
    };
    if let Some(given) = spec.priority
        && given != priority
    {
        return Err(ApiError::forbidden(
            Some(res),
            &name,
            &format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
            ),
        ));
    }
    spec.priority = Some(priority);
    let policy = policy.unwrap_or_else(|| PREEMPT_LOWER_PRIORITY.to_owned());
    if let Some(given) = spec.preemption_policy.as_deref()
        && given != policy
    {
        return Err(ApiError::forbidden(
            Some(res),
            &name,
            &format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
            ),
        ));
    }
    spec.preemption_policy = Some(policy);
    Ok(())
}

/// The Priority plugin on a priority class being created or updated: only one class may be the
/// global default.
pub async fn admit_priority_class(app: &App, res: &ResourceInfo, pc: &PriorityClass) -> Result<(), ApiError> {
    if pc.global_default != Some(true) {
        return Ok(());
    }
    let name = pc.metadata.name.clone().unwrap_or_default();
    let others = priority_classes(app).await?.into_iter().filter(|c| c.metadata.name.as_deref() != Some(&name));
    if let Some(existing) = global_default(others.collect()) {
        let existing = existing.metadata.name.unwrap_or_default();
        return Err(ApiError::forbidden(
            Some(res),
            &name,
            &format!("PriorityClass {existing} is already marked as default. Only one default can exist"),
        ));
    }
    Ok(())
}

/// The Priority plugin on a pod update: the priority and policy it resolved at creation stay
/// when the new object leaves them out (a client replacing the pod with its original manifest).
pub fn keep_pod_priority(new: &mut dyn krs_kinds::Object, old: &dyn krs_kinds::Object) {
    let Some(old) = krs_kinds::downcast_ref::<Pod>(old).and_then(|p| p.spec.as_ref()) else { return };
    let (priority, policy) = (old.priority, old.preemption_policy.clone());
    if let Some(spec) = krs_kinds::downcast_mut::<Pod>(new).and_then(|p| p.spec.as_mut()) {
        if spec.priority.is_none() {
            spec.priority = priority;
        }
        if spec.preemption_policy.is_none() {
            spec.preemption_policy = policy;
        }
    }
}

/// The namespace's LimitRanges.
async fn limit_ranges(app: &App, namespace: &str) -> Result<Vec<k8s_openapi::api::core::v1::LimitRange>, ApiError> {
    cached_objects(app, ("", "v1", "limitranges"), &format!("{namespace}/")).await
}

/// The LimitRanger plugin on a created pod or claim.
pub async fn admit_limit_ranger(
    app: &App,
    res: &ResourceInfo,
    namespace: &str,
    obj: &mut dyn krs_kinds::Object,
) -> Result<(), ApiError> {
    let pods = res.group.is_empty() && res.resource == "pods";
    let claims = res.group.is_empty() && res.resource == "persistentvolumeclaims";
    if !pods && !claims {
        return Ok(());
    }
    let ranges = limit_ranges(app, namespace).await?;
    if ranges.is_empty() {
        return Ok(());
    }
    let name = obj.meta().name.clone().unwrap_or_default();
    let errs = if let Some(pod) = krs_kinds::downcast_mut::<Pod>(obj) {
        crate::limit_ranger::default_pod(pod, &ranges);
        crate::limit_ranger::validate_pod(pod, &ranges)
    } else if let Some(pvc) = krs_kinds::downcast_ref::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(obj) {
        crate::limit_ranger::validate_pvc(pvc, &ranges)
    } else {
        Vec::new()
    };
    if errs.is_empty() {
        return Ok(());
    }
    Err(ApiError::forbidden(Some(res), &name, &crate::limit_ranger::aggregate(&errs)))
}

/// The annotation that names a claim's class before `spec.storageClassName` existed.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// The annotation that names an ingress's class before `spec.ingressClassName` existed.
const INGRESS_CLASS: &str = "kubernetes.io/ingress.class";

/// The default class among `classes` (their metadata): those whose annotation `key` (or
/// `beta_key`) is "true"; with several, the newest, then the first by name, as upstream picks.
fn default_class<'a>(
    classes: impl IntoIterator<Item = &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    keys: &[&str],
) -> Option<String> {
    classes
        .into_iter()
        .filter(|m| {
            let annotations = m.annotations.as_ref();
            keys.iter().any(|k| annotations.and_then(|a| a.get(*k)).is_some_and(|v| v == "true"))
        })
        .map(|m| (m.creation_timestamp.as_ref().map(|t| t.0), m.name.clone().unwrap_or_default()))
        .min_by(|(t1, n1), (t2, n2)| t2.cmp(t1).then_with(|| n1.cmp(n2)))
        .map(|(_, name)| name)
}

/// The DefaultStorageClass and DefaultIngressClass plugins on a created claim or ingress.
pub async fn admit_default_class(
    app: &App,
    res: &ResourceInfo,
    obj: &mut dyn krs_kinds::Object,
) -> Result<(), ApiError> {
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
    use k8s_openapi::api::storage::v1::StorageClass;
    let annotated = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str| {
        meta.annotations.as_ref().is_some_and(|a| a.contains_key(key))
    };
    if let Some(pvc) = krs_kinds::downcast_mut::<PersistentVolumeClaim>(obj) {
        let Some(spec) = pvc.spec.as_mut() else { return Ok(()) };
        if spec.storage_class_name.is_some() || annotated(&pvc.metadata, BETA_STORAGE_CLASS) {
            return Ok(());
        }
        let classes: Vec<StorageClass> = cached_objects(app, ("storage.k8s.io", "v1", "storageclasses"), "").await?;
        spec.storage_class_name = default_class(
            classes.iter().map(|c| &c.metadata),
            &["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"],
        );
    } else if res.group == "networking.k8s.io"
        && let Some(ingress) = krs_kinds::downcast_mut::<Ingress>(obj)
    {
        let Some(spec) = ingress.spec.as_mut() else { return Ok(()) };
        if spec.ingress_class_name.is_some() || annotated(&ingress.metadata, INGRESS_CLASS) {
            return Ok(());
        }
        let classes: Vec<IngressClass> = cached_objects(app, ("networking.k8s.io", "v1", "ingressclasses"), "").await?;
        spec.ingress_class_name =
            default_class(classes.iter().map(|c| &c.metadata), &["ingressclass.kubernetes.io/is-default-class"]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn class(name: &str, created: i64, default: Option<&str>) -> ObjectMeta {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "creationTimestamp": jiff::Timestamp::from_second(created).expect("time").to_string(),
            "annotations": default.map(|v| serde_json::json!({"ingressclass.kubernetes.io/is-default-class": v})),
        }))
        .expect("metadata")
    }

    #[test]
    fn the_default_class_is_the_newest_marked_one_then_the_first_by_name() {
        const KEY: &[&str] = &["ingressclass.kubernetes.io/is-default-class"];
        let none = [class("a", 10, None), class("b", 20, Some("false"))];
        assert_eq!(default_class(&none, KEY), None);
        let several = [class("old", 10, Some("true")), class("zed", 20, Some("true")), class("new", 20, Some("true"))];
        assert_eq!(default_class(&several, KEY).as_deref(), Some("new"));
        let one = [class("only", 5, Some("true")), class("newer", 50, None)];
        assert_eq!(default_class(&one, KEY).as_deref(), Some("only"));
    }
}
