//! Incremental UTF-8 validation (RFC 6455 §8.1) that fails on the first invalid byte.
//!
//! Text arrives in chunks that may split a character anywhere: across reads, across the frames
//! of a fragmented message. [`Utf8Validator`] keeps no bytes between chunks, only three small
//! counts: how many continuation bytes the unfinished character still needs (at most three),
//! and how much narrower than `80..=BF` the range of the next one is (right after `E0`, `ED`,
//! `F0` and `F4`, Unicode Table 3-7). A chunk first finishes that character byte by byte; the
//! rest goes to a whole-slice validator whose error says where the valid prefix ends and whether
//! what follows is an unfinished sequence (remembered for the next chunk) or an invalid one:
//! `simdutf8` where the target has the vector units it needs (x86_64 on a hosted OS, whose CPU
//! features are detected at run time, and aarch64), its fast `basic` API on all but a last
//! unfinished character and its `compat` API for positions, `core::str::from_utf8` elsewhere
//! (microcontrollers, where it is small). Both report the same positions. A
//! message is rejected at the first byte that cannot start or continue a valid sequence
//! (overlong forms, surrogates and code points above U+10FFFF included), so a connection fails
//! fast instead of waiting for the end of the message.
//!
//! A server on a 64-bit target gives the validator only the last character of a chunk of
//! masked text that starts on a character boundary, when unmasking found the rest valid in
//! the same pass (`wire::mask::apply_mask_is_utf8`): with AVX2 a UTF-8 check, elsewhere a test
//! that every byte is ASCII.

use core::fmt;

// The whole-slice validator: `simdutf8`'s `compat` API where the target has its vector units,
// `core`'s elsewhere. Both report `valid_up_to` and `error_len` the same way.
#[cfg(not(any(
    all(target_arch = "x86_64", any(unix, windows)),
    target_arch = "aarch64"
)))]
use core::str::from_utf8;
#[cfg(any(
    all(target_arch = "x86_64", any(unix, windows)),
    target_arch = "aarch64"
))]
use simdutf8::compat::from_utf8;

/// Why a text payload is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Utf8Error {
    /// The byte at `offset` in the chunk just fed cannot start or continue a valid sequence.
    InvalidByte {
        /// Its index in the chunk passed to [`Utf8Validator::feed`].
        offset: usize,
    },
    /// The message ended inside a character.
    Incomplete,
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidByte { offset } => write!(f, "invalid UTF-8 byte at offset {offset}"),
            Self::Incomplete => f.write_str("message ends inside a UTF-8 sequence"),
        }
    }
}

impl core::error::Error for Utf8Error {}

/// A streaming UTF-8 validator that remembers, across chunks, how the character in progress
/// must continue.
///
/// ```
/// use wsmachine::utf8::{Utf8Error, Utf8Validator};
/// let mut v = Utf8Validator::new();
/// // "€" is E2 82 AC; split it across three chunks.
/// v.feed(b"price: \xE2")?;
/// v.feed(b"\x82")?;
/// v.feed(b"\xAC")?;
/// assert_eq!(v.finish(), Ok(()));
/// // A surrogate (ED A0 80) fails at its second byte, as soon as it arrives.
/// v.feed(b"\xED")?;
/// assert_eq!(v.feed(b"\xA0\x80"), Err(Utf8Error::InvalidByte { offset: 0 }));
/// # Ok::<(), Utf8Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Continuation bytes the character in progress still needs: 0 on a character boundary.
    need: u8,
    /// How much narrower than `80..=BF` the next continuation byte's range is, at each end
    /// (Unicode Table 3-7): 0 but right after `E0`, `ED`, `F0` and `F4`, where the narrower
    /// range rules out overlong forms, surrogates and code points above U+10FFFF. Kept as
    /// distances so that the state at a boundary is all zeros.
    raise_low: u8,
    lower_high: u8,
}

