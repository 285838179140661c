//! The pod's /etc/hosts, managed by the kubelet: localhost entries, the pod's own name on its
//! IP, and spec.hostAliases.

use std::path::Path;

use k8s_openapi::api::core::v1::Pod;

pub fn content(pod: &Pod, pod_ips: &[String], cluster_domain: &str) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    let spec = pod.spec.as_ref();
    let hostname = crate::runtime::cri::sandbox::hostname(pod);
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    for ip in pod_ips {
        match spec.and_then(|s| s.subdomain.as_deref()).filter(|d| !d.is_empty()) {
            Some(sub) => s.push_str(&format!("{ip}\t{hostname}.{sub}.{ns}.svc.{cluster_domain}\t{hostname}\n")),
            None => s.push_str(&format!("{ip}\t{hostname}\n")),
        }
    }
    let aliases = spec.and_then(|s| s.host_aliases.as_ref());
    if aliases.is_some_and(|a| !a.is_empty()) {
        s.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases.into_iter().flatten() {
            s.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.clone().unwrap_or_default().join("\t")));
        }
    }
    s
}

/// Writes the file if its content changed (containers see updates through the bind mount).
pub fn write(path: &Path, pod: &Pod, pod_ips: &[String], cluster_domain: &str) -> std::io::Result<()> {
    let text = content(pod, pod_ips, cluster_domain);
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"containers": [], "subdomain": "svc", "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["a", "b"]}]}
        }))
        .expect("pod");
        let c = content(&pod, &["10.42.0.9".into()], "cluster.local");
        assert!(c.contains("127.0.0.1\tlocalhost\n"));
        assert!(c.contains("10.42.0.9\tweb.svc.ns.svc.cluster.local\tweb\n"));
        assert!(c.contains("1.2.3.4\ta\tb\n"));
    }
}
