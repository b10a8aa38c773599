//! The public stream driver as a server fed arbitrary bytes, reads and short writes (first two bytes: options).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::stream::driver_server(data));
