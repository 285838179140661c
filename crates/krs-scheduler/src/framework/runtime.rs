//! One profile's plugins per extension point, and the functions that run them
//! (`frameworkruntime.frameworkImpl`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::handle::Handle;
use super::interface::{NodeScore, Plugin, PostFilterContext, PostFilterResult, PreFilterResult};
use super::node_set::NodeSet;
use super::parallel;
use super::status::{Code, CycleState, Status};
use super::types::{NodeInfo, PodInfo};
use crate::cache::Snapshot;

/// How many nodes ahead of the one being scored are fetched into cache.
const SCORE_PREFETCH_AHEAD: usize = 8;

/// Raw scores a cycle computed, by index in its node list, one per running Score plugin.
pub type ComputedScores = Vec<(usize, Box<[i64]>)>;

/// Filter statuses of the nodes that did not fit (`NodeToStatus`), and the status of nodes
/// PreFilter excluded (`AbsentNodesStatus`).
#[derive(Clone, Debug, Default)]
pub struct NodeToStatus {
    /// Hashed with foldhash (seeded per process) rather than SipHash: a cycle may record
    /// hundreds of failed nodes.
    pub statuses: HashMap<Arc<str>, Status, foldhash::fast::RandomState>,
    pub absent: Option<Status>,
}

impl NodeToStatus {
    /// The status of `node`: its own, else the one for absent nodes.
    pub fn get(&self, node: &str) -> Option<&Status> {
        self.statuses.get(node).or(self.absent.as_ref())
    }
}

/// A scheduling profile: the enabled plugins per extension point, with score weights.
pub struct Framework {
    pub profile_name: String,
    pub handle: Arc<Handle>,
    pub percentage_of_nodes_to_score: Option<i32>,
    pub(crate) pre_enqueue: Vec<Arc<dyn Plugin>>,
    pub(crate) queue_sort: Option<Arc<dyn Plugin>>,
    pub(crate) pre_filter: Vec<Arc<dyn Plugin>>,
    pub(crate) filter: Vec<Arc<dyn Plugin>>,
    pub(crate) post_filter: Vec<Arc<dyn Plugin>>,
    pub(crate) pre_score: Vec<Arc<dyn Plugin>>,
    pub(crate) score: Vec<(Arc<dyn Plugin>, i64)>,
    pub(crate) reserve: Vec<Arc<dyn Plugin>>,
    pub(crate) permit: Vec<Arc<dyn Plugin>>,
    pub(crate) pre_bind: Vec<Arc<dyn Plugin>>,
    pub(crate) bind: Vec<Arc<dyn Plugin>>,
    pub(crate) post_bind: Vec<Arc<dyn Plugin>>,
    /// Every plugin instance of the profile, once.
    pub(crate) all: Vec<Arc<dyn Plugin>>,
}

impl Framework {
    pub fn pre_enqueue_plugins(&self) -> &[Arc<dyn Plugin>] {
        &self.pre_enqueue
    }

    pub fn queue_sort_plugin(&self) -> Option<&Arc<dyn Plugin>> {
        self.queue_sort.as_ref()
    }

    pub fn plugins(&self) -> &[Arc<dyn Plugin>] {
        &self.all
    }

    pub fn has_post_filter(&self) -> bool {
        !self.post_filter.is_empty()
    }

    pub fn has_score(&self) -> bool {
        !self.score.is_empty()
    }

