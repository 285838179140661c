//! pods/binding on the stored JSON. A binding changes three places of the pod (`spec.nodeName`,
//! the PodScheduled condition, and nothing else unless the binding carries annotations), so it
//! is written by splicing the stored bytes: the top-level object and `metadata`, `spec` and
//! `status` are read one level deep with their values left as raw JSON text, and everything
//! else is copied through. The busiest write of a scheduling burst thus decodes no pod. The
//! result is byte for byte what decoding, changing and encoding the typed pod gives (the
//! stored JSON is that encoding: fields in the generated order, which is byte order for the
//! fields touched here); the tests compare the two.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::objbytes::{Members, skip_ws};

/// Why a pod cannot be bound (upstream's `setPodHostAndAnnotations` conflicts).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Deleting,
    Assigned(String),
    Gated,
}

impl Refusal {
    pub fn message(&self, pod: &str) -> String {
        match self {
            Refusal::Deleting => format!("pod {pod} is being deleted, cannot be assigned to a host"),
            Refusal::Assigned(node) => format!("pod {pod} is already assigned to node \"{node}\""),
            Refusal::Gated => format!("pod {pod} has non-empty .spec.schedulingGates"),
        }
    }
}

/// The binding's checks, in upstream's order.
pub fn check(deleting: bool, node_name: Option<&str>, gated: bool) -> Result<(), Refusal> {
    if deleting {
        return Err(Refusal::Deleting);
    }
    if let Some(node) = node_name.filter(|n| !n.is_empty()) {
        return Err(Refusal::Assigned(node.to_owned()));
    }
    if gated {
        return Err(Refusal::Gated);
    }
    Ok(())
}

/// Binds the pod whose stored JSON is `stored` (with or without `metadata.resourceVersion`,
/// which the result never carries) to `node`, with `condition` (an encoded PodCondition)
/// replacing any PodScheduled condition. `Ok(None)`: the JSON is not a pod this path handles
/// (no spec or status, not an object); the caller decodes it and binds the typed pod.
pub fn bind_stored_json(stored: &[u8], node: &str, condition: &str) -> Result<Option<Vec<u8>>, Refusal> {
    let Some(mut top) = std::str::from_utf8(stored).ok().and_then(members) else { return Ok(None) };
    let (Some(mi), Some(si), Some(ti)) = (position(&top, "metadata"), position(&top, "spec"), position(&top, "status"))
    else {
        return Ok(None);
    };
    let (Some(mut meta), Some(mut spec), Some(mut status)) =
        (fields(&top[mi].1), fields(&top[si].1), fields(&top[ti].1))
    else {
        return Ok(None);
    };
    let deleting = position(&meta, "deletionTimestamp").is_some_and(|i| meta[i].1 != "null");
    let node_name = match position(&spec, "nodeName") {
        Some(i) => match serde_json::from_str::<Option<String>>(&spec[i].1) {
            Ok(n) => n,
            Err(_) => return Ok(None),
        },
        None => None,
    };
    let gated = match position(&spec, "schedulingGates") {
        Some(i) => match serde_json::from_str::<Option<Vec<&RawValue>>>(&spec[i].1) {
            Ok(gates) => gates.is_some_and(|g| !g.is_empty()),
            Err(_) => return Ok(None),
        },
        None => false,
    };
    check(deleting, node_name.as_deref(), gated)?;

    meta.retain(|(k, _)| k != "resourceVersion");
    let Ok(node_json) = serde_json::to_string(node) else { return Ok(None) };
    set(&mut spec, "nodeName", node_json);
    let mut conditions: Vec<&RawValue> = match position(&status, "conditions") {
        Some(i) => match serde_json::from_str::<Option<Vec<&RawValue>>>(&status[i].1) {
            Ok(c) => c.unwrap_or_default(),
            Err(_) => return Ok(None),
        },
        None => Vec::new(),
    };
    conditions.retain(|c| serde_json::from_str::<ConditionType>(c.get()).map_or(true, |t| t.type_ != "PodScheduled"));
    let mut list =
        String::with_capacity(condition.len() + conditions.iter().map(|c| c.get().len() + 1).sum::<usize>() + 2);
    list.push('[');
    for c in &conditions {
        list.push_str(c.get());
        list.push(',');
    }
    list.push_str(condition);
    list.push(']');
    set(&mut status, "conditions", list);

    top[mi].1 = Cow::Owned(render(&meta));
    top[si].1 = Cow::Owned(render(&spec));
    top[ti].1 = Cow::Owned(render(&status));
    Ok(Some(render(&top).into_bytes()))
}

