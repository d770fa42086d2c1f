//! kafka-protocol's integration tests: one binary, one module per concern.

mod alloc_bounds;
mod differential;
mod fixtures;
mod hostile;
mod oracle;
mod random;
mod regressions;
mod roundtrip;
mod tables;
