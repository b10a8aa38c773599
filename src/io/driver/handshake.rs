//! The driver's opening handshake: the server's request and decision, the client's response (RFC 6455 §4.1, §4.2).

use httparse::Header;

use super::{Driver, Phase, Step};
use crate::connection::Endpoint;
use crate::handshake::client::{parse_response, Expected, ResponseError};
use crate::handshake::server::{
    parse_request, Accept, HandshakeError, OriginPolicy, Request, ServerOptions,
};
use crate::handshake::{write_rejection, Rejection, Status, WriteError};
use crate::io::{Buffer, Closed, HandshakeFailure};

/// The server's answer to the request, written into `tx` by a [`PendingRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    Undecided,
    /// The 101 is `tx[..response]`.
    Accepted {
        response: usize,
        /// The permessage-deflate answered in it.
        #[cfg(feature = "deflate")]
        agreed: Option<crate::extensions::deflate::Agreed>,
    },
    /// The refusal is `tx[..response]` (possibly empty); then the driver is closed.
    Refused {
        response: usize,
        closed: Closed,
    },
}

/// A complete, valid upgrade request waiting for the server's decision: the value of
/// [`Poll::Request`](super::Poll::Request). Parse it again with
/// [`request`](Self::request) to look at the path, the origin, the offered subprotocols or
/// any header, then [`accept`](Self::accept) or [`refuse`](Self::refuse) it. Dropping it
/// decides nothing: the next poll returns it again.
#[derive(Debug)]
pub struct PendingRequest<'d> {
    head: &'d [u8],
    tx: &'d mut [u8],
    decision: &'d mut Decision,
    /// The driver answers permessage-deflate offers with this.
    #[cfg(feature = "deflate")]
    deflate: Option<crate::extensions::deflate::DeflateConfig>,
}

impl<'d> PendingRequest<'d> {
    pub(super) fn new(head: &'d [u8], tx: &'d mut [u8], decision: &'d mut Decision) -> Self {
        Self {
            head,
            tx,
            decision,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    #[cfg(feature = "deflate")]
    pub(super) fn with_deflate(
        mut self,
        config: Option<crate::extensions::deflate::DeflateConfig>,
    ) -> Self {
        self.deflate = config;
        self
    }

    /// The request head as received, up to and including its blank line.
    #[must_use]
    pub fn head(&self) -> &'d [u8] {
        self.head
    }

    /// The request, parsed into `headers` (as many as the driver's `H`; fewer may not hold
    /// it). It borrows the receive buffer, not `self`: what it returns (a subprotocol) can go
    /// into the [`Accept`].
    pub fn request<'h>(
        &self,
        headers: &'h mut [Header<'d>],
    ) -> Result<Request<'h, 'd>, HandshakeError> {
        // The driver checked the length and the origin already.
        let options = ServerOptions {
            max_head_len: usize::MAX,
            origin: OriginPolicy::Any,
        };
        match parse_request(self.head, headers, &options)? {
            Status::Complete((request, _)) => Ok(request),
            Status::Partial => Err(HandshakeError::Malformed),
        }
    }

    /// Accepts `request` (from [`request`](Self::request)) with `accept`: the 101 is queued,
    /// and once it is written the next poll is [`Poll::Open`](super::Poll::Open). When the
    /// response cannot be written (a subprotocol the client did not offer, a forbidden header
    /// byte, `tx` too small) nothing is sent and the driver closes with that reason.
    ///
    /// With permessage-deflate ([`Driver::deflate`](super::Driver::deflate)) and an `accept`
    /// that names no extensions, the client's offer is answered here.
    pub fn accept(self, request: &Request<'_, '_>, accept: &Accept<'_>) -> Result<(), WriteError> {
        #[cfg(feature = "deflate")]
        let (agreed, answer) = match self.deflate {
            Some(config) if accept.extensions.is_none() => {
                let agreed =
                    crate::extensions::deflate::accept_offer(&config, request.extensions());
                // An answer always fits its bound; one that did not would decline.
                let answer = agreed.and_then(|a| a.header().ok());
                (answer.is_some().then_some(agreed).flatten(), answer)
            }
            _ => (None, None),
        };
        #[cfg(feature = "deflate")]
        let with_answer = Accept {
            extensions: answer.as_ref().map(|h| h.as_str()).or(accept.extensions),
            ..*accept
        };
        #[cfg(feature = "deflate")]
        let accept = &with_answer;
        match request.accept(accept, self.tx) {
            Ok(response) => {
                *self.decision = Decision::Accepted {
                    response,
                    #[cfg(feature = "deflate")]
                    agreed,
                };
                Ok(())
            }
            Err(e) => {
                *self.decision = Decision::Refused {
                    response: 0,
                    closed: super::write_failure(e),
                };
                Err(e)
            }
        }
    }

    /// Refuses the request with the HTTP status `error` maps to
    /// ([`HandshakeError::status_code`]); the driver closes once the response is written.
    pub fn refuse(self, error: HandshakeError) {
        let response = write_rejection(error, self.tx).unwrap_or(0);
        self.refused(response, error);
    }

    /// Refuses the request with the application's own response: a 401 with
    /// `WWW-Authenticate`, a redirect, a 429 with `Retry-After`. The driver closes with
    /// [`HandshakeFailure::Rejected`] once it is written. A rejection that cannot be written
    /// (an invalid header, `tx` too small) is not sent, the driver closes with that reason, and
    /// the error says why.
    pub fn reject(self, rejection: &Rejection<'_>) -> Result<(), WriteError> {
        let (response, closed, result) = match rejection.write(self.tx) {
            Ok(n) => {
                let status = rejection.status;
                let closed = Closed::Handshake(HandshakeFailure::Rejected { status });
                (n, closed, Ok(()))
            }
            Err(e) => (0, super::write_failure(e), Err(e)),
        };
        *self.decision = Decision::Refused { response, closed };
        result
    }

    fn refused(self, response: usize, error: HandshakeError) {
        *self.decision = Decision::Refused {
            response,
            closed: Closed::Handshake(HandshakeFailure::Request(error)),
        };
    }
}

