//! permessage-deflate under the driver (RFC 7692 §5–§7.2.2): the offer and the answer in the opening handshake, and the engine's [`Receiver`] as the inflate stage of the driver's receive pipeline.
//!
//! The driver hands an event out after the call that produced it
//! ([`Step::Event`](super::Step::Event), then [`Driver::event`](super::Driver::event)); an
//! inflated chunk's bytes are found again with [`Receiver::inflated`]. The engine's tests cover
//! the inflate rules; `tests/deflate_io.rs` and `tests/deflate_pipeline.rs` run them through the
//! driver.

use crate::connection::Endpoint;
use crate::extensions::deflate::{
    Agreed, ClientOffer, DeflateConfig, Direction, InflateError, NegotiationError, Receiver,
    WindowError,
};
use crate::handshake::Extension;
use crate::io::Closed;
use crate::{Connection, ReceiveError, Received};

/// permessage-deflate for one [`Driver`](super::Driver), in storage the caller owns: the
/// configuration to offer or accept, the inflate window, and the inflater's state (about 11 KB,
/// most of it miniz_oxide's tables). Give it to the driver with
/// [`Driver::deflate`](super::Driver::deflate) (server) or
/// [`Driver::client_deflate`](super::Driver::client_deflate); a driver without one is as
/// large and does what it did before.
#[derive(Debug)]
pub struct Deflate<'w> {
    config: DeflateConfig,
    receiver: Receiver<'w>,
    agreed: Option<Agreed>,
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
        // The largest window the peer may be allowed; the answer fixes the real one.
        let peer = Direction {
            window_bits: config.receive_window_bits,
            no_context_takeover: false,
        };
        Ok(Self {
            config,
            receiver: Receiver::with_peer(window, peer, max_message_size)?,
            agreed: None,
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
        if let Some(agreed) = agreed {
            self.receiver.set_peer(agreed.receive());
        }
    }

    /// Client: checks the server's answer against our offer.
    pub(super) fn check_answer<'b>(
        &mut self,
        answer: impl IntoIterator<Item = Extension<'b>>,
    ) -> Result<(), NegotiationError> {
        let agreed = ClientOffer::new(&self.config).accept(answer)?;
        self.set_agreed(agreed);
        Ok(())
    }

    /// Why permessage-deflate ended the connection, if it did.
    pub(super) const fn closed(&self) -> Option<Closed> {
        self.closed
    }

    pub(super) fn set_closed(&mut self, closed: Closed) {
        self.closed = Some(closed);
    }

    /// The bytes of the inflated chunk the last [`receive`](Self::receive) handed out (empty
    /// when it handed out none).
    pub(super) fn inflated(&self) -> &[u8] {
        self.receiver.inflated()
    }

    /// The inflate stage: [`Receiver::receive_with`] over `below`. An inflate failure (the
    /// connection has failed with its code) is kept as the reason and comes out as
    /// [`ReceiveError::Closed`]; the connection's own errors come out as they are.
    pub(super) fn receive<'a, E, F>(
        &'a mut self,
        conn: &mut Connection<E>,
        input: &'a mut [u8],
        below: F,
    ) -> Result<Received<'a>, ReceiveError>
    where
        E: Endpoint,
        F: for<'x> FnOnce(&mut Connection<E>, &'x mut [u8]) -> Result<Received<'x>, ReceiveError>,
    {
        match self.receiver.receive_with(conn, input, below) {
            Ok(received) => Ok(received),
            Err(InflateError::Connection(e)) => Err(e),
            Err(e) => {
                self.closed = self.closed.or(Some(Closed::Inflate(e)));
                Err(ReceiveError::Closed)
            }
        }
    }
}
