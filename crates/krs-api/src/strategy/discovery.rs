//! The endpoint slice strategy (upstream's `pkg/registry/discovery/endpointslice` and
//! `pkg/apis/discovery/validation`).

use std::collections::BTreeSet;

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointHints, EndpointPort, EndpointSlice};
use krs_apimachinery::validation::{
    ErrorList, Path, field, is_fully_qualified_domain_name, is_valid_ip_for_legacy_field, is_valid_label_value,
    name_is_dns_subdomain, validate_labels,
};
use krs_kinds::Object;

use crate::strategy::core::service::checks;
use crate::strategy::{Strategy, typed, typed_mut};

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_ENDPOINTS: usize = 1000;
const MAX_ZONE_HINTS: usize = 8;
const MAX_NODE_HINTS: usize = 8;

/// The endpoint slice strategy.
pub struct EndpointSliceStrategy;

/// The endpoint slice strategy.
pub static ENDPOINT_SLICE: EndpointSliceStrategy = EndpointSliceStrategy;

fn addresses(slice: &EndpointSlice) -> Vec<String> {
    slice.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()).collect()
}

fn validate_endpoint(ep: &Endpoint, address_type: &str, old: &[String], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let ap = path.child("addresses");
    if ep.addresses.is_empty() {
        errs.push(field::required(&ap, "must contain at least 1 address"));
    } else if ep.addresses.len() > MAX_ADDRESSES {
        errs.push(field::too_many(&ap, ep.addresses.len() as i64, MAX_ADDRESSES as i64));
    }
    for (i, address) in ep.addresses.iter().enumerate() {
        let p = ap.index(i);
        // Unknown address types are not validated.
        match address_type {
            family @ ("IPv4" | "IPv6") => {
                let ip_errs = is_valid_ip_for_legacy_field(&p, address, false, old);
                if !ip_errs.is_empty() {
                    errs.append(ip_errs);
                    continue;
                }
                let right_family = if family == "IPv4" { checks::is_ipv4(address) } else { checks::is_ipv6(address) };
                if !right_family {
                    // Upstream reports the family mismatch at the list's path.
                    errs.push(field::invalid(&ap, address, format!("must be an {family} address")));
                }
                errs.append(checks::non_special_ip(address, &p));
            }
            "FQDN" => errs.append(is_fully_qualified_domain_name(&p, address)),
            _ => {}
        }
    }
    if let Some(node) = &ep.node_name {
        errs.append(checks::name(name_is_dns_subdomain, node, &path.child("nodeName")));
    }
    if let Some(topology) = &ep.deprecated_topology {
        let tp = path.child("deprecatedTopology");
        if topology.len() > MAX_TOPOLOGY_LABELS {
            errs.push(field::too_many(&tp, topology.len() as i64, MAX_TOPOLOGY_LABELS as i64));
        }
        errs.append(validate_labels(topology, &tp));
    }
    if let Some(hostname) = &ep.hostname {
        errs.append(checks::dns1123_label(hostname, &path.child("hostname")));
    }
    if let Some(hints) = &ep.hints {
        errs.append(validate_hints(hints, &path.child("hints")));
    }
    errs
}

fn validate_hints(hints: &EndpointHints, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let zones: Vec<&str> = hints.for_zones.iter().flatten().map(|z| z.name.as_str()).collect();
    let nodes: Vec<&str> = hints.for_nodes.iter().flatten().map(|n| n.name.as_str()).collect();
    for (names, child, max, label_value) in
        [(zones, "forZones", MAX_ZONE_HINTS, true), (nodes, "forNodes", MAX_NODE_HINTS, false)]
    {
        let p = path.child(child);
        if names.len() > max {
            errs.push(field::too_many(&p, names.len() as i64, max as i64));
            continue;
        }
        let mut seen = BTreeSet::new();
        for (i, name) in names.iter().enumerate() {
            let np = p.index(i).child("name");
            if !seen.insert(*name) {
                errs.push(field::duplicate(&np, *name));
            }
            if label_value {
                errs.append(checks::each(name, &np, is_valid_label_value(name)));
            } else {
                errs.append(checks::name(name_is_dns_subdomain, name, &np));
            }
        }
    }
    errs
}

