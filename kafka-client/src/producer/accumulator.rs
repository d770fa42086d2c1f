//! The sans-IO heart of the producer: per-partition batching, readiness (linger, size, flush),
//! draining into per-broker requests, sequence numbers, and what to do with each partition's
//! answer. No sockets, no clock: `now` comes in, so every retry and ordering rule is tested with
//! scripted responses.
//!
//! Ordering and exactly-once delivery into the log with idempotence (KIP-98):
//! - a batch gets its base sequence on its first send and keeps it (and its bytes) on every
//!   retry, so the broker recognises a resent batch it already has;
//! - batches of a partition are sent in sequence order; after a retriable failure the failed
//!   batch goes back to the front of its queue, and the partition sends nothing until all of its
//!   in-flight batches have answered, then resends one batch at a time. Later batches that were
//!   in flight fail too (`OUT_OF_ORDER_SEQUENCE_NUMBER` or the same error) and are requeued in
//!   sequence order behind it;
//! - an `OUT_OF_ORDER_SEQUENCE_NUMBER` for the lowest unresolved sequence, or
//!   `UNKNOWN_PRODUCER_ID`, means the broker lost or never had the earlier batches: the epoch is
//!   bumped (KIP-360) once nothing is in flight, and sequences restart at 0.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::record::{Compression, Header};
use kafka_protocol::ErrorCode;

use super::batch::{ProducerBatch, RecordSlot, TopicPartition};
use super::fast_hash::FastMap;
use super::record::RecordMetadata;
use crate::error::{KafkaError, Result};

/// Settings the accumulator needs.
#[derive(Debug, Clone)]
pub struct AccumulatorConfig {
    /// `batch.size`.
    pub batch_size: usize,
    /// `linger.ms`.
    pub linger: Duration,
    /// `max.request.size`.
    pub max_request_size: usize,
    /// `compression.type`.
    pub compression: Compression,
    /// `enable.idempotence`.
    pub idempotent: bool,
    /// `retries`.
    pub retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max: Duration,
    /// `delivery.timeout.ms`.
    pub delivery_timeout: Duration,
}

/// A partition's answer to a produce request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOutcome {
    /// Error code.
    pub error_code: i16,
    /// Error message, if any.
    pub error_message: Option<String>,
    /// The first record's offset.
    pub base_offset: i64,
    /// The broker's append time if the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
}

impl PartitionOutcome {
    /// Success at `base_offset` (-1 for acks=0).
    pub fn ok(base_offset: i64) -> Self {
        Self {
            error_code: 0,
            error_message: None,
            base_offset,
            log_append_time: -1,
        }
    }

    /// An error answer.
    pub fn error(code: ErrorCode) -> Self {
        Self {
            error_code: code.0,
            error_message: None,
            base_offset: -1,
            log_append_time: -1,
        }
    }
}

/// A batch drained for sending.
#[derive(Debug, Clone)]
pub struct DrainedBatch {
    /// Its id, to report the outcome with.
    pub id: u64,
    /// Where it goes.
    pub tp: TopicPartition,
    /// The wire bytes.
    pub bytes: Bytes,
}

/// One produce request's worth of batches for one broker.
#[derive(Debug, Clone)]
pub struct DrainedRequest {
    /// The leader they go to.
    pub node: i32,
    /// At most one batch per partition (Java does the same: a request answers per partition).
    pub batches: Vec<DrainedBatch>,
}

/// A finished record: its token and result.
pub type Completion<T> = (T, Result<RecordMetadata>);

/// A finished batch: its records' tokens and the result they share. Iterating gives each
/// record's [`Completion`], its metadata built only then: a per-record vector of results
/// (about 100 bytes each) between the accumulator and the callbacks cost more than the
/// callbacks' own work.
#[derive(Debug)]
pub struct Completed<T> {
    /// Where the batch went.
    pub tp: TopicPartition,
    /// Its records, in append order.
    pub records: Vec<RecordSlot<T>>,
    /// The `buffer.memory` accounted to the records.
    pub memory: usize,
    /// The first record's offset (-1 when unknown) and the broker's append time (-1 unless
    /// the topic uses LogAppendTime), or why the batch failed.
    pub result: std::result::Result<(i64, i64), KafkaError>,
}

