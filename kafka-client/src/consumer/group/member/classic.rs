//! The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, with the leader
//! running the client-side assignor (Java's `AbstractCoordinator` and `ConsumerCoordinator`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_protocol::generated::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::generated::leave_group_request::MemberIdentity;
use kafka_protocol::generated::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::generated::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::ErrorCode;
use tracing::{debug, info, warn};

use super::{GroupEvent, GroupMember, GroupRequest, Pending, Proto};
use crate::consumer::error::ConsumerError;
use crate::consumer::group::assignor::{
    rebalance_protocol, AssignorKind, MemberSubscription, RebalanceProtocol,
};
use crate::consumer::group::protocol;
use crate::consumer::types::TopicPartition;

/// `ConsumerProtocol.PROTOCOL_TYPE`.
const PROTOCOL_TYPE: &str = "consumer";

/// Where the member is in the classic protocol.
#[derive(Debug)]
enum Phase {
    /// Not in a current generation: join once revocation and commits are done.
    NeedJoin,
    /// JoinGroup in flight.
    Joining,
    /// We lead and wait for partition counts to run the assignor.
    Assigning {
        assignor: AssignorKind,
        members: Vec<MemberSubscription>,
    },
    /// SyncGroup in flight.
    Syncing,
    /// In a generation, heartbeating.
    Stable,
}

/// Classic protocol state.
#[derive(Debug)]
pub struct ClassicState {
    phase: Phase,
    rejoin_reason: Option<String>,
    next_join: Instant,
    next_heartbeat: Instant,
    heartbeat_in_flight: bool,
    last_heartbeat_ok: Instant,
    protocol_name: Option<String>,
    /// The eager protocol revoked everything before this join.
    revoked_for_join: bool,
}

impl ClassicState {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            phase: Phase::NeedJoin,
            rejoin_reason: Some("initial join".into()),
            next_join: now,
            next_heartbeat: now,
            heartbeat_in_flight: false,
            last_heartbeat_ok: now,
            protocol_name: None,
            revoked_for_join: false,
        }
    }

    pub(super) fn is_stable(&self) -> bool {
        matches!(self.phase, Phase::Stable) && self.rejoin_reason.is_none()
    }

    /// Asks for a new JoinGroup at the next opportunity (Java `requestRejoin`).
    pub(super) fn request_rejoin(&mut self, reason: &str) {
        if self.rejoin_reason.is_none() {
            debug!(reason, "rejoin requested");
            self.rejoin_reason = Some(reason.to_owned());
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::NeedJoin => Some(self.next_join),
            Phase::Stable if !self.heartbeat_in_flight => Some(self.next_heartbeat),
            _ => None,
        }
    }
}

impl GroupMember {
    fn classic(&mut self) -> &mut ClassicState {
        match &mut self.proto {
            Proto::Classic(c) => c,
            Proto::Consumer(_) => unreachable!("classic state of a consumer-protocol member"),
        }
    }

    fn protocol(&self) -> RebalanceProtocol {
        rebalance_protocol(&self.cfg.assignors)
    }

