//! NodeResourcesFit (does the pod fit the node's free allocatable resources, and how to score
//! the remaining room) and NodeResourcesBalancedAllocation (prefer nodes whose resource
//! fractions stay balanced).

mod balanced_allocation;
mod fit;
mod scoring;

pub use balanced_allocation::{BalancedAllocation, BalancedAllocationArgs, NAME as BALANCED_ALLOCATION_NAME};
pub use fit::{Fit, FitArgs, NAME as FIT_NAME, insufficient_reason};
pub use scoring::{ResourceSpec, ScoringStrategy, ScoringStrategyType, UtilizationShapePoint};

#[cfg(test)]
mod tests;
