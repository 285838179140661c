use std::sync::Arc;

use super::*;
use crate::testing::{NodeBuilder, PodBuilder};

fn node(name: &str) -> Arc<Node> {
    Arc::new(NodeBuilder::new(name).node())
}

#[test]
fn assume_then_confirm_or_forget() {
    let mut c = Cache::new();
    c.add_node(node("n1"));
    let pod = PodBuilder::new("p").req(&[("cpu", "500m")]).node_name("n1").info();
    c.assume_pod(pod.clone()).expect("assume");
    assert!(c.is_assumed("uid-p"));
    assert_eq!(c.assume_pod(pod.clone()), Err(CacheError::AlreadyInCache("uid-p".into())));
    let mut snap = Snapshot::default();
    c.update_snapshot(&mut snap);
    assert_eq!(snap.get("n1").map(|n| n.requested.milli_cpu), Some(500));
    c.forget_pod("uid-p").expect("forget");
    c.update_snapshot(&mut snap);
    assert_eq!(snap.get("n1").map(|n| n.requested.milli_cpu), Some(0));
    // Confirmation by the informer replaces the assumed pod.
    c.assume_pod(pod.clone()).expect("assume");
    c.add_pod(pod);
    assert!(!c.is_assumed("uid-p"));
    assert_eq!(c.forget_pod("uid-p"), Err(CacheError::NotAssumed("uid-p".into())));
}

#[test]
fn snapshot_updates_copy_only_changed_nodes() {
    let mut c = Cache::new();
    for i in 0..3 {
        c.add_node(node(&format!("n{i}")));
    }
    let mut snap = Snapshot::default();
    c.update_snapshot(&mut snap);
    assert_eq!(snap.num_nodes(), 3);
    let before: Vec<Arc<NodeInfo>> = snap.node_info_list.clone();
    c.add_pod(PodBuilder::new("p").node_name("n1").info());
    c.update_snapshot(&mut snap);
    let n1 = snap.index["n1"];
    for (i, n) in snap.node_info_list.iter().enumerate() {
        assert_eq!(Arc::ptr_eq(n, &before[i]), i != n1, "only n1 is replaced");
    }
    assert_eq!(snap.get("n1").map(|n| n.pods.len()), Some(1));
}

#[test]
fn pods_with_affinity_are_listed_and_nodes_are_interleaved_by_zone() {
    let mut c = Cache::new();
    for (name, zone) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
        c.add_node(Arc::new(NodeBuilder::new(name).label("topology.kubernetes.io/zone", zone).node()));
    }
    let anti = PodBuilder::new("x")
        .node_name("a2")
        .pod_affinity(true, crate::testing::affinity_term(&[("app", "x")], "kubernetes.io/hostname"))
        .info();
    c.add_pod(anti);
    let mut snap = Snapshot::default();
    c.update_snapshot(&mut snap);
    let names: Vec<&str> = snap.node_info_list.iter().map(|n| &*n.name).collect();
    assert_eq!(names, ["a1", "b1", "a2"]);
    assert_eq!(snap.have_pods_with_required_anti_affinity.iter().map(|n| &*n.name).collect::<Vec<_>>(), ["a2"]);
    c.remove_pod("uid-x");
    c.update_snapshot(&mut snap);
    assert!(snap.have_pods_with_required_anti_affinity.is_empty());
}

#[test]
fn removed_nodes_keep_their_pods_until_deleted() {
    let mut c = Cache::new();
    c.add_node(node("n"));
    c.add_pod(PodBuilder::new("p").node_name("n").info());
    c.remove_node("n");
    let mut snap = Snapshot::default();
    c.update_snapshot(&mut snap);
    assert_eq!(snap.num_nodes(), 0);
    assert_eq!(c.pod_count(), 1);
    c.remove_pod("uid-p");
    assert_eq!(c.pod_count(), 0);
    assert_eq!(c.node_count(), 0);
}
