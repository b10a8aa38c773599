//! Sending: messages, fragments and frames in pieces into caller buffers (RFC 6455 §5.1–§5.5).

use super::{Connection, DataKind, Endpoint};
use crate::error::SendError;
use crate::wire::close::{CloseCode, CloseFrame};
use crate::wire::frame::{FrameHeader, Opcode, MAX_CONTROL_PAYLOAD};
use crate::wire::mask::apply_mask;

/// The send half's state between calls.
#[derive(Debug, Clone, Copy)]
pub(super) struct TxState {
    /// A fragmented message we started and have not finished, and its kind.
    message: Option<DataKind>,
    /// Payload bytes still owed for the frame whose header is out; 0 when no frame is open.
    remaining: u64,
    /// That frame's masking key.
    mask: Option<[u8; 4]>,
    /// Position in the masking key, `payload bytes written % 4`.
    mask_offset: u8,
}

impl TxState {
    pub(super) const fn new() -> Self {
        Self {
            message: None,
            remaining: 0,
            mask: None,
            mask_offset: 0,
        }
    }

    /// A frame's payload is being written in pieces.
    pub(super) const fn frame_open(&self) -> bool {
        self.remaining > 0
    }
}

/// The bytes a frame with this payload takes on the wire for endpoint `E`.
fn frame_len<E: Endpoint>(payload_len: usize) -> usize {
    let header = sized_header::<E>(Opcode::Binary, true, payload_len as u64);
    header.encoded_len().saturating_add(payload_len)
}

/// A header for endpoint `E` whose length is the one on the wire: a client's carries a
/// placeholder key, replaced by a fresh one once the output is known to be large enough.
fn sized_header<E: Endpoint>(opcode: Opcode, fin: bool, payload_len: u64) -> FrameHeader {
    let mask = (E::ROLE == super::Role::Client).then_some([0; 4]);
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len,
    }
}

/// Writes one whole frame (header, then the payload masked for a client) into `out`: all of
/// it, or nothing and the size it needs.
pub(super) fn encode_frame<E: Endpoint>(
    endpoint: &mut E,
    opcode: Opcode,
    fin: bool,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, SendError> {
    let needed = frame_len::<E>(payload.len());
    let Some(out) = out.get_mut(..needed) else {
        return Err(SendError::BufferTooSmall { needed });
    };
    let mask = endpoint.mask_key();
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let header_len = header.emit(out)?;
    let (_, body) = out.split_at_mut(header_len);
    body.copy_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(key, 0, body);
    }
    Ok(needed)
}

const fn data_opcode(kind: DataKind) -> Opcode {
    match kind {
        DataKind::Text => Opcode::Text,
        DataKind::Binary => Opcode::Binary,
    }
}

impl<E: Endpoint> Connection<E> {
    /// Sends a whole text message as one frame. Returns the bytes written to `out`.
    pub fn send_text(&mut self, text: &str, out: &mut [u8]) -> Result<usize, SendError> {
        self.send_message(DataKind::Text, text.as_bytes(), out)
    }

    /// Sends a whole binary message as one frame. Returns the bytes written to `out`.
    pub fn send_binary(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_message(DataKind::Binary, data, out)
    }

    /// Sends a whole message of `kind` as one frame. For text, `payload` must be UTF-8; prefer
    /// [`send_text`](Self::send_text), which takes a `&str`.
    pub fn send_message(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        self.check_data_allowed()?;
        if self.tx.message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        encode_frame(&mut self.endpoint, data_opcode(kind), true, payload, out)
    }

