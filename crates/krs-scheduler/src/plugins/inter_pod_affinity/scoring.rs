//! PreScore and Score of InterPodAffinity: weights of matching preferred terms (the incoming
//! pod's and the existing pods'), and existing pods' required affinity at the hard weight,
//! summed per topology domain.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{InterPodAffinity, TopologyCounts, term_signature};
use crate::cache::Snapshot;
use crate::framework::types::{AffinityTerm, WeightedAffinityTerm, no_labels};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeScore, NodeSet, PodInfo, PreScorePlugin, ScorePlugin, Status,
};

const PRE_SCORE_STATE_KEY: &str = "PreScoreInterPodAffinity";

#[derive(Clone)]
struct PreScoreState {
    /// Score per topology key and value.
    scores: Arc<HashMap<String, HashMap<String, i64>>>,
}

fn add(
    scores: &mut TopologyCounts,
    term: &AffinityTerm,
    weight: i64,
    pod: &PodInfo,
    ns_labels: &BTreeMap<String, String>,
    node_labels: &BTreeMap<String, String>,
) {
    if term.matches(pod, ns_labels)
        && let Some(v) = node_labels.get(&term.topology_key)
    {
        scores.add(&term.topology_key, v, weight);
    }
}

fn add_weighted(
    scores: &mut TopologyCounts,
    terms: &[WeightedAffinityTerm],
    pod: &PodInfo,
    ns_labels: &BTreeMap<String, String>,
    node_labels: &BTreeMap<String, String>,
    sign: i64,
) {
    for t in terms {
        add(scores, &t.term, i64::from(t.weight) * sign, pod, ns_labels, node_labels);
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: NodeSet<'_>, snapshot: &Snapshot) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let has_preferred = !pod.preferred_affinity_terms.is_empty() || !pod.preferred_anti_affinity_terms.is_empty();
        if !has_preferred
            && (snapshot.have_pods_with_affinity.is_empty()
                || self.args.ignore_preferred_terms_of_existing_pods && self.args.hard_pod_affinity_weight == 0)
        {
            return Status::skip();
        }
        let resolve = |ts: &[WeightedAffinityTerm]| -> Vec<WeightedAffinityTerm> {
            let plain: Vec<AffinityTerm> = ts.iter().map(|t| t.term.clone()).collect();
            self.resolve(&plain)
                .into_iter()
                .zip(ts)
                .map(|(term, w)| WeightedAffinityTerm { term, weight: w.weight })
                .collect()
        };
        let preferred = resolve(&pod.preferred_affinity_terms);
        let preferred_anti = resolve(&pod.preferred_anti_affinity_terms);
        let ns_labels = self.handle.listers.namespace_labels(&pod.namespace);
        let hard = i64::from(self.args.hard_pod_affinity_weight);
        // With preferred terms every pod may match; otherwise only pods with affinity matter.
        // The memo walks the full node list, whose positions stay put as pods come and go.
        let candidates = &snapshot.node_info_list;
        let weighted = |ts: &[WeightedAffinityTerm]| -> String {
            ts.iter().map(|t| format!("{}{}", t.weight, term_signature(&t.term))).collect()
        };
        let signature = format!(
            "{has_preferred}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}",
            weighted(&preferred),
            weighted(&preferred_anti),
            pod.namespace,
            pod.labels(),
            ns_labels
        );
        let mut memos = self.memos.lock();
        let (memo, totals) = memos.scores.get(signature);
        let ignore_existing_preferred = self.args.ignore_preferred_terms_of_existing_pods;
        memo.update(
            candidates,
            totals,
            |totals, node| {
                let labels = node.labels();
                let mut scores = TopologyCounts::new();
                let pods: Box<dyn Iterator<Item = &Arc<PodInfo>>> =
                    if has_preferred { Box::new(node.pods.iter()) } else { Box::new(node.pods_with_affinity.iter()) };
                for existing in pods {
                    add_weighted(&mut scores, &preferred, existing, no_labels(), labels, 1);
                    add_weighted(&mut scores, &preferred_anti, existing, no_labels(), labels, -1);
                    if hard > 0 && !labels.is_empty() {
                        for t in &existing.required_affinity_terms {
                            add(&mut scores, t, hard, pod, &ns_labels, labels);
                        }
                    }
                    if !ignore_existing_preferred {
                        add_weighted(&mut scores, &existing.preferred_affinity_terms, pod, &ns_labels, labels, 1);
                        add_weighted(&mut scores, &existing.preferred_anti_affinity_terms, pod, &ns_labels, labels, -1);
                    }
                }
                let e = scores.entries();
                totals.apply(&e, 1, false);
                e
            },
            |totals, old| totals.apply(old, -1, false),
        );
        let scores = totals.clone();
        drop(memos);
        state.write(PRE_SCORE_STATE_KEY, PreScoreState { scores: Arc::new(scores.into_inner()) });
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Err(Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found")));
        };
        let labels = node.labels();
        Ok(s.scores.iter().filter_map(|(k, values)| labels.get(k).and_then(|v| values.get(v))).sum())
    }

    /// Scales scores to 0..=100 between the lowest and the highest (`NormalizeScore`).
    fn normalize(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        if state.read::<PreScoreState>(PRE_SCORE_STATE_KEY).is_none_or(|s| s.scores.is_empty()) {
            return Status::success();
        }
        let (min, max) = scores.iter().fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s.score), hi.max(s.score)));
        let diff = max - min;
        for s in scores.iter_mut() {
            s.score =
                if diff > 0 { (MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / diff as f64)) as i64 } else { 0 };
        }
        Status::success()
    }
}
