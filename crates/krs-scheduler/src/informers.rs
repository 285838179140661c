//! The informers: one kube-runtime watcher per resource, feeding the cache (nodes, assigned
//! pods), the queue (unscheduled pods, cluster events) and the listers (volumes, PDBs,
//! namespaces). A re-list (watch restarted) deletes the objects it no longer returns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, PodStatus, ReplicationController, Service,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use krs_apimachinery::labels::Selector;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt};
use tokio::sync::Notify;

use crate::framework::events::{self as ev, ClusterEvent, EventResource};
use crate::framework::{Listers, PodInfo};
use crate::scheduler::Scheduler;

/// Counts the informers that finished their first list.
#[derive(Default)]
pub struct SyncState {
    synced: AtomicUsize,
    notify: Notify,
}

impl SyncState {
    fn mark(&self) {
        self.synced.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Waits until `n` informers have synced.
    pub async fn wait(&self, n: usize) {
        loop {
            let notified = self.notify.notified();
            if self.synced.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

/// A pod as the pod informer decodes it: without `metadata.managedFields`, which upstream's
/// scheduler drops from its pod informer too (its transform on the informer); here they are
/// skipped while decoding, which saves the time to build them as well as the memory.
#[derive(Clone, Debug)]
struct InformerPod(Pod);

impl k8s_openapi::Resource for InformerPod {
    const API_VERSION: &'static str = <Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Pod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for InformerPod {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.0.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.0.metadata
    }
}

impl<'de> serde::Deserialize<'de> for InformerPod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A Pod's fields; unknown ones (apiVersion, kind) are skipped.
        #[derive(serde::Deserialize)]
        struct Shape {
            #[serde(default)]
            metadata: Meta,
            spec: Option<PodSpec>,
            status: Option<PodStatus>,
        }
        /// ObjectMeta's fields but managedFields, which is skipped unread.
        #[derive(serde::Deserialize, Default)]
        #[serde(default, rename_all = "camelCase")]
        struct Meta {
            annotations: Option<BTreeMap<String, String>>,
            creation_timestamp: Option<Time>,
            deletion_grace_period_seconds: Option<i64>,
            deletion_timestamp: Option<Time>,
            finalizers: Option<Vec<String>>,
            generate_name: Option<String>,
            generation: Option<i64>,
            labels: Option<BTreeMap<String, String>>,
            name: Option<String>,
            namespace: Option<String>,
            owner_references: Option<Vec<OwnerReference>>,
            resource_version: Option<String>,
            self_link: Option<String>,
            uid: Option<String>,
        }
        let Shape { metadata: m, spec, status } = Shape::deserialize(d)?;
        let metadata = ObjectMeta {
            annotations: m.annotations,
            creation_timestamp: m.creation_timestamp,
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            deletion_timestamp: m.deletion_timestamp,
            finalizers: m.finalizers,
            generate_name: m.generate_name,
            generation: m.generation,
            labels: m.labels,
            managed_fields: None,
            name: m.name,
            namespace: m.namespace,
            owner_references: m.owner_references,
            resource_version: m.resource_version,
            self_link: m.self_link,
            uid: m.uid,
        };
        Ok(InformerPod(Pod { metadata, spec, status }))
    }
}

/// What an informer does with its objects.
trait Handler<K>: Send + 'static {
    fn apply(&mut self, obj: K);
    fn delete(&mut self, key: &str);
    fn keys(&self) -> Vec<String>;
}

fn object_key<K: Resource>(obj: &K) -> String {
    match obj.meta().namespace.as_deref() {
        Some(ns) => format!("{ns}/{}", obj.name_any()),
        None => obj.name_any(),
    }
}

