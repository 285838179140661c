//! PreScore and Score of PodTopologySpread: matching pods per domain of each ScheduleAnyway
//! constraint over all nodes, weighted by the log of the number of domains; fewer is better.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{Constraint, HOSTNAME, PodTopologySpread, count_pods_match_selector, node_has_all_keys};
use crate::cache::Snapshot;
use crate::framework::helpers::RequiredNodeAffinity;
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeScore, NodeSet, PodInfo, PreScorePlugin, ScorePlugin, Status,
};

const PRE_SCORE_STATE_KEY: &str = "PreScorePodTopologySpread";

#[derive(Clone)]
struct PreScoreState {
    constraints: Arc<Vec<Constraint>>,
    /// Feasible nodes lacking a topology key: scored 0.
    ignored: Arc<HashSet<Arc<str>>>,
    /// Matching pods per (constraint index, domain value); hostname domains are counted in Score.
    counts: Arc<HashMap<(usize, String), i64>>,
    /// `log(domains + 2)` per constraint (`topologyNormalizingWeight`).
    weights: Arc<Vec<f64>>,
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: NodeSet<'_>, snapshot: &Snapshot) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let constraints = self.constraints(pod, "ScheduleAnyway");
        if constraints.is_empty() {
            return Status::skip();
        }
        let has_own =
            pod.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_ref()).is_some_and(|c| !c.is_empty());
        // Default constraints tolerate nodes without the keys; the system defaults do not require
        // every topology (zones may be missing).
        let require_all = has_own || !self.system_defaulted;
        let mut ignored: HashSet<Arc<str>> = HashSet::new();
        let mut counts: HashMap<(usize, String), i64> = HashMap::new();
        let mut sizes = vec![0usize; constraints.len()];
        for n in nodes.iter() {
            if require_all && !node_has_all_keys(n.node_labels(), &constraints) {
                ignored.insert(n.name.clone());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME {
                    continue;
                }
                let value = n.label(&c.topology_key).unwrap_or_default().to_owned();
                if let std::collections::hash_map::Entry::Vacant(e) = counts.entry((i, value)) {
                    e.insert(0);
                    sizes[i] += 1;
                }
            }
        }
        let weights: Vec<f64> = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == HOSTNAME { nodes.len() - ignored.len() } else { sizes[i] };
                ((size + 2) as f64).ln()
            })
            .collect();
        let affinity = RequiredNodeAffinity::of(&pod.pod);
        for n in &snapshot.node_info_list {
            if require_all && !node_has_all_keys(n.node_labels(), &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME || !c.matches_node_inclusion_policies(pod, &affinity, n) {
                    continue;
                }
                let value = n.label(&c.topology_key).unwrap_or_default().to_owned();
                // Domains without a candidate node do not matter.
                if let Some(cnt) = counts.get_mut(&(i, value)) {
                    *cnt += count_pods_match_selector(&n.pods, &c.selector, &pod.namespace);
                }
            }
        }
        state.write(
            PRE_SCORE_STATE_KEY,
            PreScoreState {
                constraints: Arc::new(constraints),
                ignored: Arc::new(ignored),
                counts: Arc::new(counts),
                weights: Arc::new(weights),
            },
        );
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Err(Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found")));
        };
        if s.ignored.contains(&node.name) {
            return Ok(0);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.label(&c.topology_key) else { continue };
            let cnt = if c.topology_key == HOSTNAME {
                count_pods_match_selector(&node.pods, &c.selector, &pod.namespace)
            } else {
                s.counts.get(&(i, value.to_owned())).copied().unwrap_or(0)
            };
            // `scoreForCount`: the count weighted by the domain count, shifted by maxSkew-1 so a
            // larger skew tolerance flattens the differences.
            score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        Ok(score.round() as i64)
    }

    /// Fewer matching pods is better: (max + min - score) relative to max; ignored nodes get 0.
    fn normalize(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found"));
        };
        let considered = scores.iter().filter(|n| !s.ignored.contains(n.name)).map(|n| n.score);
        let (min, max) = considered.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        for n in scores.iter_mut() {
            if s.ignored.contains(n.name) {
                n.score = 0;
            } else if max == 0 {
                n.score = MAX_NODE_SCORE;
            } else {
                n.score = MAX_NODE_SCORE * (max + min - n.score) / max;
            }
        }
        Status::success()
    }
}
