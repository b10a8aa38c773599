//! The accept key (RFC 6455 §1.3, §4.1, §4.2.2): the GUID, the key check and the accept value.
//!
//! The SHA-1 and base64 behind [`accept_key`] are in `digest.rs`, written for flash.

use super::digest;

/// The GUID RFC 6455 §1.3 appends to the key before hashing it.
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Length of a `Sec-WebSocket-Key` value: base64 of 16 bytes.
pub const KEY_LEN: usize = 24;

/// Length of a `Sec-WebSocket-Accept` value: base64 of a 20-byte SHA-1 digest.
pub const ACCEPT_LEN: usize = 28;

/// The default limit on the length of a request or response head, in bytes.
/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value (RFC 6455 §1.3, §4.2.2):
/// base64 of the SHA-1 of the key followed by [`GUID`].
///
/// ```
/// let accept = wsmachine::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
// Inlined: a client or a server calls it once, and out of line its result was written straight
// into the client's `Expected`, which then stayed in memory and kept the optimizer from seeing
// that nothing was offered, so the list parsing for answers could not be dropped.
#[inline(always)]
pub fn accept_key(key: &[u8; KEY_LEN]) -> [u8; ACCEPT_LEN] {
    let mut out = [0u8; ACCEPT_LEN];
    // 20 bytes encode to exactly 28.
    digest::base64(digest::sha1_key_guid(key).as_flattened(), &mut out);
    out
}

/// Whether a `Sec-WebSocket-Key` value is the base64 of exactly 16 bytes (RFC 6455 §4.2.1):
/// 21 base64 characters, one that carries only two bits (`A`, `Q`, `g` or `w`), then `==`. The
/// same answer as a strict base64 decoder, without its code.
#[must_use]
pub fn is_valid_key(key: &[u8]) -> bool {
    match key {
        [body @ .., last, b'=', b'='] if body.len() == 21 => {
            body.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
                && matches!(last, b'A' | b'Q' | b'g' | b'w')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Encoding};

    #[test]
    fn rfc6455_section_1_3_accept_example() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn key_check_agrees_with_base64_decoding() {
        let decodes_to_16 =
            |k: &[u8]| matches!(Base64::decode(k, &mut [0u8; 17]), Ok(d) if d.len() == 16);
        let mut keys: [[u8; KEY_LEN]; 7] = [*b"dGhlIHNhbXBsZSBub25jZQ=="; 7];
        keys[1][21] = b'B';
        keys[2][23] = b'A';
        keys[3][3] = b'-';
        keys[4][20] = b'=';
        keys[5][0] = b'+';
        keys[6][21] = b'w';
        for k in &keys {
            assert_eq!(is_valid_key(k), decodes_to_16(k), "{k:?}");
        }
        for bad in [
            &b"dGhlIHNhbXBsZQ=="[..],
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZQ===",
        ] {
            assert!(!is_valid_key(bad) && !decodes_to_16(bad));
        }
        // Every last character, and every byte in the body.
        for b in 0..=255u8 {
            let mut k = keys[0];
            k[21] = b;
            assert_eq!(is_valid_key(&k), decodes_to_16(&k), "last {b}");
            k = keys[0];
            k[7] = b;
            assert_eq!(is_valid_key(&k), decodes_to_16(&k), "body {b}");
        }
    }
}
