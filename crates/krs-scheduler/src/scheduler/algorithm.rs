//! The scheduling algorithm of one cycle (`schedulePod`): PreFilter, the nominated node first,
//! Filter over a rotating window of nodes until enough feasible ones are found
//! (percentageOfNodesToScore), then PreScore, Score and the choice of the best node.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rand::Rng;

use super::results_memo::{ClassLearn, Kind, ResultsMemo};
use crate::cache::Snapshot;
use crate::framework::{Code, CycleState, Framework, NodeInfo, NodeSet, NodeToStatus, PodInfo, Status, parallel};

/// Below this many nodes all are evaluated (`minFeasibleNodesToFind`).
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this (`minFeasibleNodesPercentageToFind`).
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// How many nodes ahead of the one being filtered have their labels prefetched (their
/// `NodeInfo`s are fetched twice as far ahead).
const PREFETCH_AHEAD: usize = 4;

/// The message for a cluster without nodes (`ErrNoNodesAvailable`).
pub const ERR_NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

/// Why a pod fits no node (`framework.Diagnosis`).
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    pub node_to_status: NodeToStatus,
    pub unschedulable_plugins: HashSet<&'static str>,
    pub pending_plugins: HashSet<&'static str>,
    pub pre_filter_msg: String,
    pub post_filter_msg: String,
}

impl Diagnosis {
    fn add_plugin_status(&mut self, s: &Status) {
        if s.plugin.is_empty() {
            return;
        }
        if s.code == Code::Pending {
            self.pending_plugins.insert(s.plugin);
        } else if s.is_rejected() {
            self.unschedulable_plugins.insert(s.plugin);
        }
    }
}

/// No node fits the pod (`framework.FitError`).
#[derive(Clone, Debug)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub diagnosis: Diagnosis,
}

impl FitError {
    /// "0/N nodes are available: <PreFilter msg or the reasons histogram>. <PostFilter msg>"
    /// (`FitError.Error`).
    pub fn message(&self) -> String {
        let mut msg = format!("0/{} nodes are available:", self.num_all_nodes);
        let d = &self.diagnosis;
        if !d.pre_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", d.pre_filter_msg));
        } else {
            let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
            for s in d.node_to_status.statuses.values() {
                for r in &s.reasons {
                    *reasons.entry(r.to_string()).or_default() += 1;
                }
            }
            let explicit = d.node_to_status.statuses.len();
            if explicit < self.num_all_nodes
                && let Some(absent) = &d.node_to_status.absent
            {
                for r in &absent.reasons {
                    *reasons.entry(r.to_string()).or_default() += self.num_all_nodes - explicit;
                }
            }
            let mut lines: Vec<String> = reasons.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
            lines.sort();
            if !lines.is_empty() {
                msg.push_str(&format!(" {}.", lines.join(", ")));
            }
        }
        if !d.post_filter_msg.is_empty() {
            msg.push_str(&format!(" {}", d.post_filter_msg));
        }
        msg
    }
}

/// The outcome of `schedule_pod`.
pub enum ScheduleError {
    /// No node fits.
    Fit(Box<FitError>),
    /// No node exists at all.
    NoNodes,
    /// A plugin failed.
    Error(Status),
}

pub struct ScheduleResult {
    pub suggested_host: Arc<str>,
    pub evaluated_nodes: usize,
    pub feasible_nodes: usize,
}

/// The nodes that passed Filter, as positions in the node list they were found in: the
/// snapshot's, or the one PreFilter narrowed it to (or the nominated node alone).
#[derive(Default)]
pub struct Feasible {
    list: Option<Vec<Arc<NodeInfo>>>,
    at: Vec<usize>,
}

