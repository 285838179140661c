//! The ReplicaSet and ReplicationController controller: keeps `replicas` active pods matching
//! the selector, creating in slow-start batches (at most 500 per sync) and deleting in
//! upstream's scale-down order, with expectations so a lagging cache never double-acts.

mod kinds;
mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use kinds::ReplicatedKind;

use crate::Error;
use crate::controller_utils::pod::{controller_ref, get_controller_of, is_pod_active, is_pod_ready};
use crate::controller_utils::ranking::sort_for_deletion;
use crate::controller_utils::{
    Expectations, PodControl, SLOW_START_INITIAL_BATCH_SIZE, now, run_workers, selector_matches, slow_start_batch,
};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

/// Upstream's BurstReplicas: the most pods one sync creates or deletes.
pub const BURST_REPLICAS: usize = 500;

pub(crate) struct Controller<K: ReplicatedKind> {
    pub(crate) sets: Arc<Informer<K>>,
    pub(crate) pods: Arc<Informer<Pod>>,
    pub(crate) expectations: Arc<Expectations>,
    pub(crate) pod_control: PodControl,
    pub(crate) queue: WorkQueue,
    pub(crate) client: kube::Client,
}

pub(crate) fn start_replicasets(ctx: &Ctx) -> Started {
    start::<ReplicaSet>(ctx, ctx.options.concurrent_replicaset_syncs)
}

pub(crate) fn start_replication_controllers(ctx: &Ctx) -> Started {
    start::<ReplicationController>(ctx, ctx.options.concurrent_rc_syncs)
}

fn start<K: ReplicatedKind>(ctx: &Ctx, workers: usize) -> Started {
    let queue = WorkQueue::new(K::QUEUE);
    let c = Arc::new(Controller::<K> {
        sets: ctx.factory.informer::<K>(),
        pods: ctx.factory.informer::<Pod>(),
        expectations: Arc::new(Expectations::default()),
        pod_control: PodControl { client: ctx.client.clone(), recorder: ctx.events.recorder(K::CONTROLLER) },
        queue: queue.clone(),
        client: ctx.client.clone(),
    });
    {
        let q = queue.clone();
        c.sets.add_handler(move |e| match e {
            Event::Added(s) | Event::Deleted(s) => q.add(key_of(s.as_ref())),
            Event::Updated { new, .. } => q.add(key_of(new.as_ref())),
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_pod_event(e);
            }
        });
    }
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                K::CONTROLLER,
                queue,
                workers,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                }),
            )
        }),
    }
}

impl<K: ReplicatedKind> Controller<K> {
    /// The set controlling `pod` per its controller reference, if it is one of ours.
    fn resolve_controller(&self, pod: &Pod) -> Option<Arc<K>> {
        let r = get_controller_of(&pod.metadata)?;
        if r.kind != K::KIND {
            return None;
        }
        let set = self.sets.get(pod.metadata.namespace.as_deref(), &r.name)?;
        (set.meta().uid.as_deref() == Some(r.uid.as_str())).then_some(set)
    }

