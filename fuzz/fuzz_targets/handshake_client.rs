//! The client handshake: `parse_response` and `validate` on arbitrary bytes against a request
//! we wrote, and the refusal view (`body`, `retry_after`); RFC 8441 `validate_response` over
//! the same bytes as fields.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::handshake::client(data));
