use super::*;
use crate::testing::{NodeBuilder, PodBuilder, add_pv, add_pvc, add_storage_class, filter_nodes};

#[test]
fn wait_for_first_consumer_claims_match_volumes_reachable_from_the_node() {
    let handle = Handle::offline();
    add_storage_class(&handle.listers, "local", "kubernetes.io/no-provisioner", "WaitForFirstConsumer");
    add_pv(&handle.listers, "pv-small", "local", "10Gi", "n1");
    add_pv(&handle.listers, "pv-big", "local", "100Gi", "n2");
    add_pvc(&handle.listers, "data", &["ReadWriteOnce"], "local", "8Gi", None);
    let nodes = vec![NodeBuilder::new("n1").info(), NodeBuilder::new("n2").info(), NodeBuilder::new("n3").info()];
    let snap = Snapshot::from_nodes(nodes);
    let pod = PodBuilder::new("p").pvc("data").info();
    let plugin = VolumeBinding::new(VolumeBindingArgs::default(), handle.clone());
    assert_eq!(filter_nodes(&plugin, &pod, &snap), vec!["", "", ERR_REASON_BIND_CONFLICT]);
    // Capacity scoring: the fuller volume (8Gi of 10Gi) scores higher than 8Gi of 100Gi.
    let mut state = CycleState::default();
    let (_, s) = plugin.pre_filter(&mut state, &pod, &snap);
    assert!(s.is_success());
    let feasible = &snap.node_info_list[..2];
    for n in feasible {
        assert!(plugin.filter(&state, &pod, n).is_success());
    }
    assert!(plugin.pre_score(&mut state, &pod, feasible.into(), &snap).is_success());
    let scores: Vec<i64> = feasible.iter().map(|n| plugin.score(&state, &pod, n).unwrap_or(-1)).collect();
    assert_eq!(scores, vec![80, 8]);
    // Reserve assumes the chosen volume: another pod cannot take it meanwhile.
    assert!(plugin.reserve(&mut state, &pod, "n1").is_success());
    let other = PodBuilder::new("q").pvc("data").info();
    assert_eq!(filter_nodes(&plugin, &other, &snap), vec![ERR_REASON_BIND_CONFLICT, "", ERR_REASON_BIND_CONFLICT]);
    plugin.unreserve(&mut state, &pod, "n1");
    assert_eq!(filter_nodes(&plugin, &other, &snap), vec!["", "", ERR_REASON_BIND_CONFLICT]);
}

#[test]
fn immediate_unbound_claims_and_bound_volume_affinity() {
    let handle = Handle::offline();
    add_storage_class(&handle.listers, "fast", "example.com/csi", "Immediate");
    add_pvc(&handle.listers, "unbound", &["ReadWriteOnce"], "fast", "1Gi", None);
    add_pv(&handle.listers, "pv-n1", "fast", "5Gi", "n1");
    add_pvc(&handle.listers, "bound", &["ReadWriteOnce"], "fast", "1Gi", Some("pv-n1"));
    let snap = Snapshot::from_nodes(vec![NodeBuilder::new("n1").info(), NodeBuilder::new("n2").info()]);
    let plugin = VolumeBinding::new(VolumeBindingArgs::default(), handle);
    assert_eq!(
        filter_nodes(&plugin, &PodBuilder::new("p").pvc("unbound").info(), &snap),
        vec![format!("PreFilter: {ERR_REASON_UNBOUND_IMMEDIATE}"); 2]
    );
    assert_eq!(
        filter_nodes(&plugin, &PodBuilder::new("p").pvc("bound").info(), &snap),
        vec!["", ERR_REASON_NODE_CONFLICT]
    );
}

#[test]
fn dynamic_provisioning_is_allowed_where_the_class_allows_it() {
    let handle = Handle::offline();
    add_storage_class(&handle.listers, "dyn", "example.com/csi", "WaitForFirstConsumer");
    add_pvc(&handle.listers, "claim", &["ReadWriteOnce"], "dyn", "1Gi", None);
    let snap = Snapshot::from_nodes(vec![NodeBuilder::new("n1").info()]);
    let plugin = VolumeBinding::new(VolumeBindingArgs::default(), handle);
    assert_eq!(filter_nodes(&plugin, &PodBuilder::new("p").pvc("claim").info(), &snap), vec![""]);
}
