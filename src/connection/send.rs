//! Sending: messages, fragments and frames in pieces into caller buffers (RFC 6455 §5.1–§5.5).
//!
//! Every call that starts a frame goes through one path, `Connection::begin_frame`: it writes
//! what the connection owes (a pong, a keepalive ping, the close reply, the close after a
//! failure) before the frame, into the same buffer, all or nothing. So an application that
//! only sends and receives never starves an obligation.

use super::{Connection, DataKind, Endpoint};
use crate::error::SendError;
use crate::wire::close::{CloseCode, CloseFrame};
use crate::wire::frame::{FrameHeader, Opcode, MAX_CONTROL_PAYLOAD};
use crate::wire::mask::{apply_mask, copy_masked};

/// The send half's state between calls.
#[derive(Debug, Clone, Copy)]
pub(super) struct TxState {
    /// A fragmented message we started and have not finished: its kind and RSV bits.
    message: Option<(DataKind, u8)>,
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
pub(super) fn frame_len<E: Endpoint>(payload_len: usize) -> usize {
    let header = sized_header::<E>(Opcode::Binary, 0, true, payload_len as u64);
    header.encoded_len().saturating_add(payload_len)
}

/// The bytes a control frame (at most 125 bytes of payload) takes on the wire for endpoint `E`.
pub(super) const fn control_frame_len<E: Endpoint>(payload_len: usize) -> usize {
    let mask = if matches!(E::ROLE, super::Role::Client) {
        4
    } else {
        0
    };
    2 + mask + payload_len
}

/// A header for endpoint `E` whose length is the one on the wire: a client's carries a
/// placeholder key, replaced by a fresh one once the output is known to be large enough.
fn sized_header<E: Endpoint>(opcode: Opcode, rsv: u8, fin: bool, payload_len: u64) -> FrameHeader {
    let mask = (E::ROLE == super::Role::Client).then_some([0; 4]);
    FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len,
    }
}

