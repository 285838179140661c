//! The downward API: pod fields and container resources as strings, for environment variables
//! and downwardAPI volume files.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use krs_apimachinery::quantity::Quantity as Q;

/// Addresses the pod fields refer to (the API object may not have them yet).
#[derive(Clone, Debug, Default)]
pub struct Addresses {
    pub host_ips: Vec<String>,
    pub pod_ips: Vec<String>,
}

/// `key="value"` lines, sorted, as upstream writes labels and annotations to files.
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    let mut out = String::new();
    for (k, v) in m.into_iter().flatten() {
        out.push_str(k);
        out.push('=');
        out.push_str(&serde_json::to_string(v).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The value of a fieldRef path.
pub fn field(pod: &Pod, path: &str, addrs: &Addresses) -> Result<String, String> {
    let m = &pod.metadata;
    let spec = pod.spec.as_ref();
    let subscript = |prefix: &str| -> Option<String> {
        let rest = path.strip_prefix(prefix)?.strip_prefix("['")?.strip_suffix("']")?;
        Some(rest.to_owned())
    };
    if let Some(k) = subscript("metadata.labels") {
        return Ok(m.labels.as_ref().and_then(|l| l.get(&k)).cloned().unwrap_or_default());
    }
    if let Some(k) = subscript("metadata.annotations") {
        return Ok(m.annotations.as_ref().and_then(|a| a.get(&k)).cloned().unwrap_or_default());
    }
    Ok(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_default(),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(m.labels.as_ref()),
        "metadata.annotations" => format_map(m.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.hostIP" => addrs.host_ips.first().cloned().unwrap_or_default(),
        "status.hostIPs" => addrs.host_ips.join(","),
        "status.podIP" => addrs.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => addrs.pod_ips.join(","),
        other => return Err(format!("unsupported fieldRef path {other:?}")),
    })
}

fn parse(q: &Quantity) -> Option<Q> {
    Q::parse(&q.0).ok()
}

/// The value of a resourceFieldRef: the container's request or limit (limits default to the
/// node's allocatable), divided by the divisor and rounded up.
pub fn resource(
    c: &Container,
    resource: &str,
    divisor: Option<&Quantity>,
    allocatable: &BTreeMap<String, Quantity>,
) -> Result<String, String> {
    let (kind, name) = resource.split_once('.').ok_or_else(|| format!("unsupported resource {resource:?}"))?;
    let res = c.resources.as_ref();
    let value = match kind {
        "limits" => res
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get(name))
            .or_else(|| allocatable.get(name))
            .and_then(parse),
        "requests" => res.and_then(|r| r.requests.as_ref()).and_then(|r| r.get(name)).and_then(parse),
        _ => return Err(format!("unsupported resource {resource:?}")),
    };
    let value = value.unwrap_or_default();
    let divisor = divisor.and_then(parse).unwrap_or_else(|| Q::new(1, krs_apimachinery::quantity::Format::DecimalSI));
    if name == "cpu" {
        let d = divisor.milli_value().max(1);
        let v = value.milli_value();
        return Ok(((v + d - 1) / d).to_string());
    }
    let d = divisor.value().max(1);
    let v = value.value();
    Ok(((v + d - 1) / d).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_resources() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"b": "2", "a": "1"}, "annotations": {"x": "y\"z"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "sa", "containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"cpu": "250m", "memory": "64Mi", "hugepages-2Mi": "4Mi"}, "requests": {"memory": "32Mi"}}}]}
        }))
        .expect("pod");
        let addrs = Addresses { host_ips: vec!["192.0.2.1".into()], pod_ips: vec!["10.42.0.5".into()] };
        assert_eq!(field(&pod, "metadata.name", &addrs).as_deref(), Ok("p"));
        assert_eq!(field(&pod, "metadata.labels", &addrs).as_deref(), Ok("a=\"1\"\nb=\"2\"\n"));
        assert_eq!(field(&pod, "metadata.annotations['x']", &addrs).as_deref(), Ok("y\"z"));
        assert_eq!(field(&pod, "status.podIP", &addrs).as_deref(), Ok("10.42.0.5"));
        assert_eq!(field(&pod, "spec.nodeName", &addrs).as_deref(), Ok("n1"));
        assert!(field(&pod, "spec.bogus", &addrs).is_err());
        let c = pod.spec.as_ref().map(|s| s.containers[0].clone()).unwrap_or_default();
        let alloc =
            BTreeMap::from([("cpu".to_owned(), Quantity("2".into())), ("memory".to_owned(), Quantity("1Gi".into()))]);
        assert_eq!(resource(&c, "limits.cpu", None, &alloc).as_deref(), Ok("1"));
        assert_eq!(resource(&c, "limits.cpu", Some(&Quantity("1m".into())), &alloc).as_deref(), Ok("250"));
        assert_eq!(resource(&c, "limits.memory", Some(&Quantity("1Mi".into())), &alloc).as_deref(), Ok("64"));
        assert_eq!(resource(&c, "requests.memory", None, &alloc).as_deref(), Ok("33554432"));
        assert_eq!(resource(&c, "limits.hugepages-2Mi", Some(&Quantity("1Mi".into())), &alloc).as_deref(), Ok("4"));
        let mut bare = c.clone();
        bare.resources = None;
        assert_eq!(resource(&bare, "limits.memory", None, &alloc).as_deref(), Ok("1073741824"));
    }
}
