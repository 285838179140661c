//! Golden bytes derived by hand from the generated.proto tags and gogo's marshalling rules,
//! watch framing, and hostile input: errors with field paths, never a panic.

use serde_json::{Value, json};

use krs_proto::{
    ErrorKind, MAGIC, MessageRef, decode_envelope, decode_message, decode_object, decode_watch_event, encode_envelope,
    encode_message, encode_object, encode_watch_event, message_for,
};

fn msg(name: &str) -> MessageRef {
    MessageRef::by_name(name).unwrap_or_else(|| panic!("{name} not in the table"))
}

/// A ConfigMap as Go writes it: ObjectMeta (ConfigMap field 1) carries every non-pointer
/// scalar even when empty (generateName=2, selfLink=4, uid=5, resourceVersion=6,
/// generation=7) and the zero creationTimestamp (8) as an empty message; data (2) is a
/// map entry {key=1, value=2}; the envelope ends with empty contentEncoding and contentType.
#[rustfmt::skip]
const CONFIG_MAP: &[u8] = &[
    b'k', b'8', b's', 0,
    0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09, b'C', b'o', b'n', b'f', b'i', b'g', b'M', b'a', b'p',
    0x12, 0x22,
        0x0a, 0x18,
            0x0a, 0x01, b'x',
            0x12, 0x00,
            0x1a, 0x07, b'd', b'e', b'f', b'a', b'u', b'l', b't',
            0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00,
        0x12, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b',
    0x1a, 0x00, 0x22, 0x00,
];

#[test]
fn config_map_golden_bytes() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}, "data": {"a": "b"}});
    assert_eq!(encode_object(&cm).unwrap(), CONFIG_MAP);
    let decoded = decode_object(CONFIG_MAP).unwrap();
    assert_eq!(
        decoded,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "x", "namespace": "default", "creationTimestamp": null}, "data": {"a": "b"}})
    );
    let envelope = decode_envelope(CONFIG_MAP).unwrap();
    assert_eq!((envelope.api_version.as_str(), envelope.kind.as_str()), ("v1", "ConfigMap"));
    assert_eq!(encode_envelope("v1", "ConfigMap", &envelope.raw), CONFIG_MAP);
}

#[test]
fn special_types_golden_bytes() {
    let ios = msg("k8s.io.apimachinery.pkg.util.intstr.IntOrString");
    assert_eq!(encode_message(ios, &json!("25%")).unwrap(), [0x08, 0x01, 0x10, 0x00, 0x1a, 0x03, b'2', b'5', b'%']);
    assert_eq!(encode_message(ios, &json!(5)).unwrap(), [0x08, 0x00, 0x10, 0x05, 0x1a, 0x00]);
    // A negative int32 is a ten-byte varint, as Go writes it.
    let minus_one = [0x08, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a, 0x00];
    assert_eq!(encode_message(ios, &json!(-1)).unwrap(), minus_one);
    assert_eq!(decode_message(ios, &minus_one).unwrap(), json!(-1));

    // metav1.Time: {seconds=1, nanos=2}, seconds precision; the zero time is an empty message.
    let time = msg("k8s.io.apimachinery.pkg.apis.meta.v1.Time");
    let t = [0x08, 0xa5, 0xfa, 0xcd, 0xac, 0x06, 0x10, 0x00];
    assert_eq!(encode_message(time, &json!("2024-01-02T03:04:05Z")).unwrap(), t);
    assert_eq!(decode_message(time, &t).unwrap(), json!("2024-01-02T03:04:05Z"));
    assert!(encode_message(time, &Value::Null).unwrap().is_empty());
    assert_eq!(decode_message(time, &[]).unwrap(), Value::Null);
    // A present {0, 0} is the epoch, not the zero time.
    assert_eq!(decode_message(time, &[0x08, 0x00, 0x10, 0x00]).unwrap(), json!("1970-01-01T00:00:00Z"));

    let micro = msg("k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime");
    let m = encode_message(micro, &json!("2024-01-02T03:04:05.000001Z")).unwrap();
    assert_eq!(m, [0x08, 0xa5, 0xfa, 0xcd, 0xac, 0x06, 0x10, 0xe8, 0x07]);
    assert_eq!(decode_message(micro, &m).unwrap(), json!("2024-01-02T03:04:05.000001Z"));

    let duration = msg("k8s.io.apimachinery.pkg.apis.meta.v1.Duration");
    assert_eq!(encode_message(duration, &json!("1.5s")).unwrap(), [0x08, 0x80, 0xde, 0xa0, 0xcb, 0x05]);
    assert_eq!(decode_message(duration, &[0x08, 0x80, 0xde, 0xa0, 0xcb, 0x05]).unwrap(), json!("1.5s"));

    let quantity = msg("k8s.io.apimachinery.pkg.api.resource.Quantity");
    assert_eq!(encode_message(quantity, &json!("100Mi")).unwrap(), b"\x0a\x05100Mi");
    assert_eq!(encode_message(quantity, &json!(2)).unwrap(), b"\x0a\x012");

    // Repeated scalars are written unpacked but read packed too.
    let caps = msg("k8s.io.api.core.v1.PodSecurityContext");
    let packed = [0x22, 0x02, 0x04, 0x05]; // supplementalGroups (4) = [4, 5], packed
    assert_eq!(decode_message(caps, &packed).unwrap()["supplementalGroups"], json!([4, 5]));
    let unpacked = encode_message(caps, &json!({"supplementalGroups": [4, 5]})).unwrap();
    assert!(unpacked.windows(4).any(|w| w == [0x20, 0x04, 0x20, 0x05]), "{unpacked:x?}");
}

