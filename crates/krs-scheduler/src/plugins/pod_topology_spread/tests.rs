use super::*;
use crate::cache::Snapshot;
use crate::framework::Handle;
use crate::testing::{NodeBuilder, PodBuilder, filter_nodes, node_with_pods, score_nodes, spread};

fn plugin() -> PodTopologySpread {
    match PodTopologySpread::new(PodTopologySpreadArgs::default(), Handle::offline()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn web(name: &str, node: &str) -> Arc<PodInfo> {
    PodBuilder::new(name).label("app", "web").label("version", "v1").node_name(node).info()
}

fn zone(name: &str, z: &str) -> NodeBuilder {
    NodeBuilder::new(name).label(ZONE, z)
}

#[test]
fn skew_over_the_least_loaded_domain_and_missing_labels() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a"), vec![web("w1", "a1"), web("w2", "a1")]),
        zone("b1", "b").info(),
        NodeBuilder::new("nolabel").info(),
    ]);
    let pod =
        PodBuilder::new("p").label("app", "web").spread(spread(ZONE, 1, "DoNotSchedule", &[("app", "web")])).info();
    assert_eq!(
        filter_nodes(&plugin(), &pod, &snap),
        vec![ERR_REASON_CONSTRAINTS_NOT_MATCH, "", ERR_REASON_NODE_LABEL_NOT_MATCH]
    );
}

#[test]
fn min_domains_treats_missing_domains_as_empty() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a"), vec![web("w1", "a1")]),
        node_with_pods(zone("b1", "b"), vec![web("w2", "b1")]),
    ]);
    let mut c = spread(ZONE, 1, "DoNotSchedule", &[("app", "web")]);
    let pod = PodBuilder::new("p").label("app", "web").spread(c.clone()).info();
    assert_eq!(filter_nodes(&plugin(), &pod, &snap), vec!["", ""]);
    // Only 2 of the 3 required domains exist: the global minimum is 0.
    c.min_domains = Some(3);
    let pod = PodBuilder::new("p").label("app", "web").spread(c).info();
    assert_eq!(
        filter_nodes(&plugin(), &pod, &snap),
        vec![ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_CONSTRAINTS_NOT_MATCH]
    );
}

#[test]
fn node_affinity_policy_decides_which_nodes_count() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a").label("pool", "x"), vec![web("w1", "a1"), web("w2", "a1")]),
        zone("b1", "b").label("pool", "y").info(),
    ]);
    let mut c = spread(ZONE, 1, "DoNotSchedule", &[("app", "web")]);
    // Honor (default): zone b does not match the pod's nodeSelector and does not count.
    let pod = PodBuilder::new("p").label("app", "web").node_selector("pool", "x").spread(c.clone()).info();
    assert_eq!(filter_nodes(&plugin(), &pod, &snap)[0], "");
    c.node_affinity_policy = Some("Ignore".into());
    let pod = PodBuilder::new("p").label("app", "web").node_selector("pool", "x").spread(c).info();
    assert_eq!(filter_nodes(&plugin(), &pod, &snap)[0], ERR_REASON_CONSTRAINTS_NOT_MATCH);
}

#[test]
fn node_taints_policy_decides_whether_tainted_nodes_count() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a"), vec![web("w1", "a1"), web("w2", "a1")]),
        zone("b1", "b").taint("dedicated", "x", "NoSchedule").info(),
    ]);
    let mut c = spread(ZONE, 1, "DoNotSchedule", &[("app", "web")]);
    // Ignore (default): the tainted empty zone counts, so zone a is 3 over it.
    let pod = PodBuilder::new("p").label("app", "web").spread(c.clone()).info();
    assert_eq!(filter_nodes(&plugin(), &pod, &snap)[0], ERR_REASON_CONSTRAINTS_NOT_MATCH);
    c.node_taints_policy = Some("Honor".into());
    let pod = PodBuilder::new("p").label("app", "web").spread(c).info();
    assert_eq!(filter_nodes(&plugin(), &pod, &snap)[0], "");
}

#[test]
fn match_label_keys_narrow_the_selector_to_the_pods_values() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a"), vec![web("w1", "a1"), web("w2", "a1")]),
        zone("b1", "b").info(),
    ]);
    let mut c = spread(ZONE, 1, "DoNotSchedule", &[("app", "web")]);
    let v2 = || PodBuilder::new("p").label("app", "web").label("version", "v2");
    assert_eq!(filter_nodes(&plugin(), &v2().spread(c.clone()).info(), &snap)[0], ERR_REASON_CONSTRAINTS_NOT_MATCH);
    // Only version=v2 pods count: zone a holds none of them.
    c.match_label_keys = Some(vec!["version".into()]);
    assert_eq!(filter_nodes(&plugin(), &v2().spread(c).info(), &snap)[0], "");
}

