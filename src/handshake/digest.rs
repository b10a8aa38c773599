//! SHA-1 (RFC 3174) and base64 encoding (RFC 4648 §4) for the key and accept values (RFC 6455 §4).
//!
//! Both are written as loops, for flash: an unrolled SHA-1 costs about 2.9 KiB of Cortex-M
//! code where this one costs a few hundred bytes, and the handshake only ever hashes some
//! 60 bytes. SHA-1 is not used for security here (§10.8 of RFC 6455 notes as much); the tests
//! check both against reference implementations.

/// The SHA-1 of `parts` one after the other: the handshake hashes a key, then the GUID.
///
/// One-shot, with no block buffer: each 64-byte block of the padded message is read straight
/// into the schedule, its bytes taken from the parts, the `0x80` pad, zeros and the bit length.
pub(crate) fn sha1(parts: [&[u8]; 2]) -> [u8; 20] {
    let [a, b] = parts;
    let len = a.len().saturating_add(b.len());
    // The message, 0x80, zeros, and the 8-byte length, in whole blocks.
    let padded = (len.saturating_add(8) / 64)
        .saturating_add(1)
        .saturating_mul(64);
    let length_at = padded - 8;
    let bits = (len as u64).wrapping_mul(8).to_be_bytes();
    let byte = |i: usize| -> u8 {
        let from_parts = a.get(i).or_else(|| b.get(i.wrapping_sub(a.len())));
        match from_parts {
            Some(&byte) => byte,
            None if i == len => 0x80,
            None => bits.get(i.wrapping_sub(length_at)).copied().unwrap_or(0),
        }
    };
    let mut state = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    for start in (0..padded).step_by(64) {
        let mut w = [0u32; 16];
        for i in 0..64 {
            w[i / 4] = w[i / 4] << 8 | u32::from(byte(start + i));
        }
        compress(&mut state, w);
    }
    let mut out = [0u8; 20];
    for (dst, word) in out.chunks_exact_mut(4).zip(state) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// One 64-byte block as 16 big-endian words; the message schedule is kept in those 16.
fn compress(state: &mut [u32; 5], mut w: [u32; 16]) {
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for i in 0..80 {
        let word = if i < 16 {
            w[i & 15]
        } else {
            let x = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15];
            w[i & 15] = x.rotate_left(1);
            w[i & 15]
        };
        let (f, k) = match i / 20 {
            0 => ((b & c) | (!b & d), 0x5a82_7999),
            1 => (b ^ c ^ d, 0x6ed9_eba1),
            2 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
            _ => (b ^ c ^ d, 0xca62_c1d6),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(word);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
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
    fn rfc_3174_vectors() {
        let hex = |d: [u8; 20]| {
            d.iter()
                .map(|b| std::format!("{b:02x}"))
                .collect::<std::string::String>()
        };
        assert_eq!(
            hex(sha1([b"abc", b""])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1([
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                b""
            ])),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(sha1([b"", b""])),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        let million = std::vec![b'a'; 1_000_000];
        assert_eq!(
            hex(sha1([&million[..400_000], &million[400_000..]])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
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
        fn sha1_agrees_with_sha1_smol(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let (a, b) = data.split_at(cut.min(data.len()));
            prop_assert_eq!(sha1([a, b]), sha1_smol::Sha1::from(&data).digest().bytes());
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
