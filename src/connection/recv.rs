//! Receiving: frames in, events out, unmasked in place (RFC 6455 §5.2–§5.6, §6.2, §8.1).

use super::{Connection, DataChunk, DataKind, Endpoint, Event, Received, Role};
use crate::error::{ProtocolError, ReceiveError};
#[cfg(target_pointer_width = "64")]
use crate::utf8::last_character;
use crate::utf8::Utf8Validator;
use crate::wire::close::CloseFrame;
use crate::wire::frame::{FrameHeader, Opcode, Status};
use crate::wire::mask::apply_mask;
#[cfg(target_pointer_width = "64")]
use crate::wire::mask::apply_mask_is_utf8;

/// The receive half's state between calls.
#[derive(Debug, Clone, Copy)]
pub(super) struct RxState {
    /// The data frame whose payload is arriving.
    frame: Option<RxFrame>,
    /// The data message in progress, from its first frame to its last.
    message: Option<RxMessage>,
    /// UTF-8 state of a text message, across chunks and fragments.
    utf8: Utf8Validator,
}

#[derive(Debug, Clone, Copy)]
struct RxFrame {
    remaining: u64,
    mask: Option<[u8; 4]>,
    /// Position in the masking key, `payload bytes seen % 4`.
    mask_offset: u8,
    fin: bool,
}

#[derive(Debug, Clone, Copy)]
struct RxMessage {
    kind: DataKind,
    /// The RSV bits of the message's first frame.
    rsv: u8,
    /// Payload bytes announced by the message's frame headers so far.
    announced: u64,
    /// A chunk of this message has been handed out.
    started: bool,
}

impl RxState {
    pub(super) const fn new() -> Self {
        Self {
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
        }
    }
}

/// What a frame's header says to do next.
enum Header {
    /// Not all of it is there yet.
    Partial,
    /// A control frame, to be taken whole once its payload is there.
    Control {
        opcode: Opcode,
        mask: Option<[u8; 4]>,
        header_len: usize,
        payload_len: usize,
    },
    /// A data frame has started; its payload follows the header.
    Data { header_len: usize },
    /// A whole message in one frame, all of it in the input, and no message in progress: the
    /// usual case, taken without the frame and message state a payload in pieces needs. On
    /// hosted targets only: on bare metal such a frame takes the general path, for flash.
    #[cfg(not(target_os = "none"))]
    Whole {
        kind: DataKind,
        rsv: u8,
        mask: Option<[u8; 4]>,
        header_len: usize,
        payload_len: usize,
    },
}

/// The kind of data message a first frame's opcode starts.
#[inline(always)]
fn data_kind(opcode: Opcode) -> DataKind {
    if opcode == Opcode::Text {
        DataKind::Text
    } else {
        DataKind::Binary
    }
}

const NOTHING: Received<'static> = Received {
    consumed: 0,
    event: None,
};

