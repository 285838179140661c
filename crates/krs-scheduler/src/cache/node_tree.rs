//! Nodes grouped by zone (`nodeTree`), listed round-robin across zones so that the first nodes
//! the scheduler evaluates are spread over zones.

use k8s_openapi::api::core::v1::Node;

const REGION: &str = "topology.kubernetes.io/region";
const ZONE: &str = "topology.kubernetes.io/zone";

/// The zone key of a node: region and zone labels (`utilnode.GetZoneKey`).
fn zone_key(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let region = labels.and_then(|l| l.get(REGION)).map(String::as_str).unwrap_or_default();
    let zone = labels.and_then(|l| l.get(ZONE)).map(String::as_str).unwrap_or_default();
    if region.is_empty() && zone.is_empty() { String::new() } else { format!("{region}:\x00:{zone}") }
}

#[derive(Default)]
pub struct NodeTree {
    /// Zones in the order they were first seen, each with its nodes in insertion order.
    zones: Vec<(String, Vec<String>)>,
}

impl NodeTree {
    pub fn add(&mut self, node: &Node) {
        let key = zone_key(node);
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.zones.iter_mut().find(|(z, _)| *z == key) {
            Some((_, names)) => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => self.zones.push((key, vec![name])),
        }
    }

    pub fn remove(&mut self, node: &Node) {
        let key = zone_key(node);
        let name = node.metadata.name.as_deref().unwrap_or_default();
        if let Some(i) = self.zones.iter().position(|(z, _)| *z == key) {
            self.zones[i].1.retain(|n| n != name);
            if self.zones[i].1.is_empty() {
                self.zones.remove(i);
            }
        }
    }

    pub fn update(&mut self, old: &Node, new: &Node) {
        if zone_key(old) != zone_key(new) {
            self.remove(old);
            self.add(new);
        }
    }

    /// All node names, one zone after another in turn (`nodeTree.list`).
    pub fn list(&self) -> Vec<String> {
        let total: usize = self.zones.iter().map(|(_, n)| n.len()).sum();
        let mut out = Vec::with_capacity(total);
        let mut i = 0;
        while out.len() < total {
            for (_, names) in &self.zones {
                if let Some(n) = names.get(i) {
                    out.push(n.clone());
                }
            }
            i += 1;
        }
        out
    }
}
