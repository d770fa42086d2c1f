//! Sans-IO codec for the Apache Kafka wire protocol.
//!
//! Bytes in, typed values out, and back, byte for byte: every request and response of every API
//! key at every version from Kafka 0.8 to 4.x, request and response headers, framing, and record
//! batches. No I/O, no clock, no panics on any input.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api_key;
#[cfg(feature = "arbitrary")]
pub mod arbitrary_support;
pub mod codec;
pub mod error;
pub mod error_code;
pub mod frame;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[allow(missing_docs)]
pub mod generated;
pub mod message;
pub mod record;

pub use api_key::ApiKey;
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use error_code::ErrorCode;
pub use generated::{RequestBody, ResponseBody};
pub use message::{Message, Request, Response};
