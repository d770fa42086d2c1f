//! The lazy record iterator shared by both formats.

use bytes::Bytes;

use super::record::{check_v2, decode_v2, Record, V2Context};
use crate::codec::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// Iterates the records of one batch, decoding one record per call to `next` (magic 2) or
/// handing out the already decoded inner messages of a legacy wrapper (magic 0/1).
///
/// Yields exactly `recordsCount` records for a v2 batch; a malformed record, or bytes left
/// after the last one (Java: "Incorrect declared batch size"), yields one error and ends the
/// iteration. Error offsets count from the start of the batch for uncompressed batches and from
/// the start of the decompressed records for compressed ones.
#[derive(Debug, Clone)]
pub struct RecordsIter {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    V2 {
        data: Bytes,
        pos: usize,
        left: i32,
        ctx: V2Context,
    },
    Legacy(std::vec::IntoIter<Record>),
    Done,
}

impl RecordsIter {
    pub(crate) fn v2(data: Bytes, start: usize, count: i32, ctx: V2Context) -> Self {
        Self {
            inner: Inner::V2 {
                data,
                pos: start,
                left: count,
                ctx,
            },
        }
    }

    pub(crate) fn legacy(records: Vec<Record>) -> Self {
        Self {
            inner: Inner::Legacy(records.into_iter()),
        }
    }

    /// Records not yet yielded (for v2 as declared by `recordsCount`).
    pub fn remaining(&self) -> usize {
        match &self.inner {
            Inner::V2 { left, .. } => *left as usize,
            Inner::Legacy(it) => it.len(),
            Inner::Done => 0,
        }
    }

    /// Checks the records not yet yielded exactly as iterating them would, without slicing
    /// out keys, values and headers, and returns how many were read: with an error, the count
    /// of those before it and the error that iterating would have yielded next. For readers that
    /// only count records (a one-line summary, statistics) but must still report any record
    /// that does not decode.
    pub fn check_rest(&mut self) -> (usize, Option<DecodeError>) {
        let mut n = 0;
        loop {
            let next = match &mut self.inner {
                Inner::V2 { .. } => self.step_v2::<false>(),
                Inner::Legacy(it) => it.next().map(Ok),
                Inner::Done => None,
            };
            match next {
                None => return (n, None),
                Some(Ok(_)) => n += 1,
                Some(Err(e)) => return (n, Some(e)),
            }
        }
    }

    /// The next v2 record: decoded ([`decode_v2`]) with `KEEP`, else only checked
    /// ([`check_v2`]: same checks and errors, no key, value or headers).
    #[inline]
    fn step_v2<const KEEP: bool>(&mut self) -> Option<Result<Record, DecodeError>> {
        let Inner::V2 {
            data,
            pos,
            left,
            ctx,
        } = &mut self.inner
        else {
            return None;
        };
        let mut r = Reader::from_bytes(data);
        // `pos` never exceeds the data, so this skip cannot fail.
        let result = match r.slice(*pos) {
            Err(e) => Err(e),
            Ok(_) if *left == 0 => {
                let trailing = r.remaining();
                if trailing == 0 {
                    self.inner = Inner::Done;
                    return None;
                }
                Err(r.error(DecodeErrorKind::Records(format!(
                    "{trailing} bytes left after the declared record count"
                ))))
            }
            Ok(_) => {
                let rec = if KEEP {
                    decode_v2(&mut r, ctx)
                } else {
                    check_v2(&mut r, ctx)
                };
                match rec {
                    Ok(rec) => {
                        *pos = r.position();
                        *left -= 1;
                        return Some(Ok(rec));
                    }
                    Err(e) => Err(e.in_field("records")),
                }
            }
        };
        self.inner = Inner::Done;
        Some(result)
    }
}

impl Iterator for RecordsIter {
    type Item = Result<Record, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::V2 { .. } => self.step_v2::<true>(),
            Inner::Legacy(it) => it.next().map(Ok),
            Inner::Done => None,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Inner::V2 { left, .. } => (0, Some(*left as usize + 1)),
            Inner::Legacy(it) => it.size_hint(),
            Inner::Done => (0, Some(0)),
        }
    }
}

impl std::iter::FusedIterator for RecordsIter {}
