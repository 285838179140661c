//! Table-wide checks: for every kind of the table, a fixture generated from the table itself
//! (every field set, in two variants that take the unions' other forms) survives
//! JSON -> protobuf -> JSON unchanged, and a minimal object survives with only Go's zero
//! values added and re-encodes to the same bytes.

use serde_json::{Map, Value, json};

use crate::table::{FieldDef, Kind, MessageRef, Special, flags, kinds};
use crate::{decode_object, encode_object};

/// Messages nested deeper than this get only their non-nullable fields.
const FIXTURE_DEPTH: usize = 12;

struct Gen {
    variant: usize,
    stack: Vec<MessageRef>,
}

impl Gen {
    fn scalar(&self, kind: Kind, name: &str) -> Value {
        let v = self.variant;
        match kind {
            Kind::String => Value::String(format!("{name}-{v}")),
            Kind::Bytes => Value::String(["AP94", "aGVsbG8="][v].to_owned()),
            Kind::Bool => Value::Bool(true),
            Kind::Int32 => json!([7, -7][v]),
            Kind::Int64 => json!([1_234_567_890_123i64, -5][v]),
            Kind::Uint32 | Kind::Uint64 => json!(7),
            Kind::Double => json!([1.5, -0.25][v]),
            Kind::Float => json!(0.5),
            Kind::Message => Value::Null,
        }
    }

    fn value(&mut self, fd: &FieldDef) -> Option<Value> {
        if fd.kind() != Kind::Message {
            return Some(self.scalar(fd.kind(), fd.json_name()));
        }
        let child = fd.message();
        // Recursive types (JSONSchemaProps) and very deep paths stop at optional fields.
        let optional = fd.has(flags::NULLABLE | flags::REPEATED | flags::MAP);
        if optional && (self.stack.contains(&child) || self.stack.len() > FIXTURE_DEPTH) {
            return None;
        }
        self.message(child)
    }

    /// None when the message cannot be given a value that survives (a schema union too deep).
    fn message(&mut self, msg: MessageRef) -> Option<Value> {
        let v = self.variant;
        self.stack.push(msg);
        let value = match msg.special() {
            Special::Time => json!(["2024-01-02T03:04:05Z", "1999-12-31T23:59:59Z"][v]),
            Special::MicroTime => {
                json!(["2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.000000Z"][v])
            }
            Special::Duration => json!(["1h2m3s", "1.5ms"][v]),
            Special::Quantity => json!(["1500m", "2Gi"][v]),
            Special::IntOrString => json!([json!(8080), json!("25%")][v]),
            Special::RawExtension => {
                json!({"apiVersion": "example.com/v1", "kind": "Thing", "spec": {"a": [1, "x", true, null]}})
            }
            Special::RawJson => [json!({"f:metadata": {"f:name": {}}}), json!([1, 2.5, "x"])][v].clone(),
            Special::SchemaOrBool | Special::SchemaOrArray | Special::SchemaOrStringArray => {
                let schema = msg.fields().iter().find(|f| f.kind() == Kind::Message).map(FieldDef::message);
                let nested = schema.filter(|s| !self.stack.contains(s) || self.stack.len() < 6);
                let object = nested.and_then(|s| self.message(s));
                match (msg.special(), v, object) {
                    (Special::SchemaOrBool, 0, Some(o)) => o,
                    (Special::SchemaOrBool, _, _) => json!(false),
                    (Special::SchemaOrStringArray, 1, _) => json!(["a", "b"]),
                    (_, 0, Some(o)) => o,
                    (Special::SchemaOrArray, _, Some(o)) => json!([o.clone(), o]),
                    (Special::SchemaOrArray, _, None) => {
                        self.stack.pop();
                        return None;
                    }
                    _ => json!(["a", "b"]),
                }
            }
            Special::WrappedArray => json!(["get", "list"]),
            Special::None => {
                let mut obj = Map::new();
                for fd in msg.fields() {
                    if fd.has(flags::NO_JSON) {
                        continue;
                    }
                    if fd.has(flags::INLINE) {
                        if let Some(Value::Object(inner)) = self.message(fd.message()) {
                            for (k, val) in inner {
                                obj.entry(k).or_insert(val);
                            }
                        }
                        continue;
                    }
                    let Some(val) = self.value(fd) else { continue };
                    let val = if fd.has(flags::MAP) {
                        json!({"key-a": val})
                    } else if fd.has(flags::REPEATED) {
                        json!([val])
                    } else {
                        val
                    };
                    obj.insert(fd.json_name().to_owned(), val);
                }
                Value::Object(obj)
            }
        };
        self.stack.pop();
        Some(value)
    }
}

/// True for the values Go's zero-filling may add: null, "", 0, false, [] and objects of them.
fn zero_like(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "0",
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(zero_like),
    }
}

