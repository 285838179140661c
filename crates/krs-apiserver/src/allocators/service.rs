//! The services resource's write hooks: cluster IPs (one per IP family the service asks for)
//! and node ports (NodePort and LoadBalancer services, and the health check port of
//! LoadBalancer services with externalTrafficPolicy Local), reserved before the service is
//! stored and released when it is deleted or no longer needs them.

use std::net::IpAddr;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field};
use krs_kinds::Object;

use super::node_ports::PortError;
use super::service_ips::IpError;
use super::{NodePortAllocator, Reserved, ServiceIpAllocator, WriteHooks};
use crate::errors::ApiError;
use crate::handler::App;

/// The IP and port allocators of services.
pub struct ServiceAllocations {
    pub ips: ServiceIpAllocator,
    pub ports: NodePortAllocator,
}

fn service(obj: &dyn Object) -> Option<&Service> {
    krs_kinds::downcast_ref::<Service>(obj)
}

fn needs_node_ports(spec: &ServiceSpec) -> bool {
    match spec.type_.as_deref() {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

fn needs_health_check_port(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() == Some("LoadBalancer") && spec.external_traffic_policy.as_deref() == Some("Local")
}

fn has_cluster_ip(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() != Some("ExternalName") && spec.cluster_ip.as_deref() != Some("None")
}

fn invalid(app: &App, name: &str, errors: ErrorList) -> ApiError {
    match app.catalog.lookup("", "v1", "services") {
        Some(res) => ApiError::invalid(res, name, &errors),
        None => ApiError::internal(errors.to_string()),
    }
}

impl ServiceAllocations {
    /// Reserves the cluster IPs a service needs that it does not hold yet.
    async fn allocate_ips(
        &self,
        app: &App,
        svc: &mut Service,
        dry_run: bool,
        reserved: &mut Reserved,
    ) -> Result<(), ApiError> {
        let namespace = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        let Some(spec) = svc.spec.as_mut() else {
            return Ok(());
        };
        if !has_cluster_ip(spec) {
            if spec.cluster_ip.as_deref() == Some("None") {
                spec.cluster_ips = Some(vec!["None".into()]);
            }
            return Ok(());
        }
        // The families the service gets: those it names, else the cluster's primary one, or
        // both for dual-stack policies when the cluster has both.
        let cluster_families: Vec<bool> = self.ips.cidrs.iter().map(|c| c.is_ipv4()).collect();
        let policy = spec.ip_family_policy.clone().unwrap_or_else(|| "SingleStack".into());
        let requested = requested_ips(spec);
        let mut families: Vec<bool> = match &spec.ip_families {
            Some(f) if !f.is_empty() => f.iter().map(|f| f == "IPv4").collect(),
            _ if !requested.is_empty() => requested.iter().map(|ip| ip.is_ipv4()).collect(),
            _ => vec![cluster_families.first().copied().unwrap_or(true)],
        };
        if policy != "SingleStack"
            && families.len() == 1
            && let Some(other) = cluster_families.iter().find(|f| **f != families[0])
        {
            families.push(*other);
        }
        families.truncate(2);
        for (i, v4) in families.iter().enumerate() {
            if !cluster_families.contains(v4) {
                let mut errors = ErrorList::new();
                let family = if *v4 { "IPv4" } else { "IPv6" };
                errors.push(field::invalid(
                    &Path::new("spec").child("ipFamilies").index(i),
                    family,
                    "not configured on this cluster",
                ));
                return Err(invalid(app, &name, errors));
            }
        }
        if policy == "RequireDualStack" && cluster_families.len() < 2 {
            let mut errors = ErrorList::new();
            errors.push(field::invalid(
                &Path::new("spec").child("ipFamilyPolicy"),
                "RequireDualStack",
                "this cluster is not configured for dual-stack services",
            ));
            return Err(invalid(app, &name, errors));
        }
        families.dedup();
        let mut ips = Vec::new();
        for (i, v4) in families.iter().enumerate() {
            let path = Path::new("spec").child("clusterIPs");
            let result = match requested.get(i) {
                Some(ip) => self.ips.claim(app, *ip, &namespace, &name, dry_run).await.map(|()| *ip),
                None => self.ips.allocate(app, *v4, &namespace, &name, dry_run).await,
            };
            match result {
                Ok(ip) => {
                    if !dry_run {
                        reserved.ips.push(ip);
                    }
                    ips.push(ip);
                }
                Err(e) => {
                    let listed: Vec<String> = requested.iter().map(|ip| ip.to_string()).collect();
                    let detail = match (&e, requested.get(i)) {
                        (IpError::Taken, Some(ip)) => {
                            format!("failed to allocate IP {ip}: provided IP is already allocated")
                        }
                        (IpError::OutOfRange(range), Some(ip)) => format!(
                            "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}"
                        ),
                        (IpError::Api(err), _) => return Err(err.clone()),
                        _ => {
                            return Err(ApiError::internal("failed to allocate a serviceIP: range is full"));
                        }
                    };
                    let mut errors = ErrorList::new();
                    errors.push(field::invalid(&path.clone(), BadValue::string_list(&listed), detail));
                    return Err(invalid(app, &name, errors));
                }
            }
        }
        let Some(spec) = svc.spec.as_mut() else {
            return Ok(());
        };
        if let Some(first) = ips.first() {
            spec.cluster_ip = Some(first.to_string());
        }
        spec.cluster_ips = Some(ips.iter().map(|ip| ip.to_string()).collect());
        spec.ip_families =
            Some(ips.iter().map(|ip| if ip.is_ipv4() { "IPv4".into() } else { "IPv6".into() }).collect());
        if spec.ip_family_policy.is_none() {
            spec.ip_family_policy = Some("SingleStack".into());
        }
        Ok(())
    }

    /// Reserves node ports the service needs; `held` are ports it already holds.
    async fn allocate_ports(
        &self,
        app: &App,
        svc: &mut Service,
        held: &[u16],
        dry_run: bool,
        reserved: &mut Reserved,
    ) -> Result<(), ApiError> {
        let name = svc.metadata.name.clone().unwrap_or_default();
        let Some(spec) = svc.spec.as_mut() else {
            return Ok(());
        };
        let wants_ports = needs_node_ports(spec);
        let wants_health = needs_health_check_port(spec);
        let range = self.ports.range();
        let mut errors = ErrorList::new();
        if let Some(ports) = spec.ports.as_mut() {
            for (i, port) in ports.iter_mut().enumerate() {
                if !wants_ports {
                    continue;
                }
                let requested = port.node_port.filter(|p| *p > 0).and_then(|p| u16::try_from(p).ok());
                if let Some(p) = requested
                    && held.contains(&p)
                {
                    continue;
                }
                let path = Path::new("spec").child("ports").index(i).child("nodePort");
                match self.ports.allocate(app, requested, dry_run).await {
                    Ok(p) => {
                        if !dry_run {
                            reserved.ports.push(p);
                        }
                        port.node_port = Some(i32::from(p));
                    }
                    Err(PortError::Taken) => errors.push(field::invalid(
                        &path,
                        i64::from(requested.unwrap_or(0)),
                        "provided port is already allocated",
                    )),
                    Err(PortError::OutOfRange) => errors.push(field::invalid(
                        &path,
                        i64::from(requested.unwrap_or(0)),
                        format!("provided port is not in the valid range. The range of valid ports is {range}"),
                    )),
                    Err(PortError::Full) => {
                        return Err(ApiError::internal("failed to allocate a nodePort: range is full"));
                    }
                    Err(PortError::Api(e)) => return Err(e),
                }
            }
        }
        if wants_health {
            let requested = spec.health_check_node_port.filter(|p| *p > 0).and_then(|p| u16::try_from(p).ok());
            if !requested.is_some_and(|p| held.contains(&p)) {
                match self.ports.allocate(app, requested, dry_run).await {
                    Ok(p) => {
                        if !dry_run {
                            reserved.ports.push(p);
                        }
                        spec.health_check_node_port = Some(i32::from(p));
                    }
                    Err(PortError::Taken) => errors.push(field::invalid(
                        &Path::new("spec").child("healthCheckNodePort"),
                        i64::from(requested.unwrap_or(0)),
                        "provided port is already allocated",
                    )),
                    Err(PortError::OutOfRange) => errors.push(field::invalid(
                        &Path::new("spec").child("healthCheckNodePort"),
                        i64::from(requested.unwrap_or(0)),
                        format!("provided port is not in the valid range. The range of valid ports is {range}"),
                    )),
                    Err(PortError::Full) => {
                        return Err(ApiError::internal("failed to allocate a nodePort: range is full"));
                    }
                    Err(PortError::Api(e)) => return Err(e),
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(invalid(app, &name, errors)) }
    }
}

/// The IPs a service spec names (clusterIPs, else clusterIP).
fn requested_ips(spec: &ServiceSpec) -> Vec<IpAddr> {
    match spec.cluster_ips.as_ref().filter(|c| !c.is_empty()) {
        Some(list) => list.iter().filter_map(|s| s.parse().ok()).collect(),
        None => spec.cluster_ip.iter().filter_map(|s| s.parse().ok()).collect(),
    }
}

#[async_trait]
impl WriteHooks for ServiceAllocations {
    async fn before_create(&self, app: &App, obj: &mut dyn Object, dry_run: bool) -> Result<Reserved, ApiError> {
        let Some(svc) = krs_kinds::downcast_mut::<Service>(obj) else {
            return Ok(Reserved::default());
        };
        let mut reserved = Reserved::default();
        let result = async {
            self.allocate_ips(app, svc, dry_run, &mut reserved).await?;
            self.allocate_ports(app, svc, &[], dry_run, &mut reserved).await
        }
        .await;
        match result {
            Ok(()) => Ok(reserved),
            Err(e) => {
                self.release(app, &reserved).await;
                Err(e)
            }
        }
    }

    async fn before_update(
        &self,
        app: &App,
        new: &mut dyn Object,
        old: &dyn Object,
        dry_run: bool,
    ) -> Result<(Reserved, Reserved), ApiError> {
        let held = self.held(old);
        let Some(svc) = krs_kinds::downcast_mut::<Service>(new) else {
            return Ok((Reserved::default(), Reserved::default()));
        };
        let mut reserved = Reserved::default();
        let result = async {
            let had_ip = service(old)
                .and_then(|s| s.spec.as_ref())
                .is_some_and(|s| has_cluster_ip(s) && s.cluster_ip.as_deref().is_some_and(|c| !c.is_empty()));
            let wants_ip = svc.spec.as_ref().is_some_and(has_cluster_ip);
            if wants_ip && !had_ip {
                self.allocate_ips(app, svc, dry_run, &mut reserved).await?;
            }
            self.allocate_ports(app, svc, &held.ports, dry_run, &mut reserved).await
        }
        .await;
        if let Err(e) = result {
            self.release(app, &reserved).await;
            return Err(e);
        }
        let now = self.held(svc);
        let freed = Reserved {
            ips: held.ips.iter().filter(|ip| !now.ips.contains(ip)).copied().collect(),
            ports: held.ports.iter().filter(|p| !now.ports.contains(p)).copied().collect(),
        };
        Ok((reserved, freed))
    }

    async fn release(&self, app: &App, reserved: &Reserved) {
        for ip in &reserved.ips {
            self.ips.release(app, *ip).await;
        }
        self.ports.release(app, &reserved.ports).await;
    }

    fn held(&self, obj: &dyn Object) -> Reserved {
        let Some(spec) = service(obj).and_then(|s| s.spec.as_ref()) else {
            return Reserved::default();
        };
        let mut held = Reserved::default();
        if has_cluster_ip(spec) {
            held.ips = requested_ips(spec);
        }
        if needs_node_ports(spec) {
            held.ports
                .extend(spec.ports.iter().flatten().filter_map(|p| p.node_port).filter_map(|p| u16::try_from(p).ok()));
        }
        if needs_health_check_port(spec) {
            held.ports.extend(spec.health_check_node_port.and_then(|p| u16::try_from(p).ok()));
        }
        held
    }
}
