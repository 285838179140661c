//! Ingress validation (upstream's `ValidateIngressCreate`, `ValidateIngressUpdate` and
//! `ValidateIngressStatusUpdate`).

use k8s_openapi::api::networking::v1::{HTTPIngressPath, Ingress, IngressBackend, IngressRule};
use krs_apimachinery::validation::{
    ErrorList, Path, field, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_valid_ip_for_legacy_field,
    is_valid_path_segment_name, is_valid_port_name, is_valid_port_num, is_wildcard_dns1123_subdomain,
};

use crate::strategy::core::service::checks;

/// The deprecated annotation naming an ingress's class.
pub const ANNOTATION_INGRESS_CLASS: &str = "kubernetes.io/ingress.class";
const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];

/// What stored ingresses may keep although newer rules reject it.
#[derive(Clone, Copy, Default)]
pub(super) struct Options {
    allow_invalid_secret_name: bool,
    allow_invalid_wildcard_host_rule: bool,
    allow_relaxed_service_name: bool,
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn validate_backend(backend: &IngressBackend, opts: Options, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    match (&backend.resource, &backend.service) {
        (Some(_), Some(_)) => errs.push(field::invalid(path, "", "cannot set both resource and service backends")),
        (Some(r), None) => {
            let p = path.child("resource");
            if let Some(group) = &r.api_group {
                errs.append(checks::dns1123_subdomain(group, &p.child("apiGroup")));
            }
            for (value, name) in [(&r.kind, "kind"), (&r.name, "name")] {
                if value.is_empty() {
                    errs.push(field::required(&p.child(name), ""));
                } else {
                    errs.append(checks::each(value, &p.child(name), is_valid_path_segment_name(value)));
                }
            }
        }
        (None, Some(svc)) => {
            let np = path.child("service").child("name");
            if svc.name.is_empty() {
                errs.push(field::required(&np, ""));
            } else {
                let msgs = if opts.allow_relaxed_service_name {
                    is_dns1123_label(&svc.name)
                } else {
                    is_dns1035_label(&svc.name)
                };
                errs.append(checks::each(&svc.name, &np, msgs));
            }
            let port = svc.port.clone().unwrap_or_default();
            let name = port.name.as_deref().unwrap_or_default();
            let number = port.number.unwrap_or(0);
            match (name.is_empty(), number == 0) {
                (false, false) => errs.push(field::invalid(path, "", "cannot set both port name & port number")),
                (false, true) => errs.append(checks::each(
                    name,
                    &path.child("service").child("port").child("name"),
                    is_valid_port_name(name),
                )),
                (true, false) => {
                    for msg in is_valid_port_num(i64::from(number)) {
                        errs.push(field::invalid(&path.child("service").child("port").child("number"), number, msg));
                    }
                }
                (true, true) => errs.push(field::required(path, "port name or number is required")),
            }
        }
        (None, None) => errs.push(field::invalid(path, "", "resource or service backend is required")),
    }
    errs
}

fn validate_path(p: &HTTPIngressPath, opts: Options, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if p.path_type.is_empty() {
        errs.push(field::required(&path.child("pathType"), "pathType must be specified"));
        return errs;
    }
    let value = p.path.as_deref().unwrap_or_default();
    let pp = path.child("path");
    match p.path_type.as_str() {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(field::invalid(&pp, value, "must be an absolute path"));
            }
            if !value.is_empty() {
                for seq in INVALID_PATH_SEQUENCES {
                    if value.contains(seq) {
                        errs.push(field::invalid(&pp, value, format!("must not contain '{seq}'")));
                    }
                }
                for suffix in INVALID_PATH_SUFFIXES {
                    if value.ends_with(suffix) {
                        errs.push(field::invalid(&pp, value, format!("cannot end with '{suffix}'")));
                    }
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(field::invalid(&pp, value, "must be an absolute path"));
            }
        }
        other => errs.push(field::not_supported(&path.child("pathType"), other, PATH_TYPES)),
    }
    errs.append(validate_backend(&p.backend, opts, &path.child("backend")));
    errs
}

fn validate_rule_value(rule: &IngressRule, opts: Options, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(http) = &rule.http {
        let hp = path.child("http");
        if http.paths.is_empty() {
            errs.push(field::required(&hp.child("paths"), ""));
        }
        for (i, p) in http.paths.iter().enumerate() {
            errs.append(validate_path(p, opts, &hp.child("paths").index(i)));
        }
    }
    errs
}

