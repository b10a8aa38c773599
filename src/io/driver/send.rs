//! The driver's sending side: frames queued into `tx` with backpressure, large ones in pieces (RFC 6455 §5.2–§5.5).
//!
//! Every call first queues what the connection owes (pongs, the close reply), so nothing the
//! application sends can starve it. A frame that fits `tx` is queued whole or not at all; a
//! data frame larger than `tx` is queued as its header and as much payload as fits, and the
//! caller passes the rest again on later calls. When `tx` has no room the call returns
//! [`TrySendError::Full`]: write [`Driver::output`] and call again.

use super::{Driver, Phase};
use crate::connection::{DataKind, Endpoint, State};
use crate::error::SendError;
use crate::io::TrySendError;
use crate::wire::close::CloseCode;
use crate::wire::frame::MAX_HEADER_LEN;
use crate::Connection;

impl<'b, E: Endpoint, const H: usize> Driver<'b, E, H> {
    /// Queues a whole message of `kind` as one frame, with the RSV bits `rsv` of a negotiated
    /// extension (0 for none). Returns how many bytes of `payload` were
    /// taken: all of them when the frame fits `tx`. A larger payload goes out in pieces: the
    /// frame's header and the first bytes now, and the caller calls again with
    /// `&payload[taken..]` (after writing [`output`](Self::output)) until all are taken; no
    /// other data frame can be sent meanwhile, though pongs and the close reply wait for the
    /// frame's end.
    ///
    /// ```
    /// use wsmachine::io::{Driver, TrySendError};
    /// use wsmachine::{Config, Connection, DataKind};
    ///
    /// let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    /// let mut driver = Driver::new(Connection::server(Config::DEFAULT), &mut rx, &mut tx, 0);
    /// let message = [7u8; 1000]; // four times `tx`
    /// let (mut rest, mut wire) = (&message[..], Vec::new());
    /// while !rest.is_empty() {
    ///     match driver.send_message(DataKind::Binary, 0, rest) {
    ///         Ok(taken) => rest = &rest[taken..],
    ///         Err(TrySendError::Full { .. }) => {}
    ///         Err(e) => panic!("{e}"),
    ///     }
    ///     wire.extend_from_slice(driver.output()); // "write" it all
    ///     let n = driver.output().len();
    ///     driver.write_done(n);
    /// }
    /// assert_eq!(&wire[..4], &[0x82, 126, 0x03, 0xe8]); // one frame of 1000 bytes
    /// assert_eq!(wire.len(), 4 + 1000);
    /// ```
    pub fn send_message(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
    ) -> Result<usize, TrySendError> {
        self.send_data(kind, rsv, payload, None)
    }

