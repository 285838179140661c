use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;

fn list(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

fn container(requests: &[(&str, &str)], sidecar: bool) -> Container {
    Container {
        name: "c".into(),
        resources: Some(ResourceRequirements { requests: Some(list(requests)), ..Default::default() }),
        restart_policy: sidecar.then(|| "Always".to_string()),
        ..Default::default()
    }
}

fn pod(containers: Vec<Container>, init: Vec<Container>) -> Pod {
    Pod { spec: Some(PodSpec { containers, init_containers: Some(init), ..Default::default() }), ..Default::default() }
}

#[test]
fn containers_are_summed_and_init_containers_are_a_maximum() {
    let p = pod(
        vec![container(&[("cpu", "100m"), ("memory", "1Ki")], false), container(&[("cpu", "200m")], false)],
        vec![container(&[("cpu", "500m")], false), container(&[("memory", "4Ki")], false)],
    );
    let r = pod_requests(&p);
    assert_eq!(r.milli_cpu, 500);
    assert_eq!(r.memory, 4096);
}

#[test]
fn sidecars_add_to_the_regular_containers_and_to_later_init_containers() {
    // sidecar 200m runs beside the app (300m) = 500m; the init container after it needs
    // 400m + 200m = 600m, which is the maximum.
    let p = pod(
        vec![container(&[("cpu", "300m")], false)],
        vec![container(&[("cpu", "200m")], true), container(&[("cpu", "400m")], false)],
    );
    assert_eq!(pod_requests(&p).milli_cpu, 600);
    // An init container before the sidecar does not see it.
    let p = pod(
        vec![container(&[("cpu", "300m")], false)],
        vec![container(&[("cpu", "400m")], false), container(&[("cpu", "200m")], true)],
    );
    assert_eq!(pod_requests(&p).milli_cpu, 500);
}

#[test]
fn pod_level_resources_override_the_container_aggregate() {
    let mut p = pod(vec![container(&[("cpu", "100m"), ("example.com/gpu", "2")], false)], vec![]);
    if let Some(spec) = p.spec.as_mut() {
        spec.resources = Some(ResourceRequirements {
            requests: Some(list(&[("cpu", "1"), ("memory", "1Gi")])),
            ..Default::default()
        });
    }
    let r = pod_requests(&p);
    assert_eq!(r.milli_cpu, 1000);
    assert_eq!(r.memory, 1 << 30);
    assert_eq!(r.scalar.get("example.com/gpu"), Some(&2));
    // Pod-level memory is set, so the scoring default does not replace it; nothing is missing.
    let nz = pod_non_zero_requests(&p);
    assert_eq!(nz.memory, 1 << 30);
}

#[test]
fn non_zero_requests_default_missing_cpu_and_memory() {
    let p = pod(vec![container(&[], false), container(&[("cpu", "50m")], false)], vec![]);
    let nz = pod_non_zero_requests(&p);
    assert_eq!(nz.milli_cpu, DEFAULT_MILLI_CPU_REQUEST + 50);
    assert_eq!(nz.memory, 2 * DEFAULT_MEMORY_REQUEST);
    assert!(pod_requests(&p).memory == 0);
}

#[test]
fn overhead_is_added() {
    let mut p = pod(vec![container(&[("cpu", "100m")], false)], vec![]);
    if let Some(spec) = p.spec.as_mut() {
        spec.overhead = Some(list(&[("cpu", "10m")]));
    }
    assert_eq!(pod_requests(&p).milli_cpu, 110);
}

#[test]
fn extended_resource_names() {
    assert!(is_extended_resource_name("example.com/gpu"));
    assert!(!is_extended_resource_name("kubernetes.io/foo"));
    assert!(!is_extended_resource_name("cpu"));
    assert!(is_scalar_resource_name("hugepages-2Mi"));
}
