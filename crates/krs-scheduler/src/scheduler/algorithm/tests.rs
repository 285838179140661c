use super::*;
use crate::framework::Handle;
use crate::scheduler::results_memo::ClassLearn;
use crate::testing::{NodeBuilder, PodBuilder, affinity_term, default_framework, node_with_pods, spread};

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

/// Nodes with different loads (so scores differ), every seventh tainted (so some fail).
fn varied_nodes(n: usize) -> Vec<NodeInfo> {
    (0..n)
        .map(|i| {
            let name = format!("n{i}");
            let mut b = NodeBuilder::new(&name).allocatable(&[("cpu", "64"), ("memory", "64Gi"), ("pods", "110")]);
            if i % 7 == 3 {
                b = b.taint("k", "v", "NoSchedule");
            }
            let load = PodBuilder::new(&format!("x{i}"))
                .req(&[("cpu", &format!("{}", i % 50)), ("memory", &format!("{}Gi", (i * 7) % 50))])
                .node_name(&name)
                .info();
            node_with_pods(b, vec![load])
        })
        .collect()
}

/// One cycle up to the totals: feasible node names, failure reasons by node, totals.
fn cycle(
    alg: &mut Algorithm,
    fw: &Framework,
    pod: &Arc<PodInfo>,
    snap: &Snapshot,
) -> (Vec<String>, Vec<String>, Vec<i64>) {
    let mut state = CycleState::default();
    let Ok((feasible, diagnosis)) = alg.find_nodes_that_fit(fw, &mut state, pod, snap) else { panic!("filter error") };
    let nodes = feasible.nodes(snap);
    assert!(fw.run_pre_score(&mut state, pod, nodes, snap).is_success());
    let Ok(totals) = alg.run_score(fw, &state, pod, nodes, snap) else { panic!("score error") };
    let mut failed: Vec<String> =
        diagnosis.node_to_status.statuses.iter().map(|(n, s)| format!("{n}: {:?}", s.reasons)).collect();
    failed.sort();
    (nodes.iter().map(|n| n.name.to_string()).collect(), failed, totals)
}

#[test]
fn cycles_served_by_the_memo_find_what_fresh_cycles_find() {
    let fw = default_framework(Handle::offline());
    let mut snap = Snapshot::from_nodes(varied_nodes(400));
    let pod = PodBuilder::new("p").req(&[("cpu", "1"), ("memory", "1Gi")]).info();
    let mut alg = Algorithm::default();
    for round in 0..12 {
        let mut fresh = Algorithm { next_start_node_index: alg.next_start_node_index, ..Default::default() };
        let expected = cycle(&mut fresh, &fw, &pod, &snap);
        let got = cycle(&mut alg, &fw, &pod, &snap);
        assert_eq!(got, expected, "round {round}");
        assert!(alg.memo_cycle.is_none(), "taken by the score phase");
        // Between cycles some nodes change, as bindings and new taints change them.
        for k in [round * 37 % 400, round * 91 % 400] {
            let name = format!("n{k}");
            let mut b = NodeBuilder::new(&name).allocatable(&[("cpu", "64"), ("memory", "64Gi"), ("pods", "110")]);
            if round % 2 == 1 {
                b = b.taint("other", "v", "NoSchedule");
            }
            let heavy = PodBuilder::new(&format!("h{k}-{round}")).req(&[("cpu", "30")]).node_name(&name).info();
            snap.node_info_list[k] = Arc::new(node_with_pods(b, vec![heavy]));
        }
    }
}

