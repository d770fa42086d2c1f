//! The records of one partition from one fetch response, handed out lazily.
//!
//! Batches are decoded one at a time as the application asks for records, so a large response
//! costs no work until it is read, and keys and values stay slices of the response. This is
//! where the delivery rules live:
//!
//! - records below the fetch position are skipped (a batch starts wherever the producer's batch
//!   started, so the first one may hold records the consumer has already seen);
//! - control batches are never delivered, in either isolation level (KIP-98);
//! - with `read_committed`, the batches of transactions listed as aborted in the response are
//!   skipped (KIP-98, as Java's `CompletedFetch`);
//! - an incomplete last batch is normal (the broker cuts at the size limit) and ends the data;
//!   the next fetch starts at the position reached.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::generated::fetch_response::AbortedTransaction;
use kafka_protocol::record::{
    Batch, BatchIter, ControlRecord, DecodeOptions, RecordsIter, TimestampType,
};
use kafka_protocol::DecodeError;
use tracing::trace;

use crate::consumer::config::IsolationLevel;
use crate::consumer::error::ConsumerError;
use crate::consumer::record::ConsumerRecord;
use crate::consumer::types::TopicPartition;

/// The batch being read and its iterator.
#[derive(Debug)]
struct CurrentBatch {
    records: RecordsIter,
    next_offset: i64,
    timestamp_type: TimestampType,
    leader_epoch: Option<i32>,
}

/// One partition's data from one fetch response.
#[derive(Debug)]
pub(crate) struct CompletedFetch {
    pub(crate) tp: TopicPartition,
    /// The position after what was handed out (or skipped) so far.
    pub(crate) next_offset: i64,
    /// Bytes of record data, counted against the prefetch bound until dropped.
    pub(crate) size: usize,
    batches: BatchIter,
    current: Option<CurrentBatch>,
    isolation: IsolationLevel,
    /// Aborted transactions not yet reached, smallest first offset first.
    aborted: BinaryHeap<Reverse<(i64, i64)>>,
    /// Producers whose current transaction is aborted (until their abort marker).
    aborted_producers: HashSet<i64>,
    opts: DecodeOptions,
    /// Set once an error was returned: the partition stops here.
    failed: bool,
    /// Records handed out.
    pub(crate) delivered: usize,
}

impl CompletedFetch {
    pub(crate) fn new(
        tp: TopicPartition,
        fetch_offset: i64,
        records: Bytes,
        isolation: IsolationLevel,
        aborted: Option<&[AbortedTransaction]>,
        opts: DecodeOptions,
    ) -> Self {
        let aborted = aborted
            .unwrap_or_default()
            .iter()
            .map(|a| Reverse((a.first_offset, a.producer_id)))
            .collect();
        Self {
            tp,
            next_offset: fetch_offset,
            size: records.len(),
            batches: BatchIter::with_options(records, opts),
            current: None,
            isolation,
            aborted,
            aborted_producers: HashSet::new(),
            opts,
            failed: false,
            delivered: 0,
        }
    }

    fn corrupt(&mut self, error: DecodeError) -> ConsumerError {
        self.failed = true;
        ConsumerError::CorruptRecord {
            partition: self.tp.clone(),
            offset: self.next_offset,
            error,
        }
    }

    /// KIP-98 / Java `consumeAbortedTransactionsUpTo`: every aborted transaction that starts
    /// at or before the batch's last offset is in effect for the batch's producer.
    fn consume_aborted_up_to(&mut self, offset: i64) {
        while let Some(Reverse((first, producer))) = self.aborted.peek().copied() {
            if first > offset {
                break;
            }
            self.aborted.pop();
            self.aborted_producers.insert(producer);
        }
    }

