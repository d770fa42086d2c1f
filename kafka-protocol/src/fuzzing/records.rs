//! A `records` blob: batches of any magic, records inside them, decompression under a cap.
//!
//! Input layout: `[flags, blob...]`. Flag bit 0 turns checksum verification on (mutated inputs
//! rarely keep a valid CRC, so it is off by default and the checks compare everything but the
//! CRC, which encoding recomputes); bits 1-2 pick the decompression cap (4 KiB to 1 MiB, small
//! so that bombs hit it quickly).
//!
//! For every batch that decodes: a v2 header re-encodes to the same bytes; the records decode
//! (or fail with a typed error); control batches parse; a batch rebuilt from its records with
//! [`RecordBatchBuilder::for_batch`] is byte-identical when uncompressed (or, where the input
//! used non-canonical varints or null lengths, no longer and with the same records), and holds
//! the same records when compressed (codecs may compress differently). The builder refuses some
//! decodable batches (offset deltas that go backwards, say); those are not rebuilt.

use bytes::{Bytes, BytesMut};

use super::{first_difference, Outcome, Verdict, Violation};
use crate::record::{
    AppendResult, Batch, BatchIter, Compression, DecodeOptions, Record, RecordBatch,
    RecordBatchBuilder,
};

const CHECK: &str = "record_batches";
/// Bytes 17..21 of a v2 batch hold its CRC32C.
const CRC: std::ops::Range<usize> = 17..21;
const CAPS: [usize; 4] = [4 << 10, 64 << 10, 256 << 10, 1 << 20];

/// Every batch of a records blob decodes, or fails with a typed error, and round-trips.
pub fn record_batches(data: &[u8]) -> Outcome {
    let Some((flags, blob)) = data.split_first() else {
        return Ok(Verdict::Rejected);
    };
    let opts = DecodeOptions {
        verify_crc: flags & 1 == 1,
        max_decompressed: CAPS[usize::from((flags >> 1) & 3)],
    };
    let blob = Bytes::copy_from_slice(blob);
    let mut verdict = Verdict::Rejected;
    let mut iter = BatchIter::with_options(blob.clone(), opts);
    let mut consumed = 0usize;
    for (i, batch) in iter.by_ref().enumerate() {
        let Ok(batch) = batch else { break };
        consumed += batch.size();
        let what = |s: String| Violation::new(CHECK, format!("batch {i}: {s}"));
        match &batch {
            Batch::V2(b) => check_v2(b, &opts).map_err(what)?,
            Batch::Legacy(_) => {
                // The records decode or fail; a wrapper's inner set is checked by its decoder.
                if let Ok(records) = batch.records_with(&opts) {
                    records.for_each(drop);
                }
            }
        }
        verdict = Verdict::Accepted;
    }
    if let Some(tail) = iter.truncated() {
        if tail.position != consumed || tail.bytes[..] != blob[consumed..] {
            return Err(Violation::new(
                CHECK,
                format!(
                    "truncated tail at {} of {} bytes after {consumed} consumed",
                    tail.position,
                    tail.bytes.len()
                ),
            ));
        }
    }
    Ok(verdict)
}

fn check_v2(b: &RecordBatch, opts: &DecodeOptions) -> Result<(), String> {
    let mut out = BytesMut::new();
    b.encode(&mut out);
    same_but_crc(b.as_bytes(), &out).map_err(|e| format!("header re-encoding: {e}"))?;
    let Ok(records) = b.records_with(opts) else {
        return Ok(());
    };
    let Ok(records) = records.collect::<Result<Vec<Record>, _>>() else {
        return Ok(());
    };
    if records.len() != b.records_count as usize {
        return Err(format!(
            "{} records decoded, the batch says {}",
            records.len(),
            b.records_count
        ));
    }
    if b.is_control() {
        if let Ok(control) = b.control_records(opts) {
            control.for_each(drop);
        }
    }
    let Some(rebuilt) = rebuild(b, &records) else {
        return Ok(());
    };
    if b.compression() == Compression::None && same_but_crc(b.as_bytes(), &rebuilt).is_ok() {
        return Ok(());
    }
    if b.compression() == Compression::None && rebuilt.len() > b.size() {
        // Rebuilding writes canonical varints, never longer than what was read.
        return Err(format!(
            "uncompressed batch rebuilt from its records is longer: {}",
            first_difference(b.as_bytes(), &rebuilt)
        ));
    }
    // Compressed, or uncompressed with non-canonical varints or null lengths (as Java reads
    // them): the rebuilt batch must hold the same records (without a cap: a batch recompressed
    // less tightly may not fit the input's).
    let again = RecordBatch::decode(rebuilt, &DecodeOptions::without_crc())
        .and_then(|x| {
            x.records_with(&DecodeOptions {
                verify_crc: false,
                max_decompressed: usize::MAX,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{:?} batch rebuilt from its records: {e}", b.compression()))?;
    if again != records {
        return Err(format!(
            "{:?} batch rebuilt from its records holds other records: {:?} became {:?}",
            b.compression(),
            records,
            again
        ));
    }
    Ok(())
}

/// The batch built again from its records, or `None` where the builder refuses them.
fn rebuild(b: &RecordBatch, records: &[Record]) -> Option<Bytes> {
    let mut builder = RecordBatchBuilder::for_batch(b);
    for r in records {
        if builder.append_record(r).ok()? == AppendResult::Full {
            return None;
        }
    }
    builder.build().ok()
}

/// `got` equals `expected` except for the CRC field, which encoding recomputes.
fn same_but_crc(expected: &[u8], got: &[u8]) -> Result<(), String> {
    if expected.len() != got.len()
        || expected[..CRC.start] != got[..CRC.start]
        || expected[CRC.end..] != got[CRC.end..]
    {
        return Err(first_difference(expected, got));
    }
    Ok(())
}
