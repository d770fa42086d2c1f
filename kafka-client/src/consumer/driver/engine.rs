//! The tokio side of the fetcher: spawns the requests the sans-IO [`Fetcher`] asks for, feeds
//! back the answers, keeps leaders current from metadata, and hands out records. Poll-driven:
//! nothing happens between calls, so the application drives it by awaiting records (as it
//! must anyway: `max.poll.interval.ms`).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::{FetchRequest, FetchResponse, ListOffsetsResponse};
use kafka_protocol::ErrorCode;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::consumer::config::FetchConfig;
use crate::consumer::error::{ConsumerError, Result};
use crate::consumer::fetch::{Fetcher, OffsetSpec};
use crate::consumer::list_offsets::{self, ListedOffset};
use crate::consumer::record::ConsumerRecord;
use crate::consumer::types::{LeaderInfo, TopicPartition};
use crate::error::KafkaError;
use crate::metadata::Cluster;
use crate::net::Backoff;
use crate::Client;

/// A finished I/O task.
enum Io {
    Fetch {
        node: i32,
        result: std::result::Result<FetchResponse, KafkaError>,
    },
    Offsets {
        asked: Vec<(TopicPartition, OffsetSpec)>,
        result: std::result::Result<ListOffsetsResponse, KafkaError>,
    },
    Metadata(std::result::Result<Arc<Cluster>, KafkaError>),
}

/// Converts a connection-layer error.
pub(crate) fn client_error(e: KafkaError) -> ConsumerError {
    match e {
        KafkaError::Broker {
            code,
            message,
            context,
        } => ConsumerError::Broker {
            code,
            message,
            context,
        },
        KafkaError::Timeout { what, .. } => ConsumerError::Timeout(what),
        other => ConsumerError::Client(other.to_string()),
    }
}

/// Fetcher plus I/O.
pub(crate) struct Engine {
    pub(crate) client: Client,
    pub(crate) fetcher: Fetcher,
    tasks: JoinSet<Io>,
    metadata_in_flight: bool,
    metadata_wanted: bool,
    metadata_backoff: Backoff,
    next_metadata: Instant,
    next_resets: Instant,
    seen_cluster: Option<Instant>,
    /// Topic ids seen per assigned topic, to notice a topic deleted and created again.
    topic_ids: HashMap<Arc<str>, Uuid>,
    /// Records taken from the fetcher, handed out one by one (moved once, not re-queued).
    ready: std::vec::IntoIter<ConsumerRecord>,
    errors: VecDeque<ConsumerError>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    retry_backoff: Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("fetcher", &self.fetcher)
            .field("tasks", &self.tasks.len())
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(client: Client, cfg: FetchConfig) -> Self {
        let retry_backoff = client.config().retry_backoff;
        let max = client.config().retry_backoff_max;
        let now = Instant::now();
        Self {
            fetcher: Fetcher::new(cfg, retry_backoff),
            client,
            tasks: JoinSet::new(),
            metadata_in_flight: false,
            metadata_wanted: false,
            metadata_backoff: Backoff::new(retry_backoff, max.max(retry_backoff)),
            next_metadata: now,
            next_resets: now,
            seen_cluster: None,
            topic_ids: HashMap::new(),
            ready: Vec::new().into_iter(),
            errors: VecDeque::new(),
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            retry_backoff,
        }
    }

    /// Registers interest in the topics of `tps` and asks for fresh metadata.
    pub(crate) fn watch(&mut self, tps: &[TopicPartition]) {
        let topics: BTreeSet<&str> = tps.iter().map(|tp| &*tp.topic).collect();
        self.client.add_interest(topics);
        self.metadata_wanted = true;
        // Apply what the cache knows now; the refresh corrects it.
        self.seen_cluster = None;
    }

    /// Drops records already handed to the engine's queue for `tp` (after a seek).
    pub(crate) fn drop_ready(&mut self, tp: &TopicPartition) {
        let rest: Vec<ConsumerRecord> = std::mem::take(&mut self.ready)
            .filter(|r| !(r.partition == tp.partition && r.topic == tp.topic))
            .collect();
        self.ready = rest.into_iter();
    }

    /// Whether no fetched record waits to be handed out.
    pub(crate) fn ready_is_empty(&self) -> bool {
        self.ready.len() == 0
    }

