//! Integration tests against the real Apache Kafka broker started by `scripts/kafka up`
//! (idempotent: the tests start it themselves on a fresh machine).
//!
//! One test binary with modules, so the broker check and the Java tooling are shared.

mod admin;
mod cluster;
mod common;
mod connection;
mod consumer;
mod produce;
mod security;
