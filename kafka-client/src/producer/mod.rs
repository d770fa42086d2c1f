//! The producer: batching per partition, compression, acks, Java-identical partitioning, and
//! idempotence (on by default) so that retries never duplicate or reorder records.
//!
//! ```no_run
//! # async fn demo() -> kafka_client::Result<()> {
//! use kafka_client::producer::{Producer, ProducerRecord};
//! use kafka_client::ProducerConfig;
//! let producer = Producer::connect(ProducerConfig::new("127.0.0.1:9092")).await?;
//! let delivery = producer.send(ProducerRecord::new("events", "hello").key("k")).await?;
//! let meta = delivery.await?;
//! println!("{}-{}@{}", meta.topic, meta.partition, meta.offset);
//! producer.close().await;
//! # Ok(()) }
//! ```

mod accumulator;
mod batch;
mod fast_hash;
mod murmur2;
mod partitioner;
mod record;
mod sender;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Semaphore};

pub use accumulator::{
    Accumulator, AccumulatorConfig, Completed, CompletedRecords, Completion, DrainedBatch,
    DrainedRequest, PartitionOutcome, ProducerIdNeed,
};
pub use batch::{ProducerBatch, RecordSlot, TopicPartition};
pub use murmur2::{murmur2, partition_for_key, to_positive};
pub use partitioner::{keyed_partition, Partitioner, StickyPartitioner};
pub use record::{ProducerRecord, RecordMetadata};

use crate::client::Client;
use crate::config::ProducerConfig;
use crate::error::{KafkaError, Result};
use crate::metadata::TopicInfo;
use sender::{CallbackOnce, Command, IntoNotify, Notify, Sender, Shared};

/// Bytes a batch header adds to a record (KIP-98 v2 header).
const BATCH_OVERHEAD: usize = 61;

/// A Kafka producer. Cheap to clone; all clones share one buffer and one I/O task.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    config: ProducerConfig,
    tx: mpsc::UnboundedSender<Command>,
    memory: Arc<Semaphore>,
    partitioner: Option<Arc<dyn Partitioner>>,
    /// Batches, appended to by `send` directly (see the sender module).
    shared: Arc<Mutex<Shared>>,
    /// Wakes the I/O task when a send opened a batch.
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Why [`Producer::try_send`] or [`Producer::try_send_with_callback`] did not queue a record.
#[derive(Debug)]
pub enum TrySendError<T> {
    /// Queueing it would mean waiting: for buffer memory or for the topic's metadata
    /// ([`Producer::send`] waits for these). Also for a record naming (or a custom partitioner
    /// choosing) a partition the metadata at hand lacks: `send` looks again, and fails if it
    /// still does. The callback comes back, not called (`()` for `try_send`).
    WouldBlock(T),
    /// It cannot be sent: too large, a partition that does not exist, the producer closed.
    Failed(KafkaError),
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WouldBlock(_) => f.write_str("sending would have to wait"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl<T: std::fmt::Debug> std::error::Error for TrySendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::WouldBlock(_) => None,
            Self::Failed(e) => Some(e),
        }
    }
}

/// Resolves to where the record was written, or why it was not.
#[derive(Debug)]
pub struct DeliveryFuture {
    rx: oneshot::Receiver<Result<RecordMetadata>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(KafkaError::Closed)))
    }
}

impl Producer {
    /// Validates the config and connects a new client.
    pub async fn connect(mut config: ProducerConfig) -> Result<Self> {
        config.validate()?;
        let client = Client::connect(config.client.clone()).await?;
        Self::with_client(client, config, None)
    }

