//! The namespace controller: deletes every object of a terminating namespace, reports
//! upstream's deletion conditions on the namespace, and removes the `kubernetes` finalizer
//! once nothing is left, so the API server can remove the namespace.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiResource, Discovery, Scope, verbs};

use crate::Error;
use crate::controller_utils::pod::{api_error_message, is_not_found};
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "namespace-controller";
const FINALIZER: &str = "kubernetes";

/// Upstream's condition types, each with the reason and message it has when all is well.
const CONDITIONS: [(&str, &str, &str); 5] = [
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
];

struct Controller {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    queue: WorkQueue,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("namespace");
    let c = Arc::new(Controller {
        client: ctx.client.clone(),
        namespaces: ctx.factory.informer::<Namespace>(),
        queue: queue.clone(),
    });
    {
        let q = queue.clone();
        c.namespaces.add_handler(move |e| match e {
            Event::Added(ns) | Event::Updated { new: ns, .. } if ns.metadata.deletion_timestamp.is_some() => {
                q.add(ns.metadata.name.clone().unwrap_or_default())
            }
            _ => {}
        });
    }
    let workers = ctx.options.concurrent_namespace_syncs;
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

/// What one pass over the namespace's content found.
#[derive(Default)]
struct Outcome {
    /// Condition type → (reason, message) for the failing ones.
    failures: BTreeMap<&'static str, (String, String)>,
    /// Seconds until remaining content should be gone (graceful pod deletion).
    estimate: i64,
    remaining: bool,
}

impl Controller {
    async fn sync(&self, name: &str) -> Result<(), Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        // Decide on the live namespace: the finalizer may already be gone.
        let Some(ns) = api.get_opt(name).await? else { return Ok(()) };
        if ns.metadata.deletion_timestamp.is_none() {
            return Ok(());
        }
        if !ns.spec.as_ref().and_then(|s| s.finalizers.as_ref()).is_some_and(|f| f.iter().any(|x| x == FINALIZER)) {
            return Ok(());
        }
        let outcome = self.delete_all_content(name).await;
        let ns = self.update_conditions(&api, ns, &outcome).await?;
        if outcome.remaining || !outcome.failures.is_empty() {
            let secs = u64::try_from(outcome.estimate / 2 + 1).unwrap_or(1);
            self.queue.add_after(name.to_string(), Duration::from_secs(secs));
            return Ok(());
        }
        // Everything is gone: finalize.
        let mut finalized = ns.clone();
        if let Some(spec) = finalized.spec.as_mut() {
            spec.finalizers =
                Some(spec.finalizers.clone().unwrap_or_default().into_iter().filter(|f| f != FINALIZER).collect());
        }
        match api.replace_subresource("finalize", name, &PostParams::default(), &finalized).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_all_content(&self, ns: &str) -> Outcome {
        let mut out = Outcome::default();
        let discovery = match Discovery::new(self.client.clone()).run().await {
            Ok(d) => d,
            Err(e) => {
                out.failures.insert(
                    "NamespaceDeletionDiscoveryFailure",
                    ("DiscoveryFailed".into(), format!("Discovery failed for some groups, 1 failing: {e}")),
                );
                return out;
            }
        };
        let mut errors = Vec::new();
        let mut remaining: Vec<String> = Vec::new();
        let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if caps.scope != Scope::Namespaced
                    || !caps.supports_operation(verbs::LIST)
                    || !caps.supports_operation(verbs::DELETE)
                {
                    continue;
                }
                let collection = caps.supports_operation(verbs::DELETE_COLLECTION);
                match self.delete_resource(ns, &ar, collection).await {
                    Ok(left) => {
                        if !left.is_empty() {
                            let group_resource = if ar.group.is_empty() {
                                ar.plural.clone()
                            } else {
                                format!("{}.{}", ar.plural, ar.group)
                            };
                            remaining.push(format!("{group_resource} has {} resource instances", left.len()));
                            out.remaining = true;
                            for m in &left {
                                for f in m.metadata.finalizers.iter().flatten() {
                                    *finalizers.entry(f.clone()).or_default() += 1;
                                }
                                let grace = m.metadata.deletion_grace_period_seconds.unwrap_or(0);
                                out.estimate = out.estimate.max(grace);
                            }
                        }
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            let msg = format!("Failed to delete all resource types, {} remaining: {}", errors.len(), errors.join(", "));
            out.failures.insert("NamespaceDeletionContentFailure", ("ContentDeletionFailed".into(), msg));
        }
        if !remaining.is_empty() {
            remaining.sort();
            out.failures.insert(
                "NamespaceContentRemaining",
                ("SomeResourcesRemain".into(), format!("Some resources are remaining: {}", remaining.join(", "))),
            );
        }
        if !finalizers.is_empty() {
            let list: Vec<String> = finalizers.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
            out.failures.insert(
                "NamespaceFinalizersRemaining",
                (
                    "SomeFinalizersRemain".into(),
                    format!("Some content in the namespace has finalizers remaining: {}", list.join(", ")),
                ),
            );
        }
        out
    }

    /// Deletes the objects of one resource in `ns`; returns what is left.
    async fn delete_resource(
        &self,
        ns: &str,
        ar: &ApiResource,
        collection: bool,
    ) -> Result<Vec<PartialObjectMeta<DynamicObject>>, String> {
        let objects: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, ar);
        let describe = |e: kube::Error| format!("{}.{}: {}", ar.plural, ar.group, api_error_message(&e));
        let mut done = false;
        if collection {
            match objects.delete_collection(&DeleteParams::background(), &ListParams::default()).await {
                Ok(_) => done = true,
                // Not allowed after all: fall back to one by one.
                Err(kube::Error::Api(s)) if s.code == 405 => {}
                Err(e) => return Err(describe(e)),
            }
        }
        let list = objects.list_metadata(&ListParams::default()).await.map_err(describe)?;
        if !done {
            for item in list.items.iter().filter(|i| i.metadata.deletion_timestamp.is_none()) {
                let name = item.metadata.name.clone().unwrap_or_default();
                match objects.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(describe(e)),
                }
            }
            return Ok(objects.list_metadata(&ListParams::default()).await.map_err(describe)?.items);
        }
        Ok(list.items)
    }

