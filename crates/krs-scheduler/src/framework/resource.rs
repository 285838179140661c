//! Resource arithmetic: the scheduler's `Resource` (milli-CPU, bytes, pod slots, extended
//! resources as integers) and the computation of a pod's effective requests as upstream's
//! `resourcehelper.PodRequests` does it: regular containers summed, sidecars (restartable init
//! containers) added to them, init containers as a maximum, pod-level resources overriding the
//! container aggregate, and the pod overhead on top.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub const PODS: &str = "pods";

/// The CPU a container without a CPU request is counted with when spreading (`DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The memory a container without a memory request is counted with (`DefaultMemoryRequest`, 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Compute resources as integers: CPU in millicores, memory and storage in bytes, extended
/// resources in their unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub allowed_pod_number: i64,
    /// Extended resources and hugepages (`ScalarResources`), by name.
    pub scalar: BTreeMap<String, i64>,
}

/// A resource name resolved once, for code that reads the same resources of every node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceKey {
    Cpu,
    Memory,
    EphemeralStorage,
    Pods,
    /// Any other name, looked up among the scalar resources.
    Scalar(String),
}

impl ResourceKey {
    pub fn new(name: &str) -> ResourceKey {
        ResourceKey::fixed(name).unwrap_or_else(|| ResourceKey::Scalar(name.to_owned()))
    }

    /// The key of a resource kept in its own field, if `name` is one.
    fn fixed(name: &str) -> Option<ResourceKey> {
        Some(match name {
            CPU => ResourceKey::Cpu,
            MEMORY => ResourceKey::Memory,
            EPHEMERAL_STORAGE => ResourceKey::EphemeralStorage,
            PODS => ResourceKey::Pods,
            _ => return None,
        })
    }
}

/// Whether `name` is counted as a scalar resource: extended resources (a domain-qualified name
/// outside kubernetes.io), hugepages and attachable volumes (`IsScalarResourceName`).
pub fn is_scalar_resource_name(name: &str) -> bool {
    is_extended_resource_name(name) || name.starts_with("hugepages-") || name.starts_with("attachable-volumes-")
}

/// Extended resources: a prefixed name not in the kubernetes.io namespace, whose quota form
/// `requests.<name>` is a qualified name (`IsExtendedResourceName`).
pub fn is_extended_resource_name(name: &str) -> bool {
    if !name.contains('/') || name.starts_with("kubernetes.io/") || name.contains(".kubernetes.io/") {
        return false;
    }
    !name.starts_with("requests.")
}

/// Parses a quantity's value in whole units, rounding up as `Quantity.Value()` does; malformed
/// quantities (the API server validates them, so only a broken object has one) count as zero.
pub fn quantity_value(q: &Quantity) -> i64 {
    krs_apimachinery::quantity::Quantity::parse(&q.0).map(|q| q.value()).unwrap_or(0)
}

/// A quantity's value in thousandths (`Quantity.MilliValue()`).
pub fn quantity_milli_value(q: &Quantity) -> i64 {
    krs_apimachinery::quantity::Quantity::parse(&q.0).map(|q| q.milli_value()).unwrap_or(0)
}

impl Resource {
    /// Adds a resource list (`Resource.Add`).
    pub fn add_list(&mut self, list: &BTreeMap<String, Quantity>) {
        for (name, q) in list {
            self.add_named(name, q);
        }
    }

    fn add_named(&mut self, name: &str, q: &Quantity) {
        match name {
            CPU => self.milli_cpu += quantity_milli_value(q),
            MEMORY => self.memory += quantity_value(q),
            PODS => self.allowed_pod_number += quantity_value(q),
            EPHEMERAL_STORAGE => self.ephemeral_storage += quantity_value(q),
            _ if is_scalar_resource_name(name) => {
                *self.scalar.entry(name.to_string()).or_default() += quantity_value(q)
            }
            _ => {}
        }
    }

