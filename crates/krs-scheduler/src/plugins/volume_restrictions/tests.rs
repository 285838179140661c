use super::*;
use crate::framework::PostFilterContext;
use crate::testing::{NodeBuilder, PodBuilder, add_pvc, default_framework, filter_nodes, node_with_pods, run_filters};

#[test]
fn read_write_once_pod_claims_allow_one_pod_and_preemption_evicts_the_holder() {
    let handle = Handle::offline();
    add_pvc(&handle.listers, "once", &["ReadWriteOncePod"], "standard", "1Gi", Some("pv-once"));
    crate::testing::add_pv(&handle.listers, "pv-once", "standard", "1Gi", "n1");
    let holder = PodBuilder::new("holder").priority(1).pvc("once").node_name("n1").info();
    let snap =
        Snapshot::from_nodes(vec![node_with_pods(NodeBuilder::new("n1"), vec![holder]), NodeBuilder::new("n2").info()]);
    let pod = PodBuilder::new("p").priority(100).pvc("once").info();
    let plugin = VolumeRestrictions::new(handle.clone());
    assert_eq!(filter_nodes(&plugin, &pod, &snap), vec![ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT; 2]);
    // Preemption removes the holder (the claim's only user), after which the pod fits on n1.
    let fw = default_framework(handle.clone());
    let (state, statuses) = run_filters(&fw, &pod, &snap);
    let ctx = PostFilterContext { framework: &fw, snapshot: &snap, node_statuses: &statuses };
    let (r, s) = fw.run_post_filter(&ctx, &state, &pod);
    assert!(s.is_success(), "{s:?}");
    assert_eq!(r.and_then(|r| r.nominated_node_name).as_deref(), Some("n1"));
}

#[test]
fn other_access_modes_and_missing_claims() {
    let handle = Handle::offline();
    add_pvc(&handle.listers, "shared", &["ReadWriteOnce"], "standard", "1Gi", Some("pv"));
    let snap = Snapshot::from_nodes(vec![node_with_pods(
        NodeBuilder::new("n1"),
        vec![PodBuilder::new("other").pvc("shared").node_name("n1").info()],
    )]);
    let plugin = VolumeRestrictions::new(handle);
    assert_eq!(filter_nodes(&plugin, &PodBuilder::new("p").pvc("shared").info(), &snap), vec![""]);
    assert_eq!(
        filter_nodes(&plugin, &PodBuilder::new("p").pvc("missing").info(), &snap),
        vec!["PreFilter: persistentvolumeclaim \"missing\" not found"]
    );
}
