use super::*;
use crate::framework::{Code, CycleState, FilterPlugin};
use crate::testing::{NodeBuilder, PodBuilder, node_with_pods, score_nodes};

fn fit() -> Fit {
    Fit::new(FitArgs::default())
}

#[test]
fn every_insufficient_resource_is_a_reason() {
    let node = node_with_pods(
        NodeBuilder::new("n").allocatable(&[("cpu", "2"), ("memory", "2Gi"), ("pods", "2"), ("example.com/gpu", "1")]),
        vec![PodBuilder::new("a").req(&[("cpu", "1500m"), ("memory", "1Gi")]).node_name("n").info()],
    );
    let pod = PodBuilder::new("p").req(&[("cpu", "1"), ("memory", "1536Mi"), ("example.com/gpu", "2")]).info();
    let s = fit().filter(&CycleState::default(), &pod, &node);
    assert_eq!(s.message(), "Insufficient cpu, Insufficient memory, Insufficient example.com/gpu");
    // 2 GPUs on a 1-GPU node: removing pods cannot help.
    assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
    let small = PodBuilder::new("p").req(&[("cpu", "1")]).info();
    let s = fit().filter(&CycleState::default(), &small, &node);
    assert_eq!((s.code, s.message().as_str()), (Code::Unschedulable, "Insufficient cpu"));
}

#[test]
fn pod_count_is_checked_even_for_best_effort_pods() {
    let node = node_with_pods(
        NodeBuilder::new("n").allocatable(&[("cpu", "2"), ("memory", "2Gi"), ("pods", "1")]),
        vec![PodBuilder::new("a").node_name("n").info()],
    );
    let s = fit().filter(&CycleState::default(), &PodBuilder::new("p").info(), &node);
    assert_eq!(s.message(), "Too many pods");
}

#[test]
fn ignored_extended_resources_are_not_checked() {
    let args: FitArgs =
        serde_json::from_value(serde_json::json!({"ignoredResourceGroups": ["example.com"]})).unwrap_or_default();
    let node = NodeBuilder::new("n").info();
    let pod = PodBuilder::new("p").req(&[("example.com/gpu", "1")]).info();
    assert!(Fit::new(args).filter(&CycleState::default(), &pod, &node).is_success());
    assert!(!fit().filter(&CycleState::default(), &pod, &node).is_success());
}

#[test]
fn pod_level_resources_and_sidecars_are_what_is_checked() {
    let node = NodeBuilder::new("n").allocatable(&[("cpu", "1"), ("memory", "4Gi"), ("pods", "10")]).info();
    // Containers ask 100m but the pod-level request is 2 CPUs: it does not fit.
    let pod_level = PodBuilder::new("p").req(&[("cpu", "100m")]).pod_level_req(&[("cpu", "2")]).info();
    assert_eq!(fit().filter(&CycleState::default(), &pod_level, &node).message(), "Insufficient cpu");
    // A 600m sidecar plus a 600m app container exceed 1 CPU.
    let sidecar = PodBuilder::new("p").req(&[("cpu", "600m")]).init_container(&[("cpu", "600m")], true).info();
    assert_eq!(fit().filter(&CycleState::default(), &sidecar, &node).message(), "Insufficient cpu");
    // A classic init container of 600m runs alone: 600m fits.
    let init = PodBuilder::new("p").req(&[("cpu", "600m")]).init_container(&[("cpu", "600m")], false).info();
    assert!(fit().filter(&CycleState::default(), &init, &node).is_success());
}

#[test]
fn least_allocated_prefers_empty_nodes_and_most_allocated_full_ones() {
    let nodes = vec![
        node_with_pods(
            NodeBuilder::new("busy").allocatable(&[("cpu", "4"), ("memory", "4Gi"), ("pods", "10")]),
            vec![PodBuilder::new("a").req(&[("cpu", "3"), ("memory", "3Gi")]).node_name("busy").info()],
        ),
        NodeBuilder::new("idle").allocatable(&[("cpu", "4"), ("memory", "4Gi"), ("pods", "10")]).info(),
    ];
    let pod = PodBuilder::new("p").req(&[("cpu", "1"), ("memory", "1Gi")]).info();
    // LeastAllocated: busy (4-4)/4 = 0; idle (4-1)/4 = 75.
    assert_eq!(score_nodes(&fit(), &pod, &nodes), vec![0, 75]);
    let most: FitArgs =
        serde_json::from_value(serde_json::json!({"scoringStrategy": {"type": "MostAllocated"}})).unwrap_or_default();
    assert_eq!(score_nodes(&Fit::new(most), &pod, &nodes), vec![100, 25]);
    let rtcr: FitArgs =
        serde_json::from_value(serde_json::json!({"scoringStrategy": {"type": "RequestedToCapacityRatio",
        "resources": [{"name": "cpu", "weight": 1}],
        "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}))
        .unwrap_or_default();
    assert_eq!(score_nodes(&Fit::new(rtcr), &pod, &nodes), vec![100, 25]);
}

#[test]
fn balanced_allocation_prefers_even_fractions_and_skips_best_effort_pods() {
    let nodes = vec![
        node_with_pods(
            NodeBuilder::new("cpu-heavy").allocatable(&[("cpu", "4"), ("memory", "4Gi"), ("pods", "10")]),
            vec![PodBuilder::new("a").req(&[("cpu", "3")]).node_name("cpu-heavy").info()],
        ),
        NodeBuilder::new("even").allocatable(&[("cpu", "4"), ("memory", "4Gi"), ("pods", "10")]).info(),
    ];
    let pod = PodBuilder::new("p").req(&[("cpu", "1"), ("memory", "1Gi")]).info();
    let ba = BalancedAllocation::new(BalancedAllocationArgs::default());
    // cpu-heavy: cpu 4/4=1, memory 1/4: std = 0.375 -> 62; even: 1/4 and 1/4 -> 100.
    assert_eq!(score_nodes(&ba, &pod, &nodes), vec![62, 100]);
    assert_eq!(score_nodes(&ba, &PodBuilder::new("be").info(), &nodes), vec![0, 0], "best-effort pods are skipped");
}
