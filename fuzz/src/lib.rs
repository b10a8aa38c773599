//! Fuzz drivers for wsmachine; the targets in `fuzz_targets/` are thin wrappers around them.

pub mod deflate;
pub mod drive;
pub mod handshake;
pub mod stream;
