//! [`KafkaString`]: the value of every `string` field, a [`Bytes`] known to hold UTF-8, so that
//! decoding a topic name slices the frame instead of allocating and copying.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;
use bytestring::ByteString;

/// An immutable UTF-8 string backed by [`Bytes`].
///
/// Decoding from a [`Reader`](super::Reader) made with
/// [`Reader::from_bytes`](super::Reader::from_bytes) gives a zero-copy slice of the frame: a
/// topic name costs a reference count increment, not a `malloc`, a copy and a `free`. The bytes
/// are checked to be UTF-8 once, when the value is made, so reading it as `str` is free (the
/// unchecked conversion lives in the `bytestring` crate, as this crate forbids `unsafe`).
///
/// It reads like a `&str` (`Deref<Target = str>`), compares equal to `str`, `&str` and `String`
/// (both ways), prints like a string with `Display` and `Debug`, and hashes and orders like
/// `str`, so a `HashMap<KafkaString, _>` can be looked up with a `&str`.
///
/// ```
/// use kafka_protocol::codec::KafkaString;
///
/// let name = KafkaString::from("orders");
/// assert_eq!(name, "orders");
/// assert_eq!(name.len(), 6);
/// assert!(name.starts_with("ord"));
/// assert_eq!(format!("{name} {name:?}"), "orders \"orders\"");
/// let owned: String = name.clone().into();
/// assert_eq!(owned, name);
/// ```
#[derive(Clone, Default)]
pub struct KafkaString(ByteString);

impl KafkaString {
    /// The empty string (no allocation).
    pub const fn new() -> Self {
        Self(ByteString::from_static(""))
    }

    /// A string over static text, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Self(ByteString::from_static(s))
    }

    /// Checks that `bytes` are UTF-8 and keeps them without copying.
    #[inline]
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        ByteString::try_from(bytes).map(Self)
    }

    /// The string as `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bytes, shared rather than copied.
    pub fn as_bytes_shared(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// The bytes, shared rather than copied.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl Deref for KafkaString {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for KafkaString {
    fn as_ref(&self) -> &str {
        self
    }
}

impl AsRef<[u8]> for KafkaString {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for KafkaString {
    fn borrow(&self) -> &str {
        self
    }
}

impl From<&str> for KafkaString {
    /// Copies `s` (a borrowed string may not outlive the value); see
    /// [`KafkaString::from_static`] for literals.
    fn from(s: &str) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<&String> for KafkaString {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<String> for KafkaString {
    /// Takes the `String`'s buffer without copying.
    fn from(s: String) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<Box<str>> for KafkaString {
    fn from(s: Box<str>) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<std::sync::Arc<str>> for KafkaString {
    fn from(s: std::sync::Arc<str>) -> Self {
        Self::from(&*s)
    }
}

impl From<&KafkaString> for KafkaString {
    fn from(s: &KafkaString) -> Self {
        s.clone()
    }
}

impl From<KafkaString> for String {
    fn from(s: KafkaString) -> Self {
        String::from(s.0)
    }
}

impl From<&KafkaString> for String {
    fn from(s: &KafkaString) -> Self {
        s.as_str().to_owned()
    }
}

impl From<KafkaString> for Bytes {
    fn from(s: KafkaString) -> Self {
        s.into_bytes()
    }
}

impl TryFrom<Bytes> for KafkaString {
    type Error = Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Utf8Error> {
        Self::from_utf8(bytes)
    }
}

impl std::str::FromStr for KafkaString {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl fmt::Debug for KafkaString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for KafkaString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for KafkaString {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for KafkaString {}

impl PartialOrd for KafkaString {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KafkaString {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for KafkaString {
    /// Hashes as `str` does, which `Borrow<str>` requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

macro_rules! eq_both_ways {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for KafkaString {
            #[inline]
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl PartialEq<KafkaString> for $other {
            #[inline]
            fn eq(&self, other: &KafkaString) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_both_ways!(str, String, std::borrow::Cow<'_, str>);

impl PartialEq<&str> for KafkaString {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<KafkaString> for &str {
    #[inline]
    fn eq(&self, other: &KafkaString) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_compares_and_prints_like_a_string() {
        let s = KafkaString::from(String::from("événement"));
        assert_eq!(s, "événement");
        assert_eq!("événement", s);
        assert_eq!(s, String::from("événement"));
        assert_eq!(String::from("événement"), s);
        assert_eq!(s.chars().count(), 9);
        assert_eq!(format!("{s:?}"), format!("{:?}", "événement"));
        assert_eq!(format!("{s:>12}"), format!("{:>12}", "événement"));
        let (a, b) = (KafkaString::from_static("a"), KafkaString::from_static("b"));
        assert!(a < b);
        assert_eq!(a.cmp(&b), "a".cmp("b"));
        assert_eq!(KafkaString::default(), "");
        assert_eq!(KafkaString::new(), KafkaString::from_static(""));
    }

    #[test]
    fn hashes_like_str_for_lookups_by_str() {
        let mut m = HashMap::new();
        m.insert(KafkaString::from("orders"), 1);
        assert_eq!(m.get("orders"), Some(&1));
        assert_eq!(m.get("other"), None);
    }

    #[test]
    fn from_utf8_checks_and_does_not_copy() {
        let frame = Bytes::from(b"xxorders\xffyy".to_vec());
        let s = KafkaString::from_utf8(frame.slice(2..8)).unwrap();
        assert_eq!(s, "orders");
        assert_eq!(s.as_ptr(), frame[2..].as_ptr());
        assert!(KafkaString::from_utf8(frame.slice(2..9)).is_err());
        assert!(KafkaString::try_from(Bytes::from_static(b"\xc3")).is_err());
        assert_eq!(
            KafkaString::try_from(Bytes::from_static(b"ok")).unwrap(),
            "ok"
        );
    }

    #[test]
    fn string_conversions_keep_the_text() {
        let owned = String::from("topic");
        let ptr = owned.as_ptr();
        let s = KafkaString::from(owned);
        assert_eq!(s.as_ptr(), ptr, "a String's buffer is taken, not copied");
        let back: String = s.clone().into();
        assert_eq!(back, "topic");
        assert_eq!(String::from(&s), "topic");
        assert_eq!(Bytes::from(s), Bytes::from_static(b"topic"));
    }
}
