//! A pod's DNS configuration from its dnsPolicy and dnsConfig (upstream's dns configurer).

use k8s_openapi::api::core::v1::Pod;

use crate::runtime::DnsSettings;

/// The host's resolver configuration.
pub fn parse_resolv_conf(text: &str) -> DnsSettings {
    let mut d = DnsSettings::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => d.servers.extend(words.next().map(str::to_owned)),
            Some("search") | Some("domain") => d.searches = words.map(str::to_owned).collect(),
            Some("options") => d.options.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    d
}

pub fn host_resolv_conf() -> DnsSettings {
    // systemd-resolved's stub (127.0.0.53) is unreachable from pods; its upstream file is not.
    let candidates = ["/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"];
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(path) {
            return parse_resolv_conf(&text);
        }
    }
    DnsSettings::default()
}

pub struct ClusterDns<'a> {
    pub servers: &'a [String],
    pub domain: &'a str,
    pub host: &'a DnsSettings,
}

pub fn for_pod(pod: &Pod, cluster: &ClusterDns<'_>) -> DnsSettings {
    let spec = pod.spec.as_ref();
    let host_network = spec.and_then(|s| s.host_network) == Some(true);
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let policy = spec.and_then(|s| s.dns_policy.as_deref()).unwrap_or("ClusterFirst");
    let cluster_first = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let mut d = match policy {
        "None" => DnsSettings::default(),
        _ if cluster_first && !cluster.servers.is_empty() => {
            let domain = cluster.domain;
            let mut searches = vec![format!("{ns}.svc.{domain}"), format!("svc.{domain}"), domain.to_owned()];
            searches.extend(cluster.host.searches.iter().cloned());
            DnsSettings { servers: cluster.servers.to_vec(), searches, options: vec!["ndots:5".to_owned()] }
        }
        // Default, or ClusterFirst without cluster DNS (upstream falls back the same way).
        _ => cluster.host.clone(),
    };
    if let Some(cfg) = spec.and_then(|s| s.dns_config.as_ref()) {
        for s in cfg.nameservers.iter().flatten() {
            if !d.servers.contains(s) {
                d.servers.push(s.clone());
            }
        }
        for s in cfg.searches.iter().flatten() {
            if !d.searches.contains(s) {
                d.searches.push(s.clone());
            }
        }
        for o in cfg.options.iter().flatten() {
            let opt = match &o.value {
                Some(v) => format!("{}:{v}", o.name.as_deref().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            let key = opt.split(':').next().unwrap_or_default().to_owned();
            d.options.retain(|x| x.split(':').next() != Some(key.as_str()));
            d.options.push(opt);
        }
    }
    d.servers.truncate(3);
    d.searches.truncate(32);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let host = parse_resolv_conf("nameserver 10.0.0.2\nsearch corp.example\noptions timeout:2 # c\n");
        assert_eq!(host.servers, vec!["10.0.0.2"]);
        assert_eq!(host.searches, vec!["corp.example"]);
        assert_eq!(host.options, vec!["timeout:2"]);
        let pod = |policy: &str, host_net: bool| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "p", "namespace": "ns"},
                "spec": {"containers": [], "dnsPolicy": policy, "hostNetwork": host_net,
                         "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]}}
            }))
            .expect("pod")
        };
        let servers = vec!["10.43.0.10".to_owned()];
        let c = ClusterDns { servers: &servers, domain: "cluster.local", host: &host };
        let d = for_pod(&pod("ClusterFirst", false), &c);
        assert_eq!(d.servers, servers);
        assert_eq!(d.searches[0], "ns.svc.cluster.local");
        assert_eq!(d.options, vec!["ndots:2"], "dnsConfig options replace same-named ones");
        let d = for_pod(&pod("ClusterFirst", true), &c);
        assert_eq!(d.servers, vec!["10.0.0.2"], "host network pods use the host's resolver");
        let none = ClusterDns { servers: &[], domain: "cluster.local", host: &host };
        assert_eq!(for_pod(&pod("ClusterFirst", false), &none).servers, vec!["10.0.0.2"]);
    }
}
