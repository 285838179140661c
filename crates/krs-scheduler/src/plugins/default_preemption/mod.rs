//! DefaultPreemption: when no node fits, find nodes where evicting lower-priority pods would
//! make room, choose the victims on each (respecting PodDisruptionBudgets as far as possible,
//! reprieving every pod that can stay), pick the best node, nominate the pod to it and evict
//! the victims asynchronously (`preemption.Evaluator`).

mod victims;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

use crate::api::PodEvent;
use crate::framework::{
    Code, CycleState, Handle, NodeToStatus, Plugin, PodInfo, PostFilterContext, PostFilterPlugin, PostFilterResult,
    Status,
};
use crate::scheduler::algorithm::{Diagnosis, FitError};
pub use victims::{Candidate, pick_one_node_for_preemption, select_victims_on_node};

pub const NAME: &str = "DefaultPreemption";
/// The status of nodes where preemption cannot help (`Preemption is not helpful...`).
pub const ERR_REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// A node without lower-priority pods.
pub const ERR_REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const ERR_REASON_POLICY_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
pub const ERR_REASON_TERMINATING_ON_NOMINATED: &str = "not eligible due to a terminating pod on the nominated node.";

/// `DefaultPreemptionArgs`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultPreemptionArgs {
    #[serde(default = "ten")]
    pub min_candidate_nodes_percentage: i32,
    #[serde(default = "hundred")]
    pub min_candidate_nodes_absolute: i32,
}

fn ten() -> i32 {
    10
}

fn hundred() -> i32 {
    100
}

impl Default for DefaultPreemptionArgs {
    fn default() -> DefaultPreemptionArgs {
        DefaultPreemptionArgs { min_candidate_nodes_percentage: 10, min_candidate_nodes_absolute: 100 }
    }
}

pub struct DefaultPreemption {
    args: DefaultPreemptionArgs,
    handle: Arc<Handle>,
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// A pod the scheduler is already evicting: being deleted with the DisruptionTarget condition
/// it sets (`podTerminatingByPreemption`).
fn terminating_by_preemption(p: &PodInfo) -> bool {
    p.is_terminating()
        && p.pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "DisruptionTarget"
                    && c.status == "True"
                    && c.reason.as_deref() == Some("PreemptionByScheduler")
            })
        })
}

impl DefaultPreemption {
    pub fn new(args: DefaultPreemptionArgs, handle: Arc<Handle>) -> DefaultPreemption {
        DefaultPreemption { args, handle }
    }

    /// How many candidates the dry run looks for (`calculateNumCandidates`).
    fn num_candidates(&self, nodes: usize) -> usize {
        let n = nodes * self.args.min_candidate_nodes_percentage.max(0) as usize / 100;
        n.max(self.args.min_candidate_nodes_absolute.max(0) as usize).min(nodes)
    }

    /// Whether the pod may preempt at all (`PodEligibleToPreemptOthers`).
    fn eligible(&self, ctx: &PostFilterContext<'_>, pod: &PodInfo) -> Result<(), &'static str> {
        if pod.pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
            return Err(ERR_REASON_POLICY_NEVER);
        }
        let nominated = pod.nominated_node_name();
        if !nominated.is_empty()
            && ctx.node_statuses.get(nominated).is_none_or(|s| s.code != Code::UnschedulableAndUnresolvable)
            && let Some(node) = ctx.snapshot.get(nominated)
            && node.pods.iter().any(|p| p.priority < pod.priority && terminating_by_preemption(p))
        {
            return Err(ERR_REASON_TERMINATING_ON_NOMINATED);
        }
        Ok(())
    }

