//! What the garbage collector's workers do with a node (upstream's attemptToDeleteItem and
//! attemptToOrphanWorker), always deciding on the live object, not the cache.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::discovery::ApiResource;
use serde_json::json;

use super::GarbageCollector;
use super::graph::{Change, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Identity, deleting_dependents};
use crate::Error;
use crate::controller_utils::pod::is_not_found;

enum OwnerState {
    Absent,
    Exists { deleting_dependents: bool },
}

impl GarbageCollector {
    fn resource(&self, api_version: &str, kind: &str) -> Result<(ApiResource, bool), Error> {
        self.mapping
            .read()
            .get(&(api_version.to_string(), kind.to_string()))
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("unable to get REST mapping for {api_version}/{kind}")))
    }

    fn meta_api(&self, id: &Identity) -> Result<Api<PartialObjectMeta<DynamicObject>>, Error> {
        let (ar, namespaced) = self.resource(&id.api_version, &id.kind)?;
        Ok(match (&id.namespace, namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }

    fn object_api(&self, id: &Identity) -> Result<Api<DynamicObject>, Error> {
        let (ar, namespaced) = self.resource(&id.api_version, &id.kind)?;
        Ok(match (&id.namespace, namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// The live object's metadata, if an object with this UID exists.
    async fn live(&self, id: &Identity) -> Result<Option<ObjectMeta>, Error> {
        match self.meta_api(id)?.get_metadata(&id.name).await {
            Ok(m) if m.metadata.uid.as_deref() == Some(id.uid.as_str()) => Ok(Some(m.metadata)),
            Ok(_) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn attempt_to_delete(&self, uid: &str) -> Result<(), Error> {
        let Some(node) = self.graph.get(uid) else { return Ok(()) };
        let Some(latest) = self.live(&node.identity).await? else {
            let _ = self.changes.send(Change::VirtualDelete { identity: node.identity.clone() });
            return Ok(());
        };
        if node.virtual_ {
            // It exists: its informer will report it.
            return Ok(());
        }
        if latest.deletion_timestamp.is_some() && !deleting_dependents(&latest) {
            return Ok(());
        }
        if deleting_dependents(&latest) {
            return self.process_deleting_dependents(&node.identity, &latest).await;
        }
        let refs = latest.owner_references.clone().unwrap_or_default();
        if refs.is_empty() {
            return Ok(());
        }
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in &refs {
            match self.owner_state(&node.identity, r).await? {
                OwnerState::Absent => dangling.push(r.clone()),
                OwnerState::Exists { deleting_dependents: true } => waiting.push(r.clone()),
                OwnerState::Exists { deleting_dependents: false } => solid.push(r.clone()),
            }
        }
        if !solid.is_empty() {
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // Keep the object: drop references to absent owners, and stop blocking owners
            // being deleted in the foreground.
            let kept: Vec<OwnerReference> = refs
                .iter()
                .filter(|r| !dangling.iter().any(|d| d.uid == r.uid))
                .map(|r| {
                    let mut r = r.clone();
                    if waiting.iter().any(|w| w.uid == r.uid) {
                        r.block_owner_deletion = Some(false);
                    }
                    r
                })
                .collect();
            return self.patch_owner_refs(&node.identity, &kept).await;
        }
        let policy = if !waiting.is_empty() && !node.dependents.is_empty() {
            // The owner waits for this object, which has dependents of its own: delete it in
            // the foreground too, so the chain goes bottom-up.
            PropagationPolicy::Foreground
        } else if latest.finalizers.iter().flatten().any(|f| f == FINALIZER_ORPHAN) {
            PropagationPolicy::Orphan
        } else if latest.finalizers.iter().flatten().any(|f| f == FINALIZER_FOREGROUND) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        tracing::debug!(object = ?node.identity, ?policy, "garbage collector: deleting");
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions { uid: Some(node.identity.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        match self.object_api(&node.identity)?.delete(&node.identity.name, &dp).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // The UID precondition failed: another object of that name, not ours to delete.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn owner_state(&self, dependent: &Identity, r: &OwnerReference) -> Result<OwnerState, Error> {
        if let Some(n) = self.graph.get(&r.uid)
            && !n.virtual_
        {
            return Ok(OwnerState::Exists { deleting_dependents: n.deleting_dependents });
        }
        let (_, namespaced) = self.resource(&r.api_version, &r.kind)?;
        let id = Identity {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: if namespaced { dependent.namespace.clone() } else { None },
            name: r.name.clone(),
            uid: r.uid.clone(),
        };
        Ok(match self.live(&id).await? {
            Some(m) => OwnerState::Exists { deleting_dependents: deleting_dependents(&m) },
            None => OwnerState::Absent,
        })
    }

    /// An owner deleted in the foreground: once no dependent blocks it, drop its finalizer;
    /// until then make sure its blocking dependents are being deleted.
    async fn process_deleting_dependents(&self, owner: &Identity, latest: &ObjectMeta) -> Result<(), Error> {
        let dependents: Vec<String> =
            self.graph.get(&owner.uid).map(|n| n.dependents.into_iter().collect()).unwrap_or_default();
        let mut blocking = Vec::new();
        for d in dependents {
            let Some(node) = self.graph.get(&d) else { continue };
            if node.owners.iter().any(|o| o.uid == owner.uid && o.block_owner_deletion == Some(true)) {
                blocking.push(node);
            }
        }
        if blocking.is_empty() {
            return self.remove_finalizer(owner, latest, FINALIZER_FOREGROUND).await;
        }
        for node in blocking {
            if !node.deleting_dependents {
                self.attempt_to_delete.add(node.identity.uid.clone());
            }
        }
        Ok(())
    }

    async fn patch_owner_refs(&self, id: &Identity, refs: &[OwnerReference]) -> Result<(), Error> {
        let patch = json!({"metadata": {"ownerReferences": refs, "uid": id.uid}});
        match self.object_api(id)?.patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_finalizer(&self, id: &Identity, latest: &ObjectMeta, finalizer: &str) -> Result<(), Error> {
        let finalizers: Vec<&String> = latest.finalizers.iter().flatten().filter(|f| *f != finalizer).collect();
        if finalizers.len() == latest.finalizers.as_ref().map_or(0, Vec::len) {
            return Ok(());
        }
        // The resourceVersion makes this a compare-and-swap: another finalizer's owner may be
        // editing the list concurrently.
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": latest.resource_version}});
        match self.object_api(id)?.patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// An owner deleted with orphan propagation: remove its references from every dependent,
    /// then its orphan finalizer.
    pub(super) async fn attempt_to_orphan(&self, uid: &str) -> Result<(), Error> {
        let Some(node) = self.graph.get(uid) else { return Ok(()) };
        for d in &node.dependents {
            let Some(dep) = self.graph.get(d) else { continue };
            let Some(latest) = self.live(&dep.identity).await? else { continue };
            let refs = latest.owner_references.clone().unwrap_or_default();
            if !refs.iter().any(|r| r.uid == uid) {
                continue;
            }
            let kept: Vec<OwnerReference> = refs.into_iter().filter(|r| r.uid != uid).collect();
            self.patch_owner_refs(&dep.identity, &kept).await?;
        }
        let Some(latest) = self.live(&node.identity).await? else { return Ok(()) };
        self.remove_finalizer(&node.identity, &latest, FINALIZER_ORPHAN).await
    }
}
