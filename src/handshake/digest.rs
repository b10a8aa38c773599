//! SHA-1 (RFC 3174) and base64 encoding (RFC 4648 §4) for the key and accept values (RFC 6455 §4).
//!
//! Both are written as loops, for flash: an unrolled SHA-1 costs about 2.9 KiB of Cortex-M
//! code where this one costs a few hundred bytes, and the handshake only ever hashes some
//! 60 bytes. SHA-1 is not used for security here (§10.8 of RFC 6455 notes as much); the tests
//! check both against reference implementations.

/// A streaming SHA-1.
#[derive(Debug, Clone)]
pub(crate) struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    /// Bytes in `block`.
    filled: usize,
    /// Bytes hashed so far.
    len: u64,
}

impl Sha1 {
    pub(crate) const fn new() -> Self {
        Self {
            state: [
                0x6745_2301,
                0xefcd_ab89,
                0x98ba_dcfe,
                0x1032_5476,
                0xc3d2_e1f0,
            ],
            block: [0; 64],
            filled: 0,
            len: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let free = self.block.get_mut(self.filled..).unwrap_or_default();
            let n = free.len().min(data.len());
            let (head, rest) = data.split_at(n);
            if let Some(dst) = free.get_mut(..n) {
                dst.copy_from_slice(head);
            }
            self.filled += n;
            data = rest;
            if self.filled == self.block.len() {
                compress(&mut self.state, &self.block);
                self.filled = 0;
            }
        }
    }

    pub(crate) fn digest(mut self) -> [u8; 20] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.filled != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 20];
        for (dst, word) in out.chunks_exact_mut(4).zip(self.state) {
            dst.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// One 64-byte block, the message schedule kept in 16 words.
fn compress(state: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 16];
    for (w, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_be_bytes(bytes.try_into().unwrap_or_default());
    }
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

    fn sha1(data: &[u8]) -> [u8; 20] {
        let mut sha = Sha1::new();
        sha.update(data);
        sha.digest()
    }

    #[test]
    fn rfc_3174_vectors() {
        let hex = |d: [u8; 20]| {
            d.iter()
                .map(|b| std::format!("{b:02x}"))
                .collect::<std::string::String>()
        };
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        let mut sha = Sha1::new();
        for _ in 0..10_000 {
            sha.update(&[b'a'; 100]);
        }
        assert_eq!(
            hex(sha.digest()),
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
            let mut sha = Sha1::new();
            let (a, b) = data.split_at(cut.min(data.len()));
            sha.update(a);
            sha.update(b);
            prop_assert_eq!(sha.digest(), sha1_smol::Sha1::from(&data).digest().bytes());
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
