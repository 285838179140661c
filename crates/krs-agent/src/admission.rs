//! Pod admission: before the agent starts a pod bound to its node, it checks that the node can
//! run it, as upstream's kubelet admit handlers do and in their order: node pressure (the
//! eviction manager's), sysctls, then the scheduler's predicates (OS, resources, node
//! affinity, node name, host ports, NoExecute taints). A rejected pod is never started: its
//! status becomes Failed with the handler's reason and "Pod was rejected: <message>".

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use krs_scheduler::admission::{AdmissionFailure, admission_check};
use krs_scheduler::framework::helpers::find_untolerated_taint;
use krs_scheduler::framework::{NodeInfo, PodInfo};

use crate::runtime::cri::resources::{QosClass, qos_class};

/// Why the agent refuses to run a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: String,
    pub message: String,
}

impl Rejection {
    fn new(reason: impl Into<String>, message: impl Into<String>) -> Rejection {
        Rejection { reason: reason.into(), message: message.into() }
    }
}

/// Priority from which a pod is critical (upstream's SystemCriticalPriority).
const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// Static pods, mirror pods and pods of a system-critical priority: admitted under pressure.
pub fn is_critical(pod: &Pod) -> bool {
    let mirror = pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let priority = pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
    crate::staticpods::is_static(pod) || mirror || priority >= SYSTEM_CRITICAL_PRIORITY
}

/// The eviction manager's admission: under any pressure only critical pods are admitted, except
/// that memory pressure alone still admits pods that are not BestEffort, and BestEffort pods
/// that tolerate the memory-pressure taint. `conditions` are the node's pressure conditions.
pub fn admit_under_pressure(pod: &Pod, conditions: &[&str]) -> Result<(), Rejection> {
    if conditions.is_empty() || is_critical(pod) {
        return Ok(());
    }
    if conditions == ["MemoryPressure"] {
        if qos_class(pod) != QosClass::BestEffort {
            return Ok(());
        }
        let taint = Taint {
            key: "node.kubernetes.io/memory-pressure".into(),
            effect: "NoSchedule".into(),
            value: None,
            time_added: None,
        };
        let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
        if find_untolerated_taint(std::slice::from_ref(&taint), tolerations, |_| true).is_none() {
            return Ok(());
        }
    }
    Err(Rejection::new("Evicted", format!("The node had condition: [{}]. ", conditions.join(" "))))
}

/// The kernel namespace a sysctl lives in; only namespaced sysctls can be set for a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Namespace {
    Ipc,
    Net,
}

impl Namespace {
    fn of(name: &str) -> Option<Namespace> {
        if name == "kernel.sem" {
            return Some(Namespace::Ipc);
        }
        [
            ("kernel.shm", Namespace::Ipc),
            ("kernel.msg", Namespace::Ipc),
            ("fs.mqueue.", Namespace::Ipc),
            ("net.", Namespace::Net),
        ]
        .into_iter()
        .find_map(|(prefix, ns)| name.starts_with(prefix).then_some(ns))
    }

    fn host_flag(self) -> &'static str {
        match self {
            Namespace::Ipc => "ipc",
            Namespace::Net => "net",
        }
    }
}

/// Safe sysctls (namespaced and isolated from other pods) with the kernel that has them.
const SAFE_SYSCTLS: &[(&str, (u32, u32))] = &[
    ("kernel.shm_rmid_forced", (0, 0)),
    ("net.ipv4.ip_local_port_range", (0, 0)),
    ("net.ipv4.tcp_syncookies", (0, 0)),
    ("net.ipv4.ping_group_range", (0, 0)),
    ("net.ipv4.ip_unprivileged_port_start", (0, 0)),
    ("net.ipv4.ip_local_reserved_ports", (3, 16)),
    ("net.ipv4.tcp_keepalive_time", (4, 5)),
    ("net.ipv4.tcp_fin_timeout", (4, 6)),
    ("net.ipv4.tcp_keepalive_intvl", (4, 5)),
    ("net.ipv4.tcp_keepalive_probes", (4, 5)),
    ("net.ipv4.tcp_rmem", (4, 15)),
    ("net.ipv4.tcp_wmem", (4, 15)),
];

