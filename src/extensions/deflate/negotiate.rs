//! Choosing permessage-deflate parameters (RFC 7692 §5, §7.1): the client's offer, the server's
//! pick among offers, the client's check of the answer.
//!
//! Each side says what it can do in a [`DeflateConfig`]: the window it inflates into (RAM it
//! sets aside), the window it compresses with, and whether either side should drop its
//! compression context after every message. The result of a negotiation is an [`Agreed`], the
//! view of one endpoint: what it receives, what it sends.
//!
//! # Bounding the peer's window
//!
//! - A **client** bounds the server's window by offering `server_max_window_bits=N`: a server
//!   that accepts answers with `N` or less (§7.1.2.1). [`ClientOffer::new`] offers it whenever
//!   [`DeflateConfig::receive_window_bits`] is below 15.
//! - A **server** can bound the client's window only when the client offered
//!   `client_max_window_bits` (with or without a value): it answers
//!   `client_max_window_bits=M` (§7.1.2.2). A client that did not offer it may compress with a
//!   32 KiB window, so a server whose `receive_window_bits` is below 15 declines such an offer
//!   (and speaks without compression) rather than inflate into too small a window. Browsers
//!   offer `client_max_window_bits` without a value.
//!
//! # Window bits 8
//!
//! zlib refuses a raw-deflate window of 8 bits and compresses with 9 instead (§7.1.2.2 notes
//! the problem); zlib's matches reach back at most `2^bits - 262` bytes, so a zlib peer at 9
//! bits still fits a 256-byte window. This crate accepts 8 as the RFC allows; its own
//! compressor never reaches back further than the agreed window (see the `compress` module).
//! A zlib-based server may decline an offer of `server_max_window_bits=8`, so a device that
//! wants compression asks for 9 (512 bytes) rather than 8.

use core::fmt;

use super::params::{ClientMaxWindowBits, DeflateParams, HeaderValue, ParamError, MAX_WINDOW_BITS};
use crate::connection::Role;
use crate::handshake::Extension;
use crate::wire::close::CloseCode;
use crate::wire::frame::RSV1;
use crate::Config;

/// What one endpoint can do with permessage-deflate: the input of a negotiation.
///
/// ```
/// use wsmachine::extensions::deflate::DeflateConfig;
/// // A device that sets 512 bytes aside for inflating and never compresses.
/// let device = DeflateConfig { receive_window_bits: 9, ..DeflateConfig::DEFAULT };
/// # let _ = device;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeflateConfig {
    /// The window this endpoint inflates into, `8..=15`: the inflater's window buffer is
    /// `1 << receive_window_bits` bytes, and the peer is held to compressing within it.
    pub receive_window_bits: u8,
    /// The largest window this endpoint compresses with, `8..=15`. Answering or offering less
    /// than 15 costs nothing when this endpoint never compresses.
    pub send_window_bits: u8,
    /// Ask the peer to reset its compression context at every message.
    pub peer_no_context_takeover: bool,
    /// Reset our own compression context at every message (and say so).
    pub no_context_takeover: bool,
}

impl DeflateConfig {
    /// 32 KiB windows both ways, context takeover both ways.
    pub const DEFAULT: Self = Self {
        receive_window_bits: MAX_WINDOW_BITS,
        send_window_bits: MAX_WINDOW_BITS,
        peer_no_context_takeover: false,
        no_context_takeover: false,
    };

    /// Window sizes clamped into `8..=15`.
    const fn clamped(self) -> Self {
        Self {
            receive_window_bits: clamp(self.receive_window_bits),
            send_window_bits: clamp(self.send_window_bits),
            ..self
        }
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

const fn clamp(bits: u8) -> u8 {
    if bits < super::params::MIN_WINDOW_BITS {
        super::params::MIN_WINDOW_BITS
    } else if bits > MAX_WINDOW_BITS {
        MAX_WINDOW_BITS
    } else {
        bits
    }
}

const fn min(a: u8, b: u8) -> u8 {
    if a < b {
        a
    } else {
        b
    }
}

/// One direction of an agreed permessage-deflate: the largest window the sender compresses
/// with, and whether it resets its context at every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Direction {
    /// `8..=15`: the sender's LZ77 window is at most `1 << window_bits` bytes.
    pub window_bits: u8,
    /// The sender starts every message with an empty context.
    pub no_context_takeover: bool,
}

/// A negotiated permessage-deflate, as one endpoint sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Agreed {
    params: DeflateParams,
    role: Role,
}

