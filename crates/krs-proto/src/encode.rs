//! JSON -> protobuf, writing what Go's gogo-generated marshalers write for the Go object that
//! the JSON decodes to: ascending field numbers, non-pointer scalars and structs always
//! (zero when absent from the JSON), pointers, slices and maps only when set.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};
use std::borrow::Cow;

use crate::MAX_DEPTH;
use crate::error::{ErrorKind, ProtoError, wrong_type};
use crate::special::{GO_ZERO_TIME_SECONDS, parse_duration, parse_time};
use crate::table::{FieldDef, Kind, MessageRef, Special, flags};
use crate::wire::{FIXED32, FIXED64, VARINT, put_bytes, put_key, put_nested, put_varint};

/// Go's encoding/json decodes []byte with padded standard base64; unpadded input is
/// accepted too, since being lenient here costs nothing.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) struct Encoder {
    depth: usize,
}

fn decode_base64(s: &str) -> Result<Vec<u8>, ProtoError> {
    // Go's decoder skips line breaks.
    let cleaned: Cow<'_, str> =
        if s.contains(['\r', '\n']) { Cow::Owned(s.replace(['\r', '\n'], "")) } else { Cow::Borrowed(s) };
    BASE64.decode(cleaned.as_bytes()).map_err(|_| ErrorKind::InvalidBase64.into())
}

/// A JSON number as an integer within [min, max], as Go's encoding/json reads into intN.
fn integer(v: &Value, min: i128, max: i128, ty: &'static str) -> Result<i128, ProtoError> {
    let Value::Number(n) = v else {
        return Err(wrong_type("integer", v));
    };
    let i = if let Some(i) = n.as_i64() {
        i128::from(i)
    } else if let Some(u) = n.as_u64() {
        i128::from(u)
    } else {
        match n.as_f64() {
            // 1.0 and 1e3 are integers written as floats; Go rejects them, we need not.
            Some(f) if f.fract() == 0.0 && f.abs() < 1e19 => f as i128,
            _ => {
                return Err(ErrorKind::OutOfRange { value: n.to_string(), ty }.into());
            }
        }
    };
    if i < min || i > max {
        return Err(ErrorKind::OutOfRange { value: n.to_string(), ty }.into());
    }
    Ok(i)
}

fn float(v: &Value) -> Result<f64, ProtoError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| wrong_type("number", v)),
        _ => Err(wrong_type("number", v)),
    }
}

/// Writes one scalar field; null (an array element or map value) writes the zero value.
fn scalar(out: &mut Vec<u8>, number: u32, kind: Kind, v: &Value) -> Result<(), ProtoError> {
    if v.is_null() {
        return zero_scalar(out, number, kind);
    }
    match kind {
        Kind::String => match v {
            Value::String(s) => put_bytes(out, number, s.as_bytes()),
            _ => return Err(wrong_type("string", v)),
        },
        Kind::Bytes => match v {
            Value::String(s) => put_bytes(out, number, &decode_base64(s)?),
            _ => return Err(wrong_type("base64 string", v)),
        },
        Kind::Bool => match v {
            Value::Bool(b) => {
                put_key(out, number, VARINT);
                put_varint(out, u64::from(*b));
            }
            _ => return Err(wrong_type("boolean", v)),
        },
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 => {
            let (min, max, ty) = match kind {
                Kind::Int32 => (i128::from(i32::MIN), i128::from(i32::MAX), "int32"),
                Kind::Int64 => (i128::from(i64::MIN), i128::from(i64::MAX), "int64"),
                Kind::Uint32 => (0, i128::from(u32::MAX), "uint32"),
                _ => (0, i128::from(u64::MAX), "uint64"),
            };
            let i = integer(v, min, max, ty)?;
            put_key(out, number, VARINT);
            // Negative numbers are sign-extended to ten bytes, as Go writes int32s too.
            put_varint(out, if i < 0 { i as i64 as u64 } else { i as u64 });
        }
        Kind::Double => {
            put_key(out, number, FIXED64);
            out.extend_from_slice(&float(v)?.to_bits().to_le_bytes());
        }
        Kind::Float => {
            put_key(out, number, FIXED32);
            out.extend_from_slice(&(float(v)? as f32).to_bits().to_le_bytes());
        }
        Kind::Message => return Err(wrong_type("object", v)),
    }
    Ok(())
}

