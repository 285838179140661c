//! Kubernetes' protobuf wire format, transcoded to and from Kubernetes' JSON.
//!
//! kubectl and client-go send typed request bodies as `application/vnd.kubernetes.protobuf`
//! and ask for protobuf responses and watch streams, while the krs API server works on JSON.
//! This crate sits between the two: it turns a protobuf body (the `k8s\0` magic, a
//! runtime.Unknown envelope naming apiVersion and kind, the object's message) into the JSON
//! that upstream's Go types would produce for the same object, and JSON back into the exact
//! bytes Go would write. No per-type code exists: a table generated from the upstream Go types
//! and `generated.proto` files (`tools/gen-proto-schema.py` writes `schema.rs`) describes every
//! message of every built-in API group, and one table-driven decoder and encoder walk it.
//!
//! The mapping follows Go:
//! - protobuf -> JSON writes what encoding/json writes for the decoded Go struct: a non-pointer
//!   scalar is written unless `omitempty` and zero, a non-pointer struct always (as `{}` or its
//!   zero form, e.g. `creationTimestamp: null`, `targetPort: 0`), a pointer only when set
//!   (`replicas: 0` stays). Deliberate difference: a nil slice or map is left out rather
//!   than written as `null`, so a protobuf request yields the same JSON as the JSON request
//!   would (null means "delete" to merge patches, and k8s-openapi reads both the same way).
//! - JSON -> protobuf writes what gogo's marshalers write: ascending field numbers, every
//!   non-pointer scalar and struct (zero when absent), pointers/slices/maps only when set, map
//!   entries sorted by key. Decoding a kubectl body and encoding the result gives kubectl's
//!   bytes back.
//! - Special types: metav1.Time (RFC 3339, whole seconds), MicroTime (six fractional digits),
//!   Duration (Go duration string), resource.Quantity (string, passed through uncanonicalised),
//!   IntOrString, RawExtension (embedded JSON, or an embedded `k8s\0` object decoded
//!   recursively), FieldsV1 and apiextensions JSON (raw JSON), the JSONSchemaProps unions,
//!   and named slice types that protobuf wraps as `{items}` (ExtraValue, Verbs).
//!
//! Known normalisations: quantities are not canonicalised (Go would write "500m" for "0.5");
//! metav1.Time drops sub-second digits and MicroTime digits below a microsecond (as Go does);
//! an embedded message that occurs twice on the wire is merged by concatenation (protobuf's
//! rule); JSON numbers like `1.0` are accepted for integer fields (Go rejects them).
//!
//! Hostile input gets an error naming the field (`spec.containers[0].ports[1].containerPort:
//! ...`), never a panic: length prefixes are checked against the bytes present, nesting is
//! capped at [`MAX_DEPTH`], and a decode's output is bounded relative to its input size.

mod decode;
mod encode;
mod envelope;
mod error;
#[rustfmt::skip]
mod schema;
mod special;
mod table;
#[cfg(test)]
mod table_tests;
mod wire;

use serde_json::Value;

pub use envelope::{MAGIC, Unknown, decode_envelope, encode_envelope};
pub use error::{ErrorKind, PathSegment, ProtoError};
pub use table::{MessageRef, kinds, message_for};

/// Deepest nesting of messages (and embedded objects) accepted, like Go's decoders' limits.
pub const MAX_DEPTH: usize = 100;

/// The protobuf content type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The content type of a protobuf watch stream (length-prefixed WatchEvent frames).
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

fn type_meta(obj: &Value) -> Result<(&str, &str), ProtoError> {
    let field = |name| obj.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (field("apiVersion"), field("kind")) {
        (Some(api_version), Some(kind)) => Ok((api_version, kind)),
        _ => Err(ErrorKind::MissingTypeMeta.into()),
    }
}

fn message_of(api_version: &str, kind: &str) -> Result<MessageRef, ProtoError> {
    message_for(api_version, kind)
        .ok_or_else(|| ErrorKind::UnknownKind { api_version: api_version.to_owned(), kind: kind.to_owned() }.into())
}

/// Decodes a full request body (envelope + message) into the object's JSON, with apiVersion
/// and kind set.
pub fn decode_object(body: &[u8]) -> Result<Value, ProtoError> {
    let unknown = decode_envelope(body)?;
    decode::Decoder::new(body.len()).unknown(&unknown)
}

/// Encodes an object's JSON (which must carry apiVersion and kind) as a full protobuf body
/// (envelope + message).
pub fn encode_object(obj: &Value) -> Result<Vec<u8>, ProtoError> {
    let (api_version, kind) = type_meta(obj)?;
    let msg = message_of(api_version, kind)?;
    let mut out = Vec::with_capacity(512);
    envelope::write_envelope(&mut out, api_version, kind, |out| encode::Encoder::new().message(msg, obj, out))?;
    Ok(out)
}

/// Decodes one message (no envelope) into JSON.
pub fn decode_message(msg: MessageRef, bytes: &[u8]) -> Result<Value, ProtoError> {
    decode::Decoder::new(bytes.len()).message(msg, bytes)
}

/// Encodes JSON as one message (no envelope).
pub fn encode_message(msg: MessageRef, value: &Value) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::new();
    encode::Encoder::new().message(msg, value, &mut out)?;
    Ok(out)
}

/// Encodes one event of a protobuf watch stream: a metav1.WatchEvent {type=1,
/// object=2 RawExtension whose raw is the object's full protobuf body}, preceded by its
/// 4-byte big-endian length, as Go's length-delimited framer writes it.
pub fn encode_watch_event(event_type: &str, obj: &Value) -> Result<Vec<u8>, ProtoError> {
    let (api_version, kind) = type_meta(obj)?;
    let msg = message_of(api_version, kind)?;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&[0; 4]);
    wire::put_bytes(&mut out, 1, event_type.as_bytes());
    wire::put_nested(&mut out, 2, |out| {
        wire::put_nested(out, 1, |out| {
            envelope::write_envelope(out, api_version, kind, |out| encode::Encoder::new().message(msg, obj, out))
        })
    })?;
    let len = u32::try_from(out.len() - 4).map_err(|_| ErrorKind::TooLarge)?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// Decodes one watch frame's payload (without its length prefix) into
/// `{"type": .., "object": ..}`.
pub fn decode_watch_event(payload: &[u8]) -> Result<Value, ProtoError> {
    let msg = message_of("meta.k8s.io/v1", "WatchEvent")?;
    decode_message(msg, payload)
}
