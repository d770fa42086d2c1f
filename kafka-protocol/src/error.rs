//! Typed errors for decoding and encoding, with enough context to find the bad byte.

use std::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value did.
    UnexpectedEof {
        /// Bytes the value needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count prefix claims more than the bytes left can hold (checked before any
    /// allocation, as the Java client does for arrays).
    LengthExceedsInput {
        /// The claimed length or count.
        claimed: u64,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A negative length where the field is not nullable in this version.
    NegativeLength(i64),
    /// A null value where the field is not nullable in this version.
    UnexpectedNull,
    /// A varint longer than its type allows.
    VarintTooLong,
    /// A string that is not valid UTF-8.
    InvalidUtf8,
    /// A boolean byte other than 0 or 1 is accepted by Java (non-zero is true) but would not
    /// re-encode to the same bytes; we reject it to keep decode/encode byte-exact.
    InvalidBool(u8),
    /// A nullable-struct marker other than -1 or 1.
    InvalidStructMarker(i8),
    /// The API key is not one this codec knows.
    UnknownApiKey(i16),
    /// The version is outside the versions this codec knows for the message.
    UnsupportedVersion {
        /// The message's name.
        message: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// Bytes were left after a complete value that should fill its frame or tagged field.
    TrailingData(usize),
    /// Tagged fields must be sorted by tag and unique (KIP-482).
    TagOutOfOrder {
        /// The tag that came out of order.
        tag: u32,
        /// The previous tag.
        previous: u32,
    },
    /// A frame length prefix that is negative or above the configured maximum.
    FrameTooLarge {
        /// The claimed frame size.
        size: i64,
        /// The configured maximum.
        max: usize,
    },
    /// A record batch or message set is malformed.
    Records(String),
    /// A checksum did not match.
    CrcMismatch {
        /// The checksum stored in the data.
        stored: u32,
        /// The checksum computed over the data.
        computed: u32,
    },
    /// Decompressed data would exceed the configured cap (a decompression bomb).
    DecompressedTooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// The compressed payload could not be decompressed.
    Decompression(String),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEof { needed, remaining } => {
                write!(
                    f,
                    "unexpected end of input: needed {needed} bytes, {remaining} left"
                )
            }
            Self::LengthExceedsInput { claimed, remaining } => write!(
                f,
                "length or count {claimed} exceeds the {remaining} bytes left"
            ),
            Self::NegativeLength(n) => write!(f, "negative length {n} for a non-nullable field"),
            Self::UnexpectedNull => f.write_str("null for a non-nullable field"),
            Self::VarintTooLong => f.write_str("varint is too long"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::InvalidBool(b) => write!(f, "invalid boolean byte {b:#04x}"),
            Self::InvalidStructMarker(b) => write!(f, "invalid nullable struct marker {b}"),
            Self::UnknownApiKey(k) => write!(f, "unknown API key {k}"),
            Self::UnsupportedVersion { message, version } => {
                write!(f, "{message} has no version {version}")
            }
            Self::TrailingData(n) => write!(f, "{n} trailing bytes after a complete value"),
            Self::TagOutOfOrder { tag, previous } => {
                write!(
                    f,
                    "tagged field {tag} follows tag {previous}: tags must ascend"
                )
            }
            Self::FrameTooLarge { size, max } => {
                write!(f, "frame size {size} outside 0..={max}")
            }
            Self::Records(why) => write!(f, "malformed records: {why}"),
            Self::CrcMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            Self::DecompressedTooLarge { cap } => {
                write!(f, "decompressed data exceeds the cap of {cap} bytes")
            }
            Self::Decompression(why) => write!(f, "decompression failed: {why}"),
        }
    }
}

/// A decoding failure: what, at which byte offset of the input, and in which field.
///
/// Boxed so that `Result<T, DecodeError>` stays one pointer wide on the hot path.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<DecodeErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct DecodeErrorInner {
    kind: DecodeErrorKind,
    offset: usize,
    path: Vec<&'static str>,
}

impl DecodeError {
    /// A new error of `kind` at byte `offset` of the input.
    #[cold]
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(DecodeErrorInner {
            kind,
            offset,
            path: Vec::new(),
        }))
    }

    /// Adds the name of the enclosing field or message, innermost first.
    #[cold]
    #[must_use]
    pub fn in_field(mut self, name: &'static str) -> Self {
        self.0.path.push(name);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// Byte offset in the input where it went wrong.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// The field path, outermost first, e.g. `ProduceRequest.topic_data.name`.
    pub fn path(&self) -> String {
        let mut parts: Vec<&str> = self.0.path.clone();
        parts.reverse();
        parts.join(".")
    }

    /// Shifts the offset, for errors from a sub-slice decoded on its own.
    #[must_use]
    pub fn shifted(mut self, by: usize) -> Self {
        self.0.offset += by;
        self
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.0.kind, self.0.offset)?;
        if !self.0.path.is_empty() {
            write!(f, " in {}", self.path())?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// An encoding failure. Mirrors the checks the Java client makes before writing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The version is outside the versions this codec knows for the message.
    #[error("{message} has no version {version}")]
    UnsupportedVersion {
        /// The message's name.
        message: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A field that this version does not have holds a non-default value; Java refuses the same
    /// unless the field is marked ignorable.
    #[error("{field} is not supported in version {version} of {message}")]
    FieldNotInVersion {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A null value in a version where the field is not nullable.
    #[error("{field} of {message} is null but not nullable in version {version}")]
    NullNotAllowed {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A string longer than the 32767 bytes an int16 length allows.
    #[error("string of {len} bytes is longer than 32767")]
    StringTooLong {
        /// The string's length in bytes.
        len: usize,
    },
    /// A value longer than an int32 length allows.
    #[error("value of {len} bytes is too long for its length prefix")]
    TooLong {
        /// The value's length.
        len: usize,
    },
    /// A record batch could not be built.
    #[error("cannot build records: {0}")]
    Records(String),
}
