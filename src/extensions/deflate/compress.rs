//! Compressing permessage-deflate messages (RFC 7692 §7.2.1) with miniz_oxide's compressor
//! (feature `deflate-compress`: miniz_oxide allocates its own tables; this crate allocates
//! nothing).
//!
//! A message is compressed as one raw DEFLATE stream piece, ended with a sync flush (an empty
//! stored block, `00 00 ff ff`) whose four bytes are stripped, as §7.2.1 says. With context
//! takeover the next message continues the same stream; without, the compressor is reset.
//!
//! # The window
//!
//! miniz_oxide's LZ77 dictionary is always 32 KiB: it has no smaller window. (Its own
//! small-window setting does not hold either: it falls back to its fast level-1 path, which
//! matches up to 32 KiB back.) So when the agreed window is below 15 bits, this compressor
//! only looks for runs of the previous byte (its RLE strategy: every match has distance 1),
//! which any window allows: less compression, never a reference the peer's window lacks.

use core::fmt;

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressionStrategy, CompressorOxide,
    TDEFLFlush, TDEFLStatus,
};

use super::negotiate::Agreed;
use super::params::MAX_WINDOW_BITS;

/// The sync flush's empty stored block, stripped from every message (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why a [`Compressor`] call failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CompressError {
    /// [`Compressor::compress_message`]: the compressed message needs `needed` bytes. The
    /// compressor has been reset (the peer's inflater keeps more history than we then use,
    /// which is always allowed), so retry with a larger buffer or send uncompressed.
    BufferTooSmall {
        /// The compressed length.
        needed: usize,
    },
    /// miniz_oxide reported an error.
    Failed,
}

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Self::Failed => f.write_str("compression failed"),
        }
    }
}

impl core::error::Error for CompressError {}

/// What one [`Compressor::compress`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Compressed {
    /// Input bytes taken: all of the input, or none while earlier output is still queued.
    pub consumed: usize,
    /// Compressed bytes written to the front of `out`; may be 0.
    pub written: usize,
    /// The message is complete: `out[..written]` is its last piece.
    pub done: bool,
}

/// A permessage-deflate compressor for the messages we send. Its state is the same at every
/// window size: miniz_oxide's compressor (65,712 bytes inline, as `tests/deflate.rs` prints,
/// for its 64 KiB LZ code buffer, plus what miniz_oxide allocates itself: an 85 KB output
/// buffer, the 32 KiB dictionary and 128 KiB of hash chains, 4 KB of Huffman tables), and a
/// queue of `Q` bytes ([`DEFAULT_QUEUE`]) for compressed bytes not handed out yet. It is large:
/// keep it in a `Box` or a `static`, not on a small stack.
///
/// ```
/// use wsmachine::extensions::deflate::{accept_offer, Compressor, DeflateConfig};
/// use wsmachine::handshake::Extensions;
/// let offer = b"permessage-deflate; server_no_context_takeover";
/// let agreed = accept_offer(&DeflateConfig::DEFAULT, Extensions::new(core::iter::once(&offer[..]))).unwrap();
/// let mut compressor = Compressor::new(&agreed, 6);
/// let mut out = [0u8; 64];
/// // RFC 7692 §7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
/// assert_eq!(compressor.compress_message(b"Hello", &mut out)?, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
/// # Ok::<(), wsmachine::extensions::deflate::CompressError>(())
/// ```
pub struct Compressor<const Q: usize = DEFAULT_QUEUE> {
    state: CompressorOxide,
    /// Reset after every message: the agreement says so for our direction.
    reset_each_message: bool,
    /// Compressed bytes not handed out yet: at most `Q`, so one call's compressed output must
    /// fit (pass pieces of at most `Q - 1024` bytes, or whole messages that compress into it).
    queue: heapless::Vec<u8, Q, usize>,
    /// How many bytes of `queue` were handed out.
    read: usize,
    /// The message's sync flush is in `queue`, its tail stripped.
    flushed: bool,
}

/// The default queue of a [`Compressor`]: one call's compressed output, 256 KiB (a piece of
/// up to 255 KiB, even incompressible, fits).
pub const DEFAULT_QUEUE: usize = 256 << 10;

impl<const Q: usize> fmt::Debug for Compressor<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("reset_each_message", &self.reset_each_message)
            .field("queued", &(self.queue.len() - self.read))
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for what `agreed` allows us to send, at `level` (0 stores, 1 is fastest,
    /// 9 the smallest output; above 10 counts as 10), with the [`DEFAULT_QUEUE`]. Below 15
    /// window bits it only encodes runs (see the module docs).
    #[must_use]
    pub fn new(agreed: &Agreed, level: u8) -> Self {
        Self::with_queue(agreed, level)
    }
}

impl<const Q: usize> Compressor<Q> {
    /// [`Compressor::new`] with a queue of `Q` bytes.
    #[must_use]
    pub fn with_queue(agreed: &Agreed, level: u8) -> Self {
        let send = agreed.send();
        let level = i32::from(level.min(10));
        let flags = if send.window_bits < MAX_WINDOW_BITS {
            // Level 2 or more keeps miniz_oxide off its fast path, which ignores RLE.
            create_comp_flags_from_zip_params(level.max(2), -15, CompressionStrategy::RLE as i32)
        } else {
            create_comp_flags_from_zip_params(level, -15, CompressionStrategy::Default as i32)
        };
        Self {
            state: CompressorOxide::new(flags),
            reset_each_message: send.no_context_takeover,
            queue: heapless::Vec::new(),
            read: 0,
            flushed: false,
        }
    }

