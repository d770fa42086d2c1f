//! [`GroupConsumer`]: a member of a consumer group, over the sans-IO
//! [`GroupMember`] and the fetch engine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::engine::{client_error, Engine};
use super::group_io;
use super::simple::split_properties;
use crate::consumer::config::ConsumerConfig;
use crate::consumer::error::{ConsumerError, Result};
use crate::consumer::group::{GroupEvent, GroupMember, GroupResponse};
use crate::consumer::record::ConsumerRecord;
use crate::consumer::types::{OffsetAndMetadata, TopicPartition};
use crate::error::KafkaError;
use crate::metadata::Cluster;
use crate::Client;

/// What happened to this member's partitions, for applications that want to know (the
/// rebalance listener hooks of the Java client, as values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// Partitions assigned, with the offset consumption starts from (`None`: reset policy).
    Assigned(Vec<(TopicPartition, Option<i64>)>),
    /// Partitions revoked in a rebalance; their offsets were committed first when
    /// `enable.auto.commit` is on.
    Revoked(Vec<TopicPartition>),
    /// Partitions lost (fenced, session expired): not committed, may be owned elsewhere.
    Lost(Vec<TopicPartition>),
}

enum GroupIo {
    Request {
        id: u64,
        result: std::result::Result<GroupResponse, KafkaError>,
    },
    Metadata(std::result::Result<Arc<Cluster>, KafkaError>),
}

/// A consumer in a group: subscribes to topics and gets partitions from the group (classic
/// protocol with client-side assignors, or KIP-848 with `group.protocol=consumer`).
///
/// Poll-driven like [`Consumer`](super::simple::Consumer): heartbeats, rebalances and commits
/// run while the application awaits records, so it must keep polling (Java's
/// `max.poll.interval.ms` asks the same).
pub struct GroupConsumer {
    engine: Engine,
    member: GroupMember,
    tasks: JoinSet<GroupIo>,
    auto_commit: Option<Duration>,
    next_auto_commit: Instant,
    /// Offsets of records returned to the application (next offset to consume).
    delivered: HashMap<TopicPartition, i64>,
    /// The partition of the latest returned record and its next offset, not yet in
    /// `delivered` (saves a map update per record while a partition's batch is read).
    current: Option<(TopicPartition, i64)>,
    last_committed: HashMap<TopicPartition, i64>,
    commit_results: HashMap<u64, Result<()>>,
    rebalance_events: Vec<RebalanceEvent>,
    metadata_in_flight: bool,
    fed_cluster: Option<Instant>,
    fatal: Option<ConsumerError>,
    fatal_reported: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl std::fmt::Debug for GroupConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupConsumer")
            .field("member", &self.member)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl GroupConsumer {
    /// A group consumer over an existing client; `config.group.group_id` must be set.
    pub fn new(client: Client, config: ConsumerConfig) -> Result<Self> {
        config.validate()?;
        let now = Instant::now();
        let retry = client.config().retry_backoff;
        let member = GroupMember::new(config.group.clone(), retry, now)?;
        Ok(Self {
            engine: Engine::new(client, config.fetch),
            member,
            tasks: JoinSet::new(),
            auto_commit: config
                .group
                .enable_auto_commit
                .then_some(config.group.auto_commit_interval),
            next_auto_commit: now + config.group.auto_commit_interval,
            delivered: HashMap::new(),
            current: None,
            last_committed: HashMap::new(),
            commit_results: HashMap::new(),
            rebalance_events: Vec::new(),
            metadata_in_flight: false,
            fed_cluster: None,
            fatal: None,
            fatal_reported: false,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        })
    }

    /// Connects a new client and builds a group consumer from Kafka-style properties
    /// (`bootstrap.servers`, `group.id`, `group.protocol`, `partition.assignment.strategy`, ...).
    pub async fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let (client, consumer) = split_properties(props)?;
        let client = Client::connect(client).await.map_err(client_error)?;
        Self::new(client, consumer)
    }

    /// Subscribes to `topics` (replacing the subscription).
    pub fn subscribe<S: AsRef<str>>(&mut self, topics: &[S]) {
        let list: Vec<String> = topics.iter().map(|t| t.as_ref().to_owned()).collect();
        self.engine
            .client
            .add_interest(list.iter().map(String::as_str));
        self.member.subscribe(list);
    }

