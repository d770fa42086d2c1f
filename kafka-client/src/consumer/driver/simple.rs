//! [`Consumer`]: reads partitions the application assigns, with no group.

use std::collections::HashMap;
use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use super::engine::{client_error, Engine};
use crate::consumer::config::ConsumerConfig;
use crate::consumer::error::{ConsumerError, Result};
use crate::consumer::fetch::OffsetSpec;
use crate::consumer::list_offsets::ListedOffset;
use crate::consumer::record::ConsumerRecord;
use crate::consumer::types::TopicPartition;
use crate::{Client, ClientConfig};

/// Splits Kafka-style properties between the client and the consumer. The consumer does not
/// create topics by asking for their metadata unless `allow.auto.create.topics=true` is given
/// (librdkafka's consumer default; a consumer creating the topic it reads hides typos and
/// brings deleted topics back).
pub fn split_properties<'a>(
    props: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(ClientConfig, ConsumerConfig)> {
    let mut client = ClientConfig {
        allow_auto_create_topics: false,
        ..ClientConfig::default()
    };
    let mut consumer = ConsumerConfig::default();
    for (k, v) in props {
        if consumer.try_set(k, v)? {
            continue;
        }
        client
            .set(k, v)
            .map_err(|e| ConsumerError::config(k, e.to_string()))?;
    }
    client
        .validate()
        .map_err(|e| ConsumerError::config("bootstrap.servers", e.to_string()))?;
    consumer.validate()?;
    Ok((client, consumer))
}

/// A consumer of explicitly assigned partitions.
///
/// Records come out in order per partition through [`next`](Self::next) (or
/// [`poll_next`](Self::poll_next), the `Stream` shape) and in batches through
/// [`poll`](Self::poll). Fetches run ahead of the application, bounded by
/// `queued.max.messages.kbytes`. Keys and values are slices of the fetched data.
#[derive(Debug)]
pub struct Consumer {
    engine: Engine,
}

