//! The DaemonSet controller: one pod on every eligible node (node selector, node affinity,
//! taints and tolerations), targeted at its node through node affinity for the scheduler,
//! replaced by rolling update within maxUnavailable and maxSurge.

mod nodes;

pub use nodes::tolerates;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::Error;
use crate::controller_utils::pod::{controller_ref, get_controller_of, is_not_found, is_pod_available, phase};
use crate::controller_utils::{Expectations, PodControl, now, run_workers};
use crate::deployment::util::scaled_value;
use crate::events::{EventRecorder, WARNING};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;
use crate::statefulset::revision;

const NAME: &str = "daemonset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";
const GENERATION_LABEL: &str = "pod-template-generation";

struct Controller {
    sets: Arc<Informer<DaemonSet>>,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    revisions: Arc<Informer<ControllerRevision>>,
    client: kube::Client,
    expectations: Expectations,
    pod_control: PodControl,
    recorder: EventRecorder,
    queue: WorkQueue,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("daemonset");
    let recorder = ctx.events.recorder(NAME);
    let c = Arc::new(Controller {
        sets: ctx.factory.informer::<DaemonSet>(),
        pods: ctx.factory.informer::<Pod>(),
        nodes: ctx.factory.informer::<Node>(),
        revisions: ctx.factory.informer::<ControllerRevision>(),
        client: ctx.client.clone(),
        expectations: Expectations::default(),
        pod_control: PodControl { client: ctx.client.clone(), recorder: recorder.clone() },
        recorder,
        queue: queue.clone(),
    });
    {
        let q = queue.clone();
        c.sets.add_handler(move |e| match e {
            Event::Added(s) | Event::Deleted(s) | Event::Updated { new: s, .. } => q.add(key_of(s.as_ref())),
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            let Some(c) = weak.upgrade() else { return };
            let (pod, created, deleted) = match e {
                Event::Added(p) => {
                    (p, p.metadata.deletion_timestamp.is_none(), p.metadata.deletion_timestamp.is_some())
                }
                Event::Updated { old, new } => {
                    (new, false, old.metadata.deletion_timestamp.is_none() && new.metadata.deletion_timestamp.is_some())
                }
                Event::Deleted(p) => (p, false, true),
            };
            let Some(r) = get_controller_of(&pod.metadata).filter(|r| r.kind == "DaemonSet") else { return };
            let key = format!("{}/{}", pod.metadata.namespace.clone().unwrap_or_default(), r.name);
            if created {
                c.expectations.creation_observed(&key);
            }
            if deleted {
                c.expectations.deletion_observed(&key, &key_of(pod.as_ref()));
            }
            c.queue.add(key);
        });
    }
    {
        let q = queue.clone();
        let sets = c.sets.clone();
        c.nodes.add_handler(move |e| {
            if let Event::Updated { old, new } = e
                && old.metadata.labels == new.metadata.labels
                && old.spec.as_ref().map(|s| &s.taints) == new.spec.as_ref().map(|s| &s.taints)
            {
                return;
            }
            for s in sets.list() {
                q.add(key_of(s.as_ref()));
            }
        });
    }
    let workers = ctx.options.concurrent_daemonset_syncs;
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                NAME,
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

/// The node a daemon pod is for: where it is bound, else its node-affinity target.
fn target_node(pod: &Pod) -> Option<String> {
    if let Some(n) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
        return Some(n);
    }
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

/// Pins the pod to `node` through required node affinity on metadata.name, keeping the
/// template's label terms (ReplaceDaemonSetPodNodeNameNodeAffinity).
fn pin_to_node(pod: &mut Pod, node: &str) {
    let field =
        NodeSelectorRequirement { key: "metadata.name".into(), operator: "In".into(), values: Some(vec![node.into()]) };
    let spec = pod.spec.get_or_insert_with(Default::default);
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    let required = na.required_during_scheduling_ignored_during_execution.get_or_insert_with(NodeSelector::default);
    if required.node_selector_terms.is_empty() {
        required.node_selector_terms.push(NodeSelectorTerm::default());
    }
    for t in required.node_selector_terms.iter_mut() {
        t.match_fields = Some(vec![field.clone()]);
    }
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(ds) = self.sets.get(ns, name) else {
            self.expectations.delete(key);
            return Ok(());
        };
        let ds = (*ds).clone();
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let ns = ns.unwrap_or("default").to_string();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let spec = ds.spec.clone().unwrap_or_default();
        let template_spec = spec.template.spec.clone().unwrap_or_default();
        let revs: Vec<ControllerRevision> = self
            .revisions
            .list_namespace(&ns)
            .into_iter()
            .filter(|r| get_controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
            .map(|r| (*r).clone())
            .collect();
        let labels = spec.selector.match_labels.clone().unwrap_or_default();
        let (rev, revs) = revision::ensure(
            &self.client,
            &ns,
            revision::RevisionOwner { name, reference: controller_ref(&ds), labels },
            &spec.template,
            revs,
            None,
        )
        .await?;
        let hash = rev.metadata.labels.as_ref().and_then(|l| l.get(revision::HASH_LABEL)).cloned().unwrap_or_default();

        let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for p in self
            .pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| get_controller_of(&p.metadata).is_some_and(|r| r.uid == uid))
        {
            if let Some(n) = target_node(&p) {
                by_node.entry(n).or_default().push(p);
            }
        }
        let needs_sync = self.expectations.satisfied(key);
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let t = now();
        let is_new = |p: &Pod| p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)) == Some(&hash);
        let nodes = self.nodes.list();
        let mut create_on: Vec<String> = Vec::new();
        let mut delete: Vec<Arc<Pod>> = Vec::new();
        let mut desired = 0;
        let mut without_pod = 0usize;
        let (mut scheduled, mut misscheduled, mut ready, mut available, mut updated) = (0, 0, 0, 0, 0);
        // For the rolling update: per eligible node, its old and new live pods.
        let mut rollout: Vec<NodeRollout> = Vec::new();
        for node in &nodes {
            let node_name = node.metadata.name.clone().unwrap_or_default();
            let (run, keep) = nodes::should_run(&template_spec, node);
            let pods = by_node.remove(&node_name).unwrap_or_default();
            let live: Vec<Arc<Pod>> =
                pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).cloned().collect();
            if run {
                desired += 1;
            }
            if !run && !keep {
                misscheduled += usize::from(!live.is_empty());
                delete.extend(live);
                continue;
            }
            if !run && live.is_empty() {
                continue;
            }
            if !run {
                misscheduled += 1;
            }
            let (failed, healthy): (Vec<Arc<Pod>>, Vec<Arc<Pod>>) =
                live.into_iter().partition(|p| phase(p) == "Failed");
            for f in failed {
                let pn = f.metadata.name.clone().unwrap_or_default();
                self.recorder.event(
                    &ds,
                    WARNING,
                    "FailedDaemonPod",
                    format!("Found failed daemon pod {ns}/{pn} on node {node_name}, will try to kill it"),
                );
                delete.push(f);
            }
            if healthy.is_empty() {
                if run {
                    // Missing or still terminating: either way this node has no available pod.
                    without_pod += 1;
                    if !pods.iter().any(|p| p.metadata.deletion_timestamp.is_some()) {
                        create_on.push(node_name);
                    }
                }
                continue;
            }
            scheduled += 1;
            let new = healthy.iter().find(|p| is_new(p)).cloned();
            let old = healthy.iter().find(|p| !is_new(p)).cloned();
            // More than one pod of a revision: keep the oldest.
            let mut sorted = healthy.clone();
            sorted.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
            let mut seen_new = false;
            let mut seen_old = false;
            for p in sorted {
                let slot = if is_new(&p) { &mut seen_new } else { &mut seen_old };
                if *slot {
                    delete.push(p);
                } else {
                    *slot = true;
                }
            }
            let shown = new.clone().or(old.clone());
            if let Some(p) = &shown {
                ready += usize::from(crate::controller_utils::pod::is_pod_ready(p));
                available += usize::from(is_pod_available(p, min_ready, t));
            }
            updated += usize::from(new.is_some());
            rollout.push((node_name, old, new));
        }
        // Pods on nodes that no longer exist.
        for (_, pods) in by_node {
            delete.extend(pods.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()));
        }
        if spec.update_strategy.as_ref().and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate") == "RollingUpdate"
        {
            let ru = spec.update_strategy.as_ref().and_then(|s| s.rolling_update.clone()).unwrap_or_default();
            let max_surge =
                scaled_value(ru.max_surge.as_ref().unwrap_or(&IntOrString::Int(0)), desired, true).max(0) as usize;
            let mut max_unavailable =
                scaled_value(ru.max_unavailable.as_ref().unwrap_or(&IntOrString::Int(1)), desired, true).max(0)
                    as usize;
            if max_surge == 0 && max_unavailable == 0 {
                max_unavailable = 1;
            }
            let avail = |p: &Option<Arc<Pod>>| p.as_ref().is_some_and(|p| is_pod_available(p, min_ready, t));
            let mut unavailable = rollout.iter().filter(|(_, o, n)| !avail(n) && !avail(o)).count() + without_pod;
            let mut surging = rollout.iter().filter(|(_, o, n)| o.is_some() && n.is_some()).count();
            for (node, old, new) in &rollout {
                let Some(old) = old else { continue };
                if new.is_some() {
                    // Surge: the old pod goes once its replacement is available.
                    if avail(new) {
                        delete.push(old.clone());
                    }
                    continue;
                }
                if !is_pod_available(old, min_ready, t) {
                    delete.push(old.clone());
                    continue;
                }
                if max_surge > 0 {
                    if surging < max_surge {
                        surging += 1;
                        create_on.push(node.clone());
                    }
                } else if unavailable < max_unavailable {
                    unavailable += 1;
                    delete.push(old.clone());
                }
            }
        }
        if needs_sync {
            self.manage(key, &ds, &hash, &create_on, &delete).await?;
        }
        self.update_status(&ds, desired, scheduled, misscheduled, ready, available, updated).await?;
        let in_use: Vec<String> = vec![rev.metadata.name.clone().unwrap_or_default()];
        revision::truncate(&self.client, &ns, &revs, &in_use, spec.revision_history_limit.unwrap_or(10)).await?;
        if min_ready > 0 && available < ready {
            self.queue.add_after(key.to_string(), Duration::from_secs(u64::try_from(min_ready).unwrap_or(0)));
        }
        Ok(())
    }

    async fn manage(
        &self,
        key: &str,
        ds: &DaemonSet,
        hash: &str,
        create_on: &[String],
        delete: &[Arc<Pod>],
    ) -> Result<(), Error> {
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let spec = ds.spec.clone().unwrap_or_default();
        self.expectations.expect(key, create_on.len(), delete.iter().map(|p| key_of(p.as_ref())).collect());
        let mut first_err = None;
        for node in create_on {
            let mut pod = PodControl::pod_from_template(
                &spec.template,
                &ds.metadata.name.clone().unwrap_or_default(),
                Some(controller_ref(ds)),
            );
            let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
            labels.insert(REVISION_LABEL.into(), hash.into());
            labels.insert(GENERATION_LABEL.into(), ds.metadata.generation.unwrap_or(0).to_string());
            let s = pod.spec.get_or_insert_with(Default::default);
            let mut tolerations = s.tolerations.clone().unwrap_or_default();
            for t in nodes::daemon_tolerations(s) {
                if !tolerations.iter().any(|x| x.key == t.key && x.effect == t.effect) {
                    tolerations.push(t);
                }
            }
            s.tolerations = Some(tolerations);
            pin_to_node(&mut pod, node);
            if let Err(e) = self.pod_control.create(&ns, &pod, ds).await {
                // This creation will never be observed.
                self.expectations.creation_observed(key);
                first_err.get_or_insert(e);
            }
        }
        for p in delete {
            let r = self
                .pod_control
                .delete(&ns, p.metadata.name.as_deref().unwrap_or_default(), p.metadata.uid.as_deref(), ds)
                .await;
            if let Err(e) = r {
                self.expectations.deletion_observed(key, &key_of(p.as_ref()));
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_status(
        &self,
        ds: &DaemonSet,
        desired: i32,
        scheduled: usize,
        misscheduled: usize,
        ready: usize,
        available: usize,
        updated: usize,
    ) -> Result<(), Error> {
        let status = json!({
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": scheduled,
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "numberAvailable": available,
            "numberUnavailable": (desired - available as i32).max(0),
            "updatedNumberScheduled": updated,
            "observedGeneration": ds.metadata.generation,
        });
        let old = serde_json::to_value(ds.status.clone().unwrap_or_default()).unwrap_or_default();
        let same = status.as_object().is_some_and(|o| o.iter().all(|(k, v)| old.get(k).unwrap_or(&json!(0)) == v));
        if same {
            return Ok(());
        }
        let api: Api<DaemonSet> =
            Api::namespaced(self.client.clone(), ds.metadata.namespace.as_deref().unwrap_or("default"));
        match api
            .patch_status(
                ds.metadata.name.as_deref().unwrap_or_default(),
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

/// A node of a rolling update: its name, its old pod and its new pod.
type NodeRollout = (String, Option<Arc<Pod>>, Option<Arc<Pod>>);
