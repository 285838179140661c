//! Container resources as cgroup limits (upstream's kuberuntime container_linux and qos
//! packages): CPU shares and quota, memory limit, hugepages, OOM score.

use std::collections::BTreeMap;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use krs_apimachinery::quantity::Quantity as Q;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// A quantity's value in milli-units (CPU) or units (bytes); unparsable counts as absent.
pub fn milli(q: Option<&Quantity>) -> Option<i64> {
    q.and_then(|q| Q::parse(&q.0).ok()).map(|q| q.milli_value())
}

pub fn units(q: Option<&Quantity>) -> Option<i64> {
    q.and_then(|q| Q::parse(&q.0).ok()).map(|q| q.value())
}

fn requests(c: &Container) -> Option<&BTreeMap<String, Quantity>> {
    c.resources.as_ref().and_then(|r| r.requests.as_ref())
}

fn limits(c: &Container) -> Option<&BTreeMap<String, Quantity>> {
    c.resources.as_ref().and_then(|r| r.limits.as_ref())
}

/// The pod's QoS class (upstream's GetPodQOS over cpu and memory).
pub fn qos_class(pod: &Pod) -> QosClass {
    if let Some(q) = pod.status.as_ref().and_then(|s| s.qos_class.as_deref()) {
        match q {
            "Guaranteed" => return QosClass::Guaranteed,
            "Burstable" => return QosClass::Burstable,
            "BestEffort" => return QosClass::BestEffort,
            _ => {}
        }
    }
    let Some(spec) = pod.spec.as_ref() else { return QosClass::BestEffort };
    let mut any = false;
    let mut guaranteed = true;
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        for res in ["cpu", "memory"] {
            // Zero quantities count as unset, as upstream's.
            let positive = |q: &&Quantity| milli(Some(q)).is_some_and(|m| m > 0);
            let req = requests(c).and_then(|r| r.get(res)).filter(positive);
            let lim = limits(c).and_then(|l| l.get(res)).filter(positive);
            if req.is_some() || lim.is_some() {
                any = true;
            }
            match (req, lim) {
                (_, None) => guaranteed = false,
                (Some(r), Some(l)) if milli(Some(r)) != milli(Some(l)) => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        QosClass::BestEffort
    } else if guaranteed {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
    }
}

const CPU_PERIOD: i64 = 100_000;
const MIN_SHARES: i64 = 2;
const MAX_SHARES: i64 = 262_144;
const MIN_QUOTA: i64 = 1000;

/// cgroup CPU shares for a CPU request in millicores.
pub fn shares(milli_cpu: i64) -> i64 {
    if milli_cpu == 0 {
        return MIN_SHARES;
    }
    (milli_cpu * 1024 / 1000).clamp(MIN_SHARES, MAX_SHARES)
}

/// The OOM score adjustment (upstream's GetContainerOOMScoreAdjust): guaranteed pods are
/// protected, best-effort ones die first, burstable ones by their memory request's share.
pub fn oom_score_adj(pod: &Pod, c: &Container, memory_capacity: i64) -> i64 {
    match qos_class(pod) {
        QosClass::Guaranteed => -997,
        QosClass::BestEffort => 1000,
        QosClass::Burstable => {
            let request = units(requests(c).and_then(|r| r.get("memory"))).unwrap_or(0);
            if memory_capacity <= 0 {
                return 999;
            }
            let adj = 1000 - (1000 * request) / memory_capacity;
            adj.clamp(2, 999)
        }
    }
}

/// The container's Linux resources.
pub fn linux_resources(pod: &Pod, c: &Container, memory_capacity: i64) -> cri::LinuxContainerResources {
    let req_cpu = milli(requests(c).and_then(|r| r.get("cpu")));
    let lim_cpu = milli(limits(c).and_then(|l| l.get("cpu")));
    // Without a request, the limit is the request (API defaulting does the same).
    let cpu_request = req_cpu.or(lim_cpu).unwrap_or(0);
    let mut r = cri::LinuxContainerResources {
        cpu_shares: shares(cpu_request),
        oom_score_adj: oom_score_adj(pod, c, memory_capacity),
        ..Default::default()
    };
    if let Some(limit) = lim_cpu.filter(|l| *l > 0) {
        r.cpu_period = CPU_PERIOD;
        r.cpu_quota = (limit * CPU_PERIOD / 1000).max(MIN_QUOTA);
    }
    if let Some(mem) = units(limits(c).and_then(|l| l.get("memory"))).filter(|m| *m > 0) {
        r.memory_limit_in_bytes = mem;
    }
    for (name, q) in limits(c).into_iter().flatten() {
        let Some(size) = name.strip_prefix("hugepages-") else { continue };
        let Some(limit) = units(Some(q)) else { continue };
        // CRI names page sizes the runc way: 2MB, 1GB.
        let page_size = size.replace("Mi", "MB").replace("Gi", "GB").replace("Ki", "KB");
        r.hugepage_limits.push(cri::HugepageLimit { page_size, limit: limit.max(0) as u64 });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}
        }))
        .expect("pod")
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(serde_json::json!({}))), QosClass::BestEffort);
        let g = pod(
            serde_json::json!({"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "500m", "memory": "64Mi"}}),
        );
        assert_eq!(qos_class(&g), QosClass::Guaranteed);
        let b = pod(serde_json::json!({"requests": {"cpu": "100m"}}));
        assert_eq!(qos_class(&b), QosClass::Burstable);
    }

    #[test]
    fn limits_become_cgroup_values() {
        let p = pod(
            serde_json::json!({"limits": {"cpu": "250m", "memory": "64Mi", "hugepages-2Mi": "4Mi"}, "requests": {"cpu": "100m", "memory": "32Mi"}}),
        );
        let c = &p.spec.as_ref().map(|s| s.containers[0].clone()).unwrap_or_default();
        let r = linux_resources(&p, c, 1 << 30);
        assert_eq!(r.cpu_shares, 102);
        assert_eq!(r.cpu_period, 100_000);
        assert_eq!(r.cpu_quota, 25_000);
        assert_eq!(r.memory_limit_in_bytes, 64 << 20);
        assert_eq!(r.hugepage_limits, vec![cri::HugepageLimit { page_size: "2MB".into(), limit: 4 << 20 }]);
        // Burstable: 1000 - 1000 * 32Mi / 1Gi = 969.
        assert_eq!(r.oom_score_adj, 969);
        assert_eq!(shares(0), 2);
        assert_eq!(shares(1000), 1024);
    }
}
