//! Whole request and response frames (without the size prefix), dispatched on the API key and
//! version that the input's first two bytes select.
//!
//! Input layout: `[key selector, version selector, rest...]`. For a request the frame decoded is
//! `api key (i16), version (i16), rest` (so `rest` starts with the correlation id); for a
//! response it is `rest` itself, decoded as the selected key and version.

use bytes::{BufMut, Bytes, BytesMut};

use super::{first_difference, select, Outcome, Verdict, Violation};
use crate::frame::{decode_request, decode_response, encode_request_body, encode_response_body};
use crate::{ApiKey, ResponseBody};

/// A request frame decodes only to something that encodes back to the same bytes.
pub fn request_frame(data: &[u8]) -> Outcome {
    let Some(([k, v], rest)) = data.split_first_chunk::<2>() else {
        return Ok(Verdict::Rejected);
    };
    let (key, version) = select(*k, *v);
    let mut frame = BytesMut::with_capacity(rest.len() + 4);
    frame.put_i16(key.0);
    frame.put_i16(version);
    frame.put_slice(rest);
    check_request(&frame.freeze())
}

/// The request-frame property for a frame (without size prefix) from anywhere, e.g. a capture.
pub fn check_request(frame: &Bytes) -> Outcome {
    const CHECK: &str = "request_frame";
    let Ok((header, body)) = decode_request(frame) else {
        return Ok(Verdict::Rejected);
    };
    let (key, version) = (ApiKey(header.request_api_key), header.request_api_version);
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} request: {s}"));
    if body.api_key() != key {
        return Err(what(format!("decoded as {}", body.api_key())));
    }
    let mut out = BytesMut::new();
    encode_request_body(&mut out, &header, &body)
        .map_err(|e| what(format!("decoded but does not encode: {e}")))?;
    same_frame(frame, &out).map_err(what)
}

/// A response frame decodes only to something that encodes back to the same bytes.
pub fn response_frame(data: &[u8]) -> Outcome {
    let Some(([k, v], rest)) = data.split_first_chunk::<2>() else {
        return Ok(Verdict::Rejected);
    };
    let (key, version) = select(*k, *v);
    check_response(&Bytes::copy_from_slice(rest), key, version)
}

/// The response-frame property for a frame (without size prefix) of a known key and version.
pub fn check_response(frame: &Bytes, key: ApiKey, version: i16) -> Outcome {
    const CHECK: &str = "response_frame";
    let Ok((header, body)) = decode_response(frame, key, version) else {
        return Ok(Verdict::Rejected);
    };
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} response: {s}"));
    if body.api_key() != key {
        return Err(what(format!("decoded as {}", body.api_key())));
    }
    let mut out = BytesMut::new();
    encode_response_body(&mut out, &header, key, version, &body)
        .map_err(|e| what(format!("decoded but does not encode: {e}")))?;
    same_frame(frame, &out).map_err(what)
}

/// `encoded` (with its size prefix) holds exactly `frame`.
fn same_frame(frame: &[u8], encoded: &[u8]) -> Result<Verdict, String> {
    let Some((size, body)) = encoded.split_first_chunk::<4>() else {
        return Err("encoding has no size prefix".into());
    };
    if u32::from_be_bytes(*size) as usize != body.len() {
        return Err(format!(
            "size prefix {} for {} bytes",
            u32::from_be_bytes(*size),
            body.len()
        ));
    }
    if body != frame {
        return Err(format!(
            "re-encoding differs: {}",
            first_difference(frame, body)
        ));
    }
    Ok(Verdict::Accepted)
}

/// A response body alone (the header already stripped, as a client's connection hands it on)
/// decodes only to something that encodes back to the same bytes.
pub fn check_response_body(body: &Bytes, key: ApiKey, version: i16) -> Outcome {
    const CHECK: &str = "response_body";
    let mut r = crate::codec::Reader::from_bytes(body);
    let Ok(decoded) =
        ResponseBody::decode(key, &mut r, version).and_then(|b| r.finish().map(|()| b))
    else {
        return Ok(Verdict::Rejected);
    };
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} response body: {s}"));
    let mut out = BytesMut::new();
    decoded
        .encode(&mut out, version)
        .map_err(|e| what(format!("decoded but does not encode: {e}")))?;
    if out[..] != body[..] {
        return Err(what(format!(
            "re-encoding differs: {}",
            first_difference(body, &out)
        )));
    }
    Ok(Verdict::Accepted)
}
