//! The permessage-deflate offer grammar and the server's choice, checked against the client
//! side of the same offer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::deflate::negotiate(data));
