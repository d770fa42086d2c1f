//! kafka-protocol's integration tests: one binary, one module per concern.

mod differential;
mod oracle;
mod random;
mod roundtrip;