impl<T> IntoIterator for Completed<T> {
    type Item = Completion<T>;
    type IntoIter = CompletedRecords<T>;

    fn into_iter(self) -> CompletedRecords<T> {
        CompletedRecords {
            records: self.records.into_iter(),
            next_offset: match self.result {
                Ok((base, _)) => base,
                Err(_) => -1,
            },
            tp: self.tp,
            result: self.result,
        }
    }
}

/// The records of a [`Completed`] batch with their results.
#[derive(Debug)]
pub struct CompletedRecords<T> {
    records: std::vec::IntoIter<RecordSlot<T>>,
    tp: TopicPartition,
    next_offset: i64,
    result: std::result::Result<(i64, i64), KafkaError>,
}

impl<T> Iterator for CompletedRecords<T> {
    type Item = Completion<T>;

    fn next(&mut self) -> Option<Completion<T>> {
        let slot = self.records.next()?;
        let r = match &self.result {
            Ok((_, log_append_time)) => {
                let offset = self.next_offset;
                if offset >= 0 {
                    self.next_offset += 1;
                }
                Ok(RecordMetadata {
                    topic: Arc::clone(&self.tp.topic),
                    partition: self.tp.partition,
                    offset,
                    timestamp: if *log_append_time >= 0 {
                        *log_append_time
                    } else {
                        slot.timestamp
                    },
                })
            }
            Err(e) => Err(e.clone()),
        };
        Some((slot.token, r))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl<T> ExactSizeIterator for CompletedRecords<T> {}

#[derive(Debug)]
struct PartState<T> {
    /// Oldest first; retried batches at the front in sequence order; the last may be open.
    queue: VecDeque<ProducerBatch<T>>,
    in_flight: usize,
    next_sequence: i32,
    backoff_until: Option<Instant>,
}

impl<T> Default for PartState<T> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            in_flight: 0,
            next_sequence: 0,
            backoff_until: None,
        }
    }
}

/// Producer id state (KIP-98).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProducerIdNeed {
    /// The current id is fine (or idempotence is off).
    None,
    /// Sequences are out of sync: bump the epoch of the current id (KIP-360).
    BumpEpoch,
    /// Get a new producer id (none yet, or fenced).
    NewId,
}

/// Batches per partition, waiting or in flight.
#[derive(Debug)]
pub struct Accumulator<T> {
    cfg: AccumulatorConfig,
    /// Every partition appended to, in order of first use (never removed), found by `index`;
    /// `last` is the one of the previous append, which the next is most likely to use again:
    /// comparing its key (an `Arc` pointer and a number) spares hashing the topic name.
    parts: Vec<(TopicPartition, PartState<T>)>,
    index: FastMap<TopicPartition, usize>,
    last: usize,
    in_flight: FastMap<u64, ProducerBatch<T>>,
    /// Ids of all batches not yet finished (for flush).
    pending: BTreeSet<u64>,
    next_batch_id: u64,
    producer: (i64, i16),
    need: ProducerIdNeed,
    /// Batches with an id below this are ready regardless of linger (flush, close).
    flush_below: u64,
}

impl<T> Accumulator<T> {
    /// An empty accumulator.
    pub fn new(cfg: AccumulatorConfig) -> Self {
        let need = if cfg.idempotent {
            ProducerIdNeed::NewId
        } else {
            ProducerIdNeed::None
        };
        Self {
            cfg,
            parts: Vec::new(),
            index: FastMap::default(),
            last: 0,
            in_flight: FastMap::default(),
            pending: BTreeSet::new(),
            next_batch_id: 0,
            producer: (-1, -1),
            need,
            flush_below: 0,
        }
    }

