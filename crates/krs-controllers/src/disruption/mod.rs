//! The disruption controller: the status of each PodDisruptionBudget (currentHealthy,
//! desiredHealthy, expectedPods, disruptionsAllowed, the DisruptionAllowed condition), with
//! expected pods from the scale of the pods' controllers when the budget is a percentage or
//! maxUnavailable. Evictions recorded in status.disruptedPods count as unhealthy for two
//! minutes. (unhealthyPodEvictionPolicy is applied by the eviction subresource.)

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::Error;
use crate::controller_utils::pod::{get_controller_of, is_not_found, is_pod_ready};
use crate::controller_utils::{run_workers, selector_matches};
use crate::deployment::util::scaled_value;
use crate::events::{EventRecorder, WARNING};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "disruption-controller";
/// How long an eviction counts as a disruption before the pod must be gone (DeletionTimeout).
const DELETION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

struct Controller {
    pdbs: Arc<Informer<PodDisruptionBudget>>,
    pods: Arc<Informer<Pod>>,
    replicasets: Arc<Informer<ReplicaSet>>,
    deployments: Arc<Informer<Deployment>>,
    rcs: Arc<Informer<ReplicationController>>,
    statefulsets: Arc<Informer<StatefulSet>>,
    client: kube::Client,
    recorder: EventRecorder,
    queue: WorkQueue,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("disruption");
    let c = Arc::new(Controller {
        pdbs: ctx.factory.informer::<PodDisruptionBudget>(),
        pods: ctx.factory.informer::<Pod>(),
        replicasets: ctx.factory.informer::<ReplicaSet>(),
        deployments: ctx.factory.informer::<Deployment>(),
        rcs: ctx.factory.informer::<ReplicationController>(),
        statefulsets: ctx.factory.informer::<StatefulSet>(),
        client: ctx.client.clone(),
        recorder: ctx.events.recorder(NAME),
        queue: queue.clone(),
    });
    {
        let q = queue.clone();
        c.pdbs.add_handler(move |e| match e {
            Event::Added(p) | Event::Updated { new: p, .. } => q.add(key_of(p.as_ref())),
            Event::Deleted(_) => {}
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            let Some(c) = weak.upgrade() else { return };
            let pod = match e {
                Event::Added(p) | Event::Deleted(p) | Event::Updated { new: p, .. } => p,
            };
            c.enqueue_for_pod(pod);
            if let Event::Updated { old, new } = e
                && old.metadata.labels != new.metadata.labels
            {
                c.enqueue_for_pod(old);
            }
        });
    }
    // A controller's scale changes the expected pod count of budgets over its pods.
    macro_rules! on_scale {
        ($informer:expr) => {{
            let weak = Arc::downgrade(&c);
            $informer.add_handler(move |e| {
                if let (Some(c), Event::Updated { new, .. }) = (weak.upgrade(), e) {
                    let ns = new.metadata.namespace.clone().unwrap_or_default();
                    for p in c.pdbs.list_namespace(&ns) {
                        c.queue.add(key_of(p.as_ref()));
                    }
                }
            });
        }};
    }
    on_scale!(c.replicasets);
    on_scale!(c.deployments);
    on_scale!(c.rcs);
    on_scale!(c.statefulsets);
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                NAME,
                queue,
                1,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                }),
            )
        }),
    }
}

