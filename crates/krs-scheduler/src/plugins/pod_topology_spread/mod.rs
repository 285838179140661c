//! PodTopologySpread: DoNotSchedule constraints filter nodes whose domain would exceed maxSkew
//! over the least loaded domain; ScheduleAnyway constraints (or the system default constraints
//! for pods of Services and workloads) score nodes by how few matching pods their domains hold.
//! Counts are computed once per cycle in PreFilter/PreScore (`topologyPair` counts), so Filter
//! and Score are lookups.

mod counts;
mod filtering;
mod scoring;

use crate::framework::LabelLookup;
use std::sync::Arc;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use krs_apimachinery::labels::{Operator, Requirement, Selector};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::framework::events::{ADD, ALL, ClusterEvent, DELETE, EventResource, UPDATE_NODE_LABEL, UPDATE_NODE_TAINT};
use crate::framework::helpers::{RequiredNodeAffinity, find_untolerated_taint, pod_tolerations};
use crate::framework::pod_list::PodList;
use crate::framework::{
    CycleState, FilterPlugin, Handle, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreScorePlugin, ScorePlugin,
};

pub const NAME: &str = "PodTopologySpread";
/// The node's domain would exceed maxSkew (`ErrReasonConstraintsNotMatch`).
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// The node lacks a constraint's topology key (`ErrReasonNodeLabelNotMatch`).
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";

/// `PodTopologySpreadArgs`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTopologySpreadArgs {
    #[serde(default)]
    pub default_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default = "system")]
    pub defaulting_type: String,
}

fn system() -> String {
    "System".into()
}

impl Default for PodTopologySpreadArgs {
    fn default() -> PodTopologySpreadArgs {
        PodTopologySpreadArgs { default_constraints: Vec::new(), defaulting_type: system() }
    }
}

/// The system default constraints (`systemDefaultConstraints`): spread over hosts (skew 3) and
/// zones (skew 5), both ScheduleAnyway.
fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let c = |key: &str, skew: i32| TopologySpreadConstraint {
        topology_key: key.into(),
        max_skew: skew,
        when_unsatisfiable: "ScheduleAnyway".into(),
        ..Default::default()
    };
    vec![c(HOSTNAME, 3), c(ZONE, 5)]
}

/// A constraint with its selector compiled (`topologySpreadConstraint`).
#[derive(Clone, Debug)]
pub(crate) struct Constraint {
    pub max_skew: i64,
    pub topology_key: String,
    pub selector: Selector,
    pub min_domains: i64,
    /// nodeAffinityPolicy Honor (the default): only nodes matching the pod's node affinity count.
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy Honor: only nodes whose taints the pod tolerates count.
    pub honor_node_taints: bool,
}

impl Constraint {
    /// Whether the node counts for this constraint (`matchNodeInclusionPolicies`).
    pub fn matches_node_inclusion_policies(
        &self,
        pod: &PodInfo,
        affinity: &RequiredNodeAffinity<'_>,
        node: &NodeInfo,
    ) -> bool {
        if self.honor_node_affinity && !affinity.matches(node) {
            return false;
        }
        if self.honor_node_taints && find_untolerated_taint(&node.taints, pod_tolerations(&pod.pod), |_| true).is_some()
        {
            return false;
        }
        true
    }
}

/// Whether the node has every constraint's topology key (`nodeLabelsMatchSpreadConstraints`).
pub(crate) fn node_has_all_keys(labels: &(impl LabelLookup + ?Sized), constraints: &[Constraint]) -> bool {
    constraints.iter().all(|c| labels.label(&c.topology_key).is_some())
}

/// Pods on the node in `namespace`, not terminating, matching the selector (`countPodsMatchSelector`).
pub(crate) fn count_pods_match_selector(pods: &PodList, selector: &Selector, namespace: &str) -> i64 {
    if selector.matches_nothing() {
        return 0;
    }
    pods.iter().filter(|p| p.namespace == namespace && !p.is_terminating() && selector.matches(p.labels())).count()
        as i64
}

pub struct PodTopologySpread {
    default_constraints: Vec<TopologySpreadConstraint>,
    system_defaulted: bool,
    handle: Arc<Handle>,
    /// PreFilter's counts, kept across cycles.
    counts: parking_lot::Mutex<counts::CountsCache>,
}

impl PodTopologySpread {
    pub fn new(args: PodTopologySpreadArgs, handle: Arc<Handle>) -> Result<PodTopologySpread, ConfigError> {
        let (default_constraints, system_defaulted) = match args.defaulting_type.as_str() {
            "System" => {
                if !args.default_constraints.is_empty() {
                    return Err(ConfigError::PluginArgs {
                        plugin: NAME.into(),
                        message: "defaultConstraints: Invalid value: when .defaultingType is \"System\", .defaultConstraints must be empty".into(),
                    });
                }
                (system_default_constraints(), true)
            }
            "List" => (args.default_constraints, false),
            other => {
                return Err(ConfigError::PluginArgs {
                    plugin: NAME.into(),
                    message: format!(
                        "defaultingType: Unsupported value: \"{other}\": supported values: \"List\", \"System\""
                    ),
                });
            }
        };
        Ok(PodTopologySpread { default_constraints, system_defaulted, handle, counts: Default::default() })
    }

    /// The pod's constraints with `when` (DoNotSchedule or ScheduleAnyway), or the default
    /// constraints with the pod's workload selector when it has none (`getConstraints`).
    pub(crate) fn constraints(&self, pod: &PodInfo, when: &str) -> Vec<Constraint> {
        let own = pod.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_deref()).unwrap_or_default();
        if !own.is_empty() {
            return own.iter().filter(|c| c.when_unsatisfiable == when).filter_map(|c| compile(c, pod, None)).collect();
        }
        if self.default_constraints.iter().all(|c| c.when_unsatisfiable != when) {
            return Vec::new();
        }
        let reqs = self.handle.listers.default_selector(&pod.namespace, pod.labels());
        if reqs.is_empty() {
            return Vec::new();
        }
        let selector = Selector::everything().add(reqs);
        self.default_constraints
            .iter()
            .filter(|c| c.when_unsatisfiable == when)
            .filter_map(|c| compile(c, pod, Some(selector.clone())))
            .collect()
    }
}

/// Compiles a constraint: its labelSelector plus `key in (pod's value)` for each matchLabelKeys
/// key the pod has; a default constraint takes the workload selector.
fn compile(c: &TopologySpreadConstraint, pod: &PodInfo, default_selector: Option<Selector>) -> Option<Constraint> {
    let mut selector = match default_selector {
        Some(s) => s,
        None => Selector::from_label_selector(c.label_selector.as_ref()).ok()?,
    };
    let mut extra = Vec::new();
    for key in c.match_label_keys.iter().flatten() {
        if let Some(v) = pod.labels().get(key)
            && let Ok(r) = Requirement::new(key.clone(), Operator::In, vec![v.clone()])
        {
            extra.push(r);
        }
    }
    if !extra.is_empty() {
        selector = selector.add(extra);
    }
    Some(Constraint {
        max_skew: i64::from(c.max_skew),
        topology_key: c.topology_key.clone(),
        selector,
        min_domains: i64::from(c.min_domains.unwrap_or(1)),
        honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
        honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
    })
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::Pod, ALL),
            ClusterEvent::new(EventResource::Node, ADD | DELETE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT),
        ]
    }
    fn filter_node_key(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Option<String> {
        filtering::node_key(state, pod, node)
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
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

#[cfg(test)]
mod tests;
