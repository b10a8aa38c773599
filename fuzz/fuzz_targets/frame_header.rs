//! `FrameHeader::parse` on arbitrary bytes; a complete header re-emits and re-parses the same.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::drive::frame_header(data));
