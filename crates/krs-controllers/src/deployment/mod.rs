//! The Deployment controller: rolls a pod template out through ReplicaSets (RollingUpdate with
//! maxSurge/maxUnavailable, or Recreate), keeps revisions for `kubectl rollout undo`, honours
//! paused and progressDeadlineSeconds, reports Progressing/Available, and prunes old
//! ReplicaSets past revisionHistoryLimit.

mod progress;
mod rolling;
mod sync;
pub mod util;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::Error;
use crate::controller_utils::pod::{controller_ref, get_controller_of, is_conflict, is_not_found};
use crate::controller_utils::{run_workers, selector_is_empty, selector_matches};
use crate::events::{EventRecorder, WARNING};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "deployment-controller";

pub(crate) struct Controller {
    deployments: Arc<Informer<Deployment>>,
    sets: Arc<Informer<ReplicaSet>>,
    pods: Arc<Informer<Pod>>,
    queue: WorkQueue,
    client: kube::Client,
    recorder: EventRecorder,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("deployment");
    let recorder = ctx.events.recorder(NAME);
    let c = Arc::new(Controller {
        deployments: ctx.factory.informer::<Deployment>(),
        sets: ctx.factory.informer::<ReplicaSet>(),
        pods: ctx.factory.informer::<Pod>(),
        queue: queue.clone(),
        client: ctx.client.clone(),
        recorder,
    });
    {
        let q = queue.clone();
        c.deployments.add_handler(move |e| match e {
            Event::Added(d) | Event::Deleted(d) => q.add(key_of(d.as_ref())),
            Event::Updated { new, .. } => q.add(key_of(new.as_ref())),
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.sets.add_handler(move |e| {
            if let Some(c) = weak.upgrade() {
                c.on_replicaset_event(e);
            }
        });
    }
    {
        let weak = Arc::downgrade(&c);
        c.pods.add_handler(move |e| {
            if let (Some(c), Event::Deleted(pod)) = (weak.upgrade(), e) {
                c.on_pod_deleted(pod);
            }
        });
    }
    let workers = ctx.options.concurrent_deployment_syncs;
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

impl Controller {
    fn resolve(&self, rs: &ReplicaSet) -> Option<Arc<Deployment>> {
        let r = get_controller_of(&rs.metadata)?;
        if r.kind != "Deployment" {
            return None;
        }
        let d = self.deployments.get(rs.metadata.namespace.as_deref(), &r.name)?;
        (d.metadata.uid.as_deref() == Some(r.uid.as_str())).then_some(d)
    }

    fn enqueue_selecting(&self, rs: &ReplicaSet) {
        let ns = rs.metadata.namespace.as_deref().unwrap_or_default();
        for d in self.deployments.list_namespace(ns) {
            if let Some(sel) = d.spec.as_ref().map(|s| &s.selector)
                && !selector_is_empty(sel)
                && selector_matches(sel, rs.metadata.labels.as_ref())
            {
                self.queue.add(key_of(d.as_ref()));
            }
        }
    }

    fn on_replicaset_event(&self, e: &Event<ReplicaSet>) {
        match e {
            Event::Added(rs) | Event::Deleted(rs) => match self.resolve(rs) {
                Some(d) => self.queue.add(key_of(d.as_ref())),
                None if get_controller_of(&rs.metadata).is_none() && matches!(e, Event::Added(_)) => {
                    self.enqueue_selecting(rs)
                }
                None => {}
            },
            Event::Updated { old, new } => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return;
                }
                let (old_ref, new_ref) = (get_controller_of(&old.metadata), get_controller_of(&new.metadata));
                if old_ref != new_ref
                    && let Some(d) = self.resolve(old)
                {
                    self.queue.add(key_of(d.as_ref()));
                }
                if let Some(d) = self.resolve(new) {
                    self.queue.add(key_of(d.as_ref()));
                    return;
                }
                if new_ref.is_none() && (old.metadata.labels != new.metadata.labels || old_ref != new_ref) {
                    self.enqueue_selecting(new);
                }
            }
        }
    }

    /// A Recreate rollout waits for the old pods to be gone: look again when one goes.
    fn on_pod_deleted(&self, pod: &Pod) {
        let Some(r) = get_controller_of(&pod.metadata) else { return };
        if r.kind != "ReplicaSet" {
            return;
        }
        let Some(rs) = self.sets.get(pod.metadata.namespace.as_deref(), &r.name) else { return };
        if let Some(d) = self.resolve(&rs)
            && !util::is_rolling_update(&d)
        {
            self.queue.add(key_of(d.as_ref()));
        }
    }

    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(cached) = self.deployments.get(ns, name) else { return Ok(()) };
        let mut d = (*cached).clone();
        let selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        if selector_is_empty(&selector) {
            self.recorder.event(
                &d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            let status = d.status.clone().unwrap_or_default();
            if status.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
                let mut s = status;
                s.observed_generation = d.metadata.generation;
                self.update_status(&d, &s).await?;
            }
            return Ok(());
        }
        let mut sets = self.claim_replicasets(&d, &selector).await?;
        if d.metadata.deletion_timestamp.is_some() {
            let new = self.new_replicaset(&mut d, &mut sets, false).await?;
            return self.sync_status(&d, &sets, new).await;
        }
        self.check_paused_conditions(&mut d).await?;
        if util::paused(&d) {
            return self.sync_scale(&mut d, &mut sets).await;
        }
        if self.is_scaling_event(&mut d, &mut sets).await? {
            return self.sync_scale(&mut d, &mut sets).await;
        }
        if util::is_rolling_update(&d) {
            self.rollout_rolling(&mut d, &mut sets).await
        } else {
            self.rollout_recreate(&mut d, &mut sets).await
        }
    }