    /// Runs PreFilter plugins (`RunPreFilterPlugins`): the first rejection stops; results are
    /// intersected; an empty intersection rejects the pod. Returns the plugins that rejected.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status, BTreeSet<&'static str>) {
        let mut result: Option<PreFilterResult> = None;
        let mut narrowing: Vec<&'static str> = Vec::new();
        let mut rejected = BTreeSet::new();
        for p in &self.pre_filter {
            let Some(pf) = p.as_pre_filter() else { continue };
            let (r, status) = pf.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                let name = p.name();
                state.skip_filter_plugins.push(name);
                if let Some(i) = self.filter.iter().position(|f| f.name() == name).filter(|i| *i < 64) {
                    state.skip_filter_mask |= 1 << i;
                }
                continue;
            }
            if !status.is_success() {
                if status.is_rejected() {
                    rejected.insert(p.name());
                }
                return (PreFilterResult::default(), status.with_plugin(p.name()), rejected);
            }
            let Some(mut r) = r.filter(|r| r.node_names.is_some()) else { continue };
            narrowing.push(p.name());
            r.sources = vec![p.name()];
            let merged = match result.take() {
                None => r,
                Some(prev) => prev.merge(r),
            };
            if merged.node_names.as_ref().is_some_and(|n| n.is_empty()) {
                let msg = if narrowing.len() == 1 {
                    format!("node(s) didn't satisfy plugin {}", narrowing[0])
                } else {
                    format!("node(s) didn't satisfy plugin(s) [{}] simultaneously", narrowing.join(" "))
                };
                rejected.extend(narrowing.iter().copied());
                return (PreFilterResult::default(), Status::unresolvable(msg), rejected);
            }
            result = Some(merged);
        }
        (result.unwrap_or_default(), Status::success(), rejected)
    }

    /// The plugins that narrowed the nodes, for the absent-nodes message.
    pub fn narrowing_message(names: &[&'static str]) -> String {
        format!("node(s) didn't satisfy plugin(s) [{}]", names.join(" "))
    }

    /// Runs the Filter plugins on one node; the first failure stops (`RunFilterPlugins`).
    pub fn run_filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        self.run_filters_of(state, pod, node, None, self.filter.len()).0
    }

    /// Runs, in order, the Filter plugins before position `end` that are node-local (`Some(true)`),
    /// that are not (`Some(false)`), or all (`None`); the first failure stops. Returns the status
    /// and the position of the plugin that failed (`end` when none did).
    pub fn run_filters_of(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        node_local: Option<bool>,
        end: usize,
    ) -> (Status, usize) {
        for (i, p) in self.filter.iter().enumerate().take(end) {
            if state.filter_skipped(i, || p.name()) || node_local.is_some_and(|l| p.node_local() != l) {
                continue;
            }
            let Some(f) = p.as_filter() else { continue };
            let status = f.filter(state, pod, node);
            if !status.is_success() {
                let status = if status.is_rejected() { status } else { Status::error(status.message()) };
                return (status.with_plugin(p.name()), i);
            }
        }
        (Status::success(), end)
    }

    /// The number of Filter plugins of the profile.
    pub fn num_filters(&self) -> usize {
        self.filter.len()
    }

    /// Runs the filters twice when higher-or-equal-priority pods are nominated to the node:
    /// once with them added (they will take their space), once without (pod affinity must not
    /// depend on pods that are not there yet) (`RunFilterPluginsWithNominatedPods`).
    pub fn run_filter_with_nominated_pods(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let nominated: Vec<Arc<PodInfo>> = if self.handle.nominator.is_empty() {
            Vec::new()
        } else {
            self.handle
                .nominator
                .pods_for_node(&node.name)
                .into_iter()
                .filter(|p| p.key != pod.key && p.priority >= pod.priority)
                .collect()
        };
        if nominated.is_empty() {
            return self.run_filter(state, pod, node);
        }
        let mut state_with = state.clone();
        let mut node_with = node.clone();
        for p in &nominated {
            node_with.add_pod(p.clone());
            let s = self.run_pre_filter_add_pod(&mut state_with, pod, p, &node_with);
            if !s.is_success() {
                return s;
            }
        }
        let status = self.run_filter(&state_with, pod, &node_with);
        if !status.is_success() {
            return status;
        }
        self.run_filter(state, pod, node)
    }

    /// Tells PreFilter states that `added` now runs on `node` (`RunPreFilterExtensionAddPod`).
    pub fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        for p in &self.pre_filter {
            if state.skip_filter_plugins.contains(&p.name()) {
                continue;
            }
            if let Some(ext) = p.as_pre_filter().and_then(|pf| pf.extensions()) {
                let s = ext.add_pod(state, pod, added, node);
                if !s.is_success() {
                    return Status::error(format!("running AddPod on PreFilter plugin {}: {}", p.name(), s.message()));
                }
            }
        }
        Status::success()
    }

    /// Tells PreFilter states that `removed` no longer runs on `node` (`RunPreFilterExtensionRemovePod`).
    pub fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        for p in &self.pre_filter {
            if state.skip_filter_plugins.contains(&p.name()) {
                continue;
            }
            if let Some(ext) = p.as_pre_filter().and_then(|pf| pf.extensions()) {
                let s = ext.remove_pod(state, pod, removed, node);
                if !s.is_success() {
                    return Status::error(format!(
                        "running RemovePod on PreFilter plugin {}: {}",
                        p.name(),
                        s.message()
                    ));
                }
            }
        }
        Status::success()
    }

    /// Runs PostFilter plugins until one succeeds or fails hard (`RunPostFilterPlugins`).
    pub fn run_post_filter(
        &self,
        ctx: &PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
    ) -> (Option<PostFilterResult>, Status) {
        let mut reasons = Vec::new();
        let mut result = None;
        for p in &self.post_filter {
            let Some(pf) = p.as_post_filter() else { continue };
            let (r, s) = pf.post_filter(ctx, state, pod);
            if s.is_success() {
                return (r, s);
            }
            if s.code == Code::UnschedulableAndUnresolvable {
                return (r, s.with_plugin(p.name()));
            }
            if !s.is_rejected() {
                return (None, s.with_plugin(p.name()));
            }
            reasons.extend(s.reasons);
            if r.is_some() {
                result = r;
            }
        }
        (result, Status::with_reasons(Code::Unschedulable, reasons))
    }

    /// Runs PreScore plugins; Skip disables that plugin's Score for this cycle.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: NodeSet<'_>,
        snapshot: &Snapshot,
    ) -> Status {
        for p in &self.pre_score {
            let Some(ps) = p.as_pre_score() else { continue };
            let s = ps.pre_score(state, pod, nodes, snapshot);
            if s.is_skip() {
                state.skip_score_plugins.push(p.name());
                continue;
            }
            if !s.is_success() {
                return Status::error(format!("running PreScore plugin {}: {}", p.name(), s.message()))
                    .with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// The Filter plugins this cycle runs (PreFilter did not skip them) that are not node-local,
    /// in order.
    fn running_other_filters<'a>(&'a self, state: &'a CycleState) -> impl Iterator<Item = &'a Arc<dyn Plugin>> {
        self.filter
            .iter()
            .enumerate()
            .filter(|(i, p)| !p.node_local() && p.as_filter().is_some() && !state.filter_skipped(*i, || p.name()))
            .map(|(_, p)| p)
    }

    /// Whether every Filter plugin this cycle runs is node-local.
    pub fn filters_node_local(&self, state: &CycleState) -> bool {
        self.running_other_filters(state).next().is_none()
    }

    /// The names of the Filter plugins this cycle runs that are not node-local, in order.
    pub fn other_filters(&self, state: &CycleState) -> Vec<&'static str> {
        self.running_other_filters(state).map(|p| p.name()).collect()
    }

    /// What the Filter plugins of [`Framework::other_filters`] read of `node`, joined
    /// ([`Plugin::filter_node_key`]); None when one of them cannot say.
    pub fn other_filters_key(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Option<String> {
        let mut key = String::new();
        for p in self.running_other_filters(state) {
            let k = p.filter_node_key(state, pod, node)?;
            key.push_str(&format!("{}:{}{}:{k}", p.name().len(), p.name(), k.len()));
        }
        Some(key)
    }

    /// The Score plugins this cycle runs (PreScore did not skip them), in order, when every one
    /// is node-local.
    pub fn node_local_scorers(&self, state: &CycleState) -> Option<Vec<&'static str>> {
        let mut names = Vec::new();
        for (p, _) in &self.score {
            if p.as_score().is_none() || state.skip_score_plugins.contains(&p.name()) {
                continue;
            }
            if !p.node_local() {
                return None;
            }
            names.push(p.name());
        }
        Some(names)
    }

    /// Scores every node with every Score plugin, normalizes, applies weights and sums
    /// (`RunScorePlugins`); returns the totals in node order.
    pub fn run_score(&self, state: &CycleState, pod: &PodInfo, nodes: NodeSet<'_>) -> Result<Vec<i64>, Status> {
        self.run_score_known(state, pod, nodes, None).map(|(totals, _)| totals)
    }

    /// [`Framework::run_score`] with the raw scores of some nodes already known (`known[i]`, one
    /// per running Score plugin in order, from `scheduler::results_memo`): those nodes are not
    /// scored again. Also returns the raw scores computed, by node index, when `known` is given.
    pub fn run_score_known(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: NodeSet<'_>,
        known: Option<&[Option<&[i64]>]>,
    ) -> Result<(Vec<i64>, ComputedScores), Status> {
        let mut totals = vec![0i64; nodes.len()];
        let plugins: Vec<&(Arc<dyn Plugin>, i64)> =
            self.score.iter().filter(|(p, _)| !state.skip_score_plugins.contains(&p.name())).collect();
        if plugins.is_empty() {
            return Ok((totals, Vec::new()));
        }
        let scorers: Vec<_> = plugins.into_iter().filter_map(|(p, w)| p.as_score().map(|sp| (p, *w, sp))).collect();
        let m = scorers.len();
        let known_at = |i: usize| known.and_then(|k| k.get(i).copied().flatten()).filter(|k| k.len() == m);
        // Only the nodes without known scores are scored; in a cycle served by the memo that is
        // a few nodes or none, and the others' scores are read where the memo keeps them.
        let n = nodes.len();
        let unknown: Vec<usize> = (0..n).filter(|&i| known_at(i).is_none()).collect();
        let u = unknown.len();
        // Every plugin scores a node before the next node is visited (upstream's loop order): the
        // node's data is read from memory once. The raw scores are kept plugin by plugin for
        // the normalization.
        let raw: Vec<AtomicI64> = (0..u * m).map(|_| AtomicI64::new(0)).collect();
        let failed = parking_lot::Mutex::new(None);
        parallel::until(self.handle.parallelism, u, |j| {
            let Some(node) = nodes.get(unknown[j]) else { return true };
            // Nodes are scored in order, and filtering read them too long ago for them to be
            // in cache still: fetching a few ahead overlaps their misses with this node's work.
            if let Some(ahead) = unknown.get(j + SCORE_PREFETCH_AHEAD).and_then(|&i| nodes.get(i)) {
                ahead.prefetch();
            }
            for (k, (plugin, _, sp)) in scorers.iter().enumerate() {
                match sp.score(state, pod, node) {
                    Ok(v) => raw[k * u + j].store(v, Ordering::Relaxed),
                    Err(s) => {
                        *failed.lock() = Some((plugin.name(), s));
                        return false;
                    }
                }
            }
            true
        });
        if let Some((name, s)) = failed.into_inner() {
            return Err(Status::error(format!("running Score plugin {name}: {}", s.message())));
        }
        let learned = match known {
            Some(_) => unknown
                .iter()
                .enumerate()
                .map(|(j, &i)| (i, (0..m).map(|k| raw[k * u + j].load(Ordering::Relaxed)).collect()))
                .collect(),
            None => Vec::new(),
        };
        let mut scores: Vec<NodeScore> = nodes.iter().map(|n| NodeScore { name: &n.name, score: 0 }).collect();
        for (k, (plugin, weight, sp)) in scorers.into_iter().enumerate() {
            // The unknown nodes come in order: the next one's raw score is the next in `raw`.
            let mut next = k * u;
            for (i, s) in scores.iter_mut().enumerate() {
                s.score = match known_at(i) {
                    Some(v) => v[k],
                    None => {
                        next += 1;
                        raw[next - 1].load(Ordering::Relaxed)
                    }
                };
            }
            let s = sp.normalize(state, pod, &mut scores);
            if !s.is_success() {
                return Err(Status::error(format!(
                    "running Normalize on Score plugin {}: {}",
                    plugin.name(),
                    s.message()
                )));
            }
            for (t, s) in totals.iter_mut().zip(&scores) {
                if s.score > super::interface::MAX_NODE_SCORE || s.score < 0 {
                    return Err(Status::error(format!(
                        "plugin {} returns an invalid score {}, it should in the range of [0, {}] after normalizing",
                        plugin.name(),
                        s.score,
                        super::interface::MAX_NODE_SCORE
                    )));
                }
                *t += s.score * weight;
            }
        }
        Ok((totals, learned))
    }

    /// Runs Reserve plugins; on a failure the caller runs Unreserve for all of them.
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.reserve {
            if let Some(r) = p.as_reserve() {
                let s = r.reserve(state, pod, node);
                if !s.is_success() {
                    return s.with_plugin(p.name());
                }
            }
        }
        Status::success()
    }

    /// Runs Unreserve in reverse order (`RunReservePluginsUnreserve`).
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for p in self.reserve.iter().rev() {
            if let Some(r) = p.as_reserve() {
                r.unreserve(state, pod, node);
            }
        }
    }

    /// Runs Permit plugins: a rejection stops; Wait returns the longest timeout asked for.
    pub fn run_permit(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> (Status, Duration) {
        let mut wait = None;
        for p in &self.permit {
            if let Some(pp) = p.as_permit() {
                let (s, timeout) = pp.permit(state, pod, node);
                match s.code {
                    Code::Success => {}
                    Code::Wait => wait = Some(wait.map_or(timeout, |w: Duration| w.max(timeout))),
                    _ => return (s.with_plugin(p.name()), Duration::ZERO),
                }
            }
        }
        match wait {
            Some(w) => (Status::new(Code::Wait, "one or more plugins asked to wait"), w),
            None => (Status::success(), Duration::ZERO),
        }
    }

    pub async fn run_pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.pre_bind {
            if let Some(pb) = p.as_pre_bind() {
                let s = pb.pre_bind(state, pod, node).await;
                if !s.is_success() && !s.is_skip() {
                    return s.with_plugin(p.name());
                }
            }
        }
        Status::success()
    }

    /// Runs Bind plugins until one does not skip (`RunBindPlugins`).
    pub async fn run_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.bind {
            if let Some(b) = p.as_bind() {
                let s = b.bind(state, pod, node).await;
                if s.is_skip() {
                    continue;
                }
                return s.with_plugin(p.name());
            }
        }
        Status::skip()
    }

    pub fn run_post_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) {
        for p in &self.post_bind {
            if let Some(pb) = p.as_post_bind() {
                pb.post_bind(state, pod, node);
            }
        }
    }
}
