//! Horizontal pod autoscaler validation (upstream's `ValidateHorizontalPodAutoscaler*`).

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingRules, HorizontalPodAutoscaler, MetricIdentifier, MetricSpec, MetricTarget,
};
use krs_apimachinery::quantity::Quantity;
use krs_apimachinery::validation::{ErrorList, Path, field, is_valid_path_segment_name, validate_nonnegative_field};

use crate::strategy::core::resourcequota::resources;
use crate::strategy::core::service::checks::{self, bad_value};

const METRIC_SOURCE_TYPES: &[&str] = &["ContainerResource", "External", "Object", "Pods", "Resource"];
const SELECT_POLICIES: &[&str] = &["Disabled", "Max", "Min"];
const POLICY_TYPES: &[&str] = &["Percent", "Pods"];
const MAX_PERIOD_SECONDS: i32 = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
/// The least minReplicas (0 needs the alpha HPAScaleToZero feature).
const MIN_REPLICAS_LOWER_BOUND: i32 = 1;

/// `ValidateCrossVersionObjectReference`.
fn validate_reference(r: &CrossVersionObjectReference, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (value, name) in [(&r.kind, "kind"), (&r.name, "name")] {
        if value.is_empty() {
            errs.push(field::required(&path.child(name), ""));
        } else {
            errs.append(checks::each(value, &path.child(name), is_valid_path_segment_name(value)));
        }
    }
    errs
}

