//! ResourceQuota accounting (upstream's `k8s.io/apiserver/pkg/quota/v1` with the evaluators of
//! `pkg/quota/v1/evaluator/core`): which quota resources an object of a kind is charged for,
//! and how much one object uses. The quota controller sums it over a namespace; the API
//! server's ResourceQuota admission charges it to a new or changed object.

pub mod evaluators;
pub mod pods;
pub mod resources;

use k8s_openapi::api::core::v1::{ResourceQuota, ScopedResourceSelectorRequirement};

/// The scopes and scope selector of a quota as requirements (a scope is `Exists`), as upstream's
/// `getScopeSelectorsFromQuota`.
pub fn requirements(quota: &ResourceQuota) -> Vec<ScopedResourceSelectorRequirement> {
    let spec = quota.spec.clone().unwrap_or_default();
    let scopes = spec.scopes.into_iter().flatten().map(|scope_name| ScopedResourceSelectorRequirement {
        scope_name,
        operator: "Exists".into(),
        values: None,
    });
    scopes.chain(spec.scope_selector.and_then(|s| s.match_expressions).into_iter().flatten()).collect()
}