#[test]
fn unknown_fields_are_skipped() {
    let cm = message_for("v1", "ConfigMap").unwrap();
    // Field 99 as varint, fixed64, length-delimited and fixed32, then immutable (4) = true.
    let mut bytes = vec![0x98, 0x06, 0x01, 0x99, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0x9a, 0x06, 0x01, 0x00];
    bytes.extend_from_slice(&[0x9d, 0x06, 0, 0, 0, 0, 0x20, 0x01]);
    let v = decode_message(cm, &bytes).unwrap();
    assert_eq!(v["immutable"], true);
}

#[test]
fn watch_events_are_length_prefixed_watch_event_messages() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}, "data": {"a": "b"}});
    let frame = encode_watch_event("ADDED", &cm).unwrap();
    let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 4);
    let payload = &frame[4..];
    // type=1 "ADDED", object=2 RawExtension{raw=1: the ConfigMap's full body}.
    assert_eq!(&payload[..7], b"\x0a\x05ADDED");
    assert_eq!(payload[7], 0x12);
    let inner = &payload[9..];
    assert_eq!(inner[0], 0x0a);
    assert_eq!(&inner[2..], CONFIG_MAP);
    let event = decode_watch_event(payload).unwrap();
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"], decode_object(CONFIG_MAP).unwrap());

    // A bookmark carries an object with only metadata.resourceVersion.
    let bookmark = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"resourceVersion": "12",
                          "annotations": {"k8s.io/initial-events-end": "true"}}});
    let frame = encode_watch_event("BOOKMARK", &bookmark).unwrap();
    let event = decode_watch_event(&frame[4..]).unwrap();
    assert_eq!(event["object"]["metadata"]["resourceVersion"], "12");
}

