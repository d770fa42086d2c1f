//! One record, and the v2 record framing (KIP-98):
//!
//! ```text
//! length: varint            (bytes after this field)
//! attributes: int8          (unused, kept)
//! timestampDelta: varlong   (from the batch's baseTimestamp)
//! offsetDelta: varint       (from the batch's baseOffset)
//! keyLength: varint, key    (-1 = null)
//! valueLength: varint, value
//! headers: varint count, then per header:
//!     headerKeyLength: varint, headerKey (UTF-8, never null)
//!     headerValueLength: varint, value (-1 = null)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::header::Header;
use crate::codec::{put_varint, unsigned_varint_len, Reader};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// A record of any magic.
///
/// `offset` and `timestamp` are absolute. For magic 2 the stored deltas are kept too, so that a
/// decoded batch re-encodes byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The timestamp as Kafka reports it: for `LogAppendTime` batches the batch's max timestamp
    /// (Java's `DefaultRecordBatch` and `AbstractLegacyRecordBatch` do the same), else the
    /// record's own. `-1` ([`NO_TIMESTAMP`](super::NO_TIMESTAMP)) when there is none.
    pub timestamp: i64,
    /// Magic 2: the `timestampDelta` as stored, from the batch's base timestamp. 0 otherwise.
    pub timestamp_delta: i64,
    /// The record's attributes byte (magic 2: unused, written 0; magic 0/1: the message's).
    pub attributes: i8,
    /// The producer sequence number of this record: the batch's base sequence plus the offset
    /// delta, wrapping at `i32::MAX` as Java does; -1 without idempotence or for magic 0/1.
    pub sequence: i32,
    /// The key; `None` is null, distinct from empty.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone), distinct from empty.
    pub value: Option<Bytes>,
    /// Headers in wire order, duplicates kept (magic 2 only).
    pub headers: Vec<Header>,
}

/// What a v2 record needs from its batch to become absolute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V2Context {
    pub base_offset: i64,
    pub base_timestamp: i64,
    /// `Some(max_timestamp)` when the batch is `LogAppendTime`.
    pub log_append_time: Option<i64>,
    pub base_sequence: i32,
}

/// Java's `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0.
pub(crate) fn increment_sequence(base: i32, delta: i32) -> i32 {
    if base < 0 {
        return -1;
    }
    if delta < 0 {
        return base.wrapping_add(delta);
    }
    if base > i32::MAX - delta {
        base - (i32::MAX - delta) - 1
    } else {
        base + delta
    }
}

#[cold]
fn malformed(r: &Reader<'_>, why: &str) -> DecodeError {
    r.error(DecodeErrorKind::Records(why.to_owned()))
}

/// A varint length then that many bytes; a negative length is null (Java: `size < 0`). With
/// `KEEP` off the bytes are checked and skipped, not sliced (always `None`).
#[inline(always)]
fn nullable_varint_bytes<const KEEP: bool>(
    r: &mut Reader<'_>,
) -> Result<Option<Bytes>, DecodeError> {
    let len = r.varint()?;
    if len < 0 {
        return Ok(None);
    }
    if KEEP {
        r.bytes(len as usize).map(Some)
    } else {
        r.slice(len as usize).map(|_| None)
    }
}

/// Decodes one v2 record at the reader's position.
#[inline(always)]
pub(crate) fn decode_v2(r: &mut Reader<'_>, ctx: &V2Context) -> Result<Record, DecodeError> {
    read_v2::<true>(r, ctx)
}

/// Checks one v2 record at the reader's position exactly as [`decode_v2`] does (same checks,
/// same errors, same end position) without slicing its key, value and headers out: the
/// returned record has them `None` and empty. For readers that only count records (a slice of
/// shared bytes costs two atomic reference count updates, most of a small record's decode).
#[inline(always)]
pub(crate) fn check_v2(r: &mut Reader<'_>, ctx: &V2Context) -> Result<Record, DecodeError> {
    read_v2::<false>(r, ctx)
}

