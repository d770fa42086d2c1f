//! Writing primitives into a [`BytesMut`]. Checks mirror the Java client's before-write checks.

use bytes::{BufMut, BytesMut};

use super::{IntElement, RawTaggedField, Uuid};
use crate::error::EncodeError;

/// Writes an unsigned varint (KIP-482).
#[inline]
pub fn put_unsigned_varint(w: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        w.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    w.put_u8(value as u8);
}

/// Bytes an unsigned varint takes.
#[inline]
pub fn unsigned_varint_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

/// Writes a zigzag `varint`.
#[inline]
pub fn put_varint(w: &mut BytesMut, value: i32) {
    put_unsigned_varint(w, ((value << 1) ^ (value >> 31)) as u32);
}

/// Writes a zigzag `varlong`.
#[inline]
pub fn put_varlong(w: &mut BytesMut, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        w.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    w.put_u8(raw as u8);
}

/// Writes a `bool` as 0 or 1.
#[inline]
pub fn put_bool(w: &mut BytesMut, value: bool) {
    w.put_u8(u8::from(value));
}

/// Writes a `uuid`.
#[inline]
pub fn put_uuid(w: &mut BytesMut, value: &Uuid) {
    w.put_slice(&value.0);
}

#[inline]
fn put_len(w: &mut BytesMut, len: usize, compact: bool, int16: bool) -> Result<(), EncodeError> {
    if compact {
        let plus_one = u32::try_from(len)
            .ok()
            .and_then(|n| n.checked_add(1))
            .ok_or(EncodeError::TooLong { len })?;
        put_unsigned_varint(w, plus_one);
    } else if int16 {
        w.put_i16(len as i16);
    } else {
        let n = i32::try_from(len).map_err(|_| EncodeError::TooLong { len })?;
        w.put_i32(n);
    }
    Ok(())
}

/// Writes a non-null `string`. Like Java, refuses strings over 32767 bytes in either form.
#[inline]
pub fn put_string(w: &mut BytesMut, value: &str, compact: bool) -> Result<(), EncodeError> {
    if value.len() > 0x7fff {
        return Err(EncodeError::StringTooLong { len: value.len() });
    }
    put_len(w, value.len(), compact, true)?;
    w.put_slice(value.as_bytes());
    Ok(())
}

/// Writes a nullable `string`: length -1 (or compact 0) for null.
#[inline]
pub fn put_nullable_string(
    w: &mut BytesMut,
    value: Option<&str>,
    compact: bool,
) -> Result<(), EncodeError> {
    match value {
        Some(s) => put_string(w, s, compact),
        None => {
            if compact {
                w.put_u8(0);
            } else {
                w.put_i16(-1);
            }
            Ok(())
        }
    }
}

/// Writes non-null `bytes` (int32 length or compact).
#[inline]
pub fn put_bytes(w: &mut BytesMut, value: &[u8], compact: bool) -> Result<(), EncodeError> {
    put_len(w, value.len(), compact, false)?;
    w.put_slice(value);
    Ok(())
}

/// Writes nullable `bytes`: length -1 (or compact 0) for null.
#[inline]
pub fn put_nullable_bytes(
    w: &mut BytesMut,
    value: Option<&[u8]>,
    compact: bool,
) -> Result<(), EncodeError> {
    match value {
        Some(b) => put_bytes(w, b, compact),
        None => {
            if compact {
                w.put_u8(0);
            } else {
                w.put_i32(-1);
            }
            Ok(())
        }
    }
}

/// Writes an array count; `None` writes null.
#[inline]
pub fn put_array_len(
    w: &mut BytesMut,
    len: Option<usize>,
    compact: bool,
) -> Result<(), EncodeError> {
    match len {
        Some(n) => put_len(w, n, compact, false),
        None => {
            if compact {
                w.put_u8(0);
            } else {
                w.put_i32(-1);
            }
            Ok(())
        }
    }
}

/// Writes an integer array (`[]int16`, `[]int32`, `[]int64`): count, then the elements.
#[inline(always)]
pub fn put_int_array<T: IntElement>(
    w: &mut BytesMut,
    items: &[T],
    compact: bool,
) -> Result<(), EncodeError> {
    let bytes = items.len() * T::WIDTH;
    if bytes <= 16 {
        // Short arrays (replica lists, ISRs): count and elements are assembled on the stack
        // and written with one fixed-size copy, then the buffer is cut back to their length;
        // cheaper than a capacity check and a copy per element.
        let mut tmp = [0u8; 24];
        let head = if compact {
            // At most 8 elements: the count plus one is a one-byte varint.
            tmp[0] = items.len() as u8 + 1;
            1
        } else {
            tmp[..4].copy_from_slice(&(items.len() as i32).to_be_bytes());
            4
        };
        for (out, &item) in tmp[head..].chunks_exact_mut(T::WIDTH).zip(items) {
            item.write_be(out);
        }
        let end = w.len() + head + bytes;
        w.put_slice(&tmp);
        w.truncate(end);
        return Ok(());
    }
    put_long_int_array(w, items, compact)
}