    /// The sets whose selector matches an orphan `pod` (candidates to adopt it).
    fn sets_selecting(&self, pod: &Pod) -> Vec<Arc<K>> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.sets
            .list_namespace(ns)
            .into_iter()
            .filter(|s| s.selector().is_some_and(|sel| selector_matches(&sel, pod.metadata.labels.as_ref())))
            .collect()
    }

    fn on_pod_event(&self, e: &Event<Pod>) {
        match e {
            Event::Added(pod) => {
                if pod.metadata.deletion_timestamp.is_some() {
                    // Seen first while being deleted (after a relist): count it as deleted.
                    return self.on_pod_deleted(pod);
                }
                if let Some(set) = self.resolve_controller(pod) {
                    let key = key_of(set.as_ref());
                    self.expectations.creation_observed(&key);
                    self.queue.add(key);
                    return;
                }
                if get_controller_of(&pod.metadata).is_none() {
                    for s in self.sets_selecting(pod) {
                        self.queue.add(key_of(s.as_ref()));
                    }
                }
            }
            Event::Updated { old, new } => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return;
                }
                let labels_changed = old.metadata.labels != new.metadata.labels;
                if new.metadata.deletion_timestamp.is_some() {
                    // Graceful deletion started: the controller may replace the pod now, without
                    // waiting for it to go away.
                    self.on_pod_deleted(new);
                    if labels_changed {
                        self.on_pod_deleted(old);
                    }
                    return;
                }
                let old_ref = get_controller_of(&old.metadata);
                let new_ref = get_controller_of(&new.metadata);
                if old_ref != new_ref
                    && let Some(set) = self.resolve_controller(old)
                {
                    self.queue.add(key_of(set.as_ref()));
                }
                if let Some(set) = self.resolve_controller(new) {
                    let key = key_of(set.as_ref());
                    let min_ready = set.min_ready_seconds();
                    if min_ready > 0 && !is_pod_ready(old) && is_pod_ready(new) {
                        // Available only after minReadySeconds: look again then.
                        self.queue
                            .add_after(key.clone(), Duration::from_secs(u64::try_from(min_ready).unwrap_or(0) + 1));
                    }
                    self.queue.add(key);
                    return;
                }
                if (labels_changed || old_ref != new_ref) && new_ref.is_none() {
                    for s in self.sets_selecting(new) {
                        self.queue.add(key_of(s.as_ref()));
                    }
                }
            }
            Event::Deleted(pod) => self.on_pod_deleted(pod),
        }
    }

    fn on_pod_deleted(&self, pod: &Pod) {
        if let Some(set) = self.resolve_controller(pod) {
            let key = key_of(set.as_ref());
            self.expectations.deletion_observed(&key, &key_of(pod));
            self.queue.add(key);
        }
    }

    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        let Some(set) = self.sets.get(Some(ns), name) else {
            self.expectations.delete(key);
            return Ok(());
        };
        let needs_sync = self.expectations.satisfied(key);
        let Some(selector) = set.selector() else {
            return Err(Error::Invalid(format!("{} {key} has an invalid selector", K::KIND)));
        };
        let all: Vec<Arc<Pod>> = self.pods.list_namespace(ns);
        let active: Vec<Arc<Pod>> = all.iter().filter(|p| is_pod_active(p)).cloned().collect();
        let owned = self.claim_pods(&set, &selector, active).await?;

        let mut manage_err = None;
        if needs_sync && set.meta().deletion_timestamp.is_none() {
            manage_err = self.manage_replicas(key, &owned, &set).await.err();
        }
        let status = status::calculate(set.as_ref(), &owned, &all, manage_err.as_ref());
        let updated = status::update(&self.client, set.as_ref(), &status).await?;
        let min_ready = set.min_ready_seconds();
        if manage_err.is_none()
            && min_ready > 0
            && updated.ready_replicas == set.replicas()
            && updated.available_replicas != set.replicas()
        {
            self.queue.add_after(key.to_string(), Duration::from_secs(u64::try_from(min_ready).unwrap_or(0)));
        }
        match manage_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Adopts orphans the selector matches and releases owned pods it no longer matches
    /// (upstream's ClaimPods); returns the pods this set controls.
    async fn claim_pods(&self, set: &K, selector: &LabelSelector, pods: Vec<Arc<Pod>>) -> Result<Vec<Arc<Pod>>, Error> {
        let uid = set.meta().uid.clone().unwrap_or_default();
        let deleting = set.meta().deletion_timestamp.is_some();
        let mut owned = Vec::with_capacity(pods.len());
        for pod in pods {
            let matches = selector_matches(selector, pod.metadata.labels.as_ref());
            match get_controller_of(&pod.metadata) {
                Some(r) if r.uid == uid => {
                    if matches {
                        owned.push(pod);
                    } else if !deleting {
                        self.pod_control.release(&pod, &uid).await?;
                    }
                }
                Some(_) => {}
                None => {
                    if matches && !deleting && pod.metadata.deletion_timestamp.is_none() {
                        self.pod_control.adopt(&pod, &controller_ref(set)).await?;
                        owned.push(pod);
                    }
                }
            }
        }
        Ok(owned)
    }

    /// Pods of sets sharing this set's controller (a Deployment's other ReplicaSets): a pod
    /// on a node crowded with its siblings is removed first.
    fn related_pods(&self, set: &K, owned: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
        let Some(owner) = get_controller_of(set.meta()) else { return owned.to_vec() };
        let ns = set.meta().namespace.as_deref().unwrap_or_default();
        let siblings: Vec<String> = self
            .sets
            .list_namespace(ns)
            .into_iter()
            .filter(|s| get_controller_of(s.meta()).is_some_and(|r| r.uid == owner.uid))
            .filter_map(|s| s.meta().uid.clone())
            .collect();
        self.pods
            .list_namespace(ns)
            .into_iter()
            .filter(|p| get_controller_of(&p.metadata).is_some_and(|r| siblings.contains(&r.uid)))
            .collect()
    }

    async fn manage_replicas(&self, key: &str, owned: &[Arc<Pod>], set: &K) -> Result<(), Error> {
        let want = usize::try_from(set.replicas().max(0)).unwrap_or(0);
        let ns = set.meta().namespace.clone().unwrap_or_default();
        if owned.len() < want {
            let diff = (want - owned.len()).min(BURST_REPLICAS);
            let Some(template) = set.template() else {
                return Err(Error::Invalid(format!("{} {key} has no pod template", K::KIND)));
            };
            let name = set.meta().name.clone().unwrap_or_default();
            let pod = PodControl::pod_from_template(template, &name, Some(controller_ref(set)));
            // Expect every creation before issuing any, so events for pods created in this
            // sync cannot be counted before they are expected.
            self.expectations.expect_creations(key, diff);
            let (ok, err) = slow_start_batch(diff, SLOW_START_INITIAL_BATCH_SIZE, |_| {
                let pod = &pod;
                let ns = &ns;
                async move {
                    match self.pod_control.create(ns, pod, set).await {
                        Ok(_) => Ok(()),
                        // Refused because the namespace is going away: not worth a retry.
                        Err(Error::Kube(e)) if crate::controller_utils::pod::is_namespace_terminating_error(&e) => {
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
            })
            .await;
            // Creations that failed or were never attempted will not be observed.
            let skipped = diff - ok;
            if skipped > 0 {
                self.expectations.lower(key, skipped as i64, 0);
            }
            return match err {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        if owned.len() > want {
            let diff = (owned.len() - want).min(BURST_REPLICAS);
            let related = self.related_pods(set, owned);
            let victims = pods_to_delete(owned, &related, diff);
            let ns = &ns;
            let keys: Vec<String> = victims.iter().map(|p| key_of(p.as_ref())).collect();
            self.expectations.expect_deletions(key, keys);
            let results = futures::future::join_all(victims.iter().map(|p| async move {
                let name = p.metadata.name.as_deref().unwrap_or_default();
                let r = self.pod_control.delete(ns, name, p.metadata.uid.as_deref(), set).await;
                if r.is_err() {
                    // This deletion will not be observed.
                    self.expectations.deletion_observed(key, &key_of(p.as_ref()));
                }
                r
            }))
            .await;
            if let Some(e) = results.into_iter().find_map(Result::err) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The `diff` pods to remove first (upstream's getPodsToDelete).
pub fn pods_to_delete(owned: &[Arc<Pod>], related: &[Arc<Pod>], diff: usize) -> Vec<Arc<Pod>> {
    let mut on_node: HashMap<String, usize> = HashMap::new();
    for p in related.iter().filter(|p| is_pod_active(p)) {
        *on_node.entry(p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default()).or_default() += 1;
    }
    let mut ranked: Vec<(Arc<Pod>, usize)> = owned
        .iter()
        .map(|p| {
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
            (p.clone(), on_node.get(&node).copied().unwrap_or(0))
        })
        .collect();
    if diff < ranked.len() {
        sort_for_deletion(&mut ranked, now());
    }
    ranked.into_iter().take(diff).map(|(p, _)| p).collect()
}
