//! SHA-1 (RFC 3174) and base64 encoding (RFC 4648 §4) for the key and accept values (RFC 6455 §4).
//!
//! Both are written as loops, for flash: an unrolled SHA-1 costs about 2.9 KiB of Cortex-M
//! code where this one costs a few hundred bytes, and the handshake only ever hashes the
//! same 60-byte shape: a key and the GUID. SHA-1 is not used for security here (§10.8 of
//! RFC 6455 notes as much); the tests check both against reference implementations.

use super::key::{GUID, KEY_LEN};

/// The SHA-1 of a `Sec-WebSocket-Key` value followed by the [`GUID`] (RFC 6455 §4.2.2). The
/// message is always 60 bytes, so its padded form is known: a first block of the key, the GUID
/// and the `0x80` pad, and a second block of zeros and the bit length. The digest comes as its
/// five big-endian words (`as_flattened` gives the 20 bytes).
pub(crate) fn sha1_key_guid(key: &[u8; KEY_LEN]) -> [[u8; 4]; 5] {
    const LEN: usize = KEY_LEN + GUID.len();
    let mut state = INITIAL_STATE;
    let mut first = [0u32; 16];
    for (w, bytes) in first.iter_mut().zip(key.chunks_exact(4)) {
        *w = bytes.iter().fold(0, |w, &b| w << 8 | u32::from(b));
    }
    first[KEY_LEN / 4..LEN / 4].copy_from_slice(&GUID_WORDS);
    first[LEN / 4] = 0x8000_0000;
    compress(&mut state, first);
    let mut second = [0u32; 16];
    second[15] = (LEN * 8) as u32;
    compress(&mut state, second);
    state.map(u32::to_be_bytes)
}

/// H0..H4 of RFC 3174 §6.1.
const INITIAL_STATE: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

/// The [`GUID`] as the big-endian words it fills in the first block.
const GUID_WORDS: [u32; GUID.len() / 4] = {
    let mut words = [0u32; GUID.len() / 4];
    let mut i = 0;
    while i < words.len() {
        let at = 4 * i;
        words[i] = u32::from_be_bytes([GUID[at], GUID[at + 1], GUID[at + 2], GUID[at + 3]]);
        i += 1;
    }
    words
};

/// One 64-byte block as 16 big-endian words; the message schedule is kept in those 16.
fn compress(state: &mut [u32; 5], mut w: [u32; 16]) {
    const K: [u32; 4] = [0x5a82_7999, 0x6ed9_eba1, 0x8f1b_bcdc, 0xca62_c1d6];
    let mut s = *state;
    for i in 0..80 {
        if i >= 16 {
            let x = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15];
            w[i & 15] = x.rotate_left(1);
        }
        let [a, b, c, d, e] = s;
        // Ch, Parity, Maj, Parity (RFC 3174 §5).
        let f = match i / 20 {
            0 => d ^ (b & (c ^ d)),
            2 => (b & c) | (d & (b | c)),
            _ => b ^ c ^ d,
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(K[i / 20])
            .wrapping_add(w[i & 15]);
        s = [t, a, b.rotate_left(30), c, d];
    }
    for (h, v) in state.iter_mut().zip(s) {
        *h = h.wrapping_add(v);
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes the padded base64 of `input` into `out`, which must hold `4 * ceil(len / 3)` bytes
/// (what does not fit is left out).
pub(crate) fn base64(input: &[u8], out: &mut [u8]) {
    for (chunk, dst) in input.chunks(3).zip(out.chunks_mut(4)) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for (j, d) in dst.iter_mut().enumerate() {
            *d = if j <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * j)) as usize & 63]
            } else {
                b'='
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Encoding};
    use proptest::prelude::*;

    #[test]
    fn rfc_6455_section_1_3_digest() {
        // The SHA-1 of "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".
        let expected = [
            0xb3, 0x7a, 0x4f, 0x2c, 0xc0, 0x62, 0x4f, 0x16, 0x90, 0xf6, 0x46, 0x06, 0xcf, 0x38,
            0x59, 0x45, 0xb2, 0xbe, 0xc4, 0xea,
        ];
        assert_eq!(
            sha1_key_guid(b"dGhlIHNhbXBsZSBub25jZQ==").as_flattened(),
            expected
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
        ] {
            let mut out = [0u8; 8];
            let n = input.len().div_ceil(3) * 4;
            base64(input, &mut out[..n]);
            assert_eq!(&out[..n], expected.as_bytes());
        }
    }

    proptest! {
        // Proptest reads the working directory, which Miri's isolation forbids.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn sha1_agrees_with_sha1_smol(key in any::<[u8; KEY_LEN]>()) {
            let mut reference = sha1_smol::Sha1::from(key);
            reference.update(GUID);
            let digest = sha1_key_guid(&key);
            prop_assert_eq!(digest.as_flattened(), reference.digest().bytes());
        }

        #[test]
        #[cfg_attr(miri, ignore)]
        fn base64_agrees_with_base64ct(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut ours = [0u8; 88];
            let n = data.len().div_ceil(3) * 4;
            base64(&data, &mut ours[..n]);
            let mut theirs = [0u8; 88];
            let expected = Base64::encode(&data, &mut theirs).unwrap();
            prop_assert_eq!(&ours[..n], expected.as_bytes());
        }
    }
}