    fn preempt(
        &self,
        ctx: &PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
    ) -> (Option<PostFilterResult>, Status) {
        if let Err(reason) = self.eligible(ctx, pod) {
            return (None, Status::unschedulable(reason));
        }
        let all = &ctx.snapshot.node_info_list;
        let potential: Vec<_> = all
            .iter()
            .filter(|n| ctx.node_statuses.get(&n.name).is_some_and(|s| s.code == Code::Unschedulable))
            .cloned()
            .collect();
        let mut statuses = NodeToStatus::default();
        if potential.is_empty() {
            self.clear_nomination(pod);
            return (None, not_found(all.len(), statuses));
        }
        let pdbs: Vec<_> = self.handle.listers.pdbs.read().values().cloned().collect();
        let wanted = self.num_candidates(potential.len());
        let offset = rand::rng().random_range(0..potential.len());
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut non_violating = 0;
        for i in 0..potential.len() {
            let node = &potential[(offset + i) % potential.len()];
            let mut node_copy = (**node).clone();
            let mut state_copy = state.clone();
            match select_victims_on_node(ctx.framework, &mut state_copy, pod, &mut node_copy, &pdbs) {
                Ok((victims, violations)) if !victims.is_empty() => {
                    if violations == 0 {
                        non_violating += 1;
                    }
                    candidates.push(Candidate { node: node.name.to_string(), victims, pdb_violations: violations });
                    if non_violating > 0 && candidates.len() >= wanted {
                        break;
                    }
                }
                Ok(_) => {
                    statuses.statuses.insert(
                        node.name.clone(),
                        Status::error(format!("expected at least one victim pod on node {:?}", &*node.name)),
                    );
                }
                Err(s) => {
                    statuses.statuses.insert(node.name.clone(), s);
                }
            }
        }
        let Some(best) = pick_one_node_for_preemption(&candidates) else {
            return (None, not_found(all.len(), statuses));
        };
        let best = candidates.swap_remove(best);
        self.handle.metrics.observe_preemption(best.victims.len());
        self.prepare_candidate(pod, &best);
        (Some(PostFilterResult { nominated_node_name: Some(best.node.clone()) }), Status::success())
    }

    /// Evicts the victims (DisruptionTarget condition, then delete) and takes the nomination
    /// away from lower-priority pods nominated to the node, without waiting (async preemption).
    fn prepare_candidate(&self, preemptor: &Arc<PodInfo>, c: &Candidate) {
        for v in &c.victims {
            self.handle.events.record(PodEvent {
                pod: v.clone(),
                type_: "Normal",
                reason: "Preempted",
                action: "Preempting",
                note: format!(
                    "Preempted by pod {} on node {}",
                    preemptor.pod.metadata.uid.as_deref().unwrap_or_default(),
                    c.node
                ),
            });
        }
        let lower_nominated: Vec<Arc<PodInfo>> = self
            .handle
            .nominator
            .pods_for_node(&c.node)
            .into_iter()
            .filter(|p| p.priority < preemptor.priority && p.key != preemptor.key)
            .collect();
        for p in &lower_nominated {
            self.handle.nominator.delete(&p.key);
        }
        let (Some(client), Ok(rt)) = (self.handle.client.clone(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let victims = c.victims.clone();
        let message = format!("{}: preempting to accommodate a higher priority pod", crate::api::REPORTING_CONTROLLER);
        rt.spawn(async move {
            for v in victims {
                let api: Api<Pod> = Api::namespaced(client.clone(), &v.namespace);
                let condition = json!({"status": {"conditions": [{
                    "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                    "message": message, "lastTransitionTime": jiff::Timestamp::now(),
                }]}});
                let _ = api.patch_status(&v.name, &PatchParams::default(), &Patch::Strategic(condition)).await;
                if let Err(e) = api.delete(&v.name, &DeleteParams::default()).await {
                    tracing::debug!(pod = %v.key, error = %e, "deleting preemption victim");
                }
            }
            for p in lower_nominated {
                let _ = crate::api::set_nominated_node(client.clone(), &p, "").await;
            }
        });
    }

    fn clear_nomination(&self, pod: &Arc<PodInfo>) {
        if pod.nominated_node_name().is_empty() {
            return;
        }
        self.handle.nominator.delete(&pod.key);
        let (Some(client), Ok(rt)) = (self.handle.client.clone(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let pod = pod.clone();
        rt.spawn(async move {
            let _ = crate::api::set_nominated_node(client, &pod, "").await;
        });
    }
}

/// "0/N nodes are available: ..." with the dry run's statuses, other nodes as not helpful.
fn not_found(all: usize, mut statuses: NodeToStatus) -> Status {
    statuses.absent = Some(Status::unresolvable(ERR_REASON_NOT_HELPFUL));
    let fit = FitError { num_all_nodes: all, diagnosis: Diagnosis { node_to_status: statuses, ..Default::default() } };
    Status::unschedulable(fit.message())
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        ctx: &PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
    ) -> (Option<PostFilterResult>, Status) {
        let (result, status) = self.preempt(ctx, state, pod);
        let msg = status.message();
        if msg.is_empty() {
            return (result, status);
        }
        (result, Status::new(status.code, format!("preemption: {msg}")))
    }
}

#[cfg(test)]
mod tests;