/// One JSON object's fields in order: name and raw value text.
type FieldList<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn position(fields: &FieldList<'_>, key: &str) -> Option<usize> {
    fields.iter().position(|(k, _)| k == key)
}

/// The fields of a value read by [`members`] (still borrowed from the input).
fn fields<'a>(raw: &Cow<'a, str>) -> Option<FieldList<'a>> {
    match raw {
        Cow::Borrowed(raw) => members(raw),
        Cow::Owned(_) => None,
    }
}

/// The members of the JSON object `json`, their values left as text. Stored JSON is what the
/// registry's encoder wrote, so values are skipped without being validated or decoded. None
/// when `json` is not an object or a member name has escapes.
fn members(json: &str) -> Option<FieldList<'_>> {
    let mut members = Members::new(json.as_bytes(), skip_ws(json.as_bytes(), 0))?;
    let mut out = Vec::with_capacity(16);
    for m in members.by_ref() {
        // Offsets next to quotes, brackets, commas and spaces are character boundaries.
        let name = json.get(m.name)?;
        if name.contains('\\') {
            return None;
        }
        out.push((Cow::Borrowed(name), Cow::Borrowed(json.get(m.value)?)));
    }
    members.end.map(|_| out)
}

/// Sets `key` to `value`: in place when present, else before the first field that sorts after
/// it (the generated encoders write fields in byte order), else last.
fn set<'a>(fields: &mut FieldList<'a>, key: &'static str, value: String) {
    match position(fields, key) {
        Some(i) => fields[i].1 = Cow::Owned(value),
        None => {
            let at = fields.iter().position(|(k, _)| k.as_ref() > key).unwrap_or(fields.len());
            fields.insert(at, (Cow::Borrowed(key), Cow::Owned(value)));
        }
    }
}

fn render(fields: &FieldList<'_>) -> String {
    let mut out = String::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>() + 2);
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Field names of stored objects need no escapes; the encoder keeps any that would.
        match serde_json::to_string(k.as_ref()) {
            Ok(name) => out.push_str(&name),
            Err(_) => out.push_str("\"\""),
        }
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    out
}

