//! VolumeRestrictions: a ReadWriteOncePod claim may be used by one pod in the whole cluster
//! (preemption can evict the holder), and some in-tree disks cannot be mounted twice on a node.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Volume;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, DELETE, EventResource, UPDATE};
use crate::framework::{
    CycleState, FilterPlugin, Handle, NodeInfo, Plugin, PodInfo, PreFilterExtensions, PreFilterPlugin, PreFilterResult,
    Status,
};

pub const NAME: &str = "VolumeRestrictions";
/// `ErrReasonDiskConflict`.
pub const ERR_REASON_DISK_CONFLICT: &str = "node(s) had no available disk";
/// `ErrReasonReadWriteOncePodConflict`.
pub const ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

const PRE_FILTER_STATE_KEY: &str = "PreFilterVolumeRestrictions";

pub struct VolumeRestrictions {
    handle: Arc<Handle>,
}

/// The pod's ReadWriteOncePod claims and how many pods already use them.
#[derive(Clone)]
struct PreFilterState {
    rwop_claims: Arc<HashSet<String>>,
    conflicting: i64,
}

impl VolumeRestrictions {
    pub fn new(handle: Arc<Handle>) -> VolumeRestrictions {
        VolumeRestrictions { handle }
    }
}

/// Two in-tree disk volumes that cannot share a node (`isVolumeConflict`): the same GCE PD
/// unless both are read-only, the same EBS volume, the same RBD image or ISCSI IQN unless
/// both are read-only.
fn volumes_conflict(a: &Volume, b: &Volume) -> bool {
    if let (Some(x), Some(y)) = (&a.gce_persistent_disk, &b.gce_persistent_disk) {
        return x.pd_name == y.pd_name && !(x.read_only.unwrap_or(false) && y.read_only.unwrap_or(false));
    }
    if let (Some(x), Some(y)) = (&a.aws_elastic_block_store, &b.aws_elastic_block_store) {
        return x.volume_id == y.volume_id;
    }
    if let (Some(x), Some(y)) = (&a.iscsi, &b.iscsi) {
        return x.iqn == y.iqn && !(x.read_only.unwrap_or(false) && y.read_only.unwrap_or(false));
    }
    if let (Some(x), Some(y)) = (&a.rbd, &b.rbd) {
        let monitors_overlap = x.monitors.iter().any(|m| y.monitors.contains(m));
        return monitors_overlap
            && x.pool == y.pool
            && x.image == y.image
            && !(x.read_only.unwrap_or(false) && y.read_only.unwrap_or(false));
    }
    false
}

fn has_disk_volumes(pod: &PodInfo) -> bool {
    pod.pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten().any(|v| {
        v.gce_persistent_disk.is_some() || v.aws_elastic_block_store.is_some() || v.iscsi.is_some() || v.rbd.is_some()
    })
}

impl Plugin for VolumeRestrictions {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Pod, DELETE),
            ClusterEvent::new(EventResource::PersistentVolumeClaim, ADD | UPDATE),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeRestrictions {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let needs_disk_check = has_disk_volumes(pod);
        let mut rwop = HashSet::new();
        {
            let pvcs = self.handle.listers.pvcs.read();
            for key in &pod.pvc_keys {
                let Some(pvc) = pvcs.get(key) else {
                    let name = key.split_once('/').map_or(key.as_str(), |(_, n)| n);
                    return (None, Status::unresolvable(format!("persistentvolumeclaim \"{name}\" not found")));
                };
                let modes = pvc.spec.as_ref().and_then(|s| s.access_modes.as_deref()).unwrap_or_default();
                if modes.iter().any(|m| m == "ReadWriteOncePod") {
                    rwop.insert(key.clone());
                }
            }
        }
        let conflicting: i64 = if rwop.is_empty() {
            0
        } else {
            snapshot
                .node_info_list
                .iter()
                .map(|n| rwop.iter().filter(|k| n.pvc_ref_counts.contains_key(*k)).count() as i64)
                .sum()
        };
        if !needs_disk_check && conflicting == 0 {
            return (None, Status::skip());
        }
        state.write(PRE_FILTER_STATE_KEY, PreFilterState { rwop_claims: Arc::new(rwop), conflicting });
        (None, Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for VolumeRestrictions {
    fn add_pod(&self, state: &mut CycleState, _pod: &PodInfo, added: &Arc<PodInfo>, _node: &NodeInfo) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            s.conflicting += added.pvc_keys.iter().filter(|k| s.rwop_claims.contains(*k)).count() as i64;
        }
        Status::success()
    }

    fn remove_pod(&self, state: &mut CycleState, _pod: &PodInfo, removed: &Arc<PodInfo>, _node: &NodeInfo) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            s.conflicting -= removed.pvc_keys.iter().filter(|k| s.rwop_claims.contains(*k)).count() as i64;
        }
        Status::success()
    }
}

impl FilterPlugin for VolumeRestrictions {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if has_disk_volumes(pod) {
            let mine = pod.pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
            for other in &node.pods {
                let theirs = other.pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
                if mine.iter().any(|a| theirs.iter().any(|b| volumes_conflict(a, b))) {
                    return Status::unschedulable(ERR_REASON_DISK_CONFLICT);
                }
            }
        }
        if state.read::<PreFilterState>(PRE_FILTER_STATE_KEY).is_some_and(|s| s.conflicting > 0) {
            return Status::unschedulable(ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT);
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests;