impl<E: Endpoint> Connection<E> {
    /// Processes received bytes. `input` holds what has arrived and not yet been consumed;
    /// it is unmasked in place. Returns how many bytes from its front were consumed and at
    /// most one event, which borrows `input`.
    ///
    /// Call again, with the unconsumed rest and any new bytes, until a call consumes nothing
    /// and returns no event. Partial input is never an error: a header or control frame that is
    /// not all there yet is left unconsumed; a data payload is handed out in pieces as it
    /// arrives.
    ///
    /// An error fails the connection: the close frame it owes (1002, 1007 or 1009, from
    /// [`ProtocolError::close_code`]) is owed (written by the next `send_*` or
    /// [`poll_transmit`](Self::poll_transmit)), and later calls with bytes return
    /// [`ReceiveError::Closed`]. Bytes after the peer's close frame are
    /// [`ProtocolError::FrameAfterClose`], and the reply to that close stays owed as it was.
    /// An empty `input` is never an error.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn receive<'a>(&mut self, input: &'a mut [u8]) -> Result<Received<'a>, ReceiveError> {
        if !self.phase.accepts_input() {
            // Nothing may follow the peer's close frame (§5.5.1); the reply stays owed as it
            // was. A failed or closed connection takes no input. No input is never an error.
            if input.is_empty() {
                return Ok(NOTHING);
            }
            return Err(if self.phase.reply_owed() {
                ReceiveError::Protocol(ProtocolError::FrameAfterClose)
            } else {
                ReceiveError::Closed
            });
        }
        // A frame's header, when one is due, then its payload: the data path has one call of
        // `receive_payload`, which is inlined here.
        let mut header_len = 0;
        if self.rx.frame.is_none() {
            match self.receive_header(input)? {
                Header::Partial => return Ok(NOTHING),
                Header::Control {
                    opcode,
                    mask,
                    header_len,
                    payload_len,
                } => {
                    let Some(payload) = input.get_mut(header_len..header_len + payload_len) else {
                        return Ok(NOTHING);
                    };
                    // Only a server unmasks: a client has refused every masked frame in
                    // `check_header`, so for a client this is false at compile time and its
                    // receive path links no unmasking (100 bytes of the client's flash).
                    if let (Role::Server, Some(key)) = (E::ROLE, mask) {
                        apply_mask(key, 0, payload);
                    }
                    let event = self.on_control(opcode, payload)?;
                    self.phase.input_seen();
                    return Ok(Received {
                        consumed: header_len + payload_len,
                        event: Some(event),
                    });
                }
                Header::Data { header_len: len } => header_len = len,
                #[cfg(not(target_os = "none"))]
                Header::Whole {
                    kind,
                    rsv,
                    mask,
                    header_len,
                    payload_len,
                } => {
                    let Some(payload) = input.get_mut(header_len..header_len + payload_len) else {
                        // receive_header checked that the payload is there.
                        return Ok(NOTHING);
                    };
                    let checked = match (E::ROLE, mask) {
                        (Role::Server, Some(key)) => unmask(key, 0, payload, kind, rsv),
                        _ => false,
                    };
                    self.rx.utf8.reset();
                    self.check_text(kind, rsv, payload, true, checked)?;
                    self.phase.input_seen();
                    let chunk = DataChunk {
                        kind,
                        rsv,
                        payload,
                        first: true,
                        last: true,
                    };
                    return Ok(Received {
                        consumed: header_len + payload_len,
                        event: Some(Event::Data(chunk)),
                    });
                }
            }
        }
        let rest = input.get_mut(header_len..).unwrap_or_default();
        let mut received = self.receive_payload(rest)?;
        received.consumed += header_len;
        if received.consumed > 0 {
            self.phase.input_seen();
        }
        Ok(received)
    }

    /// Parses and checks the next frame's header. A data frame's header starts the frame
    /// (`rx.frame`) whose payload follows; a control frame is handed back to be taken whole.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn receive_header(&mut self, input: &[u8]) -> Result<Header, ReceiveError> {
        let (header, header_len) = match FrameHeader::parse(input) {
            Ok(Status::Complete(parsed)) => parsed,
            Ok(Status::Partial) => return Ok(Header::Partial),
            Err(e) => return Err(self.protocol_error(e)),
        };
        if let Err(e) = self.check_header(&header) {
            return Err(self.protocol_error(e));
        }
        if header.opcode.is_control() {
            return Ok(Header::Control {
                opcode: header.opcode,
                mask: header.mask,
                header_len,
                // Parsing bounded a control payload to 125 bytes.
                payload_len: header.payload_len as usize,
            });
        }
        #[cfg(not(target_os = "none"))]
        if header.fin
            && header.opcode != Opcode::Continuation
            && self.rx.message.is_none()
            && header.payload_len <= input.len().saturating_sub(header_len) as u64
        {
            if let Err(e) = self.check_sizes(header.payload_len, header.payload_len) {
                return Err(self.protocol_error(e));
            }
            return Ok(Header::Whole {
                kind: data_kind(header.opcode),
                rsv: header.rsv,
                mask: header.mask,
                header_len,
                payload_len: header.payload_len as usize,
            });
        }
        if let Err(e) = self.start_data_frame(&header) {
            return Err(self.protocol_error(e));
        }
        self.rx.frame = Some(RxFrame {
            remaining: header.payload_len,
            mask: header.mask,
            mask_offset: 0,
            fin: header.fin,
        });
        Ok(Header::Data { header_len })
    }

    /// The rules a header breaks in this connection's state: RSV bits, masking direction.
    ///
    /// RSV bits a negotiated extension defines ([`Config::allowed_rsv`](crate::Config)) are
    /// accepted on the first frame of a data message only; on a control or continuation frame
    /// any RSV bit is a protocol error (RFC 6455 §5.2, RFC 7692 §6).
    fn check_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        // Most frames carry no RSV bit: one test for them.
        if header.rsv != 0 {
            let allowed = match header.opcode {
                Opcode::Text | Opcode::Binary => self.config.allowed_rsv,
                _ => 0,
            };
            if header.rsv & !allowed != 0 {
                return Err(ProtocolError::ReservedBits);
            }
        }
        match (E::ROLE, header.mask) {
            (Role::Server, None) => Err(ProtocolError::UnmaskedFrame),
            (Role::Client, Some(_)) => Err(ProtocolError::MaskedFrame),
            _ => Ok(()),
        }
    }

    /// Fragmentation (§5.4) and size limits for a data frame's header. The message it starts
    /// or continues is updated in place (after an error the connection has failed anyway).
    fn start_data_frame(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let message = match (header.opcode, &mut self.rx.message) {
            (Opcode::Continuation, Some(message)) => message,
            (Opcode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, none) => {
                self.rx.utf8.reset();
                none.insert(RxMessage {
                    kind: data_kind(opcode),
                    rsv: header.rsv,
                    announced: 0,
                    started: false,
                })
            }
        };
        message.announced = message.announced.saturating_add(header.payload_len);
        let announced = message.announced;
        self.check_sizes(header.payload_len, announced)
    }

    /// The size limits: a frame's payload length, and the length its message's headers have
    /// announced so far, this frame's included.
    #[inline]
    fn check_sizes(&self, frame_len: u64, announced: u64) -> Result<(), ProtocolError> {
        if frame_len > self.config.max_frame_size {
            Err(ProtocolError::FrameTooBig)
        } else if announced > self.config.max_message_size {
            Err(ProtocolError::MessageTooBig)
        } else {
            Ok(())
        }
    }

    /// Hands out as much of the current data frame's payload as `input` holds.
    #[inline]
    fn receive_payload<'a>(&mut self, input: &'a mut [u8]) -> Result<Received<'a>, ReceiveError> {
        let (Some(frame), Some(message)) = (&mut self.rx.frame, &mut self.rx.message) else {
            // receive_frame sets both before it comes here.
            return Err(self.protocol_error(ProtocolError::UnexpectedContinuation));
        };
        let n = usize::try_from(frame.remaining).map_or(input.len(), |r| r.min(input.len()));
        if n == 0 && frame.remaining > 0 {
            return Ok(NOTHING);
        }
        let (payload, _) = input.split_at_mut(n);
        // Only a server unmasks, as for a control frame in `receive`.
        let checked = match (E::ROLE, frame.mask) {
            (Role::Server, Some(key)) => unmask(
                key,
                usize::from(frame.mask_offset),
                payload,
                message.kind,
                message.rsv,
            ),
            _ => false,
        };
        frame.mask_offset = ((usize::from(frame.mask_offset) + n) % 4) as u8;
        frame.remaining -= n as u64;
        let last = frame.fin && frame.remaining == 0;
        let kind = message.kind;
        let rsv = message.rsv;
        let first = !message.started;
        message.started = true;
        if frame.remaining == 0 {
            self.rx.frame = None;
        }
        if last {
            self.rx.message = None;
        }
        self.check_text(kind, rsv, payload, last, checked)?;
        let chunk = DataChunk {
            kind,
            rsv,
            payload,
            first,
            last,
        };
        Ok(Received {
            consumed: n,
            event: Some(Event::Data(chunk)),
        })
    }

    /// Checks a chunk of a text message's payload, unmasked, as UTF-8 across the message's
    /// chunks, up to its end on the last. `checked`: unmasking found the chunk UTF-8 up to its
    /// last character, reading it as if it started on a character boundary ([`unmask`]); when
    /// it does, the validator reads only that last character.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn check_text(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        last: bool,
        checked: bool,
    ) -> Result<(), ReceiveError> {
        // An extension's RSV bit means the payload is transformed: the layer that decodes it
        // checks the decoded text.
        if kind != DataKind::Text || rsv != 0 {
            return Ok(());
        }
        let utf8 = &mut self.rx.utf8;
        let unread = if checked && utf8.is_complete() {
            let last = last_character_of(payload);
            if last.is_empty() {
                return Ok(());
            }
            last
        } else {
            payload
        };
        let valid = utf8
            .feed(unread)
            .and_then(|()| if last { utf8.finish() } else { Ok(()) });
        if valid.is_err() {
            return Err(self.protocol_error(ProtocolError::InvalidUtf8));
        }
        Ok(())
    }

    /// Ping, pong and close (§5.5), their payload whole and unmasked.
    fn on_control<'a>(
        &mut self,
        opcode: Opcode,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ReceiveError> {
        match opcode {
            Opcode::Ping => {
                if self.config.auto_pong {
                    self.phase.ping_received(payload);
                }
                Ok(Event::Ping(payload))
            }
            Opcode::Pong => Ok(Event::Pong(payload)),
            _ => {
                let frame = CloseFrame::parse(payload).map_err(|e| self.protocol_error(e))?;
                self.phase.peer_closed(frame.code);
                Ok(Event::Close(frame))
            }
        }
    }

    /// Fails the connection for a protocol error and returns the error to report.
    // Out of line on hosted targets, away from the hot path; on bare metal the compiler may
    // inline it where it is called, which took 32 bytes off the client and server paths.
    #[cold]
    #[cfg_attr(not(target_os = "none"), inline(never))]
    pub(crate) fn protocol_error(&mut self, e: ProtocolError) -> ReceiveError {
        self.phase.fail(e.close_code());
        ReceiveError::Protocol(e)
    }
}