    /// The partitions this member owns now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.member.owned().iter().cloned().collect()
    }

    /// Our member id.
    pub fn member_id(&self) -> &str {
        self.member.member_id()
    }

    /// The generation (classic) or member epoch (KIP-848).
    pub fn generation(&self) -> i32 {
        self.member.generation()
    }

    /// Takes the rebalance events since the last call.
    pub fn take_rebalance_events(&mut self) -> Vec<RebalanceEvent> {
        std::mem::take(&mut self.rebalance_events)
    }

    /// The next offset to consume of `tp` (after the records returned so far).
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.delivered
            .get(tp)
            .copied()
            .or_else(|| self.engine.fetcher.position(tp))
    }

    /// Records between the position and the end of `tp` as of the last fetch.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        self.engine.fetcher.lag(tp)
    }

    /// Whether every owned partition is read to its end (and the group is stable).
    pub fn at_end(&self) -> bool {
        self.member.is_stable()
            && self.engine.ready_is_empty()
            && !self.member.owned().is_empty()
            && self
                .member
                .owned()
                .iter()
                .all(|tp| self.engine.fetcher.at_end(tp))
    }

    /// Pauses `tp`.
    pub fn pause(&mut self, tp: &TopicPartition) -> Result<()> {
        self.engine.fetcher.pause(tp)
    }

    /// Resumes `tp`.
    pub fn resume(&mut self, tp: &TopicPartition) -> Result<()> {
        self.engine.fetcher.resume(tp)
    }

    /// Moves the position of an owned partition.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        self.flush_current();
        self.engine.fetcher.seek(tp, offset)?;
        self.engine.drop_ready(tp);
        self.delivered.remove(tp);
        Ok(())
    }

    /// Offsets to commit: the position after every record returned so far.
    fn consumed_offsets(
        &mut self,
        only: Option<&[TopicPartition]>,
    ) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
        self.flush_current();
        self.delivered
            .iter()
            .filter(|(tp, _)| only.is_none_or(|o| o.contains(tp)))
            .filter(|(tp, _)| self.member.owned().contains(*tp))
            .map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o)))
            .collect()
    }

    /// Commits the offsets of the records returned so far and waits for the result.
    pub async fn commit_sync(&mut self) -> Result<()> {
        let offsets = self.consumed_offsets(None);
        self.commit_offsets_sync(offsets).await
    }

    /// Commits `offsets` and waits for the result.
    pub async fn commit_offsets_sync(
        &mut self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let id = self.commit_now(offsets);
        let timeout = self.engine.client.config().default_api_timeout;
        let wait = poll_fn(|cx| {
            if let Some(r) = self.commit_results.remove(&id) {
                return Poll::Ready(r);
            }
            if let Some(e) = &self.fatal {
                return Poll::Ready(Err(e.clone()));
            }
            let _ = self.drive(cx);
            if let Some(r) = self.commit_results.remove(&id) {
                return Poll::Ready(r);
            }
            Poll::Pending
        });
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ConsumerError::Timeout("offset commit".into()))?
    }

    /// Commits the offsets of the records returned so far without waiting; failures are
    /// logged.
    pub fn commit_async(&mut self) {
        let offsets = self.consumed_offsets(None);
        let id = self.commit_now(offsets);
        // Nobody waits: the result is dropped when it arrives.
        self.commit_results.insert(id, Ok(()));
        self.commit_results.remove(&id);
    }

    fn commit_now(&mut self, offsets: BTreeMap<TopicPartition, OffsetAndMetadata>) -> u64 {
        for (tp, o) in &offsets {
            self.last_committed.insert(tp.clone(), o.offset);
        }
        self.member.commit(offsets)
    }

    /// The next record (or error); never ends by itself (a fatal group error is returned once,
    /// then the stream ends).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ConsumerRecord>>> {
        loop {
            if let Some(e) = &self.fatal {
                if self.fatal_reported {
                    return Poll::Ready(None);
                }
                self.fatal_reported = true;
                return Poll::Ready(Some(Err(e.clone())));
            }
            let progressed = self.drive(cx);
            match self.engine.poll_record(cx) {
                Poll::Ready(Ok(r)) => {
                    if let Some(r) = self.accept(r) {
                        return Poll::Ready(Some(Ok(r)));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending if progressed => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next record (or error) if one is already fetched, without waiting or doing I/O;
    /// `None` means await [`next`](Self::next) (which also runs heartbeats and rebalances).
    pub fn try_next(&mut self) -> Option<Result<ConsumerRecord>> {
        if self.fatal.is_some() {
            return None;
        }
        loop {
            match self.engine.try_record()? {
                Ok(r) => {
                    if let Some(r) = self.accept(r) {
                        return Some(Ok(r));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Records the delivery of `r`, or drops it when its partition is no longer owned.
    fn accept(&mut self, r: ConsumerRecord) -> Option<ConsumerRecord> {
        if let Some((tp, next)) = &mut self.current {
            if tp.partition == r.partition
                && (Arc::ptr_eq(&tp.topic, &r.topic) || tp.topic == r.topic)
            {
                *next = r.offset + 1;
                return Some(r);
            }
        }
        self.flush_current();
        let tp = TopicPartition {
            topic: Arc::clone(&r.topic),
            partition: r.partition,
        };
        if !self.member.owned().contains(&tp) {
            // Revoked or lost while queued.
            return None;
        }
        self.current = Some((tp, r.offset + 1));
        Some(r)
    }

    fn flush_current(&mut self) {
        if let Some((tp, next)) = self.current.take() {
            self.delivered.insert(tp, next);
        }
    }

    /// The next record (or error).
    pub async fn next(&mut self) -> Option<Result<ConsumerRecord>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Waits up to `timeout` for records and returns up to `max.poll.records` of them.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let max = self.engine.fetcher.config().max_poll_records.max(1);
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while out.len() < max {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Ok(Some(Ok(r))) => {
                    out.push(r);
                    if self.engine_ready_empty() {
                        break;
                    }
                }
                Ok(Some(Err(e))) if out.is_empty() => return Err(e),
                Ok(Some(Err(e))) => {
                    warn!(error = %e, "error after records in poll");
                    break;
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok(out)
    }

    fn engine_ready_empty(&self) -> bool {
        !self.engine.fetcher.has_buffered_records()
    }

    /// Leaves the group: commits what was consumed (with `enable.auto.commit`), revokes, sends
    /// LeaveGroup (dynamic members) or the leave heartbeat, within `timeout`.
    pub async fn close(mut self, timeout: Duration) -> Result<()> {
        self.member.leave(Instant::now());
        let wait = poll_fn(|cx| {
            if self.member.is_done() {
                return Poll::Ready(());
            }
            let _ = self.drive(cx);
            // Keep fetch I/O moving too (responses in flight).
            let _ = self.engine.poll_io(cx);
            if self.member.is_done() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        if tokio::time::timeout(timeout, wait).await.is_err() {
            warn!("leaving the group timed out");
            return Err(ConsumerError::Timeout("leaving the group".into()));
        }
        Ok(())
    }

    /// Moves the group side forward; returns whether anything happened.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progressed = false;
        loop {
            let mut step = false;
            while let Poll::Ready(Some(joined)) = self.tasks.poll_join_next(cx) {
                step = true;
                let now = Instant::now();
                match joined {
                    Ok(GroupIo::Request {
                        id,
                        result: Ok(resp),
                    }) => self.member.handle_response(id, resp, now),
                    Ok(GroupIo::Request { id, result: Err(e) }) => {
                        self.member.handle_failure(id, client_error(e), now)
                    }
                    Ok(GroupIo::Metadata(r)) => {
                        self.metadata_in_flight = false;
                        match r {
                            Ok(c) => self.feed_metadata(&c),
                            Err(e) => debug!(error = %e, "group metadata refresh failed"),
                        }
                    }
                    Err(e) => warn!(error = %e, "group I/O task failed"),
                }
            }
            let cluster = self.engine.client.cluster();
            if cluster.updated_at.is_some() && cluster.updated_at != self.fed_cluster {
                self.feed_metadata(&cluster);
                step = true;
            }
            let now = Instant::now();
            self.member.handle_timeout(now);
            step |= self.handle_events(now);
            if let Some(interval) = self.auto_commit {
                if now >= self.next_auto_commit {
                    self.next_auto_commit = now + interval;
                    self.auto_commit_now();
                }
            }
            while let Some(out) = self.member.poll_request(now) {
                step = true;
                let client = self.engine.client.clone();
                let group = self.member.group_id().to_owned();
                let id = out.id;
                self.tasks.spawn(async move {
                    GroupIo::Request {
                        id,
                        result: group_io::send(client, group, out).await,
                    }
                });
            }
            if !step {
                break;
            }
            progressed = true;
        }
        let mut deadline = self.member.poll_timeout();
        if let Some(interval) = self.auto_commit {
            let _ = interval;
            deadline =
                Some(deadline.map_or(self.next_auto_commit, |d| d.min(self.next_auto_commit)));
        }
        if let Some(d) = deadline {
            if self.sleep.deadline() != d.into() {
                self.sleep.as_mut().reset(d.into());
            }
            if self.sleep.as_mut().poll(cx).is_ready() {
                progressed = true;
            }
        }
        progressed
    }

    fn auto_commit_now(&mut self) {
        let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = self
            .consumed_offsets(None)
            .into_iter()
            .filter(|(tp, o)| self.last_committed.get(tp) != Some(&o.offset))
            .collect();
        if !offsets.is_empty() && self.member.generation() >= 0 {
            debug!(partitions = offsets.len(), "auto-commit");
            self.commit_now(offsets);
        }
    }

    fn feed_metadata(&mut self, cluster: &Cluster) {
        self.fed_cluster = cluster.updated_at;
        let topics: Vec<(String, kafka_protocol::codec::Uuid, i32)> = cluster
            .topics
            .values()
            .map(|t| (t.name.clone(), t.id, t.partitions.len() as i32))
            .collect();
        self.member.set_metadata(topics, Instant::now());
    }

    fn handle_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(ev) = self.member.poll_event() {
            any = true;
            match ev {
                GroupEvent::Revoke(parts) => {
                    if self.auto_commit.is_some() {
                        let offsets = self.consumed_offsets(Some(&parts));
                        if !offsets.is_empty() {
                            self.commit_now(offsets);
                        }
                    }
                    self.stop(&parts);
                    info!(partitions = parts.len(), "revoked");
                    self.rebalance_events.push(RebalanceEvent::Revoked(parts));
                    self.member.revocation_done(now);
                }
                GroupEvent::Lost(parts) => {
                    self.stop(&parts);
                    self.rebalance_events.push(RebalanceEvent::Lost(parts));
                }
                GroupEvent::Assign(list) => {
                    let parts: Vec<TopicPartition> =
                        list.iter().map(|(tp, _)| tp.clone()).collect();
                    self.engine.fetcher.add_partitions(parts.iter().cloned());
                    let mut starts = Vec::new();
                    for (tp, committed) in list {
                        let r = match &committed {
                            Some(o) => self.engine.fetcher.seek(&tp, o.offset),
                            None => self.engine.fetcher.reset_with_policy(&tp),
                        };
                        if let Err(e) = r {
                            warn!(%tp, error = %e, "could not start partition");
                        }
                        if let Some(o) = &committed {
                            self.last_committed.insert(tp.clone(), o.offset);
                        }
                        starts.push((tp, committed.map(|o| o.offset)));
                    }
                    self.engine.watch(&parts);
                    info!(partitions = starts.len(), "assigned");
                    self.rebalance_events.push(RebalanceEvent::Assigned(starts));
                }
                GroupEvent::CommitDone { id, result } => {
                    if let Err(e) = &result {
                        warn!(error = %e, "commit failed");
                    }
                    self.commit_results.insert(id, result);
                    // Results nobody waits for would pile up: keep only recent ones.
                    if self.commit_results.len() > 1024 {
                        let oldest: Vec<u64> = {
                            let mut ids: Vec<u64> = self.commit_results.keys().copied().collect();
                            ids.sort_unstable();
                            ids.into_iter().take(512).collect()
                        };
                        for k in oldest {
                            self.commit_results.remove(&k);
                        }
                    }
                }
                GroupEvent::NeedMetadata(topics) => {
                    if !self.metadata_in_flight {
                        self.metadata_in_flight = true;
                        let client = self.engine.client.clone();
                        let list: Vec<String> = topics.into_iter().collect();
                        client.add_interest(list.iter().map(String::as_str));
                        self.tasks.spawn(async move {
                            GroupIo::Metadata(client.refresh_metadata(Some(&list)).await)
                        });
                    }
                }
                GroupEvent::Joined {
                    generation,
                    member_id,
                    leader,
                } => {
                    debug!(generation, %member_id, leader, "joined");
                }
                GroupEvent::Left => info!("left the group"),
                GroupEvent::Fatal(e) => {
                    let owned: Vec<TopicPartition> = self.member.owned().iter().cloned().collect();
                    self.stop(&owned);
                    self.fatal = Some(e);
                }
            }
        }
        any
    }

    /// Stops fetching `parts` and forgets their consumed offsets.
    fn stop(&mut self, parts: &[TopicPartition]) {
        self.flush_current();
        self.engine.fetcher.remove_partitions(parts);
        for tp in parts {
            self.engine.drop_ready(tp);
            self.delivered.remove(tp);
            self.last_committed.remove(tp);
        }
    }

    /// Topics the member subscribes to.
    pub fn subscription(&self) -> BTreeSet<String> {
        self.member.subscription().iter().cloned().collect()
    }
}
