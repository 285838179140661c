use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPAddressSpec, IPBlock, IngressBackend, IngressClassParametersReference,
    IngressClassSpec, IngressRule, IngressServiceBackend, IngressSpec, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, ParentReference,
    ServiceBackendPort, ServiceCIDRSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;

fn backend(name: &str, number: Option<i32>) -> IngressBackend {
    IngressBackend {
        service: Some(IngressServiceBackend {
            name: name.into(),
            port: Some(ServiceBackendPort { number, name: None }),
        }),
        resource: None,
    }
}

fn ingress(path_type: &str, path: &str) -> Ingress {
    Ingress {
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some("example.com".into()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(path.into()),
                        path_type: path_type.into(),
                        backend: backend("web", Some(80)),
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn ingress_paths_need_a_known_type_and_absolute_path() {
    assert!(INGRESS.validate(&ingress("Prefix", "/")).is_empty());
    assert_eq!(
        INGRESS.validate(&ingress("", "/")).to_string(),
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
    );
    assert_eq!(
        INGRESS.validate(&ingress("Regex", "/")).to_string(),
        r#"spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix""#
    );
    assert_eq!(
        INGRESS.validate(&ingress("Exact", "api//v1")).to_string(),
        r#"[spec.rules[0].http.paths[0].path: Invalid value: "api//v1": must be an absolute path, spec.rules[0].http.paths[0].path: Invalid value: "api//v1": must not contain '//']"#
    );
}

#[test]
fn ingress_needs_rules_or_default_backend_and_a_port() {
    let empty = Ingress { spec: Some(IngressSpec::default()), ..Default::default() };
    assert_eq!(
        INGRESS.validate(&empty).to_string(),
        "spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"
    );
    let mut no_port = ingress("Prefix", "/");
    no_port.spec.as_mut().unwrap().rules.as_mut().unwrap()[0].http.as_mut().unwrap().paths[0].backend =
        backend("web", None);
    assert_eq!(
        INGRESS.validate(&no_port).to_string(),
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"
    );
}

#[test]
fn ingress_class_annotation_is_deprecated() {
    let mut ing = ingress("Prefix", "/");
    ing.metadata.annotations = Some(BTreeMap::from([(ANNOTATION_INGRESS_CLASS.to_owned(), "nginx".to_owned())]));
    assert_eq!(
        INGRESS.warnings_on_create(&ing),
        [r#"annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead"#]
    );
}

fn ingress_class(controller: &str) -> IngressClass {
    IngressClass {
        spec: Some(IngressClassSpec { controller: Some(controller.into()), parameters: None }),
        ..Default::default()
    }
}

#[test]
fn ingress_class_controller_is_required_and_immutable() {
    assert_eq!(INGRESS_CLASS.validate(&IngressClass::default()).to_string(), "spec.controller: Required value");
    assert!(INGRESS_CLASS.validate(&ingress_class("example.com/ingress")).is_empty());
    assert_eq!(
        INGRESS_CLASS.validate_update(&ingress_class("example.com/b"), &ingress_class("example.com/a")).to_string(),
        r#"spec.controller: Invalid value: "example.com/b": field is immutable"#
    );
}

#[test]
fn ingress_class_parameters_scope_defaults_to_cluster() {
    let mut ic = ingress_class("example.com/ingress");
    ic.spec.as_mut().unwrap().parameters =
        Some(IngressClassParametersReference { kind: "Params".into(), name: "p".into(), ..Default::default() });
    INGRESS_CLASS.default(&mut ic);
    assert_eq!(ic.spec.as_ref().unwrap().parameters.as_ref().unwrap().scope.as_deref(), Some("Cluster"));
    assert!(INGRESS_CLASS.validate(&ic).is_empty());
}

fn port(port: Option<IntOrString>, end_port: Option<i32>) -> NetworkPolicyPort {
    NetworkPolicyPort { port, end_port, protocol: None }
}

#[test]
fn network_policy_defaults_types_and_protocols() {
    let mut np = NetworkPolicy {
        spec: Some(NetworkPolicySpec {
            egress: Some(vec![NetworkPolicyEgressRule {
                ports: Some(vec![port(Some(IntOrString::Int(53)), None)]),
                to: None,
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    NETWORK_POLICY.default(&mut np);
    let spec = np.spec.as_ref().unwrap();
    assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned(), "Egress".to_owned()]));
    assert_eq!(spec.egress.as_ref().unwrap()[0].ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
    assert!(NETWORK_POLICY.validate(&np).is_empty());
}

#[test]
fn network_policy_end_port_needs_a_lower_numeric_port() {
    let np = |p: NetworkPolicyPort| NetworkPolicy {
        spec: Some(NetworkPolicySpec {
            ingress: Some(vec![NetworkPolicyIngressRule { ports: Some(vec![p]), from: None }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        NETWORK_POLICY.validate(&np(port(Some(IntOrString::Int(100)), Some(90)))).to_string(),
        "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`"
    );
    assert_eq!(
        NETWORK_POLICY.validate(&np(port(None, Some(90)))).to_string(),
        "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"
    );
    assert_eq!(
        NETWORK_POLICY.validate(&np(port(Some(IntOrString::String("http".into())), Some(90)))).to_string(),
        "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"
    );
}

#[test]
fn network_policy_peers_are_checked() {
    let np = |peer: NetworkPolicyPeer| NetworkPolicy {
        spec: Some(NetworkPolicySpec {
            ingress: Some(vec![NetworkPolicyIngressRule { from: Some(vec![peer]), ports: None }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        NETWORK_POLICY.validate(&np(NetworkPolicyPeer::default())).to_string(),
        "spec.ingress[0].from[0]: Required value: must specify a peer"
    );
    let block = NetworkPolicyPeer {
        ip_block: Some(IPBlock { cidr: "10.0.0.0/16".into(), except: Some(vec!["10.1.0.0/24".into()]) }),
        ..Default::default()
    };
    assert_eq!(
        NETWORK_POLICY.validate(&np(block)).to_string(),
        r#"spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`"#
    );
}

fn service_cidr(cidrs: &[&str]) -> ServiceCIDR {
    ServiceCIDR {
        spec: Some(ServiceCIDRSpec { cidrs: Some(cidrs.iter().map(|c| (*c).to_owned()).collect()) }),
        ..Default::default()
    }
}

#[test]
fn service_cidrs_are_one_or_two_of_different_families() {
    assert!(SERVICE_CIDR.validate(&service_cidr(&["10.96.0.0/12", "fd00::/108"])).is_empty());
    assert_eq!(
        SERVICE_CIDR.validate(&service_cidr(&[])).to_string(),
        "spec.cidrs: Required value: at least one CIDR required"
    );
    assert_eq!(
        SERVICE_CIDR.validate(&service_cidr(&["10.0.0.0/24", "10.1.0.0/24"])).to_string(),
        r#"spec.cidrs: Invalid value: ["10.0.0.0/24","10.1.0.0/24"]: may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"#
    );
    assert_eq!(
        SERVICE_CIDR.validate_update(&service_cidr(&["10.1.0.0/24"]), &service_cidr(&["10.0.0.0/24"])).to_string(),
        r#"spec.cidrs[0]: Invalid value: "10.1.0.0/24": field is immutable"#
    );
    assert!(
        SERVICE_CIDR
            .validate_update(&service_cidr(&["10.0.0.0/24", "fd00::/108"]), &service_cidr(&["10.0.0.0/24"]))
            .is_empty()
    );
}

#[test]
fn ip_address_names_are_canonical_ips_with_a_parent() {
    let rule = IP_ADDRESS.name_validator();
    assert!(rule("10.0.0.1", false).is_empty());
    assert_eq!(rule("2001:DB8::1", false), [r#"must be in canonical form ("2001:db8::1")"#]);
    let ip = IPAddress {
        metadata: ObjectMeta { name: Some("10.0.0.1".into()), ..Default::default() },
        spec: Some(IPAddressSpec {
            parent_ref: ParentReference { resource: "services".into(), name: String::new(), ..Default::default() },
        }),
    };
    assert_eq!(IP_ADDRESS.validate(&ip).to_string(), "spec.parentRef.name: Required value");
}
