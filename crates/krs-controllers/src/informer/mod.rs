//! Shared informers: one watch and one reflector store per resource per process, whose events
//! fan out to every controller that registered a handler (client-go's SharedInformerFactory).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher::{self, Config};
use kube::{Client, Resource, ResourceExt};
use parking_lot::{Mutex, RwLock};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What happened to an object, as a handler sees it.
pub enum Event<K> {
    Added(Arc<K>),
    Updated { old: Arc<K>, new: Arc<K> },
    Deleted(Arc<K>),
}

type Handler<K> = Box<dyn Fn(&Event<K>) + Send + Sync>;

/// The shared cache of one resource.
pub struct Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash,
{
    dyntype: K::DynamicType,
    store: Store<K>,
    writer: Mutex<Option<Writer<K>>>,
    handlers: RwLock<Vec<Handler<K>>>,
    synced: watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync,
{
    fn new(dyntype: K::DynamicType) -> Informer<K> {
        let writer = Writer::new(dyntype.clone());
        Informer {
            store: writer.as_reader(),
            dyntype,
            writer: Mutex::new(Some(writer)),
            handlers: RwLock::new(Vec::new()),
            synced: watch::channel(false).0,
        }
    }

    /// Registers `handler` for every later event. Register before the factory starts this
    /// informer: a handler added afterwards misses the objects already listed.
    pub fn add_handler(&self, handler: impl Fn(&Event<K>) + Send + Sync + 'static) {
        let mut handlers = self.handlers.write();
        // Already running: the newcomer first sees what the store holds, as client-go replays
        // the store to a handler added late (an event racing with this may be seen twice).
        if self.writer.lock().is_none() {
            for obj in self.store.state() {
                handler(&Event::Added(obj));
            }
        }
        handlers.push(Box::new(handler));
    }

    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let mut r = ObjectRef::new_with(name, self.dyntype.clone());
        if let Some(ns) = namespace {
            r = r.within(ns);
        }
        self.store.get(&r)
    }

    /// The object with key `namespace/name` (or `name` for cluster-scoped objects).
    pub fn get_key(&self, key: &str) -> Option<Arc<K>> {
        let (ns, name) = split_key(key);
        self.get(ns, name)
    }

    pub fn list(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        self.store.state_filter(|o| o.meta().namespace.as_deref() == Some(namespace))
    }

    pub fn has_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Waits until the first list has been stored.
    pub async fn wait_synced(&self) {
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    fn dispatch(&self, event: &Event<K>) {
        for h in self.handlers.read().iter() {
            h(event);
        }
    }

    /// Feeds the store from `stream` and fans its events out until the stream ends.
    async fn run<S>(self: Arc<Self>, stream: S)
    where
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    {
        let Some(mut writer) = self.writer.lock().take() else { return };
        let mut stream = std::pin::pin!(stream);
        let mut relist: Vec<K> = Vec::new();
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&self.dyntype), error = %e, "watch failed; retrying");
                    continue;
                }
            };
            match event {
                watcher::Event::Apply(obj) => {
                    let r = ObjectRef::from_obj_with(&obj, self.dyntype.clone());
                    let old = self.store.get(&r);
                    let new = Arc::new(obj.clone());
                    writer.apply_watcher_event(&watcher::Event::Apply(obj));
                    match old {
                        Some(old) => self.dispatch(&Event::Updated { old, new }),
                        None => self.dispatch(&Event::Added(new)),
                    }
                }
                watcher::Event::Delete(obj) => {
                    writer.apply_watcher_event(&watcher::Event::Delete(obj.clone()));
                    self.dispatch(&Event::Deleted(Arc::new(obj)));
                }
                watcher::Event::Init => {
                    relist.clear();
                    writer.apply_watcher_event(&watcher::Event::Init);
                }
                watcher::Event::InitApply(obj) => {
                    relist.push(obj.clone());
                    writer.apply_watcher_event(&watcher::Event::InitApply(obj));
                }
                watcher::Event::InitDone => {
                    // A relist replaces the store: what changed meanwhile becomes updates, what
                    // vanished deletions (client-go's Replace).
                    let mut before: HashMap<ObjectRef<K>, Arc<K>> = self
                        .store
                        .state()
                        .into_iter()
                        .map(|o| (ObjectRef::from_obj_with(o.as_ref(), self.dyntype.clone()), o))
                        .collect();
                    writer.apply_watcher_event(&watcher::Event::InitDone);
                    for obj in relist.drain(..) {
                        let r = ObjectRef::from_obj_with(&obj, self.dyntype.clone());
                        let new = Arc::new(obj);
                        match before.remove(&r) {
                            Some(old) if old.meta().resource_version == new.meta().resource_version => {}
                            Some(old) => self.dispatch(&Event::Updated { old, new }),
                            None => self.dispatch(&Event::Added(new)),
                        }
                    }
                    for (_, gone) in before {
                        self.dispatch(&Event::Deleted(gone));
                    }
                    self.synced.send_replace(true);
                }
            }
        }
    }
}

