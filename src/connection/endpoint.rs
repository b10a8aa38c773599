//! Which end of the connection this is, and where a client's masking keys come from (RFC 6455 §5.3, §10.3).

use rand_core::RngCore;

/// The two ends of a WebSocket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Opened the connection; masks every frame it sends.
    Client,
    /// Accepted the connection; never masks, and requires masked frames.
    Server,
}

mod sealed {
    pub trait Sealed {}
}

/// The type parameter of [`Connection`](crate::Connection): [`Server`] or [`Client`]. A client
/// cannot exist without a source of masking keys, and a server cannot mask.
pub trait Endpoint: sealed::Sealed {
    /// This end's role.
    const ROLE: Role;
    /// A fresh masking key for the next frame, or `None` for a server.
    fn mask_key(&mut self) -> Option<[u8; 4]>;
}

/// The server end: sends unmasked frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Server;

impl sealed::Sealed for Server {}

impl Endpoint for Server {
    const ROLE: Role = Role::Server;
    #[inline]
    fn mask_key(&mut self) -> Option<[u8; 4]> {
        None
    }
}

/// The client end: masks each frame with a fresh key drawn from `R`.
///
/// RFC 6455 §10.3 asks for keys an intermediary cannot predict: use a hardware RNG or a
/// cryptographically seeded generator. `&mut R` works as well as `R`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client<R>(pub R);

impl<R> sealed::Sealed for Client<R> {}

impl<R: RngCore> Endpoint for Client<R> {
    const ROLE: Role = Role::Client;
    #[cfg_attr(not(target_os = "none"), inline(always))]
    #[cfg_attr(target_os = "none", inline)]
    fn mask_key(&mut self) -> Option<[u8; 4]> {
        Some(self.0.next_u32().to_ne_bytes())
    }
}