    /// The next record or error if one is at hand, without driving I/O (cheap: no clock, no
    /// waker).
    pub(crate) fn try_record(&mut self) -> Option<Result<ConsumerRecord>> {
        if let Some(e) = self.errors.pop_front() {
            return Some(Err(e));
        }
        if let Some(r) = self.ready.next() {
            return Some(Ok(r));
        }
        let max = self.fetcher.config().max_poll_records.max(1);
        let mut batch = Vec::with_capacity(max);
        match self.fetcher.poll_records(max, &mut batch) {
            Err(e) => Some(Err(e)),
            Ok(0) => None,
            Ok(_) => {
                self.ready = batch.into_iter();
                self.ready.next().map(Ok)
            }
        }
    }

    /// The next record or error, driving I/O while there is none.
    pub(crate) fn poll_record(&mut self, cx: &mut Context<'_>) -> Poll<Result<ConsumerRecord>> {
        loop {
            if let Some(e) = self.errors.pop_front() {
                return Poll::Ready(Err(e));
            }
            if let Some(r) = self.try_record() {
                return Poll::Ready(r);
            }
            match self.poll_io(cx) {
                Poll::Ready(()) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Takes up to `max` ready records without waiting.
    pub(crate) fn take_ready(&mut self, max: usize, out: &mut Vec<ConsumerRecord>) -> Result<()> {
        if let Some(e) = self.errors.pop_front() {
            return Err(e);
        }
        while out.len() < max {
            match self.ready.next() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        if out.len() < max {
            self.fetcher.poll_records(max - out.len(), out)?;
        }
        Ok(())
    }

    /// Moves I/O forward: `Ready` once something was handled (records or errors may be
    /// ready), `Pending` with wakers registered otherwise.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let mut handled = false;
            while let Poll::Ready(Some(joined)) = self.tasks.poll_join_next(cx) {
                match joined {
                    Ok(io) => self.handle(io),
                    Err(e) => warn!(error = %e, "consumer I/O task failed"),
                }
                handled = true;
            }
            if handled {
                return Poll::Ready(());
            }
            let now = Instant::now();
            self.apply_cached_cluster();
            if self.start_io(now) {
                // Poll the new tasks once so that they register our waker.
                continue;
            }
            if let Some(deadline) = self.next_deadline(now) {
                if self.sleep.deadline() != deadline.into() {
                    self.sleep.as_mut().reset(deadline.into());
                }
                if self.sleep.as_mut().poll(cx).is_ready() {
                    self.fetcher.handle_timeout(Instant::now());
                    continue;
                }
            }
            return Poll::Pending;
        }
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let mut d = self.fetcher.poll_timeout();
        let mut consider = |t: Instant| {
            if t > now {
                d = Some(d.map_or(t, |x: Instant| x.min(t)));
            }
        };
        if self.metadata_wanted && !self.metadata_in_flight {
            consider(self.next_metadata);
        }
        consider(self.next_resets);
        d
    }

    /// Starts whatever the fetcher needs; returns whether a task was spawned.
    fn start_io(&mut self, now: Instant) -> bool {
        let mut spawned = false;
        self.metadata_wanted |= self.fetcher.take_metadata_request();
        if self.metadata_wanted && !self.metadata_in_flight && now >= self.next_metadata {
            self.metadata_wanted = false;
            self.metadata_in_flight = true;
            let client = self.client.clone();
            self.tasks
                .spawn(async move { Io::Metadata(client.refresh_interest().await) });
            spawned = true;
        }
        if now >= self.next_resets {
            spawned |= self.start_resets(now);
        }
        while let Some(out) = self.fetcher.poll_fetch(now) {
            let client = self.client.clone();
            let node = out.node;
            self.tasks.spawn(async move {
                let result = async {
                    let conn = client.connection(node).await?;
                    let version = conn.version_of::<FetchRequest>()?.min(out.max_version);
                    // The broker holds the fetch up to max_wait: the request timeout comes on top.
                    conn.send_versioned(&out.request, version).await
                }
                .await;
                Io::Fetch { node, result }
            });
            spawned = true;
        }
        spawned
    }

    fn start_resets(&mut self, now: Instant) -> bool {
        let resets = self.fetcher.poll_resets();
        if resets.is_empty() {
            return false;
        }
        let mut by_node: HashMap<i32, Vec<(TopicPartition, OffsetSpec, i32)>> = HashMap::new();
        let mut failed = false;
        for (tp, spec) in resets {
            match self.fetcher.leader(&tp) {
                Some(LeaderInfo { node, epoch }) => {
                    by_node.entry(node).or_default().push((tp, spec, epoch))
                }
                None => {
                    self.fetcher.handle_reset_failure(&tp);
                    failed = true;
                }
            }
        }
        if failed {
            self.next_resets = now + self.retry_backoff;
        }
        let isolation = self.fetcher.config().isolation;
        let timeout_ms = self
            .client
            .config()
            .request_timeout
            .as_millis()
            .min(i32::MAX as u128) as i32;
        let spawned = !by_node.is_empty();
        for (node, parts) in by_node {
            let client = self.client.clone();
            self.tasks.spawn(async move {
                let asked: Vec<(TopicPartition, OffsetSpec)> =
                    parts.iter().map(|(tp, s, _)| (tp.clone(), *s)).collect();
                let result = client
                    .send_to_with(node, |v| {
                        list_offsets::build(&parts, isolation, v, timeout_ms)
                    })
                    .await;
                Io::Offsets { asked, result }
            });
        }
        spawned
    }

    fn handle(&mut self, io: Io) {
        let now = Instant::now();
        match io {
            Io::Fetch { node, result } => match result {
                Ok(resp) => self.fetcher.handle_fetch_response(node, resp, now),
                Err(e) => {
                    debug!(node, error = %e, "fetch failed");
                    self.fetcher.handle_fetch_failure(node, now);
                }
            },
            Io::Offsets { asked, result } => {
                let mut failed = false;
                match result {
                    Ok(resp) => {
                        let mut answered = HashMap::new();
                        for (tp, r) in list_offsets::parse(&resp) {
                            answered.insert(tp, r);
                        }
                        for (tp, spec) in asked {
                            match answered.remove(&tp) {
                                Some(Ok(ListedOffset { offset, .. })) => {
                                    self.fetcher.handle_reset(&tp, spec, offset)
                                }
                                Some(Err(code)) => {
                                    failed = true;
                                    self.fetcher.handle_reset_failure(&tp);
                                    if !code.is_retriable() {
                                        self.errors.push_back(ConsumerError::broker(
                                            code,
                                            None,
                                            format!("list offsets of {tp}"),
                                        ));
                                    }
                                }
                                None => {
                                    failed = true;
                                    self.fetcher.handle_reset_failure(&tp);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        debug!(error = %e, "list offsets failed");
                        failed = true;
                        for (tp, _) in asked {
                            self.fetcher.handle_reset_failure(&tp);
                        }
                    }
                }
                if failed {
                    self.next_resets = now + self.retry_backoff;
                }
            }
            Io::Metadata(result) => {
                self.metadata_in_flight = false;
                match result {
                    Ok(cluster) => {
                        self.metadata_backoff.reset();
                        // Space refreshes even when they succeed: a partition without a leader
                        // keeps asking until an election completes.
                        self.next_metadata = now + self.retry_backoff;
                        self.apply_cluster(&cluster);
                    }
                    Err(e) => {
                        self.metadata_backoff.fail();
                        self.next_metadata = now + self.metadata_backoff.delay();
                        self.metadata_wanted = true;
                        warn!(error = %e, "metadata refresh failed");
                        self.errors.push_back(client_error(e));
                    }
                }
            }
        }
    }

    /// Applies the client's metadata cache when it changed (the client refreshes on its own
    /// by age, and other users of a shared client refresh it too).
    fn apply_cached_cluster(&mut self) {
        let cluster = self.client.cluster();
        if cluster.updated_at.is_some() && cluster.updated_at != self.seen_cluster {
            self.apply_cluster(&cluster);
        }
    }

    fn apply_cluster(&mut self, cluster: &Cluster) {
        self.seen_cluster = cluster.updated_at;
        let assigned: Vec<TopicPartition> = self.fetcher.assignment().cloned().collect();
        let mut gone: Vec<TopicPartition> = Vec::new();
        let mut reported: BTreeSet<Arc<str>> = BTreeSet::new();
        for tp in assigned {
            match cluster.topic(&tp.topic) {
                Some(info) => {
                    if info.id != Uuid::ZERO {
                        let old = self.topic_ids.insert(tp.topic.clone(), info.id);
                        if old.is_some_and(|o| o != info.id) {
                            // Deleted and created again: a different log, the positions mean
                            // nothing there.
                            if reported.insert(tp.topic.clone()) {
                                self.errors.push_back(ConsumerError::UnknownTopic(format!(
                                    "{} (deleted; a new topic of that name has id {})",
                                    tp.topic, info.id
                                )));
                            }
                            gone.push(tp);
                            continue;
                        }
                        self.fetcher.set_topic_id(&tp.topic, info.id);
                    }
                    let leader = info
                        .partition(tp.partition)
                        .filter(|p| p.leader >= 0)
                        .map(|p| LeaderInfo {
                            node: p.leader,
                            epoch: p.leader_epoch,
                        });
                    if info.partition(tp.partition).is_none() {
                        debug!(%tp, "partition not in metadata");
                    }
                    self.fetcher.set_leader(&tp, leader);
                }
                None => {
                    if cluster.topic_errors.get(&*tp.topic)
                        == Some(&ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
                    {
                        if reported.insert(tp.topic.clone()) {
                            self.errors
                                .push_back(ConsumerError::UnknownTopic(tp.topic.to_string()));
                        }
                        gone.push(tp);
                    } else {
                        self.fetcher.set_leader(&tp, None);
                    }
                }
            }
        }
        if !gone.is_empty() {
            warn!(
                partitions = gone.len(),
                "dropping partitions of deleted topics"
            );
            self.fetcher.remove_partitions(&gone);
            for tp in &gone {
                self.drop_ready(tp);
            }
        }
    }

    /// One-shot offset lookups outside the fetch flow (offsets for times, end offsets), with
    /// retries on leader changes until `default.api.timeout.ms`.
    pub(crate) async fn list_offsets(
        &self,
        parts: &[(TopicPartition, OffsetSpec)],
    ) -> Result<HashMap<TopicPartition, ListedOffset>> {
        let timeout = self.client.config().default_api_timeout;
        let deadline = Instant::now() + timeout;
        let isolation = self.fetcher.config().isolation;
        let mut left: Vec<(TopicPartition, OffsetSpec)> = parts.to_vec();
        let mut out = HashMap::new();
        let mut backoff = Backoff::new(self.retry_backoff, self.client.config().retry_backoff_max);
        let mut last_error: Option<ConsumerError> = None;
        while !left.is_empty() {
            if Instant::now() >= deadline {
                return Err(
                    last_error.unwrap_or_else(|| ConsumerError::Timeout("list offsets".into()))
                );
            }
            let topics: BTreeSet<&str> = left.iter().map(|(tp, _)| &*tp.topic).collect();
            for t in topics {
                if let Err(e) = self
                    .client
                    .topic(t, deadline.saturating_duration_since(Instant::now()))
                    .await
                {
                    return Err(client_error(e));
                }
            }
            let cluster = self.client.cluster();
            let mut by_node: HashMap<i32, Vec<(TopicPartition, OffsetSpec, i32)>> = HashMap::new();
            let mut retry_now = Vec::new();
            for (tp, spec) in &left {
                let p = cluster
                    .topic(&tp.topic)
                    .and_then(|t| t.partition(tp.partition).cloned())
                    .ok_or_else(|| {
                        ConsumerError::InvalidArgument(format!("{tp} does not exist"))
                    })?;
                if p.leader < 0 {
                    // Election in progress: ask again after a refresh.
                    retry_now.push((tp.clone(), *spec));
                    continue;
                }
                by_node
                    .entry(p.leader)
                    .or_default()
                    .push((tp.clone(), *spec, p.leader_epoch));
            }
            let mut retry = retry_now;
            for (node, batch) in by_node {
                let timeout_ms = self
                    .client
                    .config()
                    .request_timeout
                    .as_millis()
                    .min(i32::MAX as u128) as i32;
                match self
                    .client
                    .send_to_with(node, |v| {
                        list_offsets::build(&batch, isolation, v, timeout_ms)
                    })
                    .await
                {
                    Ok(resp) => {
                        let answered: HashMap<TopicPartition, _> =
                            list_offsets::parse(&resp).into_iter().collect();
                        for (tp, spec, _) in batch {
                            match answered.get(&tp) {
                                Some(Ok(lo)) => {
                                    out.insert(tp, *lo);
                                }
                                Some(Err(code)) if code.is_retriable() => {
                                    last_error = Some(ConsumerError::broker(
                                        *code,
                                        None,
                                        format!("list offsets of {tp}"),
                                    ));
                                    retry.push((tp, spec));
                                }
                                Some(Err(code)) => {
                                    return Err(ConsumerError::broker(
                                        *code,
                                        None,
                                        format!("list offsets of {tp}"),
                                    ));
                                }
                                None => retry.push((tp, spec)),
                            }
                        }
                    }
                    Err(e) if e.is_retriable() => {
                        last_error = Some(client_error(e));
                        retry.extend(batch.into_iter().map(|(tp, s, _)| (tp, s)));
                    }
                    Err(e) => return Err(client_error(e)),
                }
            }
            if !retry.is_empty() {
                self.client.invalidate_metadata();
                backoff.fail();
                tokio::time::sleep(backoff.delay()).await;
            }
            left = retry;
        }
        Ok(out)
    }
}
