//! The producer's I/O task: drains ready batches of the [`Accumulator`] into produce requests
//! per leader, and feeds answers back. Everything slow (connecting, metadata, producer ids,
//! waiting for responses) runs in spawned tasks that report back through one channel, so the
//! loop itself never blocks.
//!
//! Records do not pass through this task: `send` appends them to the accumulator itself, under
//! the [`Shared`] lock, and wakes the task only when a batch is opened (a new linger deadline,
//! and the previous batch of the partition may now be full). A channel message per record cost
//! more than building the record into its batch.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{InitProducerIdRequest, ProduceRequest, ProduceResponse};
use kafka_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot, Notify as Wake, Semaphore};
use tracing::{debug, warn};

use super::accumulator::{
    Accumulator, AccumulatorConfig, Completed, DrainedRequest, PartitionOutcome, ProducerIdNeed,
};
use super::batch::TopicPartition;
use super::fast_hash::FastMap;
use super::partitioner::{keyed_partition, StickyPartitioner};
use super::record::{ProducerRecord, RecordMetadata};
use crate::client::Client;
use crate::config::{Acks, ProducerConfig};
use crate::error::{KafkaError, Result};
use crate::metadata::TopicInfo;
use crate::net::{Backoff, BrokerConnection};

/// How a record's result is delivered: the accumulator's completion token for each record
/// (`buffer.memory` goes back per batch, from the batch's own count).
pub(crate) enum Notify {
    Future(oneshot::Sender<Result<RecordMetadata>>),
    Callback(Box<dyn FnOnce(Result<RecordMetadata>) + Send>),
}

/// What becomes a record's [`Notify`] once it is appended. The fast path builds the
/// notification (boxing a callback) only then, so that a send it hands back still has the
/// caller's callback as it was given.
pub(crate) trait IntoNotify {
    fn into_notify(self) -> Notify;
}

impl IntoNotify for Notify {
    fn into_notify(self) -> Notify {
        self
    }
}

/// A delivery callback not yet boxed.
pub(crate) struct CallbackOnce<F>(pub(crate) F);

impl<F: FnOnce(Result<RecordMetadata>) + Send + 'static> IntoNotify for CallbackOnce<F> {
    fn into_notify(self) -> Notify {
        Notify::Callback(Box::new(self.0))
    }
}

impl std::fmt::Debug for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Future(_) => "Notify::Future",
            Self::Callback(_) => "Notify::Callback",
        })
    }
}

pub(crate) enum Command {
    Flush(oneshot::Sender<()>),
    Close(Duration, oneshot::Sender<()>),
}

/// What `send` and the I/O task share: the batches, the sticky partitioner and topic ids.
pub(crate) struct Shared {
    acc: Accumulator<Notify>,
    sticky: StickyPartitioner,
    topic_ids: FastMap<Arc<str>, Uuid>,
    /// The topic of the previous append and its name as kept in `topic_ids`: the same
    /// `TopicInfo` (by pointer) needs no lookup by name.
    last_topic: Option<(Arc<TopicInfo>, Arc<str>)>,
    /// The topic `send` last looked up: the cluster generation of the lookup, the name the
    /// record carried, and the metadata. A send to the same name while the generation holds
    /// takes the fast path ([`try_append_now`](Self::try_append_now)).
    sent_topic: Option<(u64, Arc<str>, Arc<TopicInfo>)>,
    /// The partition of the previous append, with the name as in `last_topic`: appends to it
    /// borrow it rather than build one per record.
    last_tp: Option<TopicPartition>,
    /// Set by close (or when every handle is gone): later sends fail.
    closing: bool,
    /// Wall clock at `clock_at`: record timestamps come from the monotonic reading `send`
    /// takes anyway, re-anchored to the wall clock every few milliseconds, which saves a clock
    /// read per record.
    clock_ms: i64,
    clock_at: Instant,
    /// The timestamp `clock_at` and `clock_ms` give up to `tick_end` (the next whole
    /// millisecond after `clock_at`): until then a record's timestamp costs a comparison.
    tick_ms: i64,
    tick_end: Instant,
    /// `buffer.memory` taken from the semaphore ahead of the records that will use it: the fast
    /// path takes permits in chunks of `credit_chunk` under the lock it holds anyway, rather
    /// than an atomic compare-and-swap on the semaphore per record. At most one chunk is held;
    /// a send that must wait for memory gives it back first (see
    /// [`release_credit`](Self::release_credit)), so it never counts against a waiter.
    credit: u32,
    credit_chunk: u32,
    /// Fast-path appends since `send` last counted against tokio's cooperative budget.
    since_budget: u32,
}

