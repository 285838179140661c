//! The endpoints strategy (upstream's `pkg/registry/core/endpoint` and `ValidateEndpoints*`).

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, Endpoints};
use krs_apimachinery::validation::{
    ErrorList, Path, field, get_warnings_for_ip, is_valid_ip_for_legacy_field, is_valid_port_num, name_is_dns_subdomain,
};
use krs_kinds::Object;

use super::service::checks;
use crate::strategy::{Strategy, typed, typed_mut};

/// The endpoints strategy.
pub struct EndpointsStrategy;

/// The endpoints strategy.
pub static ENDPOINTS: EndpointsStrategy = EndpointsStrategy;

/// The IPs of an object, which an update may keep even if newer rules reject them.
fn ips(ep: &Endpoints) -> Vec<String> {
    ep.subsets
        .iter()
        .flatten()
        .flat_map(|ss| ss.addresses.iter().flatten().chain(ss.not_ready_addresses.iter().flatten()))
        .map(|a| a.ip.clone())
        .collect()
}

fn validate_address(address: &EndpointAddress, old_ips: &[String], path: &Path) -> ErrorList {
    let ip_path = path.child("ip");
    let mut errs = is_valid_ip_for_legacy_field(&ip_path, &address.ip, false, old_ips);
    if let Some(hostname) = address.hostname.as_deref().filter(|h| !h.is_empty()) {
        errs.append(checks::dns1123_label(hostname, &path.child("hostname")));
    }
    if let Some(node) = &address.node_name {
        errs.append(checks::name(name_is_dns_subdomain, node, &path.child("nodeName")).with_origin("format=dns-label"));
    }
    errs.append(checks::non_special_ip(&address.ip, &ip_path));
    errs
}

fn validate_port(port: &EndpointPort, require_name: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = port.name.as_deref().unwrap_or_default();
    if require_name && name.is_empty() {
        errs.push(field::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        errs.append(checks::dns1123_label(name, &path.child("name")));
    }
    for msg in is_valid_port_num(i64::from(port.port)) {
        errs.push(field::invalid(&path.child("port"), port.port, msg).with_origin("portNum"));
    }
    errs.append(checks::protocol(port.protocol.as_deref(), &path.child("protocol")));
    if let Some(app_protocol) = &port.app_protocol {
        errs.append(checks::qualified_name(app_protocol, &path.child("appProtocol")));
    }
    errs
}

/// `ValidateEndpoints`: every subset has addresses, valid IPs and ports.
fn validate_endpoints(ep: &Endpoints, old_ips: &[String]) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, ss) in ep.subsets.iter().flatten().enumerate() {
        let path = Path::new("subsets").index(i);
        let addresses = ss.addresses.as_deref().unwrap_or_default();
        let not_ready = ss.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            errs.push(field::required(&path, "must specify `addresses` or `notReadyAddresses`"));
        }
        for (j, a) in addresses.iter().enumerate() {
            errs.append(validate_address(a, old_ips, &path.child("addresses").index(j)));
        }
        for (j, a) in not_ready.iter().enumerate() {
            errs.append(validate_address(a, old_ips, &path.child("notReadyAddresses").index(j)));
        }
        let ports = ss.ports.as_deref().unwrap_or_default();
        for (j, p) in ports.iter().enumerate() {
            errs.append(validate_port(p, ports.len() > 1, &path.child("ports").index(j)));
        }
    }
    errs
}

/// Warnings for IPs in non-standard forms, unless the endpoints controller wrote them (it
/// normalizes its output).
fn warnings(ep: &Endpoints) -> Vec<String> {
    let managed_by =
        ep.metadata.labels.as_ref().and_then(|l| l.get("endpointslice.kubernetes.io/managed-by")).map(String::as_str);
    if managed_by == Some("endpoint-controller") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, ss) in ep.subsets.iter().flatten().enumerate() {
        let path = Path::new("subsets").index(i);
        for (list, name) in [(&ss.addresses, "addresses"), (&ss.not_ready_addresses, "notReadyAddresses")] {
            for (j, a) in list.iter().flatten().enumerate() {
                out.extend(get_warnings_for_ip(&path.child(name).index(j).child("ip"), &a.ip));
            }
        }
    }
    out
}

impl Strategy for EndpointsStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut dyn Object) {
        let Some(ep) = typed_mut::<Endpoints>(obj) else {
            return;
        };
        for port in ep.subsets.iter_mut().flatten().flat_map(|ss| ss.ports.iter_mut().flatten()) {
            if port.protocol.as_deref().unwrap_or_default().is_empty() {
                port.protocol = Some("TCP".to_owned());
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Endpoints>(obj).map(|ep| validate_endpoints(ep, &[])).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<Endpoints>(new), typed::<Endpoints>(old)) {
            (Some(new), Some(old)) => validate_endpoints(new, &ips(old)),
            _ => ErrorList::new(),
        }
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<Endpoints>(obj).map(warnings).unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, _old: &dyn Object) -> Vec<String> {
        typed::<Endpoints>(new).map(warnings).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::EndpointSubset;

    use super::*;

    fn endpoints(ips: &[&str], ports: Vec<EndpointPort>) -> Endpoints {
        Endpoints {
            subsets: Some(vec![EndpointSubset {
                addresses: Some(
                    ips.iter().map(|ip| EndpointAddress { ip: (*ip).to_owned(), ..Default::default() }).collect(),
                ),
                ports: Some(ports),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn port_protocol_defaults_to_tcp() {
        let mut ep = endpoints(&["10.1.2.3"], vec![EndpointPort { port: 80, ..Default::default() }]);
        ENDPOINTS.default(&mut ep);
        assert!(ENDPOINTS.validate(&ep).is_empty(), "{}", ENDPOINTS.validate(&ep));
        assert_eq!(ep.subsets.unwrap()[0].ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
    }

    #[test]
    fn subsets_need_addresses_and_valid_ips() {
        let ep = Endpoints { subsets: Some(vec![EndpointSubset::default()]), ..Default::default() };
        assert_eq!(
            ENDPOINTS.validate(&ep).to_string(),
            "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"
        );
        let ep = endpoints(&["127.0.0.1"], vec![]);
        assert_eq!(
            ENDPOINTS.validate(&ep).to_string(),
            r#"subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#
        );
    }

    #[test]
    fn several_ports_need_names() {
        let mut ep = endpoints(
            &["10.1.2.3"],
            vec![EndpointPort { port: 80, ..Default::default() }, EndpointPort { port: 81, ..Default::default() }],
        );
        ENDPOINTS.default(&mut ep);
        assert_eq!(
            ENDPOINTS.validate(&ep).to_string(),
            "[subsets[0].ports[0].name: Required value, subsets[0].ports[1].name: Required value]"
        );
    }
}