impl Controller {
    fn enqueue_for_pod(&self, pod: &Pod) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        for p in self.pdbs.list_namespace(ns) {
            if p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| selector_matches(sel, pod.metadata.labels.as_ref()))
            {
                self.queue.add(key_of(p.as_ref()));
            }
        }
    }

    /// The scale of the controller managing `pod`: (controller UID, replicas).
    fn controller_scale(&self, pod: &Pod) -> Result<Option<(String, i32)>, String> {
        let Some(r) = get_controller_of(&pod.metadata) else { return Ok(None) };
        let ns = pod.metadata.namespace.as_deref();
        let found = match r.kind.as_str() {
            "ReplicaSet" => self
                .replicasets
                .get(ns, &r.name)
                .filter(|rs| rs.metadata.uid.as_deref() == Some(r.uid.as_str()))
                .map(|rs| {
                    // A Deployment's ReplicaSets share the Deployment's scale.
                    match get_controller_of(&rs.metadata).filter(|o| o.kind == "Deployment").and_then(|o| {
                        self.deployments.get(ns, &o.name).filter(|d| d.metadata.uid.as_deref() == Some(o.uid.as_str()))
                    }) {
                        Some(d) => (o_uid(&d.metadata.uid), d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                        None => (r.uid.clone(), rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                    }
                }),
            "ReplicationController" => self
                .rcs
                .get(ns, &r.name)
                .filter(|rc| rc.metadata.uid.as_deref() == Some(r.uid.as_str()))
                .map(|rc| (r.uid.clone(), rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1))),
            "StatefulSet" => self
                .statefulsets
                .get(ns, &r.name)
                .filter(|s| s.metadata.uid.as_deref() == Some(r.uid.as_str()))
                .map(|s| (r.uid.clone(), s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1))),
            other => {
                return Err(format!(
                    "found no controllers for pod {:?} ({other} {})",
                    pod.metadata.name.clone().unwrap_or_default(),
                    r.name
                ));
            }
        };
        found
            .map(Some)
            .ok_or_else(|| format!("found no controllers for pod {:?}", pod.metadata.name.clone().unwrap_or_default()))
    }

    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(pdb) = self.pdbs.get(ns, name) else { return Ok(()) };
        let pdb = (*pdb).clone();
        let spec = pdb.spec.clone().unwrap_or_default();
        let ns = ns.unwrap_or("default");
        let pods: Vec<Arc<Pod>> = match &spec.selector {
            Some(sel) => self
                .pods
                .list_namespace(ns)
                .into_iter()
                .filter(|p| selector_matches(sel, p.metadata.labels.as_ref()))
                .collect(),
            None => Vec::new(),
        };
        let now = Timestamp::now();
        match self.expected(&pdb, &pods) {
            Ok((expected, desired, unmanaged)) => {
                if unmanaged > 0 {
                    let selector = serde_json::to_string(&spec.selector).unwrap_or_default();
                    self.recorder.event(&pdb, WARNING, "UnmanagedPods", format!("Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."));
                }
                let (disrupted, recheck) = self.disrupted(&pdb, &pods, now);
                let healthy = pods
                    .iter()
                    .filter(|p| {
                        p.metadata.deletion_timestamp.is_none()
                            && is_pod_ready(p)
                            && !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or_default())
                    })
                    .count() as i32;
                let mut allowed = healthy - desired;
                if expected <= 0 || allowed <= 0 {
                    allowed = 0;
                }
                let (status, reason) =
                    if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
                self.write(
                    &pdb,
                    json!({
                        "currentHealthy": healthy,
                        "desiredHealthy": desired,
                        "expectedPods": expected,
                        "disruptionsAllowed": allowed,
                        "disruptedPods": disrupted,
                        "observedGeneration": pdb.metadata.generation,
                    }),
                    status,
                    reason,
                    "",
                    now,
                )
                .await?;
                if let Some(after) = recheck {
                    self.queue.add_after(key.to_string(), after);
                }
                Ok(())
            }
            Err(msg) => {
                self.recorder.event(
                    &pdb,
                    WARNING,
                    "CalculateExpectedPodCountFailed",
                    format!("Failed to calculate the number of expected pods: {msg}"),
                );
                self.write(
                    &pdb,
                    json!({"disruptionsAllowed": 0, "observedGeneration": pdb.metadata.generation}),
                    "False",
                    "SyncFailed",
                    &msg,
                    now,
                )
                .await?;
                Err(Error::Invalid(msg))
            }
        }
    }

    /// (expectedPods, desiredHealthy, unmanaged pods) as upstream's getExpectedPodCount.
    fn expected(&self, pdb: &PodDisruptionBudget, pods: &[Arc<Pod>]) -> Result<(i32, i32, usize), String> {
        let spec = pdb.spec.clone().unwrap_or_default();
        let scale = || -> Result<(i32, usize), String> {
            let mut controllers: HashMap<String, i32> = HashMap::new();
            let mut unmanaged = 0;
            for p in pods {
                match self.controller_scale(p)? {
                    Some((uid, n)) => {
                        controllers.insert(uid, n);
                    }
                    None => unmanaged += 1,
                }
            }
            Ok((controllers.values().sum(), unmanaged))
        };
        if let Some(mu) = &spec.max_unavailable {
            let (expected, unmanaged) = scale()?;
            let max = scaled_value(mu, expected, true);
            return Ok((expected, (expected - max).max(0), unmanaged));
        }
        match &spec.min_available {
            Some(IntOrString::Int(n)) => Ok((pods.len() as i32, *n, 0)),
            Some(pct @ IntOrString::String(_)) => {
                let (expected, unmanaged) = scale()?;
                Ok((expected, scaled_value(pct, expected, true), unmanaged))
            }
            None => Ok((pods.len() as i32, 0, 0)),
        }
    }

    /// Evicted pods still counted as disrupted, and when the earliest of them expires.
    fn disrupted(
        &self,
        pdb: &PodDisruptionBudget,
        pods: &[Arc<Pod>],
        now: Timestamp,
    ) -> (BTreeMap<String, Time>, Option<Duration>) {
        let mut out = BTreeMap::new();
        let mut recheck: Option<Duration> = None;
        for (pod_name, t) in pdb.status.as_ref().and_then(|s| s.disrupted_pods.clone()).unwrap_or_default() {
            let Some(pod) = pods.iter().find(|p| p.metadata.name.as_deref() == Some(pod_name.as_str())) else {
                continue;
            };
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let expires = t.0 + jiff::SignedDuration::try_from(DELETION_TIMEOUT).unwrap_or_default();
            if expires <= now {
                continue;
            }
            let left = Duration::try_from(expires.duration_since(now)).unwrap_or_default();
            recheck = Some(recheck.map_or(left, |r| r.min(left)));
            out.insert(pod_name, t);
        }
        (out, recheck)
    }

    async fn write(
        &self,
        pdb: &PodDisruptionBudget,
        mut status: serde_json::Value,
        cond: &str,
        reason: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let old = pdb.status.clone().unwrap_or_default();
        let old_cond = old.conditions.iter().flatten().find(|c| c.type_ == "DisruptionAllowed").cloned();
        let transition = match &old_cond {
            Some(c) if c.status == cond => c.last_transition_time.clone(),
            _ => Time(now),
        };
        if let Some(o) = status.as_object_mut() {
            o.insert(
                "conditions".into(),
                json!([{"type": "DisruptionAllowed", "status": cond, "reason": reason, "message": message,
                        "lastTransitionTime": transition, "observedGeneration": pdb.metadata.generation}]),
            );
        }
        let old_json = serde_json::to_value(&old).unwrap_or_default();
        let same = status.as_object().is_some_and(|o| {
            o.iter().all(|(k, v)| {
                let was = old_json.get(k).cloned().unwrap_or(json!(null));
                match k.as_str() {
                    "disruptedPods" => {
                        v.as_object().is_none_or(|m| m.is_empty()) && was.as_object().is_none_or(|m| m.is_empty())
                            || *v == was
                    }
                    "conditions" => old_cond
                        .as_ref()
                        .is_some_and(|c| c.status == cond && c.reason == reason && c.message == message),
                    _ => *v == was,
                }
            })
        });
        if same {
            return Ok(());
        }
        // A merge patch only removes map entries set to null: expired disruptions must be.
        if let Some(map) = status.get_mut("disruptedPods").and_then(|v| v.as_object_mut()) {
            for gone in old.disrupted_pods.iter().flatten().map(|(k, _)| k) {
                map.entry(gone.clone()).or_insert(serde_json::Value::Null);
            }
        }
        let api: Api<PodDisruptionBudget> =
            Api::namespaced(self.client.clone(), pdb.metadata.namespace.as_deref().unwrap_or("default"));
        match api
            .patch_status(
                pdb.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn o_uid(uid: &Option<String>) -> String {
    uid.clone().unwrap_or_default()
}