/// `namespace/name` of an object, or `name` when cluster-scoped.
pub fn key_of<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

/// Metadata of an object of any resource (the garbage collector's and namespace controller's
/// view).
pub type MetaObject = PartialObjectMeta<DynamicObject>;

type Starter = Box<dyn FnOnce(Client) -> JoinHandle<()> + Send>;

/// A change of some object's metadata, for consumers of any resource (the garbage collector).
pub enum MetaChange<'a> {
    Added(&'a ObjectMeta),
    Updated(&'a ObjectMeta, &'a ObjectMeta),
    Deleted(&'a ObjectMeta),
}

pub type MetaHandler = Arc<dyn Fn(MetaChange<'_>) + Send + Sync>;

type MetaSubscribe = Box<dyn Fn(MetaHandler) + Send + Sync>;

/// `group/version/plural`, the key of a resource in the factory.
pub fn resource_key(group: &str, version: &str, plural: &str) -> String {
    format!("{group}/{version}/{plural}")
}

struct Entry {
    informer: Arc<dyn Any + Send + Sync>,
    start: Option<Starter>,
    handle: Option<JoinHandle<()>>,
    synced: Option<watch::Receiver<bool>>,
    /// Subscribes a metadata handler to this informer.
    meta: MetaSubscribe,
}

/// Hands out one informer per resource; `start` runs those not yet running.
pub struct SharedInformerFactory {
    client: Client,
    typed: Mutex<HashMap<TypeId, Entry>>,
    dynamic: Mutex<HashMap<String, Entry>>,
    /// Resource key → TypeId of the typed informer serving it.
    typed_keys: Mutex<HashMap<String, TypeId>>,
}

impl SharedInformerFactory {
    pub fn new(client: Client) -> Arc<SharedInformerFactory> {
        Arc::new(SharedInformerFactory {
            client,
            typed: Mutex::new(HashMap::new()),
            dynamic: Mutex::new(HashMap::new()),
            typed_keys: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The informer of built-in kind `K` (all namespaces).
    pub fn informer<K>(&self) -> Arc<Informer<K>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut typed = self.typed.lock();
        let entry = typed.entry(TypeId::of::<K>()).or_insert_with(|| {
            let informer = Arc::new(Informer::<K>::new(()));
            let run = informer.clone();
            let synced = Some(informer.synced.subscribe());
            self.typed_keys
                .lock()
                .insert(resource_key(&K::group(&()), &K::version(&()), &K::plural(&())), TypeId::of::<K>());
            let for_meta = informer.clone();
            Entry {
                synced,
                meta: Box::new(move |h: MetaHandler| for_meta.add_handler(move |e| h(meta_change(e)))),
                informer: informer as Arc<dyn Any + Send + Sync>,
                start: Some(Box::new(move |client: Client| {
                    let api: Api<K> = Api::all(client);
                    let stream = watcher::watcher(api, Config::default().page_size(500)).default_backoff();
                    tokio::spawn(run.run(stream))
                })),
                handle: None,
            }
        });
        match entry.informer.clone().downcast::<Informer<K>>() {
            Ok(i) => i,
            // The map is keyed by K's TypeId, so the entry always holds an Informer<K>.
            Err(_) => unreachable!("informer map entry of another type"),
        }
    }

    /// The metadata-only informer of any resource (custom resources included).
    pub fn metadata_informer(&self, resource: &ApiResource) -> Arc<Informer<MetaObject>> {
        let key = format!("{}/{}/{}", resource.group, resource.version, resource.plural);
        let mut dynamic = self.dynamic.lock();
        let entry = dynamic.entry(key).or_insert_with(|| {
            let informer = Arc::new(Informer::<MetaObject>::new(resource.clone()));
            let run = informer.clone();
            let ar = resource.clone();
            let synced = Some(informer.synced.subscribe());
            let for_meta = informer.clone();
            Entry {
                synced,
                meta: Box::new(move |h: MetaHandler| for_meta.add_handler(move |e| h(meta_change(e)))),
                informer: informer as Arc<dyn Any + Send + Sync>,
                start: Some(Box::new(move |client: Client| {
                    let api: Api<MetaObject> = Api::all_with(client, &ar);
                    let stream = watcher::watcher(api, Config::default().page_size(500)).default_backoff();
                    tokio::spawn(run.run(stream))
                })),
                handle: None,
            }
        });
        match entry.informer.clone().downcast::<Informer<MetaObject>>() {
            Ok(i) => i,
            Err(_) => unreachable!("metadata informer map entry of another type"),
        }
    }

    /// Feeds `handler` the metadata changes of `resource`: from the typed informer serving it
    /// when there is one (one watch per resource per process), else from a metadata informer.
    /// Returns whether the source has synced yet, to wait on.
    pub fn subscribe_metadata(&self, resource: &ApiResource, handler: MetaHandler) -> watch::Receiver<bool> {
        let key = resource_key(&resource.group, &resource.version, &resource.plural);
        let typed_id = self.typed_keys.lock().get(&key).copied();
        if let Some(id) = typed_id
            && let Some(entry) = self.typed.lock().get(&id)
            && let Some(rx) = entry.synced.clone()
        {
            (entry.meta)(handler);
            return rx;
        }
        let informer = self.metadata_informer(resource);
        informer.add_handler(move |e| handler(meta_change(e)));
        self.start();
        informer.synced.subscribe()
    }

    /// Stops and forgets the metadata informer of a resource that is no longer served.
    pub fn remove_metadata_informer(&self, resource: &ApiResource) {
        let key = format!("{}/{}/{}", resource.group, resource.version, resource.plural);
        if let Some(entry) = self.dynamic.lock().remove(&key)
            && let Some(h) = entry.handle
        {
            h.abort();
        }
    }

    /// Starts every informer handed out and not yet running.
    pub fn start(&self) {
        let mut typed = self.typed.lock();
        let mut dynamic = self.dynamic.lock();
        for entry in typed.values_mut().chain(dynamic.values_mut()) {
            if let Some(start) = entry.start.take() {
                entry.handle = Some(start(self.client.clone()));
            }
        }
    }

    /// Waits until every informer handed out so far has listed its resource once.
    pub async fn wait_synced(&self) {
        loop {
            let pending = {
                let typed = self.typed.lock();
                let dynamic = self.dynamic.lock();
                typed.values().chain(dynamic.values()).filter_map(|e| e.synced.clone()).find(|rx| !*rx.borrow())
            };
            match pending {
                Some(mut rx) => {
                    let _ = rx.wait_for(|s| *s).await;
                }
                None => return,
            }
        }
    }

    /// Stops every informer.
    pub fn shutdown(&self) {
        let mut typed = self.typed.lock();
        let mut dynamic = self.dynamic.lock();
        for entry in typed.values_mut().chain(dynamic.values_mut()) {
            if let Some(h) = entry.handle.take() {
                h.abort();
            }
        }
    }
}

fn meta_change<K: Resource>(e: &Event<K>) -> MetaChange<'_> {
    match e {
        Event::Added(o) => MetaChange::Added(o.meta()),
        Event::Updated { old, new } => MetaChange::Updated(old.meta(), new.meta()),
        Event::Deleted(o) => MetaChange::Deleted(o.meta()),
    }
}

/// Lets controllers name an object's owner-facing identity in logs and keys.
pub fn name_of<K: Resource>(obj: &K) -> String {
    obj.meta().name.clone().unwrap_or_default()
}

/// The namespace of an object ("" for cluster-scoped ones).
pub fn namespace_of<K: Resource>(obj: &K) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}

pub fn uid_of<K: ResourceExt>(obj: &K) -> String {
    obj.uid().unwrap_or_default()
}
