//! VolumeZone: a pod using a bound PersistentVolume with zone or region labels fits only nodes
//! in those zones or regions.

use std::sync::Arc;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, EventResource, UPDATE, UPDATE_NODE_LABEL};
use crate::framework::{
    CycleState, FilterPlugin, Handle, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, Status,
};

pub const NAME: &str = "VolumeZone";
/// `ErrReasonConflict`.
pub const ERR_REASON_CONFLICT: &str = "node(s) had no available volume zone";

const PRE_FILTER_STATE_KEY: &str = "PreFilterVolumeZone";
/// The topology labels of PVs the plugin honours (GA and deprecated beta).
const TOPOLOGY_LABELS: [&str; 4] = [
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
];

pub struct VolumeZone {
    handle: Arc<Handle>,
}

/// (label, allowed values) of the pod's bound PVs.
#[derive(Clone)]
struct PreFilterState(Arc<Vec<(String, Vec<String>)>>);

impl VolumeZone {
    pub fn new(handle: Arc<Handle>) -> VolumeZone {
        VolumeZone { handle }
    }
}

impl Plugin for VolumeZone {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::StorageClass, ADD),
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_LABEL),
            ClusterEvent::new(EventResource::PersistentVolumeClaim, ADD | UPDATE),
            ClusterEvent::new(EventResource::PersistentVolume, ADD | UPDATE),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeZone {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.pvc_keys.is_empty() {
            return (None, Status::skip());
        }
        let pvcs = self.handle.listers.pvcs.read();
        let pvs = self.handle.listers.pvs.read();
        let mut topology = Vec::new();
        for key in &pod.pvc_keys {
            let name = key.split_once('/').map_or(key.as_str(), |(_, n)| n);
            let Some(pvc) = pvcs.get(key) else {
                return (None, Status::unresolvable(format!("persistentvolumeclaim \"{name}\" not found")));
            };
            let Some(pv_name) = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).filter(|v| !v.is_empty())
            else {
                // Unbound claims are VolumeBinding's business (WaitForFirstConsumer).
                continue;
            };
            let Some(pv) = pvs.get(pv_name) else {
                return (None, Status::unresolvable(format!("persistentvolume \"{pv_name}\" not found")));
            };
            for (k, v) in pv.metadata.labels.iter().flatten() {
                if TOPOLOGY_LABELS.contains(&k.as_str()) {
                    // Multi-zone volumes list their zones separated by "__".
                    topology.push((k.clone(), v.split("__").map(str::to_string).collect()));
                }
            }
        }
        if topology.is_empty() {
            return (None, Status::skip());
        }
        state.write(PRE_FILTER_STATE_KEY, PreFilterState(Arc::new(topology)));
        (None, Status::success())
    }
}

impl FilterPlugin for VolumeZone {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(PreFilterState(topology)) = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) else {
            return Status::success();
        };
        let labels = node.labels();
        for (key, allowed) in topology.iter() {
            // A node without the label is not constrained by it (upstream skips those).
            if let Some(v) = labels.get(key)
                && !allowed.contains(v)
            {
                return Status::unresolvable(ERR_REASON_CONFLICT);
            }
        }
        Status::success()
    }
}
