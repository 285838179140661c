//! Defaulting and validation of pod specs, pinned to upstream's results and messages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Toleration,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::Path;

use super::*;

fn container(name: &str, image: &str) -> Container {
    Container { name: name.into(), image: Some(image.into()), ..Default::default() }
}

fn spec_with(containers: Vec<Container>) -> PodSpec {
    let mut spec = PodSpec { containers, ..Default::default() };
    set_defaults_pod_spec(&mut spec);
    spec
}

fn validate(spec: &PodSpec) -> String {
    validate_pod_spec(spec, None, &Path::new("spec"), PodValidationOptions::default()).to_string()
}

fn resources(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Option<ResourceRequirements> {
    let list = |items: &[(&str, &str)]| {
        (!items.is_empty()).then(|| {
            items.iter().map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned()))).collect::<BTreeMap<_, _>>()
        })
    };
    Some(ResourceRequirements { requests: list(requests), limits: list(limits), claims: None })
}

#[test]
fn pod_spec_defaults_match_upstream() {
    let spec = spec_with(vec![container("c", "nginx:1.27")]);
    assert_eq!(spec.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.termination_grace_period_seconds, Some(30));
    assert_eq!(spec.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(spec.security_context, Some(Default::default()));
    let c = &spec.containers[0];
    assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert_eq!(c.termination_message_path.as_deref(), Some("/dev/termination-log"));
    assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
    // Templates do not get the pod-only defaults.
    assert_eq!(spec.enable_service_links, None);
}

#[test]
fn image_pull_policy_is_always_for_latest_or_untagged_images() {
    let spec = spec_with(vec![
        container("a", "nginx"),
        container("b", "nginx:latest"),
        container("c", "nginx:1.27"),
        container("d", "registry.k8s.io/pause@sha256:0123"),
    ]);
    let policies: Vec<_> = spec.containers.iter().map(|c| c.image_pull_policy.clone().unwrap_or_default()).collect();
    assert_eq!(policies, ["Always", "Always", "IfNotPresent", "IfNotPresent"]);
}

#[test]
fn ports_probes_and_volumes_are_defaulted() {
    let mut c = container("c", "nginx");
    c.ports = Some(vec![ContainerPort { container_port: 80, ..Default::default() }]);
    c.liveness_probe = Some(Probe {
        http_get: Some(HTTPGetAction { port: IntOrString::Int(80), ..Default::default() }),
        ..Default::default()
    });
    let mut spec = PodSpec {
        containers: vec![c],
        volumes: Some(vec![
            Volume { name: "scratch".into(), ..Default::default() },
            Volume { name: "cfg".into(), config_map: Some(Default::default()), ..Default::default() },
        ]),
        ..Default::default()
    };
    set_defaults_pod_spec(&mut spec);
    let c = &spec.containers[0];
    assert_eq!(c.ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
    let probe = c.liveness_probe.as_ref().unwrap();
    assert_eq!(
        (probe.timeout_seconds, probe.period_seconds, probe.success_threshold, probe.failure_threshold),
        (Some(1), Some(10), Some(1), Some(3))
    );
    let http = probe.http_get.as_ref().unwrap();
    assert_eq!((http.path.as_deref(), http.scheme.as_deref()), (Some("/"), Some("HTTP")));
    let volumes = spec.volumes.unwrap();
    assert!(volumes[0].empty_dir.is_some());
    assert_eq!(volumes[1].config_map.as_ref().unwrap().default_mode, Some(420));
}

#[test]
fn pod_defaults_requests_to_limits_and_enables_service_links() {
    let mut c = container("c", "nginx");
    c.resources = resources(&[], &[("cpu", "500m"), ("memory", "1Gi")]);
    let mut spec = PodSpec { containers: vec![c], ..Default::default() };
    set_defaults_pod(&mut spec);
    let r = spec.containers[0].resources.as_ref().unwrap();
    assert_eq!(r.requests, r.limits);
    assert_eq!(spec.enable_service_links, Some(true));
}

#[test]
fn resource_quantities_round_up_to_milli_units() {
    let mut c = container("c", "nginx");
    c.resources = resources(&[("cpu", "0.0001")], &[]);
    let spec = spec_with(vec![c]);
    let r = spec.containers[0].resources.as_ref().unwrap();
    assert_eq!(r.requests.as_ref().unwrap()["cpu"].0, "1m");
}

#[test]
fn containers_are_required() {
    assert_eq!(validate(&spec_with(vec![])), "spec.containers: Required value");
}

#[test]
fn container_image_is_required() {
    let mut c = container("c", "");
    c.image = None;
    assert_eq!(validate(&spec_with(vec![c])), "spec.containers[0].image: Required value");
}

#[test]
fn container_names_are_unique_dns_labels() {
    let spec = spec_with(vec![container("web", "nginx"), container("web", "nginx"), container("Web_1", "nginx")]);
    assert_eq!(
        validate(&spec),
        "[spec.containers[1].name: Duplicate value: \"web\", spec.containers[2].name: Invalid value: \"Web_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')]"
    );
}

#[test]
fn container_ports_are_checked() {
    let mut c = container("c", "nginx");
    c.ports = Some(vec![
        ContainerPort { container_port: 0, name: Some("http".into()), ..Default::default() },
        ContainerPort {
            container_port: 70000,
            name: Some("http".into()),
            protocol: Some("HTTP".into()),
            ..Default::default()
        },
    ]);
    assert_eq!(
        validate(&spec_with(vec![c])),
        "[spec.containers[0].ports[0].containerPort: Required value, spec.containers[0].ports[1].name: Duplicate value: \"http\", spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"]"
    );
}

#[test]
fn volume_mounts_must_name_a_volume() {
    let mut c = container("c", "nginx");
    c.volume_mounts = Some(vec![VolumeMount { name: "data".into(), mount_path: "/data".into(), ..Default::default() }]);
    assert_eq!(validate(&spec_with(vec![c])), "spec.containers[0].volumeMounts[0].name: Not found: \"data\"");
}

#[test]
fn volumes_have_exactly_one_source_and_unique_names() {
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.volumes = Some(vec![
        Volume {
            name: "a".into(),
            empty_dir: Some(Default::default()),
            config_map: Some(Default::default()),
            ..Default::default()
        },
        Volume { name: "b".into(), empty_dir: Some(Default::default()), ..Default::default() },
        Volume { name: "b".into(), empty_dir: Some(Default::default()), ..Default::default() },
    ]);
    assert_eq!(
        validate(&spec),
        "[spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type, spec.volumes[2].name: Duplicate value: \"b\"]"
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let mut c = container("c", "nginx");
    c.resources = resources(&[("cpu", "2")], &[("cpu", "1")]);
    assert_eq!(
        validate(&spec_with(vec![c])),
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
    );
}

#[test]
fn negative_and_unknown_resources_are_rejected() {
    let mut c = container("c", "nginx");
    c.resources = resources(&[("memory", "-1"), ("gpu", "1")], &[]);
    assert_eq!(
        validate(&spec_with(vec![c])),
        "[spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified, spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers, spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0]"
    );
}

#[test]
fn restart_and_dns_policies_are_enums() {
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.restart_policy = Some("Sometimes".into());
    spec.dns_policy = Some("Google".into());
    assert_eq!(
        validate(&spec),
        "[spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\", spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"]"
    );
}

#[test]
fn env_var_names_and_sources_are_checked() {
    let mut c = container("c", "nginx");
    c.env = Some(vec![
        EnvVar { name: String::new(), ..Default::default() },
        EnvVar { name: "A=B".into(), ..Default::default() },
    ]);
    assert_eq!(
        validate(&spec_with(vec![c])),
        "[spec.containers[0].env[0].name: Required value, spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '=']"
    );
}

#[test]
fn regular_init_containers_may_not_have_probes_but_sidecars_may() {
    let mut init = container("init", "busybox");
    init.readiness_probe = Some(Probe { exec: Some(Default::default()), ..Default::default() });
    let mut sidecar = container("sidecar", "envoy");
    sidecar.restart_policy = Some("Always".into());
    sidecar.readiness_probe = Some(Probe {
        tcp_socket: Some(k8s_openapi::api::core::v1::TCPSocketAction { port: IntOrString::Int(9901), host: None }),
        ..Default::default()
    });
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.init_containers = Some(vec![init, sidecar]);
    set_defaults_pod_spec(&mut spec);
    assert_eq!(
        validate(&spec),
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
    );
}

#[test]
fn regular_containers_may_not_set_a_restart_policy() {
    let mut c = container("c", "nginx");
    c.restart_policy = Some("Always".into());
    assert_eq!(
        validate(&spec_with(vec![c])),
        "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"
    );
}

#[test]
fn tolerations_are_checked() {
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.tolerations = Some(vec![
        Toleration { operator: Some("Equal".into()), ..Default::default() },
        Toleration {
            key: Some("k".into()),
            toleration_seconds: Some(5),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        },
    ]);
    assert_eq!(
        validate(&spec),
        "[spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\", spec.tolerations[1].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set]"
    );
}

#[test]
fn node_selector_and_hostname_are_checked() {
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.node_selector = Some([("disk".to_owned(), "ssd!".to_owned())].into());
    spec.hostname = Some("Host".into());
    let out = validate(&spec);
    assert!(out.starts_with("[spec.nodeSelector: Invalid value: \"ssd!\": a valid label must be"), "{out}");
    assert!(out.contains("spec.hostname: Invalid value: \"Host\": a lowercase RFC 1123 label"), "{out}");
}

#[test]
fn template_labels_are_validated_and_ephemeral_containers_forbidden() {
    let mut spec = spec_with(vec![container("c", "nginx")]);
    spec.ephemeral_containers = Some(vec![k8s_openapi::api::core::v1::EphemeralContainer {
        name: "debug".into(),
        image: Some("busybox".into()),
        image_pull_policy: Some("IfNotPresent".into()),
        termination_message_policy: Some("File".into()),
        ..Default::default()
    }]);
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".to_owned(), "a b".to_owned())].into()),
            ..Default::default()
        }),
        spec: Some(spec),
    };
    let out = validate_pod_template_spec(&template, &Path::new("template")).to_string();
    assert!(out.starts_with("[template.labels: Invalid value: \"a b\": a valid label must be"), "{out}");
    assert!(
        out.ends_with(
            "template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template]"
        ),
        "{out}"
    );
}

