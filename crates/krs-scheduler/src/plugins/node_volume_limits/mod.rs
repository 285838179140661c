//! NodeVolumeLimits (CSI): the number of distinct CSI volumes of a driver on a node, with the
//! pod's, must not exceed the count the node's CSINode reports for that driver.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, DELETE, EventResource};
use crate::framework::{
    CycleState, FilterPlugin, Handle, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, Status,
};

pub const NAME: &str = "NodeVolumeLimits";
/// `ErrReasonMaxVolumeCountExceeded`.
pub const ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED: &str = "node(s) exceed max volume count";

pub struct NodeVolumeLimits {
    handle: Arc<Handle>,
}

impl NodeVolumeLimits {
    pub fn new(handle: Arc<Handle>) -> NodeVolumeLimits {
        NodeVolumeLimits { handle }
    }

    /// The (driver, volume handle) of each bound CSI volume of the given claims.
    fn csi_volumes(&self, keys: &[String]) -> HashMap<String, HashSet<String>> {
        let pvcs = self.handle.listers.pvcs.read();
        let pvs = self.handle.listers.pvs.read();
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        for key in keys {
            let Some(pv_name) = pvcs.get(key).and_then(|c| c.spec.as_ref()).and_then(|s| s.volume_name.clone()) else {
                continue;
            };
            if let Some(csi) = pvs.get(&pv_name).and_then(|pv| pv.spec.as_ref()).and_then(|s| s.csi.as_ref()) {
                out.entry(csi.driver.clone()).or_default().insert(csi.volume_handle.clone());
            }
        }
        out
    }
}

impl Plugin for NodeVolumeLimits {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::CsiNode, ADD),
            ClusterEvent::new(EventResource::Pod, DELETE),
            ClusterEvent::new(EventResource::PersistentVolumeClaim, ADD),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeVolumeLimits {
    fn pre_filter(
        &self,
        _state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.pvc_keys.is_empty() {
            return (None, Status::skip());
        }
        (None, Status::success())
    }
}

impl FilterPlugin for NodeVolumeLimits {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let limits: HashMap<String, i64> = {
            let csi_nodes = self.handle.listers.csi_nodes.read();
            let Some(csi) = csi_nodes.get(&*node.name) else { return Status::success() };
            csi.spec
                .drivers
                .iter()
                .filter_map(|d| d.allocatable.as_ref().and_then(|a| a.count).map(|c| (d.name.clone(), i64::from(c))))
                .collect()
        };
        if limits.is_empty() {
            return Status::success();
        }
        let new = self.csi_volumes(&pod.pvc_keys);
        if new.is_empty() {
            return Status::success();
        }
        let existing_keys: Vec<String> = node.pvc_ref_counts.keys().cloned().collect();
        let existing = self.csi_volumes(&existing_keys);
        for (driver, volumes) in &new {
            let Some(limit) = limits.get(driver) else { continue };
            let attached = existing.get(driver);
            let added = volumes.iter().filter(|v| attached.is_none_or(|a| !a.contains(*v))).count() as i64;
            let current = attached.map_or(0, |a| a.len() as i64);
            if current + added > *limit {
                return Status::unschedulable(ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED);
            }
        }
        Status::success()
    }
}
