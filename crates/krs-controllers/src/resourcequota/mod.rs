//! The resource quota controller (upstream's `pkg/controller/resourcequota`): keeps each
//! ResourceQuota's `status.hard` equal to its `spec.hard` and `status.used` equal to what the
//! namespace's objects use of every resource the quota limits, measured by the evaluators of
//! `pkg/quota/v1/evaluator/core` (pods, services, claims) and by object counts.
//!
//! A quota is recalculated when its `spec.hard` changes, when an object it may count is added
//! or deleted or changes its usage, and every `--resource-quota-sync-period`. Quotas whose
//! status lacks some of their limits go through a second queue, so a new quota gets its first
//! status while the main queue is busy. Kinds counted through `count/<resource>.<group>` other
//! than pods, services and claims are watched from the first quota that names them.
//!
//! An added object also triggers a recalculation (upstream leaves that to the charge its quota
//! admission made at creation): the charge is then confirmed by a count within moments.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, LimitRange, PersistentVolumeClaim, Pod, PodTemplate, ReplicationController, ResourceQuota,
    ResourceQuotaStatus, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Resource;
use kube::api::{Api, PostParams};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::controller_utils::pod::is_not_found;
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer, SharedInformerFactory, key_of, namespace_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;
use krs_apimachinery::quota::evaluators::{
    claim_matching_resources, claim_usage, matches_no_scope, object_count_matching_resources, object_count_target,
    service_matching_resources, service_usage, usage_stats,
};
use krs_apimachinery::quota::resources::{ResourceList, count, equals, mask, parse_list, semantic_equal, to_wire};
use krs_apimachinery::quota::{pods, requirements, resources};

const NAME: &str = "resourcequota-controller";

/// How long a sync waits for the first list of a kind it has just started watching before it
/// keeps that kind's previous usage and retries later.
const COUNT_SYNC_WAIT: Duration = Duration::from_secs(5);

/// A kind whose objects quotas are charged for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tracked {
    Pods,
    Services,
    Claims,
    /// Counted as objects: (group, resource).
    Objects(String, String),
}

impl Tracked {
    /// The quota resources among `names` this kind is charged for (`MatchingResources`).
    fn matching<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        match self {
            Tracked::Pods => pods::matching_resources(names),
            Tracked::Services => service_matching_resources(names),
            Tracked::Claims => claim_matching_resources(names),
            Tracked::Objects(g, r) => object_count_matching_resources(g, r, names),
        }
    }
}

/// The objects of one kind counted per namespace, whatever their type.
trait ObjectCounter: Send + Sync {
    fn count(&self, namespace: &str) -> usize;
    fn has_synced(&self) -> bool;
    fn wait_synced(&self) -> BoxFuture<'_, ()>;
}

impl<K> ObjectCounter for Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static,
{
    fn count(&self, namespace: &str) -> usize {
        self.list_namespace(namespace).len()
    }
    fn has_synced(&self) -> bool {
        Informer::has_synced(self)
    }
    fn wait_synced(&self) -> BoxFuture<'_, ()> {
        Box::pin(Informer::wait_synced(self))
    }
}

/// A counted kind: (group, resource).
type GroupResource = (String, String);