fn sign(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> i32 {
    Quantity::try_from(q).map(|q| q.sign()).unwrap_or(0)
}

fn validate_target(t: &MetricTarget, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if t.type_.is_empty() {
        errs.push(field::required(&path.child("type"), "must specify a metric target type"));
    }
    if !matches!(t.type_.as_str(), "Utilization" | "Value" | "AverageValue") {
        errs.push(field::invalid(
            &path.child("type"),
            t.type_.as_str(),
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    if let Some(v) = &t.value
        && sign(v) != 1
    {
        errs.push(field::invalid(&path.child("value"), v.0.as_str(), "must be positive"));
    }
    if let Some(v) = &t.average_value
        && sign(v) != 1
    {
        errs.push(field::invalid(&path.child("averageValue"), v.0.as_str(), "must be positive"));
    }
    if let Some(u) = t.average_utilization
        && u < 1
    {
        errs.push(field::invalid(&path.child("averageUtilization"), u, "must be greater than 0"));
    }
    errs
}

fn validate_identifier(id: &MetricIdentifier, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if id.name.is_empty() {
        errs.push(field::required(&path.child("name"), "must specify a metric name"));
    } else {
        errs.append(checks::each(&id.name, &path.child("name"), is_valid_path_segment_name(&id.name)));
    }
    errs
}

/// A resource target needs a utilization or an average value, not both.
fn validate_resource_target(t: &MetricTarget, path: &Path, errs: &mut ErrorList) {
    errs.append(validate_target(t, &path.child("target")));
    if t.average_utilization.is_none() && t.average_value.is_none() {
        errs.push(field::required(
            &path.child("target").child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if t.average_utilization.is_some() && t.average_value.is_some() {
        errs.push(field::forbidden(
            &path.child("target").child("averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
}

fn validate_metric(m: &MetricSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if m.type_.is_empty() {
        errs.push(field::required(&path.child("type"), "must specify a metric source type"));
    }
    if !METRIC_SOURCE_TYPES.contains(&m.type_.as_str()) {
        errs.push(field::not_supported(&path.child("type"), m.type_.as_str(), METRIC_SOURCE_TYPES));
    }
    let mut present: Vec<&str> = Vec::new();
    if let Some(o) = &m.object {
        present.push("object");
        if present.len() == 1 {
            let p = path.child("object");
            errs.append(validate_reference(&o.described_object, &p.child("describedObject")));
            errs.append(validate_identifier(&o.metric, &p.child("metric")));
            errs.append(validate_target(&o.target, &p.child("target")));
            if o.target.value.is_none() && o.target.average_value.is_none() {
                errs.push(field::required(
                    &p.child("target").child("averageValue"),
                    "must set either a target value or averageValue",
                ));
            }
        }
    }
    if let Some(e) = &m.external {
        present.push("external");
        if present.len() == 1 {
            let p = path.child("external");
            errs.append(validate_identifier(&e.metric, &p.child("metric")));
            errs.append(validate_target(&e.target, &p.child("target")));
            if e.target.value.is_none() && e.target.average_value.is_none() {
                errs.push(field::required(
                    &p.child("target").child("averageValue"),
                    "must set either a target value for metric or a per-pod target",
                ));
            }
            if e.target.value.is_some() && e.target.average_value.is_some() {
                errs.push(field::forbidden(
                    &p.child("target").child("value"),
                    "may not set both a target value for metric and a per-pod target",
                ));
            }
        }
    }
    if let Some(pods) = &m.pods {
        present.push("pods");
        if present.len() == 1 {
            let p = path.child("pods");
            errs.append(validate_identifier(&pods.metric, &p.child("metric")));
            errs.append(validate_target(&pods.target, &p.child("target")));
            if pods.target.average_value.is_none() {
                errs.push(field::required(
                    &p.child("target").child("averageValue"),
                    "must specify a positive target averageValue",
                ));
            }
        }
    }
    if let Some(r) = &m.resource {
        present.push("resource");
        if present.len() == 1 {
            let p = path.child("resource");
            if r.name.is_empty() {
                errs.push(field::required(&p.child("name"), "must specify a resource name"));
            } else {
                errs.append(resources::validate_container_resource_name(&r.name, &p.child("name")));
            }
            validate_resource_target(&r.target, &p, &mut errs);
        }
    }
    if let Some(r) = &m.container_resource {
        present.push("containerResource");
        if present.len() == 1 {
            let p = path.child("containerResource");
            if r.name.is_empty() {
                errs.push(field::required(&p.child("name"), "must specify a resource name"));
            } else {
                errs.append(resources::validate_container_resource_name(&r.name, &p.child("name")));
            }
            if r.container.is_empty() {
                errs.push(field::required(&p.child("container"), "must specify a container"));
            } else {
                errs.append(checks::dns1123_label(&r.container, &p.child("container")));
            }
            validate_resource_target(&r.target, &p, &mut errs);
        }
    }
    let expected = match m.type_.as_str() {
        "Object" => Some(("object", m.object.is_some())),
        "Pods" => Some(("pods", m.pods.is_some())),
        "Resource" => Some(("resource", m.resource.is_some())),
        "ContainerResource" => Some(("containerResource", m.container_resource.is_some())),
        "External" => Some(("external", m.external.is_some())),
        _ => None,
    };
    match expected {
        Some((name, false)) => {
            errs.push(field::required(&path.child(name), "must populate information for the given metric source"))
        }
        Some(_) => {}
        // Upstream reports an unknown type a second time here.
        None => errs.push(field::not_supported(&path.child("type"), m.type_.as_str(), METRIC_SOURCE_TYPES)),
    }
    if present.len() != 1 {
        let expected_name = expected.map(|(n, _)| n).unwrap_or_default();
        for name in present.iter().filter(|n| **n != expected_name) {
            errs.push(field::forbidden(&path.child(*name), "must populate the given metric source only"));
        }
    }
    errs
}

fn validate_rules(rules: &HPAScalingRules, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(w) = rules.stabilization_window_seconds {
        let p = path.child("stabilizationWindowSeconds");
        if w < 0 {
            errs.push(field::invalid(&p, w, "must be greater than or equal to zero"));
        }
        if w > MAX_STABILIZATION_WINDOW_SECONDS {
            errs.push(field::invalid(
                &p,
                w,
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(sp) = rules.select_policy.as_deref()
        && !SELECT_POLICIES.contains(&sp)
    {
        errs.push(field::not_supported(&path.child("selectPolicy"), sp, SELECT_POLICIES));
    }
    let policies_path = path.child("policies");
    let policies = rules.policies.as_deref().unwrap_or_default();
    if policies.is_empty() {
        errs.push(field::required(&policies_path, "must specify at least one Policy"));
    }
    for (i, policy) in policies.iter().enumerate() {
        let p = policies_path.index(i);
        if !POLICY_TYPES.contains(&policy.type_.as_str()) {
            errs.push(field::not_supported(&p.child("type"), policy.type_.as_str(), POLICY_TYPES));
        }
        if policy.value <= 0 {
            errs.push(field::invalid(&p.child("value"), policy.value, "must be greater than zero"));
        }
        if policy.period_seconds <= 0 {
            errs.push(field::invalid(&p.child("periodSeconds"), policy.period_seconds, "must be greater than zero"));
        }
        if policy.period_seconds > MAX_PERIOD_SECONDS {
            errs.push(field::invalid(
                &p.child("periodSeconds"),
                policy.period_seconds,
                format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    if let Some(t) = &rules.tolerance
        && sign(t) < 0
    {
        errs.push(field::invalid(&path.child("tolerance"), bad_value(t), "must be greater than or equal to zero"));
    }
    errs
}

/// `validateHorizontalPodAutoscalerSpec`.
pub(super) fn validate_spec(hpa: &HorizontalPodAutoscaler) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = hpa.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    if let Some(min) = spec.min_replicas
        && min < MIN_REPLICAS_LOWER_BOUND
    {
        errs.push(field::invalid(
            &path.child("minReplicas"),
            min,
            format!("must be greater than or equal to {MIN_REPLICAS_LOWER_BOUND}"),
        ));
    }
    if spec.max_replicas < 1 {
        errs.push(field::invalid(&path.child("maxReplicas"), spec.max_replicas, "must be greater than 0"));
    }
    if let Some(min) = spec.min_replicas
        && spec.max_replicas < min
    {
        errs.push(field::invalid(
            &path.child("maxReplicas"),
            spec.max_replicas,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs.append(validate_reference(&spec.scale_target_ref, &path.child("scaleTargetRef")));
    for (i, m) in spec.metrics.iter().flatten().enumerate() {
        errs.append(validate_metric(m, &path.child("metrics").index(i)));
    }
    if let Some(b) = &spec.behavior {
        let p = path.child("behavior");
        if let Some(up) = &b.scale_up {
            errs.append(validate_rules(up, &p.child("scaleUp")));
        }
        if let Some(down) = &b.scale_down {
            errs.append(validate_rules(down, &p.child("scaleDown")));
        }
    }
    errs
}

/// `ValidateHorizontalPodAutoscalerStatusUpdate`.
pub(super) fn validate_status(hpa: &HorizontalPodAutoscaler) -> ErrorList {
    let status = hpa.status.clone().unwrap_or_default();
    let path = Path::new("status");
    let mut errs =
        validate_nonnegative_field(i64::from(status.current_replicas.unwrap_or(0)), &path.child("currentReplicas"));
    errs.append(validate_nonnegative_field(i64::from(status.desired_replicas), &path.child("desiredReplicas")));
    errs
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscalerSpec, PodsMetricSource, ResourceMetricSource};

    use super::*;

    fn with_metric(m: MetricSpec) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            spec: Some(HorizontalPodAutoscalerSpec {
                max_replicas: 3,
                min_replicas: Some(1),
                scale_target_ref: CrossVersionObjectReference {
                    kind: "Deployment".into(),
                    name: "w".into(),
                    api_version: None,
                },
                metrics: Some(vec![m]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn metric_source_must_match_type() {
        let m = MetricSpec {
            type_: "Pods".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(50),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        assert_eq!(
            validate_spec(&with_metric(m)).to_string(),
            "spec.metrics[0].pods: Required value: must populate information for the given metric source"
        );
    }

    #[test]
    fn pods_metric_needs_average_value() {
        let m = MetricSpec {
            type_: "Pods".into(),
            pods: Some(PodsMetricSource {
                metric: MetricIdentifier { name: "qps".into(), selector: None },
                target: MetricTarget { type_: "AverageValue".into(), ..Default::default() },
            }),
            ..Default::default()
        };
        assert_eq!(
            validate_spec(&with_metric(m)).to_string(),
            "spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target averageValue"
        );
    }

    #[test]
    fn scaling_policies_are_bounded() {
        let mut h = with_metric(MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "memory".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(50),
                    ..Default::default()
                },
            }),
            ..Default::default()
        });
        h.spec.as_mut().unwrap().behavior = Some(k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior {
            scale_up: Some(HPAScalingRules {
                select_policy: Some("Sometimes".into()),
                policies: Some(vec![k8s_openapi::api::autoscaling::v2::HPAScalingPolicy {
                    type_: "Pods".into(),
                    value: 1,
                    period_seconds: 1801,
                }]),
                ..Default::default()
            }),
            scale_down: None,
        });
        assert_eq!(
            validate_spec(&h).to_string(),
            r#"[spec.behavior.scaleUp.selectPolicy: Unsupported value: "Sometimes": supported values: "Disabled", "Max", "Min", spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800]"#
        );
    }
}
