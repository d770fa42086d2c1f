//! Sans-IO framing: every Kafka message travels as a 4-byte big-endian size followed by that
//! many bytes (header, then body). The decoder splits frames off a byte buffer; the correlator
//! remembers which request each correlation id belongs to, because a response names neither its
//! API key nor its version.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::codec::Reader;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::generated::{RequestHeader, ResponseHeader};
use crate::message::{Message, Request};
use crate::{ApiKey, RequestBody, ResponseBody};

/// The Java broker's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Splits length-prefixed frames off the front of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl FrameDecoder {
    /// A decoder that refuses frames larger than `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The configured maximum.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Takes one complete frame (without its size prefix) off the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed: nothing is consumed. A negative size or one above
    /// the maximum is an error, and the stream cannot be trusted after it.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        let Some(size) = self.peek_size(buf)? else {
            return Ok(None);
        };
        if buf.len() < 4 + size {
            // Reserve for the rest of the frame now, so the reader fills it without regrowing.
            buf.reserve(4 + size - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size).freeze()))
    }

    /// The size of the frame at the front of `buf`, once its prefix is complete.
    pub fn peek_size(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if size < 0 || size as usize > self.max_frame_size {
            return Err(DecodeError::new(
                DecodeErrorKind::FrameTooLarge {
                    size: i64::from(size),
                    max: self.max_frame_size,
                },
                0,
            ));
        }
        Ok(Some(size as usize))
    }
}

/// Writes a size prefix placeholder, runs `write`, then fills in the size.
fn write_framed(
    w: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = w.len();
    w.put_i32(0);
    write(w)?;
    let size = w.len() - start - 4;
    let size32 = i32::try_from(size).map_err(|_| EncodeError::TooLong { len: size })?;
    w[start..start + 4].copy_from_slice(&size32.to_be_bytes());
    Ok(())
}

/// Encodes a whole request frame: size, header (at the version the API key and version call
/// for), body.
pub fn encode_request<R: Request>(
    w: &mut BytesMut,
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
    body: &R,
) -> Result<(), EncodeError> {
    let header = RequestHeader {
        request_api_key: R::API_KEY.0,
        request_api_version: version,
        correlation_id,
        client_id: client_id.map(str::to_owned),
        ..Default::default()
    };
    let header_version = R::API_KEY.request_header_version(version);
    write_framed(w, |w| {
        header.encode(w, header_version)?;
        body.encode(w, version)
    })
}

/// Encodes a whole request frame from a dynamically chosen body.
pub fn encode_request_body(
    w: &mut BytesMut,
    header: &RequestHeader,
    body: &RequestBody,
) -> Result<(), EncodeError> {
    let key = ApiKey(header.request_api_key);
    let version = header.request_api_version;
    write_framed(w, |w| {
        header.encode(w, key.request_header_version(version))?;
        body.encode(w, version)
    })
}

/// Encodes a whole response frame.
pub fn encode_response_body(
    w: &mut BytesMut,
    header: &ResponseHeader,
    api_key: ApiKey,
    version: i16,
    body: &ResponseBody,
) -> Result<(), EncodeError> {
    write_framed(w, |w| {
        header.encode(w, api_key.response_header_version(version))?;
        body.encode(w, version)
    })
}

/// Reads the API key and version at the start of a request frame without decoding the rest.
pub fn peek_request_key(frame: &[u8]) -> Option<(ApiKey, i16)> {
    if frame.len() < 4 {
        return None;
    }
    Some((
        ApiKey(i16::from_be_bytes([frame[0], frame[1]])),
        i16::from_be_bytes([frame[2], frame[3]]),
    ))
}

/// Decodes a request frame (without its size prefix): header, then the body the header names.
/// The body must fill the frame.
pub fn decode_request(frame: &Bytes) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let mut r = Reader::from_bytes(frame);
    let (key, version) = peek_request_key(frame).ok_or_else(|| {
        r.error(DecodeErrorKind::UnexpectedEof {
            needed: 4,
            remaining: frame.len(),
        })
    })?;
    let Some(info) = key.info() else {
        return Err(r.error(DecodeErrorKind::UnknownApiKey(key.0)));
    };
    // The header's own version depends on the body's, so an unknown version is refused before
    // the header is read.
    if !(info.lowest..=info.highest).contains(&version) {
        return Err(r.error(DecodeErrorKind::UnsupportedVersion {
            message: info.name,
            version,
        }));
    }
    let header = RequestHeader::decode(&mut r, key.request_header_version(version))?;
    let body = RequestBody::decode(key, &mut r, version)?;
    r.finish()?;
    Ok((header, body))
}

/// Decodes a response frame whose API key and version are known (from the correlator).
pub fn decode_response(
    frame: &Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let mut r = Reader::from_bytes(frame);
    let header = ResponseHeader::decode(&mut r, api_key.response_header_version(version))?;
    let body = ResponseBody::decode(api_key, &mut r, version)?;
    r.finish()?;
    Ok((header, body))
}