/// The length of the sequence a valid lead byte starts.
const fn sequence_len(lead: u8) -> usize {
    2 + (lead >= 0xE0) as usize + (lead >= 0xF0) as usize
}

/// How much the range of the byte after a valid lead byte is narrower than `80..=BF`, at the
/// low end and at the high end.
const fn second_byte_narrowing(lead: u8) -> (u8, u8) {
    // E0: A0..=BF, F0: 90..=BF; ED: 80..=9F, F4: 80..=8F.
    let raise_low = match lead {
        0xE0 => 0x20,
        0xF0 => 0x10,
        _ => 0,
    };
    let lower_high = match lead {
        0xED => 0x20,
        0xF4 => 0x30,
        _ => 0,
    };
    (raise_low, lower_high)
}

/// Validates `bytes` as a whole: `Err((valid_up_to, error_len))` as `core::str::Utf8Error`
/// reports them, `error_len` `None` when `bytes` ends inside a sequence that is valid so far.
#[cfg(not(any(
    all(target_arch = "x86_64", any(unix, windows)),
    target_arch = "aarch64"
)))]
#[inline]
fn whole_slice(bytes: &[u8]) -> Result<(), (usize, Option<usize>)> {
    positions(bytes)
}

/// [`whole_slice`] with SIMD: `simdutf8`'s `basic` API, which says only whether the bytes are
/// valid and is the faster of its two, on all but the last 1 to 3 bytes when they may start a
/// character the next chunk finishes; then `compat`, which says where, on those few bytes, or
/// on the whole chunk when `basic` found it invalid (the connection fails then anyway).
#[cfg(any(
    all(target_arch = "x86_64", any(unix, windows)),
    target_arch = "aarch64"
))]
#[inline]
fn whole_slice(bytes: &[u8]) -> Result<(), (usize, Option<usize>)> {
    let (body, tail) = bytes.split_at(last_character(bytes));
    if simdutf8::basic::from_utf8(body).is_err() {
        return positions(bytes);
    }
    positions(tail).map_err(|(at, len)| (body.len() + at, len))
}

/// Where the last character of `bytes` starts when it may be unfinished: at the last lead
/// byte among the last three bytes whose sequence runs past the end, else at the end. (A
/// byte that leads nothing counts as a lead byte here, so that the validator sees it.)
#[cfg(any(
    target_pointer_width = "64",
    all(target_arch = "x86_64", any(unix, windows)),
    target_arch = "aarch64"
))]
#[inline]
pub(crate) fn last_character(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let at = len - back;
        let byte = bytes.get(at).copied().unwrap_or(0);
        if byte & 0xC0 != 0x80 {
            // ASCII or a lead byte: the character from here is unfinished when it needs more.
            let needs = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xFF => 4,
                _ => 1,
            };
            return if needs > back { at } else { len };
        }
    }
    len
}