/// What [`Shared::try_append_now`] did.
pub(crate) enum AppendNow<N> {
    /// Appended; `opened` when a new batch was opened (the I/O task must look again),
    /// `count_budget` when `send` should count against tokio's cooperative budget.
    Appended { opened: bool, count_budget: bool },
    /// Not appended, for this reason (the memory is given back).
    Failed(KafkaError),
    /// Not tried: the slow path must wait or look something up first.
    Later(N),
}

/// How long record timestamps may be derived from the monotonic clock before the wall clock is
/// read again (so a wall-clock step shows up in timestamps within this long).
const CLOCK_REANCHOR: Duration = Duration::from_millis(5);

/// Fast-path sends per unit of tokio's cooperative budget. The budget (128 units per task
/// turn) makes a loop of sends that never wait yield now and then, so that on a current-thread
/// runtime the I/O task sends while the buffer fills; counting every send cost more than the
/// record's append. One unit per 8 sends yields about every thousand records.
const SENDS_PER_BUDGET_UNIT: u32 = 8;

impl Shared {
    pub(crate) fn new(config: &ProducerConfig) -> Self {
        let now = Instant::now();
        Self {
            acc: Accumulator::new(AccumulatorConfig {
                batch_size: config.batch_size,
                linger: config.linger,
                max_request_size: config.max_request_size,
                compression: config.compression,
                idempotent: config.enable_idempotence,
                retries: config.retries,
                retry_backoff: config.client.retry_backoff,
                retry_backoff_max: config.client.retry_backoff_max,
                delivery_timeout: config.delivery_timeout,
            }),
            sticky: StickyPartitioner::new(config.batch_size),
            topic_ids: FastMap::default(),
            last_topic: None,
            sent_topic: None,
            last_tp: None,
            closing: false,
            clock_ms: now_ms(),
            clock_at: now,
            tick_ms: 0,
            // No later than any record's `now`: the first record computes its timestamp.
            tick_end: now,
            credit: 0,
            // A batch's worth, and never more than a 32nd of the buffer: a waiter for memory
            // (which asks for a 16th) is not held up by it.
            credit_chunk: u32::try_from(config.batch_size.min(config.buffer_memory / 32))
                .unwrap_or(u32::MAX),
            since_budget: 0,
        }
    }

    /// Takes `permits` of `buffer.memory` from the credit, refilling it from `memory` when
    /// short; false when the semaphore has not enough free.
    fn take_memory(&mut self, memory: &Semaphore, permits: u32) -> bool {
        if self.credit >= permits {
            self.credit -= permits;
            return true;
        }
        let want = permits.max(self.credit_chunk);
        if memory.try_acquire_many(want).map(|p| p.forget()).is_ok() {
            self.credit += want - permits;
            return true;
        }
        // Not a chunk free: the record's own size may still be.
        memory
            .try_acquire_many(permits.saturating_sub(self.credit))
            .map(|p| p.forget())
            .is_ok_and(|()| {
                self.credit = 0;
                true
            })
    }

    /// Gives the credit back to `memory`: a send about to wait for memory must not wait for
    /// permits that sit here unused.
    pub(crate) fn release_credit(&mut self, memory: &Semaphore) {
        if self.credit > 0 {
            memory.add_permits(self.credit as usize);
            self.credit = 0;
        }
    }

    /// The create time of a record appended at `now`: the wall clock at the last anchor plus
    /// the monotonic time since, in whole milliseconds.
    fn timestamp(&mut self, now: Instant) -> i64 {
        if now < self.tick_end {
            return self.tick_ms;
        }
        let since = now.saturating_duration_since(self.clock_at);
        if since >= CLOCK_REANCHOR {
            self.clock_ms = now_ms();
            self.clock_at = now;
            self.tick_ms = self.clock_ms;
            self.tick_end = now + Duration::from_millis(1);
        } else {
            let ms = since.as_millis() as u64;
            self.tick_ms = self.clock_ms + ms as i64;
            self.tick_end = self.clock_at + Duration::from_millis(ms + 1);
        }
        self.tick_ms
    }

    /// Remembers `topic`, looked up by `name` at cluster `generation`, for the fast path.
    pub(crate) fn remember_topic(
        &mut self,
        generation: u64,
        name: Arc<str>,
        topic: Arc<TopicInfo>,
    ) {
        self.sent_topic = Some((generation, name, topic));
    }

    /// The metadata `send` last looked up, if it is `name`'s and the cluster generation is still
    /// `generation`: what the fast path would use.
    pub(crate) fn known_topic(&self, name: &Arc<str>, generation: u64) -> Option<Arc<TopicInfo>> {
        self.sent_topic
            .as_ref()
            .filter(|c| is_sent_topic(c, name, generation))
            .map(|c| c.2.clone())
    }

