//! The server handshake: `parse_request` on arbitrary bytes, then the request accessors
//! (query, cookies, `Authorization`) and `accept` or `write_rejection`; RFC 8441
//! `parse_connect` over the same bytes as fields; with flag 0x20, a caller-built `Rejection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::handshake::server(data));
