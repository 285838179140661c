//! autoscaling/v1 ⇄ autoscaling/v2 `HorizontalPodAutoscaler` (upstream's
//! `pkg/apis/autoscaling/v1/conversion.go`).
//!
//! v1 only knows a CPU utilization target. Everything else of v2 travels in annotations of the
//! v1 object, so that a v1 client's read-modify-write keeps it: the metrics other than the CPU
//! utilization target (`autoscaling.alpha.kubernetes.io/metrics`, in v1's own metric format),
//! the current metrics (`…/current-metrics`), the scaling behavior (`…/behavior`) and the
//! conditions (`…/conditions`). Converting back reads them and drops them.

use serde_json::{Map, Value, json};

use super::carry;

pub const METRIC_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub const METRIC_STATUSES_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub const BEHAVIOR_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
const ROUND_TRIP_ANNOTATIONS: &[&str] =
    &[METRIC_SPECS_ANNOTATION, METRIC_STATUSES_ANNOTATION, BEHAVIOR_SPECS_ANNOTATION, CONDITIONS_ANNOTATION];

/// The CPU utilization v1 implies when it names no target.
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A required quantity of v1, which Go writes as `"0"` when unset.
fn quantity_or_zero(v: Option<&Value>) -> Value {
    v.filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!("0"))
}

fn is_cpu_resource(metric: &Value) -> bool {
    metric["type"] == "Resource" && metric["resource"]["name"] == "cpu"
}

/// v2 `MetricSpec` → v1 `MetricSpec`.
fn metric_spec_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    carry(m, &mut out, "type", "type");
    if let Some(o) = m.get("object").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(o, &mut s, "describedObject", "target");
        carry(&o["metric"], &mut s, "name", "metricName");
        s.insert("targetValue".into(), quantity_or_zero(o["target"].get("value")));
        carry(&o["metric"], &mut s, "selector", "selector");
        carry(&o["target"], &mut s, "averageValue", "averageValue");
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(p) = m.get("pods").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(&p["metric"], &mut s, "name", "metricName");
        s.insert("targetAverageValue".into(), quantity_or_zero(p["target"].get("averageValue")));
        carry(&p["metric"], &mut s, "selector", "selector");
        out.insert("pods".into(), Value::Object(s));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| v.is_object()) {
            let mut s = Map::new();
            carry(r, &mut s, "name", "name");
            carry(&r["target"], &mut s, "averageUtilization", "targetAverageUtilization");
            carry(&r["target"], &mut s, "averageValue", "targetAverageValue");
            carry(r, &mut s, "container", "container");
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(e) = m.get("external").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(&e["metric"], &mut s, "name", "metricName");
        carry(&e["metric"], &mut s, "selector", "metricSelector");
        carry(&e["target"], &mut s, "value", "targetValue");
        carry(&e["target"], &mut s, "averageValue", "targetAverageValue");
        out.insert("external".into(), Value::Object(s));
    }
    Value::Object(out)
}

