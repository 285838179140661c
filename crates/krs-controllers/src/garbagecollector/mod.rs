//! The garbage collector: deletes objects whose owners are all gone (background), deletes
//! dependents before their owner when it is deleted in the foreground (foregroundDeletion
//! finalizer, blockOwnerDeletion), and removes owner references when the owner is deleted with
//! orphan propagation. It watches every deletable resource found by discovery, custom
//! resources included, rediscovering every 30 seconds.

mod graph;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};
use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::controller_utils::run_workers;
use crate::informer::{MetaChange, SharedInformerFactory};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;
use graph::{Change, Graph, Identity};

const NAME: &str = "garbage-collector-controller";
/// How often new resources (CRDs) are looked for.
const REDISCOVERY: Duration = Duration::from_secs(30);

/// Resources the garbage collector ignores, as upstream does.
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

pub(crate) struct GarbageCollector {
    client: kube::Client,
    graph: Graph,
    attempt_to_delete: WorkQueue,
    attempt_to_orphan: WorkQueue,
    /// (apiVersion, kind) → resource, from discovery.
    mapping: RwLock<HashMap<(String, String), (ApiResource, bool)>>,
    changes: mpsc::UnboundedSender<Change>,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let attempt_to_delete = WorkQueue::new("garbage_collector_attempt_to_delete");
    let attempt_to_orphan = WorkQueue::new("garbage_collector_attempt_to_orphan");
    let (tx, rx) = mpsc::unbounded_channel();
    let gc = Arc::new(GarbageCollector {
        client: ctx.client.clone(),
        graph: Graph::default(),
        attempt_to_delete: attempt_to_delete.clone(),
        attempt_to_orphan: attempt_to_orphan.clone(),
        mapping: RwLock::new(HashMap::new()),
        changes: tx,
    });
    let factory = ctx.factory.clone();
    let workers = ctx.options.concurrent_gc_syncs;
    Started {
        queues: vec![attempt_to_delete.clone(), attempt_to_orphan.clone()],
        run: Box::new(move || {
            let mut tasks =
                vec![tokio::spawn(gc.clone().build_graph(rx)), tokio::spawn(gc.clone().monitor(factory, workers))];
            let g = gc.clone();
            tasks.extend(run_workers(
                NAME,
                attempt_to_orphan,
                1,
                Arc::new(move |uid| {
                    let g = g.clone();
                    Box::pin(async move { g.attempt_to_orphan(&uid).await })
                }),
            ));
            tasks
        }),
    }
}

fn deletable(ar: &ApiResource, caps: &ApiCapabilities) -> bool {
    let ops = &caps.operations;
    ops.iter().any(|o| o == verbs::LIST)
        && ops.iter().any(|o| o == verbs::WATCH)
        && ops.iter().any(|o| o == verbs::DELETE)
        && !IGNORED.iter().any(|(g, r)| ar.group == *g && ar.plural == *r)
}

impl GarbageCollector {
    async fn build_graph(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Change>) {
        while let Some(change) = rx.recv().await {
            self.graph.process(change, &self.attempt_to_delete, &self.attempt_to_orphan);
        }
    }

    /// Discovers the deletable resources, watches each, and starts the deleting workers once
    /// the first set is synced (a graph built from partial lists would delete live objects'
    /// dependents).
    async fn monitor(self: Arc<Self>, factory: Arc<SharedInformerFactory>, workers: usize) {
        let mut watched: HashSet<String> = HashSet::new();
        let mut started = false;
        loop {
            match Discovery::new(self.client.clone()).run().await {
                Ok(discovery) => {
                    let mut synced = Vec::new();
                    let mut mapping = HashMap::new();
                    for group in discovery.groups() {
                        for (ar, caps) in group.recommended_resources() {
                            let namespaced = caps.scope == Scope::Namespaced;
                            mapping.insert((ar.api_version.clone(), ar.kind.clone()), (ar.clone(), namespaced));
                            if !deletable(&ar, &caps) {
                                continue;
                            }
                            let key = format!("{}/{}", ar.group, ar.plural);
                            if watched.insert(key) {
                                synced.push(factory.subscribe_metadata(&ar, self.handler(&ar)));
                            }
                        }
                        // Owner references may name any served version of a kind.
                        for v in group.versions() {
                            for (ar, caps) in group.versioned_resources(v) {
                                let namespaced = caps.scope == Scope::Namespaced;
                                mapping.entry((ar.api_version.clone(), ar.kind.clone())).or_insert((ar, namespaced));
                            }
                        }
                    }
                    *self.mapping.write() = mapping;
                    if !started {
                        for mut rx in synced {
                            let _ = rx.wait_for(|s| *s).await;
                        }
                        started = true;
                        let g = self.clone();
                        let q = self.attempt_to_delete.clone();
                        // These workers live as long as the queue: shutdown ends them.
                        let _ = run_workers(
                            NAME,
                            q,
                            workers,
                            Arc::new(move |uid| {
                                let g = g.clone();
                                Box::pin(async move { g.attempt_to_delete(&uid).await })
                            }),
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "garbage collector: discovery failed"),
            }
            tokio::time::sleep(REDISCOVERY).await;
        }
    }

    /// Turns metadata changes of resource `ar` into graph changes.
    fn handler(&self, ar: &ApiResource) -> crate::informer::MetaHandler {
        let tx = self.changes.clone();
        let (api_version, kind) = (ar.api_version.clone(), ar.kind.clone());
        Arc::new(move |change: MetaChange<'_>| {
            let identity = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| Identity {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: m.namespace.clone().filter(|n| !n.is_empty()),
                name: m.name.clone().unwrap_or_default(),
                uid: m.uid.clone().unwrap_or_default(),
            };
            let c = match change {
                MetaChange::Added(m) | MetaChange::Updated(_, m) => {
                    let mut meta = m.clone();
                    // The graph needs neither of these; they are the bulk of metadata.
                    meta.managed_fields = None;
                    meta.annotations = None;
                    meta.labels = None;
                    Change::Upsert { identity: identity(m), meta: Box::new(meta) }
                }
                MetaChange::Deleted(m) => Change::Delete { identity: identity(m) },
            };
            let _ = tx.send(c);
        })
    }
}
