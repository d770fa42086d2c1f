//! [`GroupMember`]: the sans-IO group membership of one consumer, for both protocols.
//!
//! It finds the coordinator, joins (classic JoinGroup/SyncGroup, or KIP-848
//! ConsumerGroupHeartbeat), heartbeats, reconciles assignments, commits and fetches offsets,
//! and leaves. The driver sends what [`GroupMember::poll_request`] returns to the named broker,
//! feeds back responses ([`GroupMember::handle_response`]) or failures
//! ([`GroupMember::handle_failure`]), calls [`GroupMember::handle_timeout`], and acts on
//! [`GroupEvent`]s: stop fetching revoked or lost partitions, start fetching assigned ones from
//! their committed offsets, and answer a revocation with [`GroupMember::revocation_done`] once
//! it committed what it consumed (the rebalance waits for that, KIP-429).

mod classic;
mod kip848;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, FindCoordinatorResponse,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, OffsetCommitResponse, OffsetFetchResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::ErrorCode;
use tracing::{debug, info, warn};

use super::wire::{self, CoordinatorInfo};
use crate::consumer::config::{GroupConfig, GroupProtocol};
use crate::consumer::error::ConsumerError;
use crate::consumer::types::{OffsetAndMetadata, TopicPartition};

pub use classic::ClassicState;
pub use kip848::Kip848State;

/// A request for the driver to send.
#[derive(Debug, Clone)]
pub enum GroupRequest {
    /// FindCoordinator for the group; build with [`wire::find_coordinator`] at the version.
    FindCoordinator,
    /// JoinGroup.
    JoinGroup(JoinGroupRequest),
    /// SyncGroup.
    SyncGroup(SyncGroupRequest),
    /// Heartbeat.
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup.
    LeaveGroup(LeaveGroupRequest),
    /// OffsetCommit; build with [`wire::offset_commit`] at the version (at most
    /// [`wire::OFFSET_COMMIT_MAX`]).
    OffsetCommit {
        /// Generation id (classic) or member epoch (KIP-848).
        generation: i32,
        /// Member id.
        member_id: String,
        /// Static instance id.
        instance_id: Option<String>,
        /// What to commit.
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    },
    /// OffsetFetch; build with [`wire::offset_fetch`] (at most [`wire::OFFSET_FETCH_MAX`]).
    OffsetFetch {
        /// Partitions.
        partitions: Vec<TopicPartition>,
        /// KIP-848 member id and epoch.
        member: Option<(String, i32)>,
    },
    /// ConsumerGroupHeartbeat (KIP-848).
    ConsumerGroupHeartbeat(ConsumerGroupHeartbeatRequest),
}

/// A response for [`GroupMember::handle_response`].
#[derive(Debug, Clone)]
pub enum GroupResponse {
    /// FindCoordinator.
    FindCoordinator(FindCoordinatorResponse),
    /// JoinGroup.
    JoinGroup(JoinGroupResponse),
    /// SyncGroup.
    SyncGroup(SyncGroupResponse),
    /// Heartbeat.
    Heartbeat(HeartbeatResponse),
    /// LeaveGroup.
    LeaveGroup(LeaveGroupResponse),
    /// OffsetCommit.
    OffsetCommit(OffsetCommitResponse),
    /// OffsetFetch.
    OffsetFetch(OffsetFetchResponse),
    /// ConsumerGroupHeartbeat.
    ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse),
}

/// Where and how to send a request.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Pass back with the response or failure.
    pub id: u64,
    /// The coordinator's node, or `None` for any broker (FindCoordinator).
    pub node: Option<i32>,
    /// The coordinator's address, to reach it when it is not in the metadata yet.
    pub addr: Option<(String, i32)>,
    /// The request.
    pub request: GroupRequest,
    /// A longer timeout than `request.timeout.ms` when the broker may hold the request
    /// (JoinGroup waits up to the rebalance timeout).
    pub timeout: Option<Duration>,
}