/// [`decode_v2`] (`KEEP`) and [`check_v2`]: one reader, so that both always agree.
#[inline(always)]
fn read_v2<const KEEP: bool>(r: &mut Reader<'_>, ctx: &V2Context) -> Result<Record, DecodeError> {
    let len = r.varint()?;
    if len < 0 {
        return Err(malformed(r, "negative record length"));
    }
    // The record must fill exactly its length (Java: "Invalid record size"). The fields are
    // read from the enclosing reader, which bounds them to the batch, and the length is checked
    // afterwards: cheaper than a sub-reader on this hot path, and the same verdict.
    if len as usize > r.remaining() {
        return Err(r.error(DecodeErrorKind::LengthExceedsInput {
            claimed: len as u64,
            remaining: r.remaining(),
        }));
    }
    let end = r.position() + len as usize;
    let body = r;
    let attributes = body.i8()?;
    let timestamp_delta = body.varlong()?;
    let offset_delta = body.varint()?;
    let key = nullable_varint_bytes::<KEEP>(body)?;
    let value = nullable_varint_bytes::<KEEP>(body)?;
    let count = body.varint()?;
    if count < 0 {
        // Java: "Found invalid number of record headers".
        return Err(malformed(body, "negative header count"));
    }
    let mut headers = Vec::new();
    if count > 0 {
        if KEEP {
            // Each header takes at least two bytes: never reserve more than the input can hold.
            headers.reserve((count as usize).min(body.remaining() / 2));
        }
        for _ in 0..count {
            let klen = body.varint()?;
            if klen < 0 {
                // Java: "Invalid negative header key size"; KIP-82 keys are non-null strings.
                return Err(malformed(body, "negative header key length"));
            }
            if KEEP {
                let key = body.bytes(klen as usize)?;
                let value = nullable_varint_bytes::<KEEP>(body)?;
                headers.push(Header { key, value });
            } else {
                body.slice(klen as usize)?;
                nullable_varint_bytes::<KEEP>(body)?;
            }
        }
    }
    if body.position() != end {
        return Err(malformed(body, "record length does not match its fields"));
    }
    Ok(Record {
        offset: ctx.base_offset.wrapping_add(i64::from(offset_delta)),
        timestamp: match ctx.log_append_time {
            Some(t) => t,
            None => ctx.base_timestamp.wrapping_add(timestamp_delta),
        },
        timestamp_delta,
        attributes,
        sequence: increment_sequence(ctx.base_sequence, offset_delta),
        key,
        value,
        headers,
    })
}

/// Bytes of a zigzag varint.
#[inline]
pub(crate) fn varint_size(v: i32) -> usize {
    unsigned_varint_len(((v << 1) ^ (v >> 31)) as u32)
}

/// Bytes of a zigzag varlong.
#[inline]
pub(crate) fn varlong_size(v: i64) -> usize {
    let raw = ((v << 1) ^ (v >> 63)) as u64;
    let bits = 64 - (raw | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A field length as the `i32` the wire needs.
#[inline]
pub(crate) fn len_i32(len: usize) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong { len })
}

#[inline]
fn nullable_size(v: Option<&[u8]>) -> Result<usize, EncodeError> {
    Ok(match v {
        None => 1,
        Some(b) => varint_size(len_i32(b.len())?) + b.len(),
    })
}

/// The size of a v2 record body (everything after its length varint).
#[inline]
pub(crate) fn v2_body_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> Result<usize, EncodeError> {
    let mut size = 1
        + varlong_size(timestamp_delta)
        + varint_size(offset_delta)
        + nullable_size(key)?
        + nullable_size(value)?
        + varint_size(len_i32(headers.len())?);
    for h in headers {
        size += varint_size(len_i32(h.key.len())?) + h.key.len();
        size += nullable_size(h.value.as_deref())?;
    }
    Ok(size)
}

