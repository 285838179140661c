//! The node lifecycle controller: marks nodes whose kubelet stopped renewing its Lease (and
//! posting status) Unknown, keeps the condition taints (not-ready/unreachable NoExecute and
//! NoSchedule, unschedulable, pressure) in step with the conditions, and evicts pods from
//! NoExecute-tainted nodes unless they tolerate the taint, after tolerationSeconds if set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use parking_lot::Mutex;
use serde_json::json;

use crate::Error;
use crate::controller_utils::pod::is_not_found;
use crate::controller_utils::run_workers;
use crate::daemonset::tolerates;
use crate::events::{EventRecorder, NORMAL};
use crate::informer::{Event, Informer, key_of};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "node-lifecycle-controller";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Condition → NoSchedule taint (TaintNodesByCondition), and the status that sets it.
const CONDITION_TAINTS: [(&str, &str, &str); 4] = [
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
];

/// What the controller last saw of a node's heartbeats, by its own clock.
struct Health {
    heartbeat: Option<Timestamp>,
    lease: Option<Timestamp>,
    seen: Instant,
}

struct Controller {
    nodes: Arc<Informer<Node>>,
    pods: Arc<Informer<Pod>>,
    leases: Arc<Informer<Lease>>,
    client: kube::Client,
    recorder: EventRecorder,
    health: Mutex<HashMap<String, Health>>,
    eviction_queue: WorkQueue,
    grace: Duration,
    startup_grace: Duration,
    period: Duration,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let nodes_q = WorkQueue::new("node_lifecycle_taint");
    let evict_q = WorkQueue::new("noexec_taint_pod");
    let c = Arc::new(Controller {
        nodes: ctx.factory.informer::<Node>(),
        pods: ctx.factory.informer::<Pod>(),
        leases: ctx.factory.informer::<Lease>(),
        client: ctx.client.clone(),
        recorder: ctx.events.recorder(NAME),
        health: Mutex::new(HashMap::new()),
        eviction_queue: evict_q.clone(),
        grace: ctx.options.node_monitor_grace_period,
        startup_grace: ctx.options.node_startup_grace_period,
        period: ctx.options.node_monitor_period,
    });
    {
        let q = nodes_q.clone();
        c.nodes.add_handler(move |e| match e {
            Event::Added(n) | Event::Updated { new: n, .. } => q.add(n.metadata.name.clone().unwrap_or_default()),
            Event::Deleted(_) => {}
        });
    }
    {
        // Changed taints (seen here, once the cache has them): the node's pods may have to go.
        let q = evict_q.clone();
        let pods = c.pods.clone();
        c.nodes.add_handler(move |e| {
            if let Event::Updated { old, new } = e
                && old.spec.as_ref().map(|s| &s.taints) != new.spec.as_ref().map(|s| &s.taints)
            {
                let name = new.metadata.name.clone();
                for p in pods.list() {
                    if p.spec.as_ref().and_then(|s| s.node_name.as_ref()) == name.as_ref() {
                        q.add(key_of(p.as_ref()));
                    }
                }
            }
        });
    }
    {
        let q = evict_q.clone();
        c.pods.add_handler(move |e| {
            if let Event::Added(p) | Event::Updated { new: p, .. } = e
                && p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
                && p.metadata.deletion_timestamp.is_none()
            {
                q.add(key_of(p.as_ref()));
            }
        });
    }
    Started {
        queues: vec![nodes_q.clone(), evict_q.clone()],
        run: Box::new(move || {
            let monitor = {
                let c = c.clone();
                tokio::spawn(async move {
                    loop {
                        if let Err(e) = c.monitor_node_health().await {
                            tracing::info!(error = %e, "node health monitoring failed");
                        }
                        tokio::time::sleep(c.period).await;
                    }
                })
            };
            let mut tasks = vec![monitor];
            let c2 = c.clone();
            tasks.extend(run_workers(
                NAME,
                nodes_q,
                1,
                Arc::new(move |name| {
                    let c = c2.clone();
                    Box::pin(async move { c.sync_taints(&name).await })
                }),
            ));
            tasks.extend(run_workers(
                "taint-eviction-controller",
                evict_q,
                8,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.process_pod(&key).await })
                }),
            ));
            tasks
        }),
    }
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

