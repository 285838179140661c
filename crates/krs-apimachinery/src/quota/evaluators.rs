//! The evaluators besides the pod's (upstream's `pkg/quota/v1/evaluator/core` services and
//! persistent volume claims, and `quota/v1/generic`'s object count evaluator), and the usage
//! sum over a namespace's objects that every evaluator shares (`CalculateUsageStats`).

use std::collections::BTreeSet;

use crate::quantity::{Quantity, Scale};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, ScopedResourceSelectorRequirement, Service};

use super::resources::{ResourceList, add, count, parse_list};

/// The (group, resource) a `count/...` quota resource counts. The group is everything after the
/// first dot (`count/deployments.apps`, `count/widgets.example.com`).
pub fn parse_object_count_name(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("count/")?;
    let (resource, group) = rest.split_once('.').unwrap_or((rest, ""));
    (!resource.is_empty()).then(|| (group.to_string(), resource.to_string()))
}

/// The core resources a quota may count without `count/` (`legacyObjectCountAliases`; the
/// pods, services and claims evaluators answer to their own plain names).
const LEGACY_OBJECT_COUNTS: &[&str] = &["configmaps", "resourcequotas", "replicationcontrollers", "secrets"];

/// The resources with an evaluator of their own; their `count/` names are theirs too.
const OWN_EVALUATOR: &[&str] = &["pods", "services", "persistentvolumeclaims"];

/// The (group, resource) whose objects the quota resource `name` counts, when it is an object
/// count left to the generic object count evaluator.
pub fn object_count_target(name: &str) -> Option<(String, String)> {
    if LEGACY_OBJECT_COUNTS.contains(&name) {
        return Some((String::new(), name.to_string()));
    }
    let (group, resource) = parse_object_count_name(name)?;
    (!(group.is_empty() && OWN_EVALUATOR.contains(&resource.as_str()))).then_some((group, resource))
}

/// What one object of (group, resource) uses as an object count: `count/<resource>.<group>`
/// (`count/<resource>` for the core group) and, for the kinds counted before `count/` existed,
/// the plain resource name.
pub fn object_count_usage(group: &str, resource: &str) -> ResourceList {
    let name = if group.is_empty() { format!("count/{resource}") } else { format!("count/{resource}.{group}") };
    let mut usage = ResourceList::from([(name, count(1))]);
    if group.is_empty() && LEGACY_OBJECT_COUNTS.contains(&resource) {
        usage.insert(resource.to_string(), count(1));
    }
    usage
}

/// The quota resources among `names` that count objects of (group, resource).
pub fn object_count_matching_resources<'a>(
    group: &str,
    resource: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> BTreeSet<String> {
    names
        .into_iter()
        .filter(|n| object_count_target(n).is_some_and(|(g, r)| g == group && r == resource))
        .cloned()
        .collect()
}

/// The sum of `usage` over the `items` that match every scope and scope selector requirement
/// (`CalculateUsageStats`). Each of `resources` starts at zero, so an unused resource shows
/// `0`. A requirement that cannot be evaluated leaves every resource at zero, as upstream does.
pub fn usage_stats<T>(
    items: impl IntoIterator<Item = T>,
    resources: &BTreeSet<String>,
    requirements: &[ScopedResourceSelectorRequirement],
    matches: impl Fn(&ScopedResourceSelectorRequirement, &T) -> Result<bool, String>,
    usage: impl Fn(&T) -> ResourceList,
) -> ResourceList {
    let zeros: ResourceList = resources.iter().map(|r| (r.clone(), count(0))).collect();
    let mut used = zeros.clone();
    for item in items {
        let mut matched = true;
        for req in requirements {
            match matches(req, &item) {
                Ok(m) => matched &= m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot evaluate quota scope; counting no usage");
                    return zeros;
                }
            }
        }
        if matched {
            add(&mut used, &usage(&item));
        }
    }
    used
}

/// The scope function of evaluators without scopes (`MatchesNoScopeFunc`): a scoped quota
/// counts none of their objects.
pub fn matches_no_scope<T>(_: &ScopedResourceSelectorRequirement, _: &T) -> Result<bool, String> {
    Ok(false)
}

/// The quota resources of services.
const SERVICE_RESOURCES: &[&str] = &["count/services", "services", "services.nodeports", "services.loadbalancers"];

/// The quota resources among `names` that services are charged for.
pub fn service_matching_resources<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names.into_iter().filter(|n| SERVICE_RESOURCES.contains(&n.as_str())).cloned().collect()
}

