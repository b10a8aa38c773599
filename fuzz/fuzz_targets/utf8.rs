//! The streaming UTF-8 validator against `core::str::from_utf8`, fed in arbitrary chunks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::drive::utf8(data));
