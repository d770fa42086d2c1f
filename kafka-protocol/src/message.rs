//! The traits every generated message implements.

use bytes::{Bytes, BytesMut};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, EncodeError};
use crate::ApiKey;

/// A protocol message (request, response, header or embedded data) with its version range.
pub trait Message: Sized + Default + Clone + PartialEq + std::fmt::Debug {
    /// The message's name in the Kafka definitions, e.g. `ProduceRequest`.
    const NAME: &'static str;
    /// The lowest version this codec decodes and encodes (older clients included).
    const LOWEST_VERSION: i16;
    /// The highest version, including versions the broker marks unstable.
    const HIGHEST_VERSION: i16;

    /// Decodes the message at `version` from `r`, leaving any following bytes unread.
    fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError>;

    /// Encodes the message at `version` into `w`, failing as the Java client does when a field
    /// this version lacks holds a non-default value. With a chunked [`Writer`], long `records`
    /// fields are referenced instead of copied.
    fn encode_to(&self, w: &mut Writer, version: i16) -> Result<(), EncodeError>;

    /// Encodes the message at `version`, appending to `w`, failing as the Java client does when
    /// a field this version lacks holds a non-default value.
    fn encode(&self, w: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        let mut writer = Writer::contiguous(std::mem::take(w));
        let result = self.encode_to(&mut writer, version);
        *w = writer.into_contiguous();
        result
    }

    /// Decodes a message that must fill `bytes` exactly; byte fields are zero-copy slices.
    fn decode_exact(bytes: &Bytes, version: i16) -> Result<Self, DecodeError> {
        let mut r = Reader::from_bytes(bytes);
        let m = Self::decode(&mut r, version)?;
        r.finish()?;
        Ok(m)
    }

    /// Encodes into a new buffer.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let mut w = BytesMut::new();
        self.encode(&mut w, version)?;
        Ok(w.freeze())
    }
}

/// A request body, with its API key and response type.
pub trait Request: Message {
    /// The API key requests of this type carry.
    const API_KEY: ApiKey;
    /// The response type.
    type Response: Response;
}

/// A response body.
pub trait Response: Message {
    /// The API key of the request this answers.
    const API_KEY: ApiKey;
}

/// Most bytes a decoded array may reserve before its elements have been read: a count is checked
/// against the bytes left, but elements may be wider in memory than on the wire, so beyond this
/// the vector grows only as elements actually decode.
const MAX_PREALLOCATION_BYTES: usize = 64 * 1024;

/// A vector for `count` elements, reserving no more than a fixed budget up front.
#[inline]
pub(crate) fn vec_with_capacity<T>(count: usize) -> Vec<T> {
    let per = std::mem::size_of::<T>().max(1);
    Vec::with_capacity(count.min(MAX_PREALLOCATION_BYTES / per))
}