    /// Sends one fragment of a message (§5.4): the first call starts a message of `kind`, later
    /// calls continue it (with the same `kind`), and the call with `fin` ends it. Pings, pongs
    /// and the close may go between fragments.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let opcode = self.next_data_opcode(kind)?;
        let n = encode_frame(&mut self.endpoint, opcode, fin, payload, out)?;
        self.tx.message = if fin { None } else { Some(kind) };
        Ok(n)
    }

    /// Starts a frame of `payload_len` bytes whose payload is written afterwards in pieces,
    /// with [`send_payload`](Self::send_payload) or, to avoid a copy,
    /// [`mask_payload_in_place`](Self::mask_payload_in_place). Returns the header's length.
    ///
    /// Fragment rules are those of [`send_fragment`](Self::send_fragment). Until the payload is
    /// complete no other frame can be sent and `poll_transmit` writes nothing. A server can
    /// write the header and the application's payload with one vectored write, no copy.
    pub fn send_frame_header(
        &mut self,
        kind: DataKind,
        payload_len: u64,
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let opcode = self.next_data_opcode(kind)?;
        if payload_len >> 63 != 0 {
            return Err(SendError::PayloadLengthMismatch);
        }
        let header = sized_header::<E>(opcode, fin, payload_len);
        let needed = header.encoded_len();
        if out.len() < needed {
            return Err(SendError::BufferTooSmall { needed });
        }
        let mask = self.endpoint.mask_key();
        let n = FrameHeader { mask, ..header }.emit(out)?;
        self.tx = TxState {
            message: if fin { None } else { Some(kind) },
            remaining: payload_len,
            mask,
            mask_offset: 0,
        };
        Ok(n)
    }

    /// Copies the next piece of the current frame's payload into `out`, masked for a client.
    /// Returns `payload.len()`. `out` must hold all of `payload`.
    ///
    /// A frame already started can be finished even after the connection failed: the close
    /// frame the failure queued goes out through `poll_transmit` once the frame is complete.
    pub fn send_payload(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.payload_allowed(payload.len())?;
        let Some(out) = out.get_mut(..payload.len()) else {
            return Err(SendError::BufferTooSmall {
                needed: payload.len(),
            });
        };
        out.copy_from_slice(payload);
        self.advance_payload(out);
        Ok(payload.len())
    }

    /// Masks the next piece of the current frame's payload in place (a no-op for a server)
    /// and counts it as sent; write `payload` out afterwards.
    pub fn mask_payload_in_place(&mut self, payload: &mut [u8]) -> Result<(), SendError> {
        self.payload_allowed(payload.len())?;
        self.advance_payload(payload);
        Ok(())
    }

    /// Sends a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_control(Opcode::Ping, payload, out)
    }

    /// Sends a pong with up to 125 bytes of payload: an unsolicited heartbeat (§5.5.3), or the
    /// answer to a ping when [`Config::auto_pong`](crate::Config::auto_pong) is off.
    pub fn send_pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_control(Opcode::Pong, payload, out)
    }

    /// Starts the close handshake, or answers the peer's close with a code of our own (§7.4):
    /// `code` must be allowed on the wire and `reason` at most 123 bytes. After this no more
    /// frames may be sent; keep receiving until the peer's close arrives
    /// ([`is_closed`](Self::is_closed)).
    pub fn send_close(
        &mut self,
        code: CloseCode,
        reason: &str,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        self.check_control_allowed()?;
        self.write_close(&CloseFrame { code, reason }, out)
    }

    fn send_control(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        self.check_control_allowed()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        encode_frame(&mut self.endpoint, opcode, true, payload, out)
    }

    fn check_control_allowed(&self) -> Result<(), SendError> {
        if self.close.sent || self.close.failed {
            return Err(SendError::Closed);
        }
        if self.tx.frame_open() {
            return Err(SendError::FrameInProgress);
        }
        Ok(())
    }

    fn check_data_allowed(&self) -> Result<(), SendError> {
        self.check_control_allowed()?;
        if self.close.received || self.close.queued.is_some() {
            return Err(SendError::CloseReceived);
        }
        Ok(())
    }

    /// The opcode of the next data frame of a message of `kind`.
    fn next_data_opcode(&self, kind: DataKind) -> Result<Opcode, SendError> {
        self.check_data_allowed()?;
        match self.tx.message {
            None => Ok(data_opcode(kind)),
            Some(open) if open == kind => Ok(Opcode::Continuation),
            Some(_) => Err(SendError::MessageInProgress),
        }
    }

    /// A frame whose header is out must be finished even after a failure: the close frame the
    /// failure owes can only follow a complete frame.
    fn payload_allowed(&self, len: usize) -> Result<(), SendError> {
        if len as u64 > self.tx.remaining {
            return Err(SendError::PayloadLengthMismatch);
        }
        Ok(())
    }

    /// Masks `bytes`, the next piece of the open frame's payload, and counts them as sent.
    fn advance_payload(&mut self, bytes: &mut [u8]) {
        let tx = &mut self.tx;
        if let Some(key) = tx.mask {
            apply_mask(key, usize::from(tx.mask_offset), bytes);
        }
        tx.mask_offset = ((usize::from(tx.mask_offset) + bytes.len()) % 4) as u8;
        tx.remaining -= bytes.len() as u64;
    }
}