    /// What the producer id needs before more batches can be sent.
    pub fn producer_id_need(&self) -> ProducerIdNeed {
        self.need
    }

    /// The current producer id and epoch.
    pub fn producer(&self) -> (i64, i16) {
        self.producer
    }

    /// Batches in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether nothing is waiting or in flight.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The id the next batch will get: a flush waits for every batch below it.
    pub fn flush_mark(&self) -> u64 {
        self.next_batch_id
    }

    /// Whether every batch below `mark` has finished.
    pub fn flushed(&self, mark: u64) -> bool {
        self.pending.first().is_none_or(|id| *id >= mark)
    }

    /// Makes every batch existing now ready at once (flush and close ignore `linger.ms`), and
    /// closes open batches so that later records go to new ones.
    pub fn begin_flush(&mut self) -> u64 {
        for (_, p) in self.parts.iter_mut() {
            if let Some(b) = p.queue.back_mut() {
                b.closed = true;
            }
        }
        self.flush_below = self.next_batch_id;
        self.next_batch_id
    }

    /// Appends a record to its partition's open batch (opening one if needed).
    // Inlined into the producer's one caller (per record): as a call it cost ~45 instructions
    // of argument passing and register saves per record (callgrind).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &mut self,
        tp: &TopicPartition,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        memory: usize,
        token: T,
        now: Instant,
    ) -> Result<()> {
        let slot = self.slot(tp);
        self.last = slot;
        let part = &mut self.parts[slot].1;
        let token = match part.queue.back_mut() {
            Some(b) if !b.closed => {
                match b.try_append(timestamp, key, value, headers, memory, token)? {
                    Ok(()) => return Ok(()),
                    Err(t) => t,
                }
            }
            _ => token,
        };
        let id = self.next_batch_id;
        self.next_batch_id += 1;
        let mut b = ProducerBatch::new(
            id,
            tp.clone(),
            self.cfg.compression,
            self.cfg.batch_size,
            now,
        );
        if b.try_append(timestamp, key, value, headers, memory, token)?
            .is_err()
        {
            return Err(KafkaError::Protocol(
                "a new batch refused its first record".into(),
            ));
        }
        part.queue.push_back(b);
        self.pending.insert(id);
        Ok(())
    }

    /// Batches ready to go, grouped into at most one request per node for which
    /// `node_ready(node)` is true (connected and under `max.in.flight`). `leader` maps a
    /// partition to its leader's node id.
    pub fn drain(
        &mut self,
        now: Instant,
        leader: impl Fn(&TopicPartition) -> Option<i32>,
        node_ready: impl Fn(i32) -> bool,
    ) -> Result<Vec<DrainedRequest>> {
        if self.need != ProducerIdNeed::None {
            return Ok(Vec::new());
        }
        let mut requests: HashMap<i32, (usize, Vec<DrainedBatch>)> = HashMap::new();
        let cfg = &self.cfg;
        let producer = self.producer;
        for (tp, part) in self.parts.iter_mut() {
            let tp = &*tp;
            let Some(front) = part.queue.front() else {
                continue;
            };
            if part.backoff_until.is_some_and(|t| now < t) {
                continue;
            }
            // A resend waits until the partition has nothing in flight (see module docs).
            if cfg.idempotent && front.attempts > 0 && part.in_flight > 0 {
                continue;
            }
            let ready = front.closed
                || front.id < self.flush_below
                || front.attempts > 0
                || now.saturating_duration_since(front.created) >= cfg.linger;
            if !ready {
                continue;
            }
            let Some(node) = leader(tp) else { continue };
            if !node_ready(node) {
                continue;
            }
            let entry = requests.entry(node).or_insert((0, Vec::new()));
            let size = front.size();
            if !entry.1.is_empty() && entry.0 + size > cfg.max_request_size {
                continue;
            }
            let mut b = part.queue.pop_front().expect("front exists");
            let seq = if cfg.idempotent {
                match b.sequence {
                    Some(s) => s,
                    None => {
                        let s = part.next_sequence;
                        b.sequence = Some(s);
                        // Sequences wrap at i32::MAX (KIP-98).
                        part.next_sequence = s.wrapping_add(b.len() as i32) & i32::MAX;
                        s
                    }
                }
            } else {
                -1
            };
            let bytes = b.bytes(if cfg.idempotent { producer } else { (-1, -1) }, seq)?;
            b.attempts += 1;
            part.in_flight += 1;
            entry.0 += bytes.len();
            entry.1.push(DrainedBatch {
                id: b.id,
                tp: tp.clone(),
                bytes,
            });
            self.in_flight.insert(b.id, b);
        }
        Ok(requests
            .into_iter()
            .map(|(node, (_, batches))| DrainedRequest { node, batches })
            .collect())
    }

    /// The answer for a drained batch: a partition outcome, or a request-level error (a broken
    /// connection, a timeout) for which the batch may or may not have been written.
    pub fn handle_outcome(
        &mut self,
        batch_id: u64,
        outcome: std::result::Result<PartitionOutcome, KafkaError>,
        now: Instant,
    ) -> Option<Completed<T>> {
        let mut batch = self.in_flight.remove(&batch_id)?;
        if let Some(&i) = self.index.get(&batch.tp) {
            let p = &mut self.parts[i].1;
            p.in_flight = p.in_flight.saturating_sub(1);
        }
        let error = match outcome {
            Ok(o) if o.error_code == 0 => return Some(self.complete_ok(batch, &o)),
            // KIP-98: the broker already has this batch; its offset is no longer known.
            Ok(o) if o.error_code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER.0 => {
                return Some(self.complete_ok(batch, &PartitionOutcome::ok(-1)))
            }
            Ok(o) => KafkaError::broker(
                ErrorCode(o.error_code),
                o.error_message,
                format!("produce to {}", batch.tp),
            ),
            Err(e) => e,
        };
        let code = error.code();
        let expired = now.saturating_duration_since(batch.created) >= self.cfg.delivery_timeout;
        let may_retry = batch.attempts <= self.cfg.retries && !expired;
        let retry = if !may_retry {
            false
        } else if self.cfg.idempotent && code == Some(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER) {
            if !self.has_lower_unresolved(&batch) {
                self.need = self.need.max_with(ProducerIdNeed::BumpEpoch);
            }
            true
        } else if self.cfg.idempotent && code == Some(ErrorCode::UNKNOWN_PRODUCER_ID) {
            self.need = self.need.max_with(ProducerIdNeed::BumpEpoch);
            true
        } else if self.cfg.idempotent
            && matches!(
                code,
                Some(ErrorCode::INVALID_PRODUCER_EPOCH) | Some(ErrorCode::PRODUCER_FENCED)
            )
        {
            self.need = ProducerIdNeed::NewId;
            true
        } else {
            error.is_retriable()
        };
        if retry {
            self.requeue(batch, now);
            return None;
        }
        if self.cfg.idempotent && batch.sequence.is_some() {
            // The batch is given up while its sequence may be known to the broker: later
            // batches would be out of sequence, so start a new epoch (KIP-360).
            self.need = self.need.max_with(ProducerIdNeed::BumpEpoch);
        }
        let err = if expired && error.is_retriable() {
            KafkaError::Timeout {
                what: format!("delivery to {} (last error: {error})", batch.tp),
                after: self.cfg.delivery_timeout,
            }
        } else {
            error
        };
        batch.closed = true;
        Some(self.fail_batch(batch, err))
    }

    /// Whether a batch of the same partition with a lower sequence is still unresolved (in
    /// flight or waiting for a resend).
    fn has_lower_unresolved(&self, batch: &ProducerBatch<T>) -> bool {
        let Some(seq) = batch.sequence else {
            return false;
        };
        let lower = |b: &ProducerBatch<T>| b.tp == batch.tp && b.sequence.is_some_and(|s| s < seq);
        self.in_flight.values().any(lower)
            || self
                .index
                .get(&batch.tp)
                .is_some_and(|&i| self.parts[i].1.queue.iter().any(lower))
    }

    fn requeue(&mut self, batch: ProducerBatch<T>, now: Instant) {
        let exp = batch.attempts.saturating_sub(1).min(16);
        let wait = self
            .cfg
            .retry_backoff
            .saturating_mul(1 << exp)
            .min(self.cfg.retry_backoff_max.max(self.cfg.retry_backoff));
        let slot = self.slot(&batch.tp);
        let part = &mut self.parts[slot].1;
        part.backoff_until = Some(now + wait);
        // Keep the queue in sequence order: before the first batch that has no sequence yet or
        // a higher one.
        let seq = batch.sequence.unwrap_or(i32::MAX);
        let pos = part
            .queue
            .iter()
            .position(|b| b.attempts == 0 || b.sequence.is_none_or(|s| s > seq))
            .unwrap_or(part.queue.len());
        part.queue.insert(pos, batch);
    }

    fn complete_ok(&mut self, batch: ProducerBatch<T>, o: &PartitionOutcome) -> Completed<T> {
        self.pending.remove(&batch.id);
        Completed {
            tp: batch.tp,
            records: batch.records,
            memory: batch.memory,
            result: Ok((o.base_offset.max(-1), o.log_append_time)),
        }
    }

    fn fail_batch(&mut self, batch: ProducerBatch<T>, err: KafkaError) -> Completed<T> {
        self.pending.remove(&batch.id);
        Completed {
            tp: batch.tp,
            records: batch.records,
            memory: batch.memory,
            result: Err(err),
        }
    }

    /// A new producer id or epoch is in place: sequences restart at 0 for every partition, and
    /// batches waiting to be resent are re-stamped when drained.
    pub fn set_producer(&mut self, producer_id: i64, epoch: i16) {
        debug_assert!(self.in_flight.is_empty() || self.producer.0 < 0);
        self.producer = (producer_id, epoch);
        self.need = ProducerIdNeed::None;
        for (_, p) in self.parts.iter_mut() {
            p.next_sequence = 0;
            for b in p.queue.iter_mut() {
                b.sequence = None;
            }
        }
    }

    /// Fails batches that waited longer than `delivery.timeout.ms` (never ones in flight: their
    /// fate is unknown until the response or the request timeout).
    pub fn expire(&mut self, now: Instant) -> Vec<Completed<T>> {
        let timeout = self.cfg.delivery_timeout;
        let mut expired = Vec::new();
        for (_, p) in self.parts.iter_mut() {
            while p
                .queue
                .front()
                .is_some_and(|b| now.saturating_duration_since(b.created) >= timeout)
            {
                expired.push(p.queue.pop_front().expect("front exists"));
            }
        }
        let mut out = Vec::new();
        for b in expired {
            if self.cfg.idempotent && b.sequence.is_some() {
                self.need = self.need.max_with(ProducerIdNeed::BumpEpoch);
            }
            let err = KafkaError::Timeout {
                what: format!("delivery of {} record(s) to {}", b.len(), b.tp),
                after: timeout,
            };
            out.push(self.fail_batch(b, err));
        }
        out
    }

    /// Fails everything not in flight (close with a deadline passed, or a fatal error).
    pub fn abort_waiting(&mut self, err: &KafkaError) -> Vec<Completed<T>> {
        let batches: Vec<ProducerBatch<T>> = self
            .parts
            .iter_mut()
            .flat_map(|(_, p)| p.queue.drain(..))
            .collect();
        batches
            .into_iter()
            .map(|b| self.fail_batch(b, err.clone()))
            .collect()
    }

    /// When the next batch becomes ready by linger, backoff or expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for (_, p) in self.parts.iter() {
            let Some(front) = p.queue.front() else {
                continue;
            };
            consider(front.created + self.cfg.delivery_timeout);
            if let Some(t) = p.backoff_until {
                consider(t);
            }
            if !front.closed && front.attempts == 0 {
                consider(front.created + self.cfg.linger);
            }
        }
        next
    }

    /// Partitions with batches waiting (to look up their leaders).
    pub fn waiting_partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.parts
            .iter()
            .filter(|(_, p)| !p.queue.is_empty())
            .map(|(tp, _)| tp)
    }

    /// The position of `tp` in `parts`, added if new.
    fn slot(&mut self, tp: &TopicPartition) -> usize {
        if self.parts.get(self.last).is_some_and(|(k, _)| k == tp) {
            return self.last;
        }
        if let Some(&i) = self.index.get(tp) {
            return i;
        }
        let i = self.parts.len();
        self.parts.push((tp.clone(), PartState::default()));
        self.index.insert(tp.clone(), i);
        i
    }
}