#[test]
fn the_feasible_nodes_are_positions_and_a_memo_cycle_holds_no_reference_to_them() {
    let fw = default_framework(Handle::offline());
    let snap = Snapshot::from_nodes(varied_nodes(300));
    let pod = PodBuilder::new("p").req(&[("cpu", "1")]).info();
    let mut alg = Algorithm::default();
    // The first cycle fills the memo (which holds each node it learned); the second is served by it.
    let first = cycle(&mut alg, &fw, &pod, &snap);
    let counts: Vec<usize> = snap.node_info_list.iter().map(Arc::strong_count).collect();
    let mut state = CycleState::default();
    alg.next_start_node_index = 0;
    let Ok((feasible, _)) = alg.find_nodes_that_fit(&fw, &mut state, &pod, &snap) else { panic!("filter error") };
    assert!(alg.memo_cycle.is_some(), "served by the memo");
    assert_eq!(feasible.len(), first.0.len());
    let after: Vec<usize> = snap.node_info_list.iter().map(Arc::strong_count).collect();
    assert_eq!(after, counts, "the feasible set counts no reference to its nodes");
    // The set reads the snapshot's list at its positions, in the order they were found.
    let nodes = feasible.nodes(&snap);
    for (i, n) in nodes.iter().enumerate() {
        let pos = nodes.position(i).expect("a position");
        assert!(Arc::ptr_eq(n, &snap.node_info_list[pos]));
    }
    let names: Vec<String> = nodes.iter().map(|n| n.name.to_string()).collect();
    assert!(names.iter().all(|n| !["n3", "n10", "n17"].contains(&n.as_str())), "tainted nodes fail: {names:?}");
}

#[test]
fn an_unchanged_node_is_judged_by_the_memo_and_a_changed_one_by_the_plugins() {
    let fw = default_framework(Handle::offline());
    let mut snap = Snapshot::from_nodes(varied_nodes(20));
    let pod = PodBuilder::new("p").req(&[("cpu", "1")]).info();
    let mut alg = Algorithm::default();
    let (feasible, _, totals) = cycle(&mut alg, &fw, &pod, &snap);
    assert_eq!(feasible.len(), 17, "20 nodes, 3 tainted");
    // The best node, and one that is not: the memo will give the second the first's scores.
    // (n0 is the least loaded, and the memo will reject it: the best among the others.)
    let best = feasible
        .iter()
        .zip(&totals)
        .filter(|(n, _)| *n != "n0")
        .max_by_key(|(_, t)| **t)
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let best_pos = snap.index[best.as_str()];
    let other = if best == "n1" { 2 } else { 1 };
    // What the memo holds is what the next cycle uses: an altered record shows through.
    let kind = alg.memo.kind(&fw, &pod, &snap).1;
    kind.learn_filter(0, &snap.node_info_list[0], Status::unschedulable("recorded"), 0);
    let raw = kind.scores(best_pos, &snap.node_info_list[best_pos]).map(<[i64]>::to_vec).expect("scored");
    kind.learn_scores(other, &snap.node_info_list[other], &raw);
    alg.next_start_node_index = 0;
    let (feasible, failed, totals) = cycle(&mut alg, &fw, &pod, &snap);
    assert!(!feasible.contains(&"n0".to_string()));
    assert!(failed.contains(&"n0: [\"recorded\"]".to_string()), "{failed:?}");
    let total_of = |name: &str| feasible.iter().position(|n| n == name).map(|i| totals[i]);
    assert_eq!(total_of(&format!("n{other}")), total_of(&best), "the recorded raw scores are the best node's");
    assert!(total_of(&best).is_some());
    // A changed node is evaluated again whatever the memo says of its former self.
    snap.node_info_list[0] = Arc::new(NodeBuilder::new("n0").info());
    alg.next_start_node_index = 0;
    let (feasible, failed, _) = cycle(&mut alg, &fw, &pod, &snap);
    assert!(feasible.contains(&"n0".to_string()), "{failed:?}");
}

#[test]
fn a_node_with_a_nominated_pod_is_filtered_with_it_and_the_others_by_the_memo() {
    let handle = Handle::offline();
    let fw = default_framework(handle.clone());
    let snap = Snapshot::from_nodes(varied_nodes(20));
    let pod = PodBuilder::new("p").req(&[("cpu", "1")]).info();
    let mut alg = Algorithm::default();
    cycle(&mut alg, &fw, &pod, &snap);
    alg.memo.kind(&fw, &pod, &snap).1.learn_filter(0, &snap.node_info_list[0], Status::unschedulable("recorded"), 0);
    // A pod of higher priority nominated to n5 takes its room; one of lower priority on n6
    // does not count against this pod.
    handle.nominator.add(PodBuilder::new("big").priority(100).req(&[("cpu", "64")]).nominated("n5").info(), "n5");
    handle.nominator.add(PodBuilder::new("low").priority(-5).req(&[("cpu", "64")]).nominated("n6").info(), "n6");
    alg.next_start_node_index = 0;
    let (feasible, failed, _) = cycle(&mut alg, &fw, &pod, &snap);
    assert!(failed.contains(&"n0: [\"recorded\"]".to_string()), "{failed:?}");
    assert!(!feasible.contains(&"n5".to_string()), "{failed:?}");
    assert!(feasible.contains(&"n6".to_string()), "{failed:?}");
    // What n5 gave with the nominated pod was not remembered: once it is gone, n5 fits.
    handle.nominator.delete(&PodBuilder::new("big").info().key);
    alg.next_start_node_index = 0;
    let (feasible, _, _) = cycle(&mut alg, &fw, &pod, &snap);
    assert!(feasible.contains(&"n5".to_string()));
}