/// What one service uses: itself, one load balancer if it is one, and its node ports by intent
/// (every port, or with node port allocation off only the ports that name one).
pub fn service_usage(svc: &Service) -> ResourceList {
    let spec = svc.spec.clone().unwrap_or_default();
    let ports = spec.ports.as_deref().unwrap_or_default();
    let mut result = ResourceList::from([
        ("count/services".to_string(), count(1)),
        ("services".to_string(), count(1)),
        ("services.loadbalancers".to_string(), count(0)),
        ("services.nodeports".to_string(), count(0)),
    ]);
    let all_ports = count(ports.len() as i64);
    match spec.type_.as_deref() {
        Some("NodePort") => {
            result.insert("services.nodeports".into(), all_ports);
        }
        Some("LoadBalancer") => {
            let node_ports = if spec.allocate_load_balancer_node_ports == Some(false) {
                count(ports.iter().filter(|p| p.node_port.is_some_and(|n| n != 0)).count() as i64)
            } else {
                all_ports
            };
            result.insert("services.nodeports".into(), node_ports);
            result.insert("services.loadbalancers".into(), count(1));
        }
        _ => {}
    }
    result
}

/// `<class>.storageclass.storage.k8s.io/<resource>`: claims and storage per storage class.
const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

const CLAIM_RESOURCES: &[&str] = &["persistentvolumeclaims", "requests.storage"];

/// The quota resources among `names` that persistent volume claims are charged for.
pub fn claim_matching_resources<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names
        .into_iter()
        .filter(|n| {
            n.as_str() == "count/persistentvolumeclaims"
                || CLAIM_RESOURCES.contains(&n.as_str())
                || CLAIM_RESOURCES.iter().any(|r| n.ends_with(&format!("{STORAGE_CLASS_SUFFIX}{r}")))
        })
        .cloned()
        .collect()
}

/// The claim's storage class: the beta annotation wins over `spec.storageClassName`.
fn claim_class(pvc: &PersistentVolumeClaim) -> String {
    pvc.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
        .cloned()
        .or_else(|| pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone()))
        .unwrap_or_default()
}

/// Storage is charged in whole bytes (a fractional request would fail quota validation).
fn whole_bytes(q: &Quantity) -> Quantity {
    let mut rounded = q.clone();
    if rounded.round_up(Scale::UNIT) { q.clone() } else { rounded }
}

/// The storage a claim is charged: its request, or what was allocated if that is more (a
/// failed expansion being recovered).
fn claim_storage(pvc: &PersistentVolumeClaim) -> Option<Quantity> {
    let requested = parse_list(pvc.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()))
        .remove("storage")
        .map(|q| whole_bytes(&q));
    let allocated = parse_list(pvc.status.as_ref().and_then(|s| s.allocated_resources.as_ref())).remove("storage");
    match (requested, allocated) {
        (Some(r), Some(a)) if a > r => Some(whole_bytes(&a)),
        (r, _) => r,
    }
}