impl Agreed {
    /// The agreement `params` (an answer) describe, seen from `role`. Window sizes outside
    /// `8..=15` count as the nearest of the two.
    #[must_use]
    pub const fn new(params: DeflateParams, role: Role) -> Self {
        Self { params, role }
    }

    /// The parameters of the answer.
    #[must_use]
    pub const fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// The role this agreement is seen from.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.role
    }

    const fn server(&self) -> Direction {
        Direction {
            window_bits: match self.params.server_max_window_bits {
                Some(bits) => clamp(bits),
                None => MAX_WINDOW_BITS,
            },
            no_context_takeover: self.params.server_no_context_takeover,
        }
    }

    const fn client(&self) -> Direction {
        Direction {
            window_bits: match self.params.client_max_window_bits {
                ClientMaxWindowBits::Bits(bits) => clamp(bits),
                _ => MAX_WINDOW_BITS,
            },
            no_context_takeover: self.params.client_no_context_takeover,
        }
    }

    /// What the peer sends: the window our inflater needs (`1 << window_bits` bytes).
    #[must_use]
    pub const fn receive(&self) -> Direction {
        match self.role {
            Role::Server => self.client(),
            Role::Client => self.server(),
        }
    }

    /// What we send: the largest window our compressor may use, and whether it resets.
    #[must_use]
    pub const fn send(&self) -> Direction {
        match self.role {
            Role::Server => self.server(),
            Role::Client => self.client(),
        }
    }

    /// `config` with RSV1 allowed, which permessage-deflate defines (§6): the connection then
    /// passes compressed messages through to the [`Receiver`](super::Receiver).
    #[must_use]
    pub const fn connection_config(&self, config: Config) -> Config {
        Config {
            allowed_rsv: config.allowed_rsv | RSV1,
            ..config
        }
    }

    /// The answer a server writes in [`Accept::extensions`](crate::handshake::server::Accept).
    pub fn header(&self) -> Result<HeaderValue, ParamError> {
        self.params.header()
    }
}

/// The server's choice (§5, §7.1): the first `permessage-deflate` offer, in the order the
/// client listed them over all its `Sec-WebSocket-Extensions` lines, that is well-formed and
/// that `config` can honour. Offers with unknown, repeated or out-of-range parameters are
/// declined (§7.1), and so is an offer that lets the client compress with a larger window
/// than `config.receive_window_bits` (one without `client_max_window_bits`, when that is below
/// 15). `None`: decline them all and speak without compression.
///
/// ```
/// use wsmachine::extensions::deflate::{accept_offer, DeflateConfig};
/// use wsmachine::handshake::Extensions;
/// let offers = b"permessage-deflate; server_max_window_bits=7, \
///                permessage-deflate; client_max_window_bits";
/// let device = DeflateConfig { receive_window_bits: 9, ..DeflateConfig::DEFAULT };
/// let agreed = accept_offer(&device, Extensions::new(core::iter::once(&offers[..]))).unwrap();
/// assert_eq!(agreed.header()?.as_str(), "permessage-deflate; client_max_window_bits=9");
/// assert_eq!(agreed.receive().window_bits, 9);
/// # Ok::<(), wsmachine::extensions::deflate::ParamError>(())
/// ```
pub fn accept_offer<'b>(
    config: &DeflateConfig,
    offers: impl IntoIterator<Item = Extension<'b>>,
) -> Option<Agreed> {
    let config = config.clamped();
    offers
        .into_iter()
        .filter_map(|ext| DeflateParams::parse(&ext).ok())
        .find_map(|offer| answer(&config, &offer))
        .map(|params| Agreed::new(params, Role::Server))
}

