//! The StatefulSet controller: pods with stable names, hostnames and storage, created in
//! order and waited for (OrderedReady) or all at once (Parallel), starting at
//! spec.ordinals.start; rolling updates from the highest ordinal down to the partition, or
//! OnDelete; ControllerRevisions for history and rollback; volumeClaimTemplates with the
//! PVC retention policy.

mod pods;
pub mod revision;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::Error;
use crate::controller_utils::pod::{
    controller_ref, get_controller_of, is_not_found, is_pod_available, is_pod_ready, phase,
};
use crate::controller_utils::{now, run_workers};
use crate::events::{EventRecorder, NORMAL, WARNING};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;
use pods::*;

const NAME: &str = "statefulset-controller";

struct Controller {
    sets: Arc<Informer<StatefulSet>>,
    pods: Arc<Informer<Pod>>,
    revisions: Arc<Informer<ControllerRevision>>,
    client: kube::Client,
    recorder: EventRecorder,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("statefulset");
    let recorder = ctx.events.recorder(NAME);
    let c = Arc::new(Controller {
        sets: ctx.factory.informer::<StatefulSet>(),
        pods: ctx.factory.informer::<Pod>(),
        revisions: ctx.factory.informer::<ControllerRevision>(),
        client: ctx.client.clone(),
        recorder,
    });
    {
        let q = queue.clone();
        c.sets.add_handler(move |e| match e {
            Event::Added(s) | Event::Deleted(s) | Event::Updated { new: s, .. } => q.add(key_of(s.as_ref())),
        });
    }
    {
        let q = queue.clone();
        c.pods.add_handler(move |e| {
            let pod = match e {
                Event::Added(p) | Event::Deleted(p) | Event::Updated { new: p, .. } => p,
            };
            if let Some(r) = get_controller_of(&pod.metadata).filter(|r| r.kind == "StatefulSet") {
                q.add(format!("{}/{}", pod.metadata.namespace.clone().unwrap_or_default(), r.name));
            }
        });
    }
    let workers = ctx.options.concurrent_statefulset_syncs;
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

fn running_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_pod_ready(pod)
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(set) = self.sets.get(ns, name) else { return Ok(()) };
        let set = (*set).clone();
        if set.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let ns = ns.unwrap_or("default").to_string();
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let spec = set.spec.clone().unwrap_or_default();
        let owned: Vec<Arc<Pod>> = self
            .pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| get_controller_of(&p.metadata).is_some_and(|r| r.uid == uid))
            .collect();
        let revs: Vec<ControllerRevision> = self
            .revisions
            .list_namespace(&ns)
            .into_iter()
            .filter(|r| get_controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
            .map(|r| (*r).clone())
            .collect();
        let status = set.status.clone().unwrap_or_default();
        let labels = spec.selector.match_labels.clone().unwrap_or_default();
        let (update_rev, revs) = revision::ensure(
            &self.client,
            &ns,
            revision::RevisionOwner { name, reference: controller_ref(&set), labels },
            &spec.template,
            revs,
            status.collision_count,
        )
        .await?;
        let update_name = update_rev.metadata.name.clone().unwrap_or_default();
        let current_rev = status
            .current_revision
            .as_ref()
            .and_then(|c| revs.iter().find(|r| r.metadata.name.as_ref() == Some(c)))
            .cloned()
            .unwrap_or_else(|| update_rev.clone());
        let current_name = current_rev.metadata.name.clone().unwrap_or_default();
        let current_template = revision::template_of(&current_rev).unwrap_or_else(|| spec.template.clone());

        let start = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0);
        let replicas = spec.replicas.unwrap_or(1).max(0);
        let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let rolling = strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate";
        let partition = strategy.rolling_update.as_ref().and_then(|r| r.partition).unwrap_or(0);
        let by_ordinal: BTreeMap<i32, Arc<Pod>> =
            owned.iter().filter_map(|p| ordinal_of(&set, p).map(|o| (o, p.clone()))).collect();
        let in_range = |o: i32| o >= start && o < start + replicas;

        let mut blocked = false;
        for ordinal in start..start + replicas {
            match by_ordinal.get(&ordinal) {
                Some(pod)
                    if matches!(phase(pod), "Failed" | "Succeeded") && pod.metadata.deletion_timestamp.is_none() =>
                {
                    let pn = pod.metadata.name.clone().unwrap_or_default();
                    self.recorder.event(
                        &set,
                        WARNING,
                        "RecreatingFailedPod",
                        format!("StatefulSet {ns}/{name} is recreating failed Pod {pn}"),
                    );
                    self.delete_pod(&set, pod).await?;
                    if ordered {
                        blocked = true;
                        break;
                    }
                }
                Some(pod) => {
                    if ordered && (!running_ready(pod) || pod.metadata.deletion_timestamp.is_some()) {
                        blocked = true;
                        break;
                    }
                }
                None => {
                    let (template, rev) = if rolling && ordinal < start + partition {
                        (&current_template, current_name.as_str())
                    } else {
                        (&spec.template, update_name.as_str())
                    };
                    self.create_claims(&set, ordinal).await?;
                    let pod = new_pod(&set, template, ordinal, rev);
                    match Api::<Pod>::namespaced(self.client.clone(), &ns).create(&PostParams::default(), &pod).await {
                        Ok(_) => {
                            let pn = pod_name(&set, ordinal);
                            self.recorder.event(
                                &set,
                                NORMAL,
                                "SuccessfulCreate",
                                format!("create Pod {pn} in StatefulSet {name} successful"),
                            );
                        }
                        // Still terminating from an earlier life: wait for it to go.
                        Err(kube::Error::Api(s)) if s.code == 409 => {}
                        Err(e) => {
                            let pn = pod_name(&set, ordinal);
                            let msg = format!(
                                "create Pod {pn} in StatefulSet {name} failed error: {}",
                                crate::controller_utils::pod::api_error_message(&e)
                            );
                            self.recorder.event(&set, WARNING, "FailedCreate", msg);
                            return Err(e.into());
                        }
                    }
                    if ordered {
                        blocked = true;
                        break;
                    }
                }
            }
        }
        // Scale down: highest ordinal first; ordered sets one at a time, once the rest is healthy.
        if !blocked {
            let condemned: Vec<&Arc<Pod>> =
                by_ordinal.iter().rev().filter(|(o, _)| !in_range(**o)).map(|(_, p)| p).collect();
            for pod in condemned {
                if pod.metadata.deletion_timestamp.is_some() {
                    if ordered {
                        blocked = true;
                        break;
                    }
                    continue;
                }
                if when_scaled(&set) == "Delete" {
                    self.hand_claims_to_pod(&set, pod).await?;
                }
                self.delete_pod(&set, pod).await?;
                if ordered {
                    blocked = true;
                    break;
                }
            }
        }
        // Rolling update: from the highest ordinal down to the partition, one pod at a time.
        if !blocked && rolling {
            for ordinal in (start + partition.max(0)..start + replicas).rev() {
                let Some(pod) = by_ordinal.get(&ordinal) else { break };
                if revision_of(pod) != Some(update_name.as_str()) && pod.metadata.deletion_timestamp.is_none() {
                    self.delete_pod(&set, pod).await?;
                    break;
                }
                if !running_ready(pod) || pod.metadata.deletion_timestamp.is_some() {
                    break;
                }
            }
        }
        self.update_status(&set, &owned, &current_name, &update_name).await?;
        let in_use: Vec<String> = owned
            .iter()
            .filter_map(|p| revision_of(p).map(str::to_string))
            .chain([current_name, update_name])
            .collect();
        revision::truncate(&self.client, &ns, &revs, &in_use, spec.revision_history_limit.unwrap_or(10)).await
    }

    async fn delete_pod(&self, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let pn = pod.metadata.name.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        match api.delete(&pn, &Default::default()).await {
            Ok(_) => {
                let sn = set.metadata.name.clone().unwrap_or_default();
                self.recorder.event(
                    set,
                    NORMAL,
                    "SuccessfulDelete",
                    format!("delete Pod {pn} in StatefulSet {sn} successful"),
                );
                Ok(())
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn create_claims(&self, set: &StatefulSet, ordinal: i32) -> Result<(), Error> {
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        for claim in claims_for(set, ordinal) {
            let cn = claim.metadata.name.clone().unwrap_or_default();
            if api.get_opt(&cn).await?.is_some() {
                continue;
            }
            match api.create(&PostParams::default(), &claim).await {
                Ok(_) => {
                    let pn = pod_name(set, ordinal);
                    let sn = set.metadata.name.clone().unwrap_or_default();
                    self.recorder.event(
                        set,
                        NORMAL,
                        "SuccessfulCreate",
                        format!("create Claim {cn} Pod {pn} in StatefulSet {sn} success"),
                    );
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// whenScaled=Delete: a condemned pod's claims become owned by the pod, so the garbage
    /// collector removes them after it.
    async fn hand_claims_to_pod(&self, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
        let Some(ordinal) = ordinal_of(set, pod) else { return Ok(()) };
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        for claim in claims_for(set, ordinal) {
            let cn = claim.metadata.name.clone().unwrap_or_default();
            let patch = json!({"metadata": {"ownerReferences": [owner_ref(pod)]}});
            match api.patch(&cn, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn update_status(
        &self,
        set: &StatefulSet,
        pods: &[Arc<Pod>],
        current: &str,
        update: &str,
    ) -> Result<(), Error> {
        let spec = set.spec.clone().unwrap_or_default();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let t = now();
        let live: Vec<&Arc<Pod>> = pods.iter().filter(|p| !matches!(phase(p), "Failed" | "Succeeded")).collect();
        let count = |f: &dyn Fn(&Pod) -> bool| live.iter().filter(|p| f(p)).count() as i32;
        let replicas = live.len() as i32;
        let ready = count(&|p| is_pod_ready(p));
        let available = count(&|p| is_pod_available(p, min_ready, t));
        let mut current_replicas = count(&|p| revision_of(p) == Some(current));
        let updated = count(&|p| revision_of(p) == Some(update));
        let mut current_revision = current.to_string();
        // The rollout is complete: the update revision becomes the current one.
        if updated == replicas && ready == replicas && replicas == spec.replicas.unwrap_or(1) {
            current_revision = update.to_string();
            current_replicas = updated;
        }
        let old = set.status.clone().unwrap_or_default();
        let status = json!({
            "observedGeneration": set.metadata.generation,
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": available,
            "currentReplicas": current_replicas,
            "updatedReplicas": updated,
            "currentRevision": current_revision,
            "updateRevision": update,
            "collisionCount": old.collision_count.unwrap_or(0),
        });
        let unchanged = old.observed_generation == set.metadata.generation
            && old.replicas == replicas
            && old.ready_replicas.unwrap_or(0) == ready
            && old.available_replicas.unwrap_or(0) == available
            && old.current_replicas.unwrap_or(0) == current_replicas
            && old.updated_replicas.unwrap_or(0) == updated
            && old.current_revision.as_deref() == Some(current_revision.as_str())
            && old.update_revision.as_deref() == Some(update);
        if unchanged {
            return Ok(());
        }
        let api: Api<StatefulSet> =
            Api::namespaced(self.client.clone(), set.metadata.namespace.as_deref().unwrap_or("default"));
        match api
            .patch_status(
                set.metadata.name.as_deref().unwrap_or_default(),
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
