//! Protobuf -> JSON, following what Go's encoding/json writes for the Go object that the
//! protobuf decodes to (see the crate documentation for the rules).

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;

use crate::MAX_DEPTH;
use crate::envelope::{MAGIC, Unknown, decode_envelope};
use crate::error::{ErrorKind, ProtoError};
use crate::special::{GO_ZERO_TIME_SECONDS, format_duration, format_time};
use crate::table::{FieldDef, Kind, MessageRef, Special, flags, message_for};
use crate::wire::{FIXED32, FIXED64, LEN, Reader, VARINT, wire_type_name};

/// JSON values a decode may produce beyond two per input byte; zero-filled empty messages
/// (which Go expands the same way) must not turn a small body into gigabytes.
const BASE_BUDGET: usize = 1 << 18;

/// What was read for one field of a message.
enum Slot<'a> {
    Absent,
    Scalar(Value),
    Bytes(&'a [u8]),
    /// Each occurrence of an embedded message: protobuf merges them, as if concatenated.
    Message(Vec<&'a [u8]>),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

pub(crate) struct Decoder {
    depth: usize,
    budget: usize,
}

fn expected_wire(kind: Kind) -> u8 {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message => LEN,
        Kind::Double => FIXED64,
        Kind::Float => FIXED32,
        Kind::Bool | Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 => VARINT,
    }
}

fn check_wire(wire: u8, expected: u8) -> Result<(), ProtoError> {
    if wire == expected {
        Ok(())
    } else {
        Err(ErrorKind::WrongWireType { found: wire, expected: wire_type_name(expected) }.into())
    }
}

fn text(bytes: &[u8]) -> String {
    // Go's JSON encoder replaces invalid UTF-8 the same way.
    String::from_utf8_lossy(bytes).into_owned()
}

fn join<'a>(parts: &[&'a [u8]]) -> Cow<'a, [u8]> {
    match parts {
        [] => Cow::Borrowed(&[]),
        [one] => Cow::Borrowed(one),
        many => Cow::Owned(many.concat()),
    }
}

/// A float as Go writes it: integral values without a fraction.
fn float_value(f: f64) -> Result<Value, ProtoError> {
    if !f.is_finite() {
        return Err(ErrorKind::NonFiniteFloat.into());
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| ErrorKind::NonFiniteFloat.into())
}