/// Runs a watcher forever (it retries with backoff), dispatching to the handler.
async fn drive<K, H>(api: Api<K>, mut handler: H, sync: Arc<SyncState>)
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    H: Handler<K>,
{
    let mut stream = watcher::watcher(api, watcher::Config::default().page_size(5000)).default_backoff().boxed();
    let mut seen: Option<HashSet<String>> = None;
    let mut first = true;
    while let Some(item) = stream.next().await {
        match item {
            Ok(Event::Init) => seen = Some(HashSet::new()),
            Ok(Event::InitApply(obj)) => {
                if let Some(s) = seen.as_mut() {
                    s.insert(object_key(&obj));
                }
                handler.apply(obj);
            }
            Ok(Event::InitDone) => {
                if let Some(s) = seen.take() {
                    for k in handler.keys() {
                        if !s.contains(&k) {
                            handler.delete(&k);
                        }
                    }
                }
                if first {
                    first = false;
                    sync.mark();
                }
            }
            Ok(Event::Apply(obj)) => handler.apply(obj),
            Ok(Event::Delete(obj)) => handler.delete(&object_key(&obj)),
            Err(e) => tracing::debug!(error = %e, kind = std::any::type_name::<K>(), "watch error"),
        }
    }
}

/// Starts every informer; returns how many must sync before scheduling starts.
pub fn start(client: kube::Client, scheduler: Arc<Scheduler>, listers: Arc<Listers>, sync: Arc<SyncState>) -> usize {
    let names: HashSet<String> = scheduler.profiles.keys().cloned().collect();
    tokio::spawn(drive(
        Api::<Node>::all(client.clone()),
        Nodes { scheduler: scheduler.clone(), nodes: HashMap::new() },
        sync.clone(),
    ));
    tokio::spawn(drive(
        Api::<InformerPod>::all(client.clone()),
        Pods { scheduler: scheduler.clone(), names, pods: HashMap::new() },
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<PersistentVolume>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::PersistentVolume, move |k, o| store(&l.pvs, k, o)),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::PersistentVolumeClaim, move |k, o| store(&l.pvcs, k, o)),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<StorageClass>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::StorageClass, move |k, o| store(&l.storage_classes, k, o)),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<CSINode>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::CsiNode, move |k, o| store(&l.csi_nodes, k, o)),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<PodDisruptionBudget>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::WildCard, move |k, o| store(&l.pdbs, k, o)),
        sync.clone(),
    ));
    // Workload selectors for PodTopologySpread's system default constraints.
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<Service>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::WildCard, move |k, o: Option<Arc<Service>>| {
            let sel = o.and_then(|s| s.spec.as_ref().and_then(|s| s.selector.clone())).map(|m| Selector::from_set(&m));
            set_selector(&l, "Service", k, sel)
        }),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<ReplicationController>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::WildCard, move |k, o: Option<Arc<ReplicationController>>| {
            let sel = o.and_then(|s| s.spec.as_ref().and_then(|s| s.selector.clone())).map(|m| Selector::from_set(&m));
            set_selector(&l, "ReplicationController", k, sel)
        }),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<ReplicaSet>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::WildCard, move |k, o: Option<Arc<ReplicaSet>>| {
            let sel =
                o.and_then(|s| s.spec.as_ref().and_then(|s| Selector::from_label_selector(Some(&s.selector)).ok()));
            set_selector(&l, "ReplicaSet", k, sel)
        }),
        sync.clone(),
    ));
    let l = listers.clone();
    tokio::spawn(drive(
        Api::<StatefulSet>::all(client.clone()),
        Listed::new(scheduler.clone(), EventResource::WildCard, move |k, o: Option<Arc<StatefulSet>>| {
            let sel =
                o.and_then(|s| s.spec.as_ref().and_then(|s| Selector::from_label_selector(Some(&s.selector)).ok()));
            set_selector(&l, "StatefulSet", k, sel)
        }),
        sync.clone(),
    ));
    let l = listers;
    tokio::spawn(drive(
        Api::<Namespace>::all(client),
        Listed::new(scheduler, EventResource::WildCard, move |k, o: Option<Arc<Namespace>>| {
            let mut m = l.namespaces.write();
            match o {
                Some(ns) => {
                    m.insert(k.to_string(), ns.metadata.labels.clone().unwrap_or_default());
                }
                None => {
                    m.remove(k);
                }
            }
        }),
        sync,
    ));
    12
}

/// Records a workload's pod selector under `namespace/kind/name` (None removes it).
fn set_selector(listers: &Listers, kind: &str, key: &str, selector: Option<Selector>) {
    let (ns, name) = key.split_once('/').unwrap_or(("", key));
    let full = format!("{ns}/{kind}/{name}");
    let mut m = listers.workload_selectors.write();
    match selector {
        Some(s) => {
            m.insert(full, s);
        }
        None => {
            m.remove(&full);
        }
    }
}

