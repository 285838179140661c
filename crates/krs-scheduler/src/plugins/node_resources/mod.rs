//! NodeResourcesFit (does the pod fit the node's free allocatable resources, and how to score
//! the remaining room) and NodeResourcesBalancedAllocation (prefer nodes whose resource
//! fractions stay balanced).

mod balanced_allocation;
mod fit;
mod scoring;

pub use balanced_allocation::{BalancedAllocation, BalancedAllocationArgs, NAME as BALANCED_ALLOCATION_NAME};
pub use fit::{
    ERR_REASON_TOO_MANY_PODS, Fit, FitArgs, InsufficientResource, NAME as FIT_NAME, insufficient_reason,
    insufficient_resources,
};
pub use scoring::{ResourceSpec, ScoringStrategy, ScoringStrategyType, UtilizationShapePoint};

#[cfg(test)]
mod tests;