#[test]
fn pre_filter_skips_pods_without_hard_constraints() {
    let snap = Snapshot::from_nodes(vec![zone("a1", "a").info()]);
    let mut state = crate::framework::CycleState::default();
    let (_, s) = plugin().pre_filter(&mut state, &PodBuilder::new("p").info(), &snap);
    assert!(s.is_skip());
}

#[test]
fn soft_constraints_prefer_emptier_domains() {
    let nodes = vec![
        node_with_pods(zone("a1", "a"), vec![web("w1", "a1"), web("w2", "a1")]),
        node_with_pods(zone("b1", "b"), vec![web("w3", "b1")]),
        zone("c1", "c").info(),
    ];
    let pod =
        PodBuilder::new("p").label("app", "web").spread(spread(ZONE, 1, "ScheduleAnyway", &[("app", "web")])).info();
    let scores = score_nodes(&plugin(), &pod, &nodes);
    assert_eq!(scores[2], 100);
    assert!(scores[0] < scores[1] && scores[1] < scores[2], "{scores:?}");
}

#[test]
fn system_default_constraints_spread_pods_of_a_service() {
    let handle = Handle::offline();
    handle
        .listers
        .workload_selectors
        .write()
        .insert("default/Service/web".into(), Selector::from_set(&[("app".to_string(), "web".to_string())].into()));
    let pts = PodTopologySpread::new(PodTopologySpreadArgs::default(), handle).unwrap_or_else(|e| panic!("{e}"));
    let nodes = vec![
        node_with_pods(NodeBuilder::new("n1").label(ZONE, "a"), vec![web("w1", "n1"), web("w2", "n1")]),
        NodeBuilder::new("n2").label(ZONE, "b").info(),
    ];
    let pod = PodBuilder::new("p").label("app", "web").info();
    let scores = score_nodes(&pts, &pod, &nodes);
    assert!(scores[1] > scores[0], "{scores:?}");
    // A pod no workload selects gets no default constraints.
    assert_eq!(score_nodes(&pts, &PodBuilder::new("q").label("app", "other").info(), &nodes), vec![0, 0]);
    assert!(
        PodTopologySpread::new(
            PodTopologySpreadArgs {
                default_constraints: vec![spread(ZONE, 1, "DoNotSchedule", &[])],
                defaulting_type: "System".into()
            },
            Handle::offline()
        )
        .is_err()
    );
}

#[test]
fn counts_kept_across_cycles_follow_changed_added_and_removed_nodes() {
    let kept = plugin();
    let pod =
        PodBuilder::new("p").label("app", "web").spread(spread(ZONE, 1, "DoNotSchedule", &[("app", "web")])).info();
    let a1 = node_with_pods(zone("a1", "a"), vec![web("w1", "a1")]);
    let b1 = zone("b1", "b").info();
    let snap = Snapshot::from_nodes(vec![a1.clone(), b1.clone()]);
    assert_eq!(filter_nodes(&kept, &pod, &snap), vec![ERR_REASON_CONSTRAINTS_NOT_MATCH, ""]);
    // b1 gains two matching pods (a new NodeInfo generation); c1 joins in a third zone.
    let mut b1_more = b1.clone();
    b1_more.add_pod(web("w2", "b1"));
    b1_more.add_pod(web("w3", "b1"));
    let c1 = zone("c1", "c").info();
    let snap = Snapshot::from_nodes(vec![a1.clone(), b1_more.clone(), c1.clone()]);
    let expected = vec![ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_CONSTRAINTS_NOT_MATCH, ""];
    assert_eq!(filter_nodes(&kept, &pod, &snap), expected);
    assert_eq!(filter_nodes(&plugin(), &pod, &snap), expected, "a fresh plugin agrees");
    // c1 goes away: zone c no longer exists, so the minimum is zone a's 1 again.
    let snap = Snapshot::from_nodes(vec![a1, b1_more]);
    let expected = vec!["", ERR_REASON_CONSTRAINTS_NOT_MATCH];
    assert_eq!(filter_nodes(&kept, &pod, &snap), expected);
    assert_eq!(filter_nodes(&plugin(), &pod, &snap), expected);
}