fn store<K>(map: &parking_lot::RwLock<HashMap<String, Arc<K>>>, key: &str, obj: Option<Arc<K>>) {
    let mut m = map.write();
    match obj {
        Some(o) => {
            m.insert(key.to_string(), o);
        }
        None => {
            m.remove(key);
        }
    }
}

/// A resource the plugins only read: stored in a lister; adds and updates are cluster events.
struct Listed<K, F> {
    scheduler: Arc<Scheduler>,
    resource: EventResource,
    keys: HashSet<String>,
    set: F,
    _k: std::marker::PhantomData<fn(K)>,
}

impl<K, F: FnMut(&str, Option<Arc<K>>)> Listed<K, F> {
    fn new(scheduler: Arc<Scheduler>, resource: EventResource, set: F) -> Listed<K, F> {
        Listed { scheduler, resource, keys: HashSet::new(), set, _k: std::marker::PhantomData }
    }
}

impl<K, F> Handler<K> for Listed<K, F>
where
    K: Resource + Send + Sync + 'static,
    F: FnMut(&str, Option<Arc<K>>) + Send + 'static,
{
    fn apply(&mut self, obj: K) {
        let key = object_key(&obj);
        let action = if self.keys.insert(key.clone()) { ev::ADD } else { ev::UPDATE_OTHER };
        (self.set)(&key, Some(Arc::new(obj)));
        // PDBs and namespaces inform plugins but make no pod schedulable by themselves.
        if self.resource != EventResource::WildCard {
            self.scheduler.queue.move_all_to_active_or_backoff(&ClusterEvent::new(self.resource, action), None);
        }
    }

    fn delete(&mut self, key: &str) {
        self.keys.remove(key);
        (self.set)(key, None);
        if self.resource != EventResource::WildCard {
            self.scheduler.queue.move_all_to_active_or_backoff(&ClusterEvent::new(self.resource, ev::DELETE), None);
        }
    }

    fn keys(&self) -> Vec<String> {
        self.keys.iter().cloned().collect()
    }
}

struct Nodes {
    scheduler: Arc<Scheduler>,
    nodes: HashMap<String, Arc<Node>>,
}

/// The aspects of a node that changed, as cluster events (`nodeSchedulingPropertiesChange`).
fn node_update_actions(old: &Node, new: &Node) -> Vec<ev::ActionType> {
    let mut out = Vec::new();
    let (os, ns) = (old.status.as_ref(), new.status.as_ref());
    if os.and_then(|s| s.allocatable.as_ref()) != ns.and_then(|s| s.allocatable.as_ref()) {
        out.push(ev::UPDATE_NODE_ALLOCATABLE);
    }
    if old.metadata.labels != new.metadata.labels {
        out.push(ev::UPDATE_NODE_LABEL);
    }
    let (osp, nsp) = (old.spec.as_ref(), new.spec.as_ref());
    if osp.and_then(|s| s.taints.as_ref()) != nsp.and_then(|s| s.taints.as_ref())
        || osp.and_then(|s| s.unschedulable) != nsp.and_then(|s| s.unschedulable)
    {
        out.push(ev::UPDATE_NODE_TAINT);
    }
    let conds = |s: Option<&k8s_openapi::api::core::v1::NodeStatus>| -> Vec<(String, String)> {
        s.and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect()
    };
    if conds(os) != conds(ns) {
        out.push(ev::UPDATE_NODE_CONDITION);
    }
    if old.metadata.annotations != new.metadata.annotations {
        out.push(ev::UPDATE_NODE_ANNOTATION);
    }
    out
}

impl Handler<Node> for Nodes {
    fn apply(&mut self, node: Node) {
        let node = Arc::new(node);
        let name = node.name_any();
        let old = self.nodes.insert(name, node.clone());
        let actions = match &old {
            None => vec![ev::ADD],
            Some(o) => node_update_actions(o, &node),
        };
        if old.is_some() && actions.is_empty() {
            // Heartbeats and the like: the cache keeps the latest object, nothing moves.
            self.scheduler.cache.lock().update_node(node);
            return;
        }
        self.scheduler.cache.lock().add_node(node);
        for a in actions {
            self.scheduler.queue.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::Node, a), None);
        }
    }

    fn delete(&mut self, key: &str) {
        self.nodes.remove(key);
        self.scheduler.cache.lock().remove_node(key);
    }

    fn keys(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }
}

