//! What a plugin computed per node in earlier cycles, kept for the nodes that did not change.
//! Plugins whose PreFilter or PreScore aggregates over every pod of the cluster (pod topology
//! spread, inter-pod affinity) keep a running total and, each cycle, correct it only for the
//! nodes whose `NodeInfo` is new since the last cycle. A `NodeInfo` shared with the snapshot is
//! never changed in place (the cache copies it first), so the same `Arc` means the same content;
//! holding the `Arc` keeps its address from being reused.

use std::collections::HashMap;
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
pub struct Memos<M> {
    entries: HashMap<String, (u64, M)>,
    clock: u64,
    max: usize,
}

impl<M: Default> Memos<M> {
    pub fn new(max: usize) -> Memos<M> {
        Memos { entries: HashMap::new(), clock: 0, max }
    }

    pub fn get(&mut self, signature: String) -> &mut M {
        self.clock += 1;
        if !self.entries.contains_key(&signature) && self.entries.len() >= self.max {
            let oldest = self.entries.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        let clock = self.clock;
        let entry = self.entries.entry(signature).or_insert_with(|| (clock, M::default()));
        entry.0 = clock;
        &mut entry.1
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
