//! The networking.k8s.io strategies (upstream's `pkg/registry/networking/*` and
//! `pkg/apis/networking/validation`): Ingress, IngressClass, NetworkPolicy, ServiceCIDR and
//! IPAddress.

mod cidr;
mod ingress;
mod networkpolicy;

use k8s_openapi::api::networking::v1::{IPAddress, Ingress, IngressClass, NetworkPolicy, ServiceCIDR};
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field, is_domain_prefixed_path, is_valid_cidr, is_valid_ip,
    is_valid_path_segment_name, validate_namespace_name,
};
use krs_kinds::Object;

pub use self::ingress::ANNOTATION_INGRESS_CLASS;
use crate::strategy::core::service::checks::{self, bad_value};
use crate::strategy::{NameValidator, Strategy, typed, typed_mut};

const MAX_INGRESS_CLASS_CONTROLLER_LENGTH: usize = 250;
const PARAMETER_SCOPES: &[&str] = &["Cluster", "Namespace"];

/// The ingress strategy.
pub struct IngressStrategy;
/// The ingress strategy.
pub static INGRESS: IngressStrategy = IngressStrategy;
/// The ingress class strategy.
pub struct IngressClassStrategy;
/// The ingress class strategy.
pub static INGRESS_CLASS: IngressClassStrategy = IngressClassStrategy;
/// The network policy strategy.
pub struct NetworkPolicyStrategy;
/// The network policy strategy.
pub static NETWORK_POLICY: NetworkPolicyStrategy = NetworkPolicyStrategy;
/// The service CIDR strategy.
pub struct ServiceCIDRStrategy;
/// The service CIDR strategy.
pub static SERVICE_CIDR: ServiceCIDRStrategy = ServiceCIDRStrategy;
/// The IP address strategy.
pub struct IPAddressStrategy;
/// The IP address strategy.
pub static IP_ADDRESS: IPAddressStrategy = IPAddressStrategy;

fn ingress_warnings(ing: &Ingress) -> Vec<String> {
    let annotated = ing.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANNOTATION_INGRESS_CLASS));
    if annotated {
        vec![format!(
            "annotation \"{ANNOTATION_INGRESS_CLASS}\" is deprecated, please use 'spec.ingressClassName' instead"
        )]
    } else {
        Vec::new()
    }
}

impl Strategy for IngressStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Ingress>(obj).map(ingress::validate_create).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<Ingress>(new), typed::<Ingress>(old)) {
            (Some(new), Some(old)) => ingress::validate_update(new, old),
            _ => ErrorList::new(),
        }
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<Ingress>(obj).map(ingress_warnings).unwrap_or_default()
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<Ingress>(new), typed::<Ingress>(old)) {
            (Some(new), Some(old)) => ingress::validate_status(new, old),
            _ => ErrorList::new(),
        }
    }
}

/// `validateIngressClassSpec`: a domain-prefixed controller and valid parameters.
fn validate_ingress_class(ic: &IngressClass) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = ic.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    let controller = spec.controller.as_deref().unwrap_or_default();
    let cp = path.child("controller");
    if controller.is_empty() {
        errs.push(field::required(&cp, ""));
    } else {
        if controller.len() > MAX_INGRESS_CLASS_CONTROLLER_LENGTH {
            errs.push(field::too_long(&cp, MAX_INGRESS_CLASS_CONTROLLER_LENGTH as i64).with_origin("maxBytes"));
        }
        errs.append(is_domain_prefixed_path(&cp, controller));
    }
    let Some(params) = &spec.parameters else {
        return errs;
    };
    let pp = path.child("parameters");
    if let Some(group) = &params.api_group {
        errs.append(checks::dns1123_subdomain(group, &pp.child("apiGroup")));
    }
    for (value, name) in [(&params.kind, "kind"), (&params.name, "name")] {
        if value.is_empty() {
            errs.push(field::required(&pp.child(name), ""));
        } else {
            errs.append(checks::each(value, &pp.child(name), is_valid_path_segment_name(value)));
        }
    }
    let Some(scope) = params.scope.as_deref() else {
        errs.push(field::required(&pp.child("scope"), ""));
        return errs;
    };
    match scope {
        "Namespace" => match params.namespace.as_deref() {
            None => errs.push(field::required(&pp.child("namespace"), "`parameters.scope` is set to 'Namespace'")),
            Some(ns) => errs.append(checks::name(validate_namespace_name, ns, &pp.child("namespace"))),
        },
        "Cluster" => {
            if params.namespace.is_some() {
                errs.push(field::forbidden(&pp.child("namespace"), "`parameters.scope` is set to 'Cluster'"));
            }
        }
        other => errs.push(field::not_supported(&pp.child("scope"), other, PARAMETER_SCOPES)),
    }
    errs
}

impl Strategy for IngressClassStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(params) =
            typed_mut::<IngressClass>(obj).and_then(|ic| ic.spec.as_mut()).and_then(|s| s.parameters.as_mut())
            && params.scope.is_none()
        {
            params.scope = Some("Cluster".to_owned());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<IngressClass>(obj).map(validate_ingress_class).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<IngressClass>(new), typed::<IngressClass>(old)) else {
            return ErrorList::new();
        };
        let controller = |ic: &IngressClass| ic.spec.as_ref().and_then(|s| s.controller.clone()).unwrap_or_default();
        let mut errs = checks::immutable(&controller(new), &controller(old), &Path::new("spec").child("controller"))
            .with_origin("immutable");
        errs.append(validate_ingress_class(new));
        errs
    }
}