#[inline(never)]
fn put_long_int_array<T: IntElement>(
    w: &mut BytesMut,
    items: &[T],
    compact: bool,
) -> Result<(), EncodeError> {
    let bytes = items.len() * T::WIDTH;
    put_array_len(w, Some(items.len()), compact)?;
    w.reserve(bytes);
    for &item in items {
        item.put_be(w);
    }
    Ok(())
}

/// Writes a tagged-field section: the known fields (already encoded, in ascending tag order) and
/// the unknown ones kept from decoding, merged in ascending tag order as KIP-482 requires.
#[inline]
pub fn write_tagged_fields(
    w: &mut BytesMut,
    known: &[(u32, BytesMut)],
    unknown: &[RawTaggedField],
) -> Result<(), EncodeError> {
    // Almost every section is empty: one zero byte, written inline.
    if known.is_empty() && unknown.is_empty() {
        w.put_u8(0);
        return Ok(());
    }
    write_tagged_fields_slow(w, known, unknown)
}

#[inline(never)]
fn write_tagged_fields_slow(
    w: &mut BytesMut,
    known: &[(u32, BytesMut)],
    unknown: &[RawTaggedField],
) -> Result<(), EncodeError> {
    let count = known.len() + unknown.len();
    let count32 = u32::try_from(count).map_err(|_| EncodeError::TooLong { len: count })?;
    put_unsigned_varint(w, count32);
    if count == 0 {
        return Ok(());
    }
    let mut unknown_sorted: Vec<&RawTaggedField> = unknown.iter().collect();
    unknown_sorted.sort_by_key(|f| f.tag);
    let mut u = unknown_sorted.into_iter().peekable();
    let put_one = |w: &mut BytesMut, tag: u32, data: &[u8]| -> Result<(), EncodeError> {
        put_unsigned_varint(w, tag);
        let len =
            u32::try_from(data.len()).map_err(|_| EncodeError::TooLong { len: data.len() })?;
        put_unsigned_varint(w, len);
        w.put_slice(data);
        Ok(())
    };
    for (tag, data) in known {
        while let Some(f) = u.next_if(|f| f.tag < *tag) {
            put_one(w, f.tag, &f.data)?;
        }
        put_one(w, *tag, data)?;
    }
    for f in u {
        put_one(w, f.tag, &f.data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Reader;

    #[test]
    fn varint_round_trip_edges() {
        for v in [
            0u32,
            1,
            127,
            128,
            16383,
            16384,
            2_097_151,
            2_097_152,
            u32::MAX,
        ] {
            let mut w = BytesMut::new();
            put_unsigned_varint(&mut w, v);
            assert_eq!(w.len(), unsigned_varint_len(v));
            assert_eq!(Reader::new(&w).unsigned_varint().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 300, -300] {
            let mut w = BytesMut::new();
            put_varlong(&mut w, v);
            assert_eq!(Reader::new(&w).varlong().unwrap(), v);
        }
        for v in [0i32, -1, 1, i32::MIN, i32::MAX] {
            let mut w = BytesMut::new();
            put_varint(&mut w, v);
            assert_eq!(Reader::new(&w).varint().unwrap(), v);
        }
    }

    #[test]
    fn int_arrays_write_count_and_elements() {
        for n in 0..12usize {
            let items: Vec<i32> = (0..n as i32).map(|i| i * 1_000_003 - 7).collect();
            for compact in [false, true] {
                let mut w = BytesMut::from(&b"x"[..]);
                put_int_array(&mut w, &items, compact).unwrap();
                let mut expected = BytesMut::from(&b"x"[..]);
                put_array_len(&mut expected, Some(n), compact).unwrap();
                for i in &items {
                    expected.put_i32(*i);
                }
                assert_eq!(w, expected, "{n} elements, compact {compact}");
            }
        }
        let mut w = BytesMut::new();
        put_int_array(&mut w, &[-1i16, 2, 3, 4, 5, 6, 7, 8], true).unwrap();
        assert_eq!(w.len(), 1 + 16);
        put_int_array(&mut w, &[i64::MIN, i64::MAX], false).unwrap();
        assert_eq!(&w[17..21], &[0, 0, 0, 2]);
        assert_eq!(&w[21..29], &i64::MIN.to_be_bytes());
    }

    #[test]
    fn long_strings_are_refused() {
        let s = "x".repeat(0x8000);
        let mut w = BytesMut::new();
        assert_eq!(
            put_string(&mut w, &s, false),
            Err(EncodeError::StringTooLong { len: 0x8000 })
        );
    }

    #[test]
    fn tagged_fields_merge_in_tag_order() {
        let mut w = BytesMut::new();
        let known = vec![(1u32, BytesMut::from(&[7u8][..]))];
        let unknown = vec![
            RawTaggedField {
                tag: 5,
                data: bytes::Bytes::from_static(&[9]),
            },
            RawTaggedField {
                tag: 0,
                data: bytes::Bytes::from_static(&[]),
            },
        ];
        write_tagged_fields(&mut w, &known, &unknown).unwrap();
        assert_eq!(&w[..], &[3, 0, 0, 1, 1, 7, 5, 1, 9]);
    }
}
