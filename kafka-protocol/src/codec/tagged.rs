//! Tagged fields (KIP-482): a count, then `tag, size, bytes` for each field, tags ascending.

use bytes::Bytes;

use super::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// A tagged field this codec does not know, kept as raw bytes so that it is written back as it
/// came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's bytes, without the tag and size prefix.
    pub data: Bytes,
}

/// Walks a tagged-field section, checking the count and the tag order, and hands out a bounded
/// sub-reader per field so a field cannot read past its declared size.
#[derive(Debug)]
pub struct TaggedFieldsReader {
    left: u32,
    previous: Option<u32>,
}

impl TaggedFieldsReader {
    /// Reads the section's field count.
    #[inline]
    pub fn new(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let left = r.unsigned_varint()?;
        // Each field takes at least two bytes (tag and size).
        if u64::from(left) * 2 > r.remaining() as u64 {
            return Err(r.error(DecodeErrorKind::LengthExceedsInput {
                claimed: u64::from(left),
                remaining: r.remaining(),
            }));
        }
        Ok(Self {
            left,
            previous: None,
        })
    }

    /// The next field's tag and a reader over exactly its bytes, or `None` at the end.
    #[inline(always)]
    pub fn next_field<'a>(
        &mut self,
        r: &mut Reader<'a>,
    ) -> Result<Option<(u32, Reader<'a>)>, DecodeError> {
        // Nearly every section is empty: that check stays inline, the rest is a call.
        if self.left == 0 {
            return Ok(None);
        }
        self.next_field_slow(r)
    }

    #[inline(never)]
    fn next_field_slow<'a>(
        &mut self,
        r: &mut Reader<'a>,
    ) -> Result<Option<(u32, Reader<'a>)>, DecodeError> {
        self.left -= 1;
        let at = r.position();
        let tag = r.unsigned_varint()?;
        if let Some(previous) = self.previous {
            if tag <= previous {
                return Err(DecodeError::new(
                    DecodeErrorKind::TagOutOfOrder { tag, previous },
                    at,
                ));
            }
        }
        self.previous = Some(tag);
        let size = r.unsigned_varint()? as usize;
        let sub = r.take(size)?;
        Ok(Some((tag, sub)))
    }

    /// Keeps an unknown field's bytes.
    pub fn raw(tag: u32, mut sub: Reader<'_>) -> Result<RawTaggedField, DecodeError> {
        let n = sub.remaining();
        Ok(RawTaggedField {
            tag,
            data: sub.bytes(n)?,
        })
    }
}

/// Skips an entire tagged-field section, keeping every field as raw. Used where a section has no
/// known tags (headers, some structs).
pub fn read_raw_tagged_fields(r: &mut Reader<'_>) -> Result<Vec<RawTaggedField>, DecodeError> {
    let mut fields = TaggedFieldsReader::new(r)?;
    let mut out = Vec::new();
    while let Some((tag, sub)) = fields.next_field(r)? {
        out.push(TaggedFieldsReader::raw(tag, sub)?);
    }
    Ok(out)
}