    /// Decides what to do with the next batch; returns the batch to read, or `None` when it
    /// was skipped (position already moved past it).
    fn open_batch(&mut self, batch: Batch) -> Result<Option<CurrentBatch>, ConsumerError> {
        let next_offset = batch.last_offset().wrapping_add(1);
        if next_offset <= self.next_offset {
            // Entirely below the position (already consumed): nothing to deliver.
            return Ok(None);
        }
        if let Batch::V2(b) = &batch {
            if self.isolation == IsolationLevel::ReadCommitted && b.producer_id >= 0 {
                self.consume_aborted_up_to(b.last_offset());
                if b.is_control() {
                    // An abort marker ends the producer's aborted transaction: its later
                    // batches belong to a new transaction (Java `CompletedFetch`).
                    let parsed = b
                        .control_records(&self.opts)
                        .map_err(|e| self.corrupt(e))?
                        .next();
                    if let Some(Ok(ControlRecord::EndTransaction { commit: false, .. })) = parsed {
                        self.aborted_producers.remove(&b.producer_id);
                    }
                } else if b.is_transactional() && self.aborted_producers.contains(&b.producer_id) {
                    trace!(tp = %self.tp, producer = b.producer_id, base = b.base_offset, "skipping aborted batch");
                    self.next_offset = next_offset;
                    return Ok(None);
                }
            }
            if b.is_control() {
                // Control records are the broker's bookkeeping, never application data.
                self.next_offset = next_offset;
                return Ok(None);
            }
        }
        let (timestamp_type, leader_epoch) = match &batch {
            Batch::V2(b) => (
                b.timestamp_type(),
                (b.partition_leader_epoch >= 0).then_some(b.partition_leader_epoch),
            ),
            Batch::Legacy(b) => (b.timestamp_type(), None),
        };
        let records = batch
            .records_with(&self.opts)
            .map_err(|e| self.corrupt(e))?;
        Ok(Some(CurrentBatch {
            records,
            next_offset,
            timestamp_type,
            leader_epoch,
        }))
    }

    /// The next record to deliver, an error (once; the partition then stops), or `None` when
    /// the data is used up.
    pub(crate) fn next_record(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(cur) = &mut self.current {
                match cur.records.next() {
                    Some(Ok(rec)) => {
                        if rec.offset < self.next_offset {
                            continue;
                        }
                        self.next_offset = rec.offset.wrapping_add(1);
                        self.delivered += 1;
                        return Some(Ok(ConsumerRecord {
                            topic: Arc::clone(&self.tp.topic),
                            partition: self.tp.partition,
                            offset: rec.offset,
                            timestamp: rec.timestamp,
                            timestamp_type: cur.timestamp_type,
                            key: rec.key,
                            value: rec.value,
                            headers: rec.headers,
                            leader_epoch: cur.leader_epoch,
                        }));
                    }
                    Some(Err(e)) => return Some(Err(self.corrupt(e))),
                    None => {
                        // Compaction can leave the batch's last offsets without records; the
                        // position still moves past the whole batch.
                        self.next_offset = self.next_offset.max(cur.next_offset);
                        self.current = None;
                    }
                }
            }
            match self.batches.next() {
                None => return None,
                Some(Err(e)) => return Some(Err(self.corrupt(e))),
                Some(Ok(batch)) => match self.open_batch(batch) {
                    Ok(Some(cur)) => self.current = Some(cur),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::record::{Compression, RecordBatchBuilder};

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    /// A batch of `n` records at `base` with values `v<offset>`.
    fn batch(base: i64, n: i64, compression: Compression) -> Bytes {
        let mut b = RecordBatchBuilder::new(compression);
        b.set_base_offset(base);
        for i in 0..n {
            let off = base + i;
            let _ = b
                .append(
                    1000 + off,
                    Some(format!("k{off}").as_bytes()),
                    Some(format!("v{off}").as_bytes()),
                    &[],
                )
                .unwrap();
        }
        b.build().unwrap()
    }

    fn txn_batch(base: i64, n: i64, producer: i64) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.set_base_offset(base)
            .set_producer(producer, 0)
            .set_base_sequence(0)
            .set_transactional(true);
        for i in 0..n {
            let off = base + i;
            let _ = b
                .append(1000, None, Some(format!("v{off}").as_bytes()), &[])
                .unwrap();
        }
        b.build().unwrap()
    }

    fn marker(base: i64, producer: i64, commit: bool) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.set_base_offset(base)
            .set_producer(producer, 0)
            .set_transactional(true)
            .set_control(true);
        let _ = b
            .append_control(1000, &ControlRecord::end_transaction(commit, 0))
            .unwrap();
        b.build().unwrap()
    }

    fn concat(parts: &[Bytes]) -> Bytes {
        let mut v = Vec::new();
        for p in parts {
            v.extend_from_slice(p);
        }
        Bytes::from(v)
    }

    fn drain(cf: &mut CompletedFetch) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(r) = cf.next_record() {
            out.push(r.unwrap().offset);
        }
        out
    }