    /// A producer over an existing client, optionally with a custom partitioner.
    pub fn with_client(
        client: Client,
        mut config: ProducerConfig,
        partitioner: Option<Arc<dyn Partitioner>>,
    ) -> Result<Self> {
        config.validate()?;
        let permits = config.buffer_memory.min(Semaphore::MAX_PERMITS);
        let memory = Arc::new(Semaphore::new(permits));
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::new(&config)));
        let wake = Arc::new(tokio::sync::Notify::new());
        let sender = Sender::new(
            client.clone(),
            config.clone(),
            memory.clone(),
            shared.clone(),
            wake.clone(),
        );
        tokio::spawn(sender.run(rx));
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                tx,
                memory,
                partitioner,
                shared,
                wake,
            }),
        })
    }

    /// The effective configuration (after validation, e.g. with idempotence settled).
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Queues a record. Waits (up to `max.block.ms`) for the topic's metadata and for buffer
    /// space; the returned future resolves when the record is acknowledged. Records of one
    /// partition are delivered in the order of `send` calls.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(record, Notify::Future(tx)).await?;
        Ok(DeliveryFuture { rx })
    }

    /// Queues a record; `callback` runs (on the producer's I/O task: keep it short) with the
    /// result.
    pub async fn send_with_callback<F>(&self, record: ProducerRecord, callback: F) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        self.enqueue(record, CallbackOnce(callback)).await
    }

    /// [`send`](Self::send) without waiting: queues a copy of the record if that needs no
    /// wait, else refuses ([`TrySendError::WouldBlock`]: buffer memory is short, or the topic's
    /// metadata is not at hand; `send` waits for these). The
    /// record is borrowed, its bytes copied into a batch: one record can be sent again and
    /// again, as librdkafka copies a message given `RD_KAFKA_MSG_F_COPY`. For code that cannot
    /// `.await`, or a loop that sends many records and awaits only when it must (as
    /// `rd_kafka_produce` returns `QUEUE_FULL`, or franz-go's `TryProduce`).
    ///
    /// It never yields: on a current-thread runtime, a loop of `try_send` calls must await
    /// something now and then (a [`send`](Self::send) after `WouldBlock`, or
    /// `tokio::task::consume_budget`) for the producer's I/O task to run.
    pub fn try_send(
        &self,
        record: &ProducerRecord,
    ) -> std::result::Result<DeliveryFuture, TrySendError<()>> {
        let (tx, rx) = oneshot::channel();
        match self.try_enqueue(record, Notify::Future(tx)) {
            Ok(_) => Ok(DeliveryFuture { rx }),
            Err(TrySendError::WouldBlock(_)) => Err(TrySendError::WouldBlock(())),
            Err(TrySendError::Failed(e)) => Err(TrySendError::Failed(e)),
        }
    }

    /// [`send_with_callback`](Self::send_with_callback) without waiting, as
    /// [`try_send`](Self::try_send): the callback comes back, not called, when queueing the
    /// record would need a wait.
    pub fn try_send_with_callback<F>(
        &self,
        record: &ProducerRecord,
        callback: F,
    ) -> std::result::Result<(), TrySendError<F>>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        match self.try_enqueue(record, CallbackOnce(callback)) {
            Ok(_) => Ok(()),
            Err(TrySendError::WouldBlock(CallbackOnce(f))) => Err(TrySendError::WouldBlock(f)),
            Err(TrySendError::Failed(e)) => Err(TrySendError::Failed(e)),
        }
    }

    /// The size `record` is accounted at, or why it can never be sent.
    fn check_size(&self, record: &ProducerRecord) -> Result<usize> {
        let cfg = &self.inner.config;
        let size = record.estimated_size();
        if size + BATCH_OVERHEAD > cfg.max_request_size {
            return Err(KafkaError::RecordTooLarge {
                size: size + BATCH_OVERHEAD,
                limit: cfg.max_request_size,
                property: "max.request.size",
            });
        }
        if size > cfg.buffer_memory {
            return Err(KafkaError::RecordTooLarge {
                size,
                limit: cfg.buffer_memory,
                property: "buffer.memory",
            });
        }
        Ok(size)
    }

    /// The fast path: the topic of the previous send, buffer memory free. One lock for the
    /// lookup and the append (two with a custom partitioner, which runs between them), no
    /// timer, no clock read but the record's. `Ok(true)` when `send` should count against tokio's cooperative budget.
    fn try_enqueue<N: IntoNotify>(
        &self,
        record: &ProducerRecord,
        notify: N,
    ) -> std::result::Result<bool, TrySendError<N>> {
        let size = self.check_size(record).map_err(TrySendError::Failed)?;
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        let generation = self.inner.client.cluster_generation();
        let chosen = match &self.inner.partitioner {
            Some(p) if record.partition.is_none() => {
                // User code: it runs outside the producer's lock (as Java calls its partitioner
                // before the accumulator), on the metadata the fast path would use.
                let known = sender::lock(&self.inner.shared).known_topic(&record.topic, generation);
                let Some(topic) = known else {
                    return Err(TrySendError::WouldBlock(notify));
                };
                p.partition(&topic, record.key.as_deref(), record.value.as_deref())
            }
            _ => None,
        };
        let now = sender::lock(&self.inner.shared).try_append_now(
            record,
            chosen,
            notify,
            generation,
            &self.inner.memory,
            permits,
            self.inner.config.partitioner_ignore_keys,
        );
        match now {
            sender::AppendNow::Appended {
                opened,
                count_budget,
            } => {
                if opened {
                    self.inner.wake.notify_one();
                }
                Ok(count_budget)
            }
            sender::AppendNow::Failed(e) => Err(TrySendError::Failed(e)),
            sender::AppendNow::Later(notify) => Err(TrySendError::WouldBlock(notify)),
        }
    }

    async fn enqueue<N: IntoNotify>(&self, record: ProducerRecord, notify: N) -> Result<()> {
        let notify = match self.try_enqueue(&record, notify) {
            Ok(count_budget) => {
                // The fast path never suspends: counting against tokio's cooperative budget
                // (every few sends) lets a tight send loop yield now and then, so that on a
                // current-thread runtime the I/O task sends while the buffer fills.
                if count_budget {
                    tokio::task::consume_budget().await;
                }
                return Ok(());
            }
            Err(TrySendError::Failed(e)) => return Err(e),
            Err(TrySendError::WouldBlock(notify)) => notify.into_notify(),
        };
        let size = record.estimated_size();
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        // Boxed: the slow path's state (metadata and memory waits) would otherwise make every
        // send's future larger, and futures are moved by value when awaited.
        Box::pin(self.enqueue_slow(record, notify, size, permits)).await
    }

    /// `send` when the fast path could not append: the topic may need metadata, buffer memory
    /// may need waiting for (both up to `max.block.ms`).
    async fn enqueue_slow(
        &self,
        record: ProducerRecord,
        notify: Notify,
        size: usize,
        permits: u32,
    ) -> Result<()> {
        let cfg = &self.inner.config;
        // Taken only where a wait may begin: a clock read per record is measurable.
        let mut start: Option<Instant> = None;
        let topic = self.topic(&record.topic, cfg.max_block, &mut start).await?;
        let partition =
            match record.partition {
                Some(p) => {
                    if p < 0 || p as usize >= topic.partitions.len() {
                        return Err(KafkaError::InvalidArgument(format!(
                            "partition {p} of topic {} does not exist ({} partitions)",
                            record.topic,
                            topic.partitions.len()
                        )));
                    }
                    Some(p)
                }
                None => match self.inner.partitioner.as_ref().and_then(|p| {
                    p.partition(&topic, record.key.as_deref(), record.value.as_deref())
                }) {
                    Some(p) if p < 0 || p as usize >= topic.partitions.len() => {
                        return Err(KafkaError::InvalidArgument(format!(
                            "the partitioner chose partition {p} of topic {}, which has {}",
                            record.topic,
                            topic.partitions.len()
                        )));
                    }
                    Some(p) => Some(p),
                    None => match (&record.key, cfg.partitioner_ignore_keys) {
                        (Some(k), false) => Some(keyed_partition(&topic, k)),
                        _ => None,
                    },
                },
            };
        let mut acquired = self.inner.memory.try_acquire_many(permits);
        if matches!(acquired, Err(tokio::sync::TryAcquireError::NoPermits)) {
            // The fast path's unused credit first: waiting for permits that sit there would
            // wait for nothing.
            sender::lock(&self.inner.shared).release_credit(&self.inner.memory);
            acquired = self.inner.memory.try_acquire_many(permits);
        }
        match acquired {
            Ok(p) => {
                p.forget();
                // As on the fast path: a loop of sends that never wait must still yield.
                tokio::task::consume_budget().await;
            }
            Err(tokio::sync::TryAcquireError::Closed) => return Err(KafkaError::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let left = cfg
                    .max_block
                    .saturating_sub(start.get_or_insert_with(Instant::now).elapsed());
                let memory = self.inner.memory.clone();
                // Wait until a sixteenth of the buffer is free, not just this record's bytes,
                // and hand the surplus back at once: a sender held up by a full buffer then
                // resumes once per many completed batches rather than once per batch, each
                // resumption being a thread wake-up on a busy producer.
                let chunk = u32::try_from(cfg.buffer_memory.min(Semaphore::MAX_PERMITS) / 16)
                    .unwrap_or(u32::MAX)
                    .max(permits);
                match tokio::time::timeout(left, memory.acquire_many_owned(chunk)).await {
                    Ok(Ok(p)) => {
                        p.forget();
                        self.inner.memory.add_permits((chunk - permits) as usize);
                    }
                    Ok(Err(_)) => return Err(KafkaError::Closed),
                    Err(_) => {
                        return Err(KafkaError::Timeout {
                            what: format!("waiting for {size} bytes of buffer.memory"),
                            after: cfg.max_block,
                        })
                    }
                }
            }
        }
        let appended = sender::lock(&self.inner.shared).append(
            &topic,
            partition,
            &record,
            notify,
            permits,
            Instant::now(),
        );
        match appended {
            Ok(opened) => {
                if opened {
                    self.inner.wake.notify_one();
                }
                Ok(())
            }
            Err((e, memory)) => {
                self.inner.memory.add_permits(memory as usize);
                Err(e)
            }
        }
    }

    async fn topic(
        &self,
        name: &Arc<str>,
        timeout: Duration,
        start: &mut Option<Instant>,
    ) -> Result<Arc<TopicInfo>> {
        let client = &self.inner.client;
        // Read before the snapshot (see `cluster_generation`).
        let generation = client.cluster_generation();
        // Known topic with all leaders, without touching the refresh machinery.
        let found = client
            .cluster()
            .topic(name)
            .filter(|t| !t.partitions.is_empty())
            .cloned();
        let (generation, topic) = match found {
            Some(t) => (generation, t),
            None => {
                start.get_or_insert_with(Instant::now);
                let looked_up = Box::pin(client.topic(name, timeout)).await?;
                // The lookup refreshed the metadata and moved the generation on: remembered
                // with the old one, the next send would miss the fast path (and `try_send`
                // would hand it back). Read again, in the same order as above.
                let after = client.cluster_generation();
                match client
                    .cluster()
                    .topic(name)
                    .filter(|t| !t.partitions.is_empty())
                    .cloned()
                {
                    Some(t) => (after, t),
                    None => (generation, looked_up),
                }
            }
        };
        sender::lock(&self.inner.shared).remember_topic(generation, name.clone(), topic.clone());
        Ok(topic)
    }

    /// Sends everything buffered now (ignoring `linger.ms`) and waits until all records sent
    /// before this call are acknowledged or failed, and their callbacks have run.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Delivers everything buffered and in flight (up to `delivery.timeout.ms`), then stops the
    /// I/O task. Records still unsent then fail with [`KafkaError::Closed`].
    pub async fn close(&self) {
        self.close_timeout(self.inner.config.delivery_timeout).await;
    }

    /// As [`close`](Self::close), giving up after `timeout`.
    pub async fn close_timeout(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Command::Close(timeout, tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
