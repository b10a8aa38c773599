//! `--deflate` for the examples: permessage-deflate (RFC 7692) through the driver, and the
//! compressor that echoes or sends compressed once it is agreed (feature `deflate-compress`).

/// The window the examples inflate into: 15 bits, what any peer may compress with.
pub const WINDOW_BITS: u8 = 15;

/// The compression level: 1, fast (an echo compresses what it receives, as it arrives).
pub const LEVEL: u8 = 1;

/// The compressed bytes of one fragment at most.
pub const OUT: usize = 16 * 1024;

/// `--deflate` was given: an error when this build cannot compress.
pub fn check(on: bool) -> Result<bool, String> {
    if on && !cfg!(feature = "deflate-compress") {
        return Err("--deflate needs the feature deflate-compress \
                    (cargo run --features deflate-compress --example ...)"
            .to_owned());
    }
    Ok(on)
}

/// The permessage-deflate offer a client sends (`Sec-WebSocket-Extensions`), for the
/// configuration of [`deflate`]: empty without the feature.
pub fn offer() -> String {
    #[cfg(feature = "deflate-compress")]
    if let Ok(offer) =
        wsmachine::extensions::deflate::ClientOffer::new(&Default::default()).header()
    {
        return offer.as_str().to_owned();
    }
    String::new()
}

#[cfg(feature = "deflate-compress")]
#[allow(unused_imports)] // Not every example that includes `common` compresses.
pub use on::*;

#[cfg(feature = "deflate-compress")]
mod on {
    use wsmachine::extensions::deflate::{Agreed, Compressor, DeflateConfig};
    use wsmachine::io::Deflate;

    /// The inflate window, `1 << WINDOW_BITS` bytes, when `on`; empty otherwise.
    pub fn window(on: bool) -> Vec<u8> {
        vec![0u8; if on { 1 << super::WINDOW_BITS } else { 0 }]
    }

    /// The driver's permessage-deflate over `window` (from [`window`]), when it is not empty.
    pub fn deflate(window: &mut [u8], max_message: u64) -> Option<Deflate<'_>> {
        if window.is_empty() {
            return None;
        }
        Deflate::new(window, DeflateConfig::DEFAULT, max_message).ok()
    }

    /// What compresses our messages once the extension is agreed.
    pub struct Compress {
        pub compressor: Compressor,
        pub out: Vec<u8>,
    }

    impl Compress {
        /// For `agreed`, if anything was.
        pub fn new(agreed: Option<Agreed>) -> Option<Self> {
            agreed.map(|agreed| Self {
                compressor: Compressor::new(&agreed, super::LEVEL),
                out: vec![0u8; super::OUT],
            })
        }
    }
}
