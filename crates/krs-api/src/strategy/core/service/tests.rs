use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;

fn svc(spec: ServiceSpec) -> Service {
    Service {
        metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), ..Default::default() },
        spec: Some(spec),
        ..Default::default()
    }
}

fn port(port: i32) -> ServicePort {
    ServicePort { port, ..Default::default() }
}

/// Defaults and prepares a new service, as the registry does before validation.
fn created(spec: ServiceSpec) -> Service {
    let mut s = svc(spec);
    SERVICE.default(&mut s);
    SERVICE.prepare_for_create(&mut s);
    s
}

fn spec(s: &Service) -> &ServiceSpec {
    s.spec.as_ref().unwrap()
}

#[test]
fn defaults_cluster_ip_service() {
    let s = created(ServiceSpec { ports: Some(vec![port(80)]), ..Default::default() });
    let sp = spec(&s);
    assert_eq!(sp.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(sp.session_affinity.as_deref(), Some("None"));
    assert_eq!(sp.internal_traffic_policy.as_deref(), Some("Cluster"));
    assert_eq!(sp.external_traffic_policy, None);
    assert_eq!(sp.ip_family_policy.as_deref(), Some("SingleStack"));
    let p = &sp.ports.as_ref().unwrap()[0];
    assert_eq!(p.protocol.as_deref(), Some("TCP"));
    assert_eq!(p.target_port, Some(IntOrString::Int(80)));
    assert!(SERVICE.validate(&s).is_empty(), "{}", SERVICE.validate(&s));
}

#[test]
fn defaults_load_balancer_and_client_ip_affinity() {
    let s = created(ServiceSpec {
        type_: Some("LoadBalancer".into()),
        session_affinity: Some("ClientIP".into()),
        ports: Some(vec![port(443)]),
        ..Default::default()
    });
    let sp = spec(&s);
    assert_eq!(sp.external_traffic_policy.as_deref(), Some("Cluster"));
    assert_eq!(sp.allocate_load_balancer_node_ports, Some(true));
    let timeout =
        sp.session_affinity_config.as_ref().and_then(|c| c.client_ip.as_ref()).and_then(|c| c.timeout_seconds);
    assert_eq!(timeout, Some(10800));
    assert!(SERVICE.validate(&s).is_empty(), "{}", SERVICE.validate(&s));
}

#[test]
fn headless_services_without_selector_require_dual_stack() {
    let s = created(ServiceSpec { cluster_ip: Some("None".into()), ..Default::default() });
    assert_eq!(spec(&s).cluster_ips.as_deref(), Some(&["None".to_owned()][..]));
    assert_eq!(spec(&s).ip_family_policy.as_deref(), Some("RequireDualStack"));
    assert!(SERVICE.validate(&s).is_empty(), "{}", SERVICE.validate(&s));
}

#[test]
fn ports_need_names_when_more_than_one() {
    let s = created(ServiceSpec { ports: Some(vec![port(80), port(443)]), ..Default::default() });
    assert_eq!(
        SERVICE.validate(&s).to_string(),
        "[spec.ports[0].name: Required value, spec.ports[1].name: Required value]"
    );
}

#[test]
fn port_range_and_protocol_are_checked() {
    let mut p = port(70000);
    p.protocol = Some("ICMP".into());
    p.target_port = Some(IntOrString::Int(80));
    let s = created(ServiceSpec { ports: Some(vec![p]), ..Default::default() });
    assert_eq!(
        SERVICE.validate(&s).to_string(),
        r#"[spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"]"#
    );
}

#[test]
fn external_name_must_be_a_dns_name() {
    let s = created(ServiceSpec {
        type_: Some("ExternalName".into()),
        external_name: Some("Not_Valid".into()),
        ..Default::default()
    });
    assert!(
        SERVICE
            .validate(&s)
            .to_string()
            .starts_with(r#"spec.externalName: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain"#),
        "{}",
        SERVICE.validate(&s)
    );
    let ok = created(ServiceSpec {
        type_: Some("ExternalName".into()),
        external_name: Some("db.example.com.".into()),
        ..Default::default()
    });
    assert!(SERVICE.validate(&ok).is_empty(), "{}", SERVICE.validate(&ok));
}

#[test]
fn node_ports_are_forbidden_on_cluster_ip_services() {
    let mut p = port(80);
    p.node_port = Some(30080);
    let s = created(ServiceSpec { ports: Some(vec![p]), ..Default::default() });
    assert_eq!(
        SERVICE.validate(&s).to_string(),
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    );
}

#[test]
fn unknown_type_is_not_supported() {
    let s = created(ServiceSpec { type_: Some("Magic".into()), ports: Some(vec![port(80)]), ..Default::default() });
    assert!(SERVICE.validate(&s).to_string().contains(
        r#"spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
    ));
}

#[test]
fn cluster_ip_is_immutable() {
    let old = created(ServiceSpec {
        cluster_ip: Some("10.0.0.10".into()),
        ports: Some(vec![port(80)]),
        ..Default::default()
    });
    let mut new =
        svc(ServiceSpec { cluster_ip: Some("10.0.0.11".into()), ports: Some(vec![port(80)]), ..Default::default() });
    SERVICE.default(&mut new);
    SERVICE.prepare_for_update(&mut new, &old);
    let errs = SERVICE.validate_update(&new, &old).to_string();
    assert!(errs.contains(r#"spec.clusterIPs[0]: Invalid value: ["10.0.0.11"]: may not change once set"#), "{errs}");
}

#[test]
fn updates_keep_allocated_values_the_client_omitted() {
    let mut old_port = port(80);
    old_port.node_port = Some(30080);
    let mut old = created(ServiceSpec {
        type_: Some("NodePort".into()),
        cluster_ip: Some("10.0.0.10".into()),
        ports: Some(vec![old_port]),
        ..Default::default()
    });
    old.spec.as_mut().unwrap().ip_families = Some(vec!["IPv4".into()]);
    let mut new =
        svc(ServiceSpec { type_: Some("NodePort".into()), ports: Some(vec![port(80)]), ..Default::default() });
    SERVICE.default(&mut new);
    SERVICE.prepare_for_update(&mut new, &old);
    assert_eq!(spec(&new).cluster_ip.as_deref(), Some("10.0.0.10"));
    assert_eq!(spec(&new).cluster_ips.as_deref(), Some(&["10.0.0.10".to_owned()][..]));
    assert_eq!(spec(&new).ports.as_ref().unwrap()[0].node_port, Some(30080));
    assert!(SERVICE.validate_update(&new, &old).is_empty(), "{}", SERVICE.validate_update(&new, &old));
}

#[test]
fn switching_to_external_name_clears_cluster_fields() {
    let mut old_port = port(80);
    old_port.node_port = Some(30080);
    let old = created(ServiceSpec {
        type_: Some("NodePort".into()),
        cluster_ip: Some("10.0.0.10".into()),
        ports: Some(vec![old_port]),
        ..Default::default()
    });
    let mut new = old.clone();
    {
        let sp = new.spec.as_mut().unwrap();
        sp.type_ = Some("ExternalName".into());
        sp.external_name = Some("example.com".into());
    }
    SERVICE.default(&mut new);
    SERVICE.prepare_for_update(&mut new, &old);
    let sp = spec(&new);
    assert_eq!(sp.cluster_ip, None);
    assert_eq!(sp.cluster_ips, None);
    assert_eq!(sp.ip_family_policy, None);
    assert_eq!(sp.external_traffic_policy, None);
    assert_eq!(sp.ports.as_ref().unwrap()[0].node_port, None);
    assert!(SERVICE.validate_update(&new, &old).is_empty(), "{}", SERVICE.validate_update(&new, &old));
}

#[test]
fn load_balancer_class_is_immutable() {
    let old = created(ServiceSpec {
        type_: Some("LoadBalancer".into()),
        load_balancer_class: Some("example.com/a".into()),
        ports: Some(vec![port(80)]),
        ..Default::default()
    });
    let mut new = old.clone();
    new.spec.as_mut().unwrap().load_balancer_class = Some("example.com/b".into());
    assert!(
        SERVICE
            .validate_update(&new, &old)
            .to_string()
            .contains(r#"spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set"#)
    );
}

#[test]
fn external_traffic_policy_only_for_externally_accessible_services() {
    let mut s = created(ServiceSpec { ports: Some(vec![port(80)]), ..Default::default() });
    s.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    assert_eq!(
        SERVICE.validate(&s).to_string(),
        r#"spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services"#
    );
}

#[test]
fn cluster_ips_must_be_dual_stack() {
    let mut s = svc(ServiceSpec {
        cluster_ip: Some("10.0.0.1".into()),
        cluster_ips: Some(vec!["10.0.0.1".into(), "10.0.0.2".into()]),
        ip_family_policy: Some("RequireDualStack".into()),
        ports: Some(vec![port(80)]),
        ..Default::default()
    });
    SERVICE.default(&mut s);
    SERVICE.prepare_for_create(&mut s);
    assert!(SERVICE.validate(&s).to_string().contains(
        r#"spec.clusterIPs: Invalid value: ["10.0.0.1","10.0.0.2"]: may specify no more than one IP for each IP family"#
    ));
}

#[test]
fn field_labels_are_cluster_ip_and_type() {
    let names: Vec<_> = SERVICE.field_labels().iter().map(|f| f.name).collect();
    assert_eq!(names, ["spec.clusterIP", "spec.type"]);
}