impl Controller {
    /// Marks nodes Unknown whose kubelet has not been heard from within the grace period.
    async fn monitor_node_health(&self) -> Result<(), Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        for node in self.nodes.list() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let ready = condition(&node, "Ready");
            let heartbeat = ready.and_then(|c| c.last_heartbeat_time.as_ref()).map(|t| t.0);
            let lease = self
                .leases
                .get(Some(NODE_LEASE_NAMESPACE), &name)
                .and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
            let stale = {
                let mut health = self.health.lock();
                let h = health.entry(name.clone()).or_insert(Health { heartbeat, lease, seen: Instant::now() });
                if h.heartbeat != heartbeat || h.lease != lease {
                    *h = Health { heartbeat, lease, seen: Instant::now() };
                }
                h.seen.elapsed()
            };
            let (reason, message, limit) = match ready {
                None => ("NodeStatusNeverUpdated", "Kubelet never posted node status.", self.startup_grace),
                Some(_) => ("NodeStatusUnknown", "Kubelet stopped posting node status.", self.grace),
            };
            if stale <= limit || ready.is_some_and(|c| c.status == "Unknown") {
                continue;
            }
            let now = Time(Timestamp::now());
            let mut updated = (*node).clone();
            let status = updated.status.get_or_insert_with(Default::default);
            let conds = status.conditions.get_or_insert_with(Vec::new);
            for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
                match conds.iter_mut().find(|c| c.type_ == type_) {
                    Some(c) if c.status != "Unknown" => {
                        c.status = "Unknown".into();
                        c.reason = Some(reason.into());
                        c.message = Some(message.into());
                        c.last_transition_time = Some(now.clone());
                    }
                    Some(_) => {}
                    None => conds.push(NodeCondition {
                        type_: type_.into(),
                        status: "Unknown".into(),
                        reason: Some(reason.into()),
                        message: Some(message.into()),
                        last_transition_time: Some(now.clone()),
                        last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    }),
                }
            }
            match api.replace_status(&name, &PostParams::default(), &updated).await {
                Ok(_) => self.recorder.event(
                    &*node,
                    NORMAL,
                    "NodeNotReady",
                    format!("Node {name} status is now: NodeNotReady"),
                ),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Puts the node's taints in step with its conditions.
    async fn sync_taints(&self, name: &str) -> Result<(), Error> {
        let Some(node) = self.nodes.get(None, name) else { return Ok(()) };
        let ready = condition(&node, "Ready").map(|c| c.status.clone());
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        match ready.as_deref() {
            Some("False") => wanted.extend([(TAINT_NOT_READY, "NoExecute"), (TAINT_NOT_READY, "NoSchedule")]),
            Some("Unknown") => wanted.extend([(TAINT_UNREACHABLE, "NoExecute"), (TAINT_UNREACHABLE, "NoSchedule")]),
            _ => {}
        }
        for (cond, value, taint) in CONDITION_TAINTS {
            if condition(&node, cond).is_some_and(|c| c.status == value) {
                wanted.push((taint, "NoSchedule"));
            }
        }
        if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
            wanted.push(("node.kubernetes.io/unschedulable", "NoSchedule"));
        }
        let managed = |t: &Taint| {
            [TAINT_NOT_READY, TAINT_UNREACHABLE, "node.kubernetes.io/unschedulable"].contains(&t.key.as_str())
                || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == t.key)
        };
        let current = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        let mut taints: Vec<Taint> = current
            .iter()
            .filter(|t| !managed(t) || wanted.contains(&(t.key.as_str(), t.effect.as_str())))
            .cloned()
            .collect();
        let now = Time(Timestamp::now());
        for (key, effect) in &wanted {
            if !taints.iter().any(|t| t.key == *key && t.effect == *effect) {
                taints.push(Taint {
                    key: key.to_string(),
                    effect: effect.to_string(),
                    value: None,
                    time_added: (*effect == "NoExecute").then(|| now.clone()),
                });
            }
        }
        if taints == current {
            return Ok(());
        }
        let api: Api<Node> = Api::all(self.client.clone());
        let patch =
            json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": taints}});
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Evicts a pod from a NoExecute-tainted node it does not tolerate (now, or once its
    /// tolerationSeconds since the taint was added have passed).
    async fn process_pod(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = crate::informer::split_key(key);
        let Some(pod) = self.pods.get(ns, name) else { return Ok(()) };
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else { return Ok(()) };
        let Some(node) = self.nodes.get(None, &node_name) else { return Ok(()) };
        let taints: Vec<Taint> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.effect == "NoExecute")
            .collect();
        if taints.is_empty() {
            return Ok(());
        }
        let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
        let now = Timestamp::now();
        // The earliest deadline over the taints; None: tolerated for ever.
        let mut deadline: Option<Timestamp> = None;
        for t in &taints {
            let matching: Vec<_> = tolerations.iter().filter(|tol| tolerates(std::slice::from_ref(*tol), t)).collect();
            if matching.is_empty() {
                deadline = Some(now);
                break;
            }
            if let Some(secs) = matching.iter().filter_map(|tol| tol.toleration_seconds).min() {
                let added = t.time_added.as_ref().map(|t| t.0).unwrap_or(now);
                let due = added + jiff::SignedDuration::from_secs(secs.max(0));
                deadline = Some(deadline.map_or(due, |d| d.min(due)));
            }
        }
        let Some(due) = deadline else { return Ok(()) };
        if due > now {
            let wait = Duration::try_from(due.duration_since(now)).unwrap_or_default();
            self.eviction_queue.add_after(key.to_string(), wait);
            return Ok(());
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns.unwrap_or("default"));
        let condition = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": Time(now)}]}});
        match api.patch_status(name, &PatchParams::default(), &Patch::Strategic(&condition)).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.recorder.event(&*pod, NORMAL, "TaintManagerEviction", format!("Marking for deletion Pod {key}"));
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
