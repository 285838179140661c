//! The pod garbage collector: every 20 seconds it deletes terminated pods past
//! --terminated-pod-gc-threshold (oldest first), pods bound to nodes that no longer exist,
//! unscheduled pods being deleted, and terminating pods on out-of-service nodes. A pod it
//! force-deletes that is still pending or running is first marked Failed, so its controller
//! sees a terminal phase.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::Error;
use crate::controller_utils::pod::{is_not_found, phase};
use crate::informer::Informer;
use crate::manager::{Ctx, Started};

/// Upstream's gcCheckPeriod.
const PERIOD: Duration = Duration::from_secs(20);
const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

struct Controller {
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    client: kube::Client,
    threshold: usize,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let c = Arc::new(Controller {
        pods: ctx.factory.informer::<Pod>(),
        nodes: ctx.factory.informer::<Node>(),
        client: ctx.client.clone(),
        threshold: ctx.options.terminated_pod_gc_threshold,
    });
    Started {
        queues: Vec::new(),
        run: Box::new(move || {
            vec![tokio::spawn(async move {
                loop {
                    if let Err(e) = c.gc().await {
                        tracing::info!(error = %e, "pod garbage collection failed");
                    }
                    tokio::time::sleep(PERIOD).await;
                }
            })]
        }),
    }
}

impl Controller {
    async fn gc(&self) -> Result<(), Error> {
        let pods = self.pods.list();
        // Terminated pods past the threshold, oldest first.
        if self.threshold > 0 {
            let mut done: Vec<&Arc<Pod>> = pods.iter().filter(|p| matches!(phase(p), "Succeeded" | "Failed")).collect();
            if done.len() > self.threshold {
                done.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
                let excess = done.len() - self.threshold;
                for p in done.into_iter().take(excess) {
                    self.delete(p, None).await?;
                }
            }
        }
        for p in &pods {
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
            match node {
                // Bound to a node that is gone: confirm with the API (the cache may lag).
                Some(n) if self.nodes.get(None, &n).is_none() => {
                    let api: Api<Node> = Api::all(self.client.clone());
                    if api.get_opt(&n).await?.is_none() {
                        self.delete(p, Some(("DeletionByPodGC", "PodGC: node no longer exists"))).await?;
                    }
                }
                Some(n) if p.metadata.deletion_timestamp.is_some() => {
                    let out_of_service = self.nodes.get(None, &n).is_some_and(|node| {
                        node.spec
                            .as_ref()
                            .and_then(|s| s.taints.as_ref())
                            .is_some_and(|t| t.iter().any(|t| t.key == OUT_OF_SERVICE && t.effect == "NoExecute"))
                    });
                    if out_of_service {
                        self.delete(p, Some(("DeletionByPodGC", "PodGC: node is out of service"))).await?;
                    }
                }
                None if p.metadata.deletion_timestamp.is_some() => self.delete(p, None).await?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Force-deletes `pod`, first marking it Failed (with a DisruptionTarget condition when
    /// `reason` is given) if it has not finished.
    async fn delete(&self, pod: &Pod, reason: Option<(&str, &str)>) -> Result<(), Error> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        if !matches!(phase(pod), "Succeeded" | "Failed") {
            let mut status = json!({"phase": "Failed"});
            if let Some((r, m)) = reason {
                status["conditions"] = json!([{"type": "DisruptionTarget", "status": "True", "reason": r, "message": m, "lastTransitionTime": Time(Timestamp::now())}]);
            }
            match api.patch_status(name, &PatchParams::default(), &Patch::Strategic(&json!({"status": status}))).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        match api.delete(name, &DeleteParams::default().grace_period(0)).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
