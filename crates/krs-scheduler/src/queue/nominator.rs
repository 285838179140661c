//! Pods nominated to nodes by preemption (`nominator`): while the victims terminate, filtering
//! counts the nominated pods of equal or higher priority on their node, so the space freed for
//! them is not taken by others.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::framework::types::PodInfo;

#[derive(Default)]
pub struct Nominator {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
    node_of: HashMap<String, String>,
}

impl Nominator {
    /// Nominates `pod` to `node` (replacing an earlier nomination); an empty node name clears it.
    pub fn add(&self, pod: Arc<PodInfo>, node: &str) {
        let mut inner = self.inner.write();
        remove(&mut inner, &pod.key);
        if node.is_empty() {
            return;
        }
        inner.node_of.insert(pod.key.clone(), node.to_string());
        inner.by_node.entry(node.to_string()).or_default().push(pod);
    }

    pub fn delete(&self, key: &str) {
        let mut inner = self.inner.write();
        remove(&mut inner, key);
    }

    /// The pods nominated to `node`.
    pub fn pods_for_node(&self, node: &str) -> Vec<Arc<PodInfo>> {
        self.inner.read().by_node.get(node).cloned().unwrap_or_default()
    }

    pub fn node_of(&self, key: &str) -> Option<String> {
        self.inner.read().node_of.get(key).cloned()
    }

    /// The nodes with a nominated pod for which `counts` holds.
    pub fn nodes_with(&self, counts: impl Fn(&PodInfo) -> bool) -> Vec<String> {
        let inner = self.inner.read();
        inner.by_node.iter().filter(|(_, pods)| pods.iter().any(|p| counts(p))).map(|(n, _)| n.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.read().node_of.is_empty()
    }
}

fn remove(inner: &mut Inner, key: &str) {
    if let Some(node) = inner.node_of.remove(key)
        && let Some(pods) = inner.by_node.get_mut(&node)
    {
        pods.retain(|p| p.key != key);
        if pods.is_empty() {
            inner.by_node.remove(&node);
        }
    }
}