    /// `send` without waiting, under the one lock it takes: appends `record` when its topic is
    /// the one `send` last looked up (and the metadata has not changed since, `generation`),
    /// its partition follows from the record (given and valid, `chosen` by a custom partitioner
    /// and valid, keyed, or sticky), and `memory` has `permits` free. Anything else hands
    /// `notify` back for the slow path.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn try_append_now<N: IntoNotify>(
        &mut self,
        record: &ProducerRecord,
        chosen: Option<i32>,
        notify: N,
        generation: u64,
        memory: &Semaphore,
        permits: u32,
        ignore_keys: bool,
    ) -> AppendNow<N> {
        // Taken out and put back rather than cloned: no reference count traffic per record.
        let cached = match self.sent_topic.take() {
            Some(c) if is_sent_topic(&c, &record.topic, generation) => c,
            other => {
                self.sent_topic = other;
                return AppendNow::Later(notify);
            }
        };
        let topic = &cached.2;
        let given = record.partition.or(chosen);
        let partition = match (given, &record.key) {
            (Some(p), _) if p >= 0 && (p as usize) < topic.partitions.len() => Some(p),
            // The slow path reports the error.
            (Some(_), _) => None,
            (None, Some(k)) if !ignore_keys => Some(keyed_partition(topic, k)),
            (None, _) => None,
        };
        let invalid_partition = given.is_some() && partition.is_none();
        if invalid_partition || !self.take_memory(memory, permits) {
            self.sent_topic = Some(cached);
            return AppendNow::Later(notify);
        }
        let appended = self.append(
            &cached.2,
            partition,
            record,
            notify.into_notify(),
            permits,
            Instant::now(),
        );
        self.sent_topic = Some(cached);
        match appended {
            Ok(opened) => {
                self.since_budget += 1;
                let count_budget = self.since_budget >= SENDS_PER_BUDGET_UNIT;
                if count_budget {
                    self.since_budget = 0;
                }
                AppendNow::Appended {
                    opened,
                    count_budget,
                }
            }
            Err((e, permits)) => {
                self.credit += permits;
                AppendNow::Failed(e)
            }
        }
    }

    /// Appends a record (partition chosen unless given) that took `memory` of
    /// `buffer.memory`. `Ok(true)` when a new batch was opened: the I/O task must then look at
    /// the accumulator again. On `Err` the memory is returned so it can be given back.
    pub(crate) fn append(
        &mut self,
        topic: &Arc<TopicInfo>,
        partition: Option<i32>,
        record: &ProducerRecord,
        token: Notify,
        memory: u32,
        now: Instant,
    ) -> std::result::Result<bool, (KafkaError, u32)> {
        if self.closing {
            return Err((KafkaError::Closed, memory));
        }
        let ts = match record.timestamp {
            Some(ts) => ts,
            None => self.timestamp(now),
        };
        if !matches!(&self.last_topic, Some((t, _)) if Arc::ptr_eq(t, topic)) {
            let name = match self.topic_ids.get_key_value(topic.name.as_str()) {
                Some((k, id)) if *id == topic.id => k.clone(),
                _ => {
                    let k: Arc<str> = Arc::from(topic.name.as_str());
                    self.topic_ids.insert(k.clone(), topic.id);
                    k
                }
            };
            self.last_topic = Some((topic.clone(), name));
        }
        // Borrowed, not cloned: an `Arc` clone and drop per record are two atomic operations.
        let name = &self.last_topic.as_ref().expect("set above").1;
        let partition = match partition {
            Some(p) => p,
            None => self
                .sticky
                .partition_for_append(topic, Some(name), memory as usize),
        };
        if !self
            .last_tp
            .as_ref()
            .is_some_and(|tp| tp.partition == partition && Arc::ptr_eq(&tp.topic, name))
        {
            self.last_tp = Some(TopicPartition {
                topic: name.clone(),
                partition,
            });
        }
        let tp = self.last_tp.as_ref().expect("set above");
        let mark = self.acc.flush_mark();
        if let Err(e) = self.acc.append(
            tp,
            ts,
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
            memory as usize,
            token,
            now,
        ) {
            return Err((e, memory));
        }
        Ok(self.acc.flush_mark() != mark)
    }
}

/// Whether `sent` (see [`Shared::sent_topic`]) is topic `name` at cluster `generation`: by
/// pointer first, as the application passes the same `Arc` each time.
fn is_sent_topic(sent: &(u64, Arc<str>, Arc<TopicInfo>), name: &Arc<str>, generation: u64) -> bool {
    sent.0 == generation && (Arc::ptr_eq(&sent.1, name) || *sent.1 == **name)
}