/// Writes one whole frame (header, then the payload masked for a client) into `out`: all of
/// it, or nothing and the size it needs.
// Inlined on hosted targets, left to the compiler on bare metal: see "Speed and flash" in
// the module docs.
#[cfg_attr(not(target_os = "none"), inline(always))]
#[cfg_attr(target_os = "none", inline)]
pub(super) fn encode_frame<E: Endpoint>(
    endpoint: &mut E,
    opcode: Opcode,
    rsv: u8,
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
        rsv,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let header_len = header.emit(out)?;
    let (_, body) = out.split_at_mut(header_len);
    match mask {
        Some(key) => copy_masked(key, 0, payload, body),
        None => body.copy_from_slice(payload),
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
    /// Sends a whole text message as one frame. Returns the bytes written to `out`: what the
    /// connection owed first (see [`poll_transmit`](Self::poll_transmit)), then the frame.
    pub fn send_text(&mut self, text: &str, out: &mut [u8]) -> Result<usize, SendError> {
        self.send_message(DataKind::Text, 0, text.as_bytes(), out)
    }

    /// Sends a whole binary message as one frame. Returns the bytes written to `out`, owed
    /// frames included.
    pub fn send_binary(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_message(DataKind::Binary, 0, data, out)
    }

    /// Sends a whole message of `kind` as one frame, with the RSV bits `rsv` of a negotiated
    /// extension (0 for none; each bit must be in
    /// [`Config::allowed_rsv`](crate::Config::allowed_rsv)). For text without RSV bits,
    /// `payload` must be UTF-8; prefer [`send_text`](Self::send_text), which takes a `&str`.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn send_message(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let allowed = match self.tx.message {
            Some(_) => Err(SendError::MessageInProgress),
            None => self.check_rsv(rsv),
        };
        let (n, rest) = self.begin_frame(allowed, frame_len::<E>(payload.len()), out, false)?;
        let frame = encode_frame(
            &mut self.endpoint,
            data_opcode(kind),
            rsv,
            true,
            payload,
            rest,
        )?;
        Ok(n + frame)
    }

    /// Sends one fragment of a message (§5.4): the first call starts a message of `kind` with
    /// the RSV bits `rsv` (written on its first frame only), later calls continue it with the
    /// same `kind` and `rsv`, and the call with `fin` ends it. Pings, pongs and the close may go
    /// between fragments.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let next = self.next_data_frame(kind, rsv);
        let allowed = next.map(|_| ());
        let (opcode, frame_rsv) = next.unwrap_or((Opcode::Continuation, 0));
        let (n, rest) = self.begin_frame(allowed, frame_len::<E>(payload.len()), out, false)?;
        let frame = encode_frame(&mut self.endpoint, opcode, frame_rsv, fin, payload, rest)?;
        self.tx.message = if fin { None } else { Some((kind, rsv)) };
        Ok(n + frame)
    }

    /// Starts a frame of `payload_len` bytes whose payload is written afterwards in pieces,
    /// with [`send_payload`](Self::send_payload) or, to avoid a copy,
    /// [`mask_payload_in_place`](Self::mask_payload_in_place). Returns the bytes written: what
    /// the connection owed, then the header.
    ///
    /// Fragment and RSV rules are those of [`send_fragment`](Self::send_fragment). Until the
    /// payload is complete no other frame can be sent and `poll_transmit` writes nothing. A
    /// server can write the header and the application's payload with one vectored write, no
    /// copy.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn send_frame_header(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload_len: u64,
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let next = self.next_data_frame(kind, rsv);
        let allowed = match next {
            Ok(_) if payload_len >> 63 != 0 => Err(SendError::PayloadLengthMismatch),
            next => next.map(|_| ()),
        };
        let (opcode, frame_rsv) = next.unwrap_or((Opcode::Continuation, 0));
        let header = sized_header::<E>(opcode, frame_rsv, fin, payload_len);
        let (n, rest) = self.begin_frame(allowed, header.encoded_len(), out, false)?;
        let mask = self.endpoint.mask_key();
        let len = FrameHeader { mask, ..header }.emit(rest)?;
        self.tx = TxState {
            message: if fin { None } else { Some((kind, rsv)) },
            remaining: payload_len,
            mask,
            mask_offset: 0,
        };
        Ok(n + len)
    }

    /// Copies the next piece of the current frame's payload into `out`, masked for a client.
    /// Returns `payload.len()`. `out` must hold all of `payload`.
    ///
    /// A frame already started can be finished even after the connection failed: the close
    /// frame the failure owes goes out once the frame is complete.
    pub fn send_payload(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.payload_allowed(payload.len())?;
        let Some(out) = out.get_mut(..payload.len()) else {
            return Err(SendError::BufferTooSmall {
                needed: payload.len(),
            });
        };
        let tx = &mut self.tx;
        match tx.mask {
            Some(key) => copy_masked(key, usize::from(tx.mask_offset), payload, out),
            None => out.copy_from_slice(payload),
        }
        self.payload_sent(payload.len());
        Ok(payload.len())
    }

    /// Masks the next piece of the current frame's payload in place (a no-op for a server)
    /// and counts it as sent; write `payload` out afterwards.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn mask_payload_in_place(&mut self, payload: &mut [u8]) -> Result<(), SendError> {
        self.payload_allowed(payload.len())?;
        if let Some(key) = self.tx.mask {
            apply_mask(key, usize::from(self.tx.mask_offset), payload);
        }
        self.payload_sent(payload.len());
        Ok(())
    }

    /// Sends a ping with up to 125 bytes of payload, after what the connection owes.
    pub fn send_ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_control(Opcode::Ping, payload, out)
    }

    /// Sends a pong with up to 125 bytes of payload: an unsolicited heartbeat (§5.5.3), or the
    /// answer to a ping when [`Config::auto_pong`](crate::Config::auto_pong) is off.
    pub fn send_pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.send_control(Opcode::Pong, payload, out)
    }

    /// Starts the close handshake, or answers the peer's close with a code of our own (§7.4)
    /// in place of the echo the connection owes: `code` must be allowed on the wire and
    /// `reason` at most 123 bytes. After this no more frames may be sent; keep receiving until
    /// the peer's close arrives ([`State::Closed`](crate::State::Closed)).
    pub fn send_close(
        &mut self,
        code: CloseCode,
        reason: &str,
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let frame = CloseFrame { code, reason };
        let len = frame_len::<E>(frame.encoded_len());
        let (n, rest) = self.begin_frame(frame.validate(), len, out, true)?;
        Ok(n + self.write_close(&frame, rest)?)
    }

    fn send_control(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let allowed = if payload.len() > MAX_CONTROL_PAYLOAD {
            Err(SendError::ControlPayloadTooLong)
        } else {
            Ok(())
        };
        let (n, rest) = self.begin_frame(allowed, frame_len::<E>(payload.len()), out, false)?;
        Ok(n + encode_frame(&mut self.endpoint, opcode, 0, true, payload, rest)?)
    }

    /// The one path by which a frame starts. Refuses it while a frame's payload is open; once
    /// the connection is closing, refuses it but writes the close it owes
    /// ([`SendError::Closing`]), except that our own `close` may answer the peer's in place of
    /// the echo; otherwise applies `allowed` (the frame's own checks), checks that the owed
    /// frames and the `frame_len` bytes of the frame fit, and writes the owed frames. Returns
    /// their length: the frame goes after them.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    #[cfg_attr(target_os = "none", inline)]
    fn begin_frame<'o>(
        &mut self,
        allowed: Result<(), SendError>,
        frame_len: usize,
        out: &'o mut [u8],
        close: bool,
    ) -> Result<(usize, &'o mut [u8]), SendError> {
        // The usual case: open, and nothing to write ahead of the frame. The general path
        // below gives the same answer; on bare metal it alone is kept, which is smaller. Here
        // the frame's own writer checks that it fits (`encode_frame`, `FrameHeader::emit`),
        // before it writes anything, with the same `needed`: one length check, not two. (A
        // header that does not fit has drawn its masking key by then; nothing else differs.)
        if cfg!(not(target_os = "none")) && !self.tx.frame_open() && self.phase.open_owing_nothing()
        {
            allowed?;
            return Ok((0, out));
        }
        let n = self.begin_owed_frame(allowed, frame_len, out, close)?;
        Ok((n, out.get_mut(n..).unwrap_or_default()))
    }

    /// [`begin_frame`](Self::begin_frame) when a frame is open, the connection is closing or
    /// something is owed.
    #[cfg_attr(target_os = "none", inline)]
    #[cfg_attr(not(target_os = "none"), inline(never))]
    fn begin_owed_frame(
        &mut self,
        allowed: Result<(), SendError>,
        frame_len: usize,
        out: &mut [u8],
        close: bool,
    ) -> Result<usize, SendError> {
        if self.tx.frame_open() {
            return Err(SendError::FrameInProgress);
        }
        // Our close replacing the echo owes everything else first; any other frame owes all.
        let replaces_reply = close && self.phase.reply_owed();
        let owed = self.owed_len(!replaces_reply);
        if !self.is_open() && !replaces_reply {
            if owed == 0 {
                return Err(SendError::Closed);
            }
            if out.len() < owed {
                return Err(SendError::BufferTooSmall { needed: owed });
            }
            let written = self.write_owed(out, true);
            return Err(SendError::Closing { written });
        }
        allowed?;
        let needed = owed.saturating_add(frame_len);
        if out.len() < needed {
            return Err(SendError::BufferTooSmall { needed });
        }
        if owed == 0 {
            return Ok(0);
        }
        Ok(self.write_owed(out, !replaces_reply))
    }

    /// RSV bits a sent message may carry: those of a negotiated extension.
    fn check_rsv(&self, rsv: u8) -> Result<(), SendError> {
        if rsv & !(self.config.allowed_rsv & 0b111) != 0 {
            return Err(SendError::ReservedBits);
        }
        Ok(())
    }

    /// The opcode and RSV bits of the next data frame of a message of `kind` with `rsv`.
    fn next_data_frame(&self, kind: DataKind, rsv: u8) -> Result<(Opcode, u8), SendError> {
        match self.tx.message {
            None => self.check_rsv(rsv).map(|()| (data_opcode(kind), rsv)),
            Some(open) if open == (kind, rsv) => Ok((Opcode::Continuation, 0)),
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

    /// Counts `len` more bytes of the open frame's payload as sent (masked already).
    fn payload_sent(&mut self, len: usize) {
        let tx = &mut self.tx;
        tx.mask_offset = ((usize::from(tx.mask_offset) + len) % 4) as u8;
        tx.remaining -= len as u64;
    }
}
