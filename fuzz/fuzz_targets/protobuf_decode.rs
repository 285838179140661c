//! Kubernetes protobuf (the `k8s\0` envelope and the typed messages) from arbitrary bytes:
//! decoding never panics, and what decodes encodes and decodes again without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = krs_proto::decode_object(data) {
        if let Ok(bytes) = krs_proto::encode_object(&obj) {
            let _ = krs_proto::decode_object(&bytes);
        }
    }
    // The watch event envelope (WatchEvent with a RawExtension object).
    if let Ok(event) = krs_proto::decode_watch_event(data) {
        if let (Some(t), Some(obj)) = (event.get("type").and_then(|t| t.as_str()), event.get("object")) {
            let _ = krs_proto::encode_watch_event(t, obj);
        }
    }
    // The body as it follows the envelope's 4-byte magic.
    let mut enveloped = b"k8s\0".to_vec();
    enveloped.extend_from_slice(data);
    let _ = krs_proto::decode_object(&enveloped);
});