#[test]
fn every_kind_round_trips_a_fully_populated_fixture() {
    let (mut checked, mut pod_size) = (0, 0);
    for (api_version, kind, msg) in kinds() {
        for variant in 0..2 {
            let mut fixture = Gen { variant, stack: Vec::new() }.message(msg).unwrap();
            let obj = fixture.as_object_mut().unwrap();
            obj.insert("apiVersion".into(), json!(api_version));
            obj.insert("kind".into(), json!(kind));
            let body = encode_object(&fixture).unwrap_or_else(|e| panic!("{api_version} {kind}: encode: {e}"));
            let back = decode_object(&body).unwrap_or_else(|e| panic!("{api_version} {kind}: decode: {e}"));
            assert_eq!(back, fixture, "{api_version} {kind} variant {variant}");
            if (api_version, kind, variant) == ("v1", "Pod", 0) {
                pod_size = fixture.to_string().len();
            }
            if (api_version, kind) == ("apiextensions.k8s.io/v1", "CustomResourceDefinition") {
                let text = fixture.to_string();
                assert!(text.contains("\"x-kubernetes-preserve-unknown-fields\":true"), "{text}");
                assert!(text.contains("\"$ref\""), "{text}");
            }
            checked += 1;
        }
    }
    assert!(checked > 1500, "only {checked} fixtures");
    // The Pod fixture sets every field of the whole PodSpec/PodStatus tree.
    assert!(pod_size > 30_000, "Pod fixture of {pod_size} bytes");
}

#[test]
fn every_kind_round_trips_a_minimal_object_with_go_zero_values() {
    for (api_version, kind, _) in kinds() {
        let minimal = json!({"apiVersion": api_version, "kind": kind});
        let body = encode_object(&minimal).unwrap();
        let back = decode_object(&body).unwrap_or_else(|e| panic!("{api_version} {kind}: {e}"));
        let obj = back.as_object().unwrap();
        assert_eq!(obj["apiVersion"], json!(api_version));
        assert_eq!(obj["kind"], json!(kind));
        for (k, v) in obj {
            if k != "apiVersion" && k != "kind" {
                assert!(zero_like(v), "{api_version} {kind}: {k} = {v}");
            }
        }
        assert_eq!(encode_object(&back).unwrap(), body, "{api_version} {kind}: re-encoding the zero-filled JSON");
    }
}

#[test]
fn kinds_cover_the_api_groups() {
    let have = |av: &str, k: &str| crate::message_for(av, k).map(|m| m.full_name());
    assert_eq!(have("v1", "Pod").as_deref(), Some("k8s.io.api.core.v1.Pod"));
    assert_eq!(have("v1", "ConfigMapList").as_deref(), Some("k8s.io.api.core.v1.ConfigMapList"));
    assert_eq!(have("apps/v1", "Deployment").as_deref(), Some("k8s.io.api.apps.v1.Deployment"));
    assert_eq!(
        have("apiextensions.k8s.io/v1", "CustomResourceDefinition").as_deref(),
        Some("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition")
    );
    assert_eq!(
        have("apiregistration.k8s.io/v1", "APIService").as_deref(),
        Some("k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIService")
    );
    assert_eq!(have("v1", "Status").as_deref(), Some("k8s.io.apimachinery.pkg.apis.meta.v1.Status"));
    // Unversioned and per-group-version meta kinds.
    assert_eq!(have("apps/v1", "Status").as_deref(), Some("k8s.io.apimachinery.pkg.apis.meta.v1.Status"));
    assert_eq!(have("apps/v1", "DeleteOptions").as_deref(), Some("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
    assert_eq!(have("batch/v1", "WatchEvent").as_deref(), Some("k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent"));
    assert!(have("meta.k8s.io/v1", "PartialObjectMetadataList").is_some());
    for (av, k) in [
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
        ("authentication.k8s.io/v1", "TokenReview"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("batch/v1", "CronJob"),
        ("certificates.k8s.io/v1", "CertificateSigningRequest"),
        ("coordination.k8s.io/v1", "Lease"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
        ("events.k8s.io/v1", "Event"),
        ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
        ("networking.k8s.io/v1", "Ingress"),
        ("node.k8s.io/v1", "RuntimeClass"),
        ("policy/v1", "PodDisruptionBudget"),
        ("policy/v1", "Eviction"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("resource.k8s.io/v1", "ResourceClaim"),
        ("resource.k8s.io/v1beta1", "DeviceClass"),
        ("scheduling.k8s.io/v1", "PriorityClass"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("storage.k8s.io/v1beta1", "VolumeAttributesClass"),
        ("autoscaling/v1", "Scale"),
        ("v1", "Binding"),
        ("v1", "List"),
    ] {
        assert!(have(av, k).is_some(), "{av} {k}");
    }
    assert!(have("v1", "Deployment").is_none());
    assert!(have("example.com/v1", "Thing").is_none());
}