/// v1 `MetricSpec` → v2 `MetricSpec`, choosing the target type as upstream does.
fn metric_spec_to_v2(m: &Value) -> Value {
    let mut out = Map::new();
    carry(m, &mut out, "type", "type");
    let metric_id = |v: &Value, name: &str, selector: &str| {
        let mut id = Map::new();
        carry(v, &mut id, name, "name");
        carry(v, &mut id, selector, "selector");
        Value::Object(id)
    };
    let present = |v: &Value, k: &str| v.get(k).is_some_and(|x| !x.is_null());
    if let Some(o) = m.get("object").filter(|v| v.is_object()) {
        let mut target = Map::new();
        let ty = if present(o, "averageValue") { "AverageValue" } else { "Value" };
        target.insert("type".into(), json!(ty));
        target.insert("value".into(), quantity_or_zero(o.get("targetValue")));
        carry(o, &mut target, "averageValue", "averageValue");
        let mut s = Map::new();
        carry(o, &mut s, "target", "describedObject");
        s.insert("metric".into(), metric_id(o, "metricName", "selector"));
        s.insert("target".into(), Value::Object(target));
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(p) = m.get("pods").filter(|v| v.is_object()) {
        let target = json!({"type": "AverageValue", "averageValue": quantity_or_zero(p.get("targetAverageValue"))});
        out.insert("pods".into(), json!({"metric": metric_id(p, "metricName", "selector"), "target": target}));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| v.is_object()) {
            let mut target = Map::new();
            let ty = if present(r, "targetAverageUtilization") { "Utilization" } else { "AverageValue" };
            target.insert("type".into(), json!(ty));
            carry(r, &mut target, "targetAverageValue", "averageValue");
            carry(r, &mut target, "targetAverageUtilization", "averageUtilization");
            let mut s = Map::new();
            carry(r, &mut s, "name", "name");
            carry(r, &mut s, "container", "container");
            s.insert("target".into(), Value::Object(target));
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(e) = m.get("external").filter(|v| v.is_object()) {
        let mut target = Map::new();
        let ty = if present(e, "targetValue") { "Value" } else { "AverageValue" };
        target.insert("type".into(), json!(ty));
        carry(e, &mut target, "targetValue", "value");
        carry(e, &mut target, "targetAverageValue", "averageValue");
        let metric = metric_id(e, "metricName", "metricSelector");
        out.insert("external".into(), json!({"metric": metric, "target": Value::Object(target)}));
    }
    Value::Object(out)
}

/// v2 `MetricStatus` → v1 `MetricStatus`.
fn metric_status_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    carry(m, &mut out, "type", "type");
    if let Some(o) = m.get("object").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(o, &mut s, "describedObject", "target");
        carry(&o["metric"], &mut s, "name", "metricName");
        s.insert("currentValue".into(), quantity_or_zero(o["current"].get("value")));
        carry(&o["metric"], &mut s, "selector", "selector");
        carry(&o["current"], &mut s, "averageValue", "averageValue");
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(p) = m.get("pods").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(&p["metric"], &mut s, "name", "metricName");
        s.insert("currentAverageValue".into(), quantity_or_zero(p["current"].get("averageValue")));
        carry(&p["metric"], &mut s, "selector", "selector");
        out.insert("pods".into(), Value::Object(s));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| v.is_object()) {
            let mut s = Map::new();
            carry(r, &mut s, "name", "name");
            carry(&r["current"], &mut s, "averageUtilization", "currentAverageUtilization");
            s.insert("currentAverageValue".into(), quantity_or_zero(r["current"].get("averageValue")));
            carry(r, &mut s, "container", "container");
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(e) = m.get("external").filter(|v| v.is_object()) {
        let mut s = Map::new();
        carry(&e["metric"], &mut s, "name", "metricName");
        carry(&e["metric"], &mut s, "selector", "metricSelector");
        s.insert("currentValue".into(), quantity_or_zero(e["current"].get("value")));
        carry(&e["current"], &mut s, "averageValue", "currentAverageValue");
        out.insert("external".into(), Value::Object(s));
    }
    Value::Object(out)
}

/// v1 `MetricStatus` → v2 `MetricStatus`.
fn metric_status_to_v2(m: &Value) -> Value {
    let mut out = Map::new();
    carry(m, &mut out, "type", "type");
    let metric_id = |v: &Value, name: &str, selector: &str| {
        let mut id = Map::new();
        carry(v, &mut id, name, "name");
        carry(v, &mut id, selector, "selector");
        Value::Object(id)
    };
    if let Some(o) = m.get("object").filter(|v| v.is_object()) {
        let mut current = Map::new();
        current.insert("value".into(), quantity_or_zero(o.get("currentValue")));
        carry(o, &mut current, "averageValue", "averageValue");
        let mut s = Map::new();
        carry(o, &mut s, "target", "describedObject");
        s.insert("metric".into(), metric_id(o, "metricName", "selector"));
        s.insert("current".into(), Value::Object(current));
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(p) = m.get("pods").filter(|v| v.is_object()) {
        let current = json!({"averageValue": quantity_or_zero(p.get("currentAverageValue"))});
        out.insert("pods".into(), json!({"metric": metric_id(p, "metricName", "selector"), "current": current}));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| v.is_object()) {
            let mut current = Map::new();
            current.insert("averageValue".into(), quantity_or_zero(r.get("currentAverageValue")));
            carry(r, &mut current, "currentAverageUtilization", "averageUtilization");
            let mut s = Map::new();
            carry(r, &mut s, "name", "name");
            carry(r, &mut s, "container", "container");
            s.insert("current".into(), Value::Object(current));
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(e) = m.get("external").filter(|v| v.is_object()) {
        let mut current = Map::new();
        current.insert("value".into(), quantity_or_zero(e.get("currentValue")));
        carry(e, &mut current, "currentAverageValue", "averageValue");
        let metric = metric_id(e, "metricName", "metricSelector");
        out.insert("external".into(), json!({"metric": metric, "current": Value::Object(current)}));
    }
    Value::Object(out)
}

fn as_array(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The metadata without the round-trip annotations (`DropRoundTripHorizontalPodAutoscalerAnnotations`).
fn metadata_without_round_trip(metadata: &Value) -> Map<String, Value> {
    let mut meta = obj(metadata);
    if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
        annotations.retain(|k, _| !ROUND_TRIP_ANNOTATIONS.contains(&k.as_str()));
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
    meta
}

/// autoscaling/v2 → autoscaling/v1.
pub(super) fn v2_to_v1(hpa: &Value) -> Value {
    let spec = &hpa["spec"];
    let status = &hpa["status"];
    let metrics = as_array(spec.get("metrics"));
    let current = as_array(status.get("currentMetrics"));
    let conditions = as_array(status.get("conditions"));

    let mut meta = metadata_without_round_trip(&hpa["metadata"]);
    let mut annotations = Map::new();
    // CPU utilization targets are v1's own field; everything else goes to the annotation.
    let other: Vec<Value> = metrics
        .iter()
        .filter(|m| !is_cpu_resource(m) || m["resource"]["target"]["averageUtilization"].is_null())
        .map(metric_spec_to_v1)
        .collect();
    if !other.is_empty() {
        annotations.insert(METRIC_SPECS_ANNOTATION.into(), json!(Value::Array(other).to_string()));
    }
    // The status is kept even when it maps to the CPU field, for its raw values.
    if !current.is_empty() {
        let v1: Vec<Value> = current.iter().map(metric_status_to_v1).collect();
        annotations.insert(METRIC_STATUSES_ANNOTATION.into(), json!(Value::Array(v1).to_string()));
    }
    if let Some(behavior) = spec.get("behavior").filter(|b| !b.is_null()) {
        annotations.insert(BEHAVIOR_SPECS_ANNOTATION.into(), json!(behavior.to_string()));
    }
    if !conditions.is_empty() {
        annotations.insert(CONDITIONS_ANNOTATION.into(), json!(Value::Array(conditions).to_string()));
    }
    if !annotations.is_empty() {
        let existing = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if let Some(existing) = existing.as_object_mut() {
            existing.extend(annotations);
        }
    }

    let mut out_spec = Map::new();
    carry(spec, &mut out_spec, "scaleTargetRef", "scaleTargetRef");
    carry(spec, &mut out_spec, "minReplicas", "minReplicas");
    carry(spec, &mut out_spec, "maxReplicas", "maxReplicas");
    // The first CPU resource metric decides, as upstream's loop does.
    if let Some(cpu) = metrics.iter().find(|m| is_cpu_resource(m)) {
        carry(&cpu["resource"]["target"], &mut out_spec, "averageUtilization", "targetCPUUtilizationPercentage");
    }

    let mut out = Map::new();
    out.insert("metadata".into(), Value::Object(meta));
    out.insert("spec".into(), Value::Object(out_spec));
    if status.is_object() {
        let mut out_status = Map::new();
        for f in ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"] {
            carry(status, &mut out_status, f, f);
        }
        for m in current.iter().filter(|m| is_cpu_resource(m)) {
            carry(&m["resource"]["current"], &mut out_status, "averageUtilization", "currentCPUUtilizationPercentage");
        }
        out.insert("status".into(), Value::Object(out_status));
    }
    Value::Object(out)
}

fn parse_annotation(annotations: &Map<String, Value>, key: &str) -> Option<Value> {
    let text = annotations.get(key)?.as_str()?;
    serde_json::from_str(text).ok()
}

/// autoscaling/v1 → autoscaling/v2.
pub(super) fn v1_to_v2(hpa: &Value) -> Value {
    let spec = &hpa["spec"];
    let status = &hpa["status"];
    let annotations = hpa["metadata"]["annotations"].as_object().cloned().unwrap_or_default();

    let mut out_spec = Map::new();
    carry(spec, &mut out_spec, "scaleTargetRef", "scaleTargetRef");
    carry(spec, &mut out_spec, "minReplicas", "minReplicas");
    carry(spec, &mut out_spec, "maxReplicas", "maxReplicas");
    let mut metrics: Vec<Value> = Vec::new();
    if let Some(Value::Array(other)) = parse_annotation(&annotations, METRIC_SPECS_ANNOTATION) {
        metrics.extend(other.iter().map(metric_spec_to_v2));
    }
    // The CPU target from v1's field comes after the annotation's metrics.
    if let Some(pct) = spec.get("targetCPUUtilizationPercentage").filter(|v| !v.is_null()) {
        metrics.push(cpu_utilization_metric(pct.clone()));
    }
    // v1 implied 80% CPU when it named no target; v2 says so.
    if metrics.is_empty() {
        metrics.push(cpu_utilization_metric(json!(DEFAULT_CPU_UTILIZATION)));
    }
    out_spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(behavior) = parse_annotation(&annotations, BEHAVIOR_SPECS_ANNOTATION)
        && behavior.as_object().is_some_and(|b| !b.is_empty())
    {
        out_spec.insert("behavior".into(), behavior);
    }

    let mut out = Map::new();
    out.insert("metadata".into(), Value::Object(metadata_without_round_trip(&hpa["metadata"])));
    out.insert("spec".into(), Value::Object(out_spec));

    let mut out_status = Map::new();
    for f in ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"] {
        carry(status, &mut out_status, f, f);
    }
    // The annotation's raw values, when present, say more than v1's CPU percentage.
    if let Some(Value::Array(current)) = parse_annotation(&annotations, METRIC_STATUSES_ANNOTATION) {
        out_status.insert("currentMetrics".into(), Value::Array(current.iter().map(metric_status_to_v2).collect()));
    } else if let Some(pct) = status.get("currentCPUUtilizationPercentage").filter(|v| !v.is_null()) {
        out_status.insert(
            "currentMetrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": pct}}}]),
        );
    }
    if let Some(conditions @ Value::Array(_)) = parse_annotation(&annotations, CONDITIONS_ANNOTATION) {
        out_status.insert("conditions".into(), conditions);
    }
    if status.is_object() || !out_status.is_empty() {
        out.insert("status".into(), Value::Object(out_status));
    }
    Value::Object(out)
}

