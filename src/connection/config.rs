//! Connection limits and behaviour (RFC 6455 §10.4: implementation-specific limits).

use core::num::NonZeroU32;

/// Limits and switches for a [`Connection`](crate::Connection). Start from [`Config::DEFAULT`]
/// and change what you need; every field is plain data, fixed when the connection is made.
///
/// ```
/// use wsmachine::Config;
/// // A device that never expects more than 4 KiB in one message.
/// let config = Config { max_frame_size: 4096, max_message_size: 4096, ..Config::DEFAULT };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The largest frame payload accepted, in bytes; a larger one fails the connection with
    /// 1009. Default 16 MiB. Payloads stream through in chunks, so this bounds nothing in
    /// memory: it is a policy limit.
    pub max_frame_size: u64,
    /// The largest message accepted, summed over its fragments; a larger one fails the
    /// connection with 1009, as soon as a frame header announces it. Default 64 MiB.
    pub max_message_size: u64,
    /// Answer every ping with a pong automatically (through `poll_transmit`). Default `true`.
    /// When a ping arrives before the previous pong went out, only the latest is answered
    /// (§5.5.3).
    pub auto_pong: bool,
    /// RSV bits ([`RSV1`](crate::wire::frame::RSV1)...) that a negotiated extension defines.
    /// Frames with any other RSV bit set fail the connection with 1002. Default 0.
    pub allowed_rsv: u8,
    /// Send a ping after this many milliseconds without receiving anything, when set
    /// (`NonZeroU32::new(30_000)`). Drives
    /// [`Connection::poll_timeout`](crate::Connection::poll_timeout). Default `None`.
    pub keepalive_interval: Option<NonZeroU32>,
    /// After a keepalive ping, how many milliseconds to wait for any byte from the peer before
    /// declaring it dead: the connection then fails with 1001 (going away). Default 10 000.
    pub keepalive_timeout: u32,
    /// After sending a close frame, how many milliseconds to wait for the peer's close before
    /// the connection counts as closed anyway; `None` waits forever. Default 5000.
    pub close_timeout: Option<NonZeroU32>,
}

impl Config {
    /// The defaults, usable in `const` context.
    pub const DEFAULT: Self = Self {
        max_frame_size: 16 << 20,
        max_message_size: 64 << 20,
        auto_pong: true,
        allowed_rsv: 0,
        keepalive_interval: None,
        keepalive_timeout: 10_000,
        close_timeout: NonZeroU32::new(5_000),
    };
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}