    /// Adds another resource, field by field.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Subtracts another resource, field by field (a pod leaving a node).
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// The value of one named resource (`cpu` in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match ResourceKey::fixed(name) {
            Some(key) => self.get_key(&key),
            None => self.scalar.get(name).copied().unwrap_or(0),
        }
    }

    /// The value of a resource named by a resolved key.
    pub fn get_key(&self, key: &ResourceKey) -> i64 {
        match key {
            ResourceKey::Cpu => self.milli_cpu,
            ResourceKey::Memory => self.memory,
            ResourceKey::EphemeralStorage => self.ephemeral_storage,
            ResourceKey::Pods => self.allowed_pod_number,
            ResourceKey::Scalar(name) => self.scalar.get(name).copied().unwrap_or(0),
        }
    }

    /// A resource list from a node's allocatable (`NewResource`).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resource {
        let mut r = Resource::default();
        r.add_list(list);
        r
    }

    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0 && self.memory == 0 && self.ephemeral_storage == 0 && self.scalar.values().all(|v| *v == 0)
    }
}

/// A resource list parsed once: (name, value) with CPU in millicores.
type Parsed = BTreeMap<String, i64>;

fn parse_list(list: Option<&BTreeMap<String, Quantity>>) -> Parsed {
    let mut out = Parsed::new();
    for (name, q) in list.into_iter().flatten() {
        let v = if name == CPU { quantity_milli_value(q) } else { quantity_value(q) };
        out.insert(name.clone(), v);
    }
    out
}

fn add_parsed(into: &mut Parsed, from: &Parsed) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn max_parsed(into: &mut Parsed, from: &Parsed) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        *e = (*e).max(*v);
    }
}

