//! Heuristics: does a byte position look like the start of a Kafka frame?
//!
//! Used to validate the first frame of a connection, to resynchronise after a gap, and for port
//! auto-detection. All functions take the bytes starting at the 4-byte length prefix.

use super::correlation::Outstanding;

/// Highest API key considered plausible.
pub(crate) const MAX_API_KEY: i16 = 100;
/// Highest API version considered plausible.
pub(crate) const MAX_API_VERSION: i16 = 20;
/// Longest plausible client id.
pub(crate) const MAX_CLIENT_ID: i16 = 1024;
/// Smallest request: api_key, api_version, correlation_id, client_id length.
pub(crate) const MIN_REQUEST_LEN: i32 = 10;
/// Smallest response: correlation id plus a 2-byte error code.
pub(crate) const MIN_RESPONSE_LEN: i32 = 6;
/// Bytes needed to judge a request start (prefix + request header up to the client id length).
pub(crate) const REQUEST_PROBE: usize = 14;
/// Bytes needed to judge a response start (prefix + correlation id).
pub(crate) const RESPONSE_PROBE: usize = 8;

/// Answer of a plausibility check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Yes,
    No,
    /// Not enough bytes yet to decide.
    NeedMore,
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at + 4)?;
    Some(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    let s = b.get(at..at + 2)?;
    Some(i16::from_be_bytes([s[0], s[1]]))
}

/// The length prefix at the start of `b`, if 4 bytes are there.
pub(crate) fn length_prefix(b: &[u8]) -> Option<i32> {
    be_i32(b, 0)
}

/// The request header fields a plausibility check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestHeader<'a> {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    /// `None` for a null client id.
    pub client_id: Option<&'a [u8]>,
}

/// Checks a request header at the start of `body` (the frame after its length prefix), for a
/// frame `len` bytes long.
pub(crate) fn request_header(body: &[u8], len: i32) -> Result<RequestHeader<'_>, Verdict> {
    let (Some(key), Some(version), Some(corr), Some(cid_len)) = (
        be_i16(body, 0),
        be_i16(body, 2),
        be_i32(body, 4),
        be_i16(body, 8),
    ) else {
        return Err(Verdict::NeedMore);
    };
    let ok = len >= MIN_REQUEST_LEN
        && (0..=MAX_API_KEY).contains(&key)
        && (0..=MAX_API_VERSION).contains(&version)
        && corr >= 0
        && (-1..=MAX_CLIENT_ID).contains(&cid_len)
        && i32::from(cid_len) <= len - MIN_REQUEST_LEN;
    if !ok {
        return Err(Verdict::No);
    }
    let client_id = if cid_len < 0 {
        None
    } else {
        let id = body
            .get(10..10 + cid_len as usize)
            .ok_or(Verdict::NeedMore)?;
        if !id.iter().all(|c| (0x20..0x7f).contains(c)) {
            return Err(Verdict::No);
        }
        Some(id)
    };
    Ok(RequestHeader {
        api_key: key,
        api_version: version,
        correlation_id: corr,
        client_id,
    })
}

/// Checks a request start at `b[0]` (length prefix included). Returns the frame length and
/// header on success.
pub(crate) fn request_start(b: &[u8], max_len: u32) -> Result<(i32, RequestHeader<'_>), Verdict> {
    let len = length_prefix(b).ok_or(Verdict::NeedMore)?;
    if len < MIN_REQUEST_LEN || len as u32 > max_len {
        return Err(Verdict::No);
    }
    let header = request_header(&b[4..], len)?;
    Ok((len, header))
}

/// Could a Kafka request start at `b[0]`?
///
/// Length within `MIN_REQUEST_LEN..=max_len`, api key `0..=100`, api version `0..=20`,
/// non-negative correlation id, client id length `-1..=1024` fitting in the frame, and a
/// printable client id.
pub(crate) fn plausible_request(b: &[u8], max_len: u32) -> Verdict {
    match request_start(b, max_len) {
        Ok(_) => Verdict::Yes,
        Err(v) => v,
    }
}

/// Is the length prefix at `b[0]` sane for a response?
pub(crate) fn response_length(b: &[u8], max_len: u32) -> Verdict {
    match length_prefix(b) {
        None => Verdict::NeedMore,
        Some(len) if len >= MIN_RESPONSE_LEN && len as u32 <= max_len => Verdict::Yes,
        Some(_) => Verdict::No,
    }
}

