use super::*;
use crate::framework::Code;
use crate::testing::{NodeBuilder, PodBuilder, score_nodes};

#[test]
fn untolerated_no_schedule_taints_reject_with_key_and_value() {
    let node = NodeBuilder::new("n").taint("dedicated", "gpu", "NoSchedule").info();
    let s = TaintToleration.filter(&CycleState::default(), &PodBuilder::new("p").info(), &node);
    assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
    assert_eq!(s.message(), "node(s) had untolerated taint {dedicated: gpu}");
    let pod = PodBuilder::new("p").toleration("dedicated", "Equal", "gpu", "NoSchedule").info();
    assert!(TaintToleration.filter(&CycleState::default(), &pod, &node).is_success());
    let wrong_value = PodBuilder::new("p").toleration("dedicated", "Equal", "cpu", "NoSchedule").info();
    assert!(!TaintToleration.filter(&CycleState::default(), &wrong_value, &node).is_success());
    // PreferNoSchedule never rejects.
    let soft = NodeBuilder::new("n").taint("a", "b", "PreferNoSchedule").info();
    assert!(TaintToleration.filter(&CycleState::default(), &PodBuilder::new("p").info(), &soft).is_success());
}

#[test]
fn fewer_untolerated_prefer_no_schedule_taints_score_higher() {
    let nodes = vec![
        NodeBuilder::new("clean").info(),
        NodeBuilder::new("one").taint("a", "1", "PreferNoSchedule").info(),
        NodeBuilder::new("two").taint("a", "1", "PreferNoSchedule").taint("b", "2", "PreferNoSchedule").info(),
    ];
    let scores = score_nodes(&TaintToleration, &PodBuilder::new("p").info(), &nodes);
    assert_eq!(scores, vec![100, 50, 0]);
    let tolerant = PodBuilder::new("p").toleration("a", "Exists", "", "PreferNoSchedule").info();
    assert_eq!(score_nodes(&TaintToleration, &tolerant, &nodes), vec![100, 100, 0]);
}
