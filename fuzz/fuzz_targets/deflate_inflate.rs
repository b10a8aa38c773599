//! A server connection with permessage-deflate negotiated, fed arbitrary frames (raw, or built
//! and optionally compressed) through the deflate `Receiver`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wsmachine_fuzz::deflate::inflate(data);
});
