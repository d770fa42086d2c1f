//! Cross-module tests of the record layer: interop vectors, the live Java oracle, property
//! round trips, hostile input.

mod hostile;
mod java_oracle;
mod java_vectors;
mod librdkafka_vectors;
mod roundtrip;
mod support;
