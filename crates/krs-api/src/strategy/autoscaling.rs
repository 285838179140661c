//! The horizontal pod autoscaler strategy, for both served versions (upstream's
//! `pkg/registry/autoscaling/horizontalpodautoscaler`, the autoscaling/v2 defaults and
//! `pkg/apis/autoscaling/validation`).
//!
//! autoscaling/v2 is the storage version and the one validated: an autoscaling/v1 object is
//! converted to v2 first (see [`crate::conversion`]), as upstream validates its internal type.

mod validation;

use k8s_openapi::api::autoscaling::{v1, v2};
use krs_apimachinery::validation::ErrorList;
use krs_kinds::Object;

use crate::strategy::{Strategy, typed, typed_mut};

/// The horizontal pod autoscaler strategy (both rows of the catalog).
pub struct HorizontalPodAutoscalerStrategy;

/// The horizontal pod autoscaler strategy.
pub static HORIZONTAL_POD_AUTOSCALER: HorizontalPodAutoscalerStrategy = HorizontalPodAutoscalerStrategy;

/// The scale-up rules every behavior gets unless it says otherwise: no stabilization, the
/// larger of 4 pods or 100% per 15 seconds.
fn default_scale_up() -> v2::HPAScalingRules {
    v2::HPAScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some("Max".to_owned()),
        policies: Some(vec![
            v2::HPAScalingPolicy { type_: "Pods".to_owned(), value: 4, period_seconds: 15 },
            v2::HPAScalingPolicy { type_: "Percent".to_owned(), value: 100, period_seconds: 15 },
        ]),
        tolerance: None,
    }
}

/// The scale-down rules: 100% per 15 seconds. The stabilization window stays unset, since
/// the controller's command line sets its default.
fn default_scale_down() -> v2::HPAScalingRules {
    v2::HPAScalingRules {
        stabilization_window_seconds: None,
        select_policy: Some("Max".to_owned()),
        policies: Some(vec![v2::HPAScalingPolicy { type_: "Percent".to_owned(), value: 100, period_seconds: 15 }]),
        tolerance: None,
    }
}

/// Fills the unset fields of `rules` from `defaults` (`copyHPAScalingRules`).
fn fill_rules(rules: Option<v2::HPAScalingRules>, mut defaults: v2::HPAScalingRules) -> v2::HPAScalingRules {
    if let Some(rules) = rules {
        if rules.select_policy.is_some() {
            defaults.select_policy = rules.select_policy;
        }
        if rules.stabilization_window_seconds.is_some() {
            defaults.stabilization_window_seconds = rules.stabilization_window_seconds;
        }
        if rules.policies.is_some() {
            defaults.policies = rules.policies;
        }
        if rules.tolerance.is_some() {
            defaults.tolerance = rules.tolerance;
        }
    }
    defaults
}

