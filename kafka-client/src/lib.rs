//! Async Apache Kafka client on tokio, over the sans-IO `kafka-protocol` codec.
//!
//! - [`Client`]: connections (one per broker, pipelined, version-negotiated) and the cluster
//!   metadata cache; cheap to clone and shared by everything below.
//! - `admin::Admin`: topics, partitions, configs, offsets, records.
//! - `producer::Producer`: batching, compression, idempotent producer.
//!
//! The protocol logic lives in sans-IO state machines ([`conn::ConnectionCore`],
//! `producer::Accumulator`) driven by thin tokio tasks.
#![forbid(unsafe_code)]

pub mod admin;
mod client;
pub mod config;
pub mod conn;
pub mod consumer;
mod error;
pub mod metadata;
pub mod net;
pub mod producer;
pub mod security;

pub use client::Client;
pub use config::{Acks, ClientConfig, ProducerConfig};
pub use conn::ThrottleTime;
pub use error::{is_metadata_error, KafkaError, Result};
pub use kafka_protocol::record::Compression;
