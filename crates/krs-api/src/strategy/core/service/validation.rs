//! Service validation (upstream's `ValidateService`, `ValidateServiceUpdate` and
//! `ValidateServiceStatusUpdate`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use krs_apimachinery::validation::{
    ErrorList, Path, field, is_dns1123_subdomain, is_valid_cidr, is_valid_ip, is_valid_port_num, validate_labels,
};

use super::checks::{self, bad_value};
use super::{
    CLUSTER_IP_NONE, TYPE_CLUSTER_IP, TYPE_EXTERNAL_NAME, TYPE_LOAD_BALANCER, TYPE_NODE_PORT, externally_accessible,
    is_headless, needs_health_check,
};

const SERVICE_TYPES: &[&str] = &[TYPE_CLUSTER_IP, TYPE_EXTERNAL_NAME, TYPE_LOAD_BALANCER, TYPE_NODE_PORT];
const SESSION_AFFINITIES: &[&str] = &["ClientIP", "None"];
const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];
const IP_FAMILIES: &[&str] = &["IPv4", "IPv6"];
const IP_FAMILY_POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
const TRAFFIC_DISTRIBUTIONS: &[&str] = &["PreferClose", "PreferSameZone", "PreferSameNode"];
const LOAD_BALANCER_IP_MODES: &[&str] = &["Proxy", "VIP"];
const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;
const ANNOTATION_SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
const ANNOTATION_TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";
const ANNOTATION_TOPOLOGY_HINTS: &str = "service.kubernetes.io/topology-aware-hints";

fn spec_path() -> Path {
    Path::new("spec")
}