/// The answer to one valid offer, or `None` when `config` cannot honour it.
fn answer(config: &DeflateConfig, offer: &DeflateParams) -> Option<DeflateParams> {
    let receive = config.receive_window_bits;
    let client_max_window_bits = match offer.client_max_window_bits {
        _ if receive == MAX_WINDOW_BITS => ClientMaxWindowBits::Absent,
        ClientMaxWindowBits::Absent => return None,
        ClientMaxWindowBits::Supported => ClientMaxWindowBits::Bits(receive),
        ClientMaxWindowBits::Bits(bits) => ClientMaxWindowBits::Bits(min(bits, receive)),
    };
    let send = config.send_window_bits;
    let server_max_window_bits = match offer.server_max_window_bits {
        Some(bits) => Some(min(bits, send)),
        None if send < MAX_WINDOW_BITS => Some(send),
        None => None,
    };
    Some(DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover || config.no_context_takeover,
        // Echoed when offered: the client resets anyway (§7.1.1.2), and both sides then
        // describe the same agreement.
        client_no_context_takeover: offer.client_no_context_takeover
            || config.peer_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

/// Why a client refuses the server's answer (RFC 7692 §7.1). The connection must then fail:
/// close it with [`close_code`](Self::close_code).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NegotiationError {
    /// A parameter that is unknown, repeated or out of range.
    Param(ParamError),
    /// `permessage-deflate` appears more than once in the answer.
    Repeated,
    /// `client_max_window_bits` in the answer, but not in our offer, or without a value.
    ClientWindowNotOffered,
    /// `server_max_window_bits` missing from the answer or larger than we offered (§7.1.2.1).
    ServerWindowTooLarge,
    /// We offered `server_no_context_takeover` and the answer lacks it (§7.1.1.1).
    ContextTakeoverRefused,
}

impl NegotiationError {
    /// 1010: the client ends a connection whose extension answer it cannot use (RFC 6455
    /// §7.4.1).
    #[must_use]
    pub const fn close_code(self) -> CloseCode {
        CloseCode::MANDATORY_EXTENSION
    }
}

impl From<ParamError> for NegotiationError {
    fn from(e: ParamError) -> Self {
        Self::Param(e)
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Param(e) => write!(f, "answer refused: {e}"),
            Self::Repeated => f.write_str("permessage-deflate answered twice"),
            Self::ClientWindowNotOffered => {
                f.write_str("client_max_window_bits answered without an offer or a value")
            }
            Self::ServerWindowTooLarge => {
                f.write_str("server_max_window_bits missing or too large")
            }
            Self::ContextTakeoverRefused => f.write_str("server_no_context_takeover refused"),
        }
    }
}

impl core::error::Error for NegotiationError {}

/// A client's permessage-deflate offer, kept to check the answer against.
///
/// ```
/// use wsmachine::extensions::deflate::{ClientOffer, DeflateConfig};
/// use wsmachine::handshake::Extensions;
/// // A device with a 512-byte inflate window.
/// let offer = ClientOffer::new(&DeflateConfig { receive_window_bits: 9, ..DeflateConfig::DEFAULT });
/// let header = offer.header()?;
/// assert_eq!(header.as_str(), "permessage-deflate; server_max_window_bits=9; client_max_window_bits");
/// // What `Accepted::extensions()` yields for the server's answer:
/// let answer = b"permessage-deflate; server_max_window_bits=9";
/// let agreed = offer.accept(Extensions::new(core::iter::once(&answer[..])))?.unwrap();
/// assert_eq!((agreed.receive().window_bits, agreed.send().window_bits), (9, 15));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientOffer {
    offer: DeflateParams,
}

impl ClientOffer {
    /// The offer for `config`: `server_max_window_bits` when our window is below 15,
    /// `client_max_window_bits` always (with our own limit when below 15), and the context
    /// takeover wishes.
    #[must_use]
    pub const fn new(config: &DeflateConfig) -> Self {
        let config = config.clamped();
        Self {
            offer: DeflateParams {
                server_no_context_takeover: config.peer_no_context_takeover,
                client_no_context_takeover: config.no_context_takeover,
                server_max_window_bits: if config.receive_window_bits < MAX_WINDOW_BITS {
                    Some(config.receive_window_bits)
                } else {
                    None
                },
                client_max_window_bits: if config.send_window_bits < MAX_WINDOW_BITS {
                    ClientMaxWindowBits::Bits(config.send_window_bits)
                } else {
                    ClientMaxWindowBits::Supported
                },
            },
        }
    }

    /// An offer of exactly these parameters.
    #[must_use]
    pub const fn from_params(offer: DeflateParams) -> Self {
        Self { offer }
    }

    /// The parameters offered.
    #[must_use]
    pub const fn params(&self) -> &DeflateParams {
        &self.offer
    }

    /// The offer for [`ClientRequest::extensions`](crate::handshake::client::ClientRequest).
    pub fn header(&self) -> Result<HeaderValue, ParamError> {
        self.offer.header()
    }