/// Unmasks a chunk of a data frame's payload that starts `offset` bytes into the payload.
/// For text that [`Connection::check_text`] reads next (no RSV bits), the same pass also says
/// whether the chunk is UTF-8 up to its last character, read from a character boundary
/// ([`apply_mask_is_utf8`]), so that the UTF-8 check can skip all but that character;
/// otherwise it says `false`.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn unmask(key: [u8; 4], offset: usize, payload: &mut [u8], kind: DataKind, rsv: u8) -> bool {
    if kind == DataKind::Text && rsv == 0 {
        apply_mask_is_utf8(key, offset, payload)
    } else {
        apply_mask(key, offset, payload);
        false
    }
}

/// Unmasks a chunk of a data frame's payload that starts `offset` bytes into the payload;
/// `false`: on targets narrower than 64 bits the UTF-8 check reads every chunk, and the
/// unmasking loop stays as small as it is.
#[cfg(not(target_pointer_width = "64"))]
#[inline(always)]
fn unmask(key: [u8; 4], offset: usize, payload: &mut [u8], _: DataKind, _: u8) -> bool {
    apply_mask(key, offset, payload);
    false
}

/// The last character of a text chunk when it may be unfinished (else nothing): what
/// unmasking left for the UTF-8 validator when it found the rest valid.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn last_character_of(payload: &[u8]) -> &[u8] {
    payload.get(last_character(payload)..).unwrap_or_default()
}

/// Nothing: on targets narrower than 64 bits unmasking finds no chunk valid, so this is not
/// reached, and the check stays as small as it was.
#[cfg(not(target_pointer_width = "64"))]
#[inline(always)]
fn last_character_of(_: &[u8]) -> &[u8] {
    &[]
}
