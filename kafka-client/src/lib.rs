//! Async Apache Kafka client on tokio.
#![forbid(unsafe_code)]
