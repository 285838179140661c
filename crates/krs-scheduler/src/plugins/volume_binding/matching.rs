//! Matching claims to volumes (`volumebinding.binder`): classifying a pod's claims, checking a
//! PV's node affinity, finding the smallest available PV for a claim on a node, and the
//! capacity score.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};

use super::{ERR_REASON_BIND_CONFLICT, ERR_REASON_UNBOUND_IMMEDIATE};
use crate::framework::helpers::node_selector_matches;
use crate::framework::resource::quantity_value;
use crate::framework::{Listers, MAX_NODE_SCORE, NodeInfo, PodInfo, Status};
use crate::plugins::node_resources::UtilizationShapePoint;

/// What a claim's storage class says about binding.
#[derive(Clone, Debug)]
pub struct Class {
    pub name: String,
    /// `kubernetes.io/no-provisioner` means only static volumes.
    pub provisioner: String,
    /// Topologies dynamic provisioning may use (`allowedTopologies`), empty for any.
    pub allowed_topologies: Vec<(String, Vec<String>)>,
}

/// One claim bound to a pre-existing volume.
#[derive(Clone, Debug)]
pub struct StaticBinding {
    pub pv_name: String,
    pub claim_namespace: String,
    pub claim_name: String,
    pub claim_uid: String,
    pub class: String,
    pub requested: i64,
    pub capacity: i64,
}

/// The decisions for one node (`PodVolumes`).
#[derive(Clone, Debug, Default)]
pub struct PodVolumes {
    pub static_bindings: Vec<StaticBinding>,
    /// Claims to provision on the node: (namespace, name).
    pub provisionings: Vec<(String, String)>,
}

fn claim_name(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, n)| n)
}

type Classified = (Vec<Arc<PersistentVolume>>, Vec<(Arc<PersistentVolumeClaim>, Class)>);

/// Splits the pod's claims into bound volumes and claims to bind (`GetPodVolumeClaims`).
pub fn classify(listers: &Listers, pod: &PodInfo) -> Result<Classified, Status> {
    let pvcs = listers.pvcs.read();
    let pvs = listers.pvs.read();
    let classes = listers.storage_classes.read();
    let mut bound = Vec::new();
    let mut to_bind = Vec::new();
    for key in &pod.pvc_keys {
        let Some(pvc) = pvcs.get(key) else {
            return Err(Status::unresolvable(format!("persistentvolumeclaim \"{}\" not found", claim_name(key))));
        };
        if pvc.metadata.deletion_timestamp.is_some() {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim \"{}\" is being deleted",
                claim_name(key)
            )));
        }
        let spec = pvc.spec.as_ref();
        if let Some(pv_name) = spec.and_then(|s| s.volume_name.as_deref()).filter(|n| !n.is_empty()) {
            let Some(pv) = pvs.get(pv_name) else {
                return Err(Status::unresolvable(format!("persistentvolume \"{pv_name}\" not found")));
            };
            bound.push(pv.clone());
            continue;
        }
        let class_name = spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default();
        let sc = classes.get(&class_name);
        let wait = sc.and_then(|c| c.volume_binding_mode.as_deref()) == Some("WaitForFirstConsumer");
        if !wait {
            return Err(Status::unresolvable(ERR_REASON_UNBOUND_IMMEDIATE));
        }
        let allowed = sc
            .and_then(|c| c.allowed_topologies.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|t| t.match_label_expressions.iter().flatten())
            .map(|e| (e.key.clone(), e.values.clone()))
            .collect();
        let provisioner = sc.map(|c| c.provisioner.clone()).unwrap_or_default();
        to_bind.push((pvc.clone(), Class { name: class_name, provisioner, allowed_topologies: allowed }));
    }
    Ok((bound, to_bind))
}

/// Whether the PV's node affinity admits the node (`CheckNodeAffinity`).
pub fn pv_fits_node(pv: &PersistentVolume, node: &NodeInfo) -> bool {
    pv.spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
        .is_none_or(|r| node_selector_matches(r, node.labels(), &node.name))
}

fn storage(list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>) -> i64 {
    list.and_then(|l| l.get("storage")).map(quantity_value).unwrap_or(0)
}

