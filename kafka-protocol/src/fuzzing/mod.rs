//! Checks shared by the fuzz targets in `fuzz/` and the regression test that replays what they
//! found (`fixtures/regressions/<target>/`), so that both run exactly the same code.
//!
//! Enabled by the `fuzzing` feature and hidden from the documentation: this is test support, not
//! API. Every check takes the fuzzer's raw bytes and returns [`Verdict::Rejected`] when the input
//! does not decode (a typed error is a correct answer to garbage), [`Verdict::Accepted`] or
//! [`Verdict::Normalized`] when it decoded and every round-trip property held, and a
//! [`Violation`] when a property failed. A
//! check never panics on its own account; a panic inside it is a bug in the codec.

mod frames;
mod records;
mod selector;
mod structured;

use std::fmt;

pub use frames::{
    check_request, check_response, check_response_body, request_frame, response_frame,
};
pub use records::record_batches;
pub use selector::{select, selector_bytes};
pub use structured::{structured_request, structured_response};

/// What a check concluded about an input that broke no property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The input did not decode (a typed error): nothing more to check.
    Rejected,
    /// The input decoded, and encoding gave back the same bytes.
    Accepted,
    /// The input decoded but used a non-canonical form the decoder tolerates (as Java's does):
    /// a negative length other than -1 for null, or a varint with redundant continuation bytes.
    /// Encoding gave the canonical form, which decodes to the same value and encodes to itself.
    Normalized,
}

/// A broken property: the codec accepted the input but did not round-trip it, or an encode of
/// a decoded value failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check that failed, e.g. `request_frame`.
    pub check: &'static str,
    /// What went wrong.
    pub what: String,
}

impl Violation {
    /// A violation of `check`.
    pub fn new(check: &'static str, what: impl Into<String>) -> Self {
        Self {
            check,
            what: what.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.what)
    }
}

impl std::error::Error for Violation {}

/// The result of one check.
pub type Outcome = Result<Verdict, Violation>;

/// A check over raw fuzzer bytes.
pub type Check = fn(&[u8]) -> Outcome;

/// The checks of this crate by fuzz target name (the targets of other crates, `capture_decode`
/// and the client's, live in `fuzz/` and are replayed by `fuzz/smoke`).
pub const CHECKS: &[(&str, Check)] = &[
    ("request_frame", request_frame),
    ("response_frame", response_frame),
    ("record_batches", record_batches),
    ("structured_request", structured_request),
    ("structured_response", structured_response),
];

/// The check of a fuzz target, by name.
pub fn check_for(target: &str) -> Option<Check> {
    CHECKS.iter().find(|(n, _)| *n == target).map(|(_, c)| *c)
}

/// Where two byte strings first differ, with a little context, for violation messages.
pub(crate) fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let hex = |b: &[u8]| {
        let end = (at + 8).min(b.len());
        b[at.saturating_sub(4).min(end)..end]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "lengths {} and {}, first difference at byte {at}: expected [{}], got [{}]",
        expected.len(),
        got.len(),
        hex(expected),
        hex(got)
    )
}