struct Controller {
    client: kube::Client,
    factory: Arc<SharedInformerFactory>,
    quotas: Arc<Informer<ResourceQuota>>,
    pods: Arc<Informer<Pod>>,
    services: Arc<Informer<Service>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
    /// Object counters by (group, resource), created on first use; `None` for a kind this
    /// controller cannot count (not a namespaced built-in kind).
    counters: Mutex<BTreeMap<GroupResource, Option<Arc<dyn ObjectCounter>>>>,
    /// Full recalculations.
    queue: WorkQueue,
    /// Quotas whose status lacks some of their limits (upstream's missingUsageQueue).
    missing_usage: WorkQueue,
    me: Weak<Controller>,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("resourcequota_primary");
    let missing_usage = WorkQueue::new("resourcequota_priority");
    let c = Arc::new_cyclic(|me| Controller {
        client: ctx.client.clone(),
        factory: ctx.factory.clone(),
        quotas: ctx.factory.informer::<ResourceQuota>(),
        pods: ctx.factory.informer::<Pod>(),
        services: ctx.factory.informer::<Service>(),
        claims: ctx.factory.informer::<PersistentVolumeClaim>(),
        counters: Mutex::new(BTreeMap::new()),
        queue: queue.clone(),
        missing_usage: missing_usage.clone(),
        me: me.clone(),
    });
    let quota_counter: Arc<dyn ObjectCounter> = c.quotas.clone();
    c.counters.lock().insert((String::new(), "resourcequotas".into()), Some(quota_counter));
    {
        let weak = Arc::downgrade(&c);
        c.quotas.add_handler(move |e| {
            let Some(c) = weak.upgrade() else { return };
            let counted = Tracked::Objects(String::new(), "resourcequotas".into());
            match e {
                Event::Added(q) => {
                    c.add_quota(q);
                    c.replenish(&counted, &namespace_of(q.as_ref()));
                }
                // Status updates are this controller's own; only a new intent needs a sync.
                Event::Updated { old, new } => {
                    let hard = |q: &ResourceQuota| q.spec.as_ref().and_then(|s| s.hard.clone());
                    if !semantic_equal(hard(old).as_ref(), hard(new).as_ref()) {
                        c.add_quota(new);
                    }
                }
                Event::Deleted(q) => c.replenish(&counted, &namespace_of(q.as_ref())),
            }
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_change(&Tracked::Pods, e, |old, new| {
                    let now = Timestamp::now();
                    !equals(&pods::usage(old, now), &pods::usage(new, now)) || pod_scopes(old) != pod_scopes(new)
                });
            }
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.services.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_change(&Tracked::Services, e, |old, new| !equals(&service_usage(old), &service_usage(new)));
            }
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.claims.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_change(&Tracked::Claims, e, |old, new| !equals(&claim_usage(old), &claim_usage(new)));
            }
        });
    }
    let workers = ctx.options.concurrent_resource_quota_syncs;
    let period = ctx.options.resource_quota_sync_period;
    Started {
        queues: vec![queue.clone(), missing_usage.clone()],
        run: Box::new(move || {
            let sync: crate::controller_utils::SyncFn = {
                let c = c.clone();
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                })
            };
            let mut tasks = run_workers(NAME, queue, workers, sync.clone());
            tasks.extend(run_workers(NAME, missing_usage, workers, sync));
            tasks.push(tokio::spawn(async move {
                // Upstream's enqueueAll: a full recalculation of every quota, catching what no
                // event announces (a pod whose deletion grace ran out on a lost node).
                let mut tick = tokio::time::interval(period.max(Duration::from_secs(1)));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    for q in c.quotas.list() {
                        c.queue.add(key_of(q.as_ref()));
                    }
                }
            }));
            tasks
        }),
    }
}

/// What decides which scoped quotas a pod counts for, and until when it is charged.
fn pod_scopes(pod: &Pod) -> (Option<Timestamp>, bool, bool, bool, Option<&str>) {
    (
        pods::charge_ends_at(pod),
        pods::is_terminating(pod),
        pods::is_best_effort(pod),
        pods::uses_cross_namespace_pod_affinity(pod),
        pod.spec.as_ref().and_then(|s| s.priority_class_name.as_deref()),
    )
}

fn hard_names(quota: &ResourceQuota) -> BTreeSet<String> {
    quota.spec.as_ref().and_then(|s| s.hard.as_ref()).into_iter().flatten().map(|(k, _)| k.clone()).collect()
}

/// What a recalculation measured.
#[derive(Default)]
struct Measured {
    used: ResourceList,
    /// Why some resources could not be measured (their previous usage is kept).
    errors: Vec<String>,
    /// When a counted pod stops being charged without any event (its deletion grace ends).
    recheck: Option<Timestamp>,
}

impl Controller {
    /// Queues a quota, first if its status lacks a limit or a usage this controller measures
    /// (upstream's addQuota).
    fn add_quota(&self, q: &ResourceQuota) {
        let key = key_of(q);
        let status = q.status.clone().unwrap_or_default();
        if !semantic_equal(q.spec.as_ref().and_then(|s| s.hard.as_ref()), status.hard.as_ref()) {
            self.missing_usage.add(key);
            return;
        }
        let used = status.used.unwrap_or_default();
        let missing =
            status.hard.iter().flatten().any(|(name, _)| {
                !used.contains_key(name) && self.measurable(std::slice::from_ref(name)).next().is_some()
            });
        if missing { self.missing_usage.add(key) } else { self.queue.add(key) }
    }