/// Upstream's autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler`.
pub fn set_defaults_v2(hpa: &mut v2::HorizontalPodAutoscaler) {
    let spec = hpa.spec.get_or_insert_with(Default::default);
    if spec.min_replicas.is_none() {
        spec.min_replicas = Some(1);
    }
    if spec.metrics.as_ref().is_none_or(|m| m.is_empty()) {
        spec.metrics = Some(vec![v2::MetricSpec {
            type_: "Resource".to_owned(),
            resource: Some(v2::ResourceMetricSource {
                name: "cpu".to_owned(),
                target: v2::MetricTarget {
                    type_: "Utilization".to_owned(),
                    average_utilization: Some(crate::conversion::DEFAULT_CPU_UTILIZATION as i32),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }]);
    }
    if let Some(behavior) = spec.behavior.as_mut() {
        behavior.scale_up = Some(fill_rules(behavior.scale_up.take(), default_scale_up()));
        behavior.scale_down = Some(fill_rules(behavior.scale_down.take(), default_scale_down()));
    }
}

/// The tolerance of scaling rules is an alpha field in 1.34 (`HPAConfigurableTolerance`):
/// dropped unless the stored object already uses it.
fn drop_tolerance(hpa: &mut v2::HorizontalPodAutoscaler, old: Option<&v2::HorizontalPodAutoscaler>) {
    let uses = |h: &v2::HorizontalPodAutoscaler| {
        h.spec.as_ref().and_then(|s| s.behavior.as_ref()).is_some_and(|b| {
            [&b.scale_up, &b.scale_down].iter().any(|r| r.as_ref().is_some_and(|r| r.tolerance.is_some()))
        })
    };
    if old.is_some_and(uses) {
        return;
    }
    if let Some(b) = hpa.spec.as_mut().and_then(|s| s.behavior.as_mut()) {
        for rules in [b.scale_up.as_mut(), b.scale_down.as_mut()].into_iter().flatten() {
            rules.tolerance = None;
        }
    }
}

/// The object as autoscaling/v2, whichever version it was written in.
fn as_v2(obj: &dyn Object) -> Option<v2::HorizontalPodAutoscaler> {
    if let Some(hpa) = typed::<v2::HorizontalPodAutoscaler>(obj) {
        return Some(hpa.clone());
    }
    typed::<v1::HorizontalPodAutoscaler>(obj)?;
    let value = crate::conversion::convert(obj.to_value(), "autoscaling", "v2").ok()?;
    serde_json::from_value(value).ok()
}

impl Strategy for HorizontalPodAutoscalerStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(hpa) = typed_mut::<v2::HorizontalPodAutoscaler>(obj) {
            set_defaults_v2(hpa);
        } else if let Some(hpa) = typed_mut::<v1::HorizontalPodAutoscaler>(obj) {
            let spec = hpa.spec.get_or_insert_with(Default::default);
            if spec.min_replicas.is_none() {
                spec.min_replicas = Some(1);
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(hpa) = typed_mut::<v2::HorizontalPodAutoscaler>(obj) {
            drop_tolerance(hpa, None);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let old = typed::<v2::HorizontalPodAutoscaler>(old).cloned();
        if let Some(hpa) = typed_mut::<v2::HorizontalPodAutoscaler>(new) {
            drop_tolerance(hpa, old.as_ref());
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        as_v2(obj).map(|hpa| validation::validate_spec(&hpa)).unwrap_or_default()
    }

    fn validate_status_update(&self, new: &dyn Object, _old: &dyn Object) -> ErrorList {
        as_v2(new).map(|hpa| validation::validate_status(&hpa)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa() -> v2::HorizontalPodAutoscaler {
        v2::HorizontalPodAutoscaler {
            spec: Some(v2::HorizontalPodAutoscalerSpec {
                max_replicas: 5,
                scale_target_ref: v2::CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: "web".into(),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_min_replicas_and_cpu_metric() {
        let mut h = hpa();
        HORIZONTAL_POD_AUTOSCALER.default(&mut h);
        let spec = h.spec.as_ref().unwrap();
        assert_eq!(spec.min_replicas, Some(1));
        let metric = &spec.metrics.as_ref().unwrap()[0];
        assert_eq!(metric.type_, "Resource");
        let resource = metric.resource.as_ref().unwrap();
        assert_eq!((resource.name.as_str(), resource.target.type_.as_str()), ("cpu", "Utilization"));
        assert_eq!(resource.target.average_utilization, Some(80));
        assert!(HORIZONTAL_POD_AUTOSCALER.validate(&h).is_empty(), "{}", HORIZONTAL_POD_AUTOSCALER.validate(&h));
    }

    #[test]
    fn behavior_gets_default_rules() {
        let mut h = hpa();
        h.spec.as_mut().unwrap().behavior = Some(v2::HorizontalPodAutoscalerBehavior {
            scale_down: Some(v2::HPAScalingRules { stabilization_window_seconds: Some(60), ..Default::default() }),
            scale_up: None,
        });
        HORIZONTAL_POD_AUTOSCALER.default(&mut h);
        let behavior = h.spec.as_ref().unwrap().behavior.as_ref().unwrap();
        assert_eq!(behavior.scale_up, Some(default_scale_up()));
        let down = behavior.scale_down.as_ref().unwrap();
        assert_eq!(down.stabilization_window_seconds, Some(60));
        assert_eq!(down.select_policy.as_deref(), Some("Max"));
        assert_eq!(down.policies.as_ref().unwrap()[0].value, 100);
    }

    #[test]
    fn v1_objects_are_validated_as_v2() {
        let h = v1::HorizontalPodAutoscaler {
            spec: Some(v1::HorizontalPodAutoscalerSpec {
                max_replicas: 0,
                min_replicas: Some(1),
                scale_target_ref: v1::CrossVersionObjectReference {
                    kind: "Deployment".into(),
                    name: "web".into(),
                    api_version: None,
                },
                target_cpu_utilization_percentage: Some(0),
            }),
            ..Default::default()
        };
        assert_eq!(
            HORIZONTAL_POD_AUTOSCALER.validate(&h).to_string(),
            "[spec.maxReplicas: Invalid value: 0: must be greater than 0, spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`, spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0]"
        );
    }
}