/// What one claim uses: itself and its storage, overall and for its storage class.
pub fn claim_usage(pvc: &PersistentVolumeClaim) -> ResourceList {
    let mut result = ResourceList::from([
        ("persistentvolumeclaims".to_string(), count(1)),
        ("count/persistentvolumeclaims".to_string(), count(1)),
    ]);
    let class = claim_class(pvc);
    if !class.is_empty() {
        result.insert(format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"), count(1));
    }
    if let Some(storage) = claim_storage(pvc) {
        if !class.is_empty() {
            result.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), storage.clone());
        }
        result.insert("requests.storage".into(), storage);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::resources::to_wire;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn wire(l: &ResourceList) -> BTreeMap<String, String> {
        to_wire(l).into_iter().map(|(k, v)| (k, v.0)).collect()
    }

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_object_counts_under_count_and_its_legacy_name() {
        let names = |l: ResourceList| l.into_keys().collect::<Vec<_>>();
        assert_eq!(names(object_count_usage("", "configmaps")), ["configmaps", "count/configmaps"]);
        assert_eq!(names(object_count_usage("apps", "deployments")), ["count/deployments.apps"]);
        assert_eq!(names(object_count_usage("", "endpoints")), ["count/endpoints"]);
    }

    #[test]
    fn object_count_names_round_trip() {
        assert_eq!(parse_object_count_name("count/deployments.apps"), Some(("apps".into(), "deployments".into())));
        assert_eq!(
            parse_object_count_name("count/widgets.example.com"),
            Some(("example.com".into(), "widgets".into()))
        );
        assert_eq!(parse_object_count_name("count/configmaps"), Some(("".into(), "configmaps".into())));
        assert_eq!(parse_object_count_name("count/"), None);
        assert_eq!(parse_object_count_name("configmaps"), None);
        assert_eq!(object_count_target("configmaps"), Some(("".into(), "configmaps".into())));
        assert_eq!(object_count_target("count/jobs.batch"), Some(("batch".into(), "jobs".into())));
        assert_eq!(object_count_target("count/pods"), None, "the pod evaluator counts pods");
        assert_eq!(object_count_target("services"), None);
        let names = vec!["secrets".to_string(), "count/secrets".to_string(), "count/configmaps".to_string()];
        assert_eq!(
            object_count_matching_resources("", "secrets", &names),
            BTreeSet::from(["count/secrets".to_string(), "secrets".to_string()])
        );
    }

    #[test]
    fn services_count_node_ports_by_intent_and_load_balancers() {
        let svc = |v: serde_json::Value| -> Service { serde_json::from_value(v).expect("service") };
        let ports = json!([{"port": 80, "nodePort": 30080}, {"port": 443}]);
        let np = svc(json!({"spec": {"type": "NodePort", "ports": ports}}));
        let lb = svc(json!({"spec": {"type": "LoadBalancer", "ports": ports}}));
        let lb_no_alloc =
            svc(json!({"spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": ports}}));
        let cip = svc(json!({"spec": {"ports": ports}}));
        let used =
            usage_stats([np, lb, lb_no_alloc, cip], &set(SERVICE_RESOURCES), &[], matches_no_scope, service_usage);
        assert_eq!(
            wire(&used),
            map(&[
                ("count/services", "4"),
                ("services", "4"),
                ("services.loadbalancers", "2"),
                ("services.nodeports", "5"),
            ])
        );
    }

    #[test]
    fn claims_charge_storage_overall_and_per_class_in_whole_bytes() {
        let pvc = |v: serde_json::Value| -> PersistentVolumeClaim { serde_json::from_value(v).expect("pvc") };
        let gold = pvc(json!({"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1Gi"}}}}));
        let annotated = pvc(json!({
            "metadata": {"annotations": {"volume.beta.kubernetes.io/storage-class": "gold"}},
            "spec": {"storageClassName": "silver", "resources": {"requests": {"storage": "512Mi"}}},
        }));
        let classless = pvc(json!({"spec": {"resources": {"requests": {"storage": "1500m"}}}}));
        let expanded = pvc(json!({
            "spec": {"storageClassName": "silver", "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"allocatedResources": {"storage": "2Gi"}},
        }));
        let names = set(&[
            "persistentvolumeclaims",
            "requests.storage",
            "gold.storageclass.storage.k8s.io/requests.storage",
            "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
            "silver.storageclass.storage.k8s.io/requests.storage",
            "bronze.storageclass.storage.k8s.io/requests.storage",
        ]);
        assert_eq!(claim_matching_resources(&names), names);
        let used = usage_stats([gold, annotated, classless, expanded], &names, &[], matches_no_scope, claim_usage);
        let used = crate::quota::resources::mask(used, &names);
        assert_eq!(
            wire(&used),
            map(&[
                ("persistentvolumeclaims", "4"),
                // 1Gi + 512Mi + 2 (1.5 rounded up to whole bytes) + 2Gi.
                ("requests.storage", "3758096386"),
                ("gold.storageclass.storage.k8s.io/requests.storage", "1536Mi"),
                ("gold.storageclass.storage.k8s.io/persistentvolumeclaims", "2"),
                ("silver.storageclass.storage.k8s.io/requests.storage", "2Gi"),
                ("bronze.storageclass.storage.k8s.io/requests.storage", "0"),
            ])
        );
    }

    #[test]
    fn scoped_usage_counts_only_matching_items_and_a_bad_requirement_counts_none() {
        let req =
            ScopedResourceSelectorRequirement { scope_name: "Even".into(), operator: "Exists".into(), values: None };
        let names = set(&["n"]);
        let usage = |_: &i32| ResourceList::from([("n".to_string(), count(1))]);
        let even = |_: &ScopedResourceSelectorRequirement, i: &i32| Ok(i % 2 == 0);
        assert_eq!(wire(&usage_stats([1, 2, 4], &names, std::slice::from_ref(&req), even, usage)), map(&[("n", "2")]));
        let bad = |_: &ScopedResourceSelectorRequirement, _: &i32| Err("bad".to_string());
        assert_eq!(wire(&usage_stats([1, 2], &names, &[req], bad, usage)), map(&[("n", "0")]));
    }
}
