//! Record headers (KIP-82): an ordered list of key/value pairs in which keys may repeat.

use bytes::Bytes;

/// One record header. Order and duplicate keys are kept as they were written (KIP-82 allows
/// both); a null value is distinct from an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key: UTF-8 as written by every client, kept as raw bytes so that decoding is zero-copy
    /// and lossless. See [`Header::key_str`].
    pub key: Bytes,
    /// The value; `None` is null (varint length -1).
    pub value: Option<Bytes>,
}

impl Header {
    /// A header from anything that converts to [`Bytes`] (`&'static str`, `String`, `Vec<u8>`,
    /// ...).
    pub fn new(key: impl Into<Bytes>, value: Option<impl Into<Bytes>>) -> Self {
        Self {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    /// The key as a string, or `None` when it is not valid UTF-8 (Java would decode it with
    /// replacement characters).
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_not_empty() {
        let a = Header::new("k", None::<Bytes>);
        let b = Header::new("k", Some(""));
        assert_ne!(a, b);
        assert_eq!(a.key_str(), Some("k"));
        let bad = Header::new(vec![0xffu8], None::<Bytes>);
        assert_eq!(bad.key_str(), None);
    }
}