/// Locks the shared state; a panic while it was held (a user callback never runs under it)
/// leaves nothing half-done that later users could not handle, so poisoning is ignored.
pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

enum Event {
    Connected(i32, Result<Arc<BrokerConnection>>),
    Response {
        node: i32,
        batches: Vec<(u64, TopicPartition)>,
        result: Result<Option<ProduceResponse>>,
    },
    ProducerId(Result<(i64, i16)>),
    MetadataDone,
}

/// A produce request on its way: where it went, its batches, and its response to come.
struct InFlightRequest {
    node: i32,
    batches: Vec<(u64, TopicPartition)>,
    response: Pin<Box<dyn Future<Output = Result<Option<ProduceResponse>>> + Send>>,
}

/// A produce request's outcome, as [`poll_requests`] hands it over.
struct Answered {
    node: i32,
    batches: Vec<(u64, TopicPartition)>,
    result: Result<Option<ProduceResponse>>,
}

/// Every request answered by now, in the order they were sent; pending while none is. The I/O
/// task's waker is each response's, so an answer wakes the task that handles it. At most
/// `max.in.flight.requests.per.connection` per broker are here: polling them all is cheap.
fn poll_requests(requests: &mut Vec<InFlightRequest>, cx: &mut Context<'_>) -> Poll<Vec<Answered>> {
    let mut answered = Vec::new();
    let mut i = 0;
    while i < requests.len() {
        match requests[i].response.as_mut().poll(cx) {
            Poll::Ready(result) => {
                let r = requests.remove(i);
                answered.push(Answered {
                    node: r.node,
                    batches: r.batches,
                    result,
                });
            }
            Poll::Pending => i += 1,
        }
    }
    if answered.is_empty() {
        Poll::Pending
    } else {
        Poll::Ready(answered)
    }
}

pub(crate) struct Sender {
    client: Client,
    config: ProducerConfig,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Wake>,
    /// Finished records, notified after the shared lock is released: one `Vec` per batch,
    /// kept as it came rather than copied into one (each element is ~100 bytes, per record).
    done: Vec<Completed<Notify>>,
    memory: Arc<Semaphore>,
    conns: FastMap<i32, Arc<BrokerConnection>>,
    connecting: HashSet<i32>,
    node_in_flight: FastMap<i32, usize>,
    /// Produce requests awaiting their responses, polled by the I/O task itself: a task
    /// spawned per request, and the channel message it sent back, cost more per request than
    /// the producer's own handling of the answer (one request per batch with one partition).
    requests: Vec<InFlightRequest>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    flush_waiters: Vec<(u64, oneshot::Sender<()>)>,
    /// Flushes that are complete, answered after the completions of this turn are delivered.
    flushed: Vec<oneshot::Sender<()>>,
    closing: Option<(Instant, oneshot::Sender<()>)>,
    producer_id_pending: bool,
    metadata_pending: bool,
    metadata_backoff: Backoff,
    last_metadata: Option<Instant>,
}

