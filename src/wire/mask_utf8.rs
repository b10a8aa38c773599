//! Unmasking text and checking it as UTF-8 in one pass over the bytes (RFC 6455 §5.3, §8.1),
//! with AVX2.
//!
//! A server unmasks a text payload in place and must then check it as UTF-8. Done one after the
//! other, that is two passes over the bytes: the XOR loop, then the validator. Here each
//! 32-byte vector is XORed, stored and checked while it is still in a register.
//!
//! The check is the lookup algorithm of Keiser and Lemire ("Validating UTF-8 in less than one
//! instruction per byte", 2021), the one `simdutf8` and simdjson use. Every error in UTF-8 shows
//! in a byte and the one or three before it. Three table lookups, on the high and low nibble
//! of the byte before and on the high nibble of the byte itself, give a set of error bits each;
//! the AND of the three is not zero where the two bytes cannot follow one another (a lead
//! byte that is not followed by a continuation byte, a continuation byte after an ASCII byte,
//! an overlong form, a surrogate, a code point above U+10FFFF). Where a continuation byte
//! follows a continuation byte, the lookup sets the `TWO_CONTS` bit; that is valid exactly
//! where the byte two before is a lead of three or four bytes, or the byte three before is a
//! lead of four. A group of 256 ASCII bytes skips the lookups.
//!
//! What the pass does not check is the last character when it may be unfinished: whether it
//! goes on in the next chunk, and whether its lead byte can start a character at all, are the
//! caller's ([`crate::utf8`]). `pulp` gives the AVX2 intrinsics as safe functions once its
//! run-time check has seen the CPU features; the code here is safe.

use super::mask::{head_len, turned, xor_seen, HIGH_BITS};
use core::arch::x86_64::__m256i;
use pulp::bytemuck::cast;
use pulp::x86::V3;