    #[test]
    fn skips_records_below_the_position_in_the_first_batch() {
        for c in Compression::ALL {
            let data = concat(&[batch(0, 5, c), batch(5, 3, c)]);
            let mut cf = CompletedFetch::new(
                tp(),
                3,
                data,
                IsolationLevel::ReadUncommitted,
                None,
                DecodeOptions::default(),
            );
            assert_eq!(drain(&mut cf), vec![3, 4, 5, 6, 7], "{c:?}");
            assert_eq!(cf.next_offset, 8);
        }
    }

    #[test]
    fn values_are_slices_of_the_response_when_uncompressed() {
        let data = batch(0, 2, Compression::None);
        let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            data.clone(),
            IsolationLevel::ReadUncommitted,
            None,
            DecodeOptions::default(),
        );
        let r = cf.next_record().unwrap().unwrap();
        assert_eq!(r.value.as_deref(), Some(&b"v0"[..]));
        assert!(range.contains(&(r.value.unwrap().as_ptr() as usize)));
    }

    #[test]
    fn partial_trailing_batch_ends_the_data_without_error() {
        let full = batch(0, 2, Compression::None);
        let next = batch(2, 2, Compression::None);
        let data = concat(&[full, next.slice(..next.len() - 5)]);
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            data,
            IsolationLevel::ReadUncommitted,
            None,
            DecodeOptions::default(),
        );
        assert_eq!(drain(&mut cf), vec![0, 1]);
        assert_eq!(cf.next_offset, 2);
        let only = batch(0, 2, Compression::None);
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            only.slice(..20),
            IsolationLevel::ReadUncommitted,
            None,
            DecodeOptions::default(),
        );
        assert_eq!(drain(&mut cf), Vec::<i64>::new());
        assert_eq!(cf.next_offset, 0);
    }

    #[test]
    fn read_committed_filters_aborted_transactions_and_hides_markers() {
        // Producer 7 aborts offsets 0-1 (marker at 2), producer 8 commits 3-4 (marker at 5),
        // producer 7 then commits 6-7 (marker at 8): the abort must not leak into the second
        // transaction of the same producer.
        let data = concat(&[
            txn_batch(0, 2, 7),
            marker(2, 7, false),
            txn_batch(3, 2, 8),
            marker(5, 8, true),
            txn_batch(6, 2, 7),
            marker(8, 7, true),
        ]);
        let aborted = [AbortedTransaction {
            producer_id: 7,
            first_offset: 0,
            ..Default::default()
        }];
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            data.clone(),
            IsolationLevel::ReadCommitted,
            Some(&aborted),
            DecodeOptions::default(),
        );
        assert_eq!(drain(&mut cf), vec![3, 4, 6, 7]);
        assert_eq!(cf.next_offset, 9, "position moves past the trailing marker");
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            data,
            IsolationLevel::ReadUncommitted,
            Some(&aborted),
            DecodeOptions::default(),
        );
        assert_eq!(drain(&mut cf), vec![0, 1, 3, 4, 6, 7]);
        assert_eq!(cf.next_offset, 9);
    }

    #[test]
    fn corrupt_batch_is_an_error_at_the_position_and_stops_the_partition() {
        let mut bytes = batch(0, 2, Compression::None).to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let mut cf = CompletedFetch::new(
            tp(),
            0,
            Bytes::from(bytes),
            IsolationLevel::ReadUncommitted,
            None,
            DecodeOptions::default(),
        );
        match cf.next_record() {
            Some(Err(ConsumerError::CorruptRecord { offset: 0, .. })) => {}
            other => panic!("expected a CRC error, got {other:?}"),
        }
        assert!(cf.next_record().is_none());
    }
}