    /// Runs the compressor over `input`, queueing what it writes; with `fin`, ends the message
    /// with a sync flush and strips its tail.
    fn feed(&mut self, input: &[u8], fin: bool) -> Result<(), CompressError> {
        let flush = if fin {
            TDEFLFlush::Sync
        } else {
            TDEFLFlush::None
        };
        let queue = &mut self.queue;
        // Output that does not fit the queue stops the compressor: an error, below.
        let (status, used) = compress_to_output(&mut self.state, input, flush, |bytes| {
            queue.extend_from_slice(bytes).is_ok()
        });
        if status != TDEFLStatus::Okay || used != input.len() {
            self.reset();
            return Err(CompressError::Failed);
        }
        if fin {
            if !self.queue.ends_with(&TAIL) {
                self.reset();
                return Err(CompressError::Failed);
            }
            self.queue.truncate(self.queue.len() - TAIL.len());
            self.flushed = true;
        }
        Ok(())
    }

    /// Compresses the next piece of a message into `out`, for the caller to send as a
    /// fragment (RSV1 on the first, [`Connection::send_fragment`](crate::Connection)).
    ///
    /// Pass the message in pieces, `fin` with the last; a call takes all of `input` or, while
    /// compressed bytes are still queued, none of it (pass it again). Call until
    /// [`Compressed::done`]; the last piece may be empty. Without `fin`, the last four bytes
    /// written so far are held back, since they might be the tail that is stripped.
    pub fn compress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<Compressed, CompressError> {
        let mut consumed = 0;
        if self.ready() == 0 && !self.flushed {
            // Everything handed out but the held-back bytes: take the next input.
            let held = self.queue.len() - self.read;
            self.queue.copy_within(self.read.., 0);
            self.queue.truncate(held);
            self.read = 0;
            self.feed(input, fin)?;
            consumed = input.len();
        }
        let n = self.ready().min(out.len());
        let (dst, _) = out.split_at_mut(n);
        dst.copy_from_slice(self.queue.get(self.read..self.read + n).unwrap_or_default());
        self.read += n;
        let done = self.flushed && self.read == self.queue.len();
        if done {
            self.end_message();
        }
        Ok(Compressed {
            consumed,
            written: n,
            done,
        })
    }

    /// Queued bytes that may be handed out: all once flushed, else all but the last four.
    fn ready(&self) -> usize {
        let end = if self.flushed {
            self.queue.len()
        } else {
            self.queue.len().saturating_sub(TAIL.len())
        };
        end.saturating_sub(self.read)
    }

    /// Compresses a whole message into `out` and returns the compressed bytes, to send with
    /// `rsv = RSV1` ([`Connection::send_message`](crate::Connection::send_message)).
    pub fn compress_message<'o>(
        &mut self,
        input: &[u8],
        out: &'o mut [u8],
    ) -> Result<&'o [u8], CompressError> {
        if !self.queue.is_empty() || self.flushed {
            // A streamed message was left unfinished: drop it.
            self.reset();
        }
        self.feed(input, true)?;
        let needed = self.queue.len();
        let Some(dst) = out.get_mut(..needed) else {
            self.reset();
            return Err(CompressError::BufferTooSmall { needed });
        };
        dst.copy_from_slice(&self.queue);
        self.end_message();
        Ok(dst)
    }

    fn end_message(&mut self) {
        self.queue.clear();
        self.read = 0;
        self.flushed = false;
        if self.reset_each_message {
            self.state.reset();
        }
    }

    /// Forgets the context and anything queued: the next message starts a fresh stream.
    pub fn reset(&mut self) {
        self.state.reset();
        self.queue.clear();
        self.read = 0;
        self.flushed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Role;
    use crate::extensions::deflate::DeflateParams;

    fn agreed() -> Agreed {
        Agreed::new(DeflateParams::default(), Role::Client)
    }

    #[test]
    fn streaming_through_one_byte_outputs_gives_the_whole_message_bytes() {
        let message = b"Hello, Hello, Hello! permessage-deflate streams in pieces.".repeat(20);
        let mut whole = Compressor::new(&agreed(), 6);
        let mut buf = [0u8; 4096];
        let expected = whole.compress_message(&message, &mut buf).unwrap().to_vec();
        let mut streamed = Compressor::new(&agreed(), 6);
        let mut got = Vec::new();
        let mut at = 0;
        loop {
            let end = (at + 37).min(message.len());
            let mut out = [0u8; 1];
            let c = streamed
                .compress(&message[at..end], end == message.len(), &mut out)
                .unwrap();
            at += c.consumed;
            got.extend_from_slice(&out[..c.written]);
            if c.done {
                break;
            }
        }
        assert_eq!(got, expected);
        assert!(!got.ends_with(&TAIL), "the tail is stripped");
    }

    #[test]
    fn a_too_small_buffer_says_how_much_and_resets() {
        let mut c = Compressor::new(&agreed(), 6);
        let mut small = [0u8; 3];
        assert_eq!(
            c.compress_message(b"Hello", &mut small),
            Err(CompressError::BufferTooSmall { needed: 7 })
        );
        let mut out = [0u8; 16];
        // Reset: the next "Hello" does not refer back to the one that was not sent.
        assert_eq!(
            c.compress_message(b"Hello", &mut out).unwrap(),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }
}
