//! Request body decoding: krs_apiserver::encoding::decode_value for JSON, YAML and protobuf
//! bodies, then the typed decode of the object's kind (krs_kinds::lookup(..).decode_value),
//! and the typed decode of the raw bytes as some built-in kind (decode_json). Never panics.
//!
//! Input: `[selector][body]`; the selector's low 2 bits pick the format, the rest the kind for
//! the raw typed decode.

#![no_main]

use bytes::Bytes;
use krs_apiserver::encoding::{BodyFormat, decode_value};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Kinds the raw bytes are decoded as.
const KINDS: &[(&str, &str, &str)] = &[
    ("", "v1", "Pod"),
    ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"),
    ("", "v1", "Service"),
    ("", "v1", "Namespace"),
    ("", "v1", "Node"),
    ("", "v1", "PersistentVolume"),
    ("", "v1", "Event"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "DaemonSet"),
    ("batch", "v1", "Job"),
    ("batch", "v1", "CronJob"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io", "v1", "Ingress"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ("coordination.k8s.io", "v1", "Lease"),
    ("policy", "v1", "PodDisruptionBudget"),
    ("discovery.k8s.io", "v1", "EndpointSlice"),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = match selector & 0x3 {
        0 | 3 => BodyFormat::Json,
        1 => BodyFormat::Yaml,
        _ => BodyFormat::Protobuf,
    };
    let bytes = Bytes::copy_from_slice(body);
    if let Ok(value) = decode_value(&bytes, format) {
        let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        if let Some(codec) = krs_kinds::lookup(group, version, kind) {
            if let Ok(obj) = codec.decode_value(value.clone(), &mut |_| {}) {
                // What decodes serializes back.
                let _ = obj.to_json();
            }
        }
    }
    let (group, version, kind) = KINDS[usize::from(selector >> 2) % KINDS.len()];
    if let Some(codec) = krs_kinds::lookup(group, version, kind) {
        let mut unknown = Vec::new();
        if let Ok(obj) = codec.decode_json(body, &mut |p| unknown.push(p)) {
            let _ = obj.to_json();
        }
    }
});