impl Feasible {
    /// The feasible nodes, read from the snapshot the cycle filtered.
    pub fn nodes<'a>(&'a self, snapshot: &'a Snapshot) -> NodeSet<'a> {
        NodeSet::at(self.list.as_deref().unwrap_or(&snapshot.node_info_list), &self.at)
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

/// How many feasible nodes to look for (`numFeasibleNodesToFind`): all below 100 nodes, else
/// the configured percentage, by default 50% minus 1% per 125 nodes, at least 5%, at least 100.
pub fn num_feasible_nodes_to_find(percentage: Option<i32>, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = percentage.unwrap_or(0).max(0) as usize;
    if pct == 0 {
        pct = 50usize.saturating_sub(num_all_nodes / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = num_all_nodes * pct / 100;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// What the parallel filter collected.
#[derive(Default)]
struct FilterResults {
    /// Feasible nodes: their position in the evaluation order and in the node list.
    feasible: Vec<(usize, usize)>,
    failed: Vec<(Arc<str>, Status)>,
    error: Option<Status>,
    /// Node-local outcomes computed (not taken from the memo) in a memo cycle, by position in
    /// the list, with the position of the failed plugin.
    learned: Vec<(usize, Status, usize)>,
    /// Classes for the other Filter plugins found (not taken from the memo) in a memo cycle,
    /// by position in the list.
    classes: Vec<(usize, ClassLearn)>,
}

/// What a search found: the positions in the list of the feasible nodes, and what the memo
/// should learn.
type Found = (Vec<usize>, Vec<(usize, Status, usize)>, Vec<(usize, ClassLearn)>);

impl FilterResults {
    /// Keeps one node's outcome; false when the search must stop (an error).
    fn record(&mut self, visit: Visit<'_>) -> bool {
        let Visit { i, pos, node, status: s, learn, class } = visit;
        if let Some((local, at)) = learn
            && (local.is_success() || local.is_rejected())
        {
            self.learned.push((pos, local, at));
        }
        if let Some(class) = class {
            self.classes.push((pos, class));
        }
        if s.is_success() {
            self.feasible.push((i, pos));
        } else if s.is_rejected() {
            self.failed.push((node.name.clone(), s));
        } else {
            self.error = Some(s);
            return false;
        }
        true
    }
}

/// One node's filter outcome.
struct Visit<'a> {
    /// Position in the evaluation order.
    i: usize,
    /// Position in the node list.
    pos: usize,
    node: &'a Arc<NodeInfo>,
    status: Status,
    /// The node-local plugins' outcome computed in a memo cycle, for the memo to learn.
    learn: Option<(Status, usize)>,
    /// The node's class for the other Filter plugins found in a memo cycle, to learn.
    class: Option<ClassLearn>,
}

/// State kept across cycles: where the next filter window starts, and the filter and score
/// results of earlier cycles (`results_memo`).
#[derive(Default)]
pub struct Algorithm {
    pub next_start_node_index: usize,
    memo: ResultsMemo,
    /// The kind of the pod of this cycle when the memo served its filtering.
    memo_cycle: Option<u64>,
}

impl Algorithm {
    pub fn schedule_pod(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &Arc<PodInfo>,
        snapshot: &Snapshot,
    ) -> Result<ScheduleResult, ScheduleError> {
        if snapshot.num_nodes() == 0 {
            return Err(ScheduleError::NoNodes);
        }
        let (feasible, diagnosis) = self.find_nodes_that_fit(fw, state, pod, snapshot).map_err(ScheduleError::Error)?;
        let nodes = feasible.nodes(snapshot);
        let Some(first) = nodes.get(0) else {
            return Err(ScheduleError::Fit(Box::new(FitError { num_all_nodes: snapshot.num_nodes(), diagnosis })));
        };
        let evaluated = nodes.len() + diagnosis.node_to_status.statuses.len();
        if nodes.len() == 1 {
            return Ok(ScheduleResult {
                suggested_host: first.name.clone(),
                evaluated_nodes: evaluated,
                feasible_nodes: 1,
            });
        }
        let s = fw.run_pre_score(state, pod, nodes, snapshot);
        if !s.is_success() {
            return Err(ScheduleError::Error(s));
        }
        let totals = self.run_score(fw, state, pod, nodes, snapshot).map_err(ScheduleError::Error)?;
        let host = select_host(nodes, &totals)
            .ok_or_else(|| ScheduleError::Error(Status::error("the scores name no feasible node")))?;
        Ok(ScheduleResult { suggested_host: host, evaluated_nodes: evaluated, feasible_nodes: feasible.len() })
    }

    /// Score, with the raw scores of unchanged nodes from the memo when the filters were served
    /// by it and every Score plugin that runs is node-local.
    fn run_score(
        &mut self,
        fw: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        feasible: NodeSet<'_>,
        snapshot: &Snapshot,
    ) -> Result<Vec<i64>, Status> {
        let memo_cycle = self.memo_cycle.take();
        let (Some(id), Some(scorers)) = (memo_cycle, fw.node_local_scorers(state)) else {
            return fw.run_score(state, pod, feasible);
        };
        let Some(kind) = self.memo.kind_by_id(id, snapshot) else {
            return fw.run_score(state, pod, feasible);
        };
        kind.use_scorers(&scorers);
        // A memo cycle filtered the snapshot's own list: positions in the set are positions in
        // the memo.
        let at = |i: usize| feasible.position(i).zip(feasible.get(i));
        let known: Vec<Option<&[i64]>> =
            (0..feasible.len()).map(|i| at(i).and_then(|(p, n)| kind.scores(p, n))).collect();
        let (totals, learned) = fw.run_score_known(state, pod, feasible, Some(&known))?;
        for (i, scores) in learned {
            if let Some((p, n)) = at(i) {
                kind.learn_scores(p, n, &scores);
            }
        }
        Ok(totals)
    }

    /// PreFilter, then Filter (`findNodesThatFitPod`).
    pub fn find_nodes_that_fit(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &Arc<PodInfo>,
        snapshot: &Snapshot,
    ) -> Result<(Feasible, Diagnosis), Status> {
        self.memo_cycle = None;
        let mut diagnosis = Diagnosis::default();
        let (pre_result, status, rejectors) = fw.run_pre_filter(state, pod, snapshot);
        if !status.is_success() {
            if !status.is_rejected() {
                return Err(status);
            }
            diagnosis.pre_filter_msg = status.message();
            diagnosis.unschedulable_plugins.extend(rejectors);
            diagnosis.add_plugin_status(&status);
            diagnosis.node_to_status.absent = Some(status);
            return Ok((Feasible::default(), diagnosis));
        }
        // A nominated node (set by preemption) is tried first: the victims' room is for this pod.
        let nominated = pod.nominated_node_name();
        if !nominated.is_empty()
            && let Some(node) = snapshot.get(nominated)
        {
            let s = fw.run_filter_with_nominated_pods(state, pod, node);
            if s.is_success() {
                return Ok((Feasible { list: Some(vec![node.clone()]), at: vec![0] }, diagnosis));
            }
            if !s.is_rejected() {
                return Err(s);
            }
        }
        let all = &snapshot.node_info_list;
        let narrowed: Option<Vec<Arc<NodeInfo>>> = pre_result.node_names.as_ref().map(|names| {
            let mut v: Vec<Arc<NodeInfo>> = names.iter().filter_map(|n| snapshot.get(n).cloned()).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        });
        if narrowed.is_some() {
            let msg = Framework::narrowing_message(&pre_result.sources);
            diagnosis.node_to_status.absent = Some(Status::unresolvable(msg));
        }
        let nodes: &[Arc<NodeInfo>] = narrowed.as_deref().unwrap_or(all);
        // The memo is by position in the whole list: a narrowed list does without.
        let mut memo = std::mem::take(&mut self.memo);
        let (id, mut kind) = match narrowed {
            None => {
                let (id, kind) = memo.kind(fw, pod, snapshot);
                (Some(id), Some(kind))
            }
            Some(_) => (None, None),
        };
        if let Some(kind) = kind.as_deref_mut() {
            kind.use_class_filters(&fw.other_filters(state));
        }
        // Nodes with nominated pods that count against this one: filtered with them, not from
        // the memo (positions in the node list, sorted).
        let mut nominated: Vec<usize> = Vec::new();
        if kind.is_some() && !fw.handle.nominator.is_empty() {
            let names = fw.handle.nominator.nodes_with(|p| p.key != pod.key && p.priority >= pod.priority);
            nominated = names.iter().filter_map(|n| snapshot.index.get(n.as_str()).copied()).collect();
            nominated.sort_unstable();
        }
        let memo_view = kind.as_deref().map(|k| (k, nominated.as_slice()));
        let found = self.find_nodes_that_pass_filters(fw, state, pod, nodes, all.len(), &mut diagnosis, memo_view);
        let (positions, learned, classes) = match found {
            Ok(found) => found,
            Err(e) => {
                self.memo = memo;
                return Err(e);
            }
        };
        if let Some(kind) = kind {
            for (pos, s, at) in learned {
                kind.learn_filter(pos, &nodes[pos], s, at);
            }
            for (pos, class) in classes {
                kind.learn_class(pos, &nodes[pos], class);
            }
        }
        self.memo = memo;
        self.memo_cycle = id;
        Ok((Feasible { list: narrowed, at: positions }, diagnosis))
    }

    /// Filters the nodes from the rotating start until enough fit; returns the positions in
    /// `nodes` of the feasible ones, and the statuses the memo should learn.
    #[allow(clippy::too_many_arguments)]
    fn find_nodes_that_pass_filters(
        &mut self,
        fw: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        all_len: usize,
        diagnosis: &mut Diagnosis,
        memo: Option<(&Kind, &[usize])>,
    ) -> Result<Found, Status> {
        let n = nodes.len();
        if n == 0 {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        let to_find = num_feasible_nodes_to_find(fw.percentage_of_nodes_to_score, n);
        let start = self.next_start_node_index % n;
        // Positions wrap around the node list by a subtraction: both terms are below `n`, and a
        // division per step would cost as much as a node's cheaper filters.
        let wrap = |j: usize| if j >= n { j - n } else { j };
        let (ahead, ahead_labels) = ((2 * PREFETCH_AHEAD) % n, PREFETCH_AHEAD % n);
        // Filter plugins that are not node-local run on every node even in a memo cycle (and
        // read the node: it is prefetched as in a cycle without memo).
        let others_run = memo.is_some() && !fw.filters_node_local(state);
        let all_filters = fw.num_filters();
        // The other plugins' status per class of nodes, found on the first node of the class
        // this cycle meets (with every plugin run: each node takes the failures placed before
        // its own node-local one).
        let verdicts: Vec<OnceLock<(Status, usize)>> = match memo {
            Some((kind, _)) if others_run => (0..kind.num_classes()).map(|_| OnceLock::new()).collect(),
            _ => Vec::new(),
        };
        let visit = |i: usize| {
            let pos = wrap(start + i);
            let node = &nodes[pos];
            if memo.is_none() || (others_run && verdicts.is_empty()) {
                // The nodes are visited once each, in order: fetching the ones a few steps
                // ahead overlaps their cache misses with the filters of this one (the labels,
                // whose address is in the node, once the node has had time to arrive).
                nodes[wrap(pos + ahead)].prefetch();
                nodes[wrap(pos + ahead_labels)].prefetch_labels();
            }
            // Served by the memo, a node is known by its address alone: nothing of it is read.
            let Some((memo, _)) = memo.filter(|(_, nominated)| nominated.binary_search(&pos).is_err()) else {
                let status = fw.run_filter_with_nominated_pods(state, pod, node);
                return Visit { i, pos, node, status, learn: None, class: None };
            };
            // No pod that counts is nominated to the node: the plain filters are the answer.
            let (local, at, learn) = match memo.filter(pos, node) {
                Some((s, at)) => (s.clone(), *at, false),
                None => {
                    let (s, at) = fw.run_filters_of(state, pod, node, Some(true), all_filters);
                    (s, at, true)
                }
            };
            // The first failure in the profile's order is the one reported: the other plugins
            // placed before the node-local one that failed (all of them if none did).
            let mut class_learn = None;
            let status = if others_run {
                let class = memo.class(pos, node).or_else(|| {
                    if memo.classes_full() {
                        return None;
                    }
                    let key = fw.other_filters_key(state, pod, node)?;
                    let id = memo.class_of(&key);
                    class_learn = Some(id.map_or(ClassLearn::New(key), ClassLearn::Known));
                    id
                });
                let (s, failed_at) = match class.and_then(|c| verdicts.get(c as usize)) {
                    Some(v) => v.get_or_init(|| fw.run_filters_of(state, pod, node, Some(false), all_filters)).clone(),
                    None => fw.run_filters_of(state, pod, node, Some(false), at),
                };
                if !s.is_success() && failed_at < at { s } else { local.clone() }
            } else {
                local.clone()
            };
            Visit { i, pos, node, status, learn: learn.then_some((local, at)), class: class_learn }
        };
        // The search stops after `to_find` feasible nodes: unless that many are wanted, the work
        // is too short to pay for starting threads, and one thread needs no shared counter or
        // lock per node.
        let results = if to_find < parallel::MIN_PARALLEL_ITEMS || fw.handle.parallelism <= 1 {
            let mut results = FilterResults { feasible: Vec::with_capacity(to_find), ..Default::default() };
            for i in 0..n {
                if results.feasible.len() >= to_find {
                    break;
                }
                if !results.record(visit(i)) {
                    break;
                }
            }
            results
        } else {
            let found = std::sync::atomic::AtomicUsize::new(0);
            let shared: Mutex<FilterResults> = Mutex::default();
            parallel::until(fw.handle.parallelism, n, |i| {
                if found.load(std::sync::atomic::Ordering::Relaxed) >= to_find {
                    return false;
                }
                let v = visit(i);
                if v.status.is_success() && found.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= to_find {
                    return true;
                }
                shared.lock().record(v)
            });
            shared.into_inner()
        };
        let FilterResults { mut feasible, failed, error, learned, classes } = results;
        if let Some(e) = error {
            return Err(e);
        }
        diagnosis.node_to_status.statuses.reserve(failed.len());
        for (name, s) in failed {
            diagnosis.add_plugin_status(&s);
            diagnosis.node_to_status.statuses.insert(name, s);
        }
        let processed = feasible.len() + diagnosis.node_to_status.statuses.len();
        self.next_start_node_index = (self.next_start_node_index + processed) % all_len.max(1);
        feasible.sort_unstable_by_key(|(i, _)| *i);
        Ok((feasible.into_iter().map(|(_, pos)| pos).collect(), learned, classes))
    }
}

/// The node with the highest score; ties broken uniformly at random (`selectHost`).
fn select_host(nodes: NodeSet<'_>, totals: &[i64]) -> Option<Arc<str>> {
    let mut rng = rand::rng();
    let mut best = 0;
    let mut ties = 1u32;
    for i in 1..nodes.len().min(totals.len()) {
        if totals[i] > totals[best] {
            best = i;
            ties = 1;
        } else if totals[i] == totals[best] {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    nodes.get(best).map(|n| n.name.clone())
}

#[cfg(test)]
mod tests;
