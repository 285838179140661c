//! The service strategy (upstream's `pkg/registry/core/service` and the Service parts of
//! `pkg/apis/core/v1/defaults.go` and `pkg/apis/core/validation`).
//!
//! Cluster IP and node port *allocation* is the API server's (it needs the cluster's service
//! CIDRs and port range). This strategy keeps `clusterIP` and `clusterIPs` in sync, carries
//! allocated values over updates that omit them, infers `ipFamilyPolicy` and the IP families
//! of given cluster IPs, clears type-dependent fields when the type changes, and validates the
//! formats and the rules between fields.

pub(crate) mod checks;
mod validation;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ClientIPConfig, Service, ServiceSpec, SessionAffinityConfig};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{ErrorList, name_is_dns1035_label};
use krs_kinds::Object;

use crate::strategy::{FieldLabel, NameValidator, Strategy, typed, typed_mut};

pub(crate) const TYPE_CLUSTER_IP: &str = "ClusterIP";
pub(crate) const TYPE_NODE_PORT: &str = "NodePort";
pub(crate) const TYPE_LOAD_BALANCER: &str = "LoadBalancer";
pub(crate) const TYPE_EXTERNAL_NAME: &str = "ExternalName";
/// The cluster IP of a headless service.
pub const CLUSTER_IP_NONE: &str = "None";
/// The session affinity timeout when none is given (three hours).
pub const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i32 = 10800;

/// The service strategy.
pub struct ServiceStrategy;

/// The service strategy.
pub static SERVICE: ServiceStrategy = ServiceStrategy;

static FIELD_LABELS: &[FieldLabel] = &[FieldLabel::string("spec.clusterIP"), FieldLabel::string("spec.type")];

fn spec_type(spec: &ServiceSpec) -> &str {
    spec.type_.as_deref().unwrap_or_default()
}

/// Reachable from outside the cluster: node ports, load balancers or external IPs
/// (`ExternallyAccessible`).
pub(crate) fn externally_accessible(spec: &ServiceSpec) -> bool {
    match spec_type(spec) {
        TYPE_LOAD_BALANCER | TYPE_NODE_PORT => true,
        TYPE_CLUSTER_IP => spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()),
        _ => false,
    }
}

/// A load balancer that keeps client source IPs needs a health check node port
/// (`NeedsHealthCheck`).
pub(crate) fn needs_health_check(spec: &ServiceSpec) -> bool {
    spec_type(spec) == TYPE_LOAD_BALANCER && spec.external_traffic_policy.as_deref() == Some("Local")
}

/// Headless: exactly one cluster IP, `None`.
pub(crate) fn is_headless(spec: &ServiceSpec) -> bool {
    matches!(spec.cluster_ips.as_deref(), Some([only]) if only == CLUSTER_IP_NONE)
}

fn needs_cluster_ip(spec: &ServiceSpec) -> bool {
    spec_type(spec) != TYPE_EXTERNAL_NAME
}

fn needs_node_port(spec: &ServiceSpec) -> bool {
    matches!(spec_type(spec), TYPE_NODE_PORT | TYPE_LOAD_BALANCER)
}