    /// Queues one fragment of a message (§5.4): the first starts a message of `kind` with the
    /// RSV bits `rsv`, `fin` ends it. Taken in pieces like [`send_message`](Self::send_message).
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        fin: bool,
    ) -> Result<usize, TrySendError> {
        self.send_data(kind, rsv, payload, Some(fin))
    }

    /// Queues the header of a frame of `payload_len` bytes (RSV bits `rsv`) whose payload
    /// follows with [`send_payload`](Self::send_payload).
    pub fn send_frame_header(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload_len: u64,
        fin: bool,
    ) -> Result<(), TrySendError> {
        self.before_send()?;
        if self.sending > 0 {
            return Err(TrySendError::Send(SendError::FrameInProgress));
        }
        self.encode(|conn, free| conn.send_frame_header(kind, rsv, payload_len, fin, free))
            .map_err(|e| self.refused(e))?;
        self.sending = payload_len;
        Ok(())
    }

    /// Queues as much of `piece`, the next bytes of the frame begun with
    /// [`send_frame_header`](Self::send_frame_header), as fits; returns how many were taken.
    pub fn send_payload(&mut self, piece: &[u8]) -> Result<usize, TrySendError> {
        self.before_send()?;
        if piece.len() as u64 > self.sending {
            return Err(TrySendError::Send(SendError::PayloadLengthMismatch));
        }
        self.queue_payload(piece)
    }

    /// A data frame is open: its header is queued and some of its payload is still to come
    /// ([`send_payload`](Self::send_payload), or the rest of a message larger than `tx`).
    /// Adapters flush the stream only once it is not.
    #[must_use]
    pub const fn frame_in_progress(&self) -> bool {
        self.sending > 0
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), TrySendError> {
        self.before_send()?;
        self.encode(|conn, free| conn.send_ping(payload, free))
            .map_err(|e| self.refused(e))?;
        Ok(())
    }

    /// Queues an unsolicited pong with up to 125 bytes of payload.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), TrySendError> {
        self.before_send()?;
        self.encode(|conn, free| conn.send_pong(payload, free))
            .map_err(|e| self.refused(e))?;
        Ok(())
    }

    /// Queues our close frame; keep polling until [`Poll::Closed`](super::Poll::Closed) to
    /// finish the handshake.
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), TrySendError> {
        self.before_send()?;
        self.encode(|conn, free| conn.send_close(code, reason, free))
            .map_err(|e| self.refused(e))?;
        Ok(())
    }

    /// Whether sending is possible at all; queues what is owed first.
    fn before_send(&mut self) -> Result<(), TrySendError> {
        if !matches!(self.phase, Phase::Open) {
            return Err(TrySendError::NotOpen);
        }
        // Only fails with nothing queued: `tx` cannot hold what is owed at all.
        self.queue_owed()
            .map_err(|needed| TrySendError::Send(SendError::BufferTooSmall { needed }))
    }

    fn send_data(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        fin: Option<bool>,
    ) -> Result<usize, TrySendError> {
        self.before_send()?;
        if self.sending > 0 {
            // The rest of the frame begun by an earlier call.
            if payload.len() as u64 != self.sending {
                return Err(TrySendError::Send(SendError::PayloadLengthMismatch));
            }
            return self.queue_payload(payload);
        }
        let whole = self.encode(|conn, free| match fin {
            None => conn.send_message(kind, rsv, payload, free),
            Some(fin) => conn.send_fragment(kind, rsv, payload, fin, free),
        });
        match whole {
            Ok(_) => return Ok(payload.len()),
            // Fits `tx` once it is written: wait, so that it goes out whole.
            Err(SendError::BufferTooSmall { .. })
                if payload.len().saturating_add(MAX_HEADER_LEN) <= self.tx.len() => {}
            Err(SendError::BufferTooSmall { .. }) => {
                // Larger than `tx`: the header now, the payload in pieces.
                let len = payload.len() as u64;
                let fin = fin.unwrap_or(true);
                self.encode(|conn, free| conn.send_frame_header(kind, rsv, len, fin, free))
                    .map_err(|e| self.refused(e))?;
                self.sending = len;
                return self.queue_payload(payload);
            }
            Err(e) => return Err(self.refused(e)),
        }
        let needed = payload.len().saturating_add(MAX_HEADER_LEN);
        Err(self.full(needed))
    }

    /// Copies (and masks) as much of `piece` as fits into `tx`; returns the count.
    fn queue_payload(&mut self, piece: &[u8]) -> Result<usize, TrySendError> {
        let n = piece.len().min(self.free_tx().len());
        if n == 0 && !piece.is_empty() {
            return Err(self.full(1));
        }
        let (now, _) = piece.split_at(n);
        self.encode(|conn, free| conn.send_payload(now, free))
            .map_err(TrySendError::Send)?;
        self.sending = self.sending.saturating_sub(n as u64);
        Ok(n)
    }

    /// The free end of `tx`, after moving the queued bytes to the front.
    fn free_tx(&mut self) -> &mut [u8] {
        self.compact_tx();
        self.tx.get_mut(self.tx_end..).unwrap_or_default()
    }

    /// Runs `encode` on the connection and the free end of `tx`, and queues what it wrote.
    fn encode(
        &mut self,
        encode: impl FnOnce(&mut Connection<E>, &mut [u8]) -> Result<usize, SendError>,
    ) -> Result<usize, SendError> {
        self.compact_tx();
        let free = self.tx.get_mut(self.tx_end..).unwrap_or_default();
        let (n, result) = match encode(&mut self.conn, free) {
            Ok(n) => (n, Ok(n)),
            // Refused, but the close the connection owed is written: it goes out.
            Err(e @ SendError::Closing { written }) => (written, Err(e)),
            Err(e) => (0, Err(e)),
        };
        self.tx_end = self.tx_end.saturating_add(n).min(self.tx.len());
        result
    }

    /// A refusal from the connection: "not now" when `tx` has queued bytes to make room.
    /// While closing, the close the connection owed is queued already (every call queues what
    /// is owed first), so the connection finds nothing owed and says `Closed`: it is
    /// `Closing`, with nothing more written.
    fn refused(&self, e: SendError) -> TrySendError {
        match e {
            SendError::BufferTooSmall { needed } => self.full(needed),
            SendError::Closed if self.conn.state() == State::Closing => {
                TrySendError::Send(SendError::Closing { written: 0 })
            }
            e => TrySendError::Send(e),
        }
    }

    /// [`TrySendError::Full`] while something is queued; with nothing queued, waiting would
    /// not help, so it is the connection's `BufferTooSmall`.
    fn full(&self, needed: usize) -> TrySendError {
        if self.tx_end > self.tx_start {
            TrySendError::Full { needed }
        } else {
            TrySendError::Send(SendError::BufferTooSmall { needed })
        }
    }
}
