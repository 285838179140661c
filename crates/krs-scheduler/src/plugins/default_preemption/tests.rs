use super::*;
use crate::cache::Snapshot;
use crate::framework::PostFilterContext;
use crate::testing::{NodeBuilder, PodBuilder, default_framework, from_json, node_with_pods, run_filters};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

fn small(name: &str) -> NodeBuilder {
    NodeBuilder::new(name).allocatable(&[("cpu", "1"), ("memory", "4Gi"), ("pods", "10")])
}

fn low(name: &str, node: &str, cpu: &str, priority: i32) -> Arc<PodInfo> {
    PodBuilder::new(name).label("app", name).priority(priority).req(&[("cpu", cpu)]).node_name(node).info()
}

fn preempt(handle: &Arc<Handle>, pod: &Arc<PodInfo>, snap: &Snapshot) -> (Option<PostFilterResult>, Status) {
    let fw = default_framework(handle.clone());
    let (state, statuses) = run_filters(&fw, pod, snap);
    let ctx = PostFilterContext { framework: &fw, snapshot: snap, node_statuses: &statuses };
    fw.run_post_filter(&ctx, &state, pod)
}

#[test]
fn nodes_whose_victims_are_protected_by_a_pdb_are_avoided() {
    let handle = Handle::offline();
    let pdb: PodDisruptionBudget = from_json(serde_json::json!({
        "metadata": {"name": "protect-a", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}},
        "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1},
    }));
    handle.listers.pdbs.write().insert("default/protect-a".into(), Arc::new(pdb));
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(small("n1"), vec![low("a", "n1", "800m", 1)]),
        node_with_pods(small("n2"), vec![low("b", "n2", "800m", 5)]),
    ]);
    // n2's victim has the higher priority, but evicting n1's would violate its PDB.
    let pod = PodBuilder::new("p").priority(100).req(&[("cpu", "800m")]).info();
    let (r, s) = preempt(&handle, &pod, &snap);
    assert!(s.is_success(), "{s:?}");
    assert_eq!(r.and_then(|r| r.nominated_node_name).as_deref(), Some("n2"));
}

#[test]
fn lower_priority_victims_are_chosen_first() {
    let handle = Handle::offline();
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(small("n1"), vec![low("a", "n1", "800m", 50)]),
        node_with_pods(small("n2"), vec![low("b", "n2", "800m", 5)]),
    ]);
    let pod = PodBuilder::new("p").priority(100).req(&[("cpu", "800m")]).info();
    let (r, _) = preempt(&handle, &pod, &snap);
    assert_eq!(r.and_then(|r| r.nominated_node_name).as_deref(), Some("n2"));
}

#[test]
fn victims_are_the_fewest_least_important_pods() {
    let handle = Handle::offline();
    let fw = default_framework(handle);
    let pods = vec![low("p1", "n", "300m", 1), low("p2", "n", "300m", 2), low("p3", "n", "300m", 3)];
    let snap = Snapshot::from_nodes(vec![node_with_pods(small("n"), pods)]);
    let pod = PodBuilder::new("p").priority(100).req(&[("cpu", "500m")]).info();
    let (mut state, _) = run_filters(&fw, &pod, &snap);
    let mut node = (*snap.node_info_list[0]).clone();
    let (victims, violations) =
        select_victims_on_node(&fw, &mut state, &pod, &mut node, &[]).unwrap_or_else(|s| panic!("{s:?}"));
    let names: Vec<&str> = victims.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["p2", "p1"], "the priority-3 pod is reprieved");
    assert_eq!(violations, 0);
}

#[test]
fn messages_when_preemption_cannot_help() {
    let handle = Handle::offline();
    let snap = Snapshot::from_nodes(vec![
        node_with_pods(small("n1"), vec![low("a", "n1", "800m", 100)]),
        small("n2").taint("dedicated", "x", "NoSchedule").info(),
    ]);
    let pod = PodBuilder::new("p").priority(100).req(&[("cpu", "800m")]).info();
    let (r, s) = preempt(&handle, &pod, &snap);
    assert!(r.is_none());
    assert_eq!(
        s.message(),
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );
    let never = PodBuilder::new("p").priority(100).req(&[("cpu", "800m")]).info();
    let mut raw = (*never.pod).clone();
    if let Some(spec) = raw.spec.as_mut() {
        spec.preemption_policy = Some("Never".into());
    }
    let never = Arc::new(PodInfo::new(Arc::new(raw)));
    let (_, s) = preempt(&handle, &never, &snap);
    assert_eq!(s.message(), "preemption: not eligible due to preemptionPolicy=Never.");
}

#[test]
fn pick_prefers_fewer_violations_then_lower_priorities_then_fewer_victims() {
    let v = |p: i32| PodBuilder::new(&format!("v{p}")).priority(p).info();
    let c = |node: &str, victims: Vec<Arc<PodInfo>>, pdb: usize| Candidate {
        node: node.into(),
        victims,
        pdb_violations: pdb,
    };
    let cands = vec![
        c("violating", vec![v(1)], 1),
        c("high", vec![v(9)], 0),
        c("many", vec![v(2), v(1)], 0),
        c("one", vec![v(2)], 0),
    ];
    assert_eq!(pick_one_node_for_preemption(&cands).map(|i| cands[i].node.as_str()), Some("one"));
    assert_eq!(pick_one_node_for_preemption(&[]), None);
}