/// The whole-slice validator's answer, with positions.
#[inline]
fn positions(bytes: &[u8]) -> Result<(), (usize, Option<usize>)> {
    match from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err((e.valid_up_to(), e.error_len())),
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            need: 0,
            raise_low: 0,
            lower_high: 0,
        }
    }

    /// Whether the bytes so far end on a character boundary.
    #[must_use]
    pub const fn is_complete(&self) -> bool {
        self.need == 0
    }

    /// Validates the next chunk of the message. On error the validator's state is unspecified;
    /// [`reset`](Self::reset) it before reuse.
    #[inline(never)]
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        // Finish the character the previous chunk left open, one byte at a time.
        let mut rest = chunk;
        while self.need > 0 {
            let start = chunk.len() - rest.len();
            let [byte, after @ ..] = rest else {
                return Ok(());
            };
            let byte = *byte;
            // In `0x80 + raise_low ..= 0xBF - lower_high`: one wrapping subtraction moves the
            // low end to 0, so a single compare tests both ends.
            if byte.wrapping_sub(0x80 + self.raise_low) > 0x3F - self.raise_low - self.lower_high {
                return Err(Utf8Error::InvalidByte { offset: start });
            }
            *self = Self {
                need: self.need - 1,
                ..Self::new()
            };
            rest = after;
        }
        let start = chunk.len() - rest.len();
        let Err((at, error_len)) = whole_slice(rest) else {
            return Ok(());
        };
        let tail = rest.get(at..);
        match (error_len, tail) {
            // A valid but unfinished sequence of 1 to 3 bytes ends the chunk: remember what
            // must follow it.
            (None, Some(tail @ [lead, continued @ ..])) => {
                let (raise_low, lower_high) = if continued.is_empty() {
                    second_byte_narrowing(*lead)
                } else {
                    (0, 0)
                };
                // `tail` is shorter than its sequence (the whole-slice validator says it is
                // unfinished), so this does not wrap.
                let need = sequence_len(*lead).wrapping_sub(tail.len());
                *self = Self {
                    need: need as u8,
                    raise_low,
                    lower_high,
                };
                Ok(())
            }
            // `n` bytes form the longest valid prefix of a sequence; when the first of them is
            // a valid lead byte, the offending byte is the one after.
            (Some(n), _) => {
                let lead_ok = matches!(tail.and_then(<[u8]>::first), Some(0xC2..=0xF4));
                let bad = if lead_ok { at + n } else { at };
                Err(Utf8Error::InvalidByte {
                    offset: start + bad,
                })
            }
            (None, _) => Ok(()),
        }
    }

    /// Ends the message: an error if it stopped inside a character. Resets the validator.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(Utf8Error::Incomplete)
        }
    }

    /// Forgets any character in progress, for the start of a new message.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The SIMD path's split: only a character that may be unfinished is left for `compat`.
    #[cfg(any(
        all(target_arch = "x86_64", any(unix, windows)),
        target_arch = "aarch64"
    ))]
    #[test]
    fn the_body_ends_where_an_unfinished_character_may_start() {
        for (bytes, at) in [
            (&b""[..], 0),
            (b"ab", 2),
            (b"a\xC3", 1),
            (b"a\xC3\xA9", 3),
            (b"a\xE2\x82", 1),
            (b"a\xE2\x82\xAC", 4),
            (b"\xF0\x9F\x98", 0),
            (b"a\xF0\x9F\x98\x80", 5),
            // Invalid lead bytes go to `compat` too, which says where they are.
            (b"a\xFF", 1),
            (b"a\x80\x80\x80", 4),
        ] {
            assert_eq!(last_character(bytes), at, "{bytes:02x?}");
        }
    }

    /// Byte index of the first byte that cannot start or continue, per `core::str`.
    fn reference(bytes: &[u8]) -> Result<(), Option<usize>> {
        match core::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                None => Err(None),
                Some(n) => {
                    let lead_ok = matches!(bytes[e.valid_up_to()], 0xC2..=0xF4);
                    Err(Some(e.valid_up_to() + if lead_ok { n } else { 0 }))
                }
            },
        }
    }

    /// Feeds `bytes` in pieces of `step`, returning the stream position of the failure.
    fn streamed(bytes: &[u8], step: usize) -> Result<(), Option<usize>> {
        let mut v = Utf8Validator::new();
        let mut pos = 0;
        for chunk in bytes.chunks(step) {
            if let Err(Utf8Error::InvalidByte { offset }) = v.feed(chunk) {
                return Err(Some(pos + offset));
            }
            pos += chunk.len();
        }
        v.finish().map_err(|_| None)
    }

    /// Feeds `bytes` cut at `cuts` (any numbers, taken modulo the length and sorted),
    /// returning the stream position of the failure.
    fn split_at(bytes: &[u8], mut cuts: std::vec::Vec<usize>) -> Result<(), Option<usize>> {
        for cut in &mut cuts {
            *cut %= bytes.len() + 1;
        }
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut v = Utf8Validator::new();
        let mut from = 0;
        for to in cuts {
            if let Err(Utf8Error::InvalidByte { offset }) = v.feed(&bytes[from..to]) {
                return Err(Some(from + offset));
            }
            from = to;
        }
        v.finish().map_err(|_| None)
    }

    #[test]
    fn known_sequences() {
        let cases: &[&[u8]] = &[
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
            b"\xf0\x90\x80\x80",
            b"\xf4\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xed\xa0\x80",
            b"\xed\x9f\xbf",
            b"\xef\xbf\xbf",
            b"\xfe",
            b"\x80",
            b"\xce\xba\xe1\xbd",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        ];
        for bytes in cases {
            for step in 1..=bytes.len().max(1) {
                assert_eq!(
                    streamed(bytes, step),
                    reference(bytes),
                    "{bytes:x?} step {step}"
                );
            }
        }
    }

    /// Every lead byte followed by every second byte, the lead alone in its chunk: the range
    /// carried across the boundary (narrower after E0, ED, F0, F4) must match `core::str`.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn second_byte_ranges_across_a_chunk_boundary() {
        for lead in 0xC2..=0xF4u8 {
            for second in 0..=255u8 {
                let bytes = [lead, second, 0x80, 0x80];
                let len = sequence_len(lead).max(2);
                let bytes = &bytes[..len];
                assert_eq!(
                    streamed(bytes, 1),
                    reference(bytes),
                    "{lead:#04x} {second:#04x}"
                );
            }
        }
    }

    #[test]
    fn fails_at_the_first_bad_byte_not_at_the_end() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ab\xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(Utf8Error::InvalidByte { offset: 0 }));
    }

    // Proptest is far too slow under Miri (and persists failures to files, which Miri's
    // isolation forbids); the exhaustive tests above cover the same code there.
    proptest! {
        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_with_core_str(bytes in proptest::collection::vec(any::<u8>(), 0..64), step in 1usize..8) {
            prop_assert_eq!(streamed(&bytes, step), reference(&bytes));
        }

        /// The whole-slice validator (SIMD where there is one) reports what `core::str` does,
        /// on inputs long enough for its 64-byte blocks.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn whole_slice_agrees_with_core_str(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let expected = core::str::from_utf8(&bytes).map(drop).map_err(|e| (e.valid_up_to(), e.error_len()));
            prop_assert_eq!(whole_slice(&bytes), expected);
        }

        /// Long, mostly valid text (ASCII and multi-byte characters, one stray byte somewhere
        /// or none) split at arbitrary points: the failure position, or the end inside a
        /// character, is the one `core::str` gives for the whole.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_when_split_at_arbitrary_points(
            s in "(\\PC|[a-z ]{1,40}){0,60}",
            junk in proptest::option::of((any::<usize>(), any::<u8>())),
            truncate in any::<usize>(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut bytes = s.into_bytes();
            if let Some((at, byte)) = junk {
                let at = at % (bytes.len() + 1);
                bytes.insert(at, byte);
            }
            // Sometimes end inside a character.
            if truncate % 4 == 0 && !bytes.is_empty() {
                bytes.truncate(bytes.len() - 1 - truncate / 4 % bytes.len().min(3));
            }
            prop_assert_eq!(split_at(&bytes, cuts), reference(&bytes));
        }

        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_on_arbitrary_bytes_split_at_arbitrary_points(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            prop_assert_eq!(split_at(&bytes, cuts), reference(&bytes));
        }

        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_on_mostly_valid_text(s in "\\PC{0,24}", cut in 0usize..100, junk in any::<u8>(), step in 1usize..6) {
            let mut bytes = s.into_bytes();
            let at = cut % (bytes.len() + 1);
            bytes.insert(at, junk);
            prop_assert_eq!(streamed(&bytes, step), reference(&bytes));
        }
    }
}