/// The claims' volumes on `node`: for each claim the smallest available PV of its class that
/// is big enough, has the access modes, reaches the node and is not taken; else dynamic
/// provisioning if the class has a provisioner allowed on the node (`FindPodVolumes`).
pub fn find_volumes(
    listers: &Listers,
    claims: &[(Arc<PersistentVolumeClaim>, Class)],
    node: &NodeInfo,
    assumed: &HashMap<String, String>,
    pod_key: &str,
) -> Result<PodVolumes, &'static str> {
    let pvs = listers.pvs.read();
    let mut out = PodVolumes::default();
    let mut chosen: Vec<String> = Vec::new();
    for (pvc, class) in claims {
        let spec = pvc.spec.as_ref();
        let requested = storage(spec.and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()));
        let modes = spec.and_then(|s| s.access_modes.clone()).unwrap_or_default();
        let volume_mode = spec.and_then(|s| s.volume_mode.clone()).unwrap_or_else(|| "Filesystem".into());
        let ns = pvc.metadata.namespace.clone().unwrap_or_default();
        let name = pvc.metadata.name.clone().unwrap_or_default();
        let uid = pvc.metadata.uid.clone().unwrap_or_default();
        let mut best: Option<(&String, i64)> = None;
        for (pv_name, pv) in pvs.iter() {
            let Some(ps) = pv.spec.as_ref() else { continue };
            if ps.storage_class_name.clone().unwrap_or_default() != class.name || chosen.contains(pv_name) {
                continue;
            }
            if let Some(r) = &ps.claim_ref
                && !(r.namespace.as_deref() == Some(ns.as_str()) && r.name.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            if assumed.get(pv_name).is_some_and(|k| k != pod_key) {
                continue;
            }
            if pv.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|p| p != "Available" && p != "Pending") {
                continue;
            }
            let capacity = storage(ps.capacity.as_ref());
            let pv_modes = ps.access_modes.clone().unwrap_or_default();
            if capacity < requested || !modes.iter().all(|m| pv_modes.contains(m)) {
                continue;
            }
            if ps.volume_mode.clone().unwrap_or_else(|| "Filesystem".into()) != volume_mode || !pv_fits_node(pv, node) {
                continue;
            }
            if best.is_none_or(|(_, c)| capacity < c) {
                best = Some((pv_name, capacity));
            }
        }
        if let Some((pv_name, capacity)) = best {
            chosen.push(pv_name.clone());
            out.static_bindings.push(StaticBinding {
                pv_name: pv_name.clone(),
                claim_namespace: ns,
                claim_name: name,
                claim_uid: uid,
                class: class.name.clone(),
                requested,
                capacity,
            });
            continue;
        }
        if class.provisioner.is_empty() || class.provisioner == "kubernetes.io/no-provisioner" {
            return Err(ERR_REASON_BIND_CONFLICT);
        }
        let labels = node.labels();
        if !class.allowed_topologies.iter().all(|(k, vs)| labels.get(k).is_some_and(|v| vs.contains(v))) {
            return Err(ERR_REASON_BIND_CONFLICT);
        }
        out.provisionings.push((ns, name));
    }
    Ok(out)
}

/// The shape function at `utilization` percent, scores scaled from 0..=10 to 0..=100.
fn shape_at(shape: &[UtilizationShapePoint], utilization: i64) -> i64 {
    let pts: Vec<(i64, i64)> =
        shape.iter().map(|p| (i64::from(p.utilization), i64::from(p.score) * (MAX_NODE_SCORE / 10))).collect();
    for i in 0..pts.len() {
        if utilization <= pts[i].0 {
            if i == 0 {
                return pts[0].1;
            }
            let ((x0, y0), (x1, y1)) = (pts[i - 1], pts[i]);
            return y0 + (y1 - y0) * (utilization - x0) / (x1 - x0).max(1);
        }
    }
    pts.last().map_or(0, |p| p.1)
}

/// The average over storage classes of the shape at the chosen volumes' utilization.
pub fn capacity_score(v: &PodVolumes, shape: &[UtilizationShapePoint]) -> i64 {
    let mut by_class: HashMap<&str, (i64, i64)> = HashMap::new();
    for b in &v.static_bindings {
        let e = by_class.entry(b.class.as_str()).or_default();
        e.0 += b.requested;
        e.1 += b.capacity;
    }
    if by_class.is_empty() {
        return 0;
    }
    let total: i64 = by_class
        .values()
        .map(|(req, cap)| if *cap == 0 { 0 } else { shape_at(shape, (req * 100 / cap).min(100)) })
        .sum();
    (total as f64 / by_class.len() as f64).round() as i64
}