/// What the member tells the driver.
#[derive(Debug, Clone)]
pub enum GroupEvent {
    /// Stop fetching these partitions and commit what was consumed (if committing
    /// automatically); then call [`GroupMember::revocation_done`].
    Revoke(Vec<TopicPartition>),
    /// These partitions were lost (the member was fenced or its session expired): stop
    /// fetching them and do not commit, another member may own them already.
    Lost(Vec<TopicPartition>),
    /// Start fetching these partitions from their committed offsets (`None`: none committed,
    /// reset per `auto.offset.reset`).
    Assign(Vec<(TopicPartition, Option<OffsetAndMetadata>)>),
    /// A commit finished.
    CommitDone {
        /// The id [`GroupMember::commit`] returned.
        id: u64,
        /// Its outcome.
        result: Result<(), ConsumerError>,
    },
    /// The member needs partition counts or topic ids of these topics: refresh metadata and
    /// call [`GroupMember::set_metadata`].
    NeedMetadata(BTreeSet<String>),
    /// Joined a generation (classic) or got a new epoch (KIP-848).
    Joined {
        /// Generation or member epoch.
        generation: i32,
        /// Our member id.
        member_id: String,
        /// Whether we lead the group (classic).
        leader: bool,
    },
    /// The member left the group (after [`GroupMember::leave`]).
    Left,
    /// A fatal error: the member cannot continue (fenced static member, no common assignor,
    /// authorization).
    Fatal(ConsumerError),
}

/// What a request in flight was.
#[derive(Debug, Clone)]
enum Pending {
    FindCoordinator,
    Join,
    Sync,
    Heartbeat,
    Leave,
    Commit {
        commit_id: u64,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        attempts: u32,
    },
    OffsetFetch(Vec<TopicPartition>),
    ConsumerHeartbeat,
}

/// A commit waiting for the coordinator.
#[derive(Debug, Clone)]
struct QueuedCommit {
    id: u64,
    offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    attempts: u32,
}

/// Attempts of one commit before it fails (coordinator moves, timeouts).
const COMMIT_ATTEMPTS: u32 = 10;

/// Protocol-specific state.
#[derive(Debug)]
enum Proto {
    Classic(ClassicState),
    Consumer(Kip848State),
}

/// The group membership state machine. See the module documentation.
#[derive(Debug)]
pub struct GroupMember {
    cfg: GroupConfig,
    group_id: String,
    retry_backoff: Duration,
    topics: Vec<String>,
    coordinator: Option<CoordinatorInfo>,
    next_find: Instant,
    member_id: String,
    generation: i32,
    owned: BTreeSet<TopicPartition>,
    /// Assigned partitions whose committed offsets are being looked up.
    awaiting_offsets: BTreeSet<TopicPartition>,
    offset_fetch_in_flight: bool,
    next_offset_fetch: Instant,
    /// Revocation handed to the application, not yet confirmed.
    revoking: Option<Vec<TopicPartition>>,
    proto: Proto,
    next_id: u64,
    in_flight: HashMap<u64, Pending>,
    commits: VecDeque<QueuedCommit>,
    events: VecDeque<GroupEvent>,
    /// Partition counts (classic leader) and topic names by id (KIP-848), from metadata.
    partition_counts: BTreeMap<String, i32>,
    topic_names: HashMap<Uuid, String>,
    /// SyncGroup built, waiting to go out.
    queued_sync: Option<SyncGroupRequest>,
    leaving: bool,
    left: bool,
    fatal: bool,
}

