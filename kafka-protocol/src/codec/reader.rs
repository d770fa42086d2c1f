use bytes::Bytes;

use super::int_array::{IntArray, IntElement};
use super::{KafkaString, Uuid};
use crate::error::{DecodeError, DecodeErrorKind};

/// A bounded cursor over input bytes.
///
/// Every read checks the bytes left first; a sub-reader made with [`Reader::take`] cannot run
/// past its length prefix. When the reader was made from [`Bytes`], `bytes` and `records` fields
/// come out as zero-copy slices of that buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The input up to this reader's end; positions count from the start of the whole input,
    /// so that errors report absolute offsets and zero-copy slices index the owner directly.
    data: &'a [u8],
    owner: Option<&'a Bytes>,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a borrowed slice; byte fields are copied out.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            owner: None,
            pos: 0,
        }
    }

    /// A reader over shared bytes; byte fields are zero-copy slices of `data`.
    pub fn from_bytes(data: &'a Bytes) -> Self {
        Self {
            data: data.as_ref(),
            owner: Some(data),
            pos: 0,
        }
    }

    /// Bytes not yet read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Offset of the next byte, counted from the start of the whole input.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when everything was read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    /// An error of `kind` at the current position.
    #[cold]
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    /// Fails with [`DecodeErrorKind::TrailingData`] unless everything was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingData(self.remaining())))
        }
    }

    #[cold]
    fn eof(&self, needed: usize) -> DecodeError {
        self.error(DecodeErrorKind::UnexpectedEof {
            needed,
            remaining: self.remaining(),
        })
    }

    /// The next `n` bytes as a slice, advancing past them.
    #[inline]
    pub fn slice(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let data = self.data;
        match self
            .pos
            .checked_add(n)
            .and_then(|end| data.get(self.pos..end))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.eof(n)),
        }
    }

    /// The next `n` bytes as [`Bytes`]: a zero-copy slice when the input is shared.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if n > self.remaining() {
            return Err(self.eof(n));
        }
        Ok(self.bytes_within(n))
    }

    /// The next `n` bytes as [`Bytes`], `n` already checked against the bytes left.
    #[inline(always)]
    fn bytes_within(&mut self, n: usize) -> Bytes {
        let start = self.pos;
        self.pos += n;
        match self.owner {
            Some(owner) => owner.slice(start..self.pos),
            None => Bytes::copy_from_slice(&self.data[start..self.pos]),
        }
    }

    /// A sub-reader over the next `n` bytes, which this reader skips.
    pub fn take(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        if n > self.remaining() {
            return Err(self.error(DecodeErrorKind::LengthExceedsInput {
                claimed: n as u64,
                remaining: self.remaining(),
            }));
        }
        let sub = Reader {
            data: &self.data[..self.pos + n],
            owner: self.owner,
            pos: self.pos,
        };
        self.pos += n;
        Ok(sub)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        match self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
        {
            Some(chunk) => {
                self.pos += N;
                Ok(*chunk)
            }
            None => Err(self.eof(N)),
        }
    }

    /// `n` big-endian integers (`[]int16`, `[]int32`, `[]int64` fields), as in replica and ISR
    /// lists: one bounds check for the lot, and no allocation for short arrays.
    #[inline]
    pub fn int_array<T: IntElement>(&mut self, n: usize) -> Result<IntArray<T>, DecodeError> {
        let bytes = self.fixed_array_bytes(n, T::WIDTH)?;
        Ok(IntArray::from_be_bytes(bytes))
    }

    fn fixed_array_bytes(&mut self, n: usize, width: usize) -> Result<&'a [u8], DecodeError> {
        match n.checked_mul(width) {
            Some(len) => self.slice(len),
            None => Err(self.eof(usize::MAX)),
        }
    }

    /// An `int8`.
    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    /// An `int16`, big-endian.
    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    /// A `uint16`, big-endian.
    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// An `int32`, big-endian.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    /// A `uint32`, big-endian.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// An `int64`, big-endian.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A `float64`, IEEE 754 big-endian.
    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(self.array()?))
    }
    /// A `uuid`: 16 bytes.
    #[inline]
    pub fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid(self.array()?))
    }

    /// A `bool`: Java reads any non-zero byte as true, but only 0 and 1 re-encode to the same
    /// bytes, so anything else is an error here.
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => {
                self.pos -= 1;
                Err(self.error(DecodeErrorKind::InvalidBool(b)))
            }
        }
    }

    /// An unsigned varint of at most 5 bytes (KIP-482 lengths, counts and tags).
    #[inline(always)]
    pub fn unsigned_varint(&mut self) -> Result<u32, DecodeError> {
        // Most varints are one byte (lengths, counts, tags) or two (record fields): keep those
        // paths inlined.
        if let Some(&b) = self.data.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u32::from(b));
            }
            if let Some(&c) = self.data.get(self.pos + 1) {
                if c < 0x80 {
                    self.pos += 2;
                    return Ok(u32::from(b & 0x7f) | (u32::from(c) << 7));
                }
            }
        }
        self.unsigned_varint_slow()
    }

    #[inline(never)]
    fn unsigned_varint_slow(&mut self) -> Result<u32, DecodeError> {
        // With five bytes at hand no byte needs its own bounds check: lengths of 16 KiB and more
        // take three bytes and come here unless read by `length_varint`.
        if let Some(&[b0, b1, b2, b3, b4]) = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<5>())
        {
            if b0 < 0x80 {
                self.pos += 1;
                return Ok(u32::from(b0));
            }
            let mut value = u32::from(b0 & 0x7f) | (u32::from(b1 & 0x7f) << 7);
            if b1 < 0x80 {
                self.pos += 2;
                return Ok(value);
            }
            value |= u32::from(b2 & 0x7f) << 14;
            if b2 < 0x80 {
                self.pos += 3;
                return Ok(value);
            }
            value |= u32::from(b3 & 0x7f) << 21;
            if b3 < 0x80 {
                self.pos += 4;
                return Ok(value);
            }
            // The fifth byte may carry only the top 4 bits of a u32.
            self.pos += 5;
            if b4 > 0x0f {
                return Err(self.error(DecodeErrorKind::VarintTooLong));
            }
            return Ok(value | (u32::from(b4) << 28));
        }
        let mut value: u32 = 0;
        for i in 0..5 {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.eof(1));
            };
            self.pos += 1;
            if i == 4 && b > 0x0f {
                return Err(self.error(DecodeErrorKind::VarintTooLong));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::VarintTooLong))
    }

    /// An unsigned varint that is a length of `bytes` or `records` or an array count: as
    /// [`Reader::unsigned_varint`], with the three-byte case inline too, since records fields
    /// of 16 KiB to 2 MiB (a Produce or Fetch partition's) have three-byte lengths.
    #[inline(always)]
    fn length_varint(&mut self) -> Result<u32, DecodeError> {
        if let Some(&[b0, b1, b2]) = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<3>())
        {
            if b0 < 0x80 {
                self.pos += 1;
                return Ok(u32::from(b0));
            }
            let value = u32::from(b0 & 0x7f) | (u32::from(b1 & 0x7f) << 7);
            if b1 < 0x80 {
                self.pos += 2;
                return Ok(value);
            }
            if b2 < 0x80 {
                self.pos += 3;
                return Ok(value | (u32::from(b2) << 14));
            }
        }
        self.unsigned_varint_slow()
    }

    /// An unsigned varint of at most 10 bytes.
    #[inline(always)]
    pub fn unsigned_varlong(&mut self) -> Result<u64, DecodeError> {
        // Record timestamp deltas are mostly one or two bytes: keep those inline.
        if let Some(&b) = self.data.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
            if let Some(&c) = self.data.get(self.pos + 1) {
                if c < 0x80 {
                    self.pos += 2;
                    return Ok(u64::from(b & 0x7f) | (u64::from(c) << 7));
                }
            }
        }
        self.unsigned_varlong_slow()
    }

    #[inline(never)]
    fn unsigned_varlong_slow(&mut self) -> Result<u64, DecodeError> {
        // With ten bytes at hand no byte needs its own bounds check.
        if let Some(chunk) = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<10>())
        {
            let mut value: u64 = 0;
            for (i, &b) in chunk.iter().enumerate() {
                // The tenth byte may carry only the top bit of a u64.
                if i == 9 && b > 0x01 {
                    self.pos += 10;
                    return Err(self.error(DecodeErrorKind::VarintTooLong));
                }
                value |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    self.pos += i + 1;
                    return Ok(value);
                }
            }
            self.pos += 10;
            return Err(self.error(DecodeErrorKind::VarintTooLong));
        }
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.eof(1));
            };
            self.pos += 1;
            if i == 9 && b > 0x01 {
                return Err(self.error(DecodeErrorKind::VarintTooLong));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::VarintTooLong))
    }

    /// A zigzag-encoded `varint` (record fields).
    #[inline]
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let raw = self.unsigned_varint()?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag-encoded `varlong` (record fields).
    #[inline]
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let raw = self.unsigned_varlong()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// Reads a length prefix: int16 (`compact == false`) or unsigned varint minus one. `None`
    /// means null. The length is checked against the bytes left.
    #[inline(always)]
    fn string_len(&mut self, compact: bool) -> Result<Option<usize>, DecodeError> {
        let len: i64 = if compact {
            i64::from(self.unsigned_varint()?) - 1
        } else {
            i64::from(self.i16()?)
        };
        self.checked_len(len)
    }

    #[inline(always)]
    fn bytes_len(&mut self, compact: bool) -> Result<Option<usize>, DecodeError> {
        let len: i64 = if compact {
            i64::from(self.length_varint()?) - 1
        } else {
            i64::from(self.i32()?)
        };
        self.checked_len(len)
    }

    #[inline(always)]
    fn checked_len(&self, len: i64) -> Result<Option<usize>, DecodeError> {
        if len < 0 {
            return Ok(None);
        }
        if len as u64 > self.remaining() as u64 {
            return Err(self.length_exceeds(len as u64));
        }
        Ok(Some(len as usize))
    }

    #[cold]
    #[inline(never)]
    fn length_exceeds(&self, claimed: u64) -> DecodeError {
        self.error(DecodeErrorKind::LengthExceedsInput {
            claimed,
            remaining: self.remaining(),
        })
    }

    /// `n` bytes of UTF-8, as a zero-copy slice when the input is shared.
    ///
    /// Java's `Readable.readString` decodes with `new String(bytes, UTF_8)`, which replaces
    /// malformed sequences with U+FFFD instead of failing. The replacement could not be encoded
    /// back to the bytes that came, and a `str` must be UTF-8, so invalid UTF-8 is an error
    /// here (`InvalidUtf8`), as it always was in this codec.
    #[inline]
    fn utf8(&mut self, n: usize) -> Result<KafkaString, DecodeError> {
        let start = self.pos;
        let bytes = self.bytes_within(n);
        match KafkaString::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => Err(DecodeError::new(DecodeErrorKind::InvalidUtf8, start)),
        }
    }

    /// A nullable `string` (int16 length) or compact string (varint length + 1).
    #[inline]
    pub fn nullable_string(&mut self, compact: bool) -> Result<Option<KafkaString>, DecodeError> {
        match self.string_len(compact)? {
            None => Ok(None),
            Some(n) => self.utf8(n).map(Some),
        }
    }

    /// A non-nullable `string`; a negative length is an error.
    #[inline]
    pub fn string(&mut self, compact: bool) -> Result<KafkaString, DecodeError> {
        let at = self.pos;
        match self.string_len(compact)? {
            None => Err(DecodeError::new(DecodeErrorKind::UnexpectedNull, at)),
            Some(n) => self.utf8(n),
        }
    }

    /// Nullable `bytes` (int32 length) or compact bytes.
    #[inline(always)]
    pub fn nullable_bytes(&mut self, compact: bool) -> Result<Option<Bytes>, DecodeError> {
        match self.bytes_len(compact)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.bytes_within(n))),
        }
    }

    /// Non-nullable `bytes`; a negative length is an error.
    #[inline(always)]
    pub fn bytes_field(&mut self, compact: bool) -> Result<Bytes, DecodeError> {
        let at = self.pos;
        match self.bytes_len(compact)? {
            None => Err(DecodeError::new(DecodeErrorKind::UnexpectedNull, at)),
            Some(n) => Ok(self.bytes_within(n)),
        }
    }

    /// An array count: int32 or compact (varint minus one). `None` means null. Like the Java
    /// client, a count larger than the bytes left is rejected before anything is allocated.
    #[inline]
    pub fn array_len(&mut self, compact: bool) -> Result<Option<usize>, DecodeError> {
        self.bytes_len(compact)
    }

    /// A non-nullable array count.
    #[inline]
    pub fn array_len_required(&mut self, compact: bool) -> Result<usize, DecodeError> {
        let at = self.pos;
        match self.array_len(compact)? {
            None => Err(DecodeError::new(DecodeErrorKind::UnexpectedNull, at)),
            Some(n) => Ok(n),
        }
    }

    /// A nullable struct marker: -1 for null, 1 for present.
    pub fn struct_marker(&mut self) -> Result<bool, DecodeError> {
        match self.i8()? {
            -1 => Ok(false),
            1 => Ok(true),
            b => {
                self.pos -= 1;
                Err(self.error(DecodeErrorKind::InvalidStructMarker(b)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_known_encodings() {
        let mut r = Reader::new(&[0x00, 0x01, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(r.unsigned_varint().unwrap(), 0);
        assert_eq!(r.unsigned_varint().unwrap(), 1);
        assert_eq!(r.unsigned_varint().unwrap(), 127);
        assert_eq!(r.unsigned_varint().unwrap(), 128);
        assert_eq!(r.unsigned_varint().unwrap(), u32::MAX);
        assert!(r.is_empty());
        // zigzag: 1 -> -1, 2 -> 1, 3 -> -2
        let mut r = Reader::new(&[0x01, 0x02, 0x03]);
        assert_eq!(r.varint().unwrap(), -1);
        assert_eq!(r.varint().unwrap(), 1);
        assert_eq!(r.varint().unwrap(), -2);
    }

    #[test]
    fn varints_decode_the_same_at_the_end_of_input_and_before_more_bytes() {
        // The slow paths read a whole chunk when enough bytes follow and byte by byte near the
        // end of the input: both must agree, on values and on errors.
        let mut values: Vec<u64> = (0..64).map(|s| 1u64 << s).collect();
        values.extend(values.clone().iter().map(|v| v - 1));
        values.push(u64::MAX);
        for v in values {
            let mut enc = Vec::new();
            let mut x = v;
            while x >= 0x80 {
                enc.push((x as u8) | 0x80);
                x >>= 7;
            }
            enc.push(x as u8);
            let mut padded = enc.clone();
            padded.extend_from_slice(&[0xff; 12]);
            for input in [&enc[..], &padded[..]] {
                let mut r = Reader::new(input);
                assert_eq!(r.unsigned_varlong().unwrap(), v);
                assert_eq!(r.position(), enc.len());
                let mut r = Reader::new(input);
                match u32::try_from(v) {
                    Ok(v32) => {
                        assert_eq!(r.unsigned_varint().unwrap(), v32);
                        assert_eq!(r.position(), enc.len());
                    }
                    Err(_) => {
                        let e = r.unsigned_varint().unwrap_err();
                        assert_eq!(e.kind(), &DecodeErrorKind::VarintTooLong);
                        assert_eq!(e.offset(), 5);
                    }
                }
            }
        }
        // Eleven continuation bytes: too long for a varlong, failing at the tenth byte.
        for input in [&[0x80u8; 10][..], &[0x80u8; 20][..]] {
            let e = Reader::new(input).unsigned_varlong().unwrap_err();
            assert_eq!(e.kind(), &DecodeErrorKind::VarintTooLong);
            assert_eq!(e.offset(), 10);
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert_eq!(
            r.unsigned_varint().unwrap_err().kind(),
            &DecodeErrorKind::VarintTooLong
        );
        let mut r = Reader::new(&[0x80, 0x80]);
        assert!(matches!(
            r.unsigned_varint().unwrap_err().kind(),
            DecodeErrorKind::UnexpectedEof { .. }
        ));
    }

    #[test]
    fn huge_lengths_fail_before_allocating() {
        // An int32 array count of 2^31-1 with four bytes behind it.
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let err = r.array_len(false).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::LengthExceedsInput {
                claimed: i32::MAX as u64,
                remaining: 4
            }
        );
        // A compact string of 2 GiB.
        let mut r = Reader::new(&[0x81, 0x80, 0x80, 0x80, 0x08, b'a']);
        assert!(matches!(
            r.string(true).unwrap_err().kind(),
            DecodeErrorKind::LengthExceedsInput { .. }
        ));
    }

    #[test]
    fn sub_reader_is_bounded() {
        let data = Bytes::from_static(&[0, 0, 0, 2, 9, 9, 7]);
        let mut r = Reader::from_bytes(&data);
        assert_eq!(r.i32().unwrap(), 2);
        let mut sub = r.take(2).unwrap();
        assert_eq!(sub.bytes(2).unwrap(), Bytes::from_static(&[9, 9]));
        assert!(sub.i8().is_err());
        assert_eq!(r.i8().unwrap(), 7);
    }

    #[test]
    fn strings_and_nulls() {
        let mut r = Reader::new(&[
            0xff, 0xff, 0x00, 0x02, b'h', b'i', 0x00, 0x03, b'h', b'i', b'!',
        ]);
        assert_eq!(r.nullable_string(false).unwrap(), None);
        assert_eq!(r.string(false).unwrap(), "hi");
        assert_eq!(r.nullable_string(false).unwrap().as_deref(), Some("hi!"));
        let mut r = Reader::new(&[0x00]);
        assert_eq!(
            r.string(true).unwrap_err().kind(),
            &DecodeErrorKind::UnexpectedNull
        );
        let mut r = Reader::new(&[0x00, 0x01, 0xff]);
        assert_eq!(
            r.string(false).unwrap_err().kind(),
            &DecodeErrorKind::InvalidUtf8
        );
    }
}