fn container_requests(c: &Container) -> Parsed {
    parse_list(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

fn container_limits(c: &Container) -> Parsed {
    parse_list(c.resources.as_ref().and_then(|r| r.limits.as_ref()))
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The resources pod-level `resources` may set (`IsSupportedPodLevelResource`).
fn is_supported_pod_level_resource(name: &str) -> bool {
    name == CPU || name == MEMORY || name.starts_with("hugepages-")
}

/// Whether the pod sets pod-level requests or limits for a supported resource.
pub fn has_pod_level_resources(pod: &Pod) -> bool {
    let Some(r) = pod.spec.as_ref().and_then(|s| s.resources.as_ref()) else { return false };
    [r.requests.as_ref(), r.limits.as_ref()]
        .into_iter()
        .flatten()
        .any(|l| l.keys().any(|k| is_supported_pod_level_resource(k)))
}

/// What defaults a missing container request gets (`NonMissingContainerRequests`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Missing requests count as zero (fit).
    Zero,
    /// Missing CPU and memory requests count as 100m and 200 MiB (scoring).
    NonZero,
}

/// A pod's effective requests (`PodRequests`), CPU in millicores.
fn pod_requests_parsed(pod: &Pod, missing: Missing) -> Parsed {
    let Some(spec) = pod.spec.as_ref() else { return Parsed::new() };
    let pod_level = has_pod_level_resources(pod);
    let pod_level_requests = parse_list(spec.resources.as_ref().and_then(|r| r.requests.as_ref()));
    let with_defaults = |mut reqs: Parsed| -> Parsed {
        if missing == Missing::NonZero {
            // With pod-level resources a default applies only where neither the container nor
            // the pod sets the resource (`getNonMissingContainerRequests`).
            let set =
                |reqs: &Parsed, k: &str| reqs.contains_key(k) || (pod_level && pod_level_requests.contains_key(k));
            if !set(&reqs, CPU) {
                reqs.insert(CPU.into(), DEFAULT_MILLI_CPU_REQUEST);
            }
            if !set(&reqs, MEMORY) {
                reqs.insert(MEMORY.into(), DEFAULT_MEMORY_REQUEST);
            }
        }
        reqs
    };
    let mut reqs = Parsed::new();
    for c in &spec.containers {
        add_parsed(&mut reqs, &with_defaults(container_requests(c)));
    }
    // Sidecars run next to the regular containers for the pod's whole life; a classic init
    // container runs alone, next to the sidecars started before it.
    let mut sidecars = Parsed::new();
    let mut init_max = Parsed::new();
    for c in spec.init_containers.iter().flatten() {
        let r = with_defaults(container_requests(c));
        if is_sidecar(c) {
            add_parsed(&mut reqs, &r);
            add_parsed(&mut sidecars, &r);
            max_parsed(&mut init_max, &sidecars);
        } else {
            let mut tmp = r;
            add_parsed(&mut tmp, &sidecars);
            max_parsed(&mut init_max, &tmp);
        }
    }
    max_parsed(&mut reqs, &init_max);
    if pod_level {
        for (k, v) in &pod_level_requests {
            if is_supported_pod_level_resource(k) {
                reqs.insert(k.clone(), *v);
            }
        }
    }
    if let Some(overhead) = spec.overhead.as_ref() {
        add_parsed(&mut reqs, &parse_list(Some(overhead)));
    }
    reqs
}

fn parsed_to_resource(p: &Parsed) -> Resource {
    let mut r = Resource::default();
    for (name, v) in p {
        match name.as_str() {
            CPU => r.milli_cpu = *v,
            MEMORY => r.memory = *v,
            EPHEMERAL_STORAGE => r.ephemeral_storage = *v,
            PODS => {}
            n if is_scalar_resource_name(n) => {
                r.scalar.insert(n.to_string(), *v);
            }
            _ => {}
        }
    }
    r
}

/// The requests NodeResourcesFit checks and the cache accounts (`computePodResourceRequest`).
pub fn pod_requests(pod: &Pod) -> Resource {
    parsed_to_resource(&pod_requests_parsed(pod, Missing::Zero))
}

/// The requests used for scoring, with defaults for missing CPU and memory (`NonZeroRequested`).
pub fn pod_non_zero_requests(pod: &Pod) -> Resource {
    parsed_to_resource(&pod_requests_parsed(pod, Missing::NonZero))
}

/// A pod's effective limits (`PodLimits`): containers summed, sidecars added, init containers as
/// a maximum, pod-level limits overriding, overhead added when the pod sets a limit.
pub fn pod_limits(pod: &Pod) -> BTreeMap<String, i64> {
    let Some(spec) = pod.spec.as_ref() else { return Parsed::new() };
    let mut limits = Parsed::new();
    for c in &spec.containers {
        add_parsed(&mut limits, &container_limits(c));
    }
    let mut sidecars = Parsed::new();
    let mut init_max = Parsed::new();
    for c in spec.init_containers.iter().flatten() {
        let l = container_limits(c);
        if is_sidecar(c) {
            add_parsed(&mut limits, &l);
            add_parsed(&mut sidecars, &l);
            max_parsed(&mut init_max, &sidecars);
        } else {
            let mut tmp = l;
            add_parsed(&mut tmp, &sidecars);
            max_parsed(&mut init_max, &tmp);
        }
    }
    max_parsed(&mut limits, &init_max);
    if has_pod_level_resources(pod) {
        for (k, v) in parse_list(spec.resources.as_ref().and_then(|r| r.limits.as_ref())) {
            if is_supported_pod_level_resource(&k) {
                limits.insert(k, v);
            }
        }
    }
    if let Some(overhead) = spec.overhead.as_ref() {
        // Overhead only adds to resources that have a limit (`addResourceList` on non-empty).
        for (k, v) in parse_list(Some(overhead)) {
            if let Some(l) = limits.get_mut(&k) {
                *l += v;
            }
        }
    }
    limits
}

/// A pod's effective requests by resource name, for the KEP 1748 metrics (CPU in millicores).
pub fn pod_requests_by_name(pod: &Pod) -> BTreeMap<String, i64> {
    pod_requests_parsed(pod, Missing::Zero)
}

#[cfg(test)]
mod tests;