fn validate_spec(ing: &Ingress, opts: Options) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = ing.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    let rules = spec.rules.as_deref().unwrap_or_default();
    if rules.is_empty() && spec.default_backend.is_none() {
        errs.push(field::invalid(
            &path,
            checks::bad_value(&spec.rules),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = &spec.default_backend {
        errs.append(validate_backend(b, opts, &path.child("defaultBackend")));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = path.child("rules").index(i);
        let host = rule.host.as_deref().unwrap_or_default();
        let mut wildcard = false;
        if !host.is_empty() {
            if is_ip(host) {
                errs.push(field::invalid(&rp.child("host"), host, "must be a DNS name, not an IP address"));
            }
            if host.contains('*') {
                errs.append(checks::each(host, &rp.child("host"), is_wildcard_dns1123_subdomain(host)));
                wildcard = true;
            } else {
                errs.append(checks::each(host, &rp.child("host"), is_dns1123_subdomain(host)));
            }
        }
        if !wildcard || !opts.allow_invalid_wildcard_host_rule {
            errs.append(validate_rule_value(rule, opts, &rp));
        }
    }
    for (i, tls) in spec.tls.iter().flatten().enumerate() {
        let tp = path.child("tls").index(i);
        for (j, host) in tls.hosts.iter().flatten().enumerate() {
            let msgs =
                if host.contains('*') { is_wildcard_dns1123_subdomain(host) } else { is_dns1123_subdomain(host) };
            errs.append(checks::each(host, &tp.child("hosts").index(j), msgs));
        }
        if !opts.allow_invalid_secret_name
            && let Some(name) = tls.secret_name.as_deref().filter(|n| !n.is_empty())
        {
            errs.append(checks::dns1123_subdomain(name, &tp.child("secretName")));
        }
    }
    if let Some(class) = &spec.ingress_class_name {
        errs.append(checks::dns1123_subdomain(class, &path.child("ingressClassName")));
    }
    errs
}

/// `ValidateIngressCreate`.
pub(super) fn validate_create(ing: &Ingress) -> ErrorList {
    let mut errs = validate_spec(ing, Options::default());
    let annotation = ing.metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION_INGRESS_CLASS));
    let class = ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_ref());
    if let (Some(annotation), Some(class)) = (annotation, class)
        && annotation != class
    {
        errs.push(field::invalid(
            &Path::new("annotations").child(ANNOTATION_INGRESS_CLASS),
            annotation,
            "must match `ingressClassName` when both are specified",
        ));
    }
    errs
}

/// `ValidateIngressUpdate`: stored values that newer rules reject may stay.
pub(super) fn validate_update(new: &Ingress, old: &Ingress) -> ErrorList {
    let spec = old.spec.clone().unwrap_or_default();
    let allow_invalid_secret_name = spec
        .tls
        .iter()
        .flatten()
        .filter_map(|t| t.secret_name.as_deref())
        .any(|n| !n.is_empty() && !is_dns1123_subdomain(n).is_empty());
    let allow_invalid_wildcard_host_rule = spec.rules.iter().flatten().any(|r| {
        r.host.as_deref().unwrap_or_default().contains('*')
            && !validate_rule_value(r, Options::default(), &Path::default()).is_empty()
    });
    // A service name that is a DNS-1123 label but not a DNS-1035 one.
    let relaxed = |name: &str| is_dns1123_label(name).is_empty() && !is_dns1035_label(name).is_empty();
    let default_backend =
        spec.default_backend.as_ref().and_then(|b| b.service.as_ref()).is_some_and(|s| relaxed(&s.name));
    let in_rules = spec
        .rules
        .iter()
        .flatten()
        .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
        .filter_map(|p| p.backend.service.as_ref())
        .any(|s| relaxed(&s.name));
    let opts = Options {
        allow_invalid_secret_name,
        allow_invalid_wildcard_host_rule,
        allow_relaxed_service_name: default_backend || in_rules,
    };
    validate_spec(new, opts)
}

/// `ValidateIngressStatusUpdate`: load balancer IPs and host names.
pub(super) fn validate_status(new: &Ingress, old: &Ingress) -> ErrorList {
    let mut errs = ErrorList::new();
    let ingress = |i: &Ingress| {
        i.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.clone()).unwrap_or_default()
    };
    let old_ips: Vec<String> = ingress(old).into_iter().filter_map(|i| i.ip).filter(|ip| !ip.is_empty()).collect();
    let path = Path::new("status").child("loadBalancer").child("ingress");
    for (i, ing) in ingress(new).iter().enumerate() {
        let p = path.index(i);
        if let Some(ip) = ing.ip.as_deref().filter(|ip| !ip.is_empty()) {
            errs.append(is_valid_ip_for_legacy_field(&p.child("ip"), ip, false, &old_ips));
        }
        if let Some(host) = ing.hostname.as_deref().filter(|h| !h.is_empty()) {
            errs.append(checks::each(host, &p.child("hostname"), is_dns1123_subdomain(host)));
            if is_ip(host) {
                errs.push(field::invalid(&p.child("hostname"), host, "must be a DNS name, not an IP address"));
            }
        }
    }
    errs
}