fn validate_ports(ports: &[EndpointPort], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if ports.len() > MAX_PORTS {
        errs.push(field::too_many(path, ports.len() as i64, MAX_PORTS as i64));
        return errs;
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            errs.append(checks::dns1123_label(name, &p.child("name")));
        }
        if !names.insert(name) {
            errs.push(field::duplicate(&p.child("name"), name));
        }
        match port.protocol.as_deref() {
            None => errs.push(field::required(&p.child("protocol"), "")),
            Some(proto) if !checks::PORT_PROTOCOLS.contains(&proto) => {
                errs.push(field::not_supported(&p.child("protocol"), proto, checks::PORT_PROTOCOLS))
            }
            Some(_) => {}
        }
        if let Some(app) = &port.app_protocol {
            errs.append(checks::qualified_name(app, &p.child("appProtocol")));
        }
    }
    errs
}

/// `ValidateEndpointSlice`; `old` holds the addresses an update may keep.
fn validate(slice: &EndpointSlice, old: &[String]) -> ErrorList {
    let mut errs = ErrorList::new();
    let at = slice.address_type.as_str();
    if at.is_empty() {
        errs.push(field::required(&Path::new("addressType"), ""));
    } else if !ADDRESS_TYPES.contains(&at) {
        errs.push(field::not_supported(&Path::new("addressType"), at, ADDRESS_TYPES));
    }
    let path = Path::new("endpoints");
    if slice.endpoints.len() > MAX_ENDPOINTS {
        errs.push(field::too_many(&path, slice.endpoints.len() as i64, MAX_ENDPOINTS as i64));
    } else {
        for (i, ep) in slice.endpoints.iter().enumerate() {
            errs.append(validate_endpoint(ep, at, old, &path.index(i)));
        }
    }
    errs.append(validate_ports(slice.ports.as_deref().unwrap_or_default(), &Path::new("ports")));
    errs
}

impl Strategy for EndpointSliceStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(slice) = typed_mut::<EndpointSlice>(obj) else {
            return;
        };
        for port in slice.ports.iter_mut().flatten() {
            if port.name.is_none() {
                port.name = Some(String::new());
            }
            if port.protocol.is_none() {
                port.protocol = Some("TCP".to_owned());
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<EndpointSlice>(obj).map(|s| validate(s, &[])).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<EndpointSlice>(new), typed::<EndpointSlice>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate(new, &addresses(old));
        errs.append(checks::immutable(new.address_type.as_str(), old.address_type.as_str(), &Path::new("addressType")));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(address_type: &str, addresses: &[&str]) -> EndpointSlice {
        EndpointSlice {
            address_type: address_type.into(),
            endpoints: vec![Endpoint {
                addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
                ..Default::default()
            }],
            ports: Some(vec![EndpointPort { port: Some(80), ..Default::default() }]),
            ..Default::default()
        }
    }

    #[test]
    fn ports_default_and_addresses_validate() {
        let mut s = slice("IPv4", &["10.0.0.1"]);
        ENDPOINT_SLICE.default(&mut s);
        let port = &s.ports.as_ref().unwrap()[0];
        assert_eq!((port.name.as_deref(), port.protocol.as_deref()), (Some(""), Some("TCP")));
        assert!(ENDPOINT_SLICE.validate(&s).is_empty(), "{}", ENDPOINT_SLICE.validate(&s));
    }

    #[test]
    fn address_type_is_an_enum_and_addresses_must_match_it() {
        let s = slice("IPv5", &["10.0.0.1"]);
        assert!(
            ENDPOINT_SLICE
                .validate(&s)
                .to_string()
                .starts_with(r#"[addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6""#)
        );
        let mut s = slice("IPv6", &["10.0.0.1"]);
        ENDPOINT_SLICE.default(&mut s);
        assert_eq!(
            ENDPOINT_SLICE.validate(&s).to_string(),
            r#"endpoints[0].addresses: Invalid value: "10.0.0.1": must be an IPv6 address"#
        );
        let mut s = slice("IPv4", &[]);
        ENDPOINT_SLICE.default(&mut s);
        assert_eq!(
            ENDPOINT_SLICE.validate(&s).to_string(),
            "endpoints[0].addresses: Required value: must contain at least 1 address"
        );
    }

    #[test]
    fn address_type_is_immutable() {
        let mut old = slice("IPv4", &["10.0.0.1"]);
        ENDPOINT_SLICE.default(&mut old);
        let mut new = slice("FQDN", &["a.example.com"]);
        ENDPOINT_SLICE.default(&mut new);
        assert_eq!(
            ENDPOINT_SLICE.validate_update(&new, &old).to_string(),
            r#"addressType: Invalid value: "FQDN": field is immutable"#
        );
    }
}
