//! The pod evaluator (upstream's `pkg/quota/v1/evaluator/core/pods.go`): which quota resources
//! pods are charged for, what one pod uses (its effective requests and limits, as
//! `pkg/api/v1/resource`'s `PodRequests`/`PodLimits` compute them), and the pod scopes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Pod, PodAffinityTerm, ScopedResourceSelectorRequirement, WeightedPodAffinityTerm,
};

use super::resources::{ResourceList, add, count, max_into, parse_list};

/// `count/pods`: every pod in storage, whatever its phase.
pub const POD_OBJECT_COUNT: &str = "count/pods";

/// The quota resources of pods besides the prefixed ones.
const POD_RESOURCES: &[&str] = &[
    POD_OBJECT_COUNT,
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

/// Quota resources by prefix (huge pages of any size).
const POD_RESOURCE_PREFIXES: &[&str] = &["hugepages-", "requests.hugepages-"];

/// The resources pod-level `spec.resources` may set (`IsSupportedPodLevelResource`).
const POD_LEVEL_RESOURCES: &[&str] = &["cpu", "memory"];

const REQUESTS_PREFIX: &str = "requests.";

/// Whether `name` is a native resource: unqualified, or in the kubernetes.io domain.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// An extended resource as a quota names it: `requests.example.com/gpu`.
fn is_extended_quota_name(name: &str) -> bool {
    !is_native(name) && name.starts_with(REQUESTS_PREFIX)
}

/// An extended resource as a container requests it: `example.com/gpu`.
fn is_extended_resource(name: &str) -> bool {
    !is_native(name) && !name.starts_with(REQUESTS_PREFIX)
}

/// The quota resources among `names` that pods are charged for.
pub fn matching_resources<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names
        .into_iter()
        .filter(|n| {
            POD_RESOURCES.contains(&n.as_str())
                || POD_RESOURCE_PREFIXES.iter().any(|p| n.starts_with(p))
                || is_extended_quota_name(n)
        })
        .cloned()
        .collect()
}

/// Whether the pod is charged for compute quota (`QuotaV1Pod`): not terminal, and not past the
/// grace period of its deletion (a pod stuck terminating on a lost node must not block its
/// replacement).
pub fn is_charged(pod: &Pod, now: Timestamp) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    charge_ends_at(pod).is_none_or(|end| now <= end)
}

/// When a pod being deleted stops being charged: its deletion timestamp plus its grace period
/// once more (the timestamp already includes the grace, upstream adds it again).
pub fn charge_ends_at(pod: &Pod) -> Option<Timestamp> {
    let deleted = pod.metadata.deletion_timestamp.as_ref()?.0;
    let grace = pod.metadata.deletion_grace_period_seconds?;
    deleted.checked_add(SignedDuration::from_secs(grace)).ok()
}

