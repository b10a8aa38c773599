//! permessage-deflate under the driver (RFC 7692 §5–§7.2.2): the offer and the answer in the opening handshake, compressed messages inflated into the caller's window.
//!
//! The inflating follows [`Receiver`](crate::extensions::deflate::Receiver) step by step; it
//! is kept here because the driver hands an event out after the call that produced it
//! ([`Step::Event`](super::Step::Event), then [`Driver::event`](super::Driver::event)), so it
//! must find a decompressed chunk again in the window, which the engine's `Receiver` does not
//! let it do. The engine's tests cover the rules; `tests/deflate_io.rs` runs them through the
//! driver.

use core::ops::Range;

use super::pending::Pending;
use crate::connection::{DataChunk, DataKind, Endpoint, Event};
use crate::extensions::deflate::{
    Agreed, ClientOffer, DeflateConfig, Direction, InflateError, Inflater, NegotiationError, Stop,
    WindowError,
};
use crate::handshake::Extension;
use crate::io::Closed;
use crate::utf8::Utf8Validator;
use crate::wire::frame::RSV1;
use crate::{Connection, ReceiveError};

/// The tail the sender stripped from every message (§7.2.1), put back before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The compressed message being inflated.
#[derive(Debug, Clone, Copy)]
struct Message {
    kind: DataKind,
    started: bool,
    size: u64,
    fed: bool,
    utf8: Utf8Validator,
}

/// permessage-deflate for one [`Driver`](super::Driver), in storage the caller owns: the
/// configuration to offer or accept, the inflate window, and the inflater's state (about 11 KB,
/// most of it miniz_oxide's tables). Give it to the driver with
/// [`Driver::deflate`](super::Driver::deflate) (server) or
/// [`Driver::client_deflate`](super::Driver::client_deflate); a driver without one is as
/// large and does what it did before.
#[derive(Debug)]
pub struct Deflate<'w> {
    config: DeflateConfig,
    max_message_size: u64,
    inflater: Inflater<'w>,
    agreed: Option<Agreed>,
    /// Payload bytes at the front of the next input that the connection handed out and that
    /// are not inflated yet.
    pending: usize,
    pending_last: bool,
    tail: Option<u8>,
    message: Option<Message>,
    /// The connection failed here: no more input is taken.
    failed: bool,
    /// Why permessage-deflate ended the connection.
    closed: Option<Closed>,
}

impl<'w> Deflate<'w> {
    /// permessage-deflate as `config` describes it, inflating into `window` (a power of two of
    /// at least `1 << config.receive_window_bits` bytes), failing the connection with 1009 once
    /// a message decompresses to more than `max_message_size` bytes.
    pub fn new(
        window: &'w mut [u8],
        config: DeflateConfig,
        max_message_size: u64,
    ) -> Result<Self, WindowError> {
        let bits = config.receive_window_bits.clamp(8, 15);
        let needed = 1usize << bits;
        if window.len() < needed {
            return Err(WindowError { needed });
        }
        Ok(Self {
            config,
            max_message_size,
            inflater: Inflater::new(window)?,
            agreed: None,
            pending: 0,
            pending_last: false,
            tail: None,
            message: None,
            failed: false,
            closed: None,
        })
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &DeflateConfig {
        &self.config
    }

    /// What was agreed in the opening handshake; `None` before it, or when it was declined.
    #[must_use]
    pub const fn agreed(&self) -> Option<Agreed> {
        self.agreed
    }

    /// The client's offer for this configuration, for
    /// [`ClientRequest::extensions`](crate::handshake::client::ClientRequest::extensions).
    #[must_use]
    pub const fn offer(&self) -> ClientOffer {
        ClientOffer::new(&self.config)
    }

    /// Server: the answer given in the 101.
    pub(super) fn set_agreed(&mut self, agreed: Option<Agreed>) {
        self.agreed = agreed;
    }

    /// Client: checks the server's answer against our offer.
    pub(super) fn check_answer<'b>(
        &mut self,
        answer: impl IntoIterator<Item = Extension<'b>>,
    ) -> Result<(), NegotiationError> {
        self.agreed = ClientOffer::new(&self.config).accept(answer)?;
        Ok(())
    }

    /// Why permessage-deflate ended the connection, if it did.
    pub(super) const fn closed(&self) -> Option<Closed> {
        self.closed
    }

    pub(super) fn set_closed(&mut self, closed: Closed) {
        self.closed = Some(closed);
    }

    /// The bytes of an inflated chunk handed out before.
    pub(super) fn output(&self, range: Range<usize>) -> &[u8] {
        self.inflater.output(range)
    }

    /// [`Receiver::receive`](crate::extensions::deflate::Receiver::receive), with the event
    /// kept as a [`Pending`]. On an error the connection has failed with its close code.
    pub(super) fn receive<E: Endpoint>(
        &mut self,
        conn: &mut Connection<E>,
        input: &mut [u8],
    ) -> Result<(usize, Option<Pending>), InflateError> {
        if self.failed {
            return Err(InflateError::Connection(ReceiveError::Closed));
        }
        let result = self.step(conn, input);
        if let Err(e) = result {
            self.failed = true;
            if !matches!(e, InflateError::Connection(_)) {
                self.closed = Some(Closed::Inflate(e));
            }
            if let (false, Some(code)) = (matches!(e, InflateError::Connection(_)), e.close_code())
            {
                let _ = conn.fail(code);
            }
        }
        result
    }