    async fn update_conditions(
        &self,
        api: &Api<Namespace>,
        ns: Namespace,
        outcome: &Outcome,
    ) -> Result<Namespace, Error> {
        let now = Time(Timestamp::now());
        let mut status = ns.status.clone().unwrap_or_default();
        let mut conds: Vec<NamespaceCondition> = status.conditions.clone().unwrap_or_default();
        for (type_, ok_reason, ok_message) in CONDITIONS {
            let (value, reason, message) = match outcome.failures.get(type_) {
                Some((r, m)) => ("True", r.clone(), m.clone()),
                None => ("False", ok_reason.to_string(), ok_message.to_string()),
            };
            match conds.iter_mut().find(|c| c.type_ == type_) {
                Some(c) => {
                    if c.status != value {
                        c.last_transition_time = Some(now.clone());
                    }
                    c.status = value.into();
                    c.reason = Some(reason);
                    c.message = Some(message);
                }
                None => conds.push(NamespaceCondition {
                    type_: type_.into(),
                    status: value.into(),
                    reason: Some(reason),
                    message: Some(message),
                    last_transition_time: Some(now.clone()),
                }),
            }
        }
        if status.conditions.as_ref() == Some(&conds) && status.phase.as_deref() == Some("Terminating") {
            return Ok(ns);
        }
        status.conditions = Some(conds);
        status.phase = Some("Terminating".into());
        let mut updated = ns.clone();
        updated.status = Some(status);
        let name = ns.metadata.name.clone().unwrap_or_default();
        match api.replace_status(&name, &PostParams::default(), &updated).await {
            Ok(n) => Ok(n),
            Err(e) if is_not_found(&e) => Ok(ns),
            Err(e) => Err(e.into()),
        }
    }
}
