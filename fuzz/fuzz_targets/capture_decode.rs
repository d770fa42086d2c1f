//! `kafka_fuzz_checks::capture_decode`: see that function for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = kafka_fuzz_checks::capture_decode(data) {
        panic!("{violation}");
    }
});