impl ProducerIdNeed {
    fn max_with(self, other: ProducerIdNeed) -> ProducerIdNeed {
        use ProducerIdNeed::*;
        match (self, other) {
            (NewId, _) | (_, NewId) => NewId,
            (BumpEpoch, _) | (_, BumpEpoch) => BumpEpoch,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::record::{Batch, BatchIter};

    fn cfg() -> AccumulatorConfig {
        AccumulatorConfig {
            batch_size: 200,
            linger: Duration::from_millis(10),
            max_request_size: 1 << 20,
            compression: Compression::None,
            idempotent: true,
            retries: u32::MAX,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1000),
            delivery_timeout: Duration::from_secs(120),
        }
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn add(acc: &mut Accumulator<u32>, p: i32, token: u32, now: Instant) {
        acc.append(&tp(p), 1000, None, Some(&[0u8; 50]), &[], 86, token, now)
            .unwrap();
    }

    fn seq_of(b: &DrainedBatch) -> (i64, i16, i32, i32) {
        match BatchIter::new(b.bytes.clone()).next().unwrap().unwrap() {
            Batch::V2(v) => (
                v.producer_id,
                v.producer_epoch,
                v.base_sequence,
                v.records_count,
            ),
            Batch::Legacy(_) => panic!("v2"),
        }
    }

    fn drain_all(acc: &mut Accumulator<u32>, now: Instant) -> Vec<DrainedBatch> {
        acc.drain(now, |_| Some(1), |_| true)
            .unwrap()
            .into_iter()
            .flat_map(|r| r.batches)
            .collect()
    }

    fn flat(c: impl IntoIterator<Item = Completed<u32>>) -> Vec<Completion<u32>> {
        c.into_iter().flatten().collect()
    }

    fn tokens(c: &[Completion<u32>]) -> Vec<u32> {
        c.iter().map(|(t, _)| *t).collect()
    }

    #[test]
    fn nothing_is_sent_without_a_producer_id() {
        let now = Instant::now();
        let mut acc = Accumulator::new(cfg());
        add(&mut acc, 0, 0, now);
        assert_eq!(acc.producer_id_need(), ProducerIdNeed::NewId);
        assert!(drain_all(&mut acc, now + Duration::from_secs(1)).is_empty());
        acc.set_producer(42, 0);
        assert_eq!(drain_all(&mut acc, now + Duration::from_secs(1)).len(), 1);
    }

    #[test]
    fn linger_size_and_flush_decide_readiness() {
        let now = Instant::now();
        let mut acc = Accumulator::new(cfg());
        acc.set_producer(1, 0);
        add(&mut acc, 0, 0, now);
        assert!(drain_all(&mut acc, now).is_empty(), "lingering");
        assert_eq!(acc.poll_timeout(), Some(now + Duration::from_millis(10)));
        // Two more fill past batch.size (200): the first batch closes and is ready at once.
        add(&mut acc, 0, 1, now);
        add(&mut acc, 0, 2, now);
        let d = drain_all(&mut acc, now);
        assert_eq!(d.len(), 1);
        assert_eq!(seq_of(&d[0]), (1, 0, 0, 2));
        // The third record's batch waits for linger, or a flush.
        let mark = acc.begin_flush();
        let d2 = drain_all(&mut acc, now);
        assert_eq!(seq_of(&d2[0]), (1, 0, 2, 1), "sequence continues");
        assert!(!acc.flushed(mark));
        let c = flat(acc.handle_outcome(d[0].id, Ok(PartitionOutcome::ok(100)), now));
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].1.as_ref().unwrap().offset, 101);
        acc.handle_outcome(d2[0].id, Ok(PartitionOutcome::ok(102)), now);
        assert!(acc.flushed(mark));
        assert!(acc.is_empty());
    }

