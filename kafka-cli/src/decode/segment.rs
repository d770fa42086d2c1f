//! Kafka log segment files (`00000000000000000000.log` in a partition directory): batches back
//! to back, as the broker stores them, read one at a time; output in the style of
//! `kafka-dump-log --deep-iteration --print-data-log`.

use std::io::{self, Read, Write};

use bytes::Bytes;
use kafka_protocol::record::{Batch, DecodeOptions, LegacyBatch, RecordBatch};
use kafka_protocol::DecodeError;

use super::records::{DecodedBatch, Depth};
use super::text::write_text_bytes;

/// `baseOffset: int64, batchLength: int32` in front of every batch.
const LOG_OVERHEAD: usize = 12;
/// The smallest legacy message after the log overhead.
const MIN_SIZE: i32 = 14;

/// A problem reading a segment.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Reading the file failed.
    #[error("I/O error reading the segment: {0}")]
    Io(#[from] io::Error),
    /// The file ends inside a batch.
    #[error("segment truncated at byte {position}: batch needs {needed} bytes, {available} left")]
    Truncated {
        /// Where the batch starts.
        position: u64,
        /// Bytes the batch declares (log overhead included).
        needed: u64,
        /// Bytes the file still had.
        available: u64,
    },
    /// A batch length that cannot be right; nothing after it can be framed.
    #[error("corrupt batch length {size} at byte {position}")]
    BadLength {
        /// Where the batch starts.
        position: u64,
        /// The declared length.
        size: i32,
    },
    /// A batch that did not decode; reading goes on with the next one.
    #[error("batch at byte {position} does not decode: {error}")]
    Batch {
        /// Where the batch starts.
        position: u64,
        /// What is wrong, offset relative to the batch.
        error: DecodeError,
        /// What decoded before the failure (header and leading records), if anything.
        partial: Option<Box<DecodedBatch>>,
    },
}

impl SegmentError {
    /// True when reading can go on after this error.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, SegmentError::Batch { .. })
    }
}

/// Reads the batches of a segment one at a time.
#[derive(Debug)]
pub struct SegmentReader<R> {
    r: R,
    position: u64,
    opts: DecodeOptions,
    done: bool,
}

impl<R: Read> SegmentReader<R> {
    /// A reader over `r` (buffer it: batches are read with small header reads).
    pub fn new(r: R) -> Self {
        Self::with_options(r, DecodeOptions::default())
    }