impl Consumer {
    /// A consumer over an existing client.
    pub fn new(client: Client, config: ConsumerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            engine: Engine::new(client, config.fetch),
        })
    }

    /// Connects a new client and builds a consumer from Kafka-style properties
    /// (`bootstrap.servers`, `auto.offset.reset`, `isolation.level`, ...).
    pub async fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let (client, consumer) = split_properties(props)?;
        let client = Client::connect(client).await.map_err(client_error)?;
        Self::new(client, consumer)
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.engine.client
    }

    /// Replaces the assignment. New partitions start per `auto.offset.reset` unless
    /// [`seek`](Self::seek)ed; kept partitions keep their positions.
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) -> Result<()> {
        let list: Vec<TopicPartition> = partitions.into_iter().collect();
        let new: Vec<TopicPartition> = list
            .iter()
            .filter(|tp| !self.engine.fetcher.is_assigned(tp))
            .cloned()
            .collect();
        self.engine.fetcher.assign(list.iter().cloned());
        for tp in &new {
            self.engine.fetcher.reset_with_policy(tp)?;
        }
        self.engine.watch(&list);
        Ok(())
    }

    /// Assigns every partition of `topic` (waiting for its metadata).
    pub async fn assign_topic(&mut self, topic: &str) -> Result<Vec<TopicPartition>> {
        let timeout = self.engine.client.config().default_api_timeout;
        let info = self
            .engine
            .client
            .topic(topic, timeout)
            .await
            .map_err(client_error)?;
        let mut all: Vec<TopicPartition> = self.engine.fetcher.assignment().cloned().collect();
        let name: std::sync::Arc<str> = topic.into();
        let parts: Vec<TopicPartition> = info
            .partitions
            .iter()
            .map(|p| TopicPartition::new(name.clone(), p.partition))
            .collect();
        all.extend(parts.iter().cloned());
        all.sort();
        all.dedup();
        self.assign(all)?;
        Ok(parts)
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.engine.fetcher.assignment().cloned().collect()
    }

    /// Moves the position of `tp` to `offset`.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        self.engine.fetcher.seek(tp, offset)?;
        self.engine.drop_ready(tp);
        Ok(())
    }

    /// Moves the position of `tp` to the start, the end, or the first offset at a timestamp.
    pub fn seek_to(&mut self, tp: &TopicPartition, spec: OffsetSpec) -> Result<()> {
        self.engine.fetcher.seek_to(tp, spec)?;
        self.engine.drop_ready(tp);
        Ok(())
    }

    /// The next offset to be returned for `tp`, once known.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.engine.fetcher.position(tp)
    }

    /// Stops returning and fetching records of `tp` until [`resume`](Self::resume).
    pub fn pause(&mut self, tp: &TopicPartition) -> Result<()> {
        self.engine.fetcher.pause(tp)
    }

    /// Resumes `tp`.
    pub fn resume(&mut self, tp: &TopicPartition) -> Result<()> {
        self.engine.fetcher.resume(tp)
    }

    /// Records between the position and the end (high watermark, or last stable offset under
    /// read_committed) as of the last fetch.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        self.engine.fetcher.lag(tp)
    }

    /// Whether every assigned partition has been read to its end as of the last fetch (and the
    /// queue of fetched records is empty).
    pub fn at_end(&self) -> bool {
        self.engine.ready_is_empty()
            && self
                .engine
                .fetcher
                .assignment()
                .all(|tp| self.engine.fetcher.at_end(tp))
    }

    /// Offsets for timestamps (`None` where no record is at or after it), via ListOffsets.
    pub async fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> Result<HashMap<TopicPartition, Option<ListedOffset>>> {
        let parts: Vec<(TopicPartition, OffsetSpec)> = query
            .iter()
            .map(|(tp, ts)| (tp.clone(), OffsetSpec::Timestamp(*ts)))
            .collect();
        let found = self.engine.list_offsets(&parts).await?;
        Ok(query
            .iter()
            .map(|(tp, _)| (tp.clone(), found.get(tp).copied().filter(|o| o.offset >= 0)))
            .collect())
    }

    /// The first offsets of `partitions`.
    pub async fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.lookup(partitions, OffsetSpec::Earliest).await
    }

    /// The end offsets of `partitions` (last stable offsets under read_committed).
    pub async fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.lookup(partitions, OffsetSpec::Latest).await
    }

    async fn lookup(
        &self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<HashMap<TopicPartition, i64>> {
        let parts: Vec<(TopicPartition, OffsetSpec)> =
            partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        Ok(self
            .engine
            .list_offsets(&parts)
            .await?
            .into_iter()
            .map(|(tp, o)| (tp, o.offset))
            .collect())
    }

    /// The next record (or error), driving the fetches; never ends by itself. The `Stream`
    /// shape: `poll_next` of a `futures::Stream` would forward here.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ConsumerRecord>>> {
        self.engine.poll_record(cx).map(Some)
    }

    /// The next record (or error) if one is already fetched, without waiting or doing I/O;
    /// `None` means await [`next`](Self::next). Cheap enough for a per-record loop.
    pub fn try_next(&mut self) -> Option<Result<ConsumerRecord>> {
        self.engine.try_record()
    }

    /// The next record (or error).
    pub async fn next(&mut self) -> Option<Result<ConsumerRecord>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Waits up to `timeout` for records and returns up to `max.poll.records` of them (an
    /// empty list when none came in time), as Java's `poll`.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let max = self.engine.fetcher.config().max_poll_records.max(1);
        let mut out = Vec::new();
        let wait = async {
            match poll_fn(|cx| self.engine.poll_record(cx)).await {
                Ok(first) => {
                    out.push(first);
                    self.engine.take_ready(max, &mut out)
                }
                Err(e) => Err(e),
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r.map(|()| out),
            Err(_) => Ok(out),
        }
    }
}
