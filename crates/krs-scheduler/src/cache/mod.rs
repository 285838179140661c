//! The scheduler cache (`internalcache`): every node and every pod assigned to one, including
//! the pods the scheduler assumed while their binding is in flight. Pods are confirmed when the
//! informer sees them bound, and forgotten when binding fails.
//!
//! NodeInfos are `Arc`s shared with the snapshot: a change goes through `Arc::make_mut`, which
//! copies a NodeInfo only if the snapshot still holds it, and marks the node dirty, so the next
//! `update_snapshot` touches only the nodes that changed.

mod node_tree;
mod snapshot;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

pub use self::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo, next_generation};
use node_tree::NodeTree;

struct PodState {
    pod: Arc<PodInfo>,
    node: Arc<str>,
}

/// The cache's maps are hashed with foldhash (seeded per process) rather than SipHash: every pod
/// event and every assume looks its pod and node up.
type Fast = foldhash::fast::RandomState;

#[derive(Default)]
pub struct Cache {
    nodes: HashMap<Arc<str>, Arc<NodeInfo>, Fast>,
    pods: HashMap<String, PodState, Fast>,
    assumed: HashSet<String, Fast>,
    tree: NodeTree,
    /// Nodes changed since the last snapshot update.
    dirty: HashSet<Arc<str>, Fast>,
    /// A node was added or removed (the snapshot's list must be rebuilt).
    nodes_changed: bool,
    /// Node images changed (the image counts must be recomputed).
    images_changed: bool,
    generation: u64,
}

/// Why a cache operation was refused (`internalcache` errors).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    #[error("pod {0} is in the cache, so can't be assumed")]
    AlreadyInCache(String),
    #[error("pod {0} wasn't assumed so cannot be forgotten")]
    NotAssumed(String),
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    fn touch(&mut self, name: &Arc<str>) {
        self.dirty.insert(name.clone());
        self.generation = next_generation();
    }

    fn node_mut(&mut self, name: &str) -> &mut NodeInfo {
        let key: Arc<str> = Arc::from(name);
        self.touch(&key);
        let entry = self.nodes.entry(key).or_insert_with(|| Arc::new(NodeInfo::new(name)));
        Arc::make_mut(entry)
    }

    pub fn add_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let had_node = self.nodes.get(name.as_str()).is_some_and(|n| n.node.is_some());
        if let Some(old) = self.nodes.get(name.as_str()).and_then(|n| n.node.clone()) {
            self.tree.update(&old, &node);
        } else {
            self.tree.add(&node);
        }
        self.node_mut(&name).set_node(node);
        self.images_changed = true;
        if !had_node {
            self.nodes_changed = true;
        }
    }

    /// Same as adding: the node object is replaced, its pods kept.
    pub fn update_node(&mut self, node: Arc<Node>) {
        self.add_node(node);
    }

    /// Removes a node. Its pods stay known (on a NodeInfo without node) until they are deleted,
    /// as they may still be running there (`RemoveNode`).
    pub fn remove_node(&mut self, name: &str) {
        let Some(info) = self.nodes.get(name) else { return };
        if let Some(node) = info.node.clone() {
            self.tree.remove(&node);
        }
        let key = info.name.clone();
        if info.pods.is_empty() {
            self.nodes.remove(name);
        } else if let Some(n) = self.nodes.get_mut(name) {
            Arc::make_mut(n).clear_node();
        }
        self.touch(&key);
        self.nodes_changed = true;
        self.images_changed = true;
    }

    fn add_pod_to_node(&mut self, pod: Arc<PodInfo>) {
        let node: Arc<str> = Arc::from(pod.node_name());
        self.node_mut(&node).add_pod(pod.clone());
        self.pods.insert(pod.key.clone(), PodState { pod, node });
    }

    fn remove_pod_from_node(&mut self, key: &str) -> Option<PodState> {
        let state = self.pods.remove(key)?;
        let node = state.node.clone();
        let mut empty_without_node = false;
        if self.nodes.contains_key(&*node) {
            let info = self.node_mut(&node);
            info.remove_pod(&state.pod);
            empty_without_node = info.node.is_none() && info.pods.is_empty();
        }
        if empty_without_node {
            self.nodes.remove(&*node);
        }
        Some(state)
    }

    /// Records a pod as bound to `pod.node_name()` before the API confirms it (`AssumePod`).
    pub fn assume_pod(&mut self, pod: Arc<PodInfo>) -> Result<(), CacheError> {
        if self.pods.contains_key(&pod.key) {
            return Err(CacheError::AlreadyInCache(pod.key.clone()));
        }
        self.assumed.insert(pod.key.clone());
        self.add_pod_to_node(pod);
        Ok(())
    }

    /// Drops an assumed pod whose binding failed (`ForgetPod`).
    pub fn forget_pod(&mut self, key: &str) -> Result<(), CacheError> {
        if !self.assumed.remove(key) {
            return Err(CacheError::NotAssumed(key.to_string()));
        }
        self.remove_pod_from_node(key);
        Ok(())
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.assumed.contains(key)
    }

    /// An assigned pod seen by the informer: confirms an assumed pod (moving it if it was bound
    /// elsewhere), or adds it (`AddPod`).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        if self.assumed.remove(&pod.key) || self.pods.contains_key(&pod.key) {
            self.remove_pod_from_node(&pod.key);
        }
        self.add_pod_to_node(pod);
    }

    /// An assigned pod changed (`UpdatePod`).
    pub fn update_pod(&mut self, pod: Arc<PodInfo>) {
        self.add_pod(pod);
    }

    /// An assigned pod was deleted (`RemovePod`).
    pub fn remove_pod(&mut self, key: &str) {
        self.assumed.remove(key);
        self.remove_pod_from_node(key);
    }

    pub fn get_pod(&self, key: &str) -> Option<&Arc<PodInfo>> {
        self.pods.get(key).map(|s| &s.pod)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.values().filter(|n| n.node.is_some()).count()
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Brings `snapshot` up to date, copying only what changed (`UpdateSnapshot`).
    pub fn update_snapshot(&mut self, snapshot: &mut Snapshot) {
        if snapshot.generation == self.generation && !self.nodes_changed {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        if self.nodes_changed || snapshot.node_info_list.is_empty() && !self.nodes.is_empty() {
            // A node came or went: the list order (zones interleaved) is rebuilt.
            snapshot.node_info_list =
                self.tree.list().iter().filter_map(|name| self.nodes.get(name.as_str()).cloned()).collect();
            snapshot.reindex();
            snapshot.rebuild_affinity_lists();
            snapshot.epoch += 1;
            self.nodes_changed = false;
        } else {
            let mut affinity_changed = false;
            for name in &dirty {
                let Some(&i) = snapshot.index.get(name) else { continue };
                let Some(info) = self.nodes.get(name) else { continue };
                let old = &snapshot.node_info_list[i];
                affinity_changed |= !old.pods_with_affinity.is_empty()
                    || !info.pods_with_affinity.is_empty()
                    || !old.pods_with_required_anti_affinity.is_empty()
                    || !info.pods_with_required_anti_affinity.is_empty();
                snapshot.node_info_list[i] = info.clone();
            }
            if affinity_changed {
                snapshot.rebuild_affinity_lists();
            }
        }
        if self.images_changed {
            snapshot.rebuild_images();
            self.images_changed = false;
        }
        snapshot.generation = self.generation;
    }
}

#[cfg(test)]
mod tests;
