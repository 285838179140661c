//! The pod sandbox's CRI configuration: metadata, hostname, DNS, ports, namespaces, cgroup
//! parent, pod-level security context and sysctls.

use std::collections::HashMap;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::resources::{QosClass, qos_class};
use crate::runtime::DnsSettings;

pub const POD_NAME: &str = "io.kubernetes.pod.name";
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const POD_UID: &str = "io.kubernetes.pod.uid";
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Marks every sandbox and container this agent creates.
pub const MANAGED_BY: &str = "io.krs.managed-by";

pub fn host_network(spec: &PodSpec) -> bool {
    spec.host_network == Some(true)
}

/// The pod's cgroup under the QoS hierarchy, as upstream's cgroupfs layout.
pub fn cgroup_parent(pod: &Pod) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    match qos_class(pod) {
        QosClass::Guaranteed => format!("/kubepods/pod{uid}"),
        QosClass::Burstable => format!("/kubepods/burstable/pod{uid}"),
        QosClass::BestEffort => format!("/kubepods/besteffort/pod{uid}"),
    }
}

/// The pod's hostname: spec.hostname, else the pod name, cut to 63 characters (upstream
/// trims trailing '-' and '.' after cutting).
pub fn hostname(pod: &Pod) -> String {
    let spec = pod.spec.as_ref();
    let name = spec.and_then(|s| s.hostname.clone()).unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    if name.len() <= 63 {
        return name;
    }
    name[..63].trim_end_matches(['-', '.']).to_owned()
}

pub fn labels(pod: &Pod) -> HashMap<String, String> {
    let mut l: HashMap<String, String> =
        pod.metadata.labels.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    l.insert(POD_NAME.into(), pod.metadata.name.clone().unwrap_or_default());
    l.insert(POD_NAMESPACE.into(), pod.metadata.namespace.clone().unwrap_or_default());
    l.insert(POD_UID.into(), pod.metadata.uid.clone().unwrap_or_default());
    l.insert(MANAGED_BY.into(), "krs".into());
    l
}

/// The directory (under the logs root) of a pod's container logs.
pub fn log_directory(root: &std::path::Path, pod: &Pod) -> std::path::PathBuf {
    let m = &pod.metadata;
    root.join(format!(
        "{}_{}_{}",
        m.namespace.as_deref().unwrap_or_default(),
        m.name.as_deref().unwrap_or_default(),
        m.uid.as_deref().unwrap_or_default()
    ))
}

pub fn config(pod: &Pod, attempt: u32, log_root: &std::path::Path, dns: Option<&DnsSettings>) -> cri::PodSandboxConfig {
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let m = &pod.metadata;
    let mut port_mappings = Vec::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let Some(host_port) = p.host_port.filter(|h| *h > 0) else { continue };
            port_mappings.push(cri::PortMapping {
                protocol: protocol(p.protocol.as_deref()) as i32,
                container_port: p.container_port,
                host_port,
                host_ip: p.host_ip.clone().unwrap_or_default(),
            });
        }
    }
    let psc = spec.security_context.clone().unwrap_or_default();
    let namespace_options = cri::NamespaceOption {
        network: if host_network(spec) { cri::NamespaceMode::Node } else { cri::NamespaceMode::Pod } as i32,
        pid: if spec.host_pid == Some(true) {
            cri::NamespaceMode::Node
        } else if spec.share_process_namespace == Some(true) {
            cri::NamespaceMode::Pod
        } else {
            cri::NamespaceMode::Container
        } as i32,
        ipc: if spec.host_ipc == Some(true) { cri::NamespaceMode::Node } else { cri::NamespaceMode::Pod } as i32,
        ..Default::default()
    };
    let mut supplemental: Vec<i64> = psc.supplemental_groups.clone().unwrap_or_default();
    if let Some(g) = psc.fs_group {
        supplemental.push(g);
    }
    let privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
    let sysctls = psc.sysctls.iter().flatten().map(|s| (s.name.clone(), s.value.clone())).collect();
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            attempt,
        }),
        hostname: if host_network(spec) { String::new() } else { hostname(pod) },
        log_directory: log_directory(log_root, pod).to_string_lossy().into_owned(),
        dns_config: dns.map(|d| cri::DnsConfig {
            servers: d.servers.clone(),
            searches: d.searches.clone(),
            options: d.options.clone(),
        }),
        port_mappings,
        labels: labels(pod),
        annotations: m.annotations.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect(),
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent(pod),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options),
                run_as_user: psc.run_as_user.map(|value| cri::Int64Value { value }),
                run_as_group: psc.run_as_group.map(|value| cri::Int64Value { value }),
                supplemental_groups: supplemental,
                privileged,
                seccomp: Some(cri::SecurityProfile {
                    profile_type: cri::security_profile::ProfileType::RuntimeDefault as i32,
                    localhost_ref: String::new(),
                }),
                ..Default::default()
            }),
            sysctls,
            ..Default::default()
        }),
        windows: None,
    }
}

pub fn protocol(p: Option<&str>) -> cri::Protocol {
    match p {
        Some("UDP") => cri::Protocol::Udp,
        Some("SCTP") => cri::Protocol::Sctp,
        _ => cri::Protocol::Tcp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_of_a_pod() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}],
                "securityContext": {"fsGroup": 2000, "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]}
            }
        }))
        .expect("pod");
        let dns = DnsSettings { servers: vec!["10.43.0.10".into()], ..Default::default() };
        let c = config(&pod, 1, std::path::Path::new("/logs"), Some(&dns));
        assert_eq!(c.metadata.as_ref().map(|m| m.attempt), Some(1));
        assert_eq!(c.hostname, "web");
        assert_eq!(c.log_directory, "/logs/ns_web_u-1");
        assert_eq!(c.labels.get(POD_UID).map(String::as_str), Some("u-1"));
        assert_eq!(c.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(c.port_mappings.len(), 1);
        assert_eq!(c.port_mappings[0].host_port, 8080);
        let linux = c.linux.unwrap_or_default();
        assert_eq!(linux.cgroup_parent, "/kubepods/besteffort/podu-1");
        assert_eq!(linux.sysctls.get("net.ipv4.ip_unprivileged_port_start").map(String::as_str), Some("0"));
        let sc = linux.security_context.unwrap_or_default();
        assert_eq!(sc.supplemental_groups, vec![2000]);
        assert_eq!(c.dns_config.map(|d| d.servers), Some(vec!["10.43.0.10".to_owned()]));
    }

    #[test]
    fn long_hostnames_are_cut() {
        let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
        let pod =
            Pod { metadata: kube::api::ObjectMeta { name: Some(long), ..Default::default() }, ..Default::default() };
        assert_eq!(hostname(&pod), "a".repeat(62));
    }
}
