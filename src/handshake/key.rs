//! The accept key (RFC 6455 §1.3, §4.1, §4.2.1, §4.2.2): the GUID, the key check and the accept value.
//!
//! SHA-1 comes from `sha1_smol` and base64 (RFC 4648 §4) from `base64ct`; SHA-1 is not used for
//! security here (RFC 6455 §10.8).

use base64ct::{Base64, Encoding};

/// The GUID RFC 6455 §1.3 appends to the key before hashing it.
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Length of a `Sec-WebSocket-Key` value: base64 of 16 bytes.
pub const KEY_LEN: usize = 24;

/// Length of a `Sec-WebSocket-Accept` value: base64 of a 20-byte SHA-1 digest.
pub const ACCEPT_LEN: usize = 28;

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
// that nothing was offered, so the list parsing for answers could not be dropped. The hashing
// is out of line in `key_digest`; what is inlined is the base64 of its result.
#[inline(always)]
pub fn accept_key(key: &[u8; KEY_LEN]) -> [u8; ACCEPT_LEN] {
    let mut out = [0u8; ACCEPT_LEN];
    write_accept_key(key, &mut out);
    out
}

/// [`accept_key`] written into `out`, such as the place in a response it goes: no copy of it
/// on the stack to move there.
#[inline(always)]
pub(crate) fn write_accept_key(key: &[u8; KEY_LEN], out: &mut [u8; ACCEPT_LEN]) {
    // Big-endian words of the digest to bytes: aligned word stores, a byte swap each.
    let mut digest = [0u8; 21];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(key_digest(key)) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    // The digest and a zero byte: see `encode`. Base64 of the 20 bytes is the first 27
    // characters, then one `=` for the byte that is not there.
    encode(&digest, out);
    out[27] = b'=';
}

/// The SHA-1 of the key followed by [`GUID`], as its five big-endian words. Its own function,
/// so that `update` is inlined into it with its length, 60, a constant: one block that is
/// only buffered, never processed, so its block loop and its call of the compression function
/// fold away. Only `#[inline]`: the server, whose one caller is the response writer, inlines it
/// there (12 bytes less than the call); the client keeps it out of line.
///
/// Words, not `Digest::bytes()`'s `[u8; 20]`: read back as big-endian words, those bytes fold
/// into the hash state they were cut from, so the five words are returned as they are, where
/// the twenty bytes were twenty shifts and byte stores (on thumbv7em, which the caller's byte
/// swap and word store per word undercut).
#[inline]
fn key_digest(key: &[u8; KEY_LEN]) -> [u32; 5] {
    // One `update` of the whole message: two of them kept `update` out of line with its
    // buffering and block loop. `new` and `update` rather than `from`, which returns the
    // 96-byte state by value and links a `__aeabi_memcpy8` (156 bytes) for the move.
    let mut message = [0u8; KEY_LEN + GUID.len()];
    let (k, g) = message.split_at_mut(KEY_LEN);
    k.copy_from_slice(key);
    g.copy_from_slice(GUID);
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(&message);
    let digest = sha1.digest().bytes();
    let word =
        |i: usize| u32::from_be_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
    [word(0), word(4), word(8), word(12), word(16)]
}

/// The `Sec-WebSocket-Key` value for a 16-byte nonce (RFC 6455 §4.1): its base64.
pub(crate) fn encode_nonce(nonce: &[u8; 16], key: &mut [u8; KEY_LEN]) {
    // The nonce and five zero bytes: see `encode`. Base64 of the 16 bytes is the first 22
    // characters, then `==` for the two bytes that are not there.
    let mut input = [0u8; 21];
    input[..16].copy_from_slice(nonce);
    let mut out = [0u8; 28];
    encode(&input, &mut out);
    key.copy_from_slice(&out[..KEY_LEN]);
    key[22] = b'=';
    key[23] = b'=';
}

/// Base64 of 21 bytes into 28, which cannot fail: seven whole 3-byte groups. The nonce (16
/// bytes) and the digest (20) are encoded followed by zero bytes up to 21, and their callers
/// write the `=` padding over what the zeros made (`A`, which a zero in the last group
/// encodes to). So `base64ct` sees one length, a multiple of 3, and its partial-group path,
/// a second copy of its 3-byte encoder, folds away (client -244, server -172 bytes of
/// thumbv7em flash). The tests compare both results with `base64ct`'s own padded encoding.
fn encode(input: &[u8; 21], out: &mut [u8; 28]) {
    let _ = Base64::encode(input, out);
}