/// `a/b.c/d` names use `/` as the separator and `.` inside a component: normalized to dots.
fn dotted(name: &str) -> String {
    match name.find(['.', '/']) {
        Some(i) if name.as_bytes()[i] == b'/' => name
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                c => c,
            })
            .collect(),
        _ => name.to_owned(),
    }
}

/// The sysctls pods may set on this node: the safe ones the kernel has and the unsafe ones the
/// administrator allowed (`--allowed-unsafe-sysctls`, names or `prefix*` patterns).
#[derive(Clone, Debug)]
pub struct SysctlAllowlist {
    exact: Vec<(String, Namespace)>,
    prefixes: Vec<(String, Namespace)>,
}

impl SysctlAllowlist {
    /// `kernel` is the running kernel's release (`uname -r`, e.g. `6.1.0-18-amd64`).
    pub fn new(allowed_unsafe: &[String], kernel: &str) -> Result<SysctlAllowlist, String> {
        let mut numbers = kernel.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u32>().ok());
        let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        let mut list = SysctlAllowlist { exact: Vec::new(), prefixes: Vec::new() };
        for (name, min) in SAFE_SYSCTLS {
            if version >= *min {
                let ns = Namespace::of(name).ok_or_else(|| format!("safe sysctl {name} has no namespace"))?;
                list.exact.push(((*name).to_owned(), ns));
            }
        }
        for pattern in allowed_unsafe.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let valid = pattern.len() <= 253
                && pattern.trim_end_matches('*').chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
                && pattern.matches('*').count() <= usize::from(pattern.ends_with('*'));
            if !valid {
                return Err(format!("sysctl pattern {pattern:?} is not a sysctl name or a prefix ending in *"));
            }
            let pattern = dotted(pattern);
            match pattern.strip_suffix('*') {
                Some(prefix) => {
                    let ns = Namespace::of(prefix)
                        .ok_or_else(|| format!("the sysctls {pattern:?} are not known to be namespaced"))?;
                    list.prefixes.push((prefix.to_owned(), ns));
                }
                None => {
                    let ns = Namespace::of(&pattern)
                        .ok_or_else(|| format!("the sysctl {pattern:?} is not known to be namespaced"))?;
                    list.exact.push((pattern, ns));
                }
            }
        }
        Ok(list)
    }

    fn check(&self, name: &str, host_net: bool, host_ipc: bool) -> Result<(), String> {
        let name = dotted(name);
        let ns = self
            .exact
            .iter()
            .find(|(n, _)| *n == name)
            .or_else(|| self.prefixes.iter().find(|(p, _)| name.starts_with(p.as_str())))
            .map(|(_, ns)| *ns)
            .ok_or_else(|| format!("{name:?} not allowlisted"))?;
        if (ns == Namespace::Ipc && host_ipc) || (ns == Namespace::Net && host_net) {
            return Err(format!("{name:?} not allowed with host {} enabled", ns.host_flag()));
        }
        Ok(())
    }

    /// The sysctl admission: every sysctl of the pod must be allowed.
    pub fn admit(&self, pod: &Pod) -> Result<(), Rejection> {
        let Some(spec) = pod.spec.as_ref() else { return Ok(()) };
        let sysctls = spec.security_context.as_ref().and_then(|s| s.sysctls.as_deref()).unwrap_or_default();
        for s in sysctls {
            self.check(&s.name, spec.host_network == Some(true), spec.host_ipc == Some(true))
                .map_err(|e| Rejection::new("SysctlForbidden", format!("forbidden sysctl: {e}")))?;
        }
        Ok(())
    }
}

