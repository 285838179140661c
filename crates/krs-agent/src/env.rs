//! A container's environment (upstream's makeEnvironmentVariables): service links, envFrom,
//! then env with `$(VAR)` expansion; values from the downward API, ConfigMaps and Secrets.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, Pod, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::apicache::ApiCache;
use crate::downward::{self, Addresses};
use crate::runtime::cri::container::expand;

/// Docker-link style variables of one service.
fn service_vars(s: &Service, out: &mut Vec<(String, String)>) {
    let Some(spec) = s.spec.as_ref() else { return };
    let Some(ip) = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None") else { return };
    let name = s.metadata.name.as_deref().unwrap_or_default().to_uppercase().replace('-', "_");
    let ports = spec.ports.as_deref().unwrap_or_default();
    let Some(first) = ports.first() else { return };
    out.push((format!("{name}_SERVICE_HOST"), ip.to_owned()));
    out.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
    for p in ports {
        if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.push((format!("{name}_SERVICE_PORT_{}", pn.to_uppercase().replace('-', "_")), p.port.to_string()));
        }
    }
    let proto = |p: &k8s_openapi::api::core::v1::ServicePort| p.protocol.clone().unwrap_or_else(|| "TCP".into());
    out.push((format!("{name}_PORT"), format!("{}://{ip}:{}", proto(first).to_lowercase(), first.port)));
    for p in ports {
        let pr = proto(p);
        let prefix = format!("{name}_PORT_{}_{}", p.port, pr.to_uppercase());
        out.push((prefix.clone(), format!("{}://{ip}:{}", pr.to_lowercase(), p.port)));
        out.push((format!("{prefix}_PROTO"), pr.to_lowercase()));
        out.push((format!("{prefix}_PORT"), p.port.to_string()));
        out.push((format!("{prefix}_ADDR"), ip.to_owned()));
    }
}

/// Environment variable names envFrom may introduce (upstream: C identifiers, relaxed since
/// 1.34 to printable ASCII without '='); others are skipped.
fn valid_env_name(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'=')
}

pub struct EnvInputs<'a> {
    pub cache: &'a ApiCache,
    pub addrs: &'a Addresses,
    pub allocatable: &'a BTreeMap<String, Quantity>,
}

pub async fn container_env(pod: &Pod, c: &Container, inputs: &EnvInputs<'_>) -> Result<Vec<(String, String)>, String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let spec = pod.spec.as_ref();
    let mut vars: Vec<(String, String)> = Vec::new();
    // Service links: the namespace's services (unless disabled), and the API server's service.
    let mut services = Vec::new();
    if spec.and_then(|s| s.enable_service_links) != Some(false) {
        services.extend(inputs.cache.services(ns).await?.iter().cloned());
    }
    if (ns != "default" || services.is_empty())
        && let Ok(default) = inputs.cache.services("default").await
    {
        services.extend(default.iter().filter(|s| s.metadata.name.as_deref() == Some("kubernetes")).cloned());
    }
    services.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    services.dedup_by(|a, b| a.metadata.name == b.metadata.name && a.metadata.namespace == b.metadata.namespace);
    for s in &services {
        service_vars(s, &mut vars);
    }
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            let name = r.name.as_str();
            match inputs.cache.configmap(ns, name).await? {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        let key = format!("{prefix}{k}");
                        if valid_env_name(&key) {
                            vars.push((key, v.clone()));
                        }
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(format!("configmap \"{name}\" not found")),
            }
        }
        if let Some(r) = &from.secret_ref {
            let name = r.name.as_str();
            match inputs.cache.secret(ns, name).await? {
                Some(s) => {
                    for (k, v) in s.data.iter().flatten() {
                        let key = format!("{prefix}{k}");
                        if valid_env_name(&key) {
                            vars.push((key, String::from_utf8_lossy(&v.0).into_owned()));
                        }
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(format!("secret \"{name}\" not found")),
            }
        }
    }
    for e in c.env.iter().flatten() {
        let value = if let Some(v) = &e.value {
            let so_far: HashMap<&str, &str> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            expand(v, &so_far)
        } else if let Some(src) = &e.value_from {
            if let Some(f) = &src.field_ref {
                downward::field(pod, &f.field_path, inputs.addrs)?
            } else if let Some(r) = &src.resource_field_ref {
                let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                    Some(n) => spec
                        .and_then(|s| {
                            s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == n)
                        })
                        .ok_or_else(|| format!("container {n:?} not found for resourceFieldRef"))?,
                    None => c,
                };
                downward::resource(target, &r.resource, r.divisor.as_ref(), inputs.allocatable)?
            } else if let Some(r) = &src.config_map_key_ref {
                match inputs.cache.configmap(ns, &r.name).await? {
                    Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => v.clone(),
                        None if r.optional == Some(true) => continue,
                        None => return Err(format!("couldn't find key {} in ConfigMap {ns}/{}", r.key, r.name)),
                    },
                    None if r.optional == Some(true) => continue,
                    None => return Err(format!("configmap \"{}\" not found", r.name)),
                }
            } else if let Some(r) = &src.secret_key_ref {
                match inputs.cache.secret(ns, &r.name).await? {
                    Some(s) => match s.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                        None if r.optional == Some(true) => continue,
                        None => return Err(format!("couldn't find key {} in Secret {ns}/{}", r.key, r.name)),
                    },
                    None if r.optional == Some(true) => continue,
                    None => return Err(format!("secret \"{}\" not found", r.name)),
                }
            } else {
                String::new()
            }
        } else {
            String::new()
        };
        vars.push((e.name.clone(), value));
    }
    // Later definitions win, in the position of the first (as a Go map then ordered list).
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in vars {
        match seen.get(&k) {
            Some(&i) => out[i].1 = v,
            None => {
                seen.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_links() {
        let s: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "my-db"},
            "spec": {"clusterIP": "10.43.0.7", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
        }))
        .expect("service");
        let mut v = Vec::new();
        service_vars(&s, &mut v);
        let m: HashMap<_, _> = v.into_iter().collect();
        assert_eq!(m.get("MY_DB_SERVICE_HOST").map(String::as_str), Some("10.43.0.7"));
        assert_eq!(m.get("MY_DB_SERVICE_PORT").map(String::as_str), Some("5432"));
        assert_eq!(m.get("MY_DB_SERVICE_PORT_PG").map(String::as_str), Some("5432"));
        assert_eq!(m.get("MY_DB_PORT").map(String::as_str), Some("tcp://10.43.0.7:5432"));
        assert_eq!(m.get("MY_DB_PORT_5432_TCP_ADDR").map(String::as_str), Some("10.43.0.7"));
        let headless: Service = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}),
        )
        .expect("service");
        let mut v = Vec::new();
        service_vars(&headless, &mut v);
        assert!(v.is_empty());
        assert!(valid_env_name("A_B") && !valid_env_name("A=B") && !valid_env_name(""));
    }
}