    #[test]
    fn retries_keep_sequence_and_order() {
        let now = Instant::now();
        let mut acc = Accumulator::new(cfg());
        acc.set_producer(7, 3);
        // Three batches of partition 0 in flight (one per drain).
        let mut sent = vec![];
        for i in 0..3 {
            add(&mut acc, 0, i, now);
            acc.begin_flush();
            sent.extend(drain_all(&mut acc, now));
        }
        assert_eq!(sent.len(), 3);
        let seqs: Vec<i32> = sent.iter().map(|b| seq_of(b).2).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        // The leader moved: the first fails with NOT_LEADER, the others with out-of-order
        // sequence (the broker never saw batch 0). Answers arrive in any order.
        let t = now + Duration::from_millis(1);
        assert!(acc
            .handle_outcome(
                sent[2].id,
                Ok(PartitionOutcome::error(
                    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                )),
                t
            )
            .is_none());
        assert!(acc
            .handle_outcome(
                sent[0].id,
                Ok(PartitionOutcome::error(ErrorCode::NOT_LEADER_OR_FOLLOWER)),
                t
            )
            .is_none());
        // Batch 1 is still in flight: nothing may be resent yet.
        assert!(drain_all(&mut acc, t + Duration::from_secs(1)).is_empty());
        assert!(acc
            .handle_outcome(
                sent[1].id,
                Err(KafkaError::Connection {
                    addr: "x".into(),
                    reason: "reset".into()
                }),
                t
            )
            .is_none());
        assert_eq!(
            acc.producer_id_need(),
            ProducerIdNeed::None,
            "a lower sequence was unresolved"
        );
        // Now resent one at a time, in sequence order, with the same sequences and epoch.
        let mut resent = vec![];
        let mut t2 = t + Duration::from_secs(2);
        for expect in [0, 1, 2] {
            let d = drain_all(&mut acc, t2);
            assert_eq!(d.len(), 1);
            assert_eq!(seq_of(&d[0]), (7, 3, expect, 1));
            assert!(drain_all(&mut acc, t2).is_empty(), "one resend at a time");
            let c = flat(acc.handle_outcome(
                d[0].id,
                Ok(PartitionOutcome::ok(10 + i64::from(expect))),
                t2,
            ));
            resent.extend(tokens(&c));
            t2 += Duration::from_secs(2);
        }
        assert_eq!(resent, vec![0, 1, 2]);
        assert!(acc.is_empty());
    }

