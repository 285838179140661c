//! The content hash that versions the documents (v2 ETag, v3 `?hash=`).
//!
//! Clients treat it as opaque: it only has to change when a document changes, so a 128-bit
//! FNV-1a is enough and needs no cryptography crate.

const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
const PRIME: u128 = 0x0000000001000000000000000000013B;

/// The uppercase hex FNV-1a/128 of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u128::from(*byte)).wrapping_mul(PRIME));
    format!("{hash:032X}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn differs_with_content() {
        assert_ne!(super::hex(b"a"), super::hex(b"b"));
        assert_eq!(super::hex(b"").len(), 32);
    }
}