    /// The kinds that are charged for some of `names`, with the names they match.
    fn measurable<'a>(&self, names: &'a [String]) -> impl Iterator<Item = (Tracked, BTreeSet<String>)> + 'a {
        let mut kinds = vec![Tracked::Pods, Tracked::Services, Tracked::Claims];
        let counted: BTreeSet<GroupResource> = names.iter().filter_map(|n| object_count_target(n)).collect();
        kinds.extend(counted.into_iter().map(|(g, r)| Tracked::Objects(g, r)));
        kinds.into_iter().filter_map(move |k| {
            let m = k.matching(names);
            (!m.is_empty()).then_some((k, m))
        })
    }

    /// Feeds an event of a tracked kind: additions and deletions always, updates when
    /// `changed` says the object's usage or scopes changed.
    fn on_change<K: Resource>(&self, kind: &Tracked, e: &Event<K>, changed: impl Fn(&K, &K) -> bool) {
        match e {
            Event::Added(o) | Event::Deleted(o) => self.replenish(kind, &namespace_of(o.as_ref())),
            Event::Updated { old, new } => {
                let ns = namespace_of(new.as_ref());
                // Most updates (pod status) happen in namespaces without quotas: skip the usage
                // comparison there.
                if !self.quotas.list_namespace(&ns).is_empty() && changed(old, new) {
                    self.replenish(kind, &ns);
                }
            }
        }
    }

    /// Queues the quotas of `namespace` that limit something `kind` is charged for
    /// (upstream's replenishQuota).
    fn replenish(&self, kind: &Tracked, namespace: &str) {
        for q in self.quotas.list_namespace(namespace) {
            let status_hard = q.status.as_ref().and_then(|s| s.hard.as_ref());
            let mut names = hard_names(&q);
            names.extend(status_hard.into_iter().flatten().map(|(k, _)| k.clone()));
            if !kind.matching(&names).is_empty() {
                self.queue.add(key_of(q.as_ref()));
            }
        }
    }

    /// The counter of (group, resource), watching the kind from now on if it was not yet.
    fn counter(&self, group: &str, resource: &str) -> Option<Arc<dyn ObjectCounter>> {
        let key = (group.to_string(), resource.to_string());
        if let Some(known) = self.counters.lock().get(&key) {
            return known.clone();
        }
        let counter = self.watch_kind(group, resource);
        if counter.is_some() {
            self.factory.start();
        } else {
            tracing::info!(group, resource, "resource quota cannot count this resource");
        }
        self.counters.lock().entry(key).or_insert(counter).clone()
    }

    /// The namespaced built-in kinds a quota can count as `count/<resource>.<group>`.
    fn watch_kind(&self, group: &str, resource: &str) -> Option<Arc<dyn ObjectCounter>> {
        Some(match (group, resource) {
            ("", "configmaps") => self.track::<ConfigMap>(group, resource),
            ("", "secrets") => self.track::<Secret>(group, resource),
            ("", "replicationcontrollers") => self.track::<ReplicationController>(group, resource),
            ("", "serviceaccounts") => self.track::<ServiceAccount>(group, resource),
            ("", "endpoints") => self.track::<Endpoints>(group, resource),
            ("", "limitranges") => self.track::<LimitRange>(group, resource),
            ("", "podtemplates") => self.track::<PodTemplate>(group, resource),
            ("apps", "deployments") => self.track::<Deployment>(group, resource),
            ("apps", "replicasets") => self.track::<ReplicaSet>(group, resource),
            ("apps", "statefulsets") => self.track::<StatefulSet>(group, resource),
            ("apps", "daemonsets") => self.track::<DaemonSet>(group, resource),
            ("apps", "controllerrevisions") => self.track::<ControllerRevision>(group, resource),
            ("batch", "jobs") => self.track::<Job>(group, resource),
            ("batch", "cronjobs") => self.track::<CronJob>(group, resource),
            ("policy", "poddisruptionbudgets") => self.track::<PodDisruptionBudget>(group, resource),
            ("autoscaling", "horizontalpodautoscalers") => self.track::<HorizontalPodAutoscaler>(group, resource),
            ("networking.k8s.io", "networkpolicies") => self.track::<NetworkPolicy>(group, resource),
            ("networking.k8s.io", "ingresses") => self.track::<Ingress>(group, resource),
            ("discovery.k8s.io", "endpointslices") => self.track::<EndpointSlice>(group, resource),
            ("coordination.k8s.io", "leases") => self.track::<Lease>(group, resource),
            ("rbac.authorization.k8s.io", "roles") => self.track::<Role>(group, resource),
            ("rbac.authorization.k8s.io", "rolebindings") => self.track::<RoleBinding>(group, resource),
            _ => return None,
        })
    }

    fn track<K>(&self, group: &str, resource: &str) -> Arc<dyn ObjectCounter>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let informer = self.factory.informer::<K>();
        let kind = Tracked::Objects(group.to_string(), resource.to_string());
        let weak = self.me.clone();
        informer.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_change(&kind, e, |_, _| false);
            }
        });
        informer
    }

    /// Measures every resource `quota` limits that some evaluator can measure
    /// (upstream's CalculateUsage).
    async fn measure(&self, quota: &ResourceQuota) -> Measured {
        let ns = namespace_of(quota);
        let names: Vec<String> = hard_names(quota).into_iter().collect();
        let reqs = requirements(quota);
        let now = Timestamp::now();
        let mut out = Measured::default();
        for (kind, matched) in self.measurable(&names).collect::<Vec<_>>() {
            let used = match &kind {
                Tracked::Pods => {
                    let list = self.pods.list_namespace(&ns);
                    out.recheck = list
                        .iter()
                        .filter(|p| pods::is_charged(p, now))
                        .filter_map(|p| pods::charge_ends_at(p))
                        .chain(out.recheck)
                        .min();
                    usage_stats(list, &matched, &reqs, |r, p| pods::matches_scope(p, r), |p| pods::usage(p, now))
                }
                Tracked::Services => {
                    usage_stats(self.services.list_namespace(&ns), &matched, &reqs, matches_no_scope, |s| {
                        service_usage(s)
                    })
                }
                Tracked::Claims => {
                    usage_stats(self.claims.list_namespace(&ns), &matched, &reqs, matches_no_scope, |c| claim_usage(c))
                }
                Tracked::Objects(group, resource) => {
                    let Some(counter) = self.counter(group, resource) else { continue };
                    if !counter.has_synced()
                        && tokio::time::timeout(COUNT_SYNC_WAIT, counter.wait_synced()).await.is_err()
                    {
                        out.errors.push(format!("{resource}.{group} not yet listed"));
                        continue;
                    }
                    // A scoped quota counts no plain objects (MatchesNoScopeFunc).
                    let n = if reqs.is_empty() { counter.count(&ns) } else { 0 };
                    matched.iter().map(|name| (name.clone(), count(n as i64))).collect()
                }
            };
            resources::add(&mut out.used, &mask(used, &matched));
        }
        out
    }

    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(quota) = self.quotas.get(ns, name) else { return Ok(()) };
        let spec_hard = quota.spec.as_ref().and_then(|s| s.hard.clone()).unwrap_or_default();
        let status = quota.status.clone().unwrap_or_default();
        let measured = self.measure(&quota).await;

        // Usage that could not be measured keeps its last observation.
        let mut used = parse_list(status.used.as_ref());
        used.extend(measured.used);
        let used = mask(used, &hard_names(&quota));
        let dirty = status.hard.is_none()
            || status.used.is_none()
            || !semantic_equal(Some(&spec_hard), status.hard.as_ref())
            || !equals(&used, &parse_list(status.used.as_ref()));
        if dirty {
            let mut updated = (*quota).clone();
            updated.status = Some(ResourceQuotaStatus { hard: Some(spec_hard), used: Some(to_wire(&used)) });
            let api: Api<ResourceQuota> = Api::namespaced(self.client.clone(), ns.unwrap_or_default());
            match api.replace_status(name, &PostParams::default(), &updated).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(at) = measured.recheck {
            let wait = at.duration_since(Timestamp::now()).unsigned_abs() + Duration::from_secs(1);
            self.queue.add_after(key.to_string(), wait);
        }
        if measured.errors.is_empty() { Ok(()) } else { Err(Error::Invalid(measured.errors.join("; "))) }
    }
}
