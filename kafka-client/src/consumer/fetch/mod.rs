//! The fetcher: a sans-IO state machine for reading assigned partitions.
//!
//! It keeps each partition's position, builds Fetch requests per leader (one in flight per
//! broker, with an incremental fetch session each, KIP-227), takes the responses, and hands
//! out records lazily from the buffered data. The driver moves bytes: it sends what
//! [`Fetcher::poll_fetch`] returns, feeds the answers to [`Fetcher::handle_fetch_response`],
//! resolves the offset lookups [`Fetcher::poll_resets`] asks for (ListOffsets) and keeps the
//! leaders current with [`Fetcher::set_leader`] when [`Fetcher::take_metadata_request`] says
//! they are stale.
//!
//! Two positions per partition: `position`, the next offset handed to the application, and
//! `fetch_position`, the next offset to fetch. The fetcher pipelines: a partition whose data
//! is still buffered is fetched again from the end of that data, so the next response is on
//! its way while the application reads. Memory stays bounded by `queued.max.messages.kbytes`:
//! no fetch goes out while the buffer holds more.

mod completed;
mod scan;
mod session;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::generated::{FetchRequest, FetchResponse};
use kafka_protocol::record::DecodeOptions;
use kafka_protocol::ErrorCode;
use tracing::{debug, trace, warn};

use self::completed::CompletedFetch;
use self::session::{FetchSession, SessionPartition};
use super::config::{FetchConfig, IsolationLevel, OffsetReset};
use super::error::{ConsumerError, Result};
use super::record::ConsumerRecord;
use super::types::{LeaderInfo, TopicPartition};

/// Where to move a position: the special timestamps of ListOffsets, or a real timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (ListOffsets timestamp -2).
    Earliest,
    /// The log end offset, or the last stable offset under read_committed (timestamp -1).
    Latest,
    /// The first offset whose timestamp is at or after this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    /// The ListOffsets `Timestamp` field for this spec.
    pub fn wire_timestamp(self) -> i64 {
        match self {
            Self::Earliest => -2,
            Self::Latest => -1,
            Self::Timestamp(t) => t,
        }
    }
}

/// A fetch request for one broker.
#[derive(Debug, Clone)]
pub struct FetchRequestOut {
    /// The leader to send it to.
    pub node: i32,
    /// The request.
    pub request: FetchRequest,
    /// The highest Fetch version usable: 12 when a topic id is unknown (v13+ name topics by
    /// id only), else the newest.
    pub max_version: i16,
}

/// One partition's state.
#[derive(Debug, Clone)]
struct PartitionState {
    /// Next offset handed to the application; `None` until known.
    position: Option<i64>,
    /// Next offset to fetch; `None` while unknown or halted after corrupt data.
    fetch_position: Option<i64>,
    /// Waiting for an offset lookup.
    pending_reset: Option<OffsetSpec>,
    reset_in_flight: bool,
    paused: bool,
    in_flight: bool,
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
}

impl Default for PartitionState {
    fn default() -> Self {
        Self {
            position: None,
            fetch_position: None,
            pending_reset: None,
            reset_in_flight: false,
            paused: false,
            in_flight: false,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
        }
    }
}

/// A fetch on its way to a broker.
#[derive(Debug)]
struct InFlight {
    session: session::SessionRequest,
    /// Fetch offset of every partition of the session after this request (an incremental
    /// response may return any of them, listed in the request or not).
    offsets: HashMap<TopicPartition, i64>,
    /// Topic id → name, to read responses of v13+ (which name topics by id only).
    names: HashMap<Uuid, Arc<str>>,
}

/// The sans-IO fetcher. See the module documentation.
#[derive(Debug)]
pub struct Fetcher {
    cfg: FetchConfig,
    opts: DecodeOptions,
    retry_backoff: Duration,
    parts: BTreeMap<TopicPartition, PartitionState>,
    leaders: HashMap<TopicPartition, LeaderInfo>,
    topic_ids: HashMap<Arc<str>, Uuid>,
    sessions: HashMap<i32, FetchSession>,
    in_flight: HashMap<i32, InFlight>,
    backoff: HashMap<i32, Instant>,
    completed: VecDeque<CompletedFetch>,
    paused_completed: Vec<CompletedFetch>,
    buffered_bytes: usize,
    errors: VecDeque<ConsumerError>,
    metadata_stale: bool,
}