/// The predicate admission: the pod must fit `node` next to `others`, the active pods the agent
/// already admitted.
pub fn admit_on_node(pod: &Arc<Pod>, node: &Arc<Node>, others: &[Arc<Pod>]) -> Result<(), Rejection> {
    if let Some(os) = pod.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/os"))
        && os != "linux"
    {
        return Err(Rejection::new(
            "PodOSSelectorNodeLabelDoesNotMatch",
            "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
        ));
    }
    if pod.spec.as_ref().and_then(|s| s.os.as_ref()).is_some_and(|os| os.name != "linux") {
        return Err(Rejection::new("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS"));
    }
    let mut info = NodeInfo::from_node(node.clone());
    for p in others {
        info.add_pod(Arc::new(PodInfo::new(p.clone())));
    }
    let mut failures = admission_check(&PodInfo::new(pod.clone()), &info);
    if !crate::staticpods::is_static(pod) {
        let taints = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or_default();
        let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
        if find_untolerated_taint(taints, tolerations, |t| t.effect == "NoExecute").is_some() {
            failures.push(AdmissionFailure::Predicate {
                plugin: "TaintToleration",
                reason: "node(s) had taints that the pod didn't tolerate",
            });
        }
    }
    // The first failure is the one reported.
    match failures.into_iter().next() {
        None => Ok(()),
        Some(AdmissionFailure::Insufficient(r)) => {
            let message = format!(
                "Node didn't have enough resource: {}, requested: {}, used: {}, capacity: {}",
                r.resource, r.requested, r.used, r.capacity
            );
            Err(Rejection::new(format!("OutOf{}", r.resource), message))
        }
        Some(AdmissionFailure::Predicate { plugin, reason }) => {
            Err(Rejection::new(plugin, format!("Predicate {plugin} failed: {reason}")))
        }
    }
}