    pub(super) fn classic_poll(
        &mut self,
        now: Instant,
    ) -> Option<(Pending, GroupRequest, Option<Duration>)> {
        if self.leaving {
            if self.revoking.is_some() || self.commits_pending() {
                return None;
            }
            let dynamic = self.cfg.group_instance_id.is_none();
            if dynamic && !self.member_id.is_empty() {
                let req = LeaveGroupRequest {
                    group_id: self.group_id.clone().into(),
                    member_id: self.member_id.clone().into(),
                    members: vec![MemberIdentity {
                        member_id: self.member_id.clone().into(),
                        reason: Some("the consumer is being closed".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                self.leaving = false;
                return Some((Pending::Leave, GroupRequest::LeaveGroup(req), None));
            }
            // KIP-345: a static member does not leave on close, so that a restart within the
            // session timeout gets its partitions back without a rebalance.
            self.leaving = false;
            self.finish_left();
            return None;
        }
        if self.left {
            return None;
        }
        // A stable member asked to rejoin goes back to NeedJoin.
        if matches!(self.classic().phase, Phase::Stable) && self.classic().rejoin_reason.is_some() {
            self.classic().phase = Phase::NeedJoin;
        }
        match self.classic().phase {
            Phase::NeedJoin => {
                if now < self.classic().next_join
                    || self.revoking.is_some()
                    || self.commits_pending()
                {
                    return None;
                }
                if self.topics.is_empty() {
                    return None;
                }
                // Eager (KIP-429's "before"): give up everything before joining.
                if self.protocol() == RebalanceProtocol::Eager
                    && !self.owned.is_empty()
                    && !self.classic().revoked_for_join
                {
                    self.classic().revoked_for_join = true;
                    let all: Vec<TopicPartition> = self.owned.iter().cloned().collect();
                    self.start_revoke(all);
                    return None;
                }
                let req = self.join_request()?;
                let reason = self.classic().rejoin_reason.take();
                info!(member = %self.member_id, ?reason, "joining group {}", self.group_id);
                self.classic().phase = Phase::Joining;
                // The coordinator holds JoinGroup until the rebalance completes (up to the
                // rebalance timeout): wait that long plus a margin, as Java does.
                let timeout = self.cfg.rebalance_timeout + Duration::from_secs(5);
                Some((Pending::Join, GroupRequest::JoinGroup(req), Some(timeout)))
            }
            Phase::Syncing => {
                let req = self.queued_sync.take()?;
                // Followers wait in SyncGroup until the leader's assignment arrives.
                let timeout = self.cfg.rebalance_timeout + Duration::from_secs(5);
                Some((Pending::Sync, GroupRequest::SyncGroup(req), Some(timeout)))
            }
            Phase::Stable => {
                let c = self.classic();
                if c.heartbeat_in_flight || now < c.next_heartbeat {
                    return None;
                }
                c.heartbeat_in_flight = true;
                let req = HeartbeatRequest {
                    group_id: self.group_id.clone().into(),
                    generation_id: self.generation,
                    member_id: self.member_id.clone().into(),
                    group_instance_id: self.cfg.group_instance_id.as_deref().map(Into::into),
                    ..Default::default()
                };
                Some((Pending::Heartbeat, GroupRequest::Heartbeat(req), None))
            }
            _ => None,
        }
    }

    fn join_request(&mut self) -> Option<JoinGroupRequest> {
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        let mut protocols = Vec::new();
        for a in self.cfg.assignors.clone() {
            let user_data = match a {
                // CooperativeStickyAssignor's user data: the generation (for old leaders).
                AssignorKind::CooperativeSticky => Some(bytes::Bytes::copy_from_slice(
                    &self.generation.to_be_bytes(),
                )),
                _ => None,
            };
            let metadata = match protocol::encode_subscription(
                &self.topics,
                &owned,
                self.generation,
                self.cfg.client_rack.as_deref(),
                user_data,
            ) {
                Ok(m) => m,
                Err(e) => {
                    self.fatal(e);
                    return None;
                }
            };
            protocols.push(JoinGroupRequestProtocol {
                name: a.name().into(),
                metadata,
                ..Default::default()
            });
        }
        Some(JoinGroupRequest {
            group_id: self.group_id.clone().into(),
            session_timeout_ms: self.cfg.session_timeout.as_millis() as i32,
            rebalance_timeout_ms: self.cfg.rebalance_timeout.as_millis() as i32,
            member_id: self.member_id.clone().into(),
            group_instance_id: self.cfg.group_instance_id.as_deref().map(Into::into),
            protocol_type: PROTOCOL_TYPE.into(),
            protocols,
            reason: self.classic_rejoin_reason().map(Into::into),
            ..Default::default()
        })
    }

    fn classic_rejoin_reason(&mut self) -> Option<String> {
        self.classic().rejoin_reason.clone()
    }

    pub(super) fn classic_revocation_done(&mut self, _now: Instant) {}

    pub(super) fn classic_metadata_arrived(&mut self, now: Instant) {
        if let Phase::Assigning { .. } = self.classic().phase {
            self.run_assignor(now);
        }
    }

    pub(super) fn classic_timeout(&mut self, now: Instant) {
        let session = self.cfg.session_timeout;
        let c = self.classic();
        if matches!(c.phase, Phase::Stable)
            && now.saturating_duration_since(c.last_heartbeat_ok) > session
        {
            // Java: "session timed out without receiving a heartbeat response": the
            // coordinator may be gone; find it again (the generation may still be valid).
            c.last_heartbeat_ok = now;
            self.coordinator_unknown(now, "no heartbeat response within the session timeout");
        }
    }

    pub(super) fn classic_failure(&mut self, pending: Pending, now: Instant) {
        let backoff = self.retry_backoff;
        let c = self.classic();
        match pending {
            Pending::Join | Pending::Sync => {
                c.phase = Phase::NeedJoin;
                c.next_join = now + backoff;
                c.rejoin_reason.get_or_insert_with(|| "join failed".into());
            }
            Pending::Heartbeat => {
                c.heartbeat_in_flight = false;
                c.next_heartbeat = now + backoff;
            }
            _ => {}
        }
    }

    /// Resets membership after a fencing error (Java `resetStateAndRejoin`): the partitions
    /// are lost; UNKNOWN_MEMBER_ID also forgets the member id.
    pub(super) fn classic_reset(&mut self, code: ErrorCode, now: Instant) {
        if code == ErrorCode::UNKNOWN_MEMBER_ID {
            self.member_id.clear();
        }
        self.generation = -1;
        self.lose_all(&format!("{code}"));
        let c = self.classic();
        c.phase = Phase::NeedJoin;
        c.next_join = now;
        c.heartbeat_in_flight = false;
        c.revoked_for_join = false;
        c.rejoin_reason = Some(format!("{code}"));
    }

    pub(super) fn classic_join_response(&mut self, r: JoinGroupResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        let backoff = self.retry_backoff;
        match code {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                // KIP-394: the coordinator hands out the member id first; join again with it
                // at once.
                self.member_id = r.member_id.to_string();
                let c = self.classic();
                c.phase = Phase::NeedJoin;
                c.next_join = now;
                c.rejoin_reason = Some("member id required".into());
                return;
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                self.classic_reset(code, now);
                return;
            }
            c if Self::is_coordinator_error(c) => {
                self.coordinator_unknown(now, "join: coordinator moved");
                let c = self.classic();
                c.phase = Phase::NeedJoin;
                c.next_join = now + backoff;
                c.rejoin_reason = Some("coordinator moved".into());
                return;
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::REBALANCE_IN_PROGRESS => {
                let c = self.classic();
                c.phase = Phase::NeedJoin;
                c.next_join = now + backoff;
                c.rejoin_reason = Some(format!("{code}"));
                return;
            }
            ErrorCode::FENCED_INSTANCE_ID => {
                self.fatal(ConsumerError::Fenced(format!(
                    "group.instance.id {:?} is in use by another member",
                    self.cfg.group_instance_id
                )));
                return;
            }
            other => {
                // INCONSISTENT_GROUP_PROTOCOL (no common assignor), INVALID_SESSION_TIMEOUT,
                // GROUP_MAX_SIZE_REACHED, authorization: retrying cannot help.
                self.fatal(ConsumerError::broker(
                    other,
                    None,
                    format!("join group {}", self.group_id),
                ));
                return;
            }
        }
        self.member_id = r.member_id.to_string();
        self.generation = r.generation_id;
        let leader = r.leader == r.member_id;
        info!(generation = r.generation_id, member = %r.member_id, leader, protocol = ?r.protocol_name, "joined group");
        self.events.push_back(GroupEvent::Joined {
            generation: r.generation_id,
            member_id: r.member_id.to_string(),
            leader,
        });
        self.classic().protocol_name = r.protocol_name.as_deref().map(Into::into);
        self.classic().revoked_for_join = false;
        if leader && !r.skip_assignment {
            let Some(assignor) = r.protocol_name.as_deref().and_then(AssignorKind::parse) else {
                self.fatal(ConsumerError::Protocol(format!(
                    "coordinator chose assignor {:?}, which this member did not offer",
                    r.protocol_name
                )));
                return;
            };
            let mut members = Vec::new();
            for m in &r.members {
                match protocol::decode_subscription(
                    &m.member_id,
                    m.group_instance_id.as_deref(),
                    &m.metadata,
                ) {
                    Ok(s) => members.push(s),
                    Err(e) => {
                        self.fatal(e);
                        return;
                    }
                }
            }
            let needed: BTreeSet<String> = members
                .iter()
                .flat_map(|m| m.topics.iter().cloned())
                .collect();
            self.classic().phase = Phase::Assigning { assignor, members };
            if needed.iter().all(|t| self.partition_counts.contains_key(t)) {
                self.run_assignor(now);
            } else {
                self.events.push_back(GroupEvent::NeedMetadata(needed));
            }
        } else {
            self.send_sync(Vec::new());
        }
    }

    fn run_assignor(&mut self, _now: Instant) {
        let Phase::Assigning { assignor, members } =
            std::mem::replace(&mut self.classic().phase, Phase::Syncing)
        else {
            return;
        };
        let needed: BTreeSet<&String> = members.iter().flat_map(|m| &m.topics).collect();
        let counts: BTreeMap<String, i32> = self
            .partition_counts
            .iter()
            .filter(|(t, _)| needed.contains(t))
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        let assignment = assignor.assign(&counts, &members);
        debug!(
            assignor = assignor.name(),
            members = members.len(),
            "leader computed assignment"
        );
        let mut out = Vec::new();
        for (member, parts) in assignment {
            match protocol::encode_assignment(&parts, None) {
                Ok(bytes) => out.push(SyncGroupRequestAssignment {
                    member_id: member.into(),
                    assignment: bytes,
                    ..Default::default()
                }),
                Err(e) => {
                    self.fatal(e);
                    return;
                }
            }
        }
        self.send_sync(out);
    }

    /// Queues SyncGroup; it goes out from `poll_request` (as a pending outgoing request).
    fn send_sync(&mut self, assignments: Vec<SyncGroupRequestAssignment>) {
        let req = SyncGroupRequest {
            group_id: self.group_id.clone().into(),
            generation_id: self.generation,
            member_id: self.member_id.clone().into(),
            group_instance_id: self.cfg.group_instance_id.as_deref().map(Into::into),
            protocol_type: Some(PROTOCOL_TYPE.into()),
            protocol_name: self.classic().protocol_name.as_deref().map(Into::into),
            assignments,
            ..Default::default()
        };
        self.classic().phase = Phase::Syncing;
        self.queued_sync = Some(req);
    }

    pub(super) fn classic_sync_response(&mut self, r: SyncGroupResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        let backoff = self.retry_backoff;
        match code {
            ErrorCode::NONE => {}
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                self.classic_reset(code, now);
                return;
            }
            c if Self::is_coordinator_error(c) || c == ErrorCode::REBALANCE_IN_PROGRESS => {
                if c != ErrorCode::REBALANCE_IN_PROGRESS {
                    self.coordinator_unknown(now, "sync: coordinator moved");
                }
                let c = self.classic();
                c.phase = Phase::NeedJoin;
                c.next_join = now
                    + if code == ErrorCode::REBALANCE_IN_PROGRESS {
                        Duration::ZERO
                    } else {
                        backoff
                    };
                c.rejoin_reason = Some(format!("sync: {code}"));
                return;
            }
            ErrorCode::FENCED_INSTANCE_ID => {
                self.fatal(ConsumerError::Fenced(format!(
                    "group.instance.id {:?} is in use by another member",
                    self.cfg.group_instance_id
                )));
                return;
            }
            other => {
                self.fatal(ConsumerError::broker(
                    other,
                    None,
                    format!("sync group {}", self.group_id),
                ));
                return;
            }
        }
        let assigned = match protocol::decode_assignment(&r.assignment) {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "undecodable assignment, rejoining");
                let c = self.classic();
                c.phase = Phase::NeedJoin;
                c.next_join = now + backoff;
                c.rejoin_reason = Some("bad assignment".into());
                return;
            }
        };
        let assigned_set: BTreeSet<TopicPartition> = assigned.iter().cloned().collect();
        let revoked: Vec<TopicPartition> = self
            .owned
            .iter()
            .filter(|tp| !assigned_set.contains(*tp))
            .cloned()
            .collect();
        let added: Vec<TopicPartition> = assigned
            .iter()
            .filter(|tp| !self.owned.contains(*tp))
            .cloned()
            .collect();
        info!(
            generation = self.generation,
            assigned = assigned.len(),
            added = added.len(),
            revoked = revoked.len(),
            "assignment received"
        );
        {
            let c = self.classic();
            c.phase = Phase::Stable;
            c.heartbeat_in_flight = false;
            c.last_heartbeat_ok = now;
            c.next_heartbeat = now + Duration::ZERO;
        }
        self.classic().next_heartbeat = now + self.cfg.heartbeat_interval;
        self.add_assigned(added);
        if !revoked.is_empty() {
            // KIP-429: revoke what moved away, then rejoin so that the new owners get it.
            self.start_revoke(revoked);
            self.classic()
                .request_rejoin("partitions revoked (cooperative)");
        }
    }

    pub(super) fn classic_heartbeat_response(&mut self, r: HeartbeatResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        let interval = self.cfg.heartbeat_interval;
        let backoff = self.retry_backoff;
        {
            let c = self.classic();
            c.heartbeat_in_flight = false;
            c.next_heartbeat = now + interval;
        }
        match code {
            ErrorCode::NONE => self.classic().last_heartbeat_ok = now,
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.classic().last_heartbeat_ok = now;
                if matches!(self.classic().phase, Phase::Stable) {
                    self.classic().request_rejoin("the group is rebalancing");
                }
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                self.classic_reset(code, now)
            }
            ErrorCode::FENCED_INSTANCE_ID => self.fatal(ConsumerError::Fenced(format!(
                "group.instance.id {:?} is in use by another member",
                self.cfg.group_instance_id
            ))),
            c if Self::is_coordinator_error(c) => {
                self.coordinator_unknown(now, "heartbeat: coordinator moved");
                self.classic().next_heartbeat = now + backoff;
            }
            other => {
                debug!(%other, "heartbeat error, retrying");
                self.classic().next_heartbeat = now + backoff;
            }
        }
    }
}
