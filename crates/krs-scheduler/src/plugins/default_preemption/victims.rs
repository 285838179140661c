//! Choosing victims on a node (`SelectVictimsOnNode`) and the best node among candidates
//! (`pickOneNodeForPreemption`).

use std::sync::Arc;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use krs_apimachinery::labels::Selector;

use super::ERR_REASON_NO_VICTIMS;
use crate::framework::{CycleState, Framework, NodeInfo, PodInfo, Status};

/// A node where preemption makes room, with its victims (most important first).
#[derive(Clone, Debug)]
pub struct Candidate {
    pub node: String,
    pub victims: Vec<Arc<PodInfo>>,
    pub pdb_violations: usize,
}

fn start_time(p: &PodInfo) -> Option<jiff::Timestamp> {
    p.pod.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0)
}

/// Higher priority first; among equals, the one that started earlier (`MoreImportantPod`).
fn more_important(a: &PodInfo, b: &PodInfo) -> std::cmp::Ordering {
    b.priority.cmp(&a.priority).then_with(|| match (start_time(a), start_time(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    })
}

/// Splits pods into those whose eviction would violate a PDB and the others, counting down each
/// PDB's allowed disruptions as pods are taken (`filterPodsWithPDBViolation`).
fn split_by_pdb(pods: &[Arc<PodInfo>], pdbs: &[Arc<PodDisruptionBudget>]) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i32> =
        pdbs.iter().map(|p| p.status.as_ref().map(|s| s.disruptions_allowed).unwrap_or(0)).collect();
    let (mut violating, mut ok) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violated = false;
        if !p.labels().is_empty() {
            for (i, pdb) in pdbs.iter().enumerate() {
                if pdb.metadata.namespace.as_deref() != Some(p.namespace.as_str()) {
                    continue;
                }
                // A PDB with a nil or empty selector matches nothing.
                let Ok(sel) = Selector::from_label_selector(pdb.spec.as_ref().and_then(|s| s.selector.as_ref())) else {
                    continue;
                };
                if sel.is_empty() || !sel.matches(p.labels()) {
                    continue;
                }
                // Pods the API server already counts as disrupted do not count again.
                if pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()).is_some_and(|d| d.contains_key(&p.name))
                {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated { violating.push(p.clone()) } else { ok.push(p.clone()) }
    }
    (violating, ok)
}

/// The fewest victims that make the pod fit on `node`: remove every lower-priority pod, check
/// the pod fits, then add pods back most important first (PDB-protected ones before the
/// others) while the pod still fits. Returns the victims and how many violate a PDB.
pub fn select_victims_on_node(
    fw: &Framework,
    state: &mut CycleState,
    pod: &Arc<PodInfo>,
    node: &mut NodeInfo,
    pdbs: &[Arc<PodDisruptionBudget>],
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let mut potential: Vec<Arc<PodInfo>> = node.pods.iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(ERR_REASON_NO_VICTIMS));
    }
    for p in &potential {
        node.remove_pod(p);
        let s = fw.run_pre_filter_remove_pod(state, pod, p, node);
        if !s.is_success() {
            return Err(s);
        }
    }
    let s = fw.run_filter_with_nominated_pods(state, pod, node);
    if !s.is_success() {
        return Err(s);
    }
    potential.sort_by(|a, b| more_important(a, b));
    let (violating, ok) = split_by_pdb(&potential, pdbs);
    let mut victims = Vec::new();
    let mut violations = 0;
    let mut reprieve = |p: &Arc<PodInfo>, state: &mut CycleState, node: &mut NodeInfo| -> Result<bool, Status> {
        node.add_pod(p.clone());
        let s = fw.run_pre_filter_add_pod(state, pod, p, node);
        if !s.is_success() {
            return Err(s);
        }
        if fw.run_filter_with_nominated_pods(state, pod, node).is_success() {
            return Ok(false);
        }
        node.remove_pod(p);
        let s = fw.run_pre_filter_remove_pod(state, pod, p, node);
        if !s.is_success() {
            return Err(s);
        }
        victims.push(p.clone());
        Ok(true)
    };
    for p in &violating {
        if reprieve(p, state, node)? {
            violations += 1;
        }
    }
    for p in &ok {
        reprieve(p, state, node)?;
    }
    victims.sort_by(|a, b| more_important(a, b));
    Ok((victims, violations))
}

/// The best candidate (`pickOneNodeForPreemption`): fewest PDB violations, then the lowest
/// highest-priority victim, the smallest sum of priorities, the fewest victims, the latest
/// start among the highest-priority victims; else the first.
pub fn pick_one_node_for_preemption(candidates: &[Candidate]) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let mut idx: Vec<usize> = (0..candidates.len()).collect();
    let keep_min = |idx: &mut Vec<usize>, f: &dyn Fn(&Candidate) -> i64| {
        let best = idx.iter().map(|i| f(&candidates[*i])).min().unwrap_or(0);
        idx.retain(|i| f(&candidates[*i]) == best);
    };
    keep_min(&mut idx, &|c| c.pdb_violations as i64);
    keep_min(&mut idx, &|c| c.victims.first().map_or(i64::MIN, |v| i64::from(v.priority)));
    // Priorities shifted to be positive so negative ones still add up (`MaxInt32 + 1`).
    keep_min(&mut idx, &|c| c.victims.iter().map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1).sum());
    keep_min(&mut idx, &|c| c.victims.len() as i64);
    if idx.len() > 1 {
        // The node whose highest-priority victims started last loses the least work.
        let earliest = |c: &Candidate| -> i64 {
            let top = c.victims.first().map_or(i32::MIN, |v| v.priority);
            c.victims
                .iter()
                .filter(|v| v.priority == top)
                .filter_map(|v| start_time(v))
                .map(|t| t.as_nanosecond() as i64)
                .min()
                .unwrap_or(i64::MIN)
        };
        keep_min(&mut idx, &|c| -earliest(c));
    }
    idx.first().copied()
}