    /// Checks the server's answer, the extensions of
    /// [`Accepted::extensions`](crate::handshake::client::Accepted::extensions) (other
    /// extensions are skipped). `Ok(None)`: the server declined, speak without compression.
    pub fn accept<'b>(
        &self,
        answer: impl IntoIterator<Item = Extension<'b>>,
    ) -> Result<Option<Agreed>, NegotiationError> {
        let mut agreed = None;
        for ext in answer {
            let params = match DeflateParams::parse(&ext) {
                Err(ParamError::NotDeflate) => continue,
                other => other?,
            };
            if agreed.is_some() {
                return Err(NegotiationError::Repeated);
            }
            self.check(&params)?;
            // Our own limit stands when the answer leaves it out or names a larger one, and so
            // does our own wish to reset (§7.1.1.2: an offered hint binds the client).
            let mut params = params;
            params.client_no_context_takeover |= self.offer.client_no_context_takeover;
            if let ClientMaxWindowBits::Bits(offered) = self.offer.client_max_window_bits {
                let bits = match params.client_max_window_bits {
                    ClientMaxWindowBits::Bits(bits) => min(bits, offered),
                    _ => offered,
                };
                params.client_max_window_bits = ClientMaxWindowBits::Bits(bits);
            }
            agreed = Some(Agreed::new(params, Role::Client));
        }
        Ok(agreed)
    }

    /// The §7.1 rules for one answer element against our offer.
    fn check(&self, answer: &DeflateParams) -> Result<(), NegotiationError> {
        let offer = &self.offer;
        match (offer.client_max_window_bits, answer.client_max_window_bits) {
            (_, ClientMaxWindowBits::Absent) => {}
            (ClientMaxWindowBits::Absent, _) | (_, ClientMaxWindowBits::Supported) => {
                return Err(NegotiationError::ClientWindowNotOffered)
            }
            _ => {}
        }
        match (offer.server_max_window_bits, answer.server_max_window_bits) {
            (Some(offered), Some(bits)) if bits > offered => {
                return Err(NegotiationError::ServerWindowTooLarge)
            }
            (Some(_), None) => return Err(NegotiationError::ServerWindowTooLarge),
            _ => {}
        }
        if offer.server_no_context_takeover && !answer.server_no_context_takeover {
            return Err(NegotiationError::ContextTakeoverRefused);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_outside_8_to_15_are_clamped() {
        let odd = DeflateConfig {
            receive_window_bits: 3,
            send_window_bits: 200,
            ..DeflateConfig::DEFAULT
        };
        let offer = ClientOffer::new(&odd);
        assert_eq!(offer.params().server_max_window_bits, Some(8));
        assert_eq!(
            offer.params().client_max_window_bits,
            ClientMaxWindowBits::Supported
        );
        let any = DeflateParams {
            client_max_window_bits: ClientMaxWindowBits::Supported,
            ..DeflateParams::default()
        };
        let answer = answer(&odd.clamped(), &any).unwrap();
        assert_eq!(answer.client_max_window_bits, ClientMaxWindowBits::Bits(8));
        assert_eq!(answer.server_max_window_bits, None);
    }

    #[test]
    fn each_side_sees_its_own_directions() {
        let params = DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: Some(10),
            client_max_window_bits: ClientMaxWindowBits::Bits(12),
        };
        let server = Agreed::new(params, Role::Server);
        let client = Agreed::new(params, Role::Client);
        assert_eq!(server.send(), client.receive());
        assert_eq!(server.receive(), client.send());
        assert_eq!(
            server.send(),
            Direction {
                window_bits: 10,
                no_context_takeover: true
            }
        );
        assert_eq!(server.receive().window_bits, 12);
        let config = server.connection_config(Config::DEFAULT);
        assert_eq!(config.allowed_rsv, RSV1);
        assert_eq!(NegotiationError::Repeated.close_code().0, 1010);
        // A hand-made agreement with a window size out of range is held to 8..=15.
        let wild = DeflateParams {
            server_max_window_bits: Some(200),
            client_max_window_bits: ClientMaxWindowBits::Bits(0),
            ..DeflateParams::default()
        };
        let wild = Agreed::new(wild, Role::Client);
        assert_eq!(
            (wild.receive().window_bits, wild.send().window_bits),
            (15, 8)
        );
    }
}
