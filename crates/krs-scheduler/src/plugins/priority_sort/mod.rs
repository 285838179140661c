//! PrioritySort: orders activeQ by pod priority, then by the time the pod was queued.

use crate::framework::{Plugin, QueueSortPlugin};
use crate::queue::QueuedPodInfo;

pub const NAME: &str = "PrioritySort";

pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        Some(self)
    }
}

impl QueueSortPlugin for PrioritySort {
    /// Higher priority first; among equals, the pod queued earlier.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        let (pa, pb) = (a.pod_info.priority, b.pod_info.priority);
        pa > pb || (pa == pb && a.timestamp < b.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::testing::PodBuilder;

    #[test]
    fn higher_priority_then_earlier_first() {
        let now = Instant::now();
        let q =
            |p: i32, t: u64| QueuedPodInfo::new(PodBuilder::new("p").priority(p).info(), now + Duration::from_secs(t));
        assert!(PrioritySort.less(&q(10, 5), &q(1, 0)));
        assert!(!PrioritySort.less(&q(1, 0), &q(10, 5)));
        assert!(PrioritySort.less(&q(1, 0), &q(1, 1)));
        assert!(!PrioritySort.less(&q(1, 1), &q(1, 0)));
    }
}
