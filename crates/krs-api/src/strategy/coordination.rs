//! The lease strategy (upstream's `pkg/registry/coordination/lease` and `ValidateLease*`).
//!
//! `strategy` and `preferredHolder` belong to coordinated leader election, a feature that is
//! off by default in 1.34: like upstream, they are dropped unless the stored lease uses them.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use krs_apimachinery::validation::{ErrorList, Path, field, is_qualified_name};
use krs_kinds::Object;

use crate::strategy::core::service::checks;
use crate::strategy::{Strategy, typed, typed_mut};

const LEASE_STRATEGIES: &[&str] = &["OldestEmulationVersion"];

/// The lease strategy.
pub struct LeaseStrategy;

/// The lease strategy.
pub static LEASE: LeaseStrategy = LeaseStrategy;

fn uses_coordination(spec: Option<&LeaseSpec>) -> bool {
    spec.is_some_and(|s| s.strategy.is_some() || s.preferred_holder.is_some())
}

fn drop_coordination(lease: &mut Lease) {
    if let Some(spec) = lease.spec.as_mut() {
        spec.strategy = None;
        spec.preferred_holder = None;
    }
}

fn validate(lease: &Lease) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(spec) = &lease.spec else {
        return errs;
    };
    let path = Path::new("spec");
    if let Some(d) = spec.lease_duration_seconds
        && d <= 0
    {
        errs.push(field::invalid(&path.child("leaseDurationSeconds"), d, "must be greater than 0"));
    }
    if let Some(t) = spec.lease_transitions
        && t < 0
    {
        errs.push(field::invalid(&path.child("leaseTransitions"), t, "must be greater than or equal to 0"));
    }
    if let Some(strategy) = &spec.strategy {
        // Upstream names this field twice in the path.
        let sp = path.child("strategy").child("strategy");
        if !strategy.contains('/') {
            if !LEASE_STRATEGIES.contains(&strategy.as_str()) {
                errs.push(field::not_supported(&sp, strategy, LEASE_STRATEGIES));
            }
        } else {
            errs.append(checks::each(strategy, &sp, is_qualified_name(strategy)));
        }
    }
    if spec.preferred_holder.as_deref().is_some_and(|h| !h.is_empty())
        && spec.strategy.as_deref().unwrap_or_default().is_empty()
    {
        errs.push(field::forbidden(&path.child("preferredHolder"), "may only be specified if `strategy` is defined"));
    }
    errs
}

impl Strategy for LeaseStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    /// Lease updates must name the resourceVersion they replace.
    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(lease) = typed_mut::<Lease>(obj) {
            drop_coordination(lease);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let in_use = typed::<Lease>(old).is_some_and(|o| uses_coordination(o.spec.as_ref()));
        if !in_use && let Some(lease) = typed_mut::<Lease>(new) {
            drop_coordination(lease);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Lease>(obj).map(validate).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(spec: LeaseSpec) -> Lease {
        Lease { spec: Some(spec), ..Default::default() }
    }

    #[test]
    fn durations_and_transitions_are_checked() {
        let l = lease(LeaseSpec { lease_duration_seconds: Some(0), lease_transitions: Some(-1), ..Default::default() });
        assert_eq!(
            LEASE.validate(&l).to_string(),
            "[spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]"
        );
        let ok = lease(LeaseSpec {
            holder_identity: Some("me".into()),
            lease_duration_seconds: Some(15),
            ..Default::default()
        });
        assert!(LEASE.validate(&ok).is_empty());
    }

    #[test]
    fn coordination_fields_are_dropped_on_create() {
        let mut l = lease(LeaseSpec {
            strategy: Some("OldestEmulationVersion".into()),
            preferred_holder: Some("x".into()),
            ..Default::default()
        });
        LEASE.prepare_for_create(&mut l);
        assert_eq!(l.spec.as_ref().unwrap().strategy, None);
        assert_eq!(l.spec.as_ref().unwrap().preferred_holder, None);
    }

    #[test]
    fn preferred_holder_needs_a_strategy() {
        let l = lease(LeaseSpec { preferred_holder: Some("x".into()), ..Default::default() });
        assert_eq!(
            LEASE.validate(&l).to_string(),
            "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"
        );
    }
}