/// Upstream's `SetDefaults_Service`.
fn set_defaults(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(Default::default);
    if spec.session_affinity.as_deref().unwrap_or_default().is_empty() {
        spec.session_affinity = Some("None".to_owned());
    }
    match spec.session_affinity.as_deref() {
        Some("None") => spec.session_affinity_config = None,
        Some("ClientIP") => {
            let has_timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .is_some_and(|c| c.timeout_seconds.is_some());
            if !has_timeout {
                spec.session_affinity_config = Some(SessionAffinityConfig {
                    client_ip: Some(ClientIPConfig { timeout_seconds: Some(DEFAULT_CLIENT_IP_AFFINITY_SECONDS) }),
                });
            }
        }
        _ => {}
    }
    if spec_type(spec).is_empty() {
        spec.type_ = Some(TYPE_CLUSTER_IP.to_owned());
    }
    for port in spec.ports.iter_mut().flatten() {
        if port.protocol.as_deref().unwrap_or_default().is_empty() {
            port.protocol = Some("TCP".to_owned());
        }
        let unset = match &port.target_port {
            None => true,
            Some(IntOrString::Int(n)) => *n == 0,
            Some(IntOrString::String(s)) => s.is_empty(),
        };
        if unset {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
    if externally_accessible(spec) && spec.external_traffic_policy.as_deref().unwrap_or_default().is_empty() {
        spec.external_traffic_policy = Some("Cluster".to_owned());
    }
    if spec.internal_traffic_policy.is_none()
        && matches!(spec_type(spec), TYPE_NODE_PORT | TYPE_LOAD_BALANCER | TYPE_CLUSTER_IP)
    {
        spec.internal_traffic_policy = Some("Cluster".to_owned());
    }
    if spec_type(spec) == TYPE_LOAD_BALANCER {
        if spec.allocate_load_balancer_node_ports.is_none() {
            spec.allocate_load_balancer_node_ports = Some(true);
        }
        let ingress = svc.status.as_mut().and_then(|s| s.load_balancer.as_mut()).and_then(|lb| lb.ingress.as_mut());
        for ing in ingress.into_iter().flatten() {
            if ing.ip.as_deref().is_some_and(|ip| !ip.is_empty()) && ing.ip_mode.is_none() {
                ing.ip_mode = Some("VIP".to_owned());
            }
        }
    }
}

/// Keeps `clusterIP` and `clusterIPs` in sync for clients that set only one of them
/// (upstream's `normalizeClusterIPs`). `old` is `None` on create.
pub fn normalize_cluster_ips(new: &mut ServiceSpec, old: Option<&ServiceSpec>) {
    let cluster_ip = new.cluster_ip.clone().unwrap_or_default();
    let Some(old) = old else {
        // An old client set the singular field only.
        if !cluster_ip.is_empty() && new.cluster_ips.as_ref().is_none_or(|ips| ips.is_empty()) {
            new.cluster_ips = Some(vec![cluster_ip]);
        }
        return;
    };
    let old_ip = old.cluster_ip.clone().unwrap_or_default();
    let old_ips = old.cluster_ips.clone().unwrap_or_default();
    // An old client patching another field sent no clusterIPs.
    if !old_ips.is_empty() && new.cluster_ips.as_ref().is_none_or(|ips| ips.is_empty()) && old_ip == cluster_ip {
        new.cluster_ips = Some(old_ips.clone());
    }
    if old_ip != cluster_ip {
        let same_plural = new.cluster_ips.clone().unwrap_or_default() == old_ips;
        if !old_ip.is_empty() && cluster_ip.is_empty() {
            // Clearing the singular clears the plural on the client's behalf.
            if same_plural {
                new.cluster_ips = None;
            }
        } else if same_plural {
            new.cluster_ips = Some(vec![cluster_ip]);
        }
    }
}

/// Carries allocated values (cluster IPs, node ports, health check node port) over an update
/// that omits them, e.g. `kubectl replace` of a manifest (upstream's `patchAllocatedValues`).
pub fn patch_allocated_values(new: &mut ServiceSpec, old: &ServiceSpec) {
    if needs_cluster_ip(old) && needs_cluster_ip(new) {
        if new.cluster_ip.as_deref().unwrap_or_default().is_empty() {
            new.cluster_ip = old.cluster_ip.clone();
        }
        if new.cluster_ips.as_ref().is_none_or(|ips| ips.is_empty())
            && old.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty())
        {
            new.cluster_ips = old.cluster_ips.clone();
        }
    }
    if needs_node_port(old) && needs_node_port(new) {
        let node_ports = |spec: &ServiceSpec| -> BTreeSet<i32> {
            spec.ports.iter().flatten().filter_map(|p| p.node_port).filter(|n| *n != 0).collect()
        };
        // Node ports still in use by the new ports can't be given to another port.
        let used: BTreeSet<i32> = node_ports(old).intersection(&node_ports(new)).copied().collect();
        let by_name = |name: &Option<String>| {
            old.ports
                .iter()
                .flatten()
                .rev()
                .find(|p| p.name.as_deref().unwrap_or_default() == name.as_deref().unwrap_or_default())
                .and_then(|p| p.node_port)
                .unwrap_or(0)
        };
        for port in new.ports.iter_mut().flatten() {
            if port.node_port.unwrap_or(0) == 0 {
                let old_port = by_name(&port.name);
                if old_port != 0 && !used.contains(&old_port) {
                    port.node_port = Some(old_port);
                }
            }
        }
    }
    if needs_health_check(old) && needs_health_check(new) && new.health_check_node_port.unwrap_or(0) == 0 {
        new.health_check_node_port = old.health_check_node_port;
    }
}

/// The IP family of an address, or `None` if it isn't one.
fn family_of(ip: &str) -> Option<&'static str> {
    if checks::is_ipv6(ip) {
        Some("IPv6")
    } else if checks::is_ipv4(ip) {
        Some("IPv4")
    } else {
        None
    }
}