#[test]
fn qos_class_follows_requests_and_limits() {
    let best_effort = spec_with(vec![container("c", "nginx")]);
    assert_eq!(compute_pod_qos(&best_effort), "BestEffort");
    let mut c = container("c", "nginx");
    c.resources = resources(&[("cpu", "1"), ("memory", "1Gi")], &[("cpu", "1"), ("memory", "1Gi")]);
    assert_eq!(compute_pod_qos(&spec_with(vec![c.clone()])), "Guaranteed");
    c.resources = resources(&[("cpu", "500m")], &[("cpu", "1"), ("memory", "1Gi")]);
    assert_eq!(compute_pod_qos(&spec_with(vec![c])), "Burstable");
}

#[test]
fn template_warnings_flag_deprecated_labels_and_duplicate_env() {
    let mut c = container("c", "nginx");
    c.env = Some(vec![
        EnvVar { name: "A".into(), value: Some("1".into()), value_from: None },
        EnvVar { name: "A".into(), value: Some("2".into()), value_from: None },
    ]);
    let mut spec = spec_with(vec![c]);
    spec.node_selector = Some([("beta.kubernetes.io/os".to_owned(), "linux".to_owned())].into());
    let template = PodTemplateSpec { metadata: None, spec: Some(spec) };
    assert_eq!(
        warnings_for_pod_template(&template, &Path::new("spec").child("template")),
        vec![
            "spec.template.spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use \"kubernetes.io/os\" instead".to_owned(),
            "spec.template.spec.containers[0].env[1]: hides previous definition of \"A\", which may be dropped when using apply".to_owned(),
        ]
    );
}