/// Error codes after which the leader must be looked up again (Java's
/// `InvalidMetadataException` family, as handled by `AbstractFetch`).
fn is_stale_leader(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_LEADER_EPOCH
            | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::UNKNOWN_TOPIC_ID
            | ErrorCode::INCONSISTENT_TOPIC_ID
            | ErrorCode::KAFKA_STORAGE_ERROR
            | ErrorCode::REPLICA_NOT_AVAILABLE
            | ErrorCode::LEADER_NOT_AVAILABLE
            | ErrorCode::OFFSET_NOT_AVAILABLE
            | ErrorCode::BROKER_NOT_AVAILABLE
    )
}

impl Fetcher {
    /// A fetcher with no partitions. `retry_backoff` spaces fetches to a broker after a failed
    /// one.
    pub fn new(cfg: FetchConfig, retry_backoff: Duration) -> Self {
        let opts = DecodeOptions {
            verify_crc: cfg.check_crcs,
            ..DecodeOptions::default()
        };
        Self {
            cfg,
            opts,
            retry_backoff,
            parts: BTreeMap::new(),
            leaders: HashMap::new(),
            topic_ids: HashMap::new(),
            sessions: HashMap::new(),
            in_flight: HashMap::new(),
            backoff: HashMap::new(),
            completed: VecDeque::new(),
            paused_completed: Vec::new(),
            buffered_bytes: 0,
            errors: VecDeque::new(),
            metadata_stale: false,
        }
    }

    /// The fetch settings.
    pub fn config(&self) -> &FetchConfig {
        &self.cfg
    }

    // ----- assignment and positions -----

    /// Adds partitions with no position yet; give each one with [`seek`](Self::seek),
    /// [`seek_to`](Self::seek_to) or [`reset_with_policy`](Self::reset_with_policy).
    pub fn add_partitions(&mut self, tps: impl IntoIterator<Item = TopicPartition>) {
        for tp in tps {
            self.parts.entry(tp).or_default();
        }
    }