/// The correlation id at the start of a response frame.
pub fn peek_correlation_id(frame: &[u8]) -> Option<i32> {
    frame
        .get(..4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// What a correlation id was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRequest {
    /// The request's API key.
    pub api_key: ApiKey,
    /// The request's version.
    pub version: i16,
}

/// Remembers (API key, version) per correlation id so that a stream of responses can be decoded.
#[derive(Debug, Default, Clone)]
pub struct Correlator {
    pending: HashMap<i32, PendingRequest>,
}

impl Correlator {
    /// An empty correlator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a request seen on the wire. A request with acks=0 (Produce) gets no response and
    /// should not be recorded.
    pub fn record_request(&mut self, correlation_id: i32, api_key: ApiKey, version: i16) {
        self.pending
            .insert(correlation_id, PendingRequest { api_key, version });
    }

    /// Records the request in a request frame; returns what was recorded.
    pub fn record_request_frame(&mut self, frame: &[u8]) -> Option<PendingRequest> {
        let (api_key, version) = peek_request_key(frame)?;
        let correlation_id = i32::from_be_bytes(frame.get(4..8)?.try_into().ok()?);
        self.record_request(correlation_id, api_key, version);
        Some(PendingRequest { api_key, version })
    }

    /// Looks up and forgets the request a response answers.
    pub fn take(&mut self, correlation_id: i32) -> Option<PendingRequest> {
        self.pending.remove(&correlation_id)
    }

    /// Requests still waiting for a response.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Whether a request with this correlation id is waiting.
    pub fn is_pending(&self, correlation_id: i32) -> bool {
        self.pending.contains_key(&correlation_id)
    }

    /// Decodes a response frame, pairing it with its request.
    pub fn decode_response(
        &mut self,
        frame: &Bytes,
    ) -> Result<(PendingRequest, ResponseHeader, ResponseBody), CorrelationError> {
        let id = peek_correlation_id(frame).ok_or(CorrelationError::Truncated)?;
        let pending = self.take(id).ok_or(CorrelationError::Unknown(id))?;
        let (header, body) = decode_response(frame, pending.api_key, pending.version)
            .map_err(CorrelationError::Decode)?;
        Ok((pending, header, body))
    }
}

/// Why a response could not be paired or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelationError {
    /// The frame is too short to hold a correlation id.
    #[error("response frame shorter than a correlation id")]
    Truncated,
    /// No request with this correlation id is waiting.
    #[error("no request is waiting for correlation id {0}")]
    Unknown(i32),
    /// The response did not decode.
    #[error("{0}")]
    Decode(DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{ApiVersionsRequest, ApiVersionsResponse, MetadataRequest};

    #[test]
    fn frames_split_and_wait_for_more() {
        let d = FrameDecoder::new(16);
        let mut buf = BytesMut::from(&[0, 0, 0, 3, 1, 2][..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[3, 0, 0, 0, 0, 0xff]);
        assert_eq!(
            d.decode(&mut buf).unwrap().unwrap(),
            Bytes::from_static(&[1, 2, 3])
        );
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), Bytes::new());
        assert_eq!(&buf[..], &[0xff]);
        let mut big = BytesMut::from(&[0, 0, 0, 17][..]);
        assert!(d.decode(&mut big).is_err());
        let mut negative = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(d.decode(&mut negative).is_err());
    }

    #[test]
    fn request_frame_round_trip() {
        let mut w = BytesMut::new();
        let req = MetadataRequest {
            topics: Some(vec![]),
            ..Default::default()
        };
        encode_request(&mut w, 7, Some("me"), 12, &req).unwrap();
        let frame = FrameDecoder::default().decode(&mut w).unwrap().unwrap();
        let (header, body) = decode_request(&frame).unwrap();
        assert_eq!(header.correlation_id, 7);
        assert_eq!(header.client_id.as_deref(), Some("me"));
        assert_eq!(body, RequestBody::Metadata(req));
    }

    #[test]
    fn api_versions_response_uses_header_v0_even_when_flexible() {
        assert_eq!(ApiKey::API_VERSIONS.response_header_version(3), 0);
        assert_eq!(ApiKey::API_VERSIONS.request_header_version(3), 2);
        assert_eq!(ApiKey::METADATA.response_header_version(9), 1);
        assert_eq!(ApiKey::CONTROLLED_SHUTDOWN.request_header_version(0), 0);
        let mut c = Correlator::new();
        let mut w = BytesMut::new();
        encode_request(&mut w, 1, None, 3, &ApiVersionsRequest::default()).unwrap();
        let frame = FrameDecoder::default().decode(&mut w).unwrap().unwrap();
        c.record_request_frame(&frame).unwrap();
        let mut resp = BytesMut::new();
        encode_response_body(
            &mut resp,
            &ResponseHeader {
                correlation_id: 1,
                ..Default::default()
            },
            ApiKey::API_VERSIONS,
            3,
            &ResponseBody::ApiVersions(ApiVersionsResponse::default()),
        )
        .unwrap();
        // Header v0: the correlation id, then straight into the body (no tagged fields byte).
        assert_eq!(&resp[4..8], &[0, 0, 0, 1]);
        let frame = FrameDecoder::default().decode(&mut resp).unwrap().unwrap();
        let (p, h, _) = c.decode_response(&frame).unwrap();
        assert_eq!(p.api_key, ApiKey::API_VERSIONS);
        assert_eq!(h.correlation_id, 1);
        assert_eq!(c.outstanding(), 0);
        assert_eq!(
            c.decode_response(&frame).unwrap_err(),
            CorrelationError::Unknown(1)
        );
    }
}
