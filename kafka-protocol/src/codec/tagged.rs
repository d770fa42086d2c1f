//! Tagged fields (KIP-482): a count, then `tag, size, bytes` for each field, tags ascending.

use std::mem::ManuallyDrop;

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
pub fn read_raw_tagged_fields(r: &mut Reader<'_>) -> Result<UnknownTaggedFields, DecodeError> {
    let mut fields = TaggedFieldsReader::new(r)?;
    let mut out = UnknownTaggedFields::new();
    while let Some((tag, sub)) = fields.next_field(r)? {
        out.push(TaggedFieldsReader::raw(tag, sub)?);
    }
    Ok(out)
}

/// The tagged fields of a struct that this codec does not know, kept to be written back as they
/// came.
///
/// Nearly every struct has none, so the empty case costs nothing: the value is one pointer wide
/// (an `Option<Box<Vec<_>>>`), making it allocates nothing, and dropping it is one inline null
/// check (the drop of the contents is out of line, behind that check). A `Vec<RawTaggedField>`
/// in its place was three words per struct to move and a call per struct to drop: about 15% of
/// decoding a Fetch response, whose partitions carry four each.
///
/// It dereferences to a slice of [`RawTaggedField`]s and compares, prints and converts like a
/// `Vec` of them.
// The box is the point: one pointer instead of a Vec's three words in every struct.
// `ManuallyDrop` leaves the field without drop glue of its own, so that `Drop` below decides
// what is inline: the compiler's glue for the `Option<Box<Vec<_>>>` was an out-of-line call per
// struct even when empty.
#[allow(clippy::box_collection)]
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct UnknownTaggedFields(ManuallyDrop<Option<Box<Vec<RawTaggedField>>>>);

impl Drop for UnknownTaggedFields {
    #[inline(always)]
    fn drop(&mut self) {
        if self.0.is_some() {
            self.drop_fields();
        }
    }
}

impl UnknownTaggedFields {
    /// None (no allocation).
    #[inline]
    pub const fn new() -> Self {
        Self(ManuallyDrop::new(None))
    }

    #[cold]
    #[inline(never)]
    fn drop_fields(&mut self) {
        drop(self.0.take());
    }

    /// Adds a field at the end.
    pub fn push(&mut self, field: RawTaggedField) {
        self.0.get_or_insert_with(Box::default).push(field);
    }

    /// The fields, in the order they were decoded or pushed.
    #[inline]
    pub fn as_slice(&self) -> &[RawTaggedField] {
        match &*self.0 {
            Some(v) => v,
            None => &[],
        }
    }

    /// The fields as a `Vec`.
    pub fn into_vec(mut self) -> Vec<RawTaggedField> {
        self.0.take().map(|v| *v).unwrap_or_default()
    }
}

impl std::ops::Deref for UnknownTaggedFields {
    type Target = [RawTaggedField];
    #[inline]
    fn deref(&self) -> &[RawTaggedField] {
        self.as_slice()
    }
}

impl std::fmt::Debug for UnknownTaggedFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl From<Vec<RawTaggedField>> for UnknownTaggedFields {
    /// An empty `Vec` becomes the empty value, so equal contents compare equal.
    fn from(v: Vec<RawTaggedField>) -> Self {
        if v.is_empty() {
            Self::new()
        } else {
            Self(ManuallyDrop::new(Some(Box::new(v))))
        }
    }
}

impl From<UnknownTaggedFields> for Vec<RawTaggedField> {
    fn from(v: UnknownTaggedFields) -> Self {
        v.into_vec()
    }
}

impl FromIterator<RawTaggedField> for UnknownTaggedFields {
    fn from_iter<I: IntoIterator<Item = RawTaggedField>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a UnknownTaggedFields {
    type Item = &'a RawTaggedField;
    type IntoIter = std::slice::Iter<'a, RawTaggedField>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl IntoIterator for UnknownTaggedFields {
    type Item = RawTaggedField;
    type IntoIter = std::vec::IntoIter<RawTaggedField>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl PartialEq<Vec<RawTaggedField>> for UnknownTaggedFields {
    fn eq(&self, other: &Vec<RawTaggedField>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[RawTaggedField]> for UnknownTaggedFields {
    fn eq(&self, other: &[RawTaggedField]) -> bool {
        self.as_slice() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tagged_fields_are_one_pointer_and_empty_by_default() {
        assert_eq!(std::mem::size_of::<UnknownTaggedFields>(), 8);
        let mut u = UnknownTaggedFields::new();
        assert!(u.is_empty());
        assert_eq!(u, UnknownTaggedFields::from(Vec::new()));
        let f = RawTaggedField {
            tag: 3,
            data: Bytes::from_static(b"x"),
        };
        u.push(f.clone());
        assert_eq!(u.len(), 1);
        assert_eq!(u, vec![f.clone()]);
        assert_eq!(format!("{u:?}"), format!("{:?}", vec![f.clone()]));
        assert_eq!(u.clone().into_vec(), vec![f]);
    }
}
