use super::*;
use crate::framework::Handle;
use crate::testing::{NodeBuilder, PodBuilder, affinity_term, default_framework};

fn snapshot(n: usize) -> Snapshot {
    Snapshot::from_nodes((0..n).map(|i| NodeBuilder::new(&format!("n{i}")).info()).collect())
}

/// The number of the kind the memo files the pod under.
fn kind_id(memo: &mut ResultsMemo, fw: &Framework, pod: &Arc<PodInfo>, snap: &Snapshot) -> u64 {
    memo.kind(fw, pod, snap).0
}

#[test]
fn pods_alike_share_a_kind_and_pods_that_differ_do_not() {
    let fw = default_framework(Handle::offline());
    let snap = snapshot(3);
    let a = PodBuilder::new("a").req(&[("cpu", "100m")]).info();
    let b = PodBuilder::new("b").namespace("other").label("app", "x").req(&[("cpu", "100m")]).info();
    let c = PodBuilder::new("c").req(&[("cpu", "200m")]).info();
    let d = PodBuilder::new("d").req(&[("cpu", "100m")]).toleration("k", "Exists", "", "NoSchedule").info();
    let memo = &mut ResultsMemo::default();
    let sa = kind_id(memo, &fw, &a, &snap);
    // Name, namespace and labels are read by no node-local plugin.
    assert_eq!(kind_id(memo, &fw, &b, &snap), sa);
    let (sc, sd) = (kind_id(memo, &fw, &c, &snap), kind_id(memo, &fw, &d, &snap));
    assert!(sc != sa && sd != sa && sc != sd);
    assert!(ResultsMemo::alike(&a, &b) && !ResultsMemo::alike(&a, &c) && !ResultsMemo::alike(&a, &d));
    // Another profile: another kind.
    let mut other = default_framework(Handle::offline());
    other.profile_name = "other".into();
    assert_ne!(kind_id(memo, &other, &a, &snap), sa);
    // Four kinds are remembered (a, c, d, a under the other profile). Beyond that the least
    // recently used one is forgotten: after c and a are used again, e takes d's place; d, back,
    // takes the other profile's under a new number; a and c keep theirs.
    assert_eq!(kind_id(memo, &fw, &c, &snap), sc);
    assert_eq!(kind_id(memo, &fw, &a, &snap), sa);
    let e = PodBuilder::new("e").req(&[("cpu", "300m")]).info();
    kind_id(memo, &fw, &e, &snap);
    assert!(memo.kind_by_id(sd, &snap).is_none(), "d's kind was the least recently used");
    let sd2 = kind_id(memo, &fw, &d, &snap);
    assert!(sd2 != sd && sd2 != sa && sd2 != sc);
    assert!(memo.kind_by_id(sa, &snap).is_some());
    assert_eq!(kind_id(memo, &fw, &c, &snap), sc);
}

#[test]
fn pods_with_other_terms_are_another_kind_and_nominations_do_not_matter() {
    let handle = Handle::offline();
    let fw = default_framework(handle.clone());
    let snap = snapshot(3);
    let anti = PodBuilder::new("a").label("app", "x").pod_affinity(true, affinity_term(&[("app", "x")], "zone")).info();
    let plain = PodBuilder::new("p").info();
    let memo = &mut ResultsMemo::default();
    let before = kind_id(memo, &fw, &plain, &snap);
    assert_ne!(kind_id(memo, &fw, &anti, &snap), before);
    // Nominated pods are handled node by node in the cycle, not by the kind.
    handle.nominator.add(PodBuilder::new("preemptor").priority(10).info(), "n1");
    assert_eq!(kind_id(memo, &fw, &plain, &snap), before);
}

#[test]
fn a_kind_forgets_nodes_that_changed_and_everything_when_the_epoch_moves() {
    let mut snap = snapshot(3);
    let mut memo = ResultsMemo::default();
    let fw = default_framework(Handle::offline());
    let pod = PodBuilder::new("p").info();
    let (id, kind) = memo.kind(&fw, &pod, &snap);
    let n0 = snap.node_info_list[0].clone();
    kind.learn_filter(0, &n0, Status::success(), 12);
    kind.use_scorers(&["A", "B"]);
    kind.learn_scores(0, &n0, &[1, 2]);
    assert!(kind.filter(0, &n0).is_some_and(|(s, at)| s.is_success() && *at == 12));
    assert_eq!(kind.scores(0, &n0), Some(&[1, 2][..]));
    // Another NodeInfo at the same position (the node changed): nothing known of it.
    let changed = Arc::new(NodeBuilder::new("n0").label("x", "y").info());
    assert!(kind.filter(0, &changed).is_none());
    assert!(kind.scores(0, &changed).is_none());
    // Learning of the new one replaces the old entry whole.
    kind.learn_filter(0, &changed, Status::unschedulable("no"), 3);
    assert!(kind.filter(0, &n0).is_none());
    assert!(kind.scores(0, &changed).is_none());
    // Other Score plugins: raw scores are dropped.
    kind.learn_scores(0, &changed, &[3, 4]);
    kind.use_scorers(&["A"]);
    assert!(kind.scores(0, &changed).is_none());
    assert!(kind.filter(0, &changed).is_some_and(|(_, at)| *at == 3));
    // More raw scores than an entry holds: none kept.
    kind.learn_scores(0, &changed, &[0; MAX_SCORERS + 1]);
    assert!(kind.scores(0, &changed).is_none());
    // A new epoch (a node came or went, images spread differently): the kind starts empty.
    snap.epoch += 1;
    let kind = memo.kind_by_id(id, &snap).expect("the kind is remembered");
    assert!(kind.filter(0, &changed).is_none());
}