/// The IP family fields that need no knowledge of the cluster (part of upstream's
/// `initIPFamilyFields`): `ipFamilyPolicy` defaults to SingleStack, or RequireDualStack for
/// two IPs or families and for headless services without selector; missing families are
/// inferred from given cluster IPs. The API server adds the cluster's default families.
pub fn init_ip_family_fields(spec: &mut ServiceSpec) {
    if !needs_cluster_ip(spec) {
        return;
    }
    let ips = spec.cluster_ips.clone().unwrap_or_default();
    let families = spec.ip_families.get_or_insert_with(Vec::new);
    for (i, ip) in ips.iter().enumerate() {
        if ip == CLUSTER_IP_NONE {
            break;
        }
        match family_of(ip) {
            Some(fam) if i >= families.len() => families.push(fam.to_owned()),
            Some(_) => {}
            None => break,
        }
    }
    if families.is_empty() {
        spec.ip_families = None;
    }
    if spec.ip_family_policy.is_none() {
        let family_count = spec.ip_families.as_ref().map_or(0, Vec::len);
        let headless_without_selector = is_headless(spec) && spec.selector.as_ref().is_none_or(|s| s.is_empty());
        let policy = if ips.len() == 2 || family_count == 2 || headless_without_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        spec.ip_family_policy = Some(policy.to_owned());
    }
}

/// Clears fields that the new type doesn't use when the client didn't change them (upstream's
/// `dropTypeDependentFields`). Node ports, cluster IPs and health check ports cleared here are
/// released by the API server.
pub fn drop_type_dependent_fields(new: &mut Service, old: &Service) {
    let (Some(new_spec), Some(old_spec)) = (new.spec.as_mut(), old.spec.as_ref()) else {
        return;
    };
    if needs_cluster_ip(old_spec) && !needs_cluster_ip(new_spec) {
        if new_spec.cluster_ip == old_spec.cluster_ip && new_spec.cluster_ips == old_spec.cluster_ips {
            new_spec.cluster_ip = None;
            new_spec.cluster_ips = None;
        }
        if new_spec.ip_families == old_spec.ip_families {
            new_spec.ip_families = None;
        }
        if new_spec.ip_family_policy == old_spec.ip_family_policy {
            new_spec.ip_family_policy = None;
        }
    }
    let node_ports = |spec: &ServiceSpec| -> BTreeSet<i32> {
        spec.ports.iter().flatten().filter_map(|p| p.node_port).filter(|n| *n != 0).collect()
    };
    if needs_node_port(old_spec)
        && !needs_node_port(new_spec)
        && node_ports(old_spec).is_superset(&node_ports(new_spec))
    {
        for port in new_spec.ports.iter_mut().flatten() {
            port.node_port = None;
        }
    }
    if needs_health_check(old_spec)
        && !needs_health_check(new_spec)
        && old_spec.health_check_node_port == new_spec.health_check_node_port
    {
        new_spec.health_check_node_port = None;
    }
    if spec_type(old_spec) == TYPE_LOAD_BALANCER && spec_type(new_spec) != TYPE_LOAD_BALANCER {
        if new_spec.allocate_load_balancer_node_ports.is_some()
            && new_spec.allocate_load_balancer_node_ports == old_spec.allocate_load_balancer_node_ports
        {
            new_spec.allocate_load_balancer_node_ports = None;
        }
        if new_spec.load_balancer_class == old_spec.load_balancer_class {
            new_spec.load_balancer_class = None;
        }
    }
    if needs_node_port(old_spec)
        && !needs_node_port(new_spec)
        && new_spec.external_traffic_policy == old_spec.external_traffic_policy
    {
        new_spec.external_traffic_policy = None;
    }
    // The load balancer's status no longer applies (deprovisioning is the controller's).
    if spec_type(new_spec) != TYPE_LOAD_BALANCER
        && let Some(status) = new.status.as_mut()
    {
        status.load_balancer = None;
    }
}

impl Strategy for ServiceStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(svc) = typed_mut::<Service>(obj) {
            set_defaults(svc);
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(svc) = typed_mut::<Service>(obj) else {
            return;
        };
        svc.status = None;
        let spec = svc.spec.get_or_insert_with(Default::default);
        normalize_cluster_ips(spec, None);
        init_ip_family_fields(spec);
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let (Some(new), Some(old)) = (typed_mut::<Service>(new), typed::<Service>(old)) else {
            return;
        };
        new.status = old.status.clone();
        if let Some(old_spec) = old.spec.as_ref() {
            let spec = new.spec.get_or_insert_with(Default::default);
            patch_allocated_values(spec, old_spec);
            normalize_cluster_ips(spec, Some(old_spec));
            init_ip_family_fields(spec);
        }
        drop_type_dependent_fields(new, old);
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Service>(obj).map(validation::validate_service).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (typed::<Service>(new), typed::<Service>(old)) {
            (Some(new), Some(old)) => validation::validate_service_update(new, old),
            _ => ErrorList::new(),
        }
    }

    fn name_validator(&self) -> NameValidator {
        name_is_dns1035_label
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn prepare_for_status_update(&self, new: &mut dyn Object, old: &dyn Object) {
        if let (Some(new), Some(old)) = (typed_mut::<Service>(new), typed::<Service>(old)) {
            new.spec = old.spec.clone();
        }
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        typed::<Service>(new).map(validation::validate_status).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