    /// A reader with explicit record decoding options.
    pub fn with_options(r: R, opts: DecodeOptions) -> Self {
        SegmentReader {
            r,
            position: 0,
            opts,
            done: false,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn next_batch(&mut self) -> Result<Option<DecodedBatch>, SegmentError> {
        let position = self.position;
        let mut head = [0u8; LOG_OVERHEAD];
        let got = read_full(&mut self.r, &mut head)?;
        if got == 0 {
            return Ok(None);
        }
        if got < LOG_OVERHEAD {
            if head[..got].iter().all(|&b| b == 0) {
                return Ok(None);
            }
            return Err(SegmentError::Truncated {
                position,
                needed: LOG_OVERHEAD as u64,
                available: got as u64,
            });
        }
        let size = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        if size < MIN_SIZE {
            // A preallocated segment ends in zeros.
            if size == 0 && head.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            return Err(SegmentError::BadLength { position, size });
        }
        let mut buf = Vec::with_capacity(LOG_OVERHEAD + (size as usize).min(1 << 20));
        buf.extend_from_slice(&head);
        let body = (&mut self.r).take(size as u64).read_to_end(&mut buf)?;
        if body < size as usize {
            return Err(SegmentError::Truncated {
                position,
                needed: LOG_OVERHEAD as u64 + size as u64,
                available: (LOG_OVERHEAD + body) as u64,
            });
        }
        self.position += buf.len() as u64;
        let data = Bytes::from(buf);
        let batch = match data[16] {
            2 => RecordBatch::decode(data, &self.opts).map(Batch::V2),
            _ => LegacyBatch::decode(data, &self.opts).map(Batch::Legacy),
        };
        let batch = batch.map_err(|error| SegmentError::Batch {
            position,
            error,
            partial: None,
        })?;
        match DecodedBatch::decode(batch, position, &self.opts, Depth::Keep) {
            (b, None) => Ok(Some(b)),
            (partial, Some(error)) => Err(SegmentError::Batch {
                position,
                error,
                partial: Some(Box::new(partial)),
            }),
        }
    }
}

impl<R: Read> Iterator for SegmentReader<R> {
    type Item = Result<DecodedBatch, SegmentError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = !e.is_recoverable();
                Some(Err(e))
            }
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Java's `DefaultRecordBatch.incrementSequence`.
fn last_sequence(base: i32, delta: i32) -> i32 {
    if base < 0 {
        return -1;
    }
    if base > i32::MAX - delta {
        base - (i32::MAX - delta) - 1
    } else {
        base + delta
    }
}

/// Writes a batch and its records as `kafka-dump-log --deep-iteration --print-data-log` does.
/// Keys and payloads are shown as text when UTF-8, else as `0x` hex (Java prints them as
/// UTF-8 with replacement characters).
pub fn write_dump_log(w: &mut impl Write, d: &DecodedBatch) -> io::Result<()> {
    let ts_type;
    match &d.batch {
        Batch::V2(b) => {
            ts_type = b.timestamp_type().name();
            write!(
                w,
                "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: ",
                b.base_offset,
                b.last_offset(),
                b.records_count,
                b.base_sequence,
                last_sequence(b.base_sequence, b.last_offset_delta),
                b.producer_id,
                b.producer_epoch,
                b.partition_leader_epoch,
                b.is_transactional(),
                b.is_control(),
            )?;
            match b.delete_horizon_ms() {
                Some(h) => write!(w, "OptionalLong[{h}]")?,
                None => w.write_all(b"OptionalLong.empty")?,
            }
            writeln!(
                w,
                " position: {} {}: {} size: {} magic: 2 compresscodec: {} crc: {} isvalid: true",
                d.position,
                ts_type,
                b.max_timestamp,
                b.size(),
                b.compression().name(),
                b.crc
            )?;
        }
        Batch::Legacy(b) => {
            ts_type = b.timestamp_type().name();
            writeln!(
                w,
                "offset: {} position: {} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: true",
                b.last_offset(),
                d.position,
                ts_type,
                b.timestamp,
                b.size(),
                b.magic,
                b.compression().name(),
                b.crc
            )?;
        }
    }
    let v2 = matches!(d.batch, Batch::V2(_));
    for (i, r) in d.records.iter().enumerate() {
        write!(
            w,
            "| offset: {} {}: {} keySize: {} valueSize: {}",
            r.offset,
            ts_type,
            r.timestamp,
            r.key.as_ref().map_or(-1, |k| k.len() as i64),
            r.value.as_ref().map_or(-1, |v| v.len() as i64),
        )?;
        if v2 {
            write!(w, " sequence: {} headerKeys: [", r.sequence)?;
            for (j, h) in r.headers.iter().enumerate() {
                if j > 0 {
                    w.write_all(b",")?;
                }
                w.write_all(&h.key)?;
            }
            w.write_all(b"]")?;
        }
        if d.is_control() {
            match d.control.get(i) {
                Some(kafka_protocol::record::ControlRecord::EndTransaction {
                    commit,
                    coordinator_epoch,
                    ..
                }) => write!(
                    w,
                    " endTxnMarker: {} coordinatorEpoch: {coordinator_epoch}",
                    if *commit { "COMMIT" } else { "ABORT" }
                )?,
                Some(kafka_protocol::record::ControlRecord::Other { kind, .. }) => {
                    write!(w, " controlType: {}", super::json::control_type_name(*kind))?
                }
                None => {}
            }
        } else {
            if let Some(k) = &r.key {
                w.write_all(b" key: ")?;
                write_plain(w, k)?;
            }
            if let Some(v) = &r.value {
                w.write_all(b" payload: ")?;
                write_plain(w, v)?;
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

/// UTF-8 as is (like Java), anything else as hex.
fn write_plain(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    match std::str::from_utf8(data) {
        Ok(s) => w.write_all(s.as_bytes()),
        Err(_) => write_text_bytes(w, data, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::record::{AppendResult, Compression, ControlRecord, RecordBatchBuilder};

    fn segment() -> Vec<u8> {
        let mut out = Vec::new();
        let mut b = RecordBatchBuilder::new(Compression::Gzip);
        for (ts, key, value) in [(1000, Some(&b"k"[..]), b"hello"), (1001, None, b"world")] {
            assert_eq!(
                b.append(ts, key, Some(value), &[]).unwrap(),
                AppendResult::Appended
            );
        }
        out.extend_from_slice(&b.build().unwrap());
        let mut c = RecordBatchBuilder::new(Compression::None);
        c.set_base_offset(2)
            .set_producer(7, 0)
            .set_transactional(true)
            .set_control(true);
        assert_eq!(
            c.append_control(1002, &ControlRecord::end_transaction(true, 3))
                .unwrap(),
            AppendResult::Appended
        );
        out.extend_from_slice(&c.build().unwrap());
        out
    }

    #[test]
    fn reads_batches_and_stops_at_zero_padding() {
        let mut data = segment();
        data.extend_from_slice(&[0u8; 100]);
        let batches: Vec<_> = SegmentReader::new(&data[..])
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].records.len(), 2);
        assert!(batches[1].is_control());
        let mut out = Vec::new();
        for b in &batches {
            write_dump_log(&mut out, b).unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("baseOffset: 0 lastOffset: 1 count: 2"),
            "{text}"
        );
        assert!(text.contains("compresscodec: gzip"), "{text}");
        assert!(text.contains("| offset: 0 CreateTime: 1000 keySize: 1 valueSize: 5 sequence: -1 headerKeys: [] key: k payload: hello"), "{text}");
        assert!(
            text.contains("endTxnMarker: COMMIT coordinatorEpoch: 3"),
            "{text}"
        );
    }

    #[test]
    fn truncated_and_corrupt() {
        let data = segment();
        let cut = &data[..data.len() - 5];
        let results: Vec<_> = SegmentReader::new(cut).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(SegmentError::Truncated { .. })));

        let mut bad = data.clone();
        bad[30] ^= 0xff; // inside the first batch: CRC mismatch, reading goes on
        let results: Vec<_> = SegmentReader::new(&bad[..]).collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(
            results[0],
            Err(SegmentError::Batch { position: 0, .. })
        ));
        assert!(results[1].is_ok());

        let mut bad_len = data;
        bad_len[8..12].copy_from_slice(&3i32.to_be_bytes());
        let results: Vec<_> = SegmentReader::new(&bad_len[..]).collect();
        assert_eq!(results.len(), 1);
        assert!(matches!(
            results[0],
            Err(SegmentError::BadLength { size: 3, .. })
        ));
    }
}
