//! VolumeBinding: a pod's PersistentVolumeClaims must be bound to volumes reachable from the
//! node, or bindable there: WaitForFirstConsumer claims are matched to the smallest fitting
//! available PV on each node (or dynamically provisioned), immediate claims must already be
//! bound. Nodes are scored by how full the chosen volumes would be (capacity scoring); Reserve
//! assumes the chosen volumes, PreBind writes the bindings.

mod matching;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;

use crate::cache::Snapshot;
use crate::framework::events::{ADD, ClusterEvent, EventResource, UPDATE, UPDATE_NODE_LABEL};
use crate::framework::{
    CycleState, FilterPlugin, Handle, NodeInfo, NodeSet, Plugin, PodInfo, PreBindPlugin, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ReservePlugin, ScorePlugin, Status,
};
use crate::plugins::node_resources::UtilizationShapePoint;
pub use matching::PodVolumes;

pub const NAME: &str = "VolumeBinding";
/// `ErrReasonBindConflict`.
pub const ERR_REASON_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// `ErrReasonNodeConflict`.
pub const ERR_REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// `ErrReasonNotEnoughSpace`.
pub const ERR_REASON_NOT_ENOUGH_SPACE: &str = "node(s) did not have enough free storage";
/// Immediate claims must be bound before scheduling.
pub const ERR_REASON_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

const STATE_KEY: &str = "VolumeBinding";
/// Where the scheduler tells a provisioner which node to provision for.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

/// `VolumeBindingArgs`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBindingArgs {
    #[serde(default = "bind_timeout")]
    pub bind_timeout_seconds: i64,
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

fn bind_timeout() -> i64 {
    600
}

impl Default for VolumeBindingArgs {
    fn default() -> VolumeBindingArgs {
        VolumeBindingArgs { bind_timeout_seconds: 600, shape: Vec::new() }
    }
}

/// What PreFilter found about the pod's claims, and per node what Filter decided.
#[derive(Clone)]
struct State {
    bound: Arc<Vec<Arc<PersistentVolume>>>,
    to_bind: Arc<Vec<(Arc<PersistentVolumeClaim>, matching::Class)>>,
    per_node: Arc<Mutex<HashMap<String, PodVolumes>>>,
    reserved: Option<PodVolumes>,
}

pub struct VolumeBinding {
    handle: Arc<Handle>,
    bind_timeout: Duration,
    shape: Vec<UtilizationShapePoint>,
    /// PVs chosen for pods whose binding is in flight, by PV name, with the pod key.
    assumed: Arc<Mutex<HashMap<String, String>>>,
}

impl VolumeBinding {
    pub fn new(args: VolumeBindingArgs, handle: Arc<Handle>) -> VolumeBinding {
        let mut shape = args.shape;
        if shape.is_empty() {
            // Fuller volumes score higher: the default favours packing (`defaultShapePoint`).
            shape = vec![
                UtilizationShapePoint { utilization: 0, score: 0 },
                UtilizationShapePoint { utilization: 100, score: 10 },
            ];
        }
        VolumeBinding {
            handle,
            bind_timeout: Duration::from_secs(args.bind_timeout_seconds.max(0) as u64),
            shape,
            assumed: Arc::default(),
        }
    }
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::StorageClass, ADD | UPDATE),
            ClusterEvent::new(EventResource::PersistentVolumeClaim, ADD | UPDATE),
            ClusterEvent::new(EventResource::PersistentVolume, ADD | UPDATE),
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_LABEL),
            ClusterEvent::new(EventResource::CsiNode, ADD | UPDATE),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        Some(self)
    }
    fn as_pre_bind(&self) -> Option<&dyn PreBindPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeBinding {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.pvc_keys.is_empty() {
            return (None, Status::skip());
        }
        match matching::classify(&self.handle.listers, pod) {
            Ok((bound, to_bind)) => {
                state.write(
                    STATE_KEY,
                    State {
                        bound: Arc::new(bound),
                        to_bind: Arc::new(to_bind),
                        per_node: Arc::default(),
                        reserved: None,
                    },
                );
                (None, Status::success())
            }
            Err(s) => (None, s),
        }
    }
}

impl FilterPlugin for VolumeBinding {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<State>(STATE_KEY) else { return Status::success() };
        for pv in s.bound.iter() {
            if !matching::pv_fits_node(pv, node) {
                return Status::unresolvable(ERR_REASON_NODE_CONFLICT);
            }
        }
        if s.to_bind.is_empty() {
            return Status::success();
        }
        let assumed = self.assumed.lock().clone();
        match matching::find_volumes(&self.handle.listers, &s.to_bind, node, &assumed, &pod.key) {
            Ok(v) => {
                s.per_node.lock().insert(node.name.to_string(), v);
                Status::success()
            }
            Err(reason) => Status::unschedulable(reason),
        }
    }
}