    #[test]
    fn out_of_order_on_the_first_unresolved_batch_bumps_the_epoch() {
        let now = Instant::now();
        let mut acc = Accumulator::new(cfg());
        acc.set_producer(7, 0);
        add(&mut acc, 0, 0, now);
        add(&mut acc, 1, 1, now);
        acc.begin_flush();
        let d = drain_all(&mut acc, now);
        assert_eq!(d.len(), 2);
        let (p0, p1) = if d[0].tp.partition == 0 {
            (&d[0], &d[1])
        } else {
            (&d[1], &d[0])
        };
        acc.handle_outcome(p1.id, Ok(PartitionOutcome::ok(5)), now);
        acc.handle_outcome(
            p0.id,
            Ok(PartitionOutcome::error(ErrorCode::UNKNOWN_PRODUCER_ID)),
            now,
        );
        assert_eq!(acc.producer_id_need(), ProducerIdNeed::BumpEpoch);
        assert!(drain_all(&mut acc, now + Duration::from_secs(5)).is_empty());
        acc.set_producer(7, 1);
        let d = drain_all(&mut acc, now + Duration::from_secs(5));
        assert_eq!(
            seq_of(&d[0]),
            (7, 1, 0, 1),
            "re-stamped with the new epoch from 0"
        );
        // Partition 1's sequence restarts as well.
        add(&mut acc, 1, 2, now + Duration::from_secs(5));
        acc.begin_flush();
        let d = drain_all(&mut acc, now + Duration::from_secs(5));
        assert_eq!(seq_of(&d[0]).2, 0);
    }