#[test]
fn plugins_that_read_other_nodes_run_on_every_cycle_beside_the_memo() {
    use k8s_openapi::api::core::v1::TopologySpreadConstraint;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let fw = default_framework(Handle::offline());
    // 300 nodes in 3 zones; pods spread by zone (maxSkew 1) and kept off nodes running "db".
    let node = |i: usize, pods: Vec<Arc<PodInfo>>| {
        let b = NodeBuilder::new(&format!("n{i}")).label("zone", &format!("z{}", i % 3)).allocatable(&[
            ("cpu", "64"),
            ("memory", "64Gi"),
            ("pods", "110"),
        ]);
        Arc::new(node_with_pods(b, pods))
    };
    let placed = |name: &str, i: usize, app: &str| {
        PodBuilder::new(name)
            .label("app", app)
            .req(&[("cpu", &format!("{}", 1 + i % 5))])
            .node_name(&format!("n{i}"))
            .info()
    };
    let mut snap = Snapshot::from_nodes(Vec::new());
    snap.node_info_list = (0..300).map(|i| node(i, vec![placed(&format!("x{i}"), i, "web")])).collect();
    snap.reindex();
    snap.rebuild_affinity_lists();
    let constraint = TopologySpreadConstraint {
        max_skew: 1,
        topology_key: "zone".into(),
        when_unsatisfiable: "DoNotSchedule".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let pod = PodBuilder::new("p")
        .label("app", "web")
        .req(&[("cpu", "1")])
        .spread(constraint)
        .pod_affinity(true, affinity_term(&[("app", "db")], "kubernetes.io/hostname"))
        .info();
    let mut alg = Algorithm::default();
    // (spread rejections seen, anti-affinity rejections seen)
    let mut seen = (false, false);
    for round in 0..12 {
        let mut fresh = Algorithm { next_start_node_index: alg.next_start_node_index, ..Default::default() };
        let expected = cycle(&mut fresh, &fw, &pod, &snap);
        let got = cycle(&mut alg, &fw, &pod, &snap);
        assert_eq!(got, expected, "round {round}");
        for f in &got.1 {
            seen.0 |= f.contains("pod topology spread constraints");
            seen.1 |= f.contains("pod anti-affinity rules");
        }
        // Pods land in one zone, or a "db" pod arrives: nodes the memo knows unchanged now
        // fail or pass the spread and anti-affinity filters.
        let k = (round * 53) % 300;
        let app = if round % 3 == 0 { "db" } else { "web" };
        let mut pods: Vec<Arc<PodInfo>> = snap.node_info_list[k].pods.iter().cloned().collect();
        pods.push(placed(&format!("y{round}"), k, app));
        snap.node_info_list[k] = node(k, pods);
        snap.rebuild_affinity_lists();
    }
    assert_eq!(seen, (true, true), "both plugins rejected nodes the memo knew");
}

#[test]
fn the_spread_filter_runs_once_per_domain_in_a_memo_cycle_and_finds_what_fresh_cycles_find() {
    let fw = default_framework(Handle::offline());
    // 300 nodes in 3 zones, every 50th without a zone; pods spread by zone (maxSkew 1).
    let node = |i: usize, pods: Vec<Arc<PodInfo>>| {
        let mut b =
            NodeBuilder::new(&format!("n{i}")).allocatable(&[("cpu", "64"), ("memory", "64Gi"), ("pods", "110")]);
        if i % 50 != 7 {
            b = b.label("zone", &format!("z{}", i % 3));
        }
        Arc::new(node_with_pods(b, pods))
    };
    let placed = |name: &str, i: usize| {
        PodBuilder::new(name)
            .label("app", "web")
            .req(&[("cpu", &format!("{}", 1 + i % 5))])
            .node_name(&format!("n{i}"))
            .info()
    };
    let mut snap = Snapshot::from_nodes(Vec::new());
    snap.node_info_list = (0..300).map(|i| node(i, Vec::new())).collect();
    snap.reindex();
    snap.rebuild_affinity_lists();
    let constraint = spread("zone", 1, "DoNotSchedule", &[("app", "web")]);
    let pod = PodBuilder::new("p").label("app", "web").req(&[("cpu", "1")]).spread(constraint).info();
    let mut alg = Algorithm::default();
    let mut seen = (false, false);
    for round in 0..15 {
        let mut fresh = Algorithm { next_start_node_index: alg.next_start_node_index, ..Default::default() };
        let expected = cycle(&mut fresh, &fw, &pod, &snap);
        let got = cycle(&mut alg, &fw, &pod, &snap);
        assert_eq!(got, expected, "round {round}");
        for f in &got.1 {
            seen.0 |= f.contains("didn't match pod topology spread constraints\"");
            seen.1 |= f.contains("missing required label");
        }
        // A pod lands in a zone (unbalancing it), and for a few rounds a pod whose
        // anti-affinity rejects this one runs: InterPodAffinity, which cannot class nodes,
        // joins the spread filter and the classes start over.
        let k = (round * 53 + 1) % 300;
        let mut pods: Vec<Arc<PodInfo>> = snap.node_info_list[k].pods.iter().cloned().collect();
        pods.push(placed(&format!("y{round}"), k));
        if round == 5 {
            let guard = PodBuilder::new("guard")
                .label("app", "guard")
                .pod_affinity(true, affinity_term(&[("app", "web")], "kubernetes.io/hostname"))
                .node_name(&format!("n{k}"))
                .info();
            pods.push(guard);
        }
        snap.node_info_list[k] = node(k, pods);
        if round == 9 {
            // Where round 5 put the guard.
            let g = 5 * 53 + 1;
            let rest = snap.node_info_list[g].pods.iter().filter(|p| p.pod.metadata.name.as_deref() != Some("guard"));
            snap.node_info_list[g] = node(g, rest.cloned().collect());
        }
        snap.rebuild_affinity_lists();
    }
    assert_eq!(seen, (true, true), "nodes rejected for their zone's count and for having no zone");
    // Three zones and the nodes without one: four classes, found again after the guard left.
    assert_eq!(alg.memo.kind(&fw, &pod, &snap).1.num_classes(), 4);
    // Zone z1 takes many more pods: its nodes fail.
    for j in 0..20 {
        let k = 3 * j + 1;
        let mut pods: Vec<Arc<PodInfo>> = snap.node_info_list[k].pods.iter().cloned().collect();
        pods.push(placed(&format!("z{j}"), k));
        snap.node_info_list[k] = node(k, pods);
    }
    snap.rebuild_affinity_lists();
    alg.next_start_node_index = 0;
    let (feasible, failed, _) = cycle(&mut alg, &fw, &pod, &snap);
    let spread_failures: Vec<usize> = failed
        .iter()
        .filter(|f| f.contains("constraints\""))
        .filter_map(|f| snap.index.get(f.split(':').next().unwrap_or_default()).copied())
        .collect();
    let fpos = spread_failures.into_iter().min().expect("zone z1 fails");
    let ok_pos = feasible.iter().map(|n| snap.index[n.as_str()]).find(|&p| p > fpos).expect("a node after it passes");
    // What the memo holds is what the next cycle uses: a node given the class of a failing node
    // (met first, so its status is the class's) is judged as failing.
    let kind = alg.memo.kind(&fw, &pod, &snap).1;
    let class = kind.class(fpos, &snap.node_info_list[fpos]).expect("the failing node has a class");
    kind.learn_class(ok_pos, &snap.node_info_list[ok_pos], ClassLearn::Known(class));
    alg.next_start_node_index = 0;
    let (_, failed, _) = cycle(&mut alg, &fw, &pod, &snap);
    let name = format!("n{ok_pos}: ");
    assert!(failed.iter().any(|f| f.starts_with(&name) && f.contains("constraints\"")), "{failed:?}");
}