fn cpu_utilization_metric(pct: Value) -> Value {
    json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": pct}}})
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::convert;
    use super::*;

    fn v2() -> Value {
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}},
            },
            "status": {
                "currentReplicas": 3,
                "desiredReplicas": 4,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 70, "averageValue": "700m"}}},
                ],
                "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}],
            },
        })
    }

    #[test]
    fn v2_to_v1_keeps_cpu_target_and_annotates_the_rest() {
        let v1 = convert(v2(), "autoscaling", "v1").unwrap();
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert_eq!(v1["spec"]["minReplicas"], 2);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 70);
        let annotations = &v1["metadata"]["annotations"];
        assert_eq!(annotations["team"], "a");
        let metrics: Value = serde_json::from_str(annotations[METRIC_SPECS_ANNOTATION].as_str().unwrap()).unwrap();
        assert_eq!(
            metrics,
            json!([
                {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}},
                {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}},
            ])
        );
        assert!(annotations[METRIC_STATUSES_ANNOTATION].is_string());
        assert!(annotations[BEHAVIOR_SPECS_ANNOTATION].is_string());
        assert!(annotations[CONDITIONS_ANNOTATION].is_string());
    }

    #[test]
    fn hpa_round_trips_through_v1() {
        let back = convert(convert(v2(), "autoscaling", "v1").unwrap(), "autoscaling", "v2").unwrap();
        let mut expected = v2();
        // The CPU target, carried by v1's own field, comes back after the others.
        let metrics = expected["spec"]["metrics"].as_array_mut().unwrap();
        let cpu = metrics.remove(0);
        metrics.push(cpu);
        assert_eq!(back, expected);
    }

    #[test]
    fn v1_without_target_gets_the_default_cpu_metric() {
        let v1 = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
        });
        let v2 = convert(v1, "autoscaling", "v2").unwrap();
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert!(v2.get("status").is_none());
    }

    #[test]
    fn v1_round_trips_through_v2() {
        let v1 = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 20},
        });
        let v2 = convert(v1.clone(), "autoscaling", "v2").unwrap();
        let back = convert(v2, "autoscaling", "v1").unwrap();
        let mut expected = v1;
        // v1's CPU status becomes a v2 current metric, whose raw form v1 keeps in an annotation.
        expected["metadata"]["annotations"] = json!({
            METRIC_STATUSES_ANNOTATION: r#"[{"resource":{"currentAverageUtilization":20,"currentAverageValue":"0","name":"cpu"},"type":"Resource"}]"#
        });
        assert_eq!(back, expected);
    }

    #[test]
    fn external_and_object_metrics_keep_their_target_types() {
        let v1 = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "q", "annotations": {METRIC_SPECS_ANNOTATION: r#"[{"type":"External","external":{"metricName":"queue","targetAverageValue":"30"}},{"type":"Object","object":{"target":{"kind":"Service","name":"s"},"metricName":"rps","targetValue":"100"}}]"#}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"}, "maxReplicas": 3},
        });
        let v2 = convert(v1, "autoscaling", "v2").unwrap();
        assert_eq!(v2["metadata"].get("annotations"), None);
        assert_eq!(
            v2["spec"]["metrics"],
            json!([
                {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "30"}}},
                {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"}, "metric": {"name": "rps"}, "target": {"type": "Value", "value": "100"}}},
            ])
        );
    }
}