fn err_of(r: Result<Value, krs_proto::ProtoError>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn malformed_bodies_are_errors() {
    assert_eq!(decode_object(b"").unwrap_err().kind(), &ErrorKind::MissingMagic);
    assert_eq!(decode_object(b"k9s\0\x0a\x00").unwrap_err().kind(), &ErrorKind::MissingMagic);
    assert_eq!(decode_object(br#"{"kind":"Pod"}"#).unwrap_err().kind(), &ErrorKind::MissingMagic);
    // Every truncation of a valid body fails cleanly (or, for a prefix that ends between
    // fields, decodes).
    for n in 0..CONFIG_MAP.len() {
        let _ = decode_object(&CONFIG_MAP[..n]);
    }
    assert_eq!(decode_object(&CONFIG_MAP[..CONFIG_MAP.len() - 10]).unwrap_err().kind(), &ErrorKind::Truncated);
    let unknown = encode_envelope("example.com/v1", "Thing", b"");
    assert!(matches!(decode_object(&unknown).unwrap_err().kind(), ErrorKind::UnknownKind { .. }));

    let cm = message_for("v1", "ConfigMap").unwrap();
    assert_eq!(err_of(decode_message(cm, &[0x08, 0x01])), "metadata: wrong wire type 0 (expected length-delimited)");
    assert_eq!(err_of(decode_message(cm, &[0x0a, 0x02, 0x38, 0x80])), "metadata.generation: unexpected end of data");
    assert_eq!(
        err_of(decode_message(cm, &[0x0a, 0x0b, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
        "metadata.generation: varint longer than 10 bytes"
    );
    assert_eq!(err_of(decode_message(cm, &[0x00, 0x01])), "invalid field number 0");
    assert_eq!(err_of(decode_message(cm, &[0x9b, 0x06])), "unsupported wire type 3");
    assert_eq!(err_of(decode_message(cm, &[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])), "data: unexpected end of data");
    // A huge length prefix allocates nothing: it is checked against the bytes present.
    assert_eq!(
        err_of(decode_message(cm, &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])),
        "metadata: unexpected end of data"
    );
    let ios = msg("k8s.io.apimachinery.pkg.util.intstr.IntOrString");
    assert_eq!(err_of(decode_message(ios, &[0x08, 0x07])), "invalid IntOrString type 7");
    let raw = msg("k8s.io.apimachinery.pkg.runtime.RawExtension");
    assert!(err_of(decode_message(raw, b"\x0a\x03{x}")).starts_with("invalid embedded JSON"));
}

#[test]
fn wrong_json_types_name_the_field() {
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": "80"}]}]}}}});
    assert_eq!(
        err_of(encode_object(&d).map(Value::from)),
        "spec.template.spec.containers[0].ports[1].containerPort: expected integer, found string"
    );
    d["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"] = json!(2_147_483_648i64);
    assert_eq!(
        err_of(encode_object(&d).map(Value::from)),
        "spec.template.spec.containers[0].ports[1].containerPort: 2147483648 is out of range for int32"
    );
    d["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"] = json!(1.5);
    assert!(encode_object(&d).is_err());
    d["spec"]["template"]["spec"]["containers"] = json!({"name": "a"});
    assert_eq!(
        err_of(encode_object(&d).map(Value::from)),
        "spec.template.spec.containers: expected array, found object"
    );
    let bad = [
        (json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "not base64!"}}), "data[k]: invalid base64 data"),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": "yesterday"}}),
            "metadata.creationTimestamp: invalid time \"yesterday\": expected RFC 3339 (2006-01-02T15:04:05Z)",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": 1}}}),
            "metadata.labels[a]: expected string, found number",
        ),
        (json!({"apiVersion": "v1", "kind": "Pod", "metadata": "x"}), "metadata: expected object, found string"),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"hostNetwork": "true"}}),
            "spec.hostNetwork: expected boolean, found string",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"strategy": {"rollingUpdate": {"maxSurge": true}}}}),
            "spec.strategy.rollingUpdate.maxSurge: expected integer or string, found boolean",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"resources": {"limits": {"cpu": []}}}]}}),
            "spec.containers[0].resources.limits[cpu]: expected quantity string, found array",
        ),
        (json!({"kind": "Pod"}), "object has no apiVersion and kind"),
        (
            json!({"apiVersion": "v1", "kind": "Nope"}),
            "no protobuf message is known for apiVersion \"v1\", kind \"Nope\"",
        ),
    ];
    for (obj, want) in bad {
        assert_eq!(err_of(encode_object(&obj).map(Value::from)), want);
    }
}

/// A length-delimited field: key bytes, varint length, content.
fn field(key: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    let mut len = content.len();
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(content);
    out
}

#[test]
fn nesting_and_expansion_are_bounded() {
    // JSONSchemaProps nested 150 deep through `not`.
    let mut schema = json!({"type": "string"});
    for _ in 0..150 {
        schema = json!({"not": schema});
    }
    let props = msg("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps");
    assert_eq!(encode_message(props, &schema).unwrap_err().kind(), &ErrorKind::TooDeep(100));
    let mut bytes = Vec::new();
    for _ in 0..150 {
        bytes = field(&[0xe2, 0x01], &bytes); // field 28 (not)
    }
    assert_eq!(decode_message(props, &bytes).unwrap_err().kind(), &ErrorKind::TooDeep(100));

    // Watch events embedding watch events, 150 deep, through RawExtension envelopes.
    let mut body = encode_object(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap();
    for _ in 0..150 {
        let mut event = field(&[0x0a], b"ADDED");
        event.extend(field(&[0x12], &field(&[0x0a], &body)));
        body = encode_envelope("meta.k8s.io/v1", "WatchEvent", &event);
    }
    assert_eq!(decode_object(&body).unwrap_err().kind(), &ErrorKind::TooDeep(100));

    // 500k empty containers (2 bytes each) would expand to hundreds of millions of zero values.
    let spec: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], 500_000).flatten().collect();
    let body = encode_envelope("v1", "Pod", &field(&[0x12], &spec));
    assert_eq!(decode_object(&body).unwrap_err().kind(), &ErrorKind::TooLarge);
}

#[test]
fn mutated_bodies_never_panic() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"app": "d"}, "creationTimestamp": "2024-01-02T03:04:05Z"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "d"}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                 "template": {"spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}],
                              "resources": {"limits": {"cpu": "1"}}}]}}}});
    let body = encode_object(&deployment).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..body.len() {
        for flip in [0xffu8, 0x80, 0x01, 0x7f] {
            let mut b = body.clone();
            b[i] ^= flip;
            let _ = decode_object(&b);
        }
        let _ = decode_object(&body[..i]);
    }
    // Random bytes after the magic.
    for _ in 0..2000 {
        let mut b = MAGIC.to_vec();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b.push(state as u8);
        }
        let _ = decode_object(&b);
        let pod = message_for("v1", "Pod").unwrap();
        let _ = decode_message(pod, &b[4..]);
    }
}
