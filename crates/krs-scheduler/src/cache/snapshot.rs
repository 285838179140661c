//! The per-cycle view of the cluster (`Snapshot`): the nodes in spreading order, with the pods on
//! them. It shares `NodeInfo`s with the cache through `Arc`; updating it replaces only the nodes
//! whose generation moved since the last cycle.

use std::collections::HashMap;
use std::sync::Arc;

use crate::framework::types::NodeInfo;

#[derive(Clone, Default)]
pub struct Snapshot {
    /// Nodes that have a Node object, zones interleaved (`nodeInfoList`).
    pub node_info_list: Vec<Arc<NodeInfo>>,
    /// Nodes with at least one pod that has (anti-)affinity terms.
    pub have_pods_with_affinity: Vec<Arc<NodeInfo>>,
    /// Nodes with at least one pod that has required anti-affinity terms.
    pub have_pods_with_required_anti_affinity: Vec<Arc<NodeInfo>>,
    /// Node name to position in `node_info_list`.
    pub(crate) index: HashMap<Arc<str>, usize>,
    /// On how many nodes each image is (ImageLocality's spread factor).
    pub image_num_nodes: HashMap<String, usize>,
    /// The cache generation this snapshot reflects.
    pub generation: u64,
    /// Changes when the node count or the image spread changes: what node-local plugins read
    /// beyond their node (`Plugin::node_local`).
    pub epoch: u64,
}

impl Snapshot {
    /// A snapshot of the given nodes, in this order (tests and preemption simulations).
    pub fn from_nodes(nodes: Vec<NodeInfo>) -> Snapshot {
        let mut s = Snapshot { node_info_list: nodes.into_iter().map(Arc::new).collect(), ..Default::default() };
        s.reindex();
        s.rebuild_affinity_lists();
        s.rebuild_images();
        s
    }

    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|i| &self.node_info_list[*i])
    }

    pub fn num_nodes(&self) -> usize {
        self.node_info_list.len()
    }

    pub(crate) fn reindex(&mut self) {
        self.index = self.node_info_list.iter().enumerate().map(|(i, n)| (n.name.clone(), i)).collect();
    }

    pub(crate) fn rebuild_affinity_lists(&mut self) {
        self.have_pods_with_affinity =
            self.node_info_list.iter().filter(|n| !n.pods_with_affinity.is_empty()).cloned().collect();
        self.have_pods_with_required_anti_affinity =
            self.node_info_list.iter().filter(|n| !n.pods_with_required_anti_affinity.is_empty()).cloned().collect();
    }

    pub(crate) fn rebuild_images(&mut self) {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for n in &self.node_info_list {
            for image in n.images.keys() {
                *counts.entry(image.clone()).or_default() += 1;
            }
        }
        if counts != self.image_num_nodes {
            self.epoch += 1;
        }
        self.image_num_nodes = counts;
    }
}