    /// The ReplicaSets this deployment controls, adopting orphans its selector matches and
    /// releasing those it no longer matches.
    async fn claim_replicasets(
        &self,
        d: &Deployment,
        selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> Result<Vec<ReplicaSet>, Error> {
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let mut owned = Vec::new();
        for rs in self.sets.list_namespace(&ns) {
            let matches = selector_matches(selector, rs.metadata.labels.as_ref());
            let rs_name = rs.metadata.name.clone().unwrap_or_default();
            match get_controller_of(&rs.metadata) {
                Some(r) if r.uid == uid => {
                    if matches {
                        owned.push((*rs).clone());
                    } else if !deleting {
                        let patch = serde_json::json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}], "uid": rs.metadata.uid}});
                        ignore_gone(api.patch(&rs_name, &PatchParams::default(), &Patch::Strategic(&patch)).await)?;
                    }
                }
                Some(_) => {}
                None if matches && !deleting && rs.metadata.deletion_timestamp.is_none() => {
                    let patch = serde_json::json!({"metadata": {"ownerReferences": [controller_ref(d)], "uid": rs.metadata.uid}});
                    if let Some(adopted) =
                        ignore_gone(api.patch(&rs_name, &PatchParams::default(), &Patch::Strategic(&patch)).await)?
                    {
                        owned.push(adopted);
                    }
                }
                None => {}
            }
        }
        Ok(owned)
    }

    /// Writes the deployment's status through the status subresource.
    async fn update_status(
        &self,
        d: &Deployment,
        status: &k8s_openapi::api::apps::v1::DeploymentStatus,
    ) -> Result<(), Error> {
        let api: Api<Deployment> =
            Api::namespaced(self.client.clone(), d.metadata.namespace.as_deref().unwrap_or("default"));
        let mut updated = d.clone();
        updated.status = Some(status.clone());
        match api.replace_status(d.metadata.name.as_deref().unwrap_or_default(), &PostParams::default(), &updated).await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the deployment's current revision in its annotations.
    async fn set_revision(&self, d: &mut Deployment, revision: &str) -> Result<(), Error> {
        if d.metadata.annotations.as_ref().and_then(|a| a.get(util::REVISION)).map(String::as_str) == Some(revision) {
            return Ok(());
        }
        let api: Api<Deployment> =
            Api::namespaced(self.client.clone(), d.metadata.namespace.as_deref().unwrap_or("default"));
        let patch = serde_json::json!({"metadata": {"annotations": {util::REVISION: revision}}});
        match api
            .patch(d.metadata.name.as_deref().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(updated) => {
                d.metadata.annotations = updated.metadata.annotations;
                d.metadata.resource_version = updated.metadata.resource_version;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A write whose target vanished or changed UID is nothing to retry.
fn ignore_gone<T>(r: Result<T, kube::Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(None),
        Err(e) if is_conflict(&e) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
}
