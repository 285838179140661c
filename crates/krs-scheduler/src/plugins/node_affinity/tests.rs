use super::*;
use crate::framework::Code;
use crate::testing::{NodeBuilder, PodBuilder, score_nodes};

#[test]
fn node_selector_and_required_affinity_must_match() {
    let node = NodeBuilder::new("n").label("zone", "a").label("gen", "5").info();
    let plugin = NodeAffinity::new(NodeAffinityArgs::default());
    let ok = PodBuilder::new("p").node_selector("zone", "a").info();
    assert!(plugin.filter(&CycleState::default(), &ok, &node).is_success());
    let bad = PodBuilder::new("p").node_selector("zone", "b").info();
    let s = plugin.filter(&CycleState::default(), &bad, &node);
    assert_eq!((s.code, s.message().as_str()), (Code::UnschedulableAndUnresolvable, ERR_REASON_POD));
    let gt = PodBuilder::new("p").required_node_affinity("gen", "Gt", &["4"]).info();
    assert!(plugin.filter(&CycleState::default(), &gt, &node).is_success());
    let lt = PodBuilder::new("p").required_node_affinity("gen", "Lt", &["4"]).info();
    assert!(!plugin.filter(&CycleState::default(), &lt, &node).is_success());
    let not_in = PodBuilder::new("p").required_node_affinity("zone", "NotIn", &["a"]).info();
    assert!(!plugin.filter(&CycleState::default(), &not_in, &node).is_success());
}

#[test]
fn added_affinity_is_enforced() {
    let args: NodeAffinityArgs = serde_json::from_value(serde_json::json!({"addedAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["x"]}]}]}
    }}))
    .unwrap_or_default();
    let plugin = NodeAffinity::new(args);
    let s = plugin.filter(&CycleState::default(), &PodBuilder::new("p").info(), &NodeBuilder::new("n").info());
    assert_eq!(s.message(), ERR_REASON_ENFORCED);
    assert!(
        plugin
            .filter(
                &CycleState::default(),
                &PodBuilder::new("p").info(),
                &NodeBuilder::new("n").label("pool", "x").info()
            )
            .is_success()
    );
}

#[test]
fn pre_filter_narrows_to_named_nodes_and_skips_without_constraints() {
    let plugin = NodeAffinity::new(NodeAffinityArgs::default());
    let (_, s) = plugin.pre_filter(&mut CycleState::default(), &PodBuilder::new("p").info(), &Snapshot::default());
    assert!(s.is_skip());
    let pod = PodBuilder::new("p").required_node_name_field(&["n1"]).info();
    let (r, s) = plugin.pre_filter(&mut CycleState::default(), &pod, &Snapshot::default());
    assert!(s.is_success());
    assert_eq!(r.and_then(|r| r.node_names).map(|n| n.into_iter().collect::<Vec<_>>()), Some(vec!["n1".to_string()]));
}

#[test]
fn preferred_terms_score_by_weight() {
    let nodes = vec![NodeBuilder::new("a").label("disk", "ssd").info(), NodeBuilder::new("b").info()];
    let pod = PodBuilder::new("p").preferred_node_affinity(5, "disk", "In", &["ssd"]).info();
    let plugin = NodeAffinity::new(NodeAffinityArgs::default());
    assert_eq!(score_nodes(&plugin, &pod, &nodes), vec![100, 0]);
}
