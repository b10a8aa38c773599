//! A client `Connection` fed arbitrary bytes in arbitrary chunks (first two bytes: options).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine_fuzz::drive::connection_client(data));