/// Whether a `Sec-WebSocket-Key` value is the base64 of exactly 16 bytes (RFC 6455 §4.2.1):
/// 21 base64 characters, one that carries only two bits (`A`, `Q`, `g` or `w`), then `==`.
/// The same answer as `base64ct`'s strict decoder (the tests compare them), in a tenth of its
/// code: a decode into 16 bytes costs 526 bytes of thumbv7em flash, this check 104 out of line
/// and less inlined into the server's request parsing, which has already checked the length
/// (44 bytes less in all on the server path).
#[must_use]
#[inline(always)]
pub fn is_valid_key(key: &[u8]) -> bool {
    match key {
        [body @ .., last, b'=', b'='] if body.len() == 21 => {
            // Letters in either case (setting bit 5 lowers an upper-case one and moves no other
            // byte into `a..=z`), then `+`, and `/` with the digits, which follow it in ASCII.
            body.iter()
                .all(|&b| (b | 0x20).is_ascii_lowercase() || matches!(b, b'+' | b'/'..=b'9'))
                && matches!(last, b'A' | b'Q' | b'g' | b'w')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sha1(data: &[u8]) -> [u8; 20] {
        sha1_smol::Sha1::from(data).digest().bytes()
    }

    fn hex(s: &str) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
            *o = u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap();
        }
        out
    }

    #[test]
    fn rfc6455_section_1_3_accept_example() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let mut key = [0u8; KEY_LEN];
        encode_nonce(b"the sample nonce", &mut key);
        assert_eq!(&key, b"dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn rfc_6455_section_1_3_digest() {
        // The SHA-1 of "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".
        let mut message = [0u8; KEY_LEN + 36];
        message[..KEY_LEN].copy_from_slice(b"dGhlIHNhbXBsZSBub25jZQ==");
        message[KEY_LEN..].copy_from_slice(GUID);
        assert_eq!(
            sha1(&message),
            hex("b37a4f2cc0624f1690f64606cf385945b2bec4ea")
        );
    }

    #[test]
    fn sha1_fips_180_vectors() {
        // FIPS 180-2 appendix A (one block, two blocks, a million 'a's) and the empty message.
        assert_eq!(sha1(b""), hex("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
        assert_eq!(
            sha1(b"abc"),
            hex("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            hex("84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        );
        // A million bytes take minutes under Miri.
        if cfg!(miri) {
            return;
        }
        let mut million = sha1_smol::Sha1::new();
        for _ in 0..1000 {
            million.update(&[b'a'; 1000]);
        }
        assert_eq!(
            million.digest().bytes(),
            hex("34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        );
    }

    #[test]
    fn base64_rfc_4648_vectors() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            // Both characters past `9` of the standard alphabet (not the URL-safe one).
            (&[0xfb, 0xff], "+/8="),
        ] {
            let mut out = [0u8; 8];
            let n = input.len().div_ceil(3) * 4;
            let _ = Base64::encode(input, &mut out[..n]);
            assert_eq!(&out[..n], expected.as_bytes());
        }
        // What `encode` is given: 21 bytes, seven groups and no padding.
        let mut input = [0u8; 21];
        input[..6].copy_from_slice(b"foobar");
        input[18..].copy_from_slice(&[0xfb, 0xff, 0xfe]);
        let mut out = [0u8; 28];
        encode(&input, &mut out);
        assert_eq!(&out, b"Zm9vYmFyAAAAAAAAAAAAAAAA+//+");
    }

    #[test]
    fn key_check() {
        let valid = *b"dGhlIHNhbXBsZSBub25jZQ==";
        assert!(is_valid_key(&valid));
        // The second-to-last character carries two bits: only A, Q, g and w leave the four
        // bits past the 16th byte at zero.
        for b in 0..=255u8 {
            let mut k = valid;
            k[21] = b;
            assert_eq!(
                is_valid_key(&k),
                matches!(b, b'A' | b'Q' | b'g' | b'w'),
                "last {b}"
            );
            k = valid;
            k[7] = b;
            let base64 = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            assert_eq!(is_valid_key(&k), base64, "body {b}");
        }
        for bad in [
            // 10 bytes, 16 bytes without padding, with one `=` too many, 17 and 18 bytes.
            &b"dGhlIHNhbXBsZQ=="[..],
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"dGhlIHNhbXBsZSBub25jZSE=",
            b"dGhlIHNhbXBsZSBub25jZSEh",
            // URL-safe alphabet, padding inside, whitespace.
            b"dGhlIHNhbXBsZSBub25jZ-==",
            b"dGhlIHNhbXBsZ=Bub25jZQ==",
            b"dGhlIHNhbXBsZSBub25jZQ= ",
            b"",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn key_check_agrees_with_base64ct_decoding() {
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

    proptest! {
        // Proptest reads the working directory, which Miri's isolation forbids.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn every_nonce_makes_a_valid_key(nonce in any::<[u8; 16]>()) {
            let mut key = [0u8; KEY_LEN];
            encode_nonce(&nonce, &mut key);
            prop_assert!(is_valid_key(&key));
            let mut padded = [0u8; KEY_LEN];
            let _ = Base64::encode(&nonce, &mut padded);
            prop_assert_eq!(key, padded);
        }

        #[test]
        #[cfg_attr(miri, ignore)]
        fn accept_is_the_base64_of_the_digest(nonce in any::<[u8; 16]>()) {
            let mut key = [0u8; KEY_LEN];
            encode_nonce(&nonce, &mut key);
            let mut message = [0u8; KEY_LEN + 36];
            message[..KEY_LEN].copy_from_slice(&key);
            message[KEY_LEN..].copy_from_slice(GUID);
            let mut padded = [0u8; ACCEPT_LEN];
            let _ = Base64::encode(&sha1(&message), &mut padded);
            prop_assert_eq!(accept_key(&key), padded);
        }
    }
}