/// Could a response start at `b[0]`? Length sane and correlation id outstanding.
pub(crate) fn plausible_response(b: &[u8], max_len: u32, outstanding: &Outstanding) -> Verdict {
    let (Some(len), Some(corr)) = (be_i32(b, 0), be_i32(b, 4)) else {
        return Verdict::NeedMore;
    };
    if len >= MIN_RESPONSE_LEN && len as u32 <= max_len && outstanding.contains(corr) {
        Verdict::Yes
    } else {
        Verdict::No
    }
}

/// A TLS handshake record at the very start of a stream (`0x16 0x03`).
pub(crate) fn is_tls_handshake(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0x16 && b[1] == 0x03
}

/// Any TLS record header (change cipher spec, alert, handshake, application data; version
/// 3.0 to 3.4), as seen when a capture starts in the middle of a TLS connection.
pub(crate) fn is_tls_record(b: &[u8]) -> bool {
    b.len() >= 3 && (0x14..=0x17).contains(&b[0]) && b[1] == 0x03 && b[2] <= 0x04
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(len: i32, key: i16, ver: i16, corr: i32, cid: &[u8]) -> Vec<u8> {
        let mut v = len.to_be_bytes().to_vec();
        v.extend_from_slice(&key.to_be_bytes());
        v.extend_from_slice(&ver.to_be_bytes());
        v.extend_from_slice(&corr.to_be_bytes());
        v.extend_from_slice(&(cid.len() as i16).to_be_bytes());
        v.extend_from_slice(cid);
        v
    }

    #[test]
    fn requests() {
        let max = 1 << 20;
        assert_eq!(
            plausible_request(&req(30, 18, 3, 1, b"client"), max),
            Verdict::Yes
        );
        let r = req(30, 18, 3, 7, b"x");
        let (len, h) = request_start(&r, max).unwrap();
        assert_eq!(
            (len, h.api_key, h.api_version, h.correlation_id),
            (30, 18, 3, 7)
        );
        assert_eq!(h.client_id, Some(&b"x"[..]));
        assert_eq!(
            plausible_request(&req(30, 18, 3, 1, b"cli\x01nt"), max),
            Verdict::No
        );
        assert_eq!(
            plausible_request(&req(30, 18, 3, 1, b"client")[..16], max),
            Verdict::NeedMore
        );
        assert_eq!(
            plausible_request(&req(30, 18, 3, 1, b"")[..13], max),
            Verdict::NeedMore
        );
        assert_eq!(
            plausible_request(&req(30, 101, 3, 1, b""), max),
            Verdict::No
        );
        assert_eq!(plausible_request(&req(30, -1, 3, 1, b""), max), Verdict::No);
        assert_eq!(plausible_request(&req(30, 1, 21, 1, b""), max), Verdict::No);
        assert_eq!(plausible_request(&req(30, 1, 2, -5, b""), max), Verdict::No);
        assert_eq!(plausible_request(&req(9, 1, 2, 5, b""), max), Verdict::No);
        assert_eq!(
            plausible_request(&req(max as i32 + 1, 1, 2, 5, b""), max),
            Verdict::No
        );
        assert_eq!(plausible_request(&req(-3, 1, 2, 5, b""), max), Verdict::No);
        // client id longer than the frame
        assert_eq!(
            plausible_request(&req(12, 1, 2, 5, b"abcdef"), max),
            Verdict::No
        );
        // null client id
        let mut v = req(10, 1, 2, 5, b"");
        v[12..14].copy_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(plausible_request(&v, max), Verdict::Yes);
        assert_eq!(request_start(&v, max).unwrap().1.client_id, None);
    }

    #[test]
    fn responses() {
        let mut out = Outstanding::new(8);
        out.insert(42);
        let mut r = 20i32.to_be_bytes().to_vec();
        r.extend_from_slice(&42i32.to_be_bytes());
        assert_eq!(plausible_response(&r, 1000, &out), Verdict::Yes);
        assert_eq!(plausible_response(&r[..7], 1000, &out), Verdict::NeedMore);
        assert_eq!(plausible_response(&r, 10, &out), Verdict::No);
        r[7] = 43;
        assert_eq!(plausible_response(&r, 1000, &out), Verdict::No);
        assert_eq!(response_length(&r, 1000), Verdict::Yes);
        assert_eq!(response_length(&r, 10), Verdict::No);
        assert_eq!(response_length(&r[..3], 10), Verdict::NeedMore);
    }

    #[test]
    fn tls() {
        assert!(is_tls_handshake(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert!(!is_tls_handshake(&[0x00, 0x00, 0x01, 0x02]));
        assert!(is_tls_record(&[0x17, 0x03, 0x03]));
        assert!(!is_tls_record(&[0x17, 0x03, 0x05]));
        assert!(!is_tls_record(&[0x17, 0x03]));
    }
}