/// Whether a failure could be a stale view of the node (labels or taints changed since the
/// agent last read it): then the node is read again and the pod judged once more.
pub fn may_be_stale(r: &Rejection) -> bool {
    matches!(r.reason.as_str(), "NodeAffinity" | "TaintToleration")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON merge patch of objects (enough for these fixtures).
    fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
        match (base, patch) {
            (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
            (b, p) => *b = p.clone(),
        }
    }

    fn pod(v: serde_json::Value) -> Pod {
        let mut base = serde_json::json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u-p"},
            "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "busybox"}]}
        });
        merge(&mut base, &v);
        serde_json::from_value(base).expect("pod")
    }

    fn node(v: serde_json::Value) -> Arc<Node> {
        let mut base = serde_json::json!({
            "metadata": {"name": "n", "labels": {"kubernetes.io/hostname": "n", "zone": "a"}},
            "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "3", "ephemeral-storage": "10Gi"}}
        });
        merge(&mut base, &v);
        Arc::new(serde_json::from_value(base).expect("node"))
    }

    fn with_requests(name: &str, cpu: &str) -> Arc<Pod> {
        Arc::new(pod(serde_json::json!({
            "metadata": {"name": name, "uid": format!("u-{name}")},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}
        })))
    }

    #[test]
    fn pressure_admits_critical_and_burstable_pods_as_upstream() {
        let best_effort = pod(serde_json::json!({}));
        let burstable = (*with_requests("b", "100m")).clone();
        let critical = pod(serde_json::json!({"spec": {"priority": 2_000_001_000}}));
        let tolerant = pod(serde_json::json!({"spec": {"tolerations": [
            {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}
        ]}}));
        assert_eq!(admit_under_pressure(&best_effort, &[]), Ok(()));
        let evicted =
            admit_under_pressure(&best_effort, &["MemoryPressure"]).expect_err("BestEffort under memory pressure");
        assert_eq!(evicted, Rejection::new("Evicted", "The node had condition: [MemoryPressure]. "));
        assert_eq!(admit_under_pressure(&burstable, &["MemoryPressure"]), Ok(()));
        assert_eq!(admit_under_pressure(&tolerant, &["MemoryPressure"]), Ok(()));
        let disk = admit_under_pressure(&burstable, &["MemoryPressure", "DiskPressure"]).expect_err("disk pressure");
        assert_eq!(disk.message, "The node had condition: [MemoryPressure DiskPressure]. ");
        assert_eq!(admit_under_pressure(&critical, &["DiskPressure"]), Ok(()));
    }

    #[test]
    fn sysctls_are_allowlisted_by_safety_namespace_and_kernel() {
        let sysctl_pod = |names: &[&str], host_net: bool| {
            let sysctls: Vec<_> = names.iter().map(|n| serde_json::json!({"name": n, "value": "1"})).collect();
            pod(serde_json::json!({"spec": {"hostNetwork": host_net, "securityContext": {"sysctls": sysctls}}}))
        };
        let safe = SysctlAllowlist::new(&[], "6.1.0-18-amd64").expect("allowlist");
        assert_eq!(safe.admit(&sysctl_pod(&["kernel.shm_rmid_forced", "net/ipv4/tcp_rmem"], false)), Ok(()));
        let unsafe_ = safe.admit(&sysctl_pod(&["kernel.shm_rmid_forced", "kernel.msgmax"], false)).expect_err("unsafe");
        assert_eq!(unsafe_, Rejection::new("SysctlForbidden", "forbidden sysctl: \"kernel.msgmax\" not allowlisted"));
        let host = safe.admit(&sysctl_pod(&["net.ipv4.tcp_syncookies"], true)).expect_err("host network");
        assert_eq!(host.message, "forbidden sysctl: \"net.ipv4.tcp_syncookies\" not allowed with host net enabled");
        // An old kernel lacks the newer safe sysctls.
        let old = SysctlAllowlist::new(&[], "4.4.0").expect("allowlist");
        assert!(old.admit(&sysctl_pod(&["net.ipv4.tcp_rmem"], false)).is_err());
        assert_eq!(old.admit(&sysctl_pod(&["net.ipv4.ping_group_range"], false)), Ok(()));

        let allowed =
            SysctlAllowlist::new(&["kernel.msg*".into(), "net.core.somaxconn".into()], "6.1").expect("allowlist");
        assert_eq!(allowed.admit(&sysctl_pod(&["kernel.msgmax", "net.core.somaxconn"], false)), Ok(()));
        assert!(allowed.admit(&sysctl_pod(&["net.core.rmem_max"], false)).is_err());
        for (bad, says) in [
            ("vm.swappiness", "not known to be namespaced"),
            ("kernel.*", "not known to be namespaced"),
            ("net.*.x", "not a sysctl name"),
        ] {
            let e = SysctlAllowlist::new(&[bad.to_owned()], "6.1").expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert_eq!(dotted("net/ipv4/conf/eno2.100/rp_filter"), "net.ipv4.conf.eno2/100.rp_filter");
    }

    #[test]
    fn predicates_report_the_first_failure_as_upstream() {
        let n = node(serde_json::json!({}));
        let others = vec![with_requests("a", "1500m")];
        assert_eq!(admit_on_node(&with_requests("b", "500m"), &n, &others), Ok(()));
        let out = admit_on_node(&with_requests("b", "600m"), &n, &others).expect_err("out of cpu");
        assert_eq!(
            out,
            Rejection::new(
                "OutOfcpu",
                "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000"
            )
        );
        let three = vec![with_requests("a", "0"), with_requests("b", "0"), with_requests("c", "0")];
        assert_eq!(admit_on_node(&with_requests("d", "0"), &n, &three).expect_err("pods").reason, "OutOfpods");

        let selector = Arc::new(pod(serde_json::json!({"spec": {"nodeSelector": {"zone": "b"}}})));
        let r = admit_on_node(&selector, &n, &[]).expect_err("selector");
        assert_eq!(
            r,
            Rejection::new(
                "NodeAffinity",
                "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
            )
        );
        assert!(may_be_stale(&r));

        let tainted = node(
            serde_json::json!({"spec": {"taints": [{"key": "k", "effect": "NoExecute"}, {"key": "s", "effect": "NoSchedule"}]}}),
        );
        let r = admit_on_node(&Arc::new(pod(serde_json::json!({}))), &tainted, &[]).expect_err("NoExecute taint");
        assert_eq!(r.reason, "TaintToleration");
        let tolerates =
            Arc::new(pod(serde_json::json!({"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}})));
        assert_eq!(admit_on_node(&tolerates, &tainted, &[]), Ok(()), "NoSchedule taints are the scheduler's business");

        let windows = Arc::new(pod(serde_json::json!({"spec": {"os": {"name": "windows"}}})));
        assert_eq!(admit_on_node(&windows, &n, &[]).expect_err("os").reason, "PodOSNotSupported");
        let label = Arc::new(pod(serde_json::json!({"metadata": {"labels": {"kubernetes.io/os": "windows"}}})));
        assert_eq!(admit_on_node(&label, &n, &[]).expect_err("os label").reason, "PodOSSelectorNodeLabelDoesNotMatch");
    }
}
