//! The dependency graph of every object (upstream's GraphBuilder): nodes keyed by UID with
//! their owners and dependents, built from the metadata of all resources by one task, which
//! also decides what the workers look at.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use parking_lot::Mutex;

use crate::queue::WorkQueue;

pub const FINALIZER_ORPHAN: &str = "orphan";
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// Which object a node is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    /// None for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub dependents: HashSet<String>,
    /// Deleted in the foreground: waits for its blocking dependents.
    pub deleting_dependents: bool,
    pub being_deleted: bool,
    /// Referenced as an owner but never observed: its existence must be verified.
    pub virtual_: bool,
}

/// What the graph builder is told.
pub enum Change {
    Upsert {
        identity: Identity,
        meta: Box<ObjectMeta>,
    },
    Delete {
        identity: Identity,
    },
    /// A virtual node that attemptToDelete found absent.
    VirtualDelete {
        identity: Identity,
    },
}

#[derive(Default)]
pub struct Graph {
    pub nodes: Mutex<HashMap<String, Node>>,
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers.iter().flatten().any(|x| x == f)
}

pub fn deleting_dependents(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && has_finalizer(meta, FINALIZER_FOREGROUND)
}

pub fn orphaning(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && has_finalizer(meta, FINALIZER_ORPHAN)
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<Node> {
        self.nodes.lock().get(uid).cloned()
    }

    /// Applies one change; queues the nodes that need attention.
    pub fn process(&self, change: Change, attempt_to_delete: &WorkQueue, attempt_to_orphan: &WorkQueue) {
        let mut nodes = self.nodes.lock();
        match change {
            Change::Upsert { identity, meta } => {
                let uid = identity.uid.clone();
                let owners = meta.owner_references.clone().unwrap_or_default();
                let was = nodes.get(&uid).map(|n| (n.owners.clone(), n.deleting_dependents, n.virtual_));
                let (old_owners, was_deleting_dependents) = match &was {
                    Some((o, d, v)) => (if *v { Vec::new() } else { o.clone() }, *d && !*v),
                    None => (Vec::new(), false),
                };
                let node = nodes.entry(uid.clone()).or_insert_with(|| Node {
                    identity: identity.clone(),
                    owners: Vec::new(),
                    dependents: HashSet::new(),
                    deleting_dependents: false,
                    being_deleted: false,
                    virtual_: false,
                });
                node.identity = identity.clone();
                node.virtual_ = false;
                node.owners = owners.clone();
                node.being_deleted = meta.deletion_timestamp.is_some();
                // Owners added: link (creating virtual owners to verify); removed: unlink, and
                // an owner deleting in the foreground may now be unblocked.
                let old_uids: HashSet<&str> = old_owners.iter().map(|o| o.uid.as_str()).collect();
                let new_uids: HashSet<&str> = owners.iter().map(|o| o.uid.as_str()).collect();
                for o in owners.iter().filter(|o| !old_uids.contains(o.uid.as_str())) {
                    let owner = nodes.entry(o.uid.clone()).or_insert_with(|| {
                        attempt_to_delete.add(o.uid.clone());
                        Node {
                            identity: Identity {
                                api_version: o.api_version.clone(),
                                kind: o.kind.clone(),
                                namespace: identity.namespace.clone(),
                                name: o.name.clone(),
                                uid: o.uid.clone(),
                            },
                            owners: Vec::new(),
                            dependents: HashSet::new(),
                            deleting_dependents: false,
                            being_deleted: false,
                            virtual_: true,
                        }
                    });
                    owner.dependents.insert(uid.clone());
                }
                for o in old_owners.iter().filter(|o| !new_uids.contains(o.uid.as_str())) {
                    if let Some(owner) = nodes.get_mut(&o.uid) {
                        owner.dependents.remove(&uid);
                        if owner.deleting_dependents {
                            attempt_to_delete.add(o.uid.clone());
                        }
                    }
                }
                // Transitions: orphaning starts; foreground deletion starts.
                if orphaning(&meta) {
                    attempt_to_orphan.add(uid.clone());
                }
                if deleting_dependents(&meta) {
                    let dependents: Vec<String> = match nodes.get_mut(&uid) {
                        Some(n) => {
                            n.deleting_dependents = true;
                            n.dependents.iter().cloned().collect()
                        }
                        None => Vec::new(),
                    };
                    if !was_deleting_dependents {
                        for d in dependents {
                            attempt_to_delete.add(d);
                        }
                    }
                    attempt_to_delete.add(uid);
                } else if let Some(n) = nodes.get_mut(&uid) {
                    n.deleting_dependents = false;
                }
            }
            Change::Delete { identity } => self.remove(&mut nodes, &identity, attempt_to_delete),
            Change::VirtualDelete { identity } => {
                // Observed since the check: it exists after all.
                if nodes.get(&identity.uid).is_some_and(|n| !n.virtual_) {
                    return;
                }
                self.remove(&mut nodes, &identity, attempt_to_delete);
            }
        }
    }

    fn remove(&self, nodes: &mut HashMap<String, Node>, identity: &Identity, attempt_to_delete: &WorkQueue) {
        {
            let Some(node) = nodes.remove(&identity.uid) else { return };
            for o in &node.owners {
                if let Some(owner) = nodes.get_mut(&o.uid) {
                    owner.dependents.remove(&identity.uid);
                    if owner.deleting_dependents {
                        attempt_to_delete.add(o.uid.clone());
                    }
                }
            }
            // Dependents may now be dangling.
            for d in node.dependents {
                attempt_to_delete.add(d);
            }
        }
    }
}
