//! `kafka_protocol::fuzzing::response_frame`: see that function for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = kafka_protocol::fuzzing::response_frame(data) {
        panic!("{violation}");
    }
});