    /// Removes partitions and drops their buffered data.
    pub fn remove_partitions<'a>(&mut self, tps: impl IntoIterator<Item = &'a TopicPartition>) {
        for tp in tps {
            self.parts.remove(tp);
            self.drop_buffered(tp);
        }
    }

    /// Replaces the assignment: partitions not in `tps` are removed, new ones added without a
    /// position, kept ones keep theirs.
    pub fn assign(&mut self, tps: impl IntoIterator<Item = TopicPartition>) {
        let new: BTreeMap<TopicPartition, ()> = tps.into_iter().map(|tp| (tp, ())).collect();
        let gone: Vec<TopicPartition> = self
            .parts
            .keys()
            .filter(|tp| !new.contains_key(*tp))
            .cloned()
            .collect();
        self.remove_partitions(&gone);
        self.add_partitions(new.into_keys());
    }

    /// The assigned partitions, in order.
    pub fn assignment(&self) -> impl Iterator<Item = &TopicPartition> {
        self.parts.keys()
    }

    /// Whether `tp` is assigned.
    pub fn is_assigned(&self, tp: &TopicPartition) -> bool {
        self.parts.contains_key(tp)
    }

    fn state(&mut self, tp: &TopicPartition) -> Result<&mut PartitionState> {
        self.parts
            .get_mut(tp)
            .ok_or_else(|| ConsumerError::NotAssigned(tp.clone()))
    }

    /// Moves the position to `offset`; buffered data of the partition is dropped.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(ConsumerError::InvalidArgument(format!(
                "seek offset must not be negative, got {offset}"
            )));
        }
        let st = self.state(tp)?;
        st.position = Some(offset);
        st.fetch_position = Some(offset);
        st.pending_reset = None;
        st.reset_in_flight = false;
        self.drop_buffered(tp);
        Ok(())
    }

    /// Moves the position by an offset lookup (the driver resolves it via
    /// [`poll_resets`](Self::poll_resets)).
    pub fn seek_to(&mut self, tp: &TopicPartition, spec: OffsetSpec) -> Result<()> {
        let st = self.state(tp)?;
        st.position = None;
        st.fetch_position = None;
        st.pending_reset = Some(spec);
        st.reset_in_flight = false;
        self.drop_buffered(tp);
        Ok(())
    }

    /// Resets the position per `auto.offset.reset`; with `none` the application gets
    /// [`ConsumerError::NoOffsetForPartition`].
    pub fn reset_with_policy(&mut self, tp: &TopicPartition) -> Result<()> {
        match self.cfg.auto_offset_reset {
            OffsetReset::Earliest => self.seek_to(tp, OffsetSpec::Earliest),
            OffsetReset::Latest => self.seek_to(tp, OffsetSpec::Latest),
            OffsetReset::None => {
                self.state(tp)?;
                self.errors
                    .push_back(ConsumerError::NoOffsetForPartition(tp.clone()));
                Ok(())
            }
        }
    }

    /// The next offset the application will get, once known.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts.get(tp).and_then(|s| s.position)
    }

    /// Every partition with a known position.
    pub fn positions(&self) -> impl Iterator<Item = (&TopicPartition, i64)> {
        self.parts
            .iter()
            .filter_map(|(tp, s)| s.position.map(|p| (tp, p)))
    }

    /// Whether the partition waits for its position (an offset lookup or a committed offset).
    pub fn awaiting_position(&self, tp: &TopicPartition) -> bool {
        self.parts.get(tp).is_some_and(|s| s.position.is_none())
    }

    /// Stops fetching and handing out records of `tp`; buffered data is kept.
    pub fn pause(&mut self, tp: &TopicPartition) -> Result<()> {
        self.state(tp)?.paused = true;
        Ok(())
    }

    /// Undoes [`pause`](Self::pause).
    pub fn resume(&mut self, tp: &TopicPartition) -> Result<()> {
        self.state(tp)?.paused = false;
        let (mut back, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.paused_completed)
            .into_iter()
            .partition(|cf| &cf.tp == tp);
        self.paused_completed = keep;
        // Buffered data goes first: it precedes anything fetched later for the partition.
        while let Some(cf) = back.pop() {
            self.completed.push_front(cf);
        }
        Ok(())
    }

    /// Whether `tp` is paused.
    pub fn is_paused(&self, tp: &TopicPartition) -> bool {
        self.parts.get(tp).is_some_and(|s| s.paused)
    }

    /// The high watermark from the last fetch response, -1 before one.
    pub fn high_watermark(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts
            .get(tp)
            .map(|s| s.high_watermark)
            .filter(|h| *h >= 0)
    }

    /// The offset the application reads up to: the high watermark, or under read_committed
    /// the last stable offset.
    fn end_offset(&self, st: &PartitionState) -> i64 {
        match self.cfg.isolation {
            IsolationLevel::ReadUncommitted => st.high_watermark,
            IsolationLevel::ReadCommitted => st.last_stable_offset,
        }
    }

    /// Records between the position and the end of the partition, once a fetch response told
    /// the end.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let st = self.parts.get(tp)?;
        let end = self.end_offset(st);
        (end >= 0).then_some(end - st.position?)
    }

    /// Whether the application has read everything up to the partition's end as last seen.
    pub fn at_end(&self, tp: &TopicPartition) -> bool {
        self.lag(tp).is_some_and(|l| l <= 0)
    }

    /// Record data held in memory, not yet handed out.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    fn release(&mut self, cf: CompletedFetch) {
        self.buffered_bytes -= cf.size;
    }

    fn drop_buffered(&mut self, tp: &TopicPartition) {
        let mut freed = 0;
        self.completed.retain(|cf| {
            let keep = &cf.tp != tp;
            if !keep {
                freed += cf.size;
            }
            keep
        });
        self.paused_completed.retain(|cf| {
            let keep = &cf.tp != tp;
            if !keep {
                freed += cf.size;
            }
            keep
        });
        self.buffered_bytes -= freed;
    }

    // ----- metadata -----

    /// Sets (or, with `None`, forgets) the leader of `tp`.
    pub fn set_leader(&mut self, tp: &TopicPartition, leader: Option<LeaderInfo>) {
        match leader {
            Some(l) => self.leaders.insert(tp.clone(), l),
            None => self.leaders.remove(tp),
        };
    }

    /// The leader of `tp`, when known.
    pub fn leader(&self, tp: &TopicPartition) -> Option<LeaderInfo> {
        self.leaders.get(tp).copied()
    }

    /// Sets the topic id of `topic` (from Metadata v10+), needed for Fetch v13+.
    pub fn set_topic_id(&mut self, topic: &str, id: Uuid) {
        if id != Uuid::ZERO {
            self.topic_ids.insert(Arc::from(topic), id);
        }
    }

    /// Whether metadata should be refreshed (a leader moved or is unknown); clears the flag.
    pub fn take_metadata_request(&mut self) -> bool {
        let unknown = self.parts.keys().any(|tp| !self.leaders.contains_key(tp));
        std::mem::take(&mut self.metadata_stale) || unknown
    }

    // ----- offset lookups -----

    /// Partitions whose position waits for an offset lookup, each returned once until
    /// answered.
    pub fn poll_resets(&mut self) -> Vec<(TopicPartition, OffsetSpec)> {
        let mut out = Vec::new();
        for (tp, st) in &mut self.parts {
            if let (Some(spec), false) = (st.pending_reset, st.reset_in_flight) {
                st.reset_in_flight = true;
                out.push((tp.clone(), spec));
            }
        }
        out
    }

    /// The lookup for `tp` found `offset` (-1: no offset at or after the timestamp, which
    /// moves the position to the end, as Java's `seek` to `offsetsForTimes` users expect).
    pub fn handle_reset(&mut self, tp: &TopicPartition, spec: OffsetSpec, offset: i64) {
        let Some(st) = self.parts.get_mut(tp) else {
            return;
        };
        if st.pending_reset != Some(spec) {
            // Seeked elsewhere meanwhile.
            return;
        }
        st.reset_in_flight = false;
        if offset < 0 {
            st.pending_reset = Some(OffsetSpec::Latest);
            return;
        }
        debug!(%tp, ?spec, offset, "position reset");
        st.pending_reset = None;
        st.position = Some(offset);
        st.fetch_position = Some(offset);
    }

    /// The lookup for `tp` failed; it is retried at the next [`poll_resets`](Self::poll_resets).
    pub fn handle_reset_failure(&mut self, tp: &TopicPartition) {
        if let Some(st) = self.parts.get_mut(tp) {
            st.reset_in_flight = false;
        }
        self.metadata_stale = true;
    }

    // ----- fetching -----

    /// The next fetch to send, for a broker with fetchable partitions and nothing in flight.
    /// Call until it returns `None`.
    pub fn poll_fetch(&mut self, now: Instant) -> Option<FetchRequestOut> {
        if self.buffered_bytes >= self.cfg.max_buffered_bytes {
            trace!(buffered = self.buffered_bytes, "prefetch buffer full");
            return None;
        }
        let mut by_node: BTreeMap<i32, BTreeMap<TopicPartition, SessionPartition>> =
            BTreeMap::new();
        for (tp, st) in &self.parts {
            let (Some(fetch_offset), false, false) = (st.fetch_position, st.paused, st.in_flight)
            else {
                continue;
            };
            let Some(leader) = self.leaders.get(tp) else {
                continue;
            };
            if self.in_flight.contains_key(&leader.node)
                || self.backoff.get(&leader.node).is_some_and(|t| *t > now)
            {
                continue;
            }
            by_node.entry(leader.node).or_default().insert(
                tp.clone(),
                SessionPartition {
                    topic_id: self.topic_ids.get(&tp.topic).copied().unwrap_or(Uuid::ZERO),
                    fetch_offset,
                    max_bytes: self.cfg.max_partition_bytes,
                    current_leader_epoch: leader.epoch,
                },
            );
        }
        let (node, wanted) = by_node.into_iter().next()?;
        self.backoff.remove(&node);
        let session = self.sessions.entry(node).or_default();
        let sreq = session.build(wanted);
        let offsets: HashMap<TopicPartition, i64> = sreq
            .wanted()
            .map(|(tp, p)| (tp.clone(), p.fetch_offset))
            .collect();
        let mut names = HashMap::new();
        let mut ids_known = true;
        let mut topics: Vec<FetchTopic> = Vec::new();
        for (tp, p) in &sreq.send {
            ids_known &= p.topic_id != Uuid::ZERO;
            names.insert(p.topic_id, Arc::clone(&tp.topic));
            if topics.last().is_none_or(|t| t.topic != *tp.topic) {
                topics.push(FetchTopic {
                    topic: (&*tp.topic).into(),
                    topic_id: p.topic_id,
                    ..Default::default()
                });
            }
            if let Some(t) = topics.last_mut() {
                t.partitions.push(FetchPartition {
                    partition: tp.partition,
                    current_leader_epoch: p.current_leader_epoch,
                    fetch_offset: p.fetch_offset,
                    // No truncation detection by epoch (KIP-320 OffsetsForLeaderEpoch) yet.
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: p.max_bytes,
                    ..Default::default()
                });
            }
        }
        let mut forgotten: Vec<ForgottenTopic> = Vec::new();
        for (tp, id) in &sreq.forget {
            ids_known &= *id != Uuid::ZERO;
            if forgotten.last().is_none_or(|t| t.topic != *tp.topic) {
                forgotten.push(ForgottenTopic {
                    topic: (&*tp.topic).into(),
                    topic_id: *id,
                    ..Default::default()
                });
            }
            if let Some(t) = forgotten.last_mut() {
                t.partitions.push(tp.partition);
            }
        }
        for (tp, _) in sreq.wanted() {
            if let Some(st) = self.parts.get_mut(tp) {
                st.in_flight = true;
            }
        }
        for (tp, _) in sreq.wanted() {
            if let Some(id) = self.topic_ids.get(&tp.topic) {
                names.insert(*id, Arc::clone(&tp.topic));
            }
        }
        let request = FetchRequest {
            replica_id: -1,
            max_wait_ms: self.cfg.max_wait.as_millis() as i32,
            min_bytes: self.cfg.min_bytes,
            max_bytes: self.cfg.max_bytes,
            isolation_level: self.cfg.isolation.wire(),
            session_id: sreq.session_id,
            session_epoch: sreq.epoch,
            topics,
            forgotten_topics_data: forgotten,
            ..Default::default()
        };
        trace!(
            node,
            session = sreq.session_id,
            epoch = sreq.epoch,
            partitions = offsets.len(),
            "fetch"
        );
        self.in_flight.insert(
            node,
            InFlight {
                session: sreq,
                offsets,
                names,
            },
        );
        Some(FetchRequestOut {
            node,
            request,
            max_version: if ids_known { i16::MAX } else { 12 },
        })
    }

    fn finish_in_flight(&mut self, node: i32) -> Option<InFlight> {
        let inf = self.in_flight.remove(&node)?;
        for tp in inf.offsets.keys() {
            if let Some(st) = self.parts.get_mut(tp) {
                st.in_flight = false;
            }
        }
        Some(inf)
    }

    /// The fetch to `node` failed without a response (connection lost, timeout).
    pub fn handle_fetch_failure(&mut self, node: i32, now: Instant) {
        if self.finish_in_flight(node).is_some() {
            if let Some(s) = self.sessions.get_mut(&node) {
                s.handle_failure();
            }
            self.backoff.insert(node, now + self.retry_backoff);
            self.metadata_stale = true;
        }
    }

    /// Takes the response to the fetch sent to `node`.
    pub fn handle_fetch_response(&mut self, node: i32, resp: FetchResponse, now: Instant) {
        let Some(inf) = self.finish_in_flight(node) else {
            debug!(node, "fetch response without a request in flight");
            return;
        };
        let error = ErrorCode(resp.error_code);
        let session = self.sessions.entry(node).or_default();
        if !session.handle_response(inf.session, error, resp.session_id) {
            if !matches!(
                error,
                ErrorCode::FETCH_SESSION_ID_NOT_FOUND | ErrorCode::INVALID_FETCH_SESSION_EPOCH
            ) {
                warn!(node, %error, "fetch failed");
                self.backoff.insert(node, now + self.retry_backoff);
                if is_stale_leader(error) {
                    self.metadata_stale = true;
                }
            }
            return;
        }
        for topic in resp.responses {
            let name: Arc<str> = if topic.topic.is_empty() {
                match inf.names.get(&topic.topic_id) {
                    Some(n) => Arc::clone(n),
                    None => {
                        debug!(node, id = %topic.topic_id, "fetch response for an unknown topic id");
                        continue;
                    }
                }
            } else {
                Arc::from(topic.topic.as_str())
            };
            for p in topic.partitions {
                let tp = TopicPartition {
                    topic: Arc::clone(&name),
                    partition: p.partition_index,
                };
                let Some(&fetch_offset) = inf.offsets.get(&tp) else {
                    continue;
                };
                self.handle_partition(tp, fetch_offset, p);
            }
        }
    }

    fn handle_partition(
        &mut self,
        tp: TopicPartition,
        fetch_offset: i64,
        p: kafka_protocol::generated::fetch_response::PartitionData,
    ) {
        let isolation = self.cfg.isolation;
        let opts = self.opts;
        let policy = self.cfg.auto_offset_reset;
        let Some(st) = self.parts.get_mut(&tp) else {
            return;
        };
        if st.fetch_position != Some(fetch_offset) {
            trace!(%tp, fetch_offset, "stale fetch data dropped");
            return;
        }
        let code = ErrorCode(p.error_code);
        match code {
            ErrorCode::NONE => {
                st.high_watermark = p.high_watermark;
                st.last_stable_offset = p.last_stable_offset;
                st.log_start_offset = p.log_start_offset;
                let Some(records) = p.records.filter(|r| !r.is_empty()) else {
                    return;
                };
                match scan::end_offset(&records) {
                    Some(end) if end > fetch_offset => {
                        st.fetch_position = Some(end);
                        let cf = CompletedFetch::new(
                            tp,
                            fetch_offset,
                            records,
                            isolation,
                            p.aborted_transactions.as_deref(),
                            opts,
                        );
                        self.buffered_bytes += cf.size;
                        self.completed.push_back(cf);
                    }
                    _ => {
                        // Only an incomplete batch: the broker cut it at the size limit. The
                        // next fetch asks again; KIP-74 makes the broker return a whole batch
                        // when it comes first in a response.
                        debug!(%tp, fetch_offset, bytes = records.len(), "no complete batch in fetch data");
                    }
                }
            }
            ErrorCode::OFFSET_OUT_OF_RANGE => {
                debug!(%tp, fetch_offset, ?policy, "offset out of range");
                st.position = None;
                st.fetch_position = None;
                match policy {
                    OffsetReset::Earliest => st.pending_reset = Some(OffsetSpec::Earliest),
                    OffsetReset::Latest => st.pending_reset = Some(OffsetSpec::Latest),
                    OffsetReset::None => self.errors.push_back(ConsumerError::OffsetOutOfRange {
                        partition: tp.clone(),
                        offset: fetch_offset,
                    }),
                }
                st.reset_in_flight = false;
                self.drop_buffered(&tp);
            }
            code if is_stale_leader(code) => {
                debug!(%tp, %code, "leader stale, refreshing metadata");
                self.leaders.remove(&tp);
                self.metadata_stale = true;
            }
            code => {
                warn!(%tp, %code, "fetch error");
                self.errors.push_back(ConsumerError::broker(
                    code,
                    None,
                    format!("fetch {tp} at offset {fetch_offset}"),
                ));
            }
        }
    }

    // ----- handing out records -----

    /// Appends up to `max` records to `out` and returns how many. A pending error is returned
    /// first; an error met after some records were appended is kept for the next call.
    pub fn poll_records(&mut self, max: usize, out: &mut Vec<ConsumerRecord>) -> Result<usize> {
        if let Some(e) = self.errors.pop_front() {
            return Err(e);
        }
        let start = out.len();
        while out.len() - start < max {
            let Some(mut cf) = self.completed.pop_front() else {
                break;
            };
            let Some(st) = self.parts.get_mut(&cf.tp) else {
                self.release(cf);
                continue;
            };
            if st.position != Some(cf.next_offset) {
                // Seeked (or reset) since this was fetched.
                self.release(cf);
                continue;
            }
            if st.paused {
                self.paused_completed.push(cf);
                continue;
            }
            let mut exhausted = false;
            let mut error = None;
            while out.len() - start < max {
                match cf.next_record() {
                    Some(Ok(r)) => out.push(r),
                    Some(Err(e)) => {
                        error = Some(e);
                        break;
                    }
                    None => {
                        exhausted = true;
                        break;
                    }
                }
            }
            st.position = Some(cf.next_offset);
            if let Some(e) = error {
                // Stop the partition at the bad record; the application decides (seek past it).
                st.fetch_position = None;
                self.release(cf);
                self.drop_buffered_for_error(&e);
                if out.len() > start {
                    self.errors.push_back(e);
                    break;
                }
                return Err(e);
            }
            if exhausted {
                self.release(cf);
            } else {
                self.completed.push_front(cf);
            }
        }
        Ok(out.len() - start)
    }

    fn drop_buffered_for_error(&mut self, e: &ConsumerError) {
        if let ConsumerError::CorruptRecord { partition, .. } = e {
            let tp = partition.clone();
            self.drop_buffered(&tp);
        }
    }

    /// When the fetcher next needs [`handle_timeout`](Self::handle_timeout): the end of a
    /// broker's backoff.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.backoff.values().min().copied()
    }

    /// Expires backoffs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.backoff.retain(|_, t| *t > now);
    }

    /// Whether records are buffered for partitions that are not paused.
    pub fn has_buffered_records(&self) -> bool {
        !self.completed.is_empty() || !self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests;