impl Sender {
    pub(crate) fn new(
        client: Client,
        config: ProducerConfig,
        memory: Arc<Semaphore>,
        shared: Arc<Mutex<Shared>>,
        wake: Arc<Wake>,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        Self {
            shared,
            wake,
            done: Vec::new(),
            metadata_backoff: Backoff::new(
                config.client.retry_backoff,
                config.client.retry_backoff_max,
            ),
            client,
            config,
            memory,
            conns: FastMap::default(),
            connecting: HashSet::new(),
            node_in_flight: FastMap::default(),
            requests: Vec::new(),
            events_tx,
            events_rx,
            flush_waiters: Vec::new(),
            flushed: Vec::new(),
            closing: None,
            producer_id_pending: false,
            metadata_pending: false,
            last_metadata: None,
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut commands_open = true;
        let woken = self.wake.clone();
        // One timer, moved when the next deadline changes: a new `Sleep` per turn registered
        // and cleared a timer entry each time.
        let mut timer = Box::pin(tokio::time::sleep(Duration::ZERO));
        loop {
            let wake = self.next_wake();
            if let Some(t) = wake {
                let t = tokio::time::Instant::from_std(t);
                if timer.deadline() != t {
                    timer.as_mut().reset(t);
                }
            }
            let requests = &mut self.requests;
            tokio::select! {
                answered = std::future::poll_fn(|cx| poll_requests(requests, cx)) => {
                    for a in answered {
                        self.answered(a.node, a.batches, a.result);
                    }
                }
                cmd = commands.recv(), if commands_open => match cmd {
                    Some(cmd) => {
                        self.command(cmd);
                        // Take what is queued in one go: fewer loop turns under load.
                        for _ in 0..4096 {
                            match commands.try_recv() {
                                Ok(cmd) => self.command(cmd),
                                Err(_) => break,
                            }
                        }
                    }
                    None => {
                        // Every Producer handle is gone: deliver what is buffered, then stop.
                        commands_open = false;
                        if self.closing.is_none() {
                            let (tx, _) = oneshot::channel();
                            self.begin_close(self.config.delivery_timeout, tx);
                        }
                    }
                },
                Some(ev) = self.events_rx.recv() => {
                    self.event(ev);
                    while let Ok(ev) = self.events_rx.try_recv() {
                        self.event(ev);
                    }
                }
                () = woken.notified() => {}
                () = &mut timer, if wake.is_some() => {}
            }
            let stop = self.step();
            let done = std::mem::take(&mut self.done);
            self.finish(done);
            for tx in self.flushed.drain(..) {
                let _ = tx.send(());
            }
            if stop {
                break;
            }
        }
        if let Some((_, tx)) = self.closing.take() {
            let _ = tx.send(());
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let sh = lock(&self.shared);
        let mut t = sh.acc.poll_timeout();
        if let Some((deadline, _)) = &self.closing {
            t = Some(t.map_or(*deadline, |x| x.min(*deadline)));
        }
        if !sh.acc.is_empty() && !self.metadata_pending {
            // Periodic re-check while records wait for a leader or a connection.
            let soon = Instant::now() + self.config.client.retry_backoff;
            t = Some(t.map_or(soon, |x| x.min(soon)));
        }
        t
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Flush(tx) => {
                let mark = lock(&self.shared).acc.begin_flush();
                self.flush_waiters.push((mark, tx));
            }
            Command::Close(timeout, tx) => self.begin_close(timeout, tx),
        }
    }

    fn begin_close(&mut self, timeout: Duration, tx: oneshot::Sender<()>) {
        let mut sh = lock(&self.shared);
        sh.acc.begin_flush();
        sh.closing = true;
        self.closing = Some((Instant::now() + timeout, tx));
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Connected(node, r) => {
                self.connecting.remove(&node);
                match r {
                    Ok(c) => {
                        self.conns.insert(node, c);
                    }
                    Err(e) => {
                        debug!(node, error = %e, "producer could not connect");
                        self.client.invalidate_metadata();
                    }
                }
            }
            Event::Response {
                node,
                batches,
                result,
            } => self.answered(node, batches, result),
            Event::ProducerId(r) => {
                self.producer_id_pending = false;
                match r {
                    Ok((id, epoch)) => {
                        debug!(id, epoch, "producer id");
                        lock(&self.shared).acc.set_producer(id, epoch);
                    }
                    Err(e) => {
                        // Not retriable (e.g. not authorized): nothing can be sent.
                        warn!(error = %e, "InitProducerId failed");
                        let done = lock(&self.shared).acc.abort_waiting(&e);
                        self.done.extend(done);
                    }
                }
            }
            Event::MetadataDone => {
                self.metadata_pending = false;
                self.last_metadata = Some(Instant::now());
            }
        }
    }

    /// A produce request to `node` is answered (or failed).
    fn answered(
        &mut self,
        node: i32,
        batches: Vec<(u64, TopicPartition)>,
        result: Result<Option<ProduceResponse>>,
    ) {
        if let Some(n) = self.node_in_flight.get_mut(&node) {
            *n = n.saturating_sub(1);
        }
        self.response(node, batches, result);
    }

