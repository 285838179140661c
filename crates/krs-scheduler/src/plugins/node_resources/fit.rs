//! NodeResourcesFit: the pod's requests must fit the node's allocatable minus what its pods
//! request; scores by the configured strategy.

use std::borrow::Cow;

use serde::Deserialize;

use super::scoring::{Scorer, ScoringStrategy};
use crate::cache::Snapshot;
use crate::framework::events::{
    ADD, ClusterEvent, DELETE, EventResource, UPDATE_NODE_ALLOCATABLE, UPDATE_POD_SCALE_DOWN,
};
use crate::framework::{
    Code, CycleState, FilterPlugin, NodeInfo, NodeSet, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Status,
};

pub const NAME: &str = "NodeResourcesFit";
/// The reason for a node without room for one more pod.
pub const ERR_REASON_TOO_MANY_PODS: &str = "Too many pods";

/// "Insufficient <resource>".
pub fn insufficient_reason(resource: &str) -> String {
    format!("Insufficient {resource}")
}

/// `NodeResourcesFitArgs`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FitArgs {
    #[serde(default)]
    pub ignored_resources: Vec<String>,
    #[serde(default)]
    pub ignored_resource_groups: Vec<String>,
    #[serde(default)]
    pub scoring_strategy: Option<ScoringStrategy>,
}

pub struct Fit {
    ignored_resources: Vec<String>,
    ignored_resource_groups: Vec<String>,
    scorer: Scorer,
}

impl Fit {
    pub fn new(args: FitArgs) -> Fit {
        Fit {
            ignored_resources: args.ignored_resources,
            ignored_resource_groups: args.ignored_resource_groups,
            scorer: Scorer::new(&args.scoring_strategy.unwrap_or_default()),
        }
    }

    fn ignored(&self, name: &str) -> bool {
        self.ignored_resources.iter().any(|r| r == name)
            || name.split_once('/').is_some_and(|(group, _)| self.ignored_resource_groups.iter().any(|g| g == group))
    }
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Pod, DELETE | UPDATE_POD_SCALE_DOWN),
            ClusterEvent::new(EventResource::Node, ADD | UPDATE_NODE_ALLOCATABLE),
        ]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// A resource the node has too little of for the pod (`InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    /// `cpu`, `memory`, `ephemeral-storage`, `pods` or a scalar resource's name.
    pub resource: String,
    /// "Too many pods" or "Insufficient <resource>".
    pub reason: String,
    /// In the resource's unit (millicores for CPU, bytes, pods).
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
}

/// Every resource the pod's requests do not fit in the node's allocatable less what its pods
/// request (`fitsRequest`); `ignored` scalar resources are not checked.
pub fn insufficient_resources(
    pod: &PodInfo,
    node: &NodeInfo,
    ignored: impl Fn(&str) -> bool,
) -> Vec<InsufficientResource> {
    let mut out = Vec::new();
    let alloc = &node.allocatable;
    let pods = node.pods.len() as i64;
    if pods + 1 > alloc.allowed_pod_number {
        out.push(InsufficientResource {
            resource: "pods".into(),
            reason: ERR_REASON_TOO_MANY_PODS.into(),
            requested: 1,
            used: pods,
            capacity: alloc.allowed_pod_number,
        });
    }
    let req = &pod.requests;
    if req.milli_cpu == 0 && req.memory == 0 && req.ephemeral_storage == 0 && req.scalar.is_empty() {
        return out;
    }
    let used = &node.requested;
    let mut check = |name: &str, want: i64, have: i64, used: i64| {
        if want > 0 && want > have - used {
            out.push(InsufficientResource {
                resource: name.to_owned(),
                reason: insufficient_reason(name),
                requested: want,
                used,
                capacity: have,
            });
        }
    };
    check("cpu", req.milli_cpu, alloc.milli_cpu, used.milli_cpu);
    check("memory", req.memory, alloc.memory, used.memory);
    check("ephemeral-storage", req.ephemeral_storage, alloc.ephemeral_storage, used.ephemeral_storage);
    for (name, want) in &req.scalar {
        if ignored(name) {
            continue;
        }
        let have = alloc.scalar.get(name).copied().unwrap_or(0);
        let used = used.scalar.get(name).copied().unwrap_or(0);
        check(name, *want, have, used);
    }
    out
}

impl FilterPlugin for Fit {
    /// Every insufficient resource is a reason (`fitsRequest`). A request larger than the whole
    /// allocatable cannot be helped by preemption, so it is unresolvable.
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let insufficient = insufficient_resources(pod, node, |name| self.ignored(name));
        if insufficient.is_empty() {
            return Status::success();
        }
        // Too many pods alone can be helped by preemption; a request beyond the whole
        // allocatable cannot.
        let unresolvable = insufficient.iter().any(|r| r.resource != "pods" && r.requested > r.capacity);
        let reasons: Vec<Cow<'static, str>> = insufficient
            .into_iter()
            .map(|r| match r.resource.as_str() {
                "pods" => Cow::Borrowed(ERR_REASON_TOO_MANY_PODS),
                "cpu" => Cow::Borrowed("Insufficient cpu"),
                "memory" => Cow::Borrowed("Insufficient memory"),
                "ephemeral-storage" => Cow::Borrowed("Insufficient ephemeral-storage"),
                _ => Cow::Owned(r.reason),
            })
            .collect();
        status(reasons, unresolvable)
    }
}

fn status(reasons: Vec<Cow<'static, str>>, unresolvable: bool) -> Status {
    if reasons.is_empty() {
        return Status::success();
    }
    Status::with_reasons(if unresolvable { Code::UnschedulableAndUnresolvable } else { Code::Unschedulable }, reasons)
}

impl PreScorePlugin for Fit {
    fn pre_score(&self, _state: &mut CycleState, _pod: &PodInfo, _nodes: NodeSet<'_>, _snapshot: &Snapshot) -> Status {
        // The pod's defaulted requests are parsed once in PodInfo; nothing to precompute.
        Status::success()
    }
}

impl ScorePlugin for Fit {
    fn score(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(self.scorer.score(node, &pod.non_zero_requests))
    }
}
