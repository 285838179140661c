//! The resource scoring strategies (`resourceAllocationScorer`): LeastAllocated, MostAllocated,
//! RequestedToCapacityRatio, over a weighted list of resources.

use serde::Deserialize;

use crate::framework::resource::{CPU, MEMORY, Resource, ResourceKey, is_scalar_resource_name};
use crate::framework::{MAX_NODE_SCORE, NodeInfo};

/// A resource and its weight in the score (`ResourceSpec`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    pub name: String,
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// The default resources: cpu and memory, weight 1 each.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec { name: CPU.into(), weight: 1 }, ResourceSpec { name: MEMORY.into(), weight: 1 }]
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum ScoringStrategyType {
    #[default]
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio,
}

/// A point of the RequestedToCapacityRatio function: utilization 0..=100 to score 0..=10.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    pub utilization: i32,
    pub score: i32,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RequestedToCapacityRatioParam {
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

/// `ScoringStrategy` of NodeResourcesFitArgs.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScoringStrategy {
    #[serde(rename = "type", default)]
    pub kind: ScoringStrategyType,
    #[serde(default = "default_resources")]
    pub resources: Vec<ResourceSpec>,
    #[serde(default)]
    pub requested_to_capacity_ratio: Option<RequestedToCapacityRatioParam>,
}

impl Default for ScoringStrategy {
    fn default() -> ScoringStrategy {
        ScoringStrategy {
            kind: ScoringStrategyType::LeastAllocated,
            resources: default_resources(),
            requested_to_capacity_ratio: None,
        }
    }
}

/// The upper bound of a shape point's score (`MaxCustomPriorityScore`).
const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;

/// A scored resource with its name resolved, as plugins keep it.
#[derive(Clone, Debug)]
pub struct ScoredResource {
    pub key: ResourceKey,
    /// Whether the name is a scalar resource (extended, hugepages, attachable volumes).
    pub scalar: bool,
    pub weight: i64,
}

impl ScoredResource {
    pub fn resolve(specs: &[ResourceSpec]) -> Vec<ScoredResource> {
        specs
            .iter()
            .map(|r| ScoredResource {
                key: ResourceKey::new(&r.name),
                scalar: is_scalar_resource_name(&r.name),
                weight: r.weight,
            })
            .collect()
    }
}

/// The allocatable and requested amount of one resource on a node with the pod added
/// (`calculateResourceAllocatableRequest`); (0, 0) for an extended resource the pod does not
/// request. `non_zero` uses the defaulted CPU and memory requests.
pub fn allocatable_and_requested(
    node: &NodeInfo,
    pod_request: &Resource,
    resource: &ScoredResource,
    non_zero: bool,
) -> (i64, i64) {
    let key = &resource.key;
    let pod = pod_request.get_key(key);
    if pod == 0 && resource.scalar {
        return (0, 0);
    }
    let node_requested = if non_zero && matches!(key, ResourceKey::Cpu | ResourceKey::Memory) {
        node.non_zero_requested.get_key(key)
    } else {
        node.requested.get_key(key)
    };
    (node.allocatable.get_key(key), node_requested + pod)
}

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

fn most_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    // Requests above capacity happen with defaulted requests; they count as full.
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// A piecewise linear function through the shape points (`buildBrokenLinearFunction`), with
/// scores scaled from 0..=10 to 0..=100.
fn broken_linear(shape: &[UtilizationShapePoint], p: i64) -> i64 {
    let pts: Vec<(i64, i64)> = shape
        .iter()
        .map(|s| (i64::from(s.utilization), i64::from(s.score) * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE)))
        .collect();
    for i in 0..pts.len() {
        if p <= pts[i].0 {
            if i == 0 {
                return pts[0].1;
            }
            let (x0, y0) = pts[i - 1];
            let (x1, y1) = pts[i];
            return y0 + (y1 - y0) * (p - x0) / (x1 - x0);
        }
    }
    pts.last().map_or(0, |p| p.1)
}

/// Scores a node for the pod with a strategy.
pub struct Scorer {
    pub kind: ScoringStrategyType,
    pub resources: Vec<ScoredResource>,
    pub shape: Vec<UtilizationShapePoint>,
}

impl Scorer {
    pub fn new(strategy: &ScoringStrategy) -> Scorer {
        let mut shape = strategy.requested_to_capacity_ratio.as_ref().map(|r| r.shape.clone()).unwrap_or_default();
        if shape.is_empty() {
            // The default shape favours empty nodes, as LeastAllocated does.
            shape = vec![
                UtilizationShapePoint { utilization: 0, score: 10 },
                UtilizationShapePoint { utilization: 100, score: 0 },
            ];
        }
        Scorer { kind: strategy.kind, resources: ScoredResource::resolve(&strategy.resources), shape }
    }

    pub fn score(&self, node: &NodeInfo, pod_non_zero: &Resource) -> i64 {
        let mut sum = 0i64;
        let mut weights = 0i64;
        for r in &self.resources {
            let (alloc, req) = allocatable_and_requested(node, pod_non_zero, r, true);
            if alloc == 0 {
                continue;
            }
            let s = match self.kind {
                ScoringStrategyType::LeastAllocated => least_requested(req, alloc),
                ScoringStrategyType::MostAllocated => most_requested(req, alloc),
                ScoringStrategyType::RequestedToCapacityRatio => {
                    if req > alloc {
                        broken_linear(&self.shape, 100)
                    } else {
                        broken_linear(&self.shape, req * 100 / alloc)
                    }
                }
            };
            sum += s * r.weight;
            weights += r.weight;
        }
        if weights == 0 {
            return 0;
        }
        if self.kind == ScoringStrategyType::RequestedToCapacityRatio {
            return (sum as f64 / weights as f64).round() as i64;
        }
        sum / weights
    }
}