/// A new or updated service (`ValidateService`).
pub(super) fn validate_service(svc: &Service) -> ErrorList {
    let mut errs = ErrorList::new();
    let empty = ServiceSpec::default();
    let spec = svc.spec.as_ref().unwrap_or(&empty);
    let sp = spec_path();
    let annotations = svc.metadata.annotations.as_ref();

    let hints = annotations.and_then(|a| a.get(ANNOTATION_TOPOLOGY_HINTS));
    let mode = annotations.and_then(|a| a.get(ANNOTATION_TOPOLOGY_MODE));
    if let (Some(hints), Some(mode)) = (hints, mode)
        && hints != mode
    {
        errs.push(field::invalid(
            &Path::new("metadata").child("annotations").key(ANNOTATION_TOPOLOGY_MODE),
            mode,
            format!("must match annotations[{ANNOTATION_TOPOLOGY_HINTS}] when both are specified"),
        ));
    }

    let ports: &[ServicePort] = spec.ports.as_deref().unwrap_or_default();
    let headless = is_headless(spec);
    let ty = spec.type_.as_deref().unwrap_or_default();
    let cluster_ips = spec.cluster_ips.as_deref().unwrap_or_default();
    if ports.is_empty() && !headless && ty != TYPE_EXTERNAL_NAME {
        errs.push(field::required(&sp.child("ports"), ""));
    }
    match ty {
        TYPE_LOAD_BALANCER | TYPE_NODE_PORT if headless => {
            errs.push(field::invalid(
                &sp.child("clusterIPs").index(0),
                cluster_ips[0].as_str(),
                format!("may not be set to 'None' for {ty} services"),
            ));
        }
        TYPE_EXTERNAL_NAME => {
            if !cluster_ips.is_empty() {
                errs.push(field::forbidden(&sp.child("clusterIPs"), "may not be set for ExternalName services"));
            }
            if spec.ip_families.as_ref().is_some_and(|f| !f.is_empty()) {
                errs.push(field::forbidden(&sp.child("ipFamilies"), "may not be set for ExternalName services"));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(field::forbidden(&sp.child("ipFamilyPolicy"), "may not be set for ExternalName services"));
            }
            // A CNAME may end with a dot to mark it fully qualified.
            let external_name = spec.external_name.as_deref().unwrap_or_default();
            let cname = external_name.strip_suffix('.').unwrap_or(external_name);
            if cname.is_empty() {
                errs.push(field::required(&sp.child("externalName"), ""));
            } else {
                errs.append(checks::dns1123_subdomain(cname, &sp.child("externalName")));
            }
        }
        _ => {}
    }

    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.append(validate_port(port, ports.len() > 1, &mut names, &sp.child("ports").index(i)));
    }

    if let Some(selector) = &spec.selector {
        errs.append(validate_labels(selector, &sp.child("selector")));
    }

    match spec.session_affinity.as_deref().unwrap_or_default() {
        "" => errs.push(field::required(&sp.child("sessionAffinity"), "")),
        "ClientIP" => errs.append(validate_client_ip_affinity(spec, &sp.child("sessionAffinityConfig"))),
        "None" => {
            if spec.session_affinity_config.is_some() {
                errs.push(field::forbidden(
                    &sp.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(field::not_supported(&sp.child("sessionAffinity"), other, SESSION_AFFINITIES)),
    }

    errs.append(validate_cluster_ips_related_fields(spec));

    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let path = sp.child("externalIPs").index(i);
        let ip_errs = is_valid_ip(&path, ip);
        if ip_errs.is_empty() {
            errs.append(checks::non_special_ip(ip, &path));
        } else {
            errs.append(ip_errs);
        }
    }

    if ty.is_empty() {
        errs.push(field::required(&sp.child("type"), ""));
    } else if !SERVICE_TYPES.contains(&ty) {
        errs.push(field::not_supported(&sp.child("type"), ty, SERVICE_TYPES));
    }

    if ty == TYPE_CLUSTER_IP {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.unwrap_or(0) != 0 {
                errs.push(field::forbidden(
                    &sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }

    // Node ports and ports are unique per protocol.
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = port.node_port.unwrap_or(0);
        if node_port != 0 && !node_ports.insert((port.protocol.clone(), node_port)) {
            errs.push(field::duplicate(&sp.child("ports").index(i).child("nodePort"), node_port));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        if !seen.insert((port.protocol.clone(), port.port)) {
            // Upstream shows the (protocol, port) key as an internal ServicePort.
            let key = checks::go_struct(&[
                ("Name", checks::go_json("")),
                ("Protocol", checks::go_json(port.protocol.as_deref().unwrap_or_default())),
                ("AppProtocol", "null".to_owned()),
                ("Port", port.port.to_string()),
                ("TargetPort", "0".to_owned()),
                ("NodePort", "0".to_owned()),
            ]);
            errs.push(field::duplicate(&sp.child("ports").index(i), key));
        }
    }

    let source_ranges = spec.load_balancer_source_ranges.as_deref().unwrap_or_default();
    if !source_ranges.is_empty() {
        // Upstream's path has a capital L here.
        let path = sp.child("LoadBalancerSourceRanges");
        if ty != TYPE_LOAD_BALANCER {
            errs.push(field::forbidden(&path, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, range) in source_ranges.iter().enumerate() {
            // Space-padded values were accepted when they came from the annotation.
            errs.append(is_valid_cidr(&path.index(i), range.trim()));
        }
    } else if let Some(value) = annotations.and_then(|a| a.get(ANNOTATION_SOURCE_RANGES)) {
        let path = Path::new("metadata").child("annotations").key(ANNOTATION_SOURCE_RANGES);
        if ty != TYPE_LOAD_BALANCER {
            errs.push(field::forbidden(&path, "may only be used when `type` is 'LoadBalancer'"));
        }
        let value = value.trim();
        if !value.is_empty() {
            for cidr in value.split(',') {
                errs.append(is_valid_cidr(&path, cidr.trim()));
            }
        }
    }

    if spec.allocate_load_balancer_node_ports.is_some() && ty != TYPE_LOAD_BALANCER {
        errs.push(field::forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == TYPE_LOAD_BALANCER && spec.allocate_load_balancer_node_ports.is_none() {
        // Upstream reports this one without the `spec.` prefix.
        errs.push(field::required(&Path::new("allocateLoadBalancerNodePorts"), ""));
    }

    errs.append(validate_load_balancer_class(None, spec));
    errs.append(validate_external_traffic_policy(spec));
    errs.append(validate_internal_traffic_policy(spec));
    if let Some(td) = spec.traffic_distribution.as_deref()
        && !TRAFFIC_DISTRIBUTIONS.contains(&td)
    {
        errs.push(field::not_supported(&sp.child("trafficDistribution"), td, TRAFFIC_DISTRIBUTIONS));
    }
    errs
}

fn validate_port(port: &ServicePort, require_name: bool, names: &mut BTreeSet<String>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = port.name.as_deref().unwrap_or_default();
    if require_name && name.is_empty() {
        errs.push(field::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        errs.append(checks::dns1123_label(name, &path.child("name")));
        if !names.insert(name.to_owned()) {
            errs.push(field::duplicate(&path.child("name"), name));
        }
    }
    for msg in is_valid_port_num(i64::from(port.port)) {
        errs.push(field::invalid(&path.child("port"), port.port, msg));
    }
    errs.append(checks::protocol(port.protocol.as_deref(), &path.child("protocol")));
    if let Some(target) = &port.target_port {
        errs.append(checks::port_num_or_name(target, &path.child("targetPort")));
    }
    if let Some(app_protocol) = &port.app_protocol {
        errs.append(checks::qualified_name(app_protocol, &path.child("appProtocol")));
    }
    errs
}

fn validate_client_ip_affinity(spec: &ServiceSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let detail = "when session affinity type is ClientIP";
    let Some(config) = &spec.session_affinity_config else {
        errs.push(field::required(path, detail));
        return errs;
    };
    let Some(client_ip) = &config.client_ip else {
        errs.push(field::required(&path.child("clientIP"), detail));
        return errs;
    };
    let timeout_path = path.child("clientIP").child("timeoutSeconds");
    match client_ip.timeout_seconds {
        None => errs.push(field::required(&timeout_path, detail)),
        Some(t) if t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS => errs.push(field::invalid(
            &timeout_path,
            t,
            format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"),
        )),
        Some(_) => {}
    }
    errs
}

/// `clusterIP`, `clusterIPs`, `ipFamilies` and `ipFamilyPolicy` on their own and together
/// (`ValidateServiceClusterIPsRelatedFields`).
pub(super) fn validate_cluster_ips_related_fields(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.type_.as_deref() == Some(TYPE_EXTERNAL_NAME) {
        return errs;
    }
    let sp = spec_path();
    let ips_path = sp.child("clusterIPs");
    let cluster_ip = spec.cluster_ip.as_deref().unwrap_or_default();
    let ips: &[String] = spec.cluster_ips.as_deref().unwrap_or_default();
    let families: &[String] = spec.ip_families.as_deref().unwrap_or_default();

    if !cluster_ip.is_empty() {
        match ips.first() {
            None => errs.push(field::required(&ips_path, "")),
            Some(first) if first != cluster_ip => {
                errs.push(field::invalid(&ips_path, bad_value(ips), "first value must match `clusterIP`"))
            }
            Some(_) => {}
        }
    } else if !ips.is_empty() {
        errs.push(field::invalid(&ips_path, bad_value(ips), "must be empty when `clusterIP` is not specified"));
    }

    let mut seen = BTreeSet::new();
    for (i, family) in families.iter().enumerate() {
        let path = sp.child("ipFamilies").index(i);
        if !IP_FAMILIES.contains(&family.as_str()) {
            errs.push(field::not_supported(&path, family, IP_FAMILIES));
        }
        if !seen.insert(family.as_str()) {
            errs.push(field::duplicate(&path, family));
        }
    }

    if let Some(policy) = spec.ip_family_policy.as_deref()
        && !IP_FAMILY_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(&sp.child("ipFamilyPolicy"), policy, IP_FAMILY_POLICIES));
    }

    let mut has_invalid_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == CLUSTER_IP_NONE {
            if ips.len() > 1 {
                has_invalid_ips = true;
                errs.push(field::invalid(&ips_path, bad_value(ips), "'None' must be the first and only value"));
            }
            continue;
        }
        let ip_errs = is_valid_ip(&ips_path.index(i), ip);
        has_invalid_ips |= !ip_errs.is_empty();
        errs.append(ip_errs);
    }
    if ips.len() > 2 {
        errs.push(field::invalid(&ips_path, bad_value(ips), "may only hold up to 2 values"));
    }
    // Further checks would only repeat the problems of invalid IPs.
    if has_invalid_ips {
        return errs;
    }
    if ips.len() == 2 && checks::is_ipv6(&ips[0]) == checks::is_ipv6(&ips[1]) {
        errs.push(field::invalid(&ips_path, bad_value(ips), "may specify no more than one IP for each IP family"));
    }
    if !is_headless(spec) {
        for (i, (ip, family)) in ips.iter().zip(families).enumerate() {
            let ipv6 = checks::is_ipv6(ip);
            if family == "IPv4" && ipv6 {
                errs.push(field::invalid(
                    &ips_path.index(i),
                    ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if family == "IPv6" && !ipv6 {
                errs.push(field::invalid(
                    &ips_path.index(i),
                    ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    // Upstream checks these while initializing the IP family fields, before allocation.
    if spec.ip_family_policy.as_deref() == Some("SingleStack") {
        let policy_path = sp.child("ipFamilyPolicy");
        if ips.len() == 2 {
            errs.push(field::invalid(
                &policy_path,
                "SingleStack",
                "must be RequireDualStack or PreferDualStack when multiple IPs are specified",
            ));
        }
        if families.len() == 2 {
            errs.push(field::invalid(
                &policy_path,
                "SingleStack",
                "must be RequireDualStack or PreferDualStack when multiple IP families are specified",
            ));
        }
    }
    errs
}

fn validate_load_balancer_class(old: Option<&ServiceSpec>, spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = spec_path().child("loadBalancerClass");
    let is_lb = |s: &ServiceSpec| s.type_.as_deref() == Some(TYPE_LOAD_BALANCER);
    if let Some(old) = old
        && is_lb(old)
        && is_lb(spec)
        && old.load_balancer_class != spec.load_balancer_class
    {
        errs.push(field::invalid(&path, bad_value(&spec.load_balancer_class), "may not change once set"));
    }
    match &spec.load_balancer_class {
        Some(class) if is_lb(spec) => errs.append(checks::qualified_name(class, &path)),
        Some(_) => errs.push(field::forbidden(&path, "may only be used when `type` is 'LoadBalancer'")),
        None => {}
    }
    errs
}

fn validate_external_traffic_policy(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let sp = spec_path();
    let policy = spec.external_traffic_policy.as_deref().unwrap_or_default();
    if !externally_accessible(spec) {
        if !policy.is_empty() {
            errs.push(field::invalid(
                &sp.child("externalTrafficPolicy"),
                policy,
                "may only be set for externally-accessible services",
            ));
        }
    } else if policy.is_empty() {
        errs.push(field::required(&sp.child("externalTrafficPolicy"), ""));
    } else if !TRAFFIC_POLICIES.contains(&policy) {
        errs.push(field::not_supported(&sp.child("externalTrafficPolicy"), policy, TRAFFIC_POLICIES));
    }
    let hc = spec.health_check_node_port.unwrap_or(0);
    let hc_path = sp.child("healthCheckNodePort");
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(field::invalid(
                &hc_path,
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc == 0 {
        errs.push(field::required(&hc_path, ""));
    } else {
        for msg in is_valid_port_num(i64::from(hc)) {
            errs.push(field::invalid(&hc_path, hc, msg));
        }
    }
    errs
}

fn validate_internal_traffic_policy(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = spec_path().child("internalTrafficPolicy");
    match spec.internal_traffic_policy.as_deref() {
        // Not required for ExternalName services, for compatibility with stored objects.
        None if matches!(spec.type_.as_deref(), Some(TYPE_NODE_PORT | TYPE_LOAD_BALANCER | TYPE_CLUSTER_IP)) => {
            errs.push(field::required(&path, ""))
        }
        Some(p) if !TRAFFIC_POLICIES.contains(&p) => errs.push(field::not_supported(&path, p, TRAFFIC_POLICIES)),
        _ => {}
    }
    errs
}

/// Cluster IPs may be added (to become dual-stack) or the secondary removed, but not changed
/// (`validateUpgradeDowngradeClusterIPs`).
fn validate_cluster_ips_change(old: &ServiceSpec, new: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let external = |s: &ServiceSpec| s.type_.as_deref() == Some(TYPE_EXTERNAL_NAME);
    if external(old) || external(new) || (is_headless(old) && is_headless(new)) {
        return errs;
    }
    let path = spec_path().child("clusterIPs");
    let old_ips: &[String] = old.cluster_ips.as_deref().unwrap_or_default();
    let new_ips: &[String] = new.cluster_ips.as_deref().unwrap_or_default();
    let shown = bad_value(new_ips);
    if old_ips.len() == new_ips.len() {
        for (i, (o, n)) in old_ips.iter().zip(new_ips).enumerate() {
            if o != n {
                errs.push(field::invalid(&path.index(i), shown.clone(), "may not change once set"));
            }
        }
    } else if old_ips.len() > new_ips.len() {
        if new_ips.is_empty() {
            errs.push(field::invalid(&path.index(0), shown.clone(), "primary clusterIP can not be unset"));
        }
        if let (Some(o), Some(n)) = (old_ips.first(), new_ips.first())
            && o != n
        {
            errs.push(field::invalid(&path.index(0), shown.clone(), "may not change once set"));
        }
        if new_ips.len() == 1 && new.ip_family_policy.as_deref() != Some("SingleStack") {
            errs.push(field::invalid(
                &spec_path().child("ipFamilyPolicy"),
                bad_value(&new.ip_family_policy),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            ));
        }
    } else if let (Some(o), Some(n)) = (old_ips.first(), new_ips.first())
        && o != n
    {
        errs.push(field::invalid(&path.index(0), shown, "may not change once set"));
    }
    errs
}

/// IP families may be added or the secondary removed, but not changed
/// (`validateUpgradeDowngradeIPFamilies`).
fn validate_ip_families_change(old: &ServiceSpec, new: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let external = |s: &ServiceSpec| s.type_.as_deref() == Some(TYPE_EXTERNAL_NAME);
    if external(old) || external(new) || is_headless(old) || is_headless(new) {
        return errs;
    }
    let path = spec_path().child("ipFamilies").index(0);
    let old_f: &[String] = old.ip_families.as_deref().unwrap_or_default();
    let new_f: &[String] = new.ip_families.as_deref().unwrap_or_default();
    let new_ips = bad_value(new.cluster_ips.as_deref().unwrap_or_default());
    if old_f.len() == new_f.len() {
        for (o, n) in old_f.iter().zip(new_f) {
            if o != n {
                errs.push(field::invalid(&path, bad_value(new_f), "may not change once set"));
            }
        }
    } else if old_f.len() > new_f.len() {
        if new.cluster_ips.as_ref().is_none_or(|ips| ips.is_empty()) {
            errs.push(field::invalid(&path, bad_value(new_f), "primary ipFamily can not be unset"));
        }
        if let (Some(o), Some(n)) = (old_f.first(), new_f.first())
            && o != n
        {
            errs.push(field::invalid(&path, new_ips, "may not change once set"));
        }
        if new_f.len() == 1 && new.ip_family_policy.as_deref() != Some("SingleStack") {
            errs.push(field::invalid(
                &spec_path().child("ipFamilyPolicy"),
                bad_value(&new.ip_family_policy),
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            ));
        }
    } else if let (Some(o), Some(n)) = (old_f.first(), new_f.first())
        && o != n
    {
        errs.push(field::invalid(&path, new_ips, "may not change once set"));
    }
    errs
}

/// An update: what may not change, then the new service's validity (`ValidateServiceUpdate`).
pub(super) fn validate_service_update(new: &Service, old: &Service) -> ErrorList {
    let empty = ServiceSpec::default();
    let new_spec = new.spec.as_ref().unwrap_or(&empty);
    let old_spec = old.spec.as_ref().unwrap_or(&empty);
    let mut errs = validate_cluster_ips_change(old_spec, new_spec);
    errs.append(validate_ip_families_change(old_spec, new_spec));
    errs.append(validate_load_balancer_class(Some(old_spec), new_spec));
    if needs_health_check(old_spec)
        && needs_health_check(new_spec)
        && old_spec.health_check_node_port != new_spec.health_check_node_port
    {
        errs.push(field::forbidden(&spec_path().child("healthCheckNodePort"), "field is immutable"));
    }
    // Like upstream, this checks the load balancer class's format a second time.
    errs.append(validate_service(new));
    errs
}

/// The load balancer status (`ValidateServiceStatusUpdate`).
pub(super) fn validate_status(svc: &Service) -> ErrorList {
    let mut errs = ErrorList::new();
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default();
    let path = Path::new("status").child("loadBalancer").child("ingress");
    let is_lb = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some(TYPE_LOAD_BALANCER);
    if !is_lb && !ingress.is_empty() {
        errs.push(field::forbidden(&path, "may only be used when `spec.type` is 'LoadBalancer'"));
        return errs;
    }
    for (i, ing) in ingress.iter().enumerate() {
        let p = path.index(i);
        let ip = ing.ip.as_deref().unwrap_or_default();
        if !ip.is_empty() {
            errs.append(is_valid_ip(&p.child("ip"), ip));
        }
        match ing.ip_mode.as_deref() {
            None if !ip.is_empty() => {
                errs.push(field::required(&p.child("ipMode"), "must be specified when `ip` is set"))
            }
            Some(_) if ip.is_empty() => {
                errs.push(field::forbidden(&p.child("ipMode"), "may not be specified when `ip` is not set"))
            }
            Some(mode) if !LOAD_BALANCER_IP_MODES.contains(&mode) => {
                errs.push(field::not_supported(&p.child("ipMode"), mode, LOAD_BALANCER_IP_MODES))
            }
            _ => {}
        }
        let hostname = ing.hostname.as_deref().unwrap_or_default();
        if !hostname.is_empty() {
            errs.append(checks::each(hostname, &p.child("hostname"), is_dns1123_subdomain(hostname)));
            if hostname.parse::<std::net::IpAddr>().is_ok() {
                errs.push(field::invalid(&p.child("hostname"), hostname, "must be a DNS name, not an IP address"));
            }
        }
    }
    errs
}