fn zero_scalar(out: &mut Vec<u8>, number: u32, kind: Kind) -> Result<(), ProtoError> {
    match kind {
        Kind::String | Kind::Bytes => put_bytes(out, number, b""),
        Kind::Double => {
            put_key(out, number, FIXED64);
            out.extend_from_slice(&[0; 8]);
        }
        Kind::Float => {
            put_key(out, number, FIXED32);
            out.extend_from_slice(&[0; 4]);
        }
        Kind::Message => {
            return Err(ErrorKind::WrongWireType { found: 0, expected: "message" }.into());
        }
        _ => {
            put_key(out, number, VARINT);
            put_varint(out, 0);
        }
    }
    Ok(())
}

fn sub(msg: MessageRef, number: u32) -> Option<MessageRef> {
    msg.field(number).map(FieldDef::message)
}

impl Encoder {
    pub(crate) fn new() -> Self {
        Encoder { depth: 0 }
    }

    /// Appends the message's fields (without a key or length) to `out`.
    pub(crate) fn message(&mut self, msg: MessageRef, value: &Value, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        if self.depth >= MAX_DEPTH {
            return Err(ErrorKind::TooDeep(MAX_DEPTH).into());
        }
        self.depth += 1;
        let result = match (msg.special(), value) {
            (Special::None, Value::Object(obj)) => self.fields(msg, obj, out),
            // Go decodes null into a struct as its zero value.
            (Special::None, Value::Null) => self.fields(msg, &Map::new(), out),
            (Special::None, other) => Err(wrong_type("object", other)),
            (special, value) => self.special(msg, special, value, out),
        };
        self.depth -= 1;
        result
    }

    fn fields(&mut self, msg: MessageRef, obj: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        for fd in msg.fields() {
            let number = fd.number();
            if fd.has(flags::INLINE) {
                // The embedded struct's fields sit in this same JSON object.
                let child = fd.message();
                put_nested(out, number, |out| {
                    self.depth += 1;
                    let r = if self.depth > MAX_DEPTH {
                        Err(ErrorKind::TooDeep(MAX_DEPTH).into())
                    } else {
                        self.fields(child, obj, out)
                    };
                    self.depth -= 1;
                    r
                })?;
                continue;
            }
            let name = fd.json_name();
            let value = if fd.has(flags::NO_JSON) { None } else { obj.get(name).filter(|v| !v.is_null()) };
            match value {
                None => self.zero(fd, out).map_err(|e| e.at_field(name))?,
                Some(v) => self.field(fd, v, out).map_err(|e| e.at_field(name))?,
            }
        }
        Ok(())
    }

    /// Writes what Go writes for a field that the JSON does not set.
    fn zero(&mut self, fd: &FieldDef, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        if fd.has(flags::REPEATED | flags::MAP | flags::NULLABLE) || fd.kind() == Kind::Bytes {
            return Ok(());
        }
        if fd.kind() == Kind::Message {
            return put_nested(out, fd.number(), |out| self.message(fd.message(), &Value::Null, out));
        }
        zero_scalar(out, fd.number(), fd.kind())
    }

