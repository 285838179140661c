//! The `k8s\0` + runtime.Unknown envelope around every protobuf body, and watch framing.

use crate::error::{ErrorKind, ProtoError};
use crate::wire::{self, LEN, Reader};

/// The prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// runtime.Unknown: the envelope that names an encoded object's type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unknown {
    pub api_version: String,
    pub kind: String,
    /// The object's protobuf message.
    pub raw: Vec<u8>,
    /// Empty for Kubernetes' own bodies; anything else is not supported.
    pub content_encoding: String,
    /// Empty (protobuf) for Kubernetes' own bodies.
    pub content_type: String,
}

fn expect_len(field: &'static str, wire: u8) -> Result<(), ProtoError> {
    if wire == LEN {
        Ok(())
    } else {
        Err(ProtoError::from(ErrorKind::WrongWireType { found: wire, expected: "length-delimited" }).at_field(field))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits a body into its envelope: the magic, then a runtime.Unknown
/// {typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4}.
pub fn decode_envelope(body: &[u8]) -> Result<Unknown, ProtoError> {
    let message = body.strip_prefix(MAGIC).ok_or(ErrorKind::MissingMagic)?;
    let mut unknown = Unknown::default();
    let mut r = Reader::new(message);
    while let Some((number, wire)) = r.key()? {
        match number {
            1 => {
                expect_len("typeMeta", wire)?;
                let mut t = Reader::new(r.bytes()?);
                while let Some((n, w)) = t.key()? {
                    match n {
                        1 => {
                            expect_len("apiVersion", w)?;
                            unknown.api_version = text(t.bytes()?);
                        }
                        2 => {
                            expect_len("kind", w)?;
                            unknown.kind = text(t.bytes()?);
                        }
                        _ => t.skip(w)?,
                    }
                }
            }
            2 => {
                expect_len("raw", wire)?;
                unknown.raw = r.bytes()?.to_vec();
            }
            3 => {
                expect_len("contentEncoding", wire)?;
                unknown.content_encoding = text(r.bytes()?);
            }
            4 => {
                expect_len("contentType", wire)?;
                unknown.content_type = text(r.bytes()?);
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(unknown)
}

/// Wraps an encoded message in the envelope, as Go's protobuf serializer writes it.
pub fn encode_envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + api_version.len() + kind.len() + 24);
    // Infallible: the body closures below never fail.
    let _ = write_envelope::<()>(&mut out, api_version, kind, |out| {
        out.extend_from_slice(raw);
        Ok(())
    });
    out
}

/// Writes magic + envelope, with the object's message written in place by `raw`.
pub(crate) fn write_envelope<E>(
    out: &mut Vec<u8>,
    api_version: &str,
    kind: &str,
    raw: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    out.extend_from_slice(MAGIC);
    wire::put_nested::<()>(out, 1, |out| {
        wire::put_bytes(out, 1, api_version.as_bytes());
        wire::put_bytes(out, 2, kind.as_bytes());
        Ok(())
    })
    .ok();
    wire::put_nested(out, 2, raw)?;
    // Go writes the empty contentEncoding and contentType too.
    wire::put_bytes(out, 3, b"");
    wire::put_bytes(out, 4, b"");
    Ok(())
}