/// The quota resources whose limit makes every container state its own value: cpu and memory
/// (a compatibility rule upstream keeps and never extends to other resources).
const VALIDATION_SET: &[&str] = &["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

/// The pod evaluator's `Constraints`: when a quota limits cpu or memory (`required`), every
/// container and init container must request (or limit) it. The error names, per missing
/// resource, the containers that lack it: `must specify limits.cpu for: a,b; memory for: a`.
pub fn constraints(pod: &Pod, required: &BTreeSet<String>) -> Result<(), String> {
    let required: Vec<&str> = required.iter().map(String::as_str).filter(|r| VALIDATION_SET.contains(r)).collect();
    if required.is_empty() {
        return Ok(());
    }
    let mut missing: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let spec = pod.spec.as_ref();
    let containers = spec.map(|s| s.containers.iter()).into_iter().flatten();
    let init = spec.and_then(|s| s.init_containers.as_deref()).into_iter().flatten();
    for c in containers.chain(init) {
        let resources = c.resources.as_ref();
        let usage = compute_usage(
            &parse_list(resources.and_then(|r| r.requests.as_ref())),
            &parse_list(resources.and_then(|r| r.limits.as_ref())),
        );
        for r in &required {
            if !usage.contains_key(*r) {
                missing.entry(r).or_default().insert(c.name.as_str());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| format!("{r} for: {}", names.iter().copied().collect::<Vec<_>>().join(",")))
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// What one pod uses (`PodUsageFunc`): `count/pods` always, the rest only while charged.
pub fn usage(pod: &Pod, now: Timestamp) -> ResourceList {
    let mut result = ResourceList::from([(POD_OBJECT_COUNT.to_string(), count(1))]);
    if !is_charged(pod, now) {
        return result;
    }
    add(&mut result, &compute_usage(&requests(pod), &limits(pod)));
    result
}

/// The quota resources a pod with these effective requests and limits is charged
/// (`podComputeUsageHelper`).
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut result = ResourceList::from([("pods".to_string(), count(1))]);
    for (resource, aliases) in [
        ("cpu", ["cpu", "requests.cpu"]),
        ("memory", ["memory", "requests.memory"]),
        ("ephemeral-storage", ["ephemeral-storage", "requests.ephemeral-storage"]),
    ] {
        if let Some(q) = requests.get(resource) {
            for alias in aliases {
                result.insert(alias.to_string(), q.clone());
            }
        }
        if let Some(q) = limits.get(resource) {
            result.insert(format!("limits.{resource}"), q.clone());
        }
    }
    for (resource, q) in requests {
        if resource.starts_with("hugepages-") {
            result.insert(resource.clone(), q.clone());
            result.insert(format!("{REQUESTS_PREFIX}{resource}"), q.clone());
        }
        if is_extended_resource(resource) {
            result.insert(format!("{REQUESTS_PREFIX}{resource}"), q.clone());
        }
    }
    result
}

fn is_restartable(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Whether the kubelet found the pod's pending resize infeasible (`IsPodResizeInfeasible`).
fn resize_infeasible(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
        cs.iter()
            .any(|c| c.type_ == "PodResizePending" && c.status == "True" && c.reason.as_deref() == Some("Infeasible"))
    })
}

/// Which side of a container's resources is summed.
#[derive(Clone, Copy)]
enum Side {
    Requests,
    Limits,
}

/// A container's resources, with in-place resizes accounted as upstream does when
/// InPlacePodVerticalScaling is on (the default): the larger of the desired and the actual
/// resources, or only the actual ones when the resize is infeasible.
fn container_resources(pod: &Pod, c: &Container, status: Option<&ContainerStatus>, side: Side) -> ResourceList {
    let spec = c.resources.as_ref();
    let desired = match side {
        Side::Requests => parse_list(spec.and_then(|r| r.requests.as_ref())),
        Side::Limits => parse_list(spec.and_then(|r| r.limits.as_ref())),
    };
    let Some((status, actual)) = status.and_then(|s| Some((s, s.resources.as_ref()?))) else { return desired };
    let mut out = if resize_infeasible(pod) { ResourceList::new() } else { desired };
    match side {
        Side::Requests => {
            max_into(&mut out, &parse_list(actual.requests.as_ref()));
            max_into(&mut out, &parse_list(status.allocated_resources.as_ref()));
        }
        Side::Limits => max_into(&mut out, &parse_list(actual.limits.as_ref())),
    }
    out
}

/// The pod's effective requests or limits: the app containers and sidecars together, or the
/// largest init container (plus the sidecars started before it) if that is larger; then the
/// pod-level resources where set, then the pod overhead.
fn aggregate(pod: &Pod, side: Side) -> ResourceList {
    let Some(spec) = pod.spec.as_ref() else { return ResourceList::new() };
    let statuses = |list: Option<&Vec<ContainerStatus>>| -> BTreeMap<String, ContainerStatus> {
        list.into_iter().flatten().map(|s| (s.name.clone(), s.clone())).collect()
    };
    let app_statuses = statuses(pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()));
    let init_statuses = statuses(pod.status.as_ref().and_then(|s| s.init_container_statuses.as_ref()));

    let mut total = ResourceList::new();
    for c in &spec.containers {
        add(&mut total, &container_resources(pod, c, app_statuses.get(&c.name), side));
    }
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in spec.init_containers.iter().flatten() {
        if is_restartable(c) {
            let own = container_resources(pod, c, init_statuses.get(&c.name), side);
            add(&mut total, &own);
            add(&mut sidecars, &own);
            max_into(&mut init_max, &sidecars);
        } else {
            // Resizes do not apply to init containers.
            let mut during = container_resources(pod, c, None, side);
            add(&mut during, &sidecars);
            max_into(&mut init_max, &during);
        }
    }
    max_into(&mut total, &init_max);

    let pod_level = spec.resources.as_ref().map(|r| match side {
        Side::Requests => parse_list(r.requests.as_ref()),
        Side::Limits => parse_list(r.limits.as_ref()),
    });
    for (name, q) in pod_level.iter().flatten() {
        if POD_LEVEL_RESOURCES.contains(&name.as_str()) {
            total.insert(name.clone(), q.clone());
        }
    }

    let overhead = parse_list(spec.overhead.as_ref());
    match side {
        Side::Requests => add(&mut total, &overhead),
        // Overhead is added only to limits that are set: an unset limit stays unlimited.
        Side::Limits => {
            for (name, q) in &overhead {
                if let Some(v) = total.get_mut(name) {
                    v.add(q);
                }
            }
        }
    }
    total
}

/// The pod's effective requests (`PodRequests`).
pub fn requests(pod: &Pod) -> ResourceList {
    aggregate(pod, Side::Requests)
}

/// The pod's effective limits (`PodLimits`).
pub fn limits(pod: &Pod) -> ResourceList {
    aggregate(pod, Side::Limits)
}

/// Whether the pod has an active deadline (the Terminating scope).
pub fn is_terminating(pod: &Pod) -> bool {
    pod.spec.as_ref().and_then(|s| s.active_deadline_seconds).is_some_and(|d| d >= 0)
}

/// Whether the pod's QoS class is BestEffort: the class the API server recorded, else computed
/// (no container, init container or pod-level cpu or memory request or limit above zero).
pub fn is_best_effort(pod: &Pod) -> bool {
    if let Some(class) = pod.status.as_ref().and_then(|s| s.qos_class.as_deref()).filter(|c| !c.is_empty()) {
        return class == "BestEffort";
    }
    let Some(spec) = pod.spec.as_ref() else { return true };
    let sets_compute = |r: Option<&k8s_openapi::api::core::v1::ResourceRequirements>| {
        let Some(r) = r else { return false };
        [r.requests.as_ref(), r.limits.as_ref()]
            .into_iter()
            .any(|l| parse_list(l).iter().any(|(name, q)| (name == "cpu" || name == "memory") && q.sign() > 0))
    };
    !(spec.containers.iter().chain(spec.init_containers.iter().flatten()).any(|c| sets_compute(c.resources.as_ref()))
        || sets_compute(spec.resources.as_ref()))
}

fn cross_namespace_term(t: &PodAffinityTerm) -> bool {
    t.namespaces.as_ref().is_some_and(|n| !n.is_empty()) || t.namespace_selector.is_some()
}

/// Whether any pod (anti-)affinity term reaches into other namespaces.
pub fn uses_cross_namespace_pod_affinity(pod: &Pod) -> bool {
    let Some(affinity) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else { return false };
    let terms = |required: Option<&Vec<PodAffinityTerm>>, preferred: Option<&Vec<WeightedPodAffinityTerm>>| {
        required.into_iter().flatten().any(cross_namespace_term)
            || preferred.into_iter().flatten().any(|w| cross_namespace_term(&w.pod_affinity_term))
    };
    affinity.pod_affinity.as_ref().is_some_and(|a| {
        terms(
            a.required_during_scheduling_ignored_during_execution.as_ref(),
            a.preferred_during_scheduling_ignored_during_execution.as_ref(),
        )
    }) || affinity.pod_anti_affinity.as_ref().is_some_and(|a| {
        terms(
            a.required_during_scheduling_ignored_during_execution.as_ref(),
            a.preferred_during_scheduling_ignored_during_execution.as_ref(),
        )
    })
}

/// Whether the pod matches one scope requirement (`podMatchesScopeFunc`). A malformed
/// PriorityClass selector is an error, as upstream's selector conversion fails.
pub fn matches_scope(pod: &Pod, req: &ScopedResourceSelectorRequirement) -> Result<bool, String> {
    Ok(match req.scope_name.as_str() {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => {
            let class = pod.spec.as_ref().and_then(|s| s.priority_class_name.as_deref()).filter(|c| !c.is_empty());
            let values = req.values.as_deref().unwrap_or_default();
            match req.operator.as_str() {
                "Exists" if values.is_empty() => class.is_some(),
                "DoesNotExist" if values.is_empty() => class.is_none(),
                "In" if !values.is_empty() => class.is_some_and(|c| values.iter().any(|v| v == c)),
                "NotIn" if !values.is_empty() => class.is_none_or(|c| !values.iter().any(|v| v == c)),
                op => return Err(format!("invalid scope selector operator {op:?} with values {values:?}")),
            }
        }
        "CrossNamespacePodAffinity" => uses_cross_namespace_pod_affinity(pod),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::resources::to_wire;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("pod")
    }

    fn wire(l: &ResourceList) -> BTreeMap<String, String> {
        to_wire(l).into_iter().map(|(k, v)| (k, v.0)).collect()
    }

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn container(name: &str, requests: serde_json::Value, limits: serde_json::Value) -> serde_json::Value {
        json!({"name": name, "image": "busybox", "resources": {"requests": requests, "limits": limits}})
    }

    #[test]
    fn a_quota_on_cpu_or_memory_needs_every_container_to_state_it() {
        let p = pod(json!({"spec": {
            "initContainers": [container("init", json!({"cpu": "1"}), json!({}))],
            "containers": [
                container("a", json!({"cpu": "1", "memory": "1Gi"}), json!({"memory": "1Gi"})),
                container("b", json!({}), json!({})),
            ],
        }}));
        let required = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            constraints(&p, &required(&["requests.cpu", "limits.memory", "pods", "requests.storage"])),
            Err("must specify limits.memory for: b,init; requests.cpu for: b".to_string())
        );
        // Only cpu and memory are ever required; other resources are charged as they come.
        assert_eq!(constraints(&p, &required(&["pods", "requests.ephemeral-storage", "hugepages-2Mi"])), Ok(()));
    }

    #[test]
    fn requests_are_the_larger_of_the_app_containers_sum_and_the_largest_init_container() {
        let p = pod(json!({"spec": {
            "initContainers": [container("init", json!({"cpu": "2", "memory": "64Mi"}), json!({"cpu": "3"}))],
            "containers": [
                container("a", json!({"cpu": "500m", "memory": "100Mi"}), json!({"cpu": "1"})),
                container("b", json!({"cpu": "250m", "memory": "100Mi"}), json!({"cpu": "1"})),
            ],
        }}));
        assert_eq!(wire(&requests(&p)), map(&[("cpu", "2"), ("memory", "200Mi")]));
        assert_eq!(wire(&limits(&p)), map(&[("cpu", "3")]));
    }

    #[test]
    fn sidecars_add_to_the_app_containers_and_to_later_init_containers() {
        let mut sidecar = container("sidecar", json!({"cpu": "100m"}), json!({}));
        sidecar["restartPolicy"] = json!("Always");
        let p = pod(json!({"spec": {
            "initContainers": [sidecar, container("migrate", json!({"cpu": "1"}), json!({}))],
            "containers": [container("app", json!({"cpu": "200m"}), json!({}))],
        }}));
        // App phase: 200m + 100m; the migration runs beside the sidecar: 1 + 100m.
        assert_eq!(wire(&requests(&p)), map(&[("cpu", "1100m")]));
    }

    #[test]
    fn overhead_adds_to_requests_and_to_set_limits_only() {
        let p = pod(json!({"spec": {
            "overhead": {"cpu": "100m", "memory": "10Mi"},
            "containers": [container("app", json!({"cpu": "1", "memory": "100Mi"}), json!({"cpu": "2"}))],
        }}));
        assert_eq!(wire(&requests(&p)), map(&[("cpu", "1100m"), ("memory", "110Mi")]));
        assert_eq!(wire(&limits(&p)), map(&[("cpu", "2100m")]));
    }

    #[test]
    fn pod_level_resources_replace_the_container_sum() {
        let p = pod(json!({"spec": {
            "resources": {"requests": {"cpu": "3"}, "limits": {"memory": "1Gi"}},
            "containers": [container("app", json!({"cpu": "1", "memory": "100Mi"}), json!({}))],
        }}));
        assert_eq!(wire(&requests(&p)), map(&[("cpu", "3"), ("memory", "100Mi")]));
        assert_eq!(wire(&limits(&p)), map(&[("memory", "1Gi")]));
    }

    #[test]
    fn an_in_place_resize_charges_the_larger_of_desired_and_actual() {
        let p = pod(json!({
            "spec": {"containers": [container("app", json!({"cpu": "500m"}), json!({}))]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "app", "image": "busybox", "imageID": "", "ready": true, "restartCount": 0,
                "resources": {"requests": {"cpu": "1"}}, "allocatedResources": {"cpu": "1"},
            }]},
        }));
        assert_eq!(wire(&requests(&p)), map(&[("cpu", "1")]));
    }

    #[test]
    fn usage_names_every_quota_resource_of_the_requests() {
        let p = pod(json!({"spec": {"containers": [container(
            "app",
            json!({"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi", "hugepages-2Mi": "4Mi", "example.com/gpu": "1"}),
            json!({"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "2Gi"}),
        )]}}));
        assert_eq!(
            wire(&usage(&p, Timestamp::now())),
            map(&[
                ("count/pods", "1"),
                ("pods", "1"),
                ("cpu", "250m"),
                ("requests.cpu", "250m"),
                ("limits.cpu", "500m"),
                ("memory", "64Mi"),
                ("requests.memory", "64Mi"),
                ("limits.memory", "128Mi"),
                ("ephemeral-storage", "1Gi"),
                ("requests.ephemeral-storage", "1Gi"),
                ("limits.ephemeral-storage", "2Gi"),
                ("hugepages-2Mi", "4Mi"),
                ("requests.hugepages-2Mi", "4Mi"),
                ("requests.example.com/gpu", "1"),
            ])
        );
    }

    #[test]
    fn terminal_pods_and_pods_past_their_deletion_grace_only_count_as_objects() {
        let spec = json!({"containers": [container("app", json!({"cpu": "1"}), json!({}))]});
        let done = pod(json!({"spec": spec, "status": {"phase": "Succeeded"}}));
        assert_eq!(wire(&usage(&done, Timestamp::now())), map(&[("count/pods", "1")]));

        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
        let deleting = pod(json!({
            "metadata": {"deletionTimestamp": "2026-01-01T00:00:30Z", "deletionGracePeriodSeconds": 30},
            "spec": spec,
            "status": {"phase": "Running"},
        }));
        assert!(is_charged(&deleting, now));
        assert!(is_charged(&deleting, "2026-01-01T00:01:00Z".parse().expect("time")));
        assert!(!is_charged(&deleting, "2026-01-01T00:01:01Z".parse().expect("time")));
    }

    #[test]
    fn scopes_follow_the_pod_evaluator() {
        let req = |scope: &str, op: &str, values: &[&str]| ScopedResourceSelectorRequirement {
            scope_name: scope.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        };
        let best_effort = pod(json!({"spec": {"containers": [{"name": "a"}], "activeDeadlineSeconds": 10}}));
        let burstable = pod(json!({"spec": {
            "priorityClassName": "high",
            "containers": [container("a", json!({"memory": "1Mi"}), json!({}))],
        }}));
        assert_eq!(matches_scope(&best_effort, &req("BestEffort", "Exists", &[])), Ok(true));
        assert_eq!(matches_scope(&burstable, &req("NotBestEffort", "Exists", &[])), Ok(true));
        assert_eq!(matches_scope(&best_effort, &req("Terminating", "Exists", &[])), Ok(true));
        assert_eq!(matches_scope(&burstable, &req("NotTerminating", "Exists", &[])), Ok(true));
        assert_eq!(matches_scope(&burstable, &req("PriorityClass", "In", &["high", "mid"])), Ok(true));
        assert_eq!(matches_scope(&best_effort, &req("PriorityClass", "In", &["high"])), Ok(false));
        assert_eq!(matches_scope(&best_effort, &req("PriorityClass", "NotIn", &["high"])), Ok(true));
        assert_eq!(matches_scope(&burstable, &req("PriorityClass", "Exists", &[])), Ok(true));
        assert_eq!(matches_scope(&best_effort, &req("PriorityClass", "DoesNotExist", &[])), Ok(true));
        assert!(matches_scope(&burstable, &req("PriorityClass", "In", &[])).is_err());
        let zero = pod(json!({"spec": {"containers": [container("a", json!({"cpu": "0"}), json!({}))]}}));
        assert!(is_best_effort(&zero), "a zero request leaves the pod BestEffort");
    }

    #[test]
    fn cross_namespace_affinity_is_any_term_naming_namespaces() {
        let p = pod(json!({"spec": {"containers": [{"name": "a"}], "affinity": {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {
                "topologyKey": "zone", "namespaceSelector": {}}}]}}}}));
        assert!(uses_cross_namespace_pod_affinity(&p));
        let local = pod(json!({"spec": {"containers": [{"name": "a"}], "affinity": {"podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone"}]}}}}));
        assert!(!uses_cross_namespace_pod_affinity(&local));
    }

    #[test]
    fn matching_resources_are_the_pod_names_prefixes_and_extended_requests() {
        let names: Vec<String> =
            ["pods", "requests.hugepages-1Gi", "requests.example.com/gpu", "configmaps", "requests.storage", "cpu"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let got: Vec<String> = matching_resources(&names).into_iter().collect();
        assert_eq!(got, ["cpu", "pods", "requests.example.com/gpu", "requests.hugepages-1Gi"]);
    }
}
