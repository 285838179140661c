//! A minimal protobuf wire-format reader, to read the gnostic document back without gnostic's
//! generated code: messages are read as their fields, which the tests interpret with the field
//! numbers of OpenAPIv2.proto.

/// A field's value on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A message: its fields in wire order.
#[derive(Clone, Debug, Default)]
pub struct Message<'a> {
    pub fields: Vec<(u32, Wire<'a>)>,
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

impl<'a> Message<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, String> {
        let mut fields = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let key = varint(bytes, &mut at)?;
            let field = u32::try_from(key >> 3).map_err(|e| e.to_string())?;
            if field == 0 {
                return Err("field number 0".into());
            }
            let take = |at: &mut usize, n: usize| -> Result<&'a [u8], String> {
                let slice = bytes.get(*at..*at + n).ok_or("truncated field")?;
                *at += n;
                Ok(slice)
            };
            let value = match key & 7 {
                0 => Wire::Varint(varint(bytes, &mut at)?),
                1 => Wire::Fixed64(u64::from_le_bytes(take(&mut at, 8)?.try_into().map_err(|_| "fixed64")?)),
                2 => {
                    let len = usize::try_from(varint(bytes, &mut at)?).map_err(|e| e.to_string())?;
                    Wire::Bytes(take(&mut at, len)?)
                }
                5 => Wire::Fixed32(u32::from_le_bytes(take(&mut at, 4)?.try_into().map_err(|_| "fixed32")?)),
                other => return Err(format!("wire type {other}")),
            };
            fields.push((field, value));
        }
        Ok(Message { fields })
    }

    fn bytes(&self, field: u32) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.fields.iter().filter(move |(f, _)| *f == field).filter_map(|(_, v)| match v {
            Wire::Bytes(b) => Some(*b),
            _ => None,
        })
    }

    /// The embedded messages of a (repeated) message field.
    pub fn messages(&self, field: u32) -> Vec<Message<'a>> {
        self.bytes(field).map(|b| Message::parse(b).unwrap_or_else(|e| panic!("field {field}: {e}"))).collect()
    }

    pub fn message(&self, field: u32) -> Option<Message<'a>> {
        self.messages(field).pop()
    }

    pub fn has(&self, field: u32) -> bool {
        self.fields.iter().any(|(f, _)| *f == field)
    }

    pub fn strings(&self, field: u32) -> Vec<&'a str> {
        self.bytes(field).map(|b| std::str::from_utf8(b).unwrap_or_else(|e| panic!("field {field}: {e}"))).collect()
    }

    /// A string field; proto3 leaves empty strings out.
    pub fn string(&self, field: u32) -> &'a str {
        self.strings(field).pop().unwrap_or("")
    }

    pub fn bool(&self, field: u32) -> bool {
        self.fields.iter().any(|(f, v)| *f == field && matches!(v, Wire::Varint(1)))
    }

    /// The `(name, value)` pairs of a repeated `Named*` field.
    pub fn named(&self, field: u32) -> Vec<(&'a str, Message<'a>)> {
        self.messages(field).into_iter().map(|m| (m.string(1), m.message(2).unwrap_or_default())).collect()
    }

    /// Vendor extensions (repeated `NamedAny` with `Any.yaml` at 2) as JSON values.
    pub fn extensions(&self, field: u32) -> Vec<(&'a str, serde_json::Value)> {
        self.named(field)
            .into_iter()
            .map(|(name, any)| {
                let text = any.string(2);
                (name, serde_json::from_str(text).unwrap_or_else(|e| panic!("extension {name}: {e}: {text}")))
            })
            .collect()
    }
}
