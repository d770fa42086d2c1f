//! Whole request and response frames (without the size prefix), dispatched on the API key and
//! version that the input's first two bytes select.
//!
//! Input layout: `[key selector, version selector, rest...]`. For a request the frame decoded is
//! `api key (i16), version (i16), rest` (so `rest` starts with the correlation id); for a
//! response it is `rest` itself, decoded as the selected key and version.

use bytes::{BufMut, Bytes, BytesMut};

use super::{first_difference, select, Outcome, Verdict, Violation};
use crate::frame::{
    decode_request, decode_request_frame, decode_response, encode_request_frame,
    encode_response_body, RequestFrame, RequestFrameBody,
};
use crate::generated::ResponseHeader;
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
///
/// The frame is read as the broker reads it ([`decode_request_frame`]: bytes after the body
/// kept, a version above the known range kept as bytes) and must encode back to the same bytes
/// ([`encode_request_frame`]). The strict [`decode_request`] must agree: it accepts exactly the
/// frames with a decoded body and nothing after it, with the same header and body.
pub fn check_request(frame: &Bytes) -> Outcome {
    const CHECK: &str = "request_frame";
    let strict = decode_request(frame);
    let Ok(decoded) = decode_request_frame(frame) else {
        if let Ok((h, _)) = strict {
            return Err(Violation::new(
                CHECK,
                format!(
                    "{} v{} request: decode_request accepts what decode_request_frame refuses",
                    ApiKey(h.request_api_key),
                    h.request_api_version
                ),
            ));
        }
        return Ok(Verdict::Rejected);
    };
    let (key, version) = (decoded.api_key(), decoded.version());
    let what = |s: String| Violation::new(CHECK, format!("{key} v{version} request: {s}"));
    match (&decoded.body, strict) {
        (RequestFrameBody::Decoded(body), Ok((h, b))) if decoded.trailing.is_empty() => {
            if (&h, &b) != (&decoded.header, body) {
                return Err(what(format!(
                    "decode_request gives {h:?} {b:?}, decode_request_frame {decoded:?}"
                )));
            }
        }
        (RequestFrameBody::Decoded(_), Err(_)) if !decoded.trailing.is_empty() => {}
        (RequestFrameBody::UnsupportedVersion(_), Err(_)) => {}
        (_, strict) => {
            return Err(what(format!(
                "decode_request {} what decode_request_frame reads as {decoded:?}",
                if strict.is_ok() { "accepts" } else { "refuses" }
            )))
        }
    }
    if let RequestFrameBody::Decoded(body) = &decoded.body {
        if body.api_key() != key {
            return Err(what(format!("decoded as {}", body.api_key())));
        }
    }
    let encode = |f: &RequestFrame| {
        let mut out = BytesMut::new();
        encode_request_frame(&mut out, f)
            .map_err(|e| format!("decoded but does not encode: {e}"))?;
        unframe(out)
    };
    let first = encode(&decoded).map_err(what)?;
    compare(frame, &first, &decoded, |bytes| {
        let f =
            decode_request_frame(bytes).map_err(|e| format!("re-encoding does not decode: {e}"))?;
        let again = encode(&f)?;
        Ok((f, again))
    })
    .map_err(what)
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
    let encode = |h: &ResponseHeader, b: &ResponseBody| {
        let mut out = BytesMut::new();
        encode_response_body(&mut out, h, key, version, b)
            .map_err(|e| format!("decoded but does not encode: {e}"))?;
        unframe(out)
    };
    let first = encode(&header, &body).map_err(what)?;
    compare(frame, &first, &(header, body), |bytes| {
        let (h, b) = decode_response(bytes, key, version)
            .map_err(|e| format!("re-encoding does not decode: {e}"))?;
        let again = encode(&h, &b)?;
        Ok(((h, b), again))
    })
    .map_err(what)
}

/// The frame inside an encoding: checks the size prefix and strips it.
fn unframe(mut encoded: BytesMut) -> Result<Bytes, String> {
    let Some(size) = encoded.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)) else {
        return Err("encoding has no size prefix".into());
    };
    let body = encoded.split_off(4).freeze();
    if size as usize != body.len() {
        return Err(format!("size prefix {size} for {} bytes", body.len()));
    }
    Ok(body)
}

/// Compares the input with the encoding of what it decoded to. Equal bytes: accepted. Else the
/// input used a non-canonical form the decoder tolerates, as the Java client does (a negative
/// length other than -1 for null, a varint with redundant continuation bytes): then the
/// encoding must be no longer than the input, decode to the same value, and encode to itself
/// (the canonical form is a fixpoint).
pub(crate) fn compare<T: PartialEq + std::fmt::Debug>(
    input: &[u8],
    encoded: &Bytes,
    value: &T,
    again: impl FnOnce(&Bytes) -> Result<(T, Bytes), String>,
) -> Result<Verdict, String> {
    if encoded[..] == input[..] {
        return Ok(Verdict::Accepted);
    }
    if encoded.len() > input.len() {
        return Err(format!(
            "re-encoding is longer than the input: {}",
            first_difference(input, encoded)
        ));
    }
    let (value2, encoded2) = again(encoded)?;
    if &value2 != value {
        return Err(format!(
            "re-encoding ({}) decodes to another value: {value:?} became {value2:?}",
            first_difference(input, encoded)
        ));
    }
    if encoded2 != encoded {
        return Err(format!(
            "re-encoding is not stable: {}",
            first_difference(encoded, &encoded2)
        ));
    }
    Ok(Verdict::Normalized)
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
    let encode = |b: &ResponseBody| {
        let mut out = BytesMut::new();
        b.encode(&mut out, version)
            .map_err(|e| format!("decoded but does not encode: {e}"))?;
        Ok::<_, String>(out.freeze())
    };
    let first = encode(&decoded).map_err(what)?;
    compare(body, &first, &decoded, |bytes| {
        let mut r = crate::codec::Reader::from_bytes(bytes);
        let b = ResponseBody::decode(key, &mut r, version)
            .and_then(|b| r.finish().map(|()| b))
            .map_err(|e| format!("re-encoding does not decode: {e}"))?;
        let again = encode(&b)?;
        Ok((b, again))
    })
    .map_err(what)
}