    fn step<E: Endpoint>(
        &mut self,
        conn: &mut Connection<E>,
        input: &mut [u8],
    ) -> Result<(usize, Option<Pending>), InflateError> {
        if self.tail.is_some() {
            return self.finish_message();
        }
        if self.pending > 0 {
            let n = self.pending.min(input.len());
            return self.inflate_chunk(input.get(..n).unwrap_or_default(), 0);
        }
        let received = conn.receive(&mut *input)?;
        let consumed = received.consumed;
        match received.event {
            Some(Event::Data(chunk)) if chunk.rsv & RSV1 != 0 => {
                if self.agreed.is_none() {
                    // RSV1 without the extension (a client that offered, declined).
                    let code = crate::CloseCode::PROTOCOL_ERROR;
                    let _ = conn.fail(code);
                    return Err(InflateError::Connection(ReceiveError::Protocol(
                        crate::ProtocolError::ReservedBits,
                    )));
                }
                let (kind, first, last, len) =
                    (chunk.kind, chunk.first, chunk.last, chunk.payload.len());
                if first {
                    self.start_message(kind);
                }
                self.pending = len;
                self.pending_last = last;
                let start = consumed.saturating_sub(len);
                let compressed = input.get(start..consumed).unwrap_or_default();
                self.inflate_chunk(compressed, start)
            }
            event => Ok((consumed, event.map(Pending::event))),
        }
    }

    fn peer(&self) -> Direction {
        self.agreed.map_or(
            Direction {
                window_bits: 15,
                no_context_takeover: false,
            },
            |a| a.receive(),
        )
    }

    fn start_message(&mut self, kind: DataKind) {
        if self.peer().no_context_takeover || self.inflater.ended() {
            self.inflater.reset();
        }
        self.message = Some(Message {
            kind,
            started: false,
            size: 0,
            fed: false,
            utf8: Utf8Validator::new(),
        });
    }

    fn allowance(&self) -> usize {
        let size = self.message.map_or(0, |m| m.size);
        let left = self.max_message_size.saturating_sub(size).saturating_add(1);
        usize::try_from(left).unwrap_or(usize::MAX)
    }

    fn inflate_chunk(
        &mut self,
        compressed: &[u8],
        offset: usize,
    ) -> Result<(usize, Option<Pending>), InflateError> {
        if compressed.is_empty() {
            if self.pending == 0 && self.pending_last {
                self.tail = Some(0);
            }
            return Ok((offset, None));
        }
        let step = self
            .inflater
            .inflate(compressed, self.allowance())
            .map_err(|_| InflateError::Corrupt)?;
        if let Some(message) = self.message.as_mut() {
            message.fed = true;
        }
        let used = if step.stop == Stop::Ended {
            compressed.len()
        } else {
            step.consumed
        };
        if used == 0 && step.output.is_empty() && step.stop != Stop::Ended {
            return Err(InflateError::Corrupt);
        }
        self.pending = self.pending.saturating_sub(used);
        if self.pending == 0 && self.pending_last {
            self.tail = Some(0);
        }
        let event = self.chunk(step.output, false)?;
        Ok((offset + used, event))
    }

    fn finish_message(&mut self) -> Result<(usize, Option<Pending>), InflateError> {
        if self.message.is_some_and(|m| !m.fed) {
            self.tail = None;
            return Ok((0, self.chunk(0..0, true)?));
        }
        let fed = usize::from(self.tail.unwrap_or(4));
        let rest = TAIL.get(fed..).unwrap_or_default();
        let step = self
            .inflater
            .inflate(rest, self.allowance())
            .map_err(|_| InflateError::Corrupt)?;
        let fed = fed + step.consumed;
        let done = step.stop == Stop::Ended || (fed >= TAIL.len() && step.stop == Stop::NeedsInput);
        self.tail = if done {
            None
        } else {
            Some(u8::try_from(fed).unwrap_or(4))
        };
        Ok((0, self.chunk(step.output, done)?))
    }

    fn chunk(&mut self, output: Range<usize>, last: bool) -> Result<Option<Pending>, InflateError> {
        let Some(message) = self.message.as_mut() else {
            return Err(InflateError::Corrupt);
        };
        let payload = self.inflater.output(output.clone());
        message.size = message.size.saturating_add(payload.len() as u64);
        if message.size > self.max_message_size {
            return Err(InflateError::TooBig);
        }
        if message.kind == DataKind::Text {
            let valid = message.utf8.feed(payload).and_then(|()| {
                if last {
                    message.utf8.finish()
                } else {
                    Ok(())
                }
            });
            if valid.is_err() {
                return Err(InflateError::InvalidUtf8);
            }
        }
        if payload.is_empty() && !last {
            return Ok(None);
        }
        let first = !message.started;
        message.started = true;
        let kind = message.kind;
        if last {
            self.message = None;
        }
        Ok(Some(Pending::Inflated {
            chunk: DataChunk {
                kind,
                rsv: 0,
                payload: &[],
                first,
                last,
            },
            start: output.start,
            end: output.end,
        }))
    }
}
