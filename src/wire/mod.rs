//! The stateless RFC 6455 §5 wire format: frame headers, masking and close payloads.
//!
//! Nothing here holds state between calls. Parsers take a byte slice and return
//! [`Status::Partial`](frame::Status::Partial) until enough bytes are there; emitters write into a
//! caller slice and return the number of bytes written, or say how many they need.

pub mod close;
pub(crate) mod close_code;
pub mod frame;
pub mod mask;
#[cfg(all(target_arch = "x86_64", any(unix, windows)))]
mod mask_utf8;
