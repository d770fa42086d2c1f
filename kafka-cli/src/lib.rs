//! Library side of `kafka-cli`: the pieces the binary is made of, kept testable and fuzzable.
#![forbid(unsafe_code)]
pub mod capture;
pub mod decode;