impl PreScorePlugin for VolumeBinding {
    fn pre_score(&self, state: &mut CycleState, _pod: &PodInfo, _nodes: NodeSet<'_>, _snapshot: &Snapshot) -> Status {
        match state.read::<State>(STATE_KEY) {
            Some(s) if !s.to_bind.is_empty() => Status::success(),
            _ => Status::skip(),
        }
    }
}

impl ScorePlugin for VolumeBinding {
    /// The shape function of the chosen static volumes' utilization, averaged over storage
    /// classes (`VolumeBinding.Score`).
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<State>(STATE_KEY) else { return Ok(0) };
        let per_node = s.per_node.lock();
        let Some(v) = per_node.get(&*node.name) else { return Ok(0) };
        Ok(matching::capacity_score(v, &self.shape))
    }
}

impl ReservePlugin for VolumeBinding {
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        let Some(s) = state.read_mut::<State>(STATE_KEY) else { return Status::success() };
        let Some(v) = s.per_node.lock().get(node).cloned() else { return Status::success() };
        let mut assumed = self.assumed.lock();
        for b in &v.static_bindings {
            if assumed.get(&b.pv_name).is_some_and(|k| *k != pod.key) {
                return Status::error(format!("persistentvolume {:?} is already assumed for another pod", b.pv_name));
            }
        }
        for b in &v.static_bindings {
            assumed.insert(b.pv_name.clone(), pod.key.clone());
        }
        s.reserved = Some(v);
        Status::success()
    }

    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, _node: &str) {
        if let Some(s) = state.read_mut::<State>(STATE_KEY)
            && let Some(v) = s.reserved.take()
        {
            let mut assumed = self.assumed.lock();
            for b in &v.static_bindings {
                if assumed.get(&b.pv_name).is_some_and(|k| *k == pod.key) {
                    assumed.remove(&b.pv_name);
                }
            }
        }
    }
}

#[async_trait]
impl PreBindPlugin for VolumeBinding {
    /// Writes the static bindings (PV claimRef and PVC volumeName, what the PV controller would
    /// complete) and the selected node of claims to provision, then waits for every claim to
    /// be bound.
    async fn pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        let Some(s) = state.read::<State>(STATE_KEY) else { return Status::skip() };
        let Some(v) = s.reserved.clone() else { return Status::skip() };
        let Some(client) = self.handle.client.clone() else {
            return Status::error("no API client to bind volumes with");
        };
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        for b in &v.static_bindings {
            let claim_ref = json!({"spec": {"claimRef": {
                "kind": "PersistentVolumeClaim", "apiVersion": "v1",
                "namespace": b.claim_namespace, "name": b.claim_name, "uid": b.claim_uid,
            }}});
            if let Err(e) = pvs.patch(&b.pv_name, &PatchParams::default(), &Patch::Merge(claim_ref)).await {
                return Status::error(format!("binding volumes: {e}"));
            }
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &b.claim_namespace);
            let bind = json!({
                "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
                "spec": {"volumeName": b.pv_name},
            });
            if let Err(e) = pvcs.patch(&b.claim_name, &PatchParams::default(), &Patch::Merge(bind)).await {
                return Status::error(format!("binding volumes: {e}"));
            }
        }
        for (ns, name) in &v.provisionings {
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
            let ann = json!({"metadata": {"annotations": {ANN_SELECTED_NODE: node}}});
            if let Err(e) = pvcs.patch(name, &PatchParams::default(), &Patch::Merge(ann)).await {
                return Status::error(format!("binding volumes: {e}"));
            }
        }
        // A provisioner binds the provisioned claims; wait until every claim is bound.
        let deadline = tokio::time::Instant::now() + self.bind_timeout;
        loop {
            let unbound = {
                let pvcs = self.handle.listers.pvcs.read();
                v.provisionings.iter().any(|(ns, name)| {
                    pvcs.get(&format!("{ns}/{name}"))
                        .and_then(|c| c.spec.as_ref())
                        .and_then(|s| s.volume_name.as_deref())
                        .is_none_or(str::is_empty)
                })
            };
            if !unbound {
                return Status::success();
            }
            if tokio::time::Instant::now() >= deadline {
                return Status::error(format!(
                    "binding volumes: context deadline exceeded for pod {}/{}",
                    pod.namespace, pod.name
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests;
