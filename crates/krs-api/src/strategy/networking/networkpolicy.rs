//! Network policy defaults and validation (upstream's `SetDefaults_NetworkPolicy*` and
//! `ValidateNetworkPolicy*`).

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{
    ErrorList, LabelSelectorValidationOptions, Path, field, is_valid_cidr_for_legacy_field, is_valid_port_name,
    is_valid_port_num, validate_label_selector,
};

use super::cidr::Net;
use crate::strategy::core::service::checks::{self, bad_value};

const POLICY_TYPES: &[&str] = &["Ingress", "Egress"];

/// Ports default to TCP; a policy without types is an ingress policy, and an egress one too
/// when it has egress rules.
pub(super) fn set_defaults(np: &mut NetworkPolicy) {
    let spec = np.spec.get_or_insert_with(Default::default);
    let ports = spec
        .ingress
        .iter_mut()
        .flatten()
        .flat_map(|r| r.ports.iter_mut().flatten())
        .chain(spec.egress.iter_mut().flatten().flat_map(|r| r.ports.iter_mut().flatten()));
    for port in ports {
        if port.protocol.is_none() {
            port.protocol = Some("TCP".to_owned());
        }
    }
    if spec.policy_types.as_ref().is_none_or(|t| t.is_empty()) {
        let mut types = vec!["Ingress".to_owned()];
        if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
            types.push("Egress".to_owned());
        }
        spec.policy_types = Some(types);
    }
}

fn validate_port(port: &NetworkPolicyPort, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(proto) = port.protocol.as_deref()
        && !checks::PORT_PROTOCOLS.contains(&proto)
    {
        errs.push(field::not_supported(&path.child("protocol"), proto, &["TCP", "UDP", "SCTP"]));
    }
    let ep = path.child("endPort");
    match &port.port {
        Some(IntOrString::Int(p)) => {
            for msg in is_valid_port_num(i64::from(*p)) {
                errs.push(field::invalid(&path.child("port"), *p, msg));
            }
            if let Some(end) = port.end_port {
                if end < *p {
                    errs.push(field::invalid(&ep, end, "must be greater than or equal to `port`"));
                }
                for msg in is_valid_port_num(i64::from(end)) {
                    errs.push(field::invalid(&ep, end, msg));
                }
            }
        }
        Some(IntOrString::String(name)) => {
            if let Some(end) = port.end_port {
                errs.push(field::invalid(&ep, end, "may not be specified when `port` is non-numeric"));
            }
            errs.append(checks::each(name, &path.child("port"), is_valid_port_name(name)));
        }
        None => {
            if let Some(end) = port.end_port {
                errs.push(field::invalid(&ep, end, "may not be specified when `port` is not specified"));
            }
        }
    }
    errs
}

/// `ValidateIPBlock`: CIDRs stored before stricter checks stay valid.
fn validate_ip_block(block: &IPBlock, old_cidrs: &[String], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if block.cidr.is_empty() {
        errs.push(field::required(&path.child("cidr"), ""));
        return errs;
    }
    errs.append(is_valid_cidr_for_legacy_field(&path.child("cidr"), &block.cidr, false, old_cidrs));
    let Some(cidr) = Net::parse(&block.cidr) else {
        return errs;
    };
    for (i, except) in block.except.iter().flatten().enumerate() {
        let p = path.child("except").index(i);
        errs.append(is_valid_cidr_for_legacy_field(&p, except, false, old_cidrs));
        if let Some(ex) = Net::parse(except)
            && !cidr.strictly_contains(&ex)
        {
            errs.push(field::invalid(&p, except, "must be a strict subset of `cidr`"));
        }
    }
    errs
}

fn validate_peer(
    peer: &NetworkPolicyPeer,
    opts: LabelSelectorValidationOptions,
    old_cidrs: &[String],
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut peers = 0;
    if let Some(s) = &peer.pod_selector {
        peers += 1;
        errs.append(validate_label_selector(Some(s), opts, &path.child("podSelector")));
    }
    if let Some(s) = &peer.namespace_selector {
        peers += 1;
        errs.append(validate_label_selector(Some(s), opts, &path.child("namespaceSelector")));
    }
    if let Some(b) = &peer.ip_block {
        peers += 1;
        errs.append(validate_ip_block(b, old_cidrs, &path.child("ipBlock")));
    }
    if peers == 0 {
        errs.push(field::required(path, "must specify a peer"));
    } else if peers > 1 && peer.ip_block.is_some() {
        errs.push(field::forbidden(path, "may not specify both ipBlock and another peer"));
    }
    errs
}

/// The CIDRs of a policy's IP blocks.
fn cidrs(np: &NetworkPolicy) -> Vec<String> {
    let spec = np.spec.clone().unwrap_or_default();
    let peers = spec
        .ingress
        .iter()
        .flatten()
        .flat_map(|r| r.from.iter().flatten())
        .chain(spec.egress.iter().flatten().flat_map(|r| r.to.iter().flatten()));
    let mut out = Vec::new();
    for block in peers.filter_map(|p| p.ip_block.as_ref()) {
        out.push(block.cidr.clone());
        out.extend(block.except.iter().flatten().cloned());
    }
    out
}

/// `ValidateNetworkPolicySpec`; for an update, `old` relaxes checks for values it had.
pub(super) fn validate(np: &NetworkPolicy, old: Option<&NetworkPolicy>) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = np.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    let mut opts = LabelSelectorValidationOptions::default();
    if let Some(old) = old {
        let old_selector = old.spec.as_ref().and_then(|s| s.pod_selector.as_ref());
        opts.allow_invalid_label_value_in_selector =
            !validate_label_selector(old_selector, LabelSelectorValidationOptions::default(), &Path::default())
                .is_empty();
    }
    let old_cidrs = old.map(cidrs).unwrap_or_default();
    errs.append(validate_label_selector(spec.pod_selector.as_ref(), opts, &path.child("podSelector")));
    for (i, rule) in spec.ingress.iter().flatten().enumerate() {
        let rp = path.child("ingress").index(i);
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            errs.append(validate_port(port, &rp.child("ports").index(j)));
        }
        for (j, peer) in rule.from.iter().flatten().enumerate() {
            errs.append(validate_peer(peer, opts, &old_cidrs, &rp.child("from").index(j)));
        }
    }
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        let rp = path.child("egress").index(i);
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            errs.append(validate_port(port, &rp.child("ports").index(j)));
        }
        for (j, peer) in rule.to.iter().flatten().enumerate() {
            errs.append(validate_peer(peer, opts, &old_cidrs, &rp.child("to").index(j)));
        }
    }
    let types = spec.policy_types.as_deref().unwrap_or_default();
    if types.len() > POLICY_TYPES.len() {
        errs.push(field::invalid(
            &path.child("policyTypes"),
            bad_value(types),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        if !POLICY_TYPES.contains(&t.as_str()) {
            errs.push(field::not_supported(&path.child("policyTypes").index(i), t, POLICY_TYPES));
        }
    }
    errs
}
