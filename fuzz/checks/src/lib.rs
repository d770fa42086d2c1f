//! Checks of the fuzz targets that reach beyond `kafka-protocol`: the pcap/TCP decode path of
//! `kafka-cli decode` and the client's sans-IO response handling. The codec's own checks live in
//! `kafka_protocol::fuzzing` (feature `fuzzing`) and are re-exported here, so that every target
//! and every replay calls the same function.
#![forbid(unsafe_code)]

mod capture;
mod conn;
pub mod corpus;
mod fetch;

pub use capture::capture_decode;
pub use conn::client_conn;
pub use fetch::client_fetch;
pub use kafka_protocol::fuzzing::{Check, Outcome, Verdict, Violation};

/// Every check by fuzz target name, the codec's included.
pub fn check_for(target: &str) -> Option<Check> {
    match target {
        "capture_decode" => Some(capture_decode),
        "client_conn" => Some(client_conn),
        "client_fetch" => Some(client_fetch),
        other => kafka_protocol::fuzzing::check_for(other),
    }
}

/// Every fuzz target name.
pub const TARGETS: &[&str] = &[
    "request_frame",
    "response_frame",
    "record_batches",
    "structured_request",
    "structured_response",
    "capture_decode",
    "client_conn",
    "client_fetch",
];
