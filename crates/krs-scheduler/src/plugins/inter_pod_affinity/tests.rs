use super::*;
use crate::cache::Snapshot;
use crate::framework::Handle;
use crate::testing::{NodeBuilder, PodBuilder, affinity_term, filter_nodes, node_with_pods, score_nodes};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";

fn plugin(handle: Arc<Handle>) -> InterPodAffinity {
    InterPodAffinity::new(InterPodAffinityArgs::default(), handle)
}

fn zone(name: &str, z: &str) -> NodeBuilder {
    NodeBuilder::new(name).label(ZONE, z)
}

#[test]
fn required_affinity_needs_a_matching_pod_in_the_domain() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(zone("a1", "a"), vec![PodBuilder::new("db").label("app", "db").node_name("a1").info()]),
        zone("a2", "a").info(),
        zone("b1", "b").info(),
    ]);
    let pod = PodBuilder::new("p").pod_affinity(false, affinity_term(&[("app", "db")], ZONE)).info();
    assert_eq!(
        filter_nodes(&plugin(Handle::offline()), &pod, &snap),
        vec!["", "", ERR_REASON_AFFINITY_RULES_NOT_MATCH]
    );
}

#[test]
fn the_first_pod_of_a_self_affine_group_is_allowed() {
    let snap = Snapshot::from_nodes(vec![zone("a1", "a").info(), NodeBuilder::new("nozone").info()]);
    let pod =
        PodBuilder::new("p").label("app", "web").pod_affinity(false, affinity_term(&[("app", "web")], ZONE)).info();
    // No pod matches anywhere and the pod matches itself: any node with the key fits.
    assert_eq!(filter_nodes(&plugin(Handle::offline()), &pod, &snap), vec!["", ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
}

#[test]
fn required_anti_affinity_both_ways() {
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(
            NodeBuilder::new("n1"),
            vec![PodBuilder::new("web1").label("app", "web").node_name("n1").info()],
        ),
        node_with_pods(
            NodeBuilder::new("n2"),
            vec![
                PodBuilder::new("guard")
                    .node_name("n2")
                    .pod_affinity(true, affinity_term(&[("app", "web")], HOST))
                    .info(),
            ],
        ),
        NodeBuilder::new("n3").info(),
    ]);
    let pod =
        PodBuilder::new("p").label("app", "web").pod_affinity(true, affinity_term(&[("app", "web")], HOST)).info();
    assert_eq!(
        filter_nodes(&plugin(Handle::offline()), &pod, &snap),
        vec![ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, ""]
    );
}

#[test]
fn namespace_selector_selects_namespaces_by_label() {
    let handle = Handle::offline();
    {
        let mut ns = handle.listers.namespaces.write();
        ns.insert("team-a".into(), [("team".to_string(), "a".to_string())].into());
        ns.insert("team-b".into(), [("team".to_string(), "b".to_string())].into());
    }
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(
            zone("a1", "a"),
            vec![PodBuilder::new("db").namespace("team-a").label("app", "db").node_name("a1").info()],
        ),
        node_with_pods(
            zone("b1", "b"),
            vec![PodBuilder::new("db").namespace("team-b").label("app", "db").node_name("b1").info()],
        ),
    ]);
    let mut term = affinity_term(&[("app", "db")], ZONE);
    term.namespace_selector = Some(crate::testing::selector(&[("team", "a")]));
    let pod = PodBuilder::new("p").pod_affinity(false, term.clone()).info();
    assert_eq!(filter_nodes(&plugin(handle.clone()), &pod, &snap), vec!["", ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
    // Without namespaces or a selector, only the pod's own namespace counts.
    term.namespace_selector = None;
    let pod = PodBuilder::new("p").namespace("team-b").pod_affinity(false, term).info();
    assert_eq!(filter_nodes(&plugin(handle), &pod, &snap), vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH, ""]);
}

#[test]
fn existing_pods_anti_affinity_honours_its_namespace_selector() {
    let handle = Handle::offline();
    handle.listers.namespaces.write().insert("prod".into(), [("env".to_string(), "prod".to_string())].into());
    let mut term = affinity_term(&[("app", "web")], HOST);
    term.namespace_selector = Some(crate::testing::selector(&[("env", "prod")]));
    let snap = Snapshot::from_nodes(vec![node_with_pods(
        NodeBuilder::new("n1"),
        vec![PodBuilder::new("guard").node_name("n1").pod_affinity(true, term).info()],
    )]);
    let prod = PodBuilder::new("p").namespace("prod").label("app", "web").info();
    assert_eq!(
        filter_nodes(&plugin(handle.clone()), &prod, &snap),
        vec![ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH]
    );
    let dev = PodBuilder::new("p").namespace("dev").label("app", "web").info();
    assert_eq!(filter_nodes(&plugin(handle), &dev, &snap), vec![""]);
}

#[test]
fn preferred_terms_score_domains() {
    let nodes = vec![
        node_with_pods(zone("a1", "a"), vec![PodBuilder::new("db").label("app", "db").node_name("a1").info()]),
        zone("a2", "a").info(),
        zone("b1", "b").info(),
    ];
    let pod = PodBuilder::new("p").preferred_pod_affinity(false, 10, affinity_term(&[("app", "db")], ZONE)).info();
    assert_eq!(score_nodes(&plugin(Handle::offline()), &pod, &nodes), vec![100, 100, 0]);
    let anti = PodBuilder::new("p").preferred_pod_affinity(true, 10, affinity_term(&[("app", "db")], ZONE)).info();
    assert_eq!(score_nodes(&plugin(Handle::offline()), &anti, &nodes), vec![0, 0, 100]);
}

#[test]
fn totals_kept_across_cycles_follow_pods_added_and_removed() {
    let kept = plugin(Handle::offline());
    let db = |name: &str, node: &str| PodBuilder::new(name).label("app", "db").node_name(node).info();
    let guard = |node: &str| {
        PodBuilder::new("guard")
            .label("app", "guard")
            .pod_affinity(true, affinity_term(&[("app", "web")], HOST))
            .node_name(node)
            .info()
    };
    let web = PodBuilder::new("p")
        .label("app", "web")
        .pod_affinity(false, affinity_term(&[("app", "db")], ZONE))
        .pod_affinity(true, affinity_term(&[("app", "web")], HOST))
        .info();
    let a1 = zone("a1", "a").label(HOST, "a1");
    let b1 = zone("b1", "b").label(HOST, "b1");
    let cycles = [
        vec![node_with_pods(a1.clone(), vec![db("db1", "a1")]), b1.clone().info()],
        // db moves to zone b and a guard repels web pods from a1.
        vec![node_with_pods(a1.clone(), vec![guard("a1")]), node_with_pods(b1.clone(), vec![db("db2", "b1")])],
        vec![a1.clone().info(), node_with_pods(b1.clone(), vec![db("db2", "b1")])],
    ];
    let mut results = Vec::new();
    for nodes in cycles {
        let snap = Snapshot::from_nodes(nodes);
        let got = filter_nodes(&kept, &web, &snap);
        assert_eq!(got, filter_nodes(&plugin(Handle::offline()), &web, &snap), "a fresh plugin agrees");
        results.push(got);
    }
    assert_eq!(
        results,
        vec![
            vec!["", ERR_REASON_AFFINITY_RULES_NOT_MATCH],
            vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH, ""],
            vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH, ""],
        ]
    );
}