    #[test]
    fn duplicates_succeed_and_fatal_errors_fail_the_batch() {
        let now = Instant::now();
        let mut acc = Accumulator::new(cfg());
        acc.set_producer(7, 0);
        add(&mut acc, 0, 0, now);
        acc.begin_flush();
        let d = drain_all(&mut acc, now);
        let c = flat(acc.handle_outcome(
            d[0].id,
            Ok(PartitionOutcome::error(
                ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
            )),
            now,
        ));
        assert_eq!(c[0].1.as_ref().unwrap().offset, -1);
        add(&mut acc, 0, 1, now);
        acc.begin_flush();
        let d = drain_all(&mut acc, now);
        let c = flat(acc.handle_outcome(
            d[0].id,
            Ok(PartitionOutcome::error(ErrorCode::MESSAGE_TOO_LARGE)),
            now,
        ));
        assert_eq!(
            c[0].1.as_ref().unwrap_err().code(),
            Some(ErrorCode::MESSAGE_TOO_LARGE)
        );
        // A sequence was burnt: the next batches need a new epoch.
        assert_eq!(acc.producer_id_need(), ProducerIdNeed::BumpEpoch);
    }

    #[test]
    fn delivery_timeout_expires_waiting_batches_and_retries_past_it_fail() {
        let now = Instant::now();
        let mut c = cfg();
        c.delivery_timeout = Duration::from_secs(1);
        let mut acc = Accumulator::new(c);
        acc.set_producer(7, 0);
        add(&mut acc, 0, 0, now);
        add(&mut acc, 1, 1, now);
        acc.begin_flush();
        // Partition 1's leader is unknown: it waits and expires.
        let d = acc
            .drain(now, |tp| (tp.partition == 0).then_some(1), |_| true)
            .unwrap();
        assert_eq!(d[0].batches.len(), 1);
        let expired = flat(acc.expire(now + Duration::from_secs(1)));
        assert_eq!(tokens(&expired), vec![1]);
        assert!(matches!(expired[0].1, Err(KafkaError::Timeout { .. })));
        // A retriable error after the deadline fails instead of retrying.
        let c = flat(acc.handle_outcome(
            d[0].batches[0].id,
            Ok(PartitionOutcome::error(ErrorCode::NOT_LEADER_OR_FOLLOWER)),
            now + Duration::from_secs(2),
        ));
        let e = c[0].1.as_ref().unwrap_err();
        assert!(matches!(e, KafkaError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("NOT_LEADER_OR_FOLLOWER"), "{e}");
    }

    #[test]
    fn requests_respect_max_request_size_and_node_readiness() {
        let now = Instant::now();
        let mut c = cfg();
        c.max_request_size = 300;
        c.idempotent = false;
        let mut acc = Accumulator::new(c);
        for p in 0..4 {
            add(&mut acc, p, p as u32, now);
            add(&mut acc, p, 10 + p as u32, now);
        }
        acc.begin_flush();
        let r = acc.drain(now, |_| Some(1), |n| n == 1).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].batches.len(),
            1,
            "a second batch would pass max.request.size"
        );
        let seqs: Vec<_> = r[0].batches.iter().map(seq_of).collect();
        assert_eq!(seqs[0].0, -1, "no producer id without idempotence");
        assert!(acc.drain(now, |_| Some(2), |n| n == 1).unwrap().is_empty());
    }
}
