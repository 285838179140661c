//! The priority class strategy (upstream's `pkg/registry/scheduling/priorityclass` and
//! `ValidatePriorityClass*`). That at most one class is the global default is checked by the
//! Priority admission plugin, not here.

use k8s_openapi::api::scheduling::v1::PriorityClass;
use krs_apimachinery::validation::{ErrorList, Path, field};
use krs_kinds::Object;

use crate::strategy::core::service::checks;
use crate::strategy::{Strategy, typed, typed_mut};

/// The highest priority a user-defined class may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// The prefix reserved for the system's classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";
/// The system's classes: name, value, global default.
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i32, bool)] =
    &[("system-node-critical", 2_000_001_000, false), ("system-cluster-critical", 2_000_000_000, false)];
const PREEMPTION_POLICIES: &[&str] = &["Never", "PreemptLowerPriority"];

/// The priority class strategy.
pub struct PriorityClassStrategy;

/// The priority class strategy.
pub static PRIORITY_CLASS: PriorityClassStrategy = PriorityClassStrategy;

/// Why a `system-` class is not one of the system's (`IsKnownSystemPriorityClass`).
fn system_class_error(name: &str, value: i32, global_default: bool) -> Option<String> {
    let Some((name, want_value, want_default)) = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _, _)| *n == name) else {
        return Some(format!("{name} is not a known system priority class"));
    };
    if *want_value != value {
        Some(format!("value of {name} PriorityClass must be {want_value}"))
    } else if *want_default != global_default {
        Some(format!("globalDefault of {name} PriorityClass must be {want_default}"))
    } else {
        None
    }
}

fn validate(pc: &PriorityClass) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = pc.metadata.name.as_deref().unwrap_or_default();
    if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        if let Some(err) = system_class_error(name, pc.value, pc.global_default.unwrap_or(false)) {
            errs.push(field::forbidden(
                &Path::new("metadata").child("name"),
                format!("priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: {err}"),
            ));
        }
    } else if pc.value > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.push(field::forbidden(
            &Path::new("value"),
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
        ));
    }
    if let Some(policy) = pc.preemption_policy.as_deref()
        && !PREEMPTION_POLICIES.contains(&policy)
    {
        errs.push(field::not_supported(&Path::new("preemptionPolicy"), policy, PREEMPTION_POLICIES));
    }
    errs
}

impl Strategy for PriorityClassStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(pc) = typed_mut::<PriorityClass>(obj)
            && pc.preemption_policy.is_none()
        {
            pc.preemption_policy = Some("PreemptLowerPriority".to_owned());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<PriorityClass>(obj).map(validate).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<PriorityClass>(new), typed::<PriorityClass>(old)) else {
            return ErrorList::new();
        };
        // Upstream checks only what may not change on update.
        let mut errs = ErrorList::new();
        if new.value != old.value {
            errs.push(field::forbidden(&Path::new("value"), "may not be changed in an update."));
        }
        errs.append(checks::immutable(&new.preemption_policy, &old.preemption_policy, &Path::new("preemptionPolicy")));
        errs
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn pc(name: &str, value: i32) -> PriorityClass {
        PriorityClass {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            value,
            ..Default::default()
        }
    }

    #[test]
    fn preemption_policy_defaults() {
        let mut p = pc("high", 1000);
        PRIORITY_CLASS.default(&mut p);
        assert_eq!(p.preemption_policy.as_deref(), Some("PreemptLowerPriority"));
        assert!(PRIORITY_CLASS.validate(&p).is_empty());
    }

    #[test]
    fn user_classes_are_capped_and_system_prefix_is_reserved() {
        assert_eq!(
            PRIORITY_CLASS.validate(&pc("huge", 1_000_000_001)).to_string(),
            "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
        );
        assert_eq!(
            PRIORITY_CLASS.validate(&pc("system-mine", 1)).to_string(),
            "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"
        );
        assert!(PRIORITY_CLASS.validate(&pc("system-node-critical", 2_000_001_000)).is_empty());
    }

    #[test]
    fn value_is_immutable() {
        assert_eq!(
            PRIORITY_CLASS.validate_update(&pc("a", 2), &pc("a", 1)).to_string(),
            "value: Forbidden: may not be changed in an update."
        );
    }
}