#[inline]
fn put_nullable(buf: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => put_varint(buf, -1),
        Some(b) => {
            // Lengths were checked by `v2_body_size`.
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

/// Writes a v2 record whose body size `v2_body_size` computed.
///
/// The fields up to the value's bytes are gathered in a stack buffer and copied in one go (or
/// two, around a key): `BufMut::put_u8` per varint byte checks capacity and moves the length
/// each time, which cost a producer more than copying a 100-byte value.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn put_v2(
    buf: &mut BytesMut,
    body_size: usize,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) {
    // Length (5) + attributes (1) + timestamp delta (10) + offset delta (5) + key length (5)
    // + value length (5) at their widest.
    let mut head = [0u8; 31];
    let mut n = put_zigzag_at(&mut head, 0, i64::from(body_size as i32));
    head[n] = attributes as u8;
    n = put_zigzag_at(&mut head, n + 1, timestamp_delta);
    n = put_zigzag_at(&mut head, n, i64::from(offset_delta));
    n = put_zigzag_at(&mut head, n, key.map_or(-1, |k| k.len() as i64));
    if let Some(k) = key {
        buf.extend_from_slice(&head[..n]);
        buf.extend_from_slice(k);
        n = 0;
    }
    n = put_zigzag_at(&mut head, n, value.map_or(-1, |v| v.len() as i64));
    buf.extend_from_slice(&head[..n]);
    if let Some(v) = value {
        buf.extend_from_slice(v);
    }
    put_varint(buf, headers.len() as i32);
    for h in headers {
        put_varint(buf, h.key.len() as i32);
        buf.put_slice(&h.key);
        put_nullable(buf, h.value.as_deref());
    }
}

/// Writes `v` zigzag-encoded as a varint at `head[at..]`; returns the position after it. An
/// `i32` widened to `i64` encodes to the same bytes as a zigzag `varint` (both map it to the
/// same unsigned number).
#[inline]
fn put_zigzag_at(head: &mut [u8; 31], mut at: usize, v: i64) -> usize {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        head[at] = (raw as u8) | 0x80;
        raw >>= 7;
        at += 1;
    }
    head[at] = raw as u8;
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::put_varlong;

    fn ctx() -> V2Context {
        V2Context {
            base_offset: 100,
            base_timestamp: 1000,
            log_append_time: None,
            base_sequence: 5,
        }
    }

    #[test]
    fn put_v2_writes_what_the_field_by_field_encoding_does() {
        let headers = [Header::new("h", Some("v")), Header::new("n", None::<Bytes>)];
        let long = vec![7u8; 300];
        for (ts, off, key, value, hs) in [
            (0i64, 0i32, None, Some(&b"v"[..]), &headers[..0]),
            (-1, 1, Some(&b"key"[..]), None, &headers[..]),
            (
                i64::MAX,
                i32::MAX,
                Some(&long[..]),
                Some(&long[..]),
                &headers[..1],
            ),
            (i64::MIN, 63, Some(&b""[..]), Some(&b""[..]), &headers[..0]),
        ] {
            let body = v2_body_size(ts, off, key, value, hs).unwrap();
            let mut fast = BytesMut::new();
            put_v2(&mut fast, body, 3, ts, off, key, value, hs);
            let mut slow = BytesMut::new();
            put_varint(&mut slow, body as i32);
            slow.put_i8(3);
            put_varlong(&mut slow, ts);
            put_varint(&mut slow, off);
            put_nullable(&mut slow, key);
            put_nullable(&mut slow, value);
            put_varint(&mut slow, hs.len() as i32);
            for h in hs {
                put_varint(&mut slow, h.key.len() as i32);
                slow.put_slice(&h.key);
                put_nullable(&mut slow, h.value.as_deref());
            }
            assert_eq!(fast, slow);
            assert_eq!(fast.len(), varint_size(body as i32) + body);
        }
    }

    #[test]
    fn sizes_match_writes() {
        for v in [0i64, 1, -1, 63, 64, -65, i64::MAX, i64::MIN, 1 << 40] {
            let mut b = BytesMut::new();
            put_varlong(&mut b, v);
            assert_eq!(b.len(), varlong_size(v), "{v}");
        }
        for v in [0i32, 1, -1, 63, 64, -65, i32::MAX, i32::MIN] {
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_size(v), "{v}");
        }
    }

    #[test]
    fn record_round_trip_keeps_nulls_and_header_order() {
        let headers = vec![
            Header::new("a", Some("1")),
            Header::new("a", None::<Bytes>),
            Header::new("", Some("")),
        ];
        let size = v2_body_size(-3, 2, None, Some(b""), &headers).unwrap();
        let mut buf = BytesMut::new();
        put_v2(&mut buf, size, 0, -3, 2, None, Some(b""), &headers);
        let data = buf.freeze();
        let mut r = Reader::from_bytes(&data);
        let rec = decode_v2(&mut r, &ctx()).unwrap();
        assert!(r.is_empty());
        assert_eq!(rec.offset, 102);
        assert_eq!(rec.timestamp, 997);
        assert_eq!(rec.sequence, 7);
        assert_eq!(rec.key, None);
        assert_eq!(rec.value.as_deref(), Some(&b""[..]));
        assert_eq!(rec.headers, headers);
    }

    #[test]
    fn known_bytes_from_the_protocol_guide() {
        // length 8, attributes 0, ts delta 0, offset delta 0, key null, value "hi", 0 headers...
        let data = Bytes::from_static(&[0x10, 0x00, 0x00, 0x00, 0x01, 0x04, b'h', b'i', 0x00]);
        let rec = decode_v2(&mut Reader::from_bytes(&data), &ctx()).unwrap();
        assert_eq!(rec.value.as_deref(), Some(&b"hi"[..]));
        // ...and a length one byte too long or too short is an error.
        for bad_len in [0x0eu8, 0x12] {
            let mut v = data.to_vec();
            v[0] = bad_len;
            v.push(0);
            let v = Bytes::from(v);
            assert!(decode_v2(&mut Reader::from_bytes(&v), &ctx()).is_err());
        }
    }

    #[test]
    fn sequence_wraps_like_java() {
        assert_eq!(increment_sequence(-1, 5), -1);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(10, 3), 13);
    }

    #[test]
    fn negative_header_count_and_key_length_fail() {
        for bytes in [
            &[0x0a, 0, 0, 0, 1, 1, 0x01][..],         // header count -1
            &[0x0c, 0, 0, 0, 1, 1, 0x02, 0x01, 0x01], // header key length -1
        ] {
            let mut v = bytes.to_vec();
            v[0] = ((v.len() - 1) * 2) as u8;
            let v = Bytes::from(v);
            assert!(decode_v2(&mut Reader::from_bytes(&v), &ctx()).is_err());
        }
    }
}
