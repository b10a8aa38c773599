//! Streaming DEFLATE decompression (RFC 1951; RFC 7692 §7.2.2) into a caller-owned window, with
//! no allocator.
//!
//! [`Inflater`] keeps miniz_oxide's decompressor state ([`DecompressorOxide`]) and borrows the
//! window: a power-of-two buffer used as a ring, which is at once the LZ77 history that
//! back-references read and the place where decompressed bytes appear. Each call writes at
//! most up to the end of the ring, so its output is one contiguous slice of the window, handed
//! out before the next call overwrites it.
//!
//! A back-reference longer than the window is corrupt data (a peer that breaks the agreed
//! `*_max_window_bits`); one that reaches before the start of the stream but within the window
//! reads whatever the window held, as RFC 1951 leaves it undefined.

use core::fmt;
use core::ops::Range;

use miniz_oxide::inflate::core::{decompress_with_limit, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::params::MIN_WINDOW_BITS;

/// The window given to [`Inflater::new`] is not a power of two of at least 256 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WindowError {
    /// The smallest window length that would do.
    pub needed: usize,
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the inflate window must be a power of two of at least {} bytes",
            self.needed
        )
    }
}

impl core::error::Error for WindowError {}

/// The compressed data is not valid DEFLATE (RFC 1951).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CorruptData;

impl fmt::Display for CorruptData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid DEFLATE data")
    }
}

impl core::error::Error for CorruptData {}

/// Why [`Inflater::inflate`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stop {
    /// All the input is used: give more.
    NeedsInput,
    /// The output reached the end of the ring or the limit: hand it out and call again.
    OutputFull,
    /// A block with BFINAL set ended the DEFLATE stream; [`reset`](Inflater::reset) before the
    /// next one. Further input is not read.
    Ended,
}

/// What one [`Inflater::inflate`] call did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Inflated {
    /// Input bytes used.
    pub consumed: usize,
    /// Where the new bytes are in the window: read them with [`Inflater::output`].
    pub output: Range<usize>,
    /// Why it stopped.
    pub stop: Stop,
}

/// A raw DEFLATE decompressor over a caller-owned window. Its own size is that of miniz_oxide's
/// state (about 11 KB on 64-bit targets, see `tests/deflate.rs`), whatever the window.
///
/// ```
/// use wsmachine::extensions::deflate::{Inflater, Stop};
/// let mut window = [0u8; 256];
/// let mut inflater = Inflater::new(&mut window)?;
/// // RFC 7692 §7.2.3.1: "Hello", with the tail 00 00 ff ff the sender stripped put back.
/// let step = inflater.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff], usize::MAX)?;
/// assert_eq!(step.stop, Stop::NeedsInput);
/// assert_eq!(inflater.output(step.output), b"Hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Inflater<'w> {
    state: DecompressorOxide,
    window: &'w mut [u8],
    /// Where the next output byte goes in the ring.
    pos: usize,
    /// The stream ended with a BFINAL block.
    ended: bool,
}

impl fmt::Debug for Inflater<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("window", &self.window.len())
            .field("pos", &self.pos)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<'w> Inflater<'w> {
    /// An inflater at the start of a stream, over `window`: a power of two of at least 256
    /// bytes, and at least `1 << window_bits` for the window the peer compresses with.
    pub fn new(window: &'w mut [u8]) -> Result<Self, WindowError> {
        let min = 1usize << MIN_WINDOW_BITS;
        if window.len() < min || !window.len().is_power_of_two() {
            return Err(WindowError {
                needed: window
                    .len()
                    .checked_next_power_of_two()
                    .unwrap_or(0)
                    .max(min),
            });
        }
        Ok(Self {
            state: DecompressorOxide::new(),
            window,
            pos: 0,
            ended: false,
        })
    }

    /// The window's length.
    #[must_use]
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Starts a new DEFLATE stream with no history: after a stream [`Stop::Ended`], or for a
    /// sender without context takeover. The window keeps its bytes; a valid stream never reads
    /// them.
    pub fn reset(&mut self) {
        self.state.init();
        self.ended = false;
    }

    /// The stream ended with a BFINAL block.
    #[must_use]
    pub const fn ended(&self) -> bool {
        self.ended
    }

    /// Decompresses from `input` into the window: at most `limit` bytes and never past the
    /// end of the ring, so the work of one call is bounded by `input.len()` and the window's
    /// length. More input is always expected: the end of a message is the caller's to mark
    /// (RFC 7692 appends `00 00 ff ff`).
    ///
    /// Once the stream has ended, input is not read (`consumed` is 0).
    pub fn inflate(&mut self, input: &[u8], limit: usize) -> Result<Inflated, CorruptData> {
        if self.ended {
            return Ok(Inflated {
                consumed: 0,
                output: self.pos..self.pos,
                stop: Stop::Ended,
            });
        }
        let flags = inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        let room = self.window.len().saturating_sub(self.pos).min(limit);
        let (status, consumed, written) =
            decompress_with_limit(&mut self.state, input, self.window, self.pos, room, flags);
        let stop = match status {
            TINFLStatus::NeedsMoreInput => Stop::NeedsInput,
            TINFLStatus::HasMoreOutput => Stop::OutputFull,
            TINFLStatus::Done => {
                self.ended = true;
                Stop::Ended
            }
            _ => return Err(CorruptData),
        };
        let start = self.pos;
        let end = start.saturating_add(written).min(self.window.len());
        self.pos = if end == self.window.len() { 0 } else { end };
        Ok(Inflated {
            consumed: consumed.min(input.len()),
            output: start..end,
            stop,
        })
    }

    /// Bytes of the window, as an [`Inflated::output`] range names them.
    #[must_use]
    pub fn output(&self, range: Range<usize>) -> &[u8] {
        self.window.get(range).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_must_be_powers_of_two_of_at_least_256_bytes() {
        for (len, needed) in [(0, 256), (255, 256), (300, 512), (1000, 1024)] {
            let mut w = vec![0u8; len];
            assert_eq!(
                Inflater::new(&mut w).err(),
                Some(WindowError { needed }),
                "{len}"
            );
        }
        let mut w = [0u8; 256];
        assert!(Inflater::new(&mut w).is_ok());
    }

    #[test]
    fn output_wraps_around_the_ring_and_back_references_cross_the_wrap() {
        // A stored block of 300 bytes (BFINAL=0): 00, LEN=300, NLEN, bytes; then the tail.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let mut stream = vec![0x00, 0x2c, 0x01, 0xd3, 0xfe];
        stream.extend_from_slice(&data);
        stream.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
        let mut w = [0u8; 256];
        let mut inflater = Inflater::new(&mut w).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let step = inflater.inflate(&stream[at..], usize::MAX).unwrap();
            at += step.consumed;
            out.extend_from_slice(inflater.output(step.output.clone()));
            assert!(step.output.len() <= 256);
            if step.stop == Stop::NeedsInput {
                break;
            }
        }
        assert_eq!(at, stream.len());
        assert_eq!(out, data);
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut w = [0u8; 256];
        let mut inflater = Inflater::new(&mut w).unwrap();
        // BTYPE=11 is reserved (RFC 1951 §3.2.3).
        assert_eq!(inflater.inflate(&[0x06], usize::MAX), Err(CorruptData));
        // A stored block whose NLEN is not the complement of LEN.
        let mut inflater = Inflater::new(&mut w).unwrap();
        assert_eq!(
            inflater.inflate(&[0x00, 0x05, 0x00, 0x00, 0x00], usize::MAX),
            Err(CorruptData)
        );
    }
}