fn zero_scalar(kind: Kind) -> Value {
    match kind {
        Kind::String | Kind::Bytes => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        _ => Value::from(0),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn parse_json(raw: &[u8]) -> Result<Value, ProtoError> {
    serde_json::from_slice(raw).map_err(|e| ErrorKind::InvalidJson(e.to_string()).into())
}

impl Decoder {
    pub(crate) fn new(input_len: usize) -> Self {
        Decoder { depth: 0, budget: BASE_BUDGET.saturating_add(input_len.saturating_mul(2)) }
    }

    fn charge(&mut self, n: usize) -> Result<(), ProtoError> {
        self.budget = self.budget.checked_sub(n).ok_or(ErrorKind::TooLarge)?;
        Ok(())
    }

    /// Decodes an enveloped object into its JSON with apiVersion and kind.
    pub(crate) fn unknown(&mut self, unknown: &Unknown) -> Result<Value, ProtoError> {
        if !unknown.content_encoding.is_empty() {
            return Err(ErrorKind::UnsupportedContentEncoding(unknown.content_encoding.clone()).into());
        }
        let msg = message_for(&unknown.api_version, &unknown.kind).ok_or_else(|| ErrorKind::UnknownKind {
            api_version: unknown.api_version.clone(),
            kind: unknown.kind.clone(),
        })?;
        let mut value = self.message(msg, &unknown.raw)?;
        if let Value::Object(obj) = &mut value {
            if !unknown.api_version.is_empty() {
                obj.insert("apiVersion".to_owned(), Value::String(unknown.api_version.clone()));
            }
            if !unknown.kind.is_empty() {
                obj.insert("kind".to_owned(), Value::String(unknown.kind.clone()));
            }
        }
        Ok(value)
    }

    pub(crate) fn message(&mut self, msg: MessageRef, bytes: &[u8]) -> Result<Value, ProtoError> {
        if self.depth >= MAX_DEPTH {
            return Err(ErrorKind::TooDeep(MAX_DEPTH).into());
        }
        self.depth += 1;
        let result = match msg.special() {
            Special::None => self.object(msg, bytes).map(Value::Object),
            special => self.special(msg, special, bytes),
        };
        self.depth -= 1;
        result
    }

    fn slots<'a>(&mut self, msg: MessageRef, bytes: &'a [u8]) -> Result<Vec<Slot<'a>>, ProtoError> {
        let fields = msg.fields();
        self.charge(fields.len() + 1)?;
        let mut slots: Vec<Slot<'a>> = fields.iter().map(|_| Slot::Absent).collect();
        let mut r = Reader::new(bytes);
        while let Some((number, wire)) = r.key()? {
            let Some(i) = msg.field_index(number) else {
                r.skip(wire)?;
                continue;
            };
            let fd = &fields[i];
            self.read_field(fd, wire, &mut r, &mut slots[i]).map_err(|e| e.at_field(fd.json_name()))?;
        }
        Ok(slots)
    }

    fn read_field<'a>(
        &mut self,
        fd: &FieldDef,
        wire: u8,
        r: &mut Reader<'a>,
        slot: &mut Slot<'a>,
    ) -> Result<(), ProtoError> {
        if fd.has(flags::MAP) {
            check_wire(wire, LEN)?;
            let entry = r.bytes()?;
            self.charge(1)?;
            let (key, value) = self.map_entry(fd, entry)?;
            if !matches!(slot, Slot::Map(_)) {
                *slot = Slot::Map(Map::new());
            }
            if let Slot::Map(m) = slot {
                m.insert(key, value);
            }
            return Ok(());
        }
        if fd.has(flags::REPEATED) {
            if !matches!(slot, Slot::List(_)) {
                *slot = Slot::List(Vec::new());
            }
            let Slot::List(items) = slot else {
                return Ok(());
            };
            let index = items.len();
            if fd.kind() == Kind::Message {
                check_wire(wire, LEN).map_err(|e| e.at_index(index))?;
                let bytes = r.bytes()?;
                self.charge(1)?;
                items.push(self.message(fd.message(), bytes).map_err(|e| e.at_index(index))?);
            } else if wire == LEN && expected_wire(fd.kind()) != LEN {
                // Packed numbers: Go writes them unpacked, but protobuf readers accept both.
                let mut packed = Reader::new(r.bytes()?);
                while !packed.is_empty() {
                    self.charge(1)?;
                    let index = items.len();
                    items
                        .push(scalar(fd.kind(), expected_wire(fd.kind()), &mut packed).map_err(|e| e.at_index(index))?);
                }
            } else {
                self.charge(1)?;
                items.push(scalar(fd.kind(), wire, r).map_err(|e| e.at_index(index))?);
            }
            return Ok(());
        }
        match fd.kind() {
            Kind::Message => {
                check_wire(wire, LEN)?;
                let bytes = r.bytes()?;
                match slot {
                    Slot::Message(parts) => parts.push(bytes),
                    _ => *slot = Slot::Message(vec![bytes]),
                }
            }
            Kind::Bytes => {
                check_wire(wire, LEN)?;
                *slot = Slot::Bytes(r.bytes()?);
            }
            kind => *slot = Slot::Scalar(scalar(kind, wire, r)?),
        }
        Ok(())
    }

    fn map_entry(&mut self, fd: &FieldDef, entry: &[u8]) -> Result<(String, Value), ProtoError> {
        let mut key = String::new();
        let mut value = None;
        let mut parts = Vec::new();
        let mut r = Reader::new(entry);
        while let Some((number, wire)) = r.key()? {
            match number {
                1 => {
                    check_wire(wire, LEN)?;
                    key = text(r.bytes()?);
                }
                2 if fd.kind() == Kind::Message => {
                    check_wire(wire, LEN).map_err(|e| e.at_key(&key))?;
                    parts.push(r.bytes()?);
                }
                2 => value = Some(scalar(fd.kind(), wire, &mut r).map_err(|e| e.at_key(&key))?),
                _ => r.skip(wire)?,
            }
        }
        let value = match value {
            Some(v) => v,
            None if fd.kind() == Kind::Message => {
                self.message(fd.message(), &join(&parts)).map_err(|e| e.at_key(&key))?
            }
            None => zero_scalar(fd.kind()),
        };
        Ok((key, value))
    }

    fn object(&mut self, msg: MessageRef, bytes: &[u8]) -> Result<Map<String, Value>, ProtoError> {
        let fields = msg.fields();
        let slots = self.slots(msg, bytes)?;
        let mut out = Map::new();
        let mut inlined = Vec::new();
        for (fd, slot) in fields.iter().zip(slots) {
            if fd.has(flags::NO_JSON) {
                continue;
            }
            let name = fd.json_name();
            let value = match slot {
                Slot::Absent => match self.absent(fd).map_err(|e| e.at_field(name))? {
                    Some(v) => v,
                    None => continue,
                },
                Slot::Scalar(v) => {
                    // gogo writes non-pointer scalars even when zero; Go's JSON omits them.
                    if fd.has(flags::OMITEMPTY) && !fd.has(flags::NULLABLE) && is_zero(&v) {
                        continue;
                    }
                    v
                }
                Slot::Bytes(b) => {
                    if b.is_empty() && fd.has(flags::OMITEMPTY) {
                        continue;
                    }
                    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
                }
                Slot::Message(parts) => self.message(fd.message(), &join(&parts)).map_err(|e| e.at_field(name))?,
                Slot::List(items) => Value::Array(items),
                Slot::Map(m) => Value::Object(m),
            };
            if fd.has(flags::INLINE) {
                inlined.push(value);
            } else {
                out.insert(name.to_owned(), value);
            }
        }
        // Go's JSON: a field of the struct itself wins over a same-named inlined one.
        for value in inlined {
            if let Value::Object(m) = value {
                for (k, v) in m {
                    out.entry(k).or_insert(v);
                }
            }
        }
        Ok(out)
    }

    /// What Go's JSON writes for a field that was not on the wire (None: nothing).
    fn absent(&mut self, fd: &FieldDef) -> Result<Option<Value>, ProtoError> {
        // Nil slices and maps are left out rather than written as null (see the crate docs).
        if fd.has(flags::REPEATED | flags::MAP | flags::NULLABLE) || fd.kind() == Kind::Bytes {
            return Ok(None);
        }
        if fd.kind() == Kind::Message {
            // A non-pointer struct is always written, as its zero value.
            return self.message(fd.message(), &[]).map(Some);
        }
        if fd.has(flags::OMITEMPTY) {
            return Ok(None);
        }
        Ok(Some(zero_scalar(fd.kind())))
    }

    fn special(&mut self, msg: MessageRef, special: Special, bytes: &[u8]) -> Result<Value, ProtoError> {
        let mut slots = self.slots(msg, bytes)?;
        let mut take = |number: u32| match msg.field_index(number) {
            Some(i) => std::mem::replace(&mut slots[i], Slot::Absent),
            None => Slot::Absent,
        };
        let int = |slot: &Slot<'_>| match slot {
            Slot::Scalar(v) => v.as_i64().unwrap_or(0),
            _ => 0,
        };
        let boolean = |slot: &Slot<'_>| matches!(slot, Slot::Scalar(Value::Bool(true)));
        let string = |slot: Slot<'_>| match slot {
            Slot::Scalar(Value::String(s)) => Some(s),
            _ => None,
        };
        let sub = |number: u32| msg.field(number).map(|f| f.message());
        Ok(match special {
            Special::Time => {
                if bytes.is_empty() {
                    return Ok(Value::Null);
                }
                // metav1.Time keeps whole seconds only; Go ignores the nanos field.
                let seconds = int(&take(1));
                if seconds == GO_ZERO_TIME_SECONDS {
                    return Ok(Value::Null);
                }
                Value::String(format_time(seconds, None)?)
            }
            Special::MicroTime => {
                if bytes.is_empty() {
                    return Ok(Value::Null);
                }
                // Nanos are truncated (towards zero) to microseconds, then normalised.
                let nanos = int(&take(2)) / 1000 * 1000;
                let total = i128::from(int(&take(1))) * 1_000_000_000 + i128::from(nanos);
                let seconds = total.div_euclid(1_000_000_000) as i64;
                let micros = (total.rem_euclid(1_000_000_000) / 1000) as u32;
                if seconds == GO_ZERO_TIME_SECONDS && micros == 0 {
                    return Ok(Value::Null);
                }
                Value::String(format_time(seconds, Some(micros))?)
            }
            Special::Duration => Value::String(format_duration(int(&take(1)))),
            Special::Quantity => Value::String(string(take(1)).unwrap_or_else(|| "0".to_owned())),
            Special::IntOrString => {
                let ty = int(&take(1));
                match ty {
                    0 => Value::from(int(&take(2))),
                    1 => Value::String(string(take(3)).unwrap_or_default()),
                    other => return Err(ErrorKind::InvalidIntOrStringType(other).into()),
                }
            }
            Special::RawExtension | Special::RawJson => match take(1) {
                Slot::Bytes(raw) if raw.starts_with(MAGIC) && special == Special::RawExtension => {
                    let unknown = decode_envelope(raw)?;
                    self.unknown(&unknown)?
                }
                Slot::Bytes(raw) if !raw.is_empty() => parse_json(raw)?,
                _ => Value::Null,
            },
            Special::SchemaOrBool => match (take(2), sub(2)) {
                (Slot::Message(parts), Some(schema)) => self.message(schema, &join(&parts))?,
                _ => Value::Bool(boolean(&take(1))),
            },
            Special::SchemaOrArray | Special::SchemaOrStringArray => match (take(2), take(1), sub(1)) {
                (Slot::List(items), _, _) if !items.is_empty() => Value::Array(items),
                (_, Slot::Message(parts), Some(schema)) => self.message(schema, &join(&parts))?,
                _ => Value::Null,
            },
            Special::WrappedArray => match take(1) {
                Slot::List(items) => Value::Array(items),
                _ => Value::Array(Vec::new()),
            },
            Special::None => Value::Null,
        })
    }
}

fn scalar(kind: Kind, wire: u8, r: &mut Reader<'_>) -> Result<Value, ProtoError> {
    check_wire(wire, expected_wire(kind))?;
    Ok(match kind {
        Kind::String => Value::String(text(r.bytes()?)),
        Kind::Bytes => Value::String(base64::engine::general_purpose::STANDARD.encode(r.bytes()?)),
        Kind::Bool => Value::Bool(r.varint()? != 0),
        // Go converts the 64-bit varint with int32(v): truncation, not an error.
        Kind::Int32 => Value::from(r.varint()? as i32),
        Kind::Int64 => Value::from(r.varint()? as i64),
        Kind::Uint32 => Value::from(r.varint()? as u32),
        Kind::Uint64 => Value::from(r.varint()?),
        Kind::Double => float_value(f64::from_bits(r.fixed64()?))?,
        Kind::Float => float_value(f64::from(f32::from_bits(r.fixed32()?)))?,
        Kind::Message => {
            return Err(ErrorKind::WrongWireType { found: wire, expected: "message" }.into());
        }
    })
}