    fn response(
        &mut self,
        node: i32,
        batches: Vec<(u64, TopicPartition)>,
        result: Result<Option<ProduceResponse>>,
    ) {
        let now = Instant::now();
        let shared = self.shared.clone();
        let mut sh = lock(&shared);
        let done = &mut self.done;
        match result {
            Ok(None) => {
                // acks=0: written, nothing more is known.
                for (id, _) in batches {
                    done.extend(sh.acc.handle_outcome(id, Ok(PartitionOutcome::ok(-1)), now));
                }
            }
            Ok(Some(resp)) => {
                for (id, tp) in batches {
                    let tid = sh.topic_ids.get(&tp.topic).copied().unwrap_or(Uuid::ZERO);
                    let part = resp
                        .responses
                        .iter()
                        .filter(|t| t.name == *tp.topic || (tid != Uuid::ZERO && t.topic_id == tid))
                        .flat_map(|t| t.partition_responses.iter())
                        .find(|p| p.index == tp.partition);
                    let outcome = match part {
                        Some(p) => {
                            let code = ErrorCode(p.error_code);
                            if crate::error::is_metadata_error(code) {
                                self.client.invalidate_metadata();
                            }
                            Ok(PartitionOutcome {
                                error_code: p.error_code,
                                error_message: p.error_message.as_deref().map(Into::into),
                                base_offset: p.base_offset,
                                log_append_time: p.log_append_time_ms,
                            })
                        }
                        None => Err(KafkaError::Protocol(format!("no answer for {tp}"))),
                    };
                    done.extend(sh.acc.handle_outcome(id, outcome, now));
                }
            }
            Err(e) => {
                debug!(node, error = %e, "produce request failed");
                if matches!(
                    e,
                    KafkaError::Connection { .. } | KafkaError::Timeout { .. }
                ) {
                    self.conns.remove(&node);
                    self.client.invalidate_metadata();
                }
                for (id, _) in batches {
                    done.extend(sh.acc.handle_outcome(id, Err(e.clone()), now));
                }
            }
        }
    }

    fn finish(&mut self, done: Vec<Completed<Notify>>) {
        // Memory goes back once per call, not per record: each `add_permits` takes the
        // semaphore's waiter lock.
        let mut freed = 0usize;
        for batch in done {
            freed += batch.memory;
            for (token, r) in batch {
                notify(token, r);
            }
        }
        if freed > 0 {
            self.memory.add_permits(freed);
        }
    }

