//! Protobuf wire format primitives: varints, keys, length-delimited fields.
//!
//! Reading never trusts a length prefix beyond the bytes actually present, so hostile input
//! cannot make us allocate or slice past the end.

use crate::error::ErrorKind;

pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

pub(crate) fn wire_type_name(wire: u8) -> &'static str {
    match wire {
        VARINT => "varint",
        FIXED64 => "fixed64",
        LEN => "length-delimited",
        FIXED32 => "fixed32",
        _ => "group",
    }
}

/// A cursor over an encoded message.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn varint(&mut self) -> Result<u64, ErrorKind> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(ErrorKind::Truncated);
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(ErrorKind::VarintOverflow)
    }

    /// The next field's number and wire type, or None at the end of the message.
    pub(crate) fn key(&mut self) -> Result<Option<(u32, u8)>, ErrorKind> {
        if self.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return Err(ErrorKind::InvalidFieldNumber);
        }
        let number = u32::try_from(number).map_err(|_| ErrorKind::InvalidFieldNumber)?;
        Ok(Some((number, (key & 7) as u8)))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], ErrorKind> {
        let len = self.varint()?;
        let remaining = self.buf.len() - self.pos;
        if len > remaining as u64 {
            return Err(ErrorKind::Truncated);
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    pub(crate) fn fixed64(&mut self) -> Result<u64, ErrorKind> {
        let b = self.buf.get(self.pos..self.pos + 8).ok_or(ErrorKind::Truncated)?;
        self.pos += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn fixed32(&mut self) -> Result<u32, ErrorKind> {
        let b = self.buf.get(self.pos..self.pos + 4).ok_or(ErrorKind::Truncated)?;
        self.pos += 4;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// Skips a field of an unknown number (forward compatibility).
    pub(crate) fn skip(&mut self, wire: u8) -> Result<(), ErrorKind> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.fixed64().map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.fixed32().map(drop),
            // Groups are deprecated and no Kubernetes type uses them.
            other => Err(ErrorKind::UnsupportedWireType(other)),
        }
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_key(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_key(out, number, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Writes a length-delimited field whose content `body` appends to `out`.
///
/// One byte is reserved for the length, which fits messages under 128 bytes (most of them);
/// longer content is shifted right once to make room, instead of sizing every message twice.
pub(crate) fn put_nested<E>(
    out: &mut Vec<u8>,
    number: u32,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    put_key(out, number, LEN);
    let at = out.len();
    out.push(0);
    body(out)?;
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
        return Ok(());
    }
    let mut prefix = Vec::with_capacity(10);
    put_varint(&mut prefix, len as u64);
    out[at] = prefix[0];
    out.splice(at + 1..at + 1, prefix[1..].iter().copied());
    Ok(())
}
