//! kafka-protocol's integration tests: one binary, one module per concern.

mod differential;
mod fixtures;
mod hostile;
mod oracle;
mod random;
mod roundtrip;
mod tables;