// The error bits of the lookup tables, one per kind of error (two share a bit: they are told
// apart by the tables of the byte before).
/// A lead byte followed by a byte that is not a continuation.
const TOO_SHORT: u8 = 1 << 0;
/// A continuation byte after an ASCII byte.
const TOO_LONG: u8 = 1 << 1;
/// `E0` followed by `80..=9F`.
const OVERLONG_3: u8 = 1 << 2;
/// `F4` followed by `90..=BF`, or `F5..=FF` followed by `90..=BF`.
const TOO_LARGE: u8 = 1 << 3;
/// `ED` followed by `A0..=BF`.
const SURROGATE: u8 = 1 << 4;
/// `C0` or `C1` followed by a continuation byte.
const OVERLONG_2: u8 = 1 << 5;
/// `F5..=FF` followed by `80..=8F`.
const TOO_LARGE_1000: u8 = 1 << 6;
/// `F0` followed by `80..=8F`.
const OVERLONG_4: u8 = 1 << 6;
/// A continuation byte after a continuation byte: valid only as the third or fourth byte of a
/// character. The top bit, to compare with the top bit that says where that must be.
const TWO_CONTS: u8 = 1 << 7;
/// What every lead byte's low nibble allows for the byte after: the errors that do not depend
/// on which lead byte it is.
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// Errors by the high nibble of the byte before.
const BEFORE_HIGH: [u8; 16] = [
    // 0_______: ASCII, then a continuation byte is too long.
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    // 10______: a continuation byte, then another.
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    // 1100____, 1101____: two-byte leads.
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    // 1110____: three-byte leads.
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    // 1111____: four-byte leads and bytes that lead nothing.
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// Errors by the low nibble of the byte before.
const BEFORE_LOW: [u8; 16] = [
    // ____0000: C0, E0, F0.
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    // ____0001: C1.
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    // ____0100: F4.
    CARRY | TOO_LARGE,
    // ____0101 to ____1100: F5 to FC.
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    // ____1101: ED (and FD).
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// Errors by the high nibble of the byte itself.
const HIGH: [u8; 16] = [
    // 0_______: ASCII, where a continuation byte was due.
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    // 1000____.
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    // 1001____.
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    // 101_____.
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    // 11______: a lead byte, where a continuation byte was due.
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

/// A 16-entry table in both 16-byte lanes, as the byte shuffle looks it up.
const fn both_lanes(table: [u8; 16]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = table[i % 16];
        i += 1;
    }
    out
}

/// Subtracted with saturation from the last three bytes of a vector, it leaves a byte that is
/// not zero where a character starts that the vector does not finish: a lead of four bytes
/// among the last three, of three among the last two, of two at the end.
const UNFINISHED: [u8; 32] = {
    let mut max = [0xFF; 32];
    max[29] = 0xF0 - 1;
    max[30] = 0xE0 - 1;
    max[31] = 0xC0 - 1;
    max
};

/// The constants of the check, in registers.
#[derive(Clone, Copy)]
struct Tables {
    before_high: __m256i,
    before_low: __m256i,
    high: __m256i,
    low_nibble: __m256i,
    unfinished: __m256i,
    /// Subtracted with saturation from the byte two before: the top bit stays where that is a
    /// lead of three or four bytes (`E0..`).
    third: __m256i,
    /// The same for the byte three before and leads of four (`F0..`).
    fourth: __m256i,
    top_bit: __m256i,
}

impl Tables {
    #[inline(always)]
    fn new(simd: V3) -> Self {
        let avx = simd.avx;
        Self {
            before_high: cast(both_lanes(BEFORE_HIGH)),
            before_low: cast(both_lanes(BEFORE_LOW)),
            high: cast(both_lanes(HIGH)),
            low_nibble: avx._mm256_set1_epi8(0x0F),
            unfinished: cast(UNFINISHED),
            third: avx._mm256_set1_epi8((0xE0u8 - 0x80) as i8),
            fourth: avx._mm256_set1_epi8((0xF0u8 - 0x80) as i8),
            top_bit: avx._mm256_set1_epi8(0x80u8 as i8),
        }
    }
}

/// 32 bytes as a vector.
#[inline(always)]
fn load(bytes: &[u8]) -> __m256i {
    let mut array = [0u8; 32];
    array.copy_from_slice(bytes);
    cast(array)
}

/// The error bits of each byte of `input`, given the vector before it (`prev`, whose last three
/// bytes are the three before `input`): zero where the byte may follow the ones before it.
#[inline(always)]
fn errors(simd: V3, t: Tables, input: __m256i, prev: __m256i) -> __m256i {
    let v = simd.avx2;
    // The 32 bytes one to three places back: `alignr` works in 16-byte lanes, so the lane
    // before each of `input`'s is put beside it first.
    let lanes_before = v._mm256_permute2x128_si256::<0x21>(prev, input);
    let before1 = v._mm256_alignr_epi8::<15>(input, lanes_before);
    let before2 = v._mm256_alignr_epi8::<14>(input, lanes_before);
    let before3 = v._mm256_alignr_epi8::<13>(input, lanes_before);
    let high_nibble = |x| v._mm256_and_si256(v._mm256_srli_epi16::<4>(x), t.low_nibble);
    let by_before_high = v._mm256_shuffle_epi8(t.before_high, high_nibble(before1));
    let by_before_low =
        v._mm256_shuffle_epi8(t.before_low, v._mm256_and_si256(before1, t.low_nibble));
    let by_high = v._mm256_shuffle_epi8(t.high, high_nibble(input));
    let pairs = v._mm256_and_si256(v._mm256_and_si256(by_before_high, by_before_low), by_high);
    let third_or_fourth = v._mm256_or_si256(
        v._mm256_subs_epu8(before2, t.third),
        v._mm256_subs_epu8(before3, t.fourth),
    );
    // A continuation after a continuation (TWO_CONTS, the top bit) must be where a third or
    // fourth byte is due, and a third or fourth byte must be a continuation after one.
    v._mm256_xor_si256(v._mm256_and_si256(third_or_fourth, t.top_bit), pairs)
}

/// XORs `buf` with `key` repeated (`key[0]` on `buf[0]`) and returns whether the result is
/// UTF-8 up to its last character, which may be unfinished and is not checked (see the top of
/// this file). `buf` must be at least [`MIN_LEN`] bytes long: shorter, it is XORed and the
/// answer is `false`.
///
/// From a 32-byte-aligned address, [`GROUP`] bytes at a time; the head before it is XORed a
/// word at a time (`mask::xor_seen`, which also says whether it is ASCII), and the last bytes
/// after the last group are XORed, then checked as vectors read back from `buf`.
#[inline(never)]
pub(crate) fn xor_is_utf8(simd: V3, key: [u8; 4], buf: &mut [u8]) -> bool {
    simd.vectorize(
        #[inline(always)]
        || xor_is_utf8_with(simd, key, buf),
    )
}

/// The bytes XORed and stored before they are checked: eight vectors. A group that is all
/// ASCII skips the lookups with one test, and mixed text, whose groups are seldom all ASCII,
/// pays one branch per 256 bytes for it. (Groups of 128 bytes made 16 KiB of ASCII text 6 %
/// slower to decode, and mixed text 1.5 % faster.)
const GROUP: usize = 256;

/// The shortest `buf` that [`xor_is_utf8`] checks: a head of up to 31 bytes, then a group, so
/// that the bytes after the last group are checked with the 32 before them.
pub(crate) const MIN_LEN: usize = 31 + GROUP;

#[inline(always)]
fn xor_is_utf8_with(simd: V3, key: [u8; 4], buf: &mut [u8]) -> bool {
    let len = buf.len();
    if len < MIN_LEN {
        xor_seen(key, buf);
        return false;
    }
    let v = simd.avx2;
    let t = Tables::new(simd);
    let zero = simd.avx._mm256_setzero_si256();
    // The head up to the first 32-byte-aligned address (as `apply_mask` does, so that no store
    // straddles a cache line). Unless it is ASCII, it is checked at the end, with the first 32
    // bytes of `buf`, as if the text started there; the body's first vector is checked after
    // the head's last 3 bytes.
    let (head, body) = buf.split_at_mut(head_len(buf.as_ptr()));
    let head_ascii = xor_seen(key, head) & HIGH_BITS == 0;
    let mut before = [0u8; 32];
    for (to, from) in before.iter_mut().rev().zip(head.iter().rev()).take(3) {
        *to = *from;
    }
    let mut prev: __m256i = cast(before);
    let mut error = zero;
    // Whether the group before left a character unfinished. The head's is seen by the check
    // of the first 32 bytes, which reach past it.
    let mut prev_unfinished = zero;
    // The body from the aligned address: the key turned to line up with it.
    let key = turned(key, head.len());
    let word = simd.avx._mm256_set1_epi32(i32::from_ne_bytes(key));
    let mut groups = body.chunks_exact_mut(GROUP);
    for group in &mut groups {
        let mut vectors = [zero; GROUP / 32];
        let mut any = zero;
        for (x, bytes) in vectors.iter_mut().zip(group.chunks_exact_mut(32)) {
            *x = v._mm256_xor_si256(load(bytes), word);
            bytes.copy_from_slice(&cast::<__m256i, [u8; 32]>(*x));
            any = v._mm256_or_si256(any, *x);
        }
        if v._mm256_movemask_epi8(any) == 0 {
            // ASCII: valid, unless the group before left a character unfinished.
            error = v._mm256_or_si256(error, prev_unfinished);
            prev_unfinished = zero;
            prev = vectors[GROUP / 32 - 1];
        } else {
            for x in vectors {
                error = v._mm256_or_si256(error, errors(simd, t, x, prev));
                prev = x;
            }
            prev_unfinished = v._mm256_subs_epu8(prev, t.unfinished);
        }
    }
    // The last 0 to 255 bytes: XORed, whole vectors then words and bytes. ASCII (and more than
    // none), they are valid unless the last group left a character unfinished; else they are
    // checked again from the end of `buf`, a vector at a time with the one before it, back to
    // where the groups end (bytes checked twice are checked alike).
    let rest = groups.into_remainder();
    let rest_len = rest.len();
    let mut vectors = rest.chunks_exact_mut(32);
    let mut any = zero;
    for bytes in &mut vectors {
        let x = v._mm256_xor_si256(load(bytes), word);
        bytes.copy_from_slice(&cast::<__m256i, [u8; 32]>(x));
        any = v._mm256_or_si256(any, x);
    }
    let rest_ascii = xor_seen(key, vectors.into_remainder()) & HIGH_BITS == 0
        && v._mm256_movemask_epi8(any) == 0;
    if !head_ascii {
        if let Some(first) = buf.get(..32) {
            error = v._mm256_or_si256(error, errors(simd, t, load(first), zero));
        }
    }
    let mut end = if rest_ascii && rest_len > 0 {
        error = v._mm256_or_si256(error, prev_unfinished);
        len - rest_len
    } else {
        len
    };
    while end + rest_len > len {
        let (Some(before), Some(x)) = (buf.get(end - 64..end - 32), buf.get(end - 32..end)) else {
            return false;
        };
        error = v._mm256_or_si256(error, errors(simd, t, load(x), load(before)));
        end -= 32;
    }
    simd.avx._mm256_testz_si256(error, error) == 1
}

#[cfg(test)]
mod tests {
    use super::{xor_is_utf8, GROUP, MIN_LEN, V3};
    use crate::utf8::last_character;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The AVX2 token, or `None` (and a line on stderr) on a CPU without it, where nothing
    /// here runs.
    fn avx2() -> Option<V3> {
        let simd = V3::try_new();
        if simd.is_none() {
            std::eprintln!("no AVX2 on this CPU: the one-pass check is not used");
        }
        simd
    }

    /// Valid UTF-8, or valid up to an unfinished end: what the connection accepts of a chunk.
    fn valid_so_far(bytes: &[u8]) -> bool {
        match core::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        }
    }

    /// Masks `plain`, puts it `start` bytes into a buffer, unmasks and checks it in one pass,
    /// and checks the pass: the bytes unmasked; with the validator's answer on the last
    /// character, the same answer as `core::str` on the whole; and when the pass says valid,
    /// everything before the last character valid.
    fn check(simd: V3, key: [u8; 4], plain: &[u8], start: usize) {
        let mut buf = std::vec![0u8; start + plain.len()];
        for (i, (to, from)) in buf[start..].iter_mut().zip(plain).enumerate() {
            *to = from ^ key[i % 4];
        }
        let pass = xor_is_utf8(simd, key, &mut buf[start..]);
        assert_eq!(&buf[start..], plain, "unmasked, start {start}");
        let last = last_character(plain);
        let whole = pass && valid_so_far(&plain[last..]);
        assert_eq!(
            whole,
            valid_so_far(plain),
            "start {start} len {}: pass {pass} {:02x?}",
            plain.len(),
            &plain[last.saturating_sub(8)..]
        );
        if pass {
            assert!(
                core::str::from_utf8(&plain[..last]).is_ok(),
                "start {start}"
            );
        }
        // Valid text, however it ends, is found valid: the fast path is taken.
        if valid_so_far(plain) {
            assert!(pass, "valid, start {start} len {}", plain.len());
        }
    }

    /// `len` bytes of ASCII with `bytes` at `at`.
    fn ascii_with(len: usize, at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let end = (at + bytes.len()).min(len);
        plain[at..end].copy_from_slice(&bytes[..end - at]);
        plain
    }

    /// Every byte from 0x80 after every byte from 0x80, completed with continuation bytes as
    /// its lead needs: across the head, a vector's lanes, a block's edge, into the bytes
    /// checked again at the end, and cut off at the end.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_pair_of_bytes_at_the_edges() {
        let Some(simd) = avx2() else { return };
        let len = GROUP + 100;
        for first in 0x80..=0xFFu8 {
            for second in 0x80..=0xFFu8 {
                let needs = match first {
                    0xE0..=0xEF => 1,
                    0xF0..=0xFF => 2,
                    _ => 0,
                };
                let mut sequence = std::vec![first, second];
                sequence.extend(core::iter::repeat_n(0xBF, needs));
                for at in [
                    0,
                    15,
                    31,
                    62,
                    GROUP - 2,
                    GROUP + 30,
                    len - 70,
                    len - 4,
                    len - 2,
                ] {
                    check(
                        simd,
                        [0x5a, 0xa5, 0x0f, 0xf0],
                        &ascii_with(len, at, &sequence),
                        0,
                    );
                }
            }
        }
    }

    /// Each byte after each lead byte, ASCII or not, and the third and fourth bytes after
    /// the narrowed second bytes (E0 A0, ED 9F, F0 90, F4 8F), in the first group; from two
    /// start addresses, so that the head differs.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_byte_after_a_lead_and_a_narrowed_second() {
        let Some(simd) = avx2() else { return };
        let len = GROUP + 33;
        for start in [0, 9] {
            for lead in 0xC0..=0xFFu8 {
                for next in 0..=0xFFu8 {
                    check(
                        simd,
                        [1, 2, 3, 4],
                        &ascii_with(len, 63, &[lead, next]),
                        start,
                    );
                }
            }
            for prefix in [[0xE0, 0xA0], [0xED, 0x9F], [0xF0, 0x90], [0xF4, 0x8F]] {
                for third in 0..=0xFFu8 {
                    for fourth in [0x00, 0x41, 0x80, 0xBF, 0xC0] {
                        let sequence = [prefix[0], prefix[1], third, fourth];
                        check(simd, [9, 8, 7, 6], &ascii_with(len, 62, &sequence), start);
                    }
                }
            }
        }
    }

    /// A character left unfinished by ASCII, at every place in the first 40 bytes, from every
    /// distance to a 32-byte boundary: among them, unfinished at the end of the head, before a
    /// block that is all ASCII.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_character_cut_short_by_ascii_near_the_head() {
        let Some(simd) = avx2() else { return };
        for start in 0..32 {
            for at in 0..40 {
                for sequence in [&[0xC3][..], &[0xE2, 0x82], &[0xF0, 0x9F, 0x98]] {
                    check(
                        simd,
                        [7, 0, 0, 7],
                        &ascii_with(GROUP + 64, at, sequence),
                        start,
                    );
                }
            }
        }
    }

    /// Valid text that ends inside a character, at every length over a few groups and from
    /// every distance to a 32-byte boundary: among them, ends with no bytes after the last
    /// group and with a few, ASCII or not.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn valid_text_cut_anywhere_is_found_valid() {
        let Some(simd) = avx2() else { return };
        let text = mixed(700);
        for start in 0..32 {
            for len in MIN_LEN..MIN_LEN + 260 {
                check(simd, [3, 1, 4, 1], &text[..len], start);
            }
        }
        let ascii_then_cut = |len: usize| {
            let mut plain = ascii_with(len, len - 1, &[0xE2]);
            plain[len - 40] = 0xC3;
            plain[len - 39] = 0xA9;
            plain
        };
        for start in 0..32 {
            for len in MIN_LEN + 40..MIN_LEN + 300 {
                check(simd, [2, 7, 1, 8], &ascii_then_cut(len), start);
            }
        }
    }

    /// A character left unfinished at the end of a group, or of the next, before a group that
    /// is all ASCII, from every distance to a 32-byte boundary.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_character_cut_short_by_an_ascii_group() {
        let Some(simd) = avx2() else { return };
        for start in 0..32 {
            for at in (GROUP - 36..GROUP + 4).chain(2 * GROUP - 36..2 * GROUP + 4) {
                for sequence in [&[0xC3][..], &[0xE2, 0x82], &[0xF0, 0x9F, 0x98]] {
                    let plain = ascii_with(3 * GROUP + 40, at, sequence);
                    check(simd, [5, 4, 3, 2], &plain, start);
                }
            }
        }
    }

    #[test]
    fn too_short_a_buffer_is_unmasked_and_not_found_valid() {
        let Some(simd) = avx2() else { return };
        let mut buf = [b'a' ^ 0x11; MIN_LEN - 1];
        assert!(!xor_is_utf8(simd, [0x11; 4], &mut buf));
        assert_eq!(buf, [b'a'; MIN_LEN - 1]);
    }

    /// Text of Chinese, emoji and ASCII.
    fn mixed(len: usize) -> Vec<u8> {
        let pieces = [
            "WebSocket 协议在一个连接上传输消息。",
            "😀🚀 ",
            "price=101.25; ",
            "✓ é ",
        ];
        pieces
            .iter()
            .cycle()
            .flat_map(|p| p.bytes())
            .take(len)
            .collect()
    }

    // Proptest is far too slow under Miri, and Miri runs on i686, where this file is not built.
    proptest! {
        /// Mixed text of any length, from any start address, with a few bytes changed
        /// anywhere (into continuation bytes, lead bytes and bytes that lead nothing), and cut
        /// anywhere, often inside a character.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_with_core_str_on_changed_text(
            len in MIN_LEN..1_200usize,
            from in 0..16usize,
            start in 0..32usize,
            key in any::<[u8; 4]>(),
            edits in proptest::collection::vec(
                (any::<usize>(), prop_oneof![
                    0x80..=0xBFu8,
                    Just(0xC0u8), Just(0xC1), Just(0xE0), Just(0xED), Just(0xF0), Just(0xF4),
                    0xF5..=0xFFu8,
                    any::<u8>(),
                ]),
                0..3,
            ),
        ) {
            let Some(simd) = avx2() else { return Ok(()) };
            let mut plain = mixed(len + from)[from..].to_vec();
            for (at, byte) in edits {
                let at = at % plain.len();
                plain[at] = byte;
            }
            check(simd, key, &plain, start);
        }
    }
}