    /// One turn after any input: expiry, producer id, metadata, connections, draining,
    /// flush and close bookkeeping. Returns true when the sender should stop.
    fn step(&mut self) -> bool {
        let now = Instant::now();
        let shared = self.shared.clone();
        let mut sh = lock(&shared);
        let expired = sh.acc.expire(now);
        self.done.extend(expired);

        match sh.acc.producer_id_need() {
            ProducerIdNeed::None => {}
            // KIP-360: an idempotent producer bumps its own epoch once nothing is in flight; the
            // broker accepts a higher epoch starting at sequence 0.
            ProducerIdNeed::BumpEpoch if sh.acc.in_flight() == 0 => {
                let (id, epoch) = sh.acc.producer();
                if epoch < i16::MAX && id >= 0 {
                    debug!(id, epoch = epoch + 1, "bumping producer epoch");
                    sh.acc.set_producer(id, epoch + 1);
                } else {
                    self.request_producer_id();
                }
            }
            ProducerIdNeed::NewId if sh.acc.in_flight() == 0 => self.request_producer_id(),
            _ => {}
        }

        let cluster = self.client.cluster();
        let mut need_metadata = false;
        let mut want_nodes = HashSet::new();
        for tp in sh.acc.waiting_partitions() {
            match cluster
                .topic(&tp.topic)
                .and_then(|t| t.partition(tp.partition))
            {
                Some(p) if p.leader >= 0 => {
                    want_nodes.insert(p.leader);
                }
                _ => need_metadata = true,
            }
        }
        for node in want_nodes {
            let live = self.conns.get(&node).is_some_and(|c| !c.is_closed());
            if !live {
                self.conns.remove(&node);
                self.connect(node);
            }
        }
        if need_metadata {
            self.client.invalidate_metadata();
        }
        self.maybe_refresh_metadata();

        let max_in_flight = self.config.max_in_flight;
        loop {
            let conns = &self.conns;
            let in_flight = &self.node_in_flight;
            let drained = sh.acc.drain(
                now,
                |tp| {
                    cluster
                        .topic(&tp.topic)
                        .and_then(|t| t.partition(tp.partition))
                        .filter(|p| p.leader >= 0)
                        .map(|p| p.leader)
                },
                |node| {
                    conns.get(&node).is_some_and(|c| !c.is_closed())
                        && in_flight.get(&node).copied().unwrap_or(0) < max_in_flight
                },
            );
            let drained = match drained {
                Ok(d) => d,
                Err(e) => {
                    warn!(error = %e, "building a batch failed");
                    break;
                }
            };
            if drained.is_empty() {
                break;
            }
            for req in drained {
                self.send_request(&mut sh, req);
            }
        }

        let acc = &sh.acc;
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flush_waiters)
            .into_iter()
            .partition(|(mark, _)| acc.flushed(*mark));
        self.flush_waiters = waiting;
        // Answered in `run` once the completions are delivered: a flush returns after the
        // callbacks of the records it waited for have run (as Java's `flush`).
        self.flushed.extend(done.into_iter().map(|(_, tx)| tx));
        if let Some((deadline, _)) = &self.closing {
            if sh.acc.is_empty() {
                return true;
            }
            if Instant::now() >= *deadline {
                let done = sh.acc.abort_waiting(&KafkaError::Closed);
                self.done.extend(done);
                if sh.acc.in_flight() == 0 {
                    return true;
                }
            }
        }
        false
    }

    fn send_request(&mut self, sh: &mut Shared, req: DrainedRequest) {
        let Some(conn) = self.conns.get(&req.node).cloned() else {
            return;
        };
        let acks = self.config.acks;
        let version = match conn.version_of::<ProduceRequest>() {
            Ok(v) if v >= 3 => v,
            _ => {
                let e = KafkaError::UnsupportedVersion {
                    api: kafka_protocol::ApiKey::PRODUCE,
                    broker: conn.addr().to_owned(),
                };
                let now = Instant::now();
                for b in &req.batches {
                    let done = sh.acc.handle_outcome(b.id, Err(e.clone()), now);
                    self.done.extend(done);
                }
                return;
            }
        };
        // Produce v13 names topics by id (KIP-516); older versions by name.
        let by_id = version >= 13;
        let mut topics: Vec<TopicProduceData> = Vec::new();
        for b in &req.batches {
            let data = PartitionProduceData {
                index: b.tp.partition,
                records: Some(b.bytes.clone()),
                ..Default::default()
            };
            match topics.iter_mut().find(|t| {
                if by_id {
                    Some(&t.topic_id) == sh.topic_ids.get(&b.tp.topic)
                } else {
                    t.name == *b.tp.topic
                }
            }) {
                Some(t) => t.partition_data.push(data),
                None => topics.push(TopicProduceData {
                    name: if by_id {
                        Default::default()
                    } else {
                        (&*b.tp.topic).into()
                    },
                    topic_id: if by_id {
                        sh.topic_ids.get(&b.tp.topic).copied().unwrap_or(Uuid::ZERO)
                    } else {
                        Uuid::ZERO
                    },
                    partition_data: vec![data],
                    ..Default::default()
                }),
            }
        }
        let timeout = self.config.client.request_timeout;
        let produce = ProduceRequest {
            transactional_id: None,
            acks: acks.wire(),
            timeout_ms: i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX),
            topic_data: topics,
            ..Default::default()
        };
        let batches: Vec<(u64, TopicPartition)> =
            req.batches.iter().map(|b| (b.id, b.tp.clone())).collect();
        let expects_response = acks != Acks::None;
        // Submitted here, synchronously, so requests reach the wire in drain order.
        let pending = conn.submit(&produce, version, expects_response, timeout);
        *self.node_in_flight.entry(req.node).or_insert(0) += 1;
        let node = req.node;
        match pending {
            Ok(p) => self.requests.push(InFlightRequest {
                node,
                batches,
                response: Box::pin(p.wait()),
            }),
            // Reported through the event channel: the shared lock is held here.
            Err(e) => {
                let _ = self.events_tx.send(Event::Response {
                    node,
                    batches,
                    result: Err(e),
                });
            }
        }
    }

    fn connect(&mut self, node: i32) {
        if !self.connecting.insert(node) {
            return;
        }
        let client = self.client.clone();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let r = client.connection(node).await;
            let _ = tx.send(Event::Connected(node, r));
        });
    }

    fn maybe_refresh_metadata(&mut self) {
        if self.metadata_pending {
            return;
        }
        let cluster = self.client.cluster();
        let stale_by_age = cluster
            .updated_at
            .is_none_or(|t| t.elapsed() >= self.config.client.metadata_max_age);
        let wanted = stale_by_age || self.client_is_stale();
        if !wanted {
            self.metadata_backoff.reset();
            return;
        }
        if let Some(t) = self.last_metadata {
            if t.elapsed() < self.metadata_backoff.delay_with(0.5) {
                return;
            }
        }
        self.metadata_backoff.fail();
        self.metadata_pending = true;
        let client = self.client.clone();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = client.maybe_refresh().await {
                debug!(error = %e, "producer metadata refresh failed");
            }
            let _ = tx.send(Event::MetadataDone);
        });
    }

    fn client_is_stale(&self) -> bool {
        self.client.metadata_is_stale()
    }

    fn request_producer_id(&mut self) {
        if self.producer_id_pending {
            return;
        }
        self.producer_id_pending = true;
        let client = self.client.clone();
        let tx = self.events_tx.clone();
        let deadline = Instant::now() + self.config.max_block.max(self.config.delivery_timeout);
        let backoff_cfg = (
            self.config.client.retry_backoff,
            self.config.client.retry_backoff_max,
        );
        tokio::spawn(async move {
            let mut backoff = Backoff::new(backoff_cfg.0, backoff_cfg.1);
            let result = loop {
                // Idempotent (non-transactional) producers send a null transactional id and the
                // largest transaction timeout, as the Java client does.
                let r = client
                    .send_any(&InitProducerIdRequest {
                        transactional_id: None,
                        transaction_timeout_ms: i32::MAX,
                        ..Default::default()
                    })
                    .await
                    .and_then(|resp| {
                        KafkaError::check(resp.error_code, None, || "InitProducerId".into())
                            .map(|()| (resp.producer_id, resp.producer_epoch))
                    });
                match r {
                    Ok(v) => break Ok(v),
                    Err(e) if e.is_retriable() && Instant::now() < deadline => {
                        backoff.fail();
                        tokio::time::sleep(backoff.delay()).await;
                    }
                    Err(e) => break Err(e),
                }
            };
            let _ = tx.send(Event::ProducerId(result));
        });
    }
}

