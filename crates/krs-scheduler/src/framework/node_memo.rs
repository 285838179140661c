//! What a plugin computed per node in earlier cycles, kept for the nodes that did not change.
//! Plugins whose PreFilter or PreScore aggregates over every pod of the cluster (pod topology
//! spread, inter-pod affinity) keep a running total and, each cycle, correct it only for the
//! nodes whose `NodeInfo` is new since the last cycle. A `NodeInfo` shared with the snapshot is
//! never changed in place (the cache copies it first), so the same `Arc` means the same content;
//! holding the `Arc` keeps its address from being reused.

use std::sync::Arc;

use super::NodeInfo;

/// Per position of a node list: the node seen there and what it contributed.
pub struct NodeMemo<C> {
    nodes: Vec<(Arc<NodeInfo>, C)>,
}

impl<C> Default for NodeMemo<C> {
    fn default() -> NodeMemo<C> {
        NodeMemo { nodes: Vec::new() }
    }
}

impl<C> NodeMemo<C> {
    /// Brings the memo to `nodes`: for each position whose node changed, `compute` gives the
    /// new node's contribution (and adds it to `totals`), `retire` takes the old node's
    /// contribution back out of `totals`.
    pub fn update<T>(
        &mut self,
        nodes: &[Arc<NodeInfo>],
        totals: &mut T,
        compute: impl Fn(&mut T, &NodeInfo) -> C,
        retire: impl Fn(&mut T, &C),
    ) {
        for (i, node) in nodes.iter().enumerate() {
            if let Some((seen, _)) = self.nodes.get(i)
                && Arc::ptr_eq(seen, node)
            {
                continue;
            }
            let new = (node.clone(), compute(totals, node));
            if i < self.nodes.len() {
                let (_, old) = std::mem::replace(&mut self.nodes[i], new);
                retire(totals, &old);
            } else {
                self.nodes.push(new);
            }
        }
        for (_, old) in self.nodes.drain(nodes.len()..) {
            retire(totals, &old);
        }
    }
}

/// Memos of one plugin, one per kind of incoming pod (its signature: whatever the per-node
/// contribution depends on besides the node), the least recently used dropped beyond a bound.
/// Bounds are small (a few kinds), so the kinds are a list searched in order.
pub struct Memos<M, K = String> {
    entries: Vec<(K, u64, M)>,
    clock: u64,
    max: usize,
}

impl<M: Default, K> Memos<M, K> {
    pub fn new(max: usize) -> Memos<M, K> {
        Memos { entries: Vec::new(), clock: 0, max: max.max(1) }
    }

    /// The memo of the first kind `matches` accepts, marked as used.
    pub fn find(&mut self, matches: impl Fn(&K) -> bool) -> Option<(&K, &mut M)> {
        let at = self.position(matches)?;
        let e = &mut self.entries[at];
        Some((&e.0, &mut e.2))
    }

    /// The memo of the first kind `matches` accepts, else a new, empty one for `key()` in place
    /// of the least recently used one when full.
    pub fn find_or_insert(&mut self, matches: impl Fn(&K) -> bool, key: impl FnOnce() -> K) -> (&K, &mut M) {
        let at = match self.position(matches) {
            Some(at) => at,
            None => self.insert_at(key()),
        };
        let e = &mut self.entries[at];
        (&e.0, &mut e.2)
    }

    fn position(&mut self, matches: impl Fn(&K) -> bool) -> Option<usize> {
        self.clock += 1;
        let at = self.entries.iter().position(|(k, _, _)| matches(k))?;
        self.entries[at].1 = self.clock;
        Some(at)
    }

    fn insert_at(&mut self, key: K) -> usize {
        self.clock += 1;
        let entry = (key, self.clock, M::default());
        if self.entries.len() < self.max {
            self.entries.push(entry);
            return self.entries.len() - 1;
        }
        let oldest = (0..self.entries.len()).min_by_key(|&i| self.entries[i].1).unwrap_or(0);
        self.entries[oldest] = entry;
        oldest
    }
}

impl<M: Default> Memos<M, String> {
    /// The memo of a signature, new if it is not remembered.
    pub fn get(&mut self, signature: String) -> &mut M {
        let at = match self.position(|k| *k == signature) {
            Some(at) => at,
            None => self.insert_at(signature),
        };
        &mut self.entries[at].2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::NodeBuilder;

    #[test]
    fn only_new_node_infos_are_computed_and_gone_ones_retired() {
        let a = Arc::new(NodeBuilder::new("a").info());
        let b = Arc::new(NodeBuilder::new("b").info());
        let mut memo: NodeMemo<String> = NodeMemo::default();
        // (computed, retired)
        let mut log: (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let retire = |log: &mut (Vec<String>, Vec<String>), c: &String| log.1.push(c.clone());
        memo.update(
            &[a.clone(), b.clone()],
            &mut log,
            |log, n| {
                log.0.push(n.name.to_string());
                n.name.to_string()
            },
            retire,
        );
        assert_eq!(log.0, ["a", "b"]);
        // b changes (a new NodeInfo), then the list shrinks.
        let b2 = Arc::new(NodeBuilder::new("b").label("x", "y").info());
        log.0.clear();
        memo.update(
            &[a.clone(), b2],
            &mut log,
            |log, n| {
                log.0.push(n.name.to_string());
                format!("{}2", n.name)
            },
            retire,
        );
        assert_eq!(log.0, ["b"]);
        assert_eq!(log.1, ["b"]);
        memo.update(&[a], &mut log, |_, _| unreachable!("a did not change"), retire);
        assert_eq!(log.1, ["b", "b2"]);
    }

    #[test]
    fn memos_keep_the_most_recently_used() {
        let mut m: Memos<u32> = Memos::new(2);
        *m.get("x".into()) = 1;
        *m.get("y".into()) = 2;
        assert_eq!(*m.get("x".into()), 1);
        *m.get("z".into()) = 3; // evicts y, the least recently used
        assert_eq!(*m.get("x".into()), 1);
        assert_eq!(*m.get("y".into()), 0);
    }
}