impl Strategy for NetworkPolicyStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(np) = typed_mut::<NetworkPolicy>(obj) {
            networkpolicy::set_defaults(np);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<NetworkPolicy>(obj).map(|np| networkpolicy::validate(np, None)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<NetworkPolicy>(new), typed::<NetworkPolicy>(old)) {
            (Some(new), Some(old)) => networkpolicy::validate(new, Some(old)),
            _ => ErrorList::new(),
        }
    }
}

fn service_cidrs(sc: &ServiceCIDR) -> Vec<String> {
    sc.spec.as_ref().and_then(|s| s.cidrs.clone()).unwrap_or_default()
}

/// `validateServiceCIDRSpec`: one or two valid CIDRs, of different families.
fn validate_service_cidr_spec(cidrs: &[String]) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = Path::new("spec").child("cidrs");
    if cidrs.is_empty() {
        errs.push(field::required(&path, "at least one CIDR required"));
        return errs;
    }
    if cidrs.len() > 2 {
        errs.push(field::invalid(
            &path,
            // Upstream shows the internal spec, whose fields have their Go names.
            checks::go_struct(&[("CIDRs", checks::go_json(cidrs))]),
            "may only hold up to 2 values",
        ));
        return errs;
    }
    for (i, c) in cidrs.iter().enumerate() {
        errs.append(is_valid_cidr(&path.index(i), c));
    }
    if let [a, b] = cidrs
        && let (Some(a), Some(b)) = (cidr::Net::parse(a), cidr::Net::parse(b))
        && a.is_v6() == b.is_v6()
    {
        errs.push(field::invalid(
            &path,
            bad_value(cidrs),
            "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
        ));
    }
    errs
}

impl Strategy for ServiceCIDRStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ServiceCIDR>(obj).map(|sc| validate_service_cidr_spec(&service_cidrs(sc))).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<ServiceCIDR>(new), typed::<ServiceCIDR>(old)) else {
            return ErrorList::new();
        };
        let (n, o) = (service_cidrs(new), service_cidrs(old));
        let mut errs = ErrorList::new();
        let path = Path::new("spec").child("cidrs");
        if n.len() == o.len() {
            for (i, (a, b)) in n.iter().zip(&o).enumerate() {
                if a != b {
                    errs.push(field::invalid(&path.index(i), a, FIELD_IMMUTABLE_ERROR_MSG));
                }
            }
        } else if o.len() == 1 && n.len() == 2 {
            // A single-stack range may become dual-stack by adding the other family.
            if n[0] != o[0] {
                errs.push(field::invalid(&path.index(0), &n[0], FIELD_IMMUTABLE_ERROR_MSG));
            }
            errs.append(validate_service_cidr_spec(&n));
        } else {
            errs.push(field::invalid(&path, bad_value(&n), FIELD_IMMUTABLE_ERROR_MSG));
        }
        errs
    }
}

/// IPAddress names are IP addresses in canonical form (`ValidateIPAddressName`).
fn ip_address_name(name: &str, _prefix: bool) -> Vec<String> {
    is_valid_ip(&Path::default(), name).into_iter().map(|e| e.detail).collect()
}

impl Strategy for IPAddressStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let mut errs = ErrorList::new();
        let Some(ip) = typed::<IPAddress>(obj) else {
            return errs;
        };
        let Some(parent) = ip.spec.as_ref().map(|s| &s.parent_ref) else {
            errs.push(field::required(&Path::new("spec").child("parentRef"), ""));
            return errs;
        };
        let path = Path::new("spec").child("parentRef");
        if let Some(group) = parent.group.as_deref().filter(|g| !g.is_empty()) {
            errs.append(checks::dns1123_subdomain(group, &path.child("group")));
        }
        for (value, name) in [(&parent.resource, "resource"), (&parent.name, "name")] {
            if value.is_empty() {
                errs.push(field::required(&path.child(name), ""));
            } else {
                errs.append(checks::each(value, &path.child(name), is_valid_path_segment_name(value)));
            }
        }
        if let Some(ns) = parent.namespace.as_deref().filter(|n| !n.is_empty()) {
            errs.append(checks::each(ns, &path.child("namespace"), is_valid_path_segment_name(ns)));
        }
        errs
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<IPAddress>(new), typed::<IPAddress>(old)) else {
            return ErrorList::new();
        };
        let parent = |ip: &IPAddress| ip.spec.as_ref().map(|s| s.parent_ref.clone());
        let mut errs = ErrorList::new();
        if parent(new) != parent(old) {
            // Upstream shows the internal ParentReference, whose fields have their Go names.
            let shown = match parent(new) {
                Some(p) => checks::go_struct(&[
                    ("Group", checks::go_json(p.group.as_deref().unwrap_or_default())),
                    ("Resource", checks::go_json(&p.resource)),
                    ("Namespace", checks::go_json(p.namespace.as_deref().unwrap_or_default())),
                    ("Name", checks::go_json(&p.name)),
                ]),
                None => BadValue::null(),
            };
            errs.push(
                field::invalid(&Path::new("spec").child("parentRef"), shown, FIELD_IMMUTABLE_ERROR_MSG)
                    .with_origin("immutable"),
            );
        }
        errs
    }

    fn name_validator(&self) -> NameValidator {
        ip_address_name
    }
}

#[cfg(test)]
mod tests;