#[derive(Deserialize)]
struct ConditionType<'a> {
    #[serde(rename = "type", borrow, default)]
    type_: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Pod, PodCondition};
    use serde_json::json;

    use super::*;

    fn condition() -> PodCondition {
        PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            last_transition_time: Some(crate::registry::now()),
            ..Default::default()
        }
    }

    /// The typed binding: what the JSON splice must equal.
    fn typed(stored: &[u8], node: &str, cond: &PodCondition) -> Result<Vec<u8>, Refusal> {
        let mut pod: Pod = serde_json::from_slice(stored).unwrap();
        let spec = pod.spec.get_or_insert_with(Default::default);
        check(
            pod.metadata.deletion_timestamp.is_some(),
            spec.node_name.as_deref(),
            spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()),
        )?;
        spec.node_name = Some(node.into());
        let conditions = pod.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(cond.clone());
        pod.metadata.resource_version = None;
        Ok(serde_json::to_vec(&pod).unwrap())
    }

    fn stored(pod: serde_json::Value) -> Vec<u8> {
        // As the registry stores it: the typed encoding.
        let pod: Pod = serde_json::from_value(pod).unwrap();
        serde_json::to_vec(&pod).unwrap()
    }

    fn sample(spec_extra: serde_json::Value, status: serde_json::Value) -> serde_json::Value {
        let mut spec = json!({
            "containers": [{"name": "c", "image": "busybox",
                "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": 300}],
        });
        for (k, v) in spec_extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "resourceVersion": "42",
                "creationTimestamp": "2026-11-24T05:00:00Z", "labels": {"app": "x"},
                "managedFields": [{"manager": "bench", "operation": "Update", "apiVersion": "v1",
                    "time": "2026-11-24T05:00:00Z", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}}}}}]},
            "spec": spec,
            "status": status,
        })
    }

    #[test]
    fn the_splice_writes_what_the_typed_binding_writes() {
        let cond = condition();
        let cond_json = serde_json::to_string(&cond).unwrap();
        let earlier = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available", "lastTransitionTime": "2026-11-24T04:00:00Z"});
        let ready = json!({"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-24T04:00:00Z"});
        // Text the member scanner must step over: escaped quotes and brackets, non-ASCII.
        let mut tricky = sample(json!({"hostname": "h\"}]{"}), json!({"message": "é ]}\\\"{ ü", "phase": "Pending"}));
        tricky["metadata"]["annotations"] = json!({"note": "}{\"[é", "ü": "\\"});
        let cases = [
            tricky,
            sample(json!({}), json!({"phase": "Pending", "qosClass": "Burstable"})),
            sample(json!({"nodeName": ""}), json!({"phase": "Pending"})),
            sample(
                json!({"priority": 10, "nodeSelector": {"zone": "a"}}),
                json!({"conditions": [earlier], "phase": "Pending"}),
            ),
            sample(json!({"schedulingGates": []}), json!({"conditions": [ready, earlier], "phase": "Pending"})),
            sample(json!({"initContainers": [{"name": "i", "image": "busybox"}]}), json!({})),
        ];
        for (i, pod) in cases.into_iter().enumerate() {
            let bytes = stored(pod);
            let want = typed(&bytes, "node-7", &cond).unwrap();
            let got = bind_stored_json(&bytes, "node-7", &cond_json).unwrap().expect("handled");
            assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap(), "case {i}");
        }
    }

    #[test]
    fn a_served_copy_loses_its_resource_version() {
        let bytes = stored(sample(json!({}), json!({"phase": "Pending"})));
        let served = crate::objbytes::with_resource_version(&bytes, 99);
        let cond = serde_json::to_string(&condition()).unwrap();
        let from_served = bind_stored_json(&served, "n", &cond).unwrap().unwrap();
        assert_eq!(from_served, bind_stored_json(&bytes, "n", &cond).unwrap().unwrap());
        let v: serde_json::Value = serde_json::from_slice(&from_served).unwrap();
        assert!(v["metadata"].get("resourceVersion").is_none());
        assert_eq!(v["spec"]["nodeName"], "n");
    }

    #[test]
    fn refusals_match_the_typed_checks() {
        let cond = serde_json::to_string(&condition()).unwrap();
        let mut deleting = sample(json!({}), json!({}));
        deleting["metadata"]["deletionTimestamp"] = json!("2026-11-24T05:00:00Z");
        let cases = [
            (deleting, Refusal::Deleting),
            (sample(json!({"nodeName": "other"}), json!({})), Refusal::Assigned("other".into())),
            (sample(json!({"schedulingGates": [{"name": "g"}]}), json!({})), Refusal::Gated),
        ];
        for (pod, refusal) in cases {
            let bytes = stored(pod);
            assert_eq!(bind_stored_json(&bytes, "n", &cond), Err(refusal));
            assert!(typed(&bytes, "n", &condition()).is_err());
        }
        assert_eq!(Refusal::Assigned("a".into()).message("p"), "pod p is already assigned to node \"a\"");
    }

    #[test]
    fn shapes_it_does_not_handle_go_to_the_typed_path() {
        let cond = serde_json::to_string(&condition()).unwrap();
        for raw in [&b"not json"[..], b"[]", br#"{"metadata":{},"spec":{}}"#, br#"{"metadata":{},"status":{}}"#] {
            assert_eq!(bind_stored_json(raw, "n", &cond), Ok(None));
        }
        // A nodeName of another type than a string is left to the decoder to report.
        assert_eq!(bind_stored_json(br#"{"metadata":{},"spec":{"nodeName":3},"status":{}}"#, "n", &cond), Ok(None));
    }
}
