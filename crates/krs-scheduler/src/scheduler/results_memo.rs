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
//!
//! The other Filter plugins may say what of a node they read (`Plugin::filter_node_key`:
//! PodTopologySpread reads the node's topology domains). A node's class is then the text of
//! what they all read, numbered per kind; within a cycle nodes of one class get one status from
//! those plugins, so a cycle runs them once per class (a few zones) rather than once per node.
//! The classes hold for the set of other plugins they were found with; another set (a PreFilter
//! that skips in one cycle and runs in the next) starts them over.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cache::Snapshot;
use crate::framework::node_memo::Memos;
use crate::framework::{Framework, NodeInfo, PodInfo, Status};

/// Kinds of pods remembered at once; the least recently scheduled kind is dropped beyond this.
const KINDS: usize = 4;

/// Classes of nodes a kind numbers at most; a node of a class beyond is filtered by the other
/// plugins itself. Classes pay when there are few (zones), not when each node is one (hostnames).
const MAX_CLASSES: usize = 256;

/// The memo of the scheduling loop, one [`Kind`] per kind of pod, the least recently used kind
/// dropped beyond [`KINDS`].
pub struct ResultsMemo {
    kinds: Memos<Kind, KindKey>,
    next_id: u64,
}

impl Default for ResultsMemo {
    fn default() -> ResultsMemo {
        ResultsMemo { kinds: Memos::new(KINDS), next_id: 0 }
    }
}

/// A kind of pod: its number, the profile and the first pod of the kind (its spec and requests).
struct KindKey {
    id: u64,
    profile: String,
    pod: Arc<PodInfo>,
}

/// What cycles found for one kind of pod, by position in the snapshot's node list.
#[derive(Default)]
pub struct Kind {
    epoch: u64,
    /// The Score plugins whose raw scores the entries hold, in the profile's order.
    scorers: Vec<&'static str>,
    entries: Vec<Entry>,
    /// The Filter plugins that are not node-local the classes were found for, in order.
    class_filters: Vec<&'static str>,
    /// The number of each class by its text (`Framework::other_filters_key`).
    classes: HashMap<String, u32>,
}

/// A node's class as a cycle found it: a known number, or a text to number.
#[derive(Clone, Debug)]
pub enum ClassLearn {
    Known(u32),
    New(String),
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
    /// The node's class for the other Filter plugins.
    class: Option<u32>,
}

impl ResultsMemo {
    /// True when two pods are of one kind for the profile: node-local plugins read the pod's
    /// spec and the requests derived from it (which may also come from its status, for a
    /// resized pod), so equal specs and requests give equal results.
    pub fn alike(a: &PodInfo, b: &PodInfo) -> bool {
        a.requests == b.requests
            && a.non_zero_requests == b.non_zero_requests
            && (Arc::ptr_eq(&a.pod, &b.pod) || a.pod.spec == b.pod.spec)
    }

    /// The memo of the pod's kind with its number (for [`ResultsMemo::kind_by_id`]), emptied if
    /// the snapshot's epoch or node count changed since it was last used.
    pub fn kind(&mut self, fw: &Framework, pod: &Arc<PodInfo>, snapshot: &Snapshot) -> (u64, &mut Kind) {
        let next_id = &mut self.next_id;
        let (key, kind) = self.kinds.find_or_insert(
            |k| k.profile == fw.profile_name && ResultsMemo::alike(&k.pod, pod),
            || {
                *next_id += 1;
                KindKey { id: *next_id, profile: fw.profile_name.clone(), pod: pod.clone() }
            },
        );
        (key.id, kind.ready(snapshot))
    }

    /// The memo of a kind by its number, while it is still remembered.
    pub fn kind_by_id(&mut self, id: u64, snapshot: &Snapshot) -> Option<&mut Kind> {
        self.kinds.find(|k| k.id == id).map(|(_, kind)| kind.ready(snapshot))
    }
}

impl Kind {
    /// Empties the memo if the snapshot's epoch or node count changed since it was last used.
    fn ready(&mut self, snapshot: &Snapshot) -> &mut Kind {
        let n = snapshot.node_info_list.len();
        if self.epoch != snapshot.epoch || self.entries.len() != n {
            self.entries.clear();
            self.entries.resize_with(n, Entry::default);
            self.epoch = snapshot.epoch;
        }
        self
    }

    fn entry(&self, pos: usize, node: &Arc<NodeInfo>) -> Option<&Entry> {
        self.entries.get(pos).filter(|e| e.node.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, node)))
    }

    fn entry_mut(&mut self, pos: usize, node: &Arc<NodeInfo>) -> Option<&mut Entry> {
        let e = self.entries.get_mut(pos)?;
        if !e.node.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, node)) {
            *e = Entry { node: Some(node.clone()), filter: None, scores: None, class: None };
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

    /// The class of this very `NodeInfo` at `pos`.
    pub fn class(&self, pos: usize, node: &Arc<NodeInfo>) -> Option<u32> {
        self.entry(pos, node)?.class
    }

    /// The number of a class by its text, if it has one.
    pub fn class_of(&self, key: &str) -> Option<u32> {
        self.classes.get(key).copied()
    }

    /// Classes numbered so far; numbers are below this.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// True when no more classes are numbered: a node without one is not worth a text.
    pub fn classes_full(&self) -> bool {
        self.classes.len() >= MAX_CLASSES
    }

    /// Remembers the class of the node at `pos`, numbering a new text while fewer than
    /// `MAX_CLASSES` are.
    pub fn learn_class(&mut self, pos: usize, node: &Arc<NodeInfo>, class: ClassLearn) {
        let id = match class {
            ClassLearn::Known(id) => id,
            ClassLearn::New(key) => match self.classes.get(&key) {
                Some(id) => *id,
                None if self.classes.len() < MAX_CLASSES => {
                    let id = self.classes.len() as u32;
                    self.classes.insert(key, id);
                    id
                }
                None => return,
            },
        };
        if let Some(e) = self.entry_mut(pos, node) {
            e.class = Some(id);
        }
    }

    /// Readies the memo for classes of the other Filter plugins `filters`: classes found for
    /// another set are dropped.
    pub fn use_class_filters(&mut self, filters: &[&'static str]) {
        if self.class_filters != filters {
            self.class_filters = filters.to_vec();
            self.classes.clear();
            for e in &mut self.entries {
                e.class = None;
            }
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
