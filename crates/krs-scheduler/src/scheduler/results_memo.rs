//! Filter statuses and raw scores of earlier cycles, reused for the nodes that did not change.
//!
//! Most plugins judge a node by the pod and that node's `NodeInfo` alone (they say so with
//! [`Plugin::node_local`](crate::framework::Plugin::node_local)). For a node whose `NodeInfo` is
//! the very one an earlier cycle filtered for a pod of the same kind (same profile, same spec,
//! same requests), the node-local Filter plugins give what they gave then: the cycle takes their
//! outcome (the first failure among them, with its position) from here and runs only the other
//! Filter plugins, those placed before that failure, since the first failure in the profile's
//! order is the one reported. When every Score plugin a cycle runs is node-local, the raw scores
//! come from here as well. A stream of identical pods (a Deployment's, a Job's) thus runs the
//! node-local plugins only on the nodes that changed since the rotating window last passed over
//! them. Normalization, weights and the choice among the best nodes run on every cycle.
//!
//! Why a hit is the plugins' own answer:
//! - a `NodeInfo` shared with the snapshot is never changed in place (the cache copies it
//!   first), so the same `Arc` means the same content, and holding it keeps its address from
//!   being reused (as in `framework::node_memo`);
//! - what node-local plugins read beyond their node (the node count and image spread
//!   ImageLocality reads) changes the snapshot's `epoch`, which empties the memo of a kind;
//! - pods nominated to a node (of the pod's priority or higher) change its filter outcome: such
//!   a node is filtered with them, as without the memo, and its outcome is not remembered; the
//!   memo learns only from the plain filters;
//! - the other plugins run on every cycle (Filter), or keep the memo out of scoring (Score)
//!   unless their PreScore skipped them.

use std::sync::Arc;

use crate::cache::Snapshot;
use crate::framework::node_memo::Memos;
use crate::framework::{Framework, NodeInfo, PodInfo, Status};

/// Kinds of pods remembered at once; the least recently scheduled kind is dropped beyond this.
const KINDS: usize = 4;

/// The memo of the scheduling loop, one [`Kind`] per kind of pod.
pub struct ResultsMemo {
    kinds: Memos<Kind>,
}

impl Default for ResultsMemo {
    fn default() -> ResultsMemo {
        ResultsMemo { kinds: Memos::new(KINDS) }
    }
}

/// What cycles found for one kind of pod, by position in the snapshot's node list.
#[derive(Default)]
pub struct Kind {
    epoch: u64,
    /// The Score plugins whose raw scores the entries hold, in the profile's order.
    scorers: Vec<&'static str>,
    entries: Vec<Entry>,
}

/// Raw scores kept per node, at most; a profile running more Score plugins keeps none.
const MAX_SCORERS: usize = 8;

#[derive(Default)]
struct Entry {
    node: Option<Arc<NodeInfo>>,
    /// The node-local Filter plugins' outcome and the position of the one that failed (the
    /// number of Filter plugins when none did).
    filter: Option<(Status, usize)>,
    /// In the entry itself, not behind a pointer: a cycle reads hundreds of entries in a row.
    scores: Option<([i64; MAX_SCORERS], u8)>,
}

impl ResultsMemo {
    /// The key of the pod's kind.
    pub fn signature(fw: &Framework, pod: &PodInfo) -> Option<String> {
        // Node-local plugins read the pod's spec and the requests derived from it (which may
        // also come from its status, for a resized pod): equal specs and requests, equal results.
        let spec = serde_json::to_string(&pod.pod.spec).ok()?;
        Some(format!("{}\n{:?}\n{:?}\n{spec}", fw.profile_name, pod.requests, pod.non_zero_requests))
    }

    /// The memo of a kind, emptied if the snapshot's epoch or node count changed since it was
    /// last used.
    pub fn kind(&mut self, signature: String, snapshot: &Snapshot) -> &mut Kind {
        let kind = self.kinds.get(signature);
        let n = snapshot.node_info_list.len();
        if kind.epoch != snapshot.epoch || kind.entries.len() != n {
            kind.entries.clear();
            kind.entries.resize_with(n, Entry::default);
            kind.epoch = snapshot.epoch;
        }
        kind
    }
}

impl Kind {
    fn entry(&self, pos: usize, node: &Arc<NodeInfo>) -> Option<&Entry> {
        self.entries.get(pos).filter(|e| e.node.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, node)))
    }

    fn entry_mut(&mut self, pos: usize, node: &Arc<NodeInfo>) -> Option<&mut Entry> {
        let e = self.entries.get_mut(pos)?;
        if !e.node.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, node)) {
            *e = Entry { node: Some(node.clone()), filter: None, scores: None };
        }
        Some(e)
    }

    /// The node-local Filter plugins' outcome for this very `NodeInfo` at `pos` of the node
    /// list, with the position of the plugin that failed.
    pub fn filter(&self, pos: usize, node: &Arc<NodeInfo>) -> Option<&(Status, usize)> {
        self.entry(pos, node)?.filter.as_ref()
    }

    /// The raw scores found for this very `NodeInfo`, one per plugin of [`Kind::use_scorers`].
    pub fn scores(&self, pos: usize, node: &Arc<NodeInfo>) -> Option<&[i64]> {
        self.entry(pos, node)?.scores.as_ref().map(|(v, len)| &v[..*len as usize])
    }

    pub fn learn_filter(&mut self, pos: usize, node: &Arc<NodeInfo>, status: Status, failed_at: usize) {
        if let Some(e) = self.entry_mut(pos, node) {
            e.filter = Some((status, failed_at));
        }
    }

    pub fn learn_scores(&mut self, pos: usize, node: &Arc<NodeInfo>, scores: &[i64]) {
        if scores.len() > MAX_SCORERS {
            return;
        }
        if let Some(e) = self.entry_mut(pos, node) {
            let mut v = [0; MAX_SCORERS];
            v[..scores.len()].copy_from_slice(scores);
            e.scores = Some((v, scores.len() as u8));
        }
    }

    /// Readies the memo for raw scores of `scorers`: scores kept for other plugins are dropped.
    pub fn use_scorers(&mut self, scorers: &[&'static str]) {
        if self.scorers != scorers {
            self.scorers = scorers.to_vec();
            for e in &mut self.entries {
                e.scores = None;
            }
        }
    }
}

#[cfg(test)]
mod tests;
