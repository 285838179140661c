use super::*;
use crate::framework::Handle;
use crate::testing::{NodeBuilder, PodBuilder, default_framework, node_with_pods};

#[test]
fn adaptive_percentage_of_nodes_to_score() {
    assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
    assert_eq!(num_feasible_nodes_to_find(None, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(None, 10000), 500);
    assert_eq!(num_feasible_nodes_to_find(Some(100), 5000), 5000);
    assert_eq!(num_feasible_nodes_to_find(Some(1), 5000), 100);
}

#[test]
fn the_nominated_node_is_tried_first() {
    let fw = default_framework(Handle::offline());
    let nodes: Vec<_> = (0..20).map(|i| NodeBuilder::new(&format!("n{i}")).info()).collect();
    let snap = Snapshot::from_nodes(nodes);
    let mut alg = Algorithm::default();
    let pod = PodBuilder::new("p").req(&[("cpu", "100m")]).nominated("n13").info();
    for _ in 0..5 {
        let r = alg.schedule_pod(&fw, &mut CycleState::default(), &pod, &snap).unwrap_or_else(|_| panic!("no fit"));
        assert_eq!(&*r.suggested_host, "n13");
        assert_eq!(r.feasible_nodes, 1);
    }
    // A nominated node that no longer fits is just skipped.
    let full = Snapshot::from_nodes(vec![
        node_with_pods(
            NodeBuilder::new("n0"),
            vec![PodBuilder::new("big").req(&[("cpu", "4")]).node_name("n0").info()],
        ),
        NodeBuilder::new("n1").info(),
    ]);
    let pod = PodBuilder::new("p").req(&[("cpu", "100m")]).nominated("n0").info();
    let r = alg.schedule_pod(&fw, &mut CycleState::default(), &pod, &full).unwrap_or_else(|_| panic!("no fit"));
    assert_eq!(&*r.suggested_host, "n1");
}

#[test]
fn scores_pick_the_least_allocated_node_and_stop_after_enough_feasible_nodes() {
    let fw = default_framework(Handle::offline());
    let mut nodes: Vec<_> = (0..300)
        .map(|i| {
            node_with_pods(
                NodeBuilder::new(&format!("n{i}")),
                vec![PodBuilder::new(&format!("x{i}")).req(&[("cpu", "2")]).node_name(&format!("n{i}")).info()],
            )
        })
        .collect();
    nodes.push(NodeBuilder::new("empty").info());
    let snap = Snapshot::from_nodes(nodes);
    let mut alg = Algorithm::default();
    let pod = PodBuilder::new("p").req(&[("cpu", "100m")]).info();
    let r = alg.schedule_pod(&fw, &mut CycleState::default(), &pod, &snap).unwrap_or_else(|_| panic!("no fit"));
    // 301 nodes: 50 - 301/125 = 48% -> 144 nodes evaluated per cycle.
    assert_eq!(r.evaluated_nodes, 144);
    assert_eq!(alg.next_start_node_index, 144);
}

#[test]
fn fit_error_aggregates_reasons_per_node() {
    let fw = default_framework(Handle::offline());
    let snap = Snapshot::from_nodes(vec![
        NodeBuilder::new("t1").taint("k", "v", "NoSchedule").info(),
        NodeBuilder::new("t2").taint("k", "v", "NoSchedule").info(),
        NodeBuilder::new("s1").allocatable(&[("cpu", "1"), ("memory", "1Gi"), ("pods", "10")]).info(),
        NodeBuilder::new("u").unschedulable().info(),
    ]);
    let pod = PodBuilder::new("p").req(&[("cpu", "2")]).info();
    let Err(ScheduleError::Fit(fit)) = Algorithm::default().schedule_pod(&fw, &mut CycleState::default(), &pod, &snap)
    else {
        panic!("expected a FitError");
    };
    assert_eq!(
        fit.message(),
        "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable, 2 node(s) had untolerated taint {k: v}."
    );
    assert!(fit.diagnosis.unschedulable_plugins.contains("TaintToleration"));
    assert!(fit.diagnosis.unschedulable_plugins.contains("NodeResourcesFit"));
}

#[test]
fn pre_filter_rejections_are_reported_once() {
    let fw = default_framework(Handle::offline());
    let snap = Snapshot::from_nodes(vec![NodeBuilder::new("a").info(), NodeBuilder::new("b").info()]);
    let pod = PodBuilder::new("p").pvc("missing").info();
    let Err(ScheduleError::Fit(fit)) = Algorithm::default().schedule_pod(&fw, &mut CycleState::default(), &pod, &snap)
    else {
        panic!("expected a FitError");
    };
    assert_eq!(fit.message(), "0/2 nodes are available: persistentvolumeclaim \"missing\" not found.");
    let none = Snapshot::default();
    assert!(matches!(
        Algorithm::default().schedule_pod(&fw, &mut CycleState::default(), &pod, &none),
        Err(ScheduleError::NoNodes)
    ));
}
