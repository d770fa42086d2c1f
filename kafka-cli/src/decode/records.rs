//! Record data decoded in full: every batch of a `records` blob (Produce requests, Fetch and
//! ShareFetch responses, log segments), decompressed, every record read, control records typed.

use bytes::Bytes;
use kafka_protocol::record::{
    Batch, BatchIter, Compression, ControlRecord, DecodeOptions, Record, TruncatedTail,
};
use kafka_protocol::DecodeError;

/// How deeply record data is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// Every batch decompressed, every record read and kept (`-v`, `--json`, log segments).
    #[default]
    Keep,
    /// Every batch decompressed and every record read and checked as for `Keep`, but only
    /// counted (`--check-records` with the summary or `--stats`).
    Count,
    /// Batches only: framing, header and checksum (for magic 2 the CRC32C covers the records
    /// as stored, compressed or not), the record count taken from the v2 header's
    /// `recordsCount`. Magic 0/1 entries and v2 control batches are still read in full (`Count`):
    /// a legacy wrapper has no count but its inner messages, and control records are tiny. The
    /// default of the summary and `--stats`, which show no record: like tshark's one-line
    /// mode, which reads no record either, but checksums still catch damaged data.
    Batches,
}

/// One batch with all of its records.
#[derive(Debug, Clone)]
pub struct DecodedBatch {
    /// Where the batch starts in its blob (or segment file).
    pub position: u64,
    /// The batch header.
    pub batch: Batch,
    /// Its records (for a legacy compressed wrapper: the inner messages); empty when decoded
    /// with `keep` off.
    pub records: Vec<Record>,
    /// For a control batch: the typed control record of each record, same order (empty when
    /// decoded with `keep` off).
    pub control: Vec<ControlRecord>,
    /// Records decoded (kept or not).
    pub count: usize,
}

impl DecodedBatch {
    /// Decodes the records of `batch` to `depth`. On a failure, the records before it are kept
    /// and the error is returned beside them, its offset relative to the batch start (for
    /// compressed batches, the batch start: offsets inside decompressed data do not map to the
    /// input).
    ///
    /// With [`Depth::Count`] every record is still decoded and checked, but only counted: the
    /// one-line summary and the statistics need no more, and not keeping them saves
    /// allocations; [`Depth::Batches`] does not read the records of v2 data batches at all.
    pub fn decode(
        batch: Batch,
        position: u64,
        opts: &DecodeOptions,
        depth: Depth,
    ) -> (Self, Option<DecodeError>) {
        let keep = depth == Depth::Keep;
        let mut out = DecodedBatch {
            position,
            records: Vec::new(),
            control: Vec::new(),
            count: 0,
            batch,
        };
        if let (Depth::Batches, Batch::V2(b)) = (depth, &out.batch) {
            if !b.is_control() {
                // Checked by `BatchIter` when it produced the batch: non-negative.
                out.count = b.records_count as usize;
                return (out, None);
            }
        }
        let compressed = out.batch.compression() != Compression::None;
        let at = |e: DecodeError| {
            if compressed {
                DecodeError::new(e.kind().clone(), 0)
            } else {
                e
            }
        };
        let mut iter = match out.batch.records_with(opts) {
            Ok(it) => it,
            Err(e) => return (out, Some(at(e))),
        };
        let control = out.batch.is_control();
        if !keep && !control {
            // Every record checked as iterating would, none sliced out.
            let (count, error) = iter.check_rest();
            out.count = count;
            return (out, error.map(at));
        }
        if keep {
            out.records.reserve(iter.remaining().min(1 << 16));
        }
        for rec in iter {
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => return (out, Some(at(e))),
            };
            out.count += 1;
            if control {
                match ControlRecord::parse(&rec) {
                    Ok(c) if keep => out.control.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        if keep {
                            out.records.push(rec);
                        }
                        return (out, Some(at(e)));
                    }
                }
            }
            if keep {
                out.records.push(rec);
            }
        }
        (out, None)
    }

    /// Whether this is a v2 control batch.
    pub fn is_control(&self) -> bool {
        self.batch.is_control()
    }
}

/// A records blob decoded in full.
#[derive(Debug, Clone, Default)]
pub struct RecordSet {
    /// Offset of the blob within its frame (after the 4-byte length prefix).
    pub position: usize,
    /// Size of the blob.
    pub size: usize,
    /// Complete batches.
    pub batches: Vec<DecodedBatch>,
    /// An incomplete last batch (normal at the end of a Fetch response).
    pub truncated: Option<TruncatedTail>,
    /// The first failure; decoding of the blob stopped there. Offset relative to the blob.
    pub error: Option<DecodeError>,
}

impl RecordSet {
    /// Decodes every batch of `data`, found at `position` in its frame, and its records to
    /// `depth` (see [`DecodedBatch::decode`]).
    pub fn decode(data: Bytes, position: usize, opts: &DecodeOptions, depth: Depth) -> Self {
        let mut set = RecordSet {
            position,
            size: data.len(),
            ..RecordSet::default()
        };
        let mut it = BatchIter::with_options(data, *opts);
        loop {
            let start = it.position() as u64;
            match it.next() {
                None => break,
                Some(Ok(batch)) => {
                    let (b, error) = DecodedBatch::decode(batch, start, opts, depth);
                    set.batches.push(b);
                    if let Some(e) = error {
                        set.error = Some(e.shifted(start as usize));
                        return set;
                    }
                }
                Some(Err(e)) => {
                    set.error = Some(e);
                    return set;
                }
            }
        }
        set.truncated = it.truncated().cloned();
        set
    }

