//! Compute resources: resource names, quantities, requirements (requests and limits) and the QoS
//! class they give a pod (upstream `ValidateContainerResourceRequirements`, the resource-name
//! helpers of `pkg/apis/core/helper` and `pkg/apis/core/helper/qos`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;
use krs_apimachinery::quantity::Quantity;
use krs_apimachinery::validation::{BadValue, ErrorList, IS_NEGATIVE_ERROR_MSG, Path, field, is_qualified_name};

use super::dns1123_label;

/// Resource names a pod's containers may request without a domain prefix.
const STANDARD_RESOURCES: &[&str] = &[
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
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// Resources whose quantities must be whole numbers.
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_standard_resource_name(name: &str) -> bool {
    STANDARD_RESOURCES.contains(&name) || name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

fn is_standard_container_resource_name(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_huge_page(name)
}

/// A resource Kubernetes itself defines: unprefixed or under `kubernetes.io/`.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Whether requests may be lower than limits (native resources other than huge pages).
fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_huge_page(name)
}

fn is_integer_resource_name(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended_resource_name(name)
}

/// A compute resource name (`validateResourceName`).
fn validate_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = is_qualified_name(name).into_iter().map(|msg| field::invalid(path, name, msg)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_resource_name(name) {
        errs.push(field::invalid(path, name, "must be a standard resource type or fully qualified"));
    }
    errs
}

/// A container resource name (`validateContainerResourceName`).
fn validate_container_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !is_standard_container_resource_name(name) {
            errs.push(field::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errs.push(field::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// The resources a pod may set at pod level (`IsSupportedPodLevelResource`).
const POD_LEVEL_RESOURCES: &[&str] = &["cpu", "memory"];

fn validate_pod_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if errs.is_empty() && !POD_LEVEL_RESOURCES.contains(&name) && !is_huge_page(name) {
        errs.push(field::not_supported(path, name, &["cpu", "hugepages-", "memory"]));
    }
    errs
}

/// A quantity as upstream holds it, or the error its decoder would have given.
pub(crate) fn parse_quantity(q: &OpenApiQuantity, path: &Path) -> Result<Quantity, ErrorList> {
    Quantity::try_from(q).map_err(|e| ErrorList::from(field::invalid(path, q.0.as_str(), e.to_string())))
}

/// A quantity shown the way upstream's `fmt.Stringer` values are: bare, unquoted.
pub(crate) fn quantity_value(q: &Quantity) -> BadValue {
    BadValue::Json(q.to_string())
}

/// `ValidateResourceQuantityValue`: not negative, and whole for integer resources.
pub(crate) fn validate_resource_quantity_value(name: &str, q: &Quantity, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if q.sign() < 0 {
        errs.push(field::invalid(path, q.to_string(), IS_NEGATIVE_ERROR_MSG));
    }
    if is_integer_resource_name(name) && q.milli_value() % 1000 != 0 {
        errs.push(field::invalid(path, quantity_value(q), "must be an integer"));
    }
    errs
}

/// Whether a quantity is a whole number of the page size its huge-page resource name names.
fn huge_page_divisible(name: &str, q: &Quantity) -> bool {
    let Some(size) = name.strip_prefix("hugepages-") else {
        return true;
    };
    let Ok(page) = Quantity::parse(size) else {
        return false;
    };
    if page.sign() <= 0 || page.milli_value() % 1000 != 0 {
        return false;
    }
    q.value() % page.value() == 0
}

/// A container's requests and limits (`ValidateContainerResourceRequirements`).
pub(crate) fn validate_container_resource_requirements(
    requirements: Option<&ResourceRequirements>,
    pod_claim_names: &BTreeSet<String>,
    path: &Path,
) -> ErrorList {
    let Some(requirements) = requirements else {
        return ErrorList::new();
    };
    validate_resource_requirements(requirements, validate_container_resource_name, pod_claim_names, path)
}

/// The overhead of a runtime class (`validateOverhead`): validated as container limits.
pub(crate) fn validate_overhead(overhead: &BTreeMap<String, OpenApiQuantity>, path: &Path) -> ErrorList {
    let requirements = ResourceRequirements { limits: Some(overhead.clone()), ..Default::default() };
    validate_resource_requirements(&requirements, validate_container_resource_name, &BTreeSet::new(), path)
}

/// Pod-level resources (`validatePodResources`).
pub(crate) fn validate_pod_resources(spec: &PodSpec, pod_claim_names: &BTreeSet<String>, path: &Path) -> ErrorList {
    let Some(resources) = &spec.resources else {
        return ErrorList::new();
    };
    let mut errs = ErrorList::new();
    if resources.claims.is_some() {
        errs.push(field::forbidden(&path.child("claims"), "claims cannot be set for Resources at pod-level"));
    }
    errs.append(validate_resource_requirements(resources, validate_pod_resource_name, pod_claim_names, path));
    errs.append(validate_pod_resource_consistency(spec, resources, path));
    errs
}

fn validate_pod_resource_consistency(spec: &PodSpec, pod: &ResourceRequirements, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let aggregate = aggregate_container_requests(spec);
    for (name, total) in &aggregate {
        let pod_request = pod
            .requests
            .as_ref()
            .and_then(|r| r.get(name))
            .and_then(|q| Quantity::try_from(q).ok())
            .unwrap_or_default();
        if total > &pod_request {
            errs.push(field::invalid(
                &path.child("requests").key(name.clone()),
                pod_request.to_string(),
                format!("must be greater than or equal to aggregate container requests of {total}"),
            ));
        }
    }
    for (i, container) in spec.containers.iter().enumerate() {
        let limits = container.resources.as_ref().and_then(|r| r.limits.as_ref());
        for (name, limit) in limits.into_iter().flatten() {
            let Some(pod_limit) = pod.limits.as_ref().and_then(|l| l.get(name)) else {
                continue;
            };
            let (Ok(limit), Ok(pod_limit)) = (Quantity::try_from(limit), Quantity::try_from(pod_limit)) else {
                continue;
            };
            if limit > pod_limit {
                errs.push(field::invalid(
                    &path.child("containers").index(i).key(name.clone()).child("limits"),
                    limit.to_string(),
                    format!("must be less than or equal to pod limits of {pod_limit}"),
                ));
            }
        }
    }
    errs
}

/// The effective requests of a pod's containers (`AggregateContainerRequests`): regular and
/// sidecar containers add up; a regular init container needs only its own requests plus the
/// sidecars started before it.
fn aggregate_container_requests(spec: &PodSpec) -> BTreeMap<String, Quantity> {
    let requests_of = |c: &Container| -> BTreeMap<String, Quantity> {
        c.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Quantity::try_from(v).ok().map(|q| (k.clone(), q)))
            .collect()
    };
    let add = |into: &mut BTreeMap<String, Quantity>, from: &BTreeMap<String, Quantity>| {
        for (k, v) in from {
            *into.entry(k.clone()).or_default() += v;
        }
    };
    let mut total = BTreeMap::new();
    for c in &spec.containers {
        add(&mut total, &requests_of(c));
    }
    let mut sidecars = BTreeMap::new();
    let mut init_peak: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in spec.init_containers.iter().flatten() {
        let own = requests_of(c);
        if is_restartable_init_container(c) {
            add(&mut sidecars, &own);
            add(&mut total, &own);
        } else {
            let mut need = sidecars.clone();
            add(&mut need, &own);
            for (k, v) in need {
                let slot = init_peak.entry(k).or_default();
                if v > *slot {
                    *slot = v;
                }
            }
        }
    }
    for (k, v) in init_peak {
        let slot = total.entry(k).or_default();
        if v > *slot {
            *slot = v;
        }
    }
    total
}

/// `validateResourceRequirements`: names, quantities, requests within limits, huge pages, and
/// claims that name the pod's resource claims.
fn validate_resource_requirements(
    requirements: &ResourceRequirements,
    name_fn: fn(&str, &Path) -> ErrorList,
    pod_claim_names: &BTreeSet<String>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let mut lim_cpu_or_memory = false;
    let mut req_cpu_or_memory = false;
    let mut lim_huge_pages = false;
    let mut req_huge_pages = false;
    let empty = BTreeMap::new();
    let limits = requirements.limits.as_ref().unwrap_or(&empty);
    for (name, value) in limits {
        let p = lim_path.key(name.clone());
        errs.append(name_fn(name, &p));
        let q = match parse_quantity(value, &p) {
            Ok(q) => q,
            Err(e) => {
                errs.append(e);
                continue;
            }
        };
        errs.append(validate_resource_quantity_value(name, &q, &p));
        if is_huge_page(name) {
            lim_huge_pages = true;
            if !huge_page_divisible(name, &q) {
                errs.push(field::invalid(&p, q.to_string(), format!("{q} is not positive integer multiple of {name}")));
            }
        }
        if matches!(name.as_str(), "cpu" | "memory") {
            lim_cpu_or_memory = true;
        }
    }
    for (name, value) in requirements.requests.iter().flatten() {
        let p = req_path.key(name.clone());
        errs.append(name_fn(name, &p));
        let q = match parse_quantity(value, &p) {
            Ok(q) => q,
            Err(e) => {
                errs.append(e);
                continue;
            }
        };
        errs.append(validate_resource_quantity_value(name, &q, &p));
        match limits.get(name).map(Quantity::try_from) {
            Some(Ok(limit)) => {
                if q != limit && !is_overcommit_allowed(name) {
                    errs.push(field::invalid(
                        &req_path,
                        q.to_string(),
                        format!("must be equal to {name} limit of {limit}"),
                    ));
                } else if q > limit {
                    errs.push(field::invalid(
                        &req_path,
                        q.to_string(),
                        format!("must be less than or equal to {name} limit of {limit}"),
                    ));
                }
            }
            Some(Err(_)) => {}
            None if !is_overcommit_allowed(name) => {
                errs.push(field::required(&lim_path, "Limit must be set for non overcommitable resources"))
            }
            None => {}
        }
        if is_huge_page(name) {
            req_huge_pages = true;
            if !huge_page_divisible(name, &q) {
                errs.push(field::invalid(&p, q.to_string(), format!("{q} is not positive integer multiple of {name}")));
            }
        }
        if matches!(name.as_str(), "cpu" | "memory") {
            req_cpu_or_memory = true;
        }
    }
    if !lim_cpu_or_memory && !req_cpu_or_memory && (req_huge_pages || lim_huge_pages) {
        errs.push(field::forbidden(path, "HugePages require cpu or memory"));
    }
    errs.append(validate_resource_claim_names(
        requirements.claims.as_deref().unwrap_or_default(),
        pod_claim_names,
        &path.child("claims"),
    ));
    errs
}

/// Claims of a container name entries of `spec.resourceClaims` (`validateResourceClaimNames`).
fn validate_resource_claim_names(
    claims: &[k8s_openapi::api::core::v1::ResourceClaim],
    pod_claim_names: &BTreeSet<String>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (i, claim) in claims.iter().enumerate() {
        let name = &claim.name;
        let p = path.index(i);
        if name.is_empty() {
            errs.push(field::required(&p, ""));
            continue;
        }
        let request = claim.request.as_deref().unwrap_or_default();
        if names.contains(name) {
            errs.push(field::duplicate(&p, name.as_str()));
        } else {
            let mut key = name.clone();
            if !request.is_empty() {
                errs.append(dns1123_label(request, &p.child("request")));
                key = format!("{name}/{request}");
            }
            if names.contains(&key) {
                errs.push(field::duplicate(&p, key.as_str()));
            } else if request.is_empty() {
                for existing in &names {
                    if existing.split_once('/').is_some_and(|(claim_name, _)| claim_name == name) {
                        errs.push(field::duplicate(&p, name.as_str()));
                    }
                }
            }
            names.insert(key);
        }
        if !pod_claim_names.contains(name) {
            let mut e = field::not_found(&p, name.as_str());
            e.detail = if pod_claim_names.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_owned()
            } else {
                format!(
                    "must be one of the names in pod.spec.resourceClaims: {}",
                    pod_claim_names.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
                )
            };
            errs.push(e);
        }
    }
    errs
}

/// Whether an init container is a sidecar (`restartPolicy: Always`).
pub fn is_restartable_init_container(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The QoS class of a pod (`ComputePodQOS`): `BestEffort` when nothing requests or limits CPU
/// or memory, `Guaranteed` when every container limits both and requests equal limits,
/// `Burstable` otherwise. Pod-level resources, when set, decide alone.
pub fn compute_pod_qos(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let positive_qos = |list: Option<&BTreeMap<String, OpenApiQuantity>>| {
        list.into_iter()
            .flatten()
            .filter(|(name, _)| matches!(name.as_str(), "cpu" | "memory"))
            .filter_map(|(name, q)| Quantity::try_from(q).ok().map(|q| (name.clone(), q)))
            .filter(|(_, q)| q.sign() > 0)
            .collect::<Vec<_>>()
    };
    let add = |into: &mut BTreeMap<String, Quantity>, items: &[(String, Quantity)]| {
        for (name, q) in items {
            *into.entry(name.clone()).or_default() += q;
        }
    };
    let pod_level = spec.resources.as_ref().filter(|r| {
        r.requests
            .iter()
            .chain(r.limits.iter())
            .flat_map(|m| m.keys())
            .any(|k| POD_LEVEL_RESOURCES.contains(&k.as_str()) || is_huge_page(k))
    });
    if let Some(pod) = pod_level {
        add(&mut requests, &positive_qos(pod.requests.as_ref()));
        if pod.limits.as_ref().is_some_and(|l| !l.is_empty()) {
            let found = positive_qos(pod.limits.as_ref());
            add(&mut limits, &found);
            if found.len() < 2 {
                guaranteed = false;
            }
        }
    } else {
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            let resources = c.resources.as_ref();
            add(&mut requests, &positive_qos(resources.and_then(|r| r.requests.as_ref())));
            let found = positive_qos(resources.and_then(|r| r.limits.as_ref()));
            add(&mut limits, &found);
            if found.len() < 2 {
                guaranteed = false;
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.iter().all(|(name, req)| limits.get(name) == Some(req)) && requests.len() == limits.len()
    {
        return "Guaranteed";
    }
    "Burstable"
}
