//! Structure-aware round trips: the fuzzer's bytes drive [`arbitrary`] to generate a valid
//! message of some API key and version (the `arbitrary` feature), which must encode, decode back
//! to the same value, and encode again to the same bytes, inside a whole frame.

use arbitrary::Unstructured;
use bytes::BytesMut;

use super::{first_difference, select, Outcome, Verdict, Violation};
use crate::arbitrary_support::ArbitraryVersioned;
use crate::frame::{decode_request, decode_response, encode_request_body, encode_response_body};
use crate::generated::{RequestHeader, ResponseHeader};
use crate::{RequestBody, ResponseBody};

/// A generated request frame round-trips.
pub fn structured_request(data: &[u8]) -> Outcome {
    const CHECK: &str = "structured_request";
    let mut u = Unstructured::new(data);
    let (Ok(k), Ok(v)) = (u.arbitrary::<u8>(), u.arbitrary::<u8>()) else {
        return Ok(Verdict::Rejected);
    };
    let (key, version) = select(k, v);
    let header_version = key.request_header_version(version);
    let (Ok(mut header), Ok(body)) = (
        RequestHeader::arbitrary_versioned(&mut u, header_version),
        RequestBody::arbitrary_for(key, &mut u, version),
    ) else {
        return Ok(Verdict::Rejected);
    };
    header.request_api_key = key.0;
    header.request_api_version = version;
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} request: {s}"));
    let mut out = BytesMut::new();
    encode_request_body(&mut out, &header, &body)
        .map_err(|e| what(format!("generated value does not encode: {e}")))?;
    let frame = out.split_off(4).freeze();
    let (header2, body2) =
        decode_request(&frame).map_err(|e| what(format!("encoding does not decode: {e}")))?;
    if header2 != header {
        return Err(what(format!("header {header:?} came back as {header2:?}")));
    }
    if body2 != body {
        return Err(what(format!("body {body:?} came back as {body2:?}")));
    }
    let mut again = BytesMut::new();
    encode_request_body(&mut again, &header2, &body2)
        .map_err(|e| what(format!("decoded value does not encode: {e}")))?;
    if again[4..] != frame[..] {
        return Err(what(format!(
            "second encoding differs: {}",
            first_difference(&frame, &again[4..])
        )));
    }
    Ok(Verdict::Accepted)
}

/// A generated response frame round-trips.
pub fn structured_response(data: &[u8]) -> Outcome {
    const CHECK: &str = "structured_response";
    let mut u = Unstructured::new(data);
    let (Ok(k), Ok(v)) = (u.arbitrary::<u8>(), u.arbitrary::<u8>()) else {
        return Ok(Verdict::Rejected);
    };
    let (key, version) = select(k, v);
    let header_version = key.response_header_version(version);
    let (Ok(header), Ok(body)) = (
        ResponseHeader::arbitrary_versioned(&mut u, header_version),
        ResponseBody::arbitrary_for(key, &mut u, version),
    ) else {
        return Ok(Verdict::Rejected);
    };
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} response: {s}"));
    let mut out = BytesMut::new();
    encode_response_body(&mut out, &header, key, version, &body)
        .map_err(|e| what(format!("generated value does not encode: {e}")))?;
    let frame = out.split_off(4).freeze();
    let (header2, body2) = decode_response(&frame, key, version)
        .map_err(|e| what(format!("encoding does not decode: {e}")))?;
    if header2 != header {
        return Err(what(format!("header {header:?} came back as {header2:?}")));
    }
    if body2 != body {
        return Err(what(format!("body {body:?} came back as {body2:?}")));
    }
    let mut again = BytesMut::new();
    encode_response_body(&mut again, &header2, key, version, &body2)
        .map_err(|e| what(format!("decoded value does not encode: {e}")))?;
    if again[4..] != frame[..] {
        return Err(what(format!(
            "second encoding differs: {}",
            first_difference(&frame, &again[4..])
        )));
    }
    Ok(Verdict::Accepted)
}