    /// Records in all complete batches.
    pub fn record_count(&self) -> usize {
        self.batches.iter().map(|b| b.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::record::{AppendResult, Header, RecordBatchBuilder};

    fn blob(compression: Compression) -> Bytes {
        let mut b = RecordBatchBuilder::new(compression);
        b.set_base_offset(5);
        let h = [Header::new("h", Some("x"))];
        assert_eq!(
            b.append(1000, Some(b"k"), Some(b"v1"), &h).unwrap(),
            AppendResult::Appended
        );
        assert_eq!(
            b.append(1001, None, None, &[]).unwrap(),
            AppendResult::Appended
        );
        b.build().unwrap()
    }

    fn set_data(batch: &Bytes) -> Bytes {
        let mut two = BytesMut::from(&batch[..]);
        two.extend_from_slice(batch);
        two.freeze()
    }

    #[test]
    fn decodes_all_codecs() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let data = blob(c);
            let mut two = BytesMut::from(&data[..]);
            two.extend_from_slice(&data);
            let set = RecordSet::decode(two.freeze(), 7, &DecodeOptions::default(), Depth::Keep);
            let opts = DecodeOptions::default();
            let counted = RecordSet::decode(set_data(&data), 7, &opts, Depth::Count);
            let batches = RecordSet::decode(set_data(&data), 7, &opts, Depth::Batches);
            assert_eq!(batches.record_count(), 4);
            assert!(batches.error.is_none());
            assert_eq!(counted.record_count(), 4);
            assert!(counted.batches.iter().all(|b| b.records.is_empty()));
            assert!(set.error.is_none(), "{c:?}: {:?}", set.error);
            assert_eq!(set.batches.len(), 2);
            assert_eq!(set.record_count(), 4);
            assert_eq!(set.batches[1].position, data.len() as u64);
            assert_eq!(set.batches[0].records[0].offset, 5);
            assert_eq!(set.batches[0].records[0].value.as_deref(), Some(&b"v1"[..]));
        }
    }

    #[test]
    fn counting_reports_what_keeping_reports() {
        // A record whose key length runs past the batch: the count-only walk of the summary must fail on it as the full decode does, for every codec.
        for c in Compression::ALL {
            let data = blob(c);
            let mut bad = BytesMut::from(&data[..]);
            if c == Compression::None {
                // First record: length varint, attributes, timestamp and offset deltas, key
                // length (zigzag 1 = "k"): make it claim 63 bytes.
                bad[61 + 4] = 126;
            } else {
                // Inside gzip's CRC32 trailer; inside the compressed data for the others.
                let at = bad.len() - 6;
                bad[at] ^= 0x55;
            }
            let bad = bad.freeze();
            // Checksums off so that the records themselves are reached.
            let opts = DecodeOptions::without_crc();
            let kept = RecordSet::decode(bad.clone(), 0, &opts, Depth::Keep);
            let counted = RecordSet::decode(bad, 0, &opts, Depth::Count);
            // Without checksums, snappy, lz4 and zstd may inflate a flipped byte to other
            // records that decode.
            assert!(
                kept.error.is_some() || !matches!(c, Compression::None | Compression::Gzip),
                "{c:?}"
            );
            assert_eq!(kept.error, counted.error, "{c:?}");
            assert_eq!(kept.record_count(), counted.record_count(), "{c:?}");
        }
    }

    #[test]
    fn batches_depth_reports_damage_the_checksum_covers() {
        // Depth::Batches reads no record, but a byte changed anywhere the CRC32C covers
        // (attributes to the end: every record, compressed or not) is still an error, as in
        // the full decode; the record count comes from the header.
        for c in Compression::ALL {
            let data = blob(c);
            for at in [21, 57, 61, data.len() - 1] {
                let mut bad = BytesMut::from(&data[..]);
                bad[at] ^= 0x01;
                let bad = bad.freeze();
                let opts = DecodeOptions::default();
                let kept = RecordSet::decode(bad.clone(), 0, &opts, Depth::Keep);
                let batches = RecordSet::decode(bad, 0, &opts, Depth::Batches);
                assert!(batches.error.is_some(), "{c:?} byte {at}");
                assert_eq!(kept.error, batches.error, "{c:?} byte {at}");
            }
        }
    }

    #[test]
    fn truncated_tail_is_not_an_error() {
        let data = blob(Compression::None);
        let mut two = BytesMut::from(&data[..]);
        two.extend_from_slice(&data[..data.len() - 3]);
        let set = RecordSet::decode(two.freeze(), 0, &DecodeOptions::default(), Depth::Keep);
        assert!(set.error.is_none());
        assert_eq!(set.batches.len(), 1);
        assert_eq!(set.truncated.unwrap().position, data.len());
    }

    #[test]
    fn corruption_is_reported_with_offset() {
        let data = blob(Compression::None);
        let mut two = BytesMut::from(&data[..]);
        two.extend_from_slice(&data);
        let last = two.len() - 1;
        two[last] ^= 0xff;
        let set = RecordSet::decode(two.freeze(), 0, &DecodeOptions::default(), Depth::Keep);
        let e = set.error.expect("crc mismatch");
        assert_eq!(set.batches.len(), 1);
        assert!(e.offset() >= data.len(), "{e}");
    }
}