    fn field(&mut self, fd: &FieldDef, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        let number = fd.number();
        if fd.has(flags::MAP) {
            let Value::Object(map) = v else {
                return Err(wrong_type("object", v));
            };
            // Go writes map entries sorted by key.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            for key in keys {
                let value = &map[key];
                put_nested(out, number, |out| {
                    put_bytes(out, 1, key.as_bytes());
                    if fd.kind() == Kind::Message {
                        put_nested(out, 2, |out| self.message(fd.message(), value, out))
                    } else {
                        scalar(out, 2, fd.kind(), value)
                    }
                })
                .map_err(|e| e.at_key(key))?;
            }
            return Ok(());
        }
        if fd.has(flags::REPEATED) {
            let Value::Array(items) = v else {
                return Err(wrong_type("array", v));
            };
            for (i, item) in items.iter().enumerate() {
                let r = if fd.kind() == Kind::Message {
                    put_nested(out, number, |out| self.message(fd.message(), item, out))
                } else {
                    scalar(out, number, fd.kind(), item)
                };
                r.map_err(|e| e.at_index(i))?;
            }
            return Ok(());
        }
        if fd.kind() == Kind::Message {
            return put_nested(out, number, |out| self.message(fd.message(), v, out));
        }
        scalar(out, number, fd.kind(), v)
    }

    fn special(&mut self, msg: MessageRef, special: Special, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        match special {
            Special::Time | Special::MicroTime => {
                let (seconds, nanos) = match v {
                    Value::Null => return Ok(()),
                    Value::String(s) => parse_time(s)?,
                    _ => return Err(wrong_type("RFC 3339 time string", v)),
                };
                // Go writes nothing for its zero time, and metav1.Time drops the nanos.
                if seconds == GO_ZERO_TIME_SECONDS && (nanos == 0 || special == Special::Time) {
                    return Ok(());
                }
                let nanos = if special == Special::Time { 0 } else { nanos / 1000 * 1000 };
                put_key(out, 1, VARINT);
                put_varint(out, seconds as u64);
                put_key(out, 2, VARINT);
                put_varint(out, u64::from(nanos));
            }
            Special::Duration => {
                let nanos = match v {
                    Value::Null => 0,
                    Value::String(s) => parse_duration(s)?,
                    _ => return Err(wrong_type("duration string", v)),
                };
                put_key(out, 1, VARINT);
                put_varint(out, nanos as u64);
            }
            Special::Quantity => match v {
                // Go writes the canonical form of its zero Quantity.
                Value::Null => put_bytes(out, 1, b"0"),
                Value::String(s) => put_bytes(out, 1, s.as_bytes()),
                // Go's Quantity also reads a bare JSON number.
                Value::Number(n) => put_bytes(out, 1, n.to_string().as_bytes()),
                _ => return Err(wrong_type("quantity string", v)),
            },
            Special::IntOrString => {
                let (ty, int, text) = match v {
                    Value::Null => (0, 0, ""),
                    Value::String(s) => (1, 0, s.as_str()),
                    Value::Number(_) => (0, integer(v, i128::from(i32::MIN), i128::from(i32::MAX), "int32")?, ""),
                    _ => return Err(wrong_type("integer or string", v)),
                };
                put_key(out, 1, VARINT);
                put_varint(out, ty);
                put_key(out, 2, VARINT);
                put_varint(out, int as i64 as u64);
                put_bytes(out, 3, text.as_bytes());
            }
            Special::RawExtension | Special::RawJson => {
                if !v.is_null() {
                    let raw = serde_json::to_vec(v).map_err(|e| ErrorKind::InvalidJson(e.to_string()))?;
                    put_bytes(out, 1, &raw);
                }
            }
            Special::SchemaOrBool => match v {
                Value::Null | Value::Bool(false) => {
                    put_key(out, 1, VARINT);
                    put_varint(out, 0);
                }
                Value::Bool(true) => {
                    put_key(out, 1, VARINT);
                    put_varint(out, 1);
                }
                Value::Object(_) => {
                    put_key(out, 1, VARINT);
                    put_varint(out, 1);
                    self.schema(msg, 2, v, out)?;
                }
                _ => return Err(wrong_type("boolean or schema object", v)),
            },
            Special::SchemaOrArray => match v {
                Value::Null => {}
                Value::Object(_) => self.schema(msg, 1, v, out)?,
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.schema(msg, 2, item, out).map_err(|e| e.at_index(i))?;
                    }
                }
                _ => return Err(wrong_type("schema object or array", v)),
            },
            Special::SchemaOrStringArray => match v {
                Value::Null => {}
                Value::Object(_) => self.schema(msg, 1, v, out)?,
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        scalar(out, 2, Kind::String, item).map_err(|e| e.at_index(i))?;
                    }
                }
                _ => return Err(wrong_type("schema object or array of strings", v)),
            },
            Special::WrappedArray => match v {
                Value::Null => {}
                Value::Array(items) => {
                    let kind = msg.field(1).map_or(Kind::String, FieldDef::kind);
                    for (i, item) in items.iter().enumerate() {
                        scalar(out, 1, kind, item).map_err(|e| e.at_index(i))?;
                    }
                }
                _ => return Err(wrong_type("array", v)),
            },
            Special::None => return Err(wrong_type("object", v)),
        }
        Ok(())
    }

    /// Writes field `number` of a JSONSchemaProps union: the schema message.
    fn schema(&mut self, union: MessageRef, number: u32, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        let Some(schema) = sub(union, number) else {
            return Err(wrong_type("boolean", v));
        };
        put_nested(out, number, |out| self.message(schema, v, out))
    }
}
