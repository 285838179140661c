//! SchedulingGates: a pod with scheduling gates never enters activeQ; it waits, gated, until
//! its gates are all removed.

use crate::framework::events::{ClusterEvent, EventResource, UPDATE_POD_SCHEDULING_GATES_ELIMINATED};
use crate::framework::{Plugin, PodInfo, PreEnqueuePlugin, Status};

pub const NAME: &str = "SchedulingGates";

pub struct SchedulingGates;

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(EventResource::Pod, UPDATE_POD_SCHEDULING_GATES_ELIMINATED)]
    }
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        Some(self)
    }
}

impl PreEnqueuePlugin for SchedulingGates {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        let gates = pod.pod.spec.as_ref().and_then(|s| s.scheduling_gates.as_ref());
        match gates {
            Some(g) if !g.is_empty() => {
                let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
                Status::unresolvable(format!("waiting for scheduling gates: [{}]", names.join(" ")))
            }
            _ => Status::success(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::PodBuilder;

    #[test]
    fn gated_pods_are_rejected_with_the_gate_names() {
        let s = SchedulingGates.pre_enqueue(&PodBuilder::new("p").gates(&["a", "b"]).info());
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.message(), "waiting for scheduling gates: [a b]");
        assert!(SchedulingGates.pre_enqueue(&PodBuilder::new("p").info()).is_success());
    }
}
