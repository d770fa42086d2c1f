//! A header-only scan of a `records` blob: the offset after its last complete batch.
//!
//! The fetcher pipelines: while the application still reads one response's records, the next
//! fetch for the partition is already on its way, starting where the complete batches of the
//! buffered data end. Finding that offset must not decode the records, so this reads only the
//! fixed fields every format shares (`offset: int64, size: int32`, magic at byte 16) and, for
//! magic 2, `lastOffsetDelta` at byte 23.

/// Bytes before the size field ends (`LOG_OVERHEAD`).
const LOG_OVERHEAD: usize = 12;
/// The smallest message of any magic (magic 0 with null key and value).
const MIN_ENTRY: usize = 14;
/// Offset of `lastOffsetDelta` in a v2 batch.
const LAST_OFFSET_DELTA: usize = 23;
/// Size of the v2 batch header.
const V2_HEADER: usize = 61;

/// The offset following the last complete batch, or `None` when no batch is complete (or the
/// blob is malformed at its start; the full decode reports that).
pub(crate) fn end_offset(data: &[u8]) -> Option<i64> {
    let mut pos = 0usize;
    let mut end = None;
    while let Some(head) = data.get(pos..pos + LOG_OVERHEAD) {
        let offset = i64::from_be_bytes(head[..8].try_into().ok()?);
        let size = i32::from_be_bytes(head[8..12].try_into().ok()?);
        if size < MIN_ENTRY as i32 {
            break;
        }
        let total = LOG_OVERHEAD + size as usize;
        let Some(entry) = data.get(pos..pos + total) else {
            break;
        };
        let next = match entry[16] {
            2 if total >= V2_HEADER => {
                let delta = i32::from_be_bytes(
                    entry[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
                        .try_into()
                        .ok()?,
                );
                offset.wrapping_add(i64::from(delta)).wrapping_add(1)
            }
            // Magic 0/1: the entry's offset is that of its last (inner) message.
            0 | 1 => offset.wrapping_add(1),
            _ => break,
        };
        end = Some(end.map_or(next, |e: i64| e.max(next)));
        pos += total;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::record::{Compression, LegacyMessageSetBuilder, RecordBatchBuilder};

    #[test]
    fn finds_the_end_of_complete_batches_only() {
        let mut b = RecordBatchBuilder::new(Compression::Lz4);
        b.set_base_offset(10);
        for _ in 0..3 {
            let _ = b.append(0, None, Some(b"x"), &[]).unwrap();
        }
        let one = b.build().unwrap();
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.set_base_offset(13);
        let _ = b.append(0, None, Some(b"y"), &[]).unwrap();
        let two = b.build().unwrap();
        let mut data = one.to_vec();
        assert_eq!(end_offset(&data), Some(13));
        data.extend_from_slice(&two[..two.len() - 1]);
        assert_eq!(end_offset(&data), Some(13), "truncated tail ignored");
        data.push(*two.last().unwrap());
        assert_eq!(end_offset(&data), Some(14));
        assert_eq!(end_offset(&data[..30]), None);
        assert_eq!(end_offset(&[]), None);
    }

    #[test]
    fn legacy_entries_end_after_their_offset() {
        let mut b = LegacyMessageSetBuilder::new(1, Compression::None).unwrap();
        b.set_base_offset(5);
        let _ = b.append(0, None, Some(b"a")).unwrap();
        let _ = b.append(0, None, Some(b"b")).unwrap();
        let data = b.build().unwrap();
        assert_eq!(end_offset(&data), Some(7));
    }
}
