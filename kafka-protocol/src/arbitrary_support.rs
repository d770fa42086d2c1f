//! Random messages that are valid for a given version, for structure-aware fuzzing of Kafka
//! parsers (ours and yours) and for property tests.
//!
//! Enabled by the `arbitrary` feature. Every generated message type implements
//! [`ArbitraryVersioned`]: fields the version lacks keep their defaults, nulls appear only where
//! the version allows them, and unknown tagged fields only in flexible versions, so that what is
//! generated can be encoded, and decodes back to the same value.

use arbitrary::{Result, Unstructured};
use bytes::Bytes;

use crate::codec::{KafkaString, RawTaggedField, UnknownTaggedFields};

/// A value that can be drawn at random for a given protocol version.
pub trait ArbitraryVersioned: Sized {
    /// Draws a value valid at `version` from the fuzzer's bytes.
    fn arbitrary_versioned(u: &mut Unstructured<'_>, version: i16) -> Result<Self>;
}

/// A short string, sometimes with multi-byte characters.
pub fn arbitrary_string(u: &mut Unstructured<'_>) -> Result<KafkaString> {
    const PIECES: &[&str] = &[
        "a", "b", "topic", "-", "_", ".", "é", "中", "🦀", "0", "Z", " ",
    ];
    let n = u.int_in_range(0..=6usize)?;
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(u.choose(PIECES)?);
    }
    Ok(s.into())
}

/// A short byte string.
pub fn arbitrary_bytes(u: &mut Unstructured<'_>) -> Result<Bytes> {
    let n = u.int_in_range(0..=12usize)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(u.arbitrary::<u8>()?);
    }
    Ok(Bytes::from(v))
}

/// A finite float (NaN would not compare equal to itself after a round trip).
pub fn arbitrary_f64(u: &mut Unstructured<'_>) -> Result<f64> {
    let v: f64 = u.arbitrary()?;
    Ok(if v.is_finite() { v } else { 0.0 })
}

/// Zero to two tagged fields with tags far above the known ones, ascending.
pub fn arbitrary_unknown_tagged_fields(u: &mut Unstructured<'_>) -> Result<UnknownTaggedFields> {
    let n = u.int_in_range(0..=2u32)?;
    let mut out = UnknownTaggedFields::new();
    let mut tag = 1000;
    for _ in 0..n {
        tag += u.int_in_range(1..=50u32)?;
        out.push(RawTaggedField {
            tag,
            data: arbitrary_bytes(u)?,
        });
    }
    Ok(out)
}