impl GroupMember {
    /// A member of `cfg.group_id` (which must be set), subscribed to nothing yet.
    pub fn new(
        cfg: GroupConfig,
        retry_backoff: Duration,
        now: Instant,
    ) -> Result<Self, ConsumerError> {
        let group_id = cfg
            .group_id
            .clone()
            .ok_or_else(|| ConsumerError::config("group.id", "a group consumer needs group.id"))?;
        cfg.validate()?;
        let proto = match cfg.protocol {
            GroupProtocol::Classic => Proto::Classic(ClassicState::new(now)),
            GroupProtocol::Consumer => Proto::Consumer(Kip848State::new(now)),
        };
        let member_id = match cfg.protocol {
            GroupProtocol::Classic => String::new(),
            // KIP-1082: the consumer protocol member generates its own id.
            GroupProtocol::Consumer => random_member_id(),
        };
        Ok(Self {
            cfg,
            group_id,
            retry_backoff,
            topics: Vec::new(),
            coordinator: None,
            next_find: now,
            member_id,
            generation: -1,
            owned: BTreeSet::new(),
            awaiting_offsets: BTreeSet::new(),
            offset_fetch_in_flight: false,
            next_offset_fetch: now,
            revoking: None,
            proto,
            next_id: 1,
            in_flight: HashMap::new(),
            commits: VecDeque::new(),
            events: VecDeque::new(),
            partition_counts: BTreeMap::new(),
            topic_names: HashMap::new(),
            queued_sync: None,
            leaving: false,
            left: false,
            fatal: false,
        })
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Our member id (empty before the first join in the classic protocol).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation (classic) or member epoch (KIP-848); -1 when not in the group.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The partitions this member owns.
    pub fn owned(&self) -> &BTreeSet<TopicPartition> {
        &self.owned
    }

    /// The coordinator, once found.
    pub fn coordinator(&self) -> Option<&CoordinatorInfo> {
        self.coordinator.as_ref()
    }

    /// The subscribed topics.
    pub fn subscription(&self) -> &[String] {
        &self.topics
    }

    /// Whether the member has left (or failed fatally) and has nothing more to do.
    pub fn is_done(&self) -> bool {
        self.left || self.fatal
    }

    /// Whether a rebalance or assignment is in progress (records may still flow for owned
    /// partitions).
    pub fn is_stable(&self) -> bool {
        self.revoking.is_none()
            && self.awaiting_offsets.is_empty()
            && match &self.proto {
                Proto::Classic(c) => c.is_stable(),
                Proto::Consumer(k) => k.is_stable(),
            }
    }

    /// Subscribes to `topics` (replacing the subscription); joins or rejoins.
    pub fn subscribe(&mut self, topics: impl IntoIterator<Item = String>) {
        let mut t: Vec<String> = topics.into_iter().collect();
        t.sort();
        t.dedup();
        if t == self.topics {
            return;
        }
        self.topics = t;
        let needed: BTreeSet<String> = self.topics.iter().cloned().collect();
        self.events.push_back(GroupEvent::NeedMetadata(needed));
        match &mut self.proto {
            Proto::Classic(c) => c.request_rejoin("subscription changed"),
            Proto::Consumer(k) => k.subscription_changed(),
        }
    }

    /// Partition counts and topic ids from metadata.
    pub fn set_metadata(
        &mut self,
        topics: impl IntoIterator<Item = (String, Uuid, i32)>,
        now: Instant,
    ) {
        let mut changed_own = false;
        for (name, id, count) in topics {
            if id != Uuid::ZERO {
                self.topic_names.insert(id, name.clone());
            }
            let old = self.partition_counts.insert(name.clone(), count);
            if old.is_some_and(|o| o != count) && self.topics.contains(&name) {
                changed_own = true;
            }
        }
        match &mut self.proto {
            Proto::Classic(c) => {
                if changed_own && c.is_stable() {
                    // Java's leader rejoins when a subscribed topic's partition count changes,
                    // so that new partitions get assigned.
                    c.request_rejoin("partition count changed");
                }
            }
            Proto::Consumer(_) => {}
        }
        self.metadata_arrived(now);
    }

    fn metadata_arrived(&mut self, now: Instant) {
        match &mut self.proto {
            Proto::Classic(_) => self.classic_metadata_arrived(now),
            Proto::Consumer(_) => self.kip848_metadata_arrived(now),
        }
    }

    /// Queues a commit; the outcome comes as [`GroupEvent::CommitDone`] with the returned id.
    pub fn commit(&mut self, offsets: BTreeMap<TopicPartition, OffsetAndMetadata>) -> u64 {
        let id = self.take_id();
        if offsets.is_empty() {
            self.events
                .push_back(GroupEvent::CommitDone { id, result: Ok(()) });
        } else {
            self.commits.push_back(QueuedCommit {
                id,
                offsets,
                attempts: 0,
            });
        }
        id
    }

    /// Commits in flight or queued.
    pub fn commits_pending(&self) -> bool {
        !self.commits.is_empty()
            || self
                .in_flight
                .values()
                .any(|p| matches!(p, Pending::Commit { .. }))
    }

    /// The application stopped fetching the revoked partitions and committed.
    pub fn revocation_done(&mut self, now: Instant) {
        if let Some(parts) = self.revoking.take() {
            for tp in &parts {
                self.owned.remove(tp);
                self.awaiting_offsets.remove(tp);
            }
            debug!(count = parts.len(), "revocation done");
            match &mut self.proto {
                Proto::Classic(_) => self.classic_revocation_done(now),
                Proto::Consumer(_) => self.kip848_revocation_done(now),
            }
        }
    }

    /// Leaves the group: revokes everything (the application commits), then LeaveGroup or the
    /// leave heartbeat. [`GroupEvent::Left`] follows.
    pub fn leave(&mut self, now: Instant) {
        if self.leaving || self.left {
            return;
        }
        self.leaving = true;
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        if owned.is_empty() || self.revoking.is_some() {
            self.finish_leave_when_ready(now);
        } else {
            self.start_revoke(owned);
        }
    }

    fn finish_leave_when_ready(&mut self, _now: Instant) {
        // The leave request goes out from poll_request once commits are done.
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn start_revoke(&mut self, parts: Vec<TopicPartition>) {
        debug!(count = parts.len(), "revoking partitions");
        self.events.push_back(GroupEvent::Revoke(parts.clone()));
        self.revoking = Some(parts);
    }

    /// Drops every owned partition as lost (no commit): fenced or expired.
    fn lose_all(&mut self, why: &str) {
        let lost: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
        self.awaiting_offsets.clear();
        self.revoking = None;
        if !lost.is_empty() {
            warn!(count = lost.len(), why, "partitions lost");
            self.events.push_back(GroupEvent::Lost(lost));
        }
    }

    fn fatal(&mut self, e: ConsumerError) {
        warn!(error = %e, "group membership failed");
        self.fatal = true;
        self.events.push_back(GroupEvent::Fatal(e));
    }

    fn coordinator_unknown(&mut self, now: Instant, why: &str) {
        if self.coordinator.take().is_some() {
            info!(why, "coordinator lost");
        }
        self.next_find = self.next_find.max(now);
    }

    /// Whether `code` means the coordinator moved or is unavailable (Java marks it unknown).
    fn is_coordinator_error(code: ErrorCode) -> bool {
        matches!(
            code,
            ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::NOT_COORDINATOR
        )
    }

    // ----- output -----

    /// The next request to send, if any.
    pub fn poll_request(&mut self, now: Instant) -> Option<Outgoing> {
        if self.fatal || self.left {
            return None;
        }
        let Some(coord) = self.coordinator.clone() else {
            if now >= self.next_find
                && !self
                    .in_flight
                    .values()
                    .any(|p| matches!(p, Pending::FindCoordinator))
            {
                return Some(self.send(
                    Pending::FindCoordinator,
                    None,
                    GroupRequest::FindCoordinator,
                    None,
                ));
            }
            return None;
        };
        // Commits first: a rebalance waits for them.
        if !self.commits.is_empty() {
            let ready = match &self.proto {
                Proto::Classic(_) => true,
                Proto::Consumer(_) => self.generation > 0,
            };
            if ready {
                let c = self.commits.pop_front()?;
                let req = GroupRequest::OffsetCommit {
                    generation: self.generation,
                    member_id: self.member_id.clone(),
                    instance_id: self.cfg.group_instance_id.clone(),
                    offsets: c.offsets.clone(),
                };
                return Some(self.send(
                    Pending::Commit {
                        commit_id: c.id,
                        offsets: c.offsets,
                        attempts: c.attempts + 1,
                    },
                    Some(&coord),
                    req,
                    None,
                ));
            }
        }
        if !self.awaiting_offsets.is_empty()
            && !self.offset_fetch_in_flight
            && now >= self.next_offset_fetch
        {
            let parts: Vec<TopicPartition> = self.awaiting_offsets.iter().cloned().collect();
            self.offset_fetch_in_flight = true;
            let member = match &self.proto {
                Proto::Consumer(_) => Some((self.member_id.clone(), self.generation)),
                Proto::Classic(_) => None,
            };
            return Some(self.send(
                Pending::OffsetFetch(parts.clone()),
                Some(&coord),
                GroupRequest::OffsetFetch {
                    partitions: parts,
                    member,
                },
                None,
            ));
        }
        let (pending, req, timeout) = match &self.proto {
            Proto::Classic(_) => self.classic_poll(now)?,
            Proto::Consumer(_) => self.kip848_poll(now)?,
        };
        Some(self.send(pending, Some(&coord), req, timeout))
    }

    fn send(
        &mut self,
        pending: Pending,
        coord: Option<&CoordinatorInfo>,
        request: GroupRequest,
        timeout: Option<Duration>,
    ) -> Outgoing {
        let id = self.take_id();
        self.in_flight.insert(id, pending);
        Outgoing {
            id,
            node: coord.map(|c| c.node),
            addr: coord.map(|c| (c.host.clone(), c.port)),
            request,
            timeout,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<GroupEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| t = Some(t.map_or(x, |y: Instant| y.min(x)));
        if self.coordinator.is_none() {
            at(self.next_find);
        }
        if !self.awaiting_offsets.is_empty() && !self.offset_fetch_in_flight {
            at(self.next_offset_fetch);
        }
        match &self.proto {
            Proto::Classic(c) => {
                if let Some(x) = c.poll_timeout() {
                    at(x);
                }
            }
            Proto::Consumer(k) => {
                if let Some(x) = k.poll_timeout() {
                    at(x);
                }
            }
        }
        t
    }

    /// Expires timers (session expiry).
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.proto {
            Proto::Classic(_) => self.classic_timeout(now),
            Proto::Consumer(_) => {}
        }
    }

    // ----- input -----

    /// A request failed without a response (connection lost, timeout).
    pub fn handle_failure(&mut self, id: u64, error: ConsumerError, now: Instant) {
        let Some(pending) = self.in_flight.remove(&id) else {
            return;
        };
        debug!(?pending, %error, "group request failed");
        match pending {
            Pending::FindCoordinator => self.next_find = now + self.retry_backoff,
            Pending::Commit {
                commit_id,
                offsets,
                attempts,
            } => {
                self.coordinator_unknown(now, "commit failed");
                self.retry_commit(commit_id, offsets, attempts, error);
            }
            Pending::OffsetFetch(_) => {
                self.offset_fetch_in_flight = false;
                self.next_offset_fetch = now + self.retry_backoff;
                self.coordinator_unknown(now, "offset fetch failed");
            }
            Pending::Leave => self.finish_left(),
            other => {
                self.coordinator_unknown(now, "request failed");
                match &mut self.proto {
                    Proto::Classic(_) => self.classic_failure(other, now),
                    Proto::Consumer(_) => self.kip848_failure(now),
                }
            }
        }
    }

    fn retry_commit(
        &mut self,
        id: u64,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        attempts: u32,
        error: ConsumerError,
    ) {
        if attempts >= COMMIT_ATTEMPTS {
            self.events.push_back(GroupEvent::CommitDone {
                id,
                result: Err(error),
            });
        } else {
            self.commits.push_front(QueuedCommit {
                id,
                offsets,
                attempts,
            });
        }
    }

    fn finish_left(&mut self) {
        if !self.left {
            self.left = true;
            self.generation = -1;
            self.events.push_back(GroupEvent::Left);
        }
    }

    /// A response arrived.
    pub fn handle_response(&mut self, id: u64, resp: GroupResponse, now: Instant) {
        let Some(pending) = self.in_flight.remove(&id) else {
            return;
        };
        match (pending, resp) {
            (Pending::FindCoordinator, GroupResponse::FindCoordinator(r)) => {
                match wire::parse_find_coordinator(&r, &self.group_id) {
                    Ok(c) => {
                        info!(node = c.node, host = %c.host, port = c.port, "found coordinator");
                        self.coordinator = Some(c);
                    }
                    Err((code, msg)) => {
                        debug!(%code, ?msg, "coordinator lookup failed");
                        self.next_find = now + self.retry_backoff;
                        if matches!(
                            code,
                            ErrorCode::GROUP_AUTHORIZATION_FAILED | ErrorCode::INVALID_GROUP_ID
                        ) {
                            self.fatal(ConsumerError::broker(
                                code,
                                msg,
                                format!("find coordinator of group {}", self.group_id),
                            ));
                        }
                    }
                }
            }
            (
                Pending::Commit {
                    commit_id,
                    offsets,
                    attempts,
                },
                GroupResponse::OffsetCommit(r),
            ) => self.handle_commit(commit_id, offsets, attempts, &r, now),
            (Pending::OffsetFetch(parts), GroupResponse::OffsetFetch(r)) => {
                self.handle_offset_fetch(parts, &r, now)
            }
            (Pending::Leave, GroupResponse::LeaveGroup(_)) => self.finish_left(),
            (Pending::Join, GroupResponse::JoinGroup(r)) => self.classic_join_response(r, now),
            (Pending::Sync, GroupResponse::SyncGroup(r)) => self.classic_sync_response(r, now),
            (Pending::Heartbeat, GroupResponse::Heartbeat(r)) => {
                self.classic_heartbeat_response(r, now)
            }
            (Pending::ConsumerHeartbeat, GroupResponse::ConsumerGroupHeartbeat(r)) => {
                self.kip848_heartbeat_response(r, now)
            }
            (pending, resp) => warn!(?pending, ?resp, "response does not match its request"),
        }
    }

    fn handle_commit(
        &mut self,
        id: u64,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        attempts: u32,
        resp: &OffsetCommitResponse,
        now: Instant,
    ) {
        let errors: Vec<(TopicPartition, ErrorCode)> = wire::parse_offset_commit(resp)
            .into_iter()
            .filter(|(_, c)| *c != ErrorCode::NONE)
            .collect();
        let Some((tp, code)) = errors.first().cloned() else {
            debug!(partitions = offsets.len(), "committed");
            self.events
                .push_back(GroupEvent::CommitDone { id, result: Ok(()) });
            return;
        };
        let err = ConsumerError::broker(code, None, format!("commit offset of {tp}"));
        match code {
            c if Self::is_coordinator_error(c) => {
                self.coordinator_unknown(now, "commit: coordinator moved");
                self.retry_commit(id, offsets, attempts, err);
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::REQUEST_TIMED_OUT => {
                self.retry_commit(id, offsets, attempts, err)
            }
            ErrorCode::STALE_MEMBER_EPOCH
                if matches!(self.proto, Proto::Consumer(_)) && self.generation > 0 =>
            {
                // KIP-848: the epoch moved on while the commit was in flight; retry with the
                // current one if we still own the partitions.
                if offsets.keys().all(|tp| self.owned.contains(tp)) {
                    self.retry_commit(id, offsets, attempts, err)
                } else {
                    self.events.push_back(GroupEvent::CommitDone {
                        id,
                        result: Err(ConsumerError::CommitFailed(
                            "partitions no longer owned".into(),
                        )),
                    });
                }
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                if let Proto::Classic(c) = &mut self.proto {
                    c.request_rejoin("commit: rebalance in progress");
                }
                self.events.push_back(GroupEvent::CommitDone {
                    id,
                    result: Err(ConsumerError::CommitFailed(
                        "the group is rebalancing; commit again after the rebalance".into(),
                    )),
                });
            }
            ErrorCode::UNKNOWN_MEMBER_ID
            | ErrorCode::ILLEGAL_GENERATION
            | ErrorCode::FENCED_MEMBER_EPOCH => {
                self.events.push_back(GroupEvent::CommitDone {
                    id,
                    result: Err(ConsumerError::CommitFailed(format!(
                        "{code}: the member is no longer part of that generation; its partitions may belong to another member"
                    ))),
                });
                self.fenced(code, now);
            }
            ErrorCode::FENCED_INSTANCE_ID => {
                self.events.push_back(GroupEvent::CommitDone {
                    id,
                    result: Err(err.clone()),
                });
                self.fatal(ConsumerError::Fenced(format!(
                    "group.instance.id {:?} is used by another member",
                    self.cfg.group_instance_id
                )));
            }
            _ => self.events.push_back(GroupEvent::CommitDone {
                id,
                result: Err(err),
            }),
        }
    }

    /// The member lost its membership (`code`): partitions are lost, rejoin.
    fn fenced(&mut self, code: ErrorCode, now: Instant) {
        match &self.proto {
            Proto::Classic(_) => self.classic_reset(code, now),
            Proto::Consumer(_) => self.kip848_fenced(code, now),
        }
    }

    fn handle_offset_fetch(
        &mut self,
        parts: Vec<TopicPartition>,
        resp: &OffsetFetchResponse,
        now: Instant,
    ) {
        self.offset_fetch_in_flight = false;
        match wire::parse_offset_fetch(resp) {
            Err(code) => {
                debug!(%code, "offset fetch failed");
                self.next_offset_fetch = now + self.retry_backoff;
                if Self::is_coordinator_error(code) {
                    self.coordinator_unknown(now, "offset fetch: coordinator moved");
                } else if matches!(
                    code,
                    ErrorCode::UNKNOWN_MEMBER_ID
                        | ErrorCode::STALE_MEMBER_EPOCH
                        | ErrorCode::FENCED_MEMBER_EPOCH
                ) {
                    // Our epoch moved on; the next attempt carries the new one.
                } else if !code.is_retriable() {
                    self.fatal(ConsumerError::broker(
                        code,
                        None,
                        format!("fetch committed offsets of group {}", self.group_id),
                    ));
                }
            }
            Ok(list) => {
                let mut found: HashMap<
                    TopicPartition,
                    Result<Option<OffsetAndMetadata>, ErrorCode>,
                > = list.into_iter().collect();
                let mut ready = Vec::new();
                let mut retry = false;
                for tp in parts {
                    if !self.awaiting_offsets.contains(&tp) {
                        continue;
                    }
                    match found.remove(&tp) {
                        Some(Ok(o)) => {
                            self.awaiting_offsets.remove(&tp);
                            ready.push((tp, o));
                        }
                        // UNSTABLE_OFFSET_COMMIT (KIP-447): a transactional commit is pending.
                        Some(Err(code)) if code.is_retriable() => retry = true,
                        Some(Err(code)) => {
                            self.awaiting_offsets.remove(&tp);
                            warn!(%tp, %code, "committed offset unavailable, resetting");
                            ready.push((tp, None));
                        }
                        None => {
                            self.awaiting_offsets.remove(&tp);
                            ready.push((tp, None));
                        }
                    }
                }
                if retry {
                    self.next_offset_fetch = now + self.retry_backoff;
                }
                if !ready.is_empty() {
                    self.events.push_back(GroupEvent::Assign(ready));
                }
            }
        }
    }

    /// Adds newly assigned partitions: owned from now, fetched once their committed offsets
    /// are known.
    fn add_assigned(&mut self, added: Vec<TopicPartition>) {
        for tp in added {
            if self.owned.insert(tp.clone()) {
                self.awaiting_offsets.insert(tp);
            }
        }
    }
}

/// A random member id: 22 characters of URL-safe base64 of 16 random bytes, as Java's
/// `Uuid.randomUuid().toString()` looks.
fn random_member_id() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    Uuid(b).to_string()
}
