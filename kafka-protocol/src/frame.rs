//! Sans-IO framing: every Kafka message travels as a 4-byte big-endian size followed by that
//! many bytes (header, then body). The decoder splits frames off a byte buffer; the correlator
//! remembers which request each correlation id belongs to, because a response names neither its
//! API key nor its version.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::api_key::ApiInfo;
use crate::codec::{KafkaString, Reader, Writer};
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

/// The request header for `R` at `version`, and the header version that request version calls
/// for; shared by the contiguous and the chunked encoders so both write the same header.
fn request_header<R: Request>(
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
) -> (RequestHeader, i16) {
    let header = RequestHeader {
        request_api_key: R::API_KEY.0,
        request_api_version: version,
        correlation_id,
        client_id: client_id.map(KafkaString::from),
        ..Default::default()
    };
    (header, R::API_KEY.request_header_version(version))
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
    let (header, header_version) = request_header::<R>(correlation_id, client_id, version);
    write_framed(w, |w| {
        header.encode(w, header_version)?;
        body.encode(w, version)
    })
}

/// As [`encode_request`], into a [`Writer`]: with a chunked writer the frame's `records`
/// fields are referenced, not copied, and the frame goes out with one vectored write
/// ([`Writer::io_slices`], [`Writer::into_chunks`]). The size prefix and the header are always
/// in the first chunk, so the correlation id can still be changed with [`Writer::patch`].
pub fn encode_request_to<R: Request>(
    w: &mut Writer,
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
    body: &R,
) -> Result<(), EncodeError> {
    let (header, header_version) = request_header::<R>(correlation_id, client_id, version);
    w.size_prefixed(|w| {
        header.encode_to(w, header_version)?;
        body.encode_to(w, version)
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

/// Encodes a whole response frame. `version` is the request's: an ApiVersions request above
/// the known versions is answered in the v0 layout (see [`response_version`]).
pub fn encode_response_body(
    w: &mut BytesMut,
    header: &ResponseHeader,
    api_key: ApiKey,
    version: i16,
    body: &ResponseBody,
) -> Result<(), EncodeError> {
    let version = response_version(api_key, version);
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
/// The body must fill the frame and its version must be one the codec knows: this is the strict
/// reading, for frames we produce ourselves. [`decode_request_frame`] reads what a real broker
/// accepts from real clients.
pub fn decode_request(frame: &Bytes) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let mut r = Reader::from_bytes(frame);
    let (key, info, version) = request_key_info(&r, frame)?;
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

/// The API key, its facts and the version at the start of a request frame; an error for a
/// frame too short to name them or an API key the codec does not know.
fn request_key_info(
    r: &Reader<'_>,
    frame: &[u8],
) -> Result<(ApiKey, &'static ApiInfo, i16), DecodeError> {
    let (key, version) = peek_request_key(frame).ok_or_else(|| {
        r.error(DecodeErrorKind::UnexpectedEof {
            needed: 4,
            remaining: frame.len(),
        })
    })?;
    let Some(info) = key.info() else {
        return Err(r.error(DecodeErrorKind::UnknownApiKey(key.0)));
    };
    Ok((key, info, version))
}

/// A request frame as the Java broker reads it: header, body, and whatever the body left of the
/// frame. Written back by [`encode_request_frame`] to the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    /// The request header.
    pub header: RequestHeader,
    /// The body, decoded when its version is one the codec knows.
    pub body: RequestFrameBody,
    /// Bytes after a complete body. The broker ignores them (see [`decode_request_frame`]);
    /// kept so that the frame re-encodes byte for byte. Empty for an unsupported version, whose
    /// body holds the rest of the frame.
    pub trailing: Bytes,
}

impl RequestFrame {
    /// The API key named by the header.
    pub fn api_key(&self) -> ApiKey {
        ApiKey(self.header.request_api_key)
    }

    /// The API version named by the header.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

/// The body of a [`RequestFrame`].
// Not boxed: `RequestBody` is the large enum of every message, built once per decoded frame; a
// box would cost an allocation per request on the decoding path for nothing in return.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RequestFrameBody {
    /// A body of a version the codec knows, decoded.
    Decoded(RequestBody),
    /// A version above the highest the codec knows for the API key (a newer client): the
    /// header is decoded, the body kept as its bytes, as the Java broker does for ApiVersions
    /// (KIP-511, see [`decode_request_frame`]).
    UnsupportedVersion(Bytes),
}

/// Decodes a request frame (without its size prefix) as the Java broker reads it, which accepts
/// two things [`decode_request`] refuses:
///
/// - **A version above the known range.** Java's `RequestHeader.parse` reads the header of any
///   version of a known API key, with the header version its `requestHeaderVersion` extrapolates
///   (the flexible threshold has no upper bound: ApiVersions v5 has header v2, as v3 and v4).
///   For ApiVersions, `RequestContext.parseRequest` then does not read the body at all: KIP-511
///   has the broker answer an unknown ApiVersions version with UNSUPPORTED_VERSION in the v0
///   layout (see [`response_version`]), and clients (franz-go 1.22 sends v5 to a 4.3 broker) retry
///   with a version from that answer. Here every API key gets that treatment: the header is
///   decoded and the body kept as [`RequestFrameBody::UnsupportedVersion`] bytes. (For other API
///   keys the broker fails the body's parse and closes the connection; the frame is still
///   represented without loss.) A version below the known range stays an error.
/// - **Bytes after a complete body.** Java's `AbstractRequest.parseRequest` reads the body's
///   struct from the request buffer and never checks what remains, so the broker answers
///   normally (librdkafka 2.16 sends Metadata v13 with 3 bytes, `01 00 00`, after the body's
///   tagged fields). Here they are kept in [`RequestFrame::trailing`].
///
/// A body that does not decode is an error, as it is for the broker.
pub fn decode_request_frame(frame: &Bytes) -> Result<RequestFrame, DecodeError> {
    let mut r = Reader::from_bytes(frame);
    let (key, info, version) = request_key_info(&r, frame)?;
    if version < info.lowest {
        return Err(r.error(DecodeErrorKind::UnsupportedVersion {
            message: info.name,
            version,
        }));
    }
    let header = RequestHeader::decode(&mut r, key.request_header_version(version))
        .map_err(|e| e.in_field("RequestHeader"))?;
    if version > info.highest {
        let rest = r.remaining();
        return Ok(RequestFrame {
            header,
            body: RequestFrameBody::UnsupportedVersion(r.bytes(rest)?),
            trailing: Bytes::new(),
        });
    }
    let body = RequestBody::decode(key, &mut r, version)?;
    let rest = r.remaining();
    Ok(RequestFrame {
        header,
        body: RequestFrameBody::Decoded(body),
        trailing: r.bytes(rest)?,
    })
}

/// Encodes a [`RequestFrame`]: size, header (at the header version its API key and version call
/// for, extrapolated above the known range as Java does), body (a decoded body at the header's
/// version; an unsupported version's bytes as they are), then the trailing bytes.
pub fn encode_request_frame(w: &mut BytesMut, frame: &RequestFrame) -> Result<(), EncodeError> {
    let key = frame.api_key();
    let version = frame.version();
    write_framed(w, |w| {
        frame
            .header
            .encode(w, key.request_header_version(version))?;
        match &frame.body {
            RequestFrameBody::Decoded(body) => body.encode(w, version)?,
            RequestFrameBody::UnsupportedVersion(body) => w.put_slice(body),
        }
        w.put_slice(&frame.trailing);
        Ok(())
    })
}

/// The version whose layout the response to a request of `api_key` at `request_version` has:
/// the request's own, except for an ApiVersions request above the versions the codec knows,
/// which the broker answers in the v0 layout (KIP-511: `RequestContext.apiVersion()` is 0 for an
/// unsupported ApiVersions request, so that any client can read the error and the ranges).
/// [`decode_response`] and [`encode_response_body`] apply it, so callers pass the request's
/// version.
pub fn response_version(api_key: ApiKey, request_version: i16) -> i16 {
    match api_key.info() {
        Some(info) if api_key == ApiKey::API_VERSIONS && request_version > info.highest => 0,
        _ => request_version,
    }
}

/// Decodes a response frame whose API key and version are known (from the correlator).
///
/// `version` is the request's (see [`response_version`] for the one exception). The body must
/// fill the frame. Java's client (`AbstractResponse.parseResponse`) would ignore bytes after it,
/// but brokers size a response from its struct and never send any: bytes left over mean the
/// frame was read with the wrong layout (a mis-paired correlation id, a wrong version), which a
/// decoder must report rather than hide.
pub fn decode_response(
    frame: &Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let version = response_version(api_key, version);
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
    use crate::ErrorCode;

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
    fn chunked_request_frames_match_contiguous_ones_at_every_header_version() {
        use crate::generated::{produce_request, ProduceRequest};
        let records = Bytes::from(vec![3u8; 4096]);
        let produce = ProduceRequest {
            acks: 1,
            topic_data: vec![produce_request::TopicProduceData {
                name: "t".into(),
                partition_data: vec![produce_request::PartitionProduceData {
                    index: 2,
                    records: Some(records.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        // v3 (request header v1) and v9 (header v2, flexible).
        for version in [3, 9] {
            let mut flat = BytesMut::new();
            encode_request(&mut flat, 5, Some("me"), version, &produce).unwrap();
            let mut w = Writer::chunked(1024);
            encode_request_to(&mut w, 0, Some("me"), version, &produce).unwrap();
            assert!(w.patch(8, &5i32.to_be_bytes()), "header in the first chunk");
            assert_eq!(w.to_bytes(), flat, "version {version}");
            assert!(w.chunks().any(|c| c.as_ptr() == records.as_ptr()));
        }
        // ControlledShutdown v0 has request header v0, which has no client id (only the
        // default, empty, one encodes).
        let mut flat = BytesMut::new();
        let shutdown = crate::generated::ControlledShutdownRequest::default();
        encode_request(&mut flat, 1, Some(""), 0, &shutdown).unwrap();
        let mut w = Writer::chunked(1024);
        encode_request_to(&mut w, 1, Some(""), 0, &shutdown).unwrap();
        assert_eq!(w.to_bytes(), flat);
        // Both refuse a client id that header v0 cannot carry.
        let chunked = encode_request_to(&mut Writer::chunked(1024), 1, Some("me"), 0, &shutdown);
        assert!(chunked.is_err());
        assert_eq!(
            chunked,
            encode_request(&mut BytesMut::new(), 1, Some("me"), 0, &shutdown)
        );
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

    /// franz-go 1.22.3's first request on every connection (fixtures/captures/franz-go-*):
    /// ApiVersions v5, header v2 (client id "capture-franz"), then a body whose layout Kafka
    /// 4.3.1 does not know.
    const FRANZ_API_VERSIONS_V5: &[u8] =
        b"\x00\x12\x00\x05\x00\x00\x00\x00\x00\x0dcapture-franz\x00\
        \x04kgo\x08v1.22.3\x00\xff\xff\xff\xff\x00";
    /// The broker's answer: header v0, then the v0 layout with UNSUPPORTED_VERSION (35) and its
    /// ApiVersions range (18: 0-4).
    const BROKER_API_VERSIONS_V0_ANSWER: &[u8] =
        b"\x00\x00\x00\x00\x00\x23\x00\x00\x00\x01\x00\x12\x00\x00\x00\x04";

    fn reencode(frame: &RequestFrame) -> Bytes {
        let mut w = BytesMut::new();
        encode_request_frame(&mut w, frame).unwrap();
        FrameDecoder::default().decode(&mut w).unwrap().unwrap()
    }

    #[test]
    fn api_versions_above_known_range_keeps_body_and_is_answered_as_v0() {
        let frame = Bytes::from_static(FRANZ_API_VERSIONS_V5);
        let decoded = decode_request_frame(&frame).unwrap();
        assert_eq!(decoded.api_key(), ApiKey::API_VERSIONS);
        assert_eq!(decoded.version(), 5);
        assert_eq!(decoded.header.correlation_id, 0);
        assert_eq!(decoded.header.client_id.as_deref(), Some("capture-franz"));
        assert_eq!(
            decoded.body,
            RequestFrameBody::UnsupportedVersion(Bytes::from_static(
                b"\x04kgo\x08v1.22.3\x00\xff\xff\xff\xff\x00"
            ))
        );
        assert!(decoded.trailing.is_empty());
        assert_eq!(reencode(&decoded), frame);
        // The strict reading refuses it, before the header.
        let strict = decode_request(&frame).unwrap_err();
        assert_eq!(
            strict.kind(),
            &DecodeErrorKind::UnsupportedVersion {
                message: "ApiVersions",
                version: 5
            }
        );

        // The response pairs with the v5 request and reads in the v0 layout.
        assert_eq!(response_version(ApiKey::API_VERSIONS, 5), 0);
        assert_eq!(response_version(ApiKey::API_VERSIONS, 4), 4);
        assert_eq!(response_version(ApiKey::METADATA, 99), 99);
        let mut c = Correlator::new();
        assert_eq!(
            c.record_request_frame(&frame),
            Some(PendingRequest {
                api_key: ApiKey::API_VERSIONS,
                version: 5
            })
        );
        let answer = Bytes::from_static(BROKER_API_VERSIONS_V0_ANSWER);
        let (pending, header, body) = c.decode_response(&answer).unwrap();
        assert_eq!(pending.version, 5);
        assert_eq!(header.correlation_id, 0);
        let ResponseBody::ApiVersions(ref v) = body else {
            panic!("{body:?}");
        };
        assert_eq!(v.error_code, ErrorCode::UNSUPPORTED_VERSION.0);
        assert_eq!(v.api_keys.len(), 1);
        assert_eq!(
            (
                v.api_keys[0].api_key,
                v.api_keys[0].min_version,
                v.api_keys[0].max_version
            ),
            (18, 0, 4)
        );
        let mut w = BytesMut::new();
        encode_response_body(&mut w, &header, ApiKey::API_VERSIONS, 5, &body).unwrap();
        assert_eq!(&w[4..], BROKER_API_VERSIONS_V0_ANSWER);
    }

    #[test]
    fn any_known_key_above_its_range_keeps_the_header_and_the_body_bytes() {
        let highest = ApiKey::METADATA.info().unwrap().highest;
        let mut w = BytesMut::new();
        encode_request(&mut w, 9, Some("new"), highest, &MetadataRequest::default()).unwrap();
        let mut frame = w.split_off(4);
        frame[2..4].copy_from_slice(&(highest + 1).to_be_bytes());
        frame.extend_from_slice(b"future");
        let frame = frame.freeze();
        let decoded = decode_request_frame(&frame).unwrap();
        assert_eq!(decoded.header.client_id.as_deref(), Some("new"));
        let RequestFrameBody::UnsupportedVersion(body) = &decoded.body else {
            panic!("{:?}", decoded.body);
        };
        assert!(body.ends_with(b"future"));
        assert_eq!(reencode(&decoded), frame);
        // The response cannot be read: no layout is known.
        assert!(decode_response(
            &Bytes::from_static(&[0, 0, 0, 9, 0]),
            ApiKey::METADATA,
            highest + 1
        )
        .is_err());

        // Below the known range, an unknown key, or too short: errors.
        let mut low = BytesMut::from(&frame[..]);
        low[2..4].copy_from_slice(&(-1i16).to_be_bytes());
        assert!(decode_request_frame(&low.freeze()).is_err());
        let mut unknown = BytesMut::from(&frame[..]);
        unknown[0..2].copy_from_slice(&i16::MAX.to_be_bytes());
        assert_eq!(
            decode_request_frame(&unknown.freeze()).unwrap_err().kind(),
            &DecodeErrorKind::UnknownApiKey(i16::MAX)
        );
        assert!(decode_request_frame(&frame.slice(..3)).is_err());
        // A header that does not fit is an error even above the range.
        assert!(decode_request_frame(&frame.slice(..10)).is_err());
    }

    #[test]
    fn bytes_after_a_request_body_are_kept_and_written_back() {
        // librdkafka 2.16's all-topics Metadata v13 request ends in 01 00 00 after the body.
        let mut w = BytesMut::new();
        encode_request(&mut w, 3, Some("rdkafka"), 13, &MetadataRequest::default()).unwrap();
        let mut frame = w.split_off(4);
        let body_end = frame.len();
        frame.extend_from_slice(&[1, 0, 0]);
        let frame = frame.freeze();
        let decoded = decode_request_frame(&frame).unwrap();
        assert_eq!(
            decoded.body,
            RequestFrameBody::Decoded(RequestBody::Metadata(MetadataRequest::default()))
        );
        assert_eq!(decoded.trailing, Bytes::from_static(&[1, 0, 0]));
        assert_eq!(reencode(&decoded), frame);
        let strict = decode_request(&frame).unwrap_err();
        assert_eq!(strict.kind(), &DecodeErrorKind::TrailingData(3));
        assert_eq!(strict.offset(), body_end);
        // Without trailing bytes both readings agree.
        let exact = frame.slice(..body_end);
        let lenient = decode_request_frame(&exact).unwrap();
        assert!(lenient.trailing.is_empty());
        let (h, b) = decode_request(&exact).unwrap();
        assert_eq!(
            (lenient.header, lenient.body),
            (h, RequestFrameBody::Decoded(b))
        );
        // A body that does not decode is still an error.
        assert!(decode_request_frame(&frame.slice(..body_end - 1)).is_err());
    }

    #[test]
    fn responses_stay_strict_about_trailing_bytes() {
        let mut w = BytesMut::new();
        encode_response_body(
            &mut w,
            &ResponseHeader {
                correlation_id: 4,
                ..Default::default()
            },
            ApiKey::API_VERSIONS,
            3,
            &ResponseBody::ApiVersions(ApiVersionsResponse::default()),
        )
        .unwrap();
        w.extend_from_slice(&[0]);
        let frame = w.split_off(4).freeze();
        assert_eq!(
            decode_response(&frame, ApiKey::API_VERSIONS, 3)
                .unwrap_err()
                .kind(),
            &DecodeErrorKind::TrailingData(1)
        );
    }
}