impl<'b, E: Endpoint, const H: usize> Driver<'b, E, H> {
    /// Ends the driver once `tx[..response]` is written.
    pub(super) fn end(&mut self, response: usize, closed: Closed) {
        self.tx_start = 0;
        self.tx_end = response.min(self.tx.len());
        self.phase = Phase::Ended(closed);
    }

    /// Nothing complete in `rx` yet: read, unless the stream ended.
    fn read_more(&mut self) -> Option<Step> {
        if self.eof {
            self.phase = Phase::Ended(Closed::Eof);
            return None;
        }
        Some(Step::Read)
    }

    /// Parses the request head in `rx[..rx_end]`: read more, decide, or refuse it.
    pub(super) fn server_head(&mut self, options: &ServerOptions<'_>) -> Option<Step> {
        let full = self.rx_end >= self.rx.len();
        let input = self.rx.get(..self.rx_end).unwrap_or_default();
        if input.is_empty() {
            return self.read_more();
        }
        let mut headers = [httparse::EMPTY_HEADER; H];
        let error = match parse_request(input, &mut headers, options) {
            Ok(Status::Partial) if !full => return self.read_more(),
            // A head that does not end in `rx` is refused once `rx` is full.
            Ok(Status::Partial) => HandshakeError::HeadTooLarge,
            Ok(Status::Complete((_, head))) => {
                self.phase = Phase::ServerDecide { head };
                return Some(Step::Request);
            }
            Err(e) => e,
        };
        let response = write_rejection(error, self.tx).unwrap_or(0);
        let closed = match error {
            // The client hears 431 either way; the application learns whose limit it was.
            HandshakeError::HeadTooLarge if self.rx.len() < options.max_head_len => {
                Closed::BufferTooSmall {
                    buffer: Buffer::Rx,
                    needed: options.max_head_len,
                }
            }
            error => Closed::Handshake(HandshakeFailure::Request(error)),
        };
        self.end(response, closed);
        None
    }

    /// Carries out the server's decision, once made; the frames start at `rx[head]`.
    pub(super) fn apply_decision(&mut self, head: usize) -> Option<Step> {
        match self.decision {
            Decision::Undecided => Some(Step::Request),
            Decision::Accepted {
                response,
                #[cfg(feature = "deflate")]
                agreed,
            } => {
                #[cfg(feature = "deflate")]
                if let Some(deflate) = self.deflate.as_deref_mut() {
                    deflate.set_agreed(agreed);
                    if agreed.is_some() {
                        self.conn.allow_rsv(crate::wire::frame::RSV1);
                    }
                }
                self.tx_start = 0;
                self.tx_end = response.min(self.tx.len());
                self.rx_start = head.min(self.rx_end);
                self.phase = Phase::Opening;
                None
            }
            Decision::Refused { response, closed } => {
                self.end(response, closed);
                None
            }
        }
    }

    /// Parses the response head in `rx[..rx_end]`: read more, open, or fail.
    pub(super) fn client_head(
        &mut self,
        expected: &Expected<'_>,
        offered: &'b [&'b str],
        max_head_len: usize,
    ) -> Option<Step> {
        let full = self.rx_end >= self.rx.len();
        let input = self.rx.get(..self.rx_end).unwrap_or_default();
        if input.is_empty() {
            return self.read_more();
        }
        let fail = |e| Closed::Handshake(HandshakeFailure::Response(e));
        let mut headers = [httparse::EMPTY_HEADER; H];
        let closed = match parse_response(input, &mut headers, max_head_len) {
            Ok(Status::Partial) if !full => return self.read_more(),
            Ok(Status::Partial) if self.rx.len() >= max_head_len => {
                fail(ResponseError::HeadTooLarge)
            }
            // `rx` is smaller than the limit and the head did not end in it.
            Ok(Status::Partial) => Closed::BufferTooSmall {
                buffer: Buffer::Rx,
                needed: max_head_len,
            },
            Ok(Status::Complete((response, head))) => match response.validate(expected) {
                Ok(accepted) => {
                    #[cfg(feature = "deflate")]
                    if let Some(deflate) = self.deflate.as_deref_mut() {
                        match deflate.check_answer(accepted.extensions()) {
                            Ok(()) if deflate.agreed().is_some() => {
                                self.conn.allow_rsv(crate::wire::frame::RSV1);
                            }
                            Ok(()) => {}
                            Err(e) => {
                                // RFC 7692 §7.1: fail the connection, 1010.
                                let _ = self.conn.fail(e.close_code());
                                deflate.set_closed(Closed::Negotiation(e));
                            }
                        }
                    }
                    let chosen = accepted.subprotocol();
                    self.subprotocol =
                        chosen.and_then(|p| offered.iter().copied().find(|o| *o == p));
                    self.rx_start = head.min(self.rx_end);
                    self.phase = Phase::Opening;
                    return None;
                }
                Err(e) => fail(e),
            },
            Err(e) => fail(e),
        };
        self.phase = Phase::Ended(closed);
        None
    }
}
