//! Frame decoding with the broker's own tolerances, on top of the strict codec.
//!
//! Two things real clients put on the wire that the Java broker accepts and the strict codec
//! (`kafka_protocol::frame::decode_request`) refuses:
//!
//! - **ApiVersions above the known range** (KIP-511): a client opens with its newest
//!   ApiVersions version (franz-go: v5). The broker reads only the header, answers in the v0
//!   layout with `UNSUPPORTED_VERSION` and its ranges, and the client retries lower. Here the
//!   request body is read with the highest known version's layout (when that fails, e.g.
//!   because the newer version added fields, it is kept as unparsed bytes) and the response as
//!   v0.
//! - **Bytes after a complete request body**: Java's generated `read` ignores what follows the
//!   body (librdkafka 2.x sends Metadata v13 with 3 extra bytes), so the broker answers normally.
//!   Here they are counted and reported, not treated as a failure. Responses stay strict.

use bytes::Bytes;
use kafka_protocol::codec::Reader;
use kafka_protocol::generated::RequestHeader;
use kafka_protocol::{ApiKey, DecodeError, DecodeErrorKind, Message, RequestBody};

/// `ApiVersions`, whose version negotiation has the KIP-511 fallback.
const API_VERSIONS: ApiKey = ApiKey(18);

/// A request decoded the way the broker reads it.
#[derive(Debug, Clone)]
pub struct LenientRequest {
    /// The header.
    pub header: RequestHeader,
    /// The body, or for an ApiVersions request above the known range whose body does not read
    /// with the highest known layout, the body's bytes.
    pub body: Result<RequestBody, Bytes>,
    /// The version whose layout the body was read with, when it differs from the header's.
    pub decoded_as: Option<i16>,
    /// Bytes after the complete body (ignored, as the broker does).
    pub trailing: usize,
}

/// Decodes a request frame (without its length prefix) as the Java broker would.
pub fn decode_request(frame: &Bytes) -> Result<LenientRequest, DecodeError> {
    let r = Reader::from_bytes(frame);
    let Some(b) = frame.get(..4) else {
        return Err(r.error(DecodeErrorKind::UnexpectedEof {
            needed: 4,
            remaining: frame.len(),
        }));
    };
    let key = ApiKey(i16::from_be_bytes([b[0], b[1]]));
    let version = i16::from_be_bytes([b[2], b[3]]);
    let Some(info) = key.info() else {
        return Err(r.error(DecodeErrorKind::UnknownApiKey(key.0)));
    };
    let layout = if (info.lowest..=info.highest).contains(&version) {
        version
    } else if key == API_VERSIONS && version > info.highest {
        info.highest
    } else {
        return Err(r.error(DecodeErrorKind::UnsupportedVersion {
            message: info.name,
            version,
        }));
    };
    let mut r = r;
    let header = RequestHeader::decode(&mut r, key.request_header_version(layout))
        .map_err(|e| e.in_field("RequestHeader"))?;
    let body_start = r.position();
    match RequestBody::decode(key, &mut r, layout) {
        Ok(body) => Ok(LenientRequest {
            header,
            body: Ok(body),
            decoded_as: (layout != version).then_some(layout),
            trailing: r.remaining(),
        }),
        Err(_) if layout != version => Ok(LenientRequest {
            header,
            body: Err(frame.slice(body_start..)),
            decoded_as: None,
            trailing: 0,
        }),
        Err(e) => Err(e),
    }
}

/// The version whose layout the response to a request of `key` at `version` has: v0 for an
/// ApiVersions request above the known range (KIP-511), else `version`.
pub fn response_layout(key: ApiKey, version: i16) -> i16 {
    match key.info() {
        Some(info) if key == API_VERSIONS && version > info.highest => 0,
        _ => version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::generated::ApiVersionsRequest;

    fn api_versions_frame(version_on_wire: i16, extra: &[u8]) -> Bytes {
        let mut w = BytesMut::new();
        kafka_protocol::frame::encode_request(
            &mut w,
            7,
            Some("c"),
            4,
            &ApiVersionsRequest {
                client_software_name: "x".into(),
                client_software_version: "1".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let mut frame = w.split_off(4);
        frame[2..4].copy_from_slice(&version_on_wire.to_be_bytes());
        frame.extend_from_slice(extra);
        frame.freeze()
    }

    #[test]
    fn api_versions_above_range_reads_as_highest() {
        let highest = API_VERSIONS.info().unwrap().highest;
        let d = decode_request(&api_versions_frame(highest + 1, &[])).unwrap();
        assert_eq!(d.decoded_as, Some(highest));
        assert_eq!(d.header.request_api_version, highest + 1);
        assert_eq!(d.header.correlation_id, 7);
        assert_eq!(d.trailing, 0);
        assert_eq!(response_layout(API_VERSIONS, highest + 1), 0);
        assert_eq!(response_layout(API_VERSIONS, highest), highest);
    }

    #[test]
    fn unreadable_newer_api_versions_body_is_kept_unparsed() {
        let highest = API_VERSIONS.info().unwrap().highest;
        let mut frame = BytesMut::from(&api_versions_frame(highest + 1, &[])[..]);
        let last = frame.len() - 1;
        frame[last] = 0x17; // a tagged-field count the bytes cannot hold
        frame.extend_from_slice(b"abc");
        let d = decode_request(&frame.freeze()).unwrap();
        assert_eq!(d.decoded_as, None);
        assert!(d.body.unwrap_err().ends_with(b"\x17abc"));
    }

    #[test]
    fn trailing_bytes_are_counted() {
        let d = decode_request(&api_versions_frame(4, &[1, 0, 0])).unwrap();
        assert_eq!(d.decoded_as, None);
        assert_eq!(d.trailing, 3);
    }

    #[test]
    fn unknown_versions_of_other_apis_fail() {
        let mut frame = BytesMut::from(&api_versions_frame(4, &[])[..]);
        frame[0..2].copy_from_slice(&3i16.to_be_bytes());
        frame[2..4].copy_from_slice(&99i16.to_be_bytes());
        assert!(decode_request(&frame.freeze()).is_err());
        assert!(decode_request(&Bytes::from_static(&[0, 1])).is_err());
    }
}