fn notify(notify: Notify, r: Result<RecordMetadata>) {
    match notify {
        Notify::Future(tx) => {
            let _ = tx.send(r);
        }
        Notify::Callback(cb) => cb(r),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_milliseconds_since_the_anchor_until_it_is_renewed() {
        let mut sh = Shared::new(&ProducerConfig::new("127.0.0.1:1"));
        let (t0, base) = (sh.clock_at, sh.clock_ms);
        let at = |us| t0 + Duration::from_micros(us);
        assert_eq!(sh.timestamp(at(0)), base);
        assert_eq!(sh.timestamp(at(999)), base);
        assert_eq!(sh.timestamp(at(1_000)), base + 1);
        assert_eq!(sh.timestamp(at(3_500)), base + 3);
        assert_eq!(sh.timestamp(at(3_999)), base + 3);
        assert_eq!(sh.timestamp(at(4_000)), base + 4);
        // Past CLOCK_REANCHOR the wall clock is read again.
        let before = now_ms();
        let ts = sh.timestamp(at(5_000));
        assert!(before <= ts && ts <= now_ms(), "{before} {ts}");
        assert_eq!(sh.clock_at, at(5_000));
        assert_eq!(sh.timestamp(at(5_999)), ts);
        assert_eq!(sh.timestamp(at(6_000)), ts + 1);
    }

    #[test]
    fn memory_credit_comes_in_chunks_never_exceeds_the_buffer_and_goes_back_before_a_wait() {
        let mut config = ProducerConfig::new("127.0.0.1:1");
        config.batch_size = 1000;
        config.buffer_memory = 64_000;
        let mut sh = Shared::new(&config);
        assert_eq!(
            sh.credit_chunk, 1000,
            "batch.size, under a 32nd of the buffer"
        );
        let memory = Semaphore::new(config.buffer_memory);
        // The first record takes a chunk; the next ones are served from it.
        assert!(sh.take_memory(&memory, 300));
        assert_eq!((memory.available_permits(), sh.credit), (63_000, 700));
        assert!(sh.take_memory(&memory, 300));
        assert!(sh.take_memory(&memory, 300));
        assert_eq!((memory.available_permits(), sh.credit), (63_000, 100));
        // Short of credit: a new chunk (or the record, if larger) on top of what is left.
        assert!(sh.take_memory(&memory, 2_500));
        assert_eq!((memory.available_permits(), sh.credit), (60_500, 100));
        // Used plus credit never exceeds buffer.memory: with 500 free, a chunk cannot be
        // had, the record's own size can (the credit's 100 count toward it).
        let _held = memory.try_acquire_many(60_000).unwrap();
        assert!(sh.take_memory(&memory, 550));
        assert_eq!((memory.available_permits(), sh.credit), (50, 0));
        assert!(!sh.take_memory(&memory, 51), "not enough anywhere");
        assert_eq!((memory.available_permits(), sh.credit), (50, 0));
        // A send about to wait gives the credit back first.
        assert!(sh.take_memory(&memory, 20));
        assert_eq!(sh.credit, 0, "took the record's size, no chunk");
        sh.credit = 30;
        sh.release_credit(&memory);
        assert_eq!((memory.available_permits(), sh.credit), (60, 0));
    }

    #[test]
    fn a_small_buffer_keeps_the_credit_chunk_under_a_32nd_of_it() {
        let mut config = ProducerConfig::new("127.0.0.1:1");
        config.batch_size = 16_384;
        config.buffer_memory = 32_000;
        assert_eq!(Shared::new(&config).credit_chunk, 1_000);
    }
}