struct Pods {
    scheduler: Arc<Scheduler>,
    /// The scheduler names this scheduler is responsible for (its profiles).
    names: HashSet<String>,
    pods: HashMap<String, Arc<PodInfo>>,
}

fn is_terminal(pod: &PodInfo) -> bool {
    matches!(pod.pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

impl Pods {
    fn forget(&mut self, old: &Arc<PodInfo>) {
        let s = &self.scheduler;
        s.metrics.remove_pod(&old.key);
        if old.node_name().is_empty() {
            s.queue.delete(&old.key);
        } else {
            s.cache.lock().remove_pod(&old.key);
            s.queue.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::AssignedPod, ev::DELETE), None);
        }
    }
}

impl Handler<InformerPod> for Pods {
    fn apply(&mut self, InformerPod(pod): InformerPod) {
        let key = object_key(&pod);
        let pod = Arc::new(pod);
        let new = Arc::new(match self.pods.get(&key) {
            Some(old) => old.updated(pod),
            None => PodInfo::new(pod),
        });
        let mut old = self.pods.insert(key.clone(), new.clone());
        if let Some(o) = old.clone()
            && o.key != new.key
        {
            // The same name with another UID: the old pod is gone.
            self.forget(&o);
            old = None;
        }
        let s = self.scheduler.clone();
        if is_terminal(&new) {
            // A finished pod frees its resources, like a deleted one.
            self.pods.remove(&key);
            if let Some(o) = old {
                self.forget(&o);
            }
            return;
        }
        s.metrics.set_pod(new.clone());
        let assigned = !new.node_name().is_empty();
        let was_assigned = old.as_ref().is_some_and(|o| !o.node_name().is_empty());
        if assigned {
            if !was_assigned {
                s.queue.delete(&new.key);
            }
            s.cache.lock().add_pod(new.clone());
            let action = match &old {
                Some(o) if was_assigned => {
                    if o.pod.metadata.labels != new.pod.metadata.labels {
                        ev::UPDATE_POD_LABEL
                    } else if new.requests.milli_cpu < o.requests.milli_cpu || new.requests.memory < o.requests.memory {
                        ev::UPDATE_POD_SCALE_DOWN
                    } else {
                        return;
                    }
                }
                _ => ev::ADD,
            };
            s.queue.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::AssignedPod, action), None);
            return;
        }
        if !self.names.contains(new.scheduler_name()) {
            return;
        }
        match old {
            None => {
                s.queue.add(new);
            }
            Some(_) => {
                s.queue.update(new);
            }
        }
    }

    fn delete(&mut self, key: &str) {
        if let Some(old) = self.pods.remove(key) {
            self.forget(&old);
        }
    }

    fn keys(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn informer_pods_keep_everything_but_managed_fields() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "7", "generateName": "p-",
                "labels": {"app": "a"}, "annotations": {"k": "v"}, "finalizers": ["example.com/f"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u2"}],
                "creationTimestamp": "2026-01-01T00:00:00Z", "deletionTimestamp": "2026-01-01T00:01:00Z",
                "deletionGracePeriodSeconds": 30, "generation": 2, "selfLink": "/api/v1/namespaces/ns/pods/p",
                "managedFields": [{"manager": "m", "operation": "Update", "apiVersion": "v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:nodeName": {}}}}],
            },
            "spec": {"containers": [{"name": "c", "image": "i"}], "nodeName": "n1"},
            "status": {"phase": "Pending"},
        });
        let InformerPod(trimmed) = serde_json::from_value(json.clone()).unwrap();
        let mut full: Pod = serde_json::from_value(json).unwrap();
        assert!(full.metadata.managed_fields.take().is_some());
        assert_eq!(trimmed, full);
        // A pod without metadata still decodes (its key is then empty).
        let InformerPod(bare) = serde_json::from_value(serde_json::json!({"spec": {"containers": []}})).unwrap();
        assert_eq!(bare.metadata, ObjectMeta::default());
    }
}
