//! The consumer group protocol of KIP-848: one ConsumerGroupHeartbeat carries the
//! subscription and what the member owns; the broker answers with the member epoch and the
//! target assignment (topic ids), which the member reconciles: revoke what it must give up
//! (after committing), take what is new, then acknowledge with its owned partitions in the
//! next heartbeat (Java's `ConsumerMembershipManager`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::generated::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::ErrorCode;
use tracing::{debug, info};

use super::{GroupEvent, GroupMember, GroupRequest, Pending, Proto};
use crate::consumer::error::ConsumerError;
use crate::consumer::types::TopicPartition;

/// KIP-848: member epoch of a dynamic member leaving the group.
const LEAVE_EPOCH: i32 = -1;
/// KIP-848: member epoch of a static member leaving temporarily (keeps its assignment for the
/// session timeout).
const LEAVE_STATIC_EPOCH: i32 = -2;

/// Consumer-protocol state.
#[derive(Debug)]
pub struct Kip848State {
    heartbeat_in_flight: bool,
    next_heartbeat: Instant,
    interval: Duration,
    /// Send every field (joining, or after a failure the broker may not have seen).
    send_all: bool,
    sent_topics: Option<Vec<String>>,
    sent_owned: Option<BTreeSet<TopicPartition>>,
    /// The latest target assignment from the broker, by topic id.
    target: Option<BTreeMap<Uuid, Vec<i32>>>,
    /// Topic ids of owned partitions' topics (to report ownership by id).
    ids: HashMap<Arc<str>, Uuid>,
    leave_sent: bool,
}

impl Kip848State {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            heartbeat_in_flight: false,
            next_heartbeat: now,
            interval: Duration::from_secs(5),
            send_all: true,
            sent_topics: None,
            sent_owned: None,
            target: None,
            ids: HashMap::new(),
            leave_sent: false,
        }
    }

    pub(super) fn is_stable(&self) -> bool {
        !self.send_all && self.target.is_none()
    }

    pub(super) fn subscription_changed(&mut self) {
        // Heartbeat at once with the new subscription.
        self.next_heartbeat = Instant::now();
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        (!self.heartbeat_in_flight).then_some(self.next_heartbeat)
    }
}

impl GroupMember {
    fn kip848(&mut self) -> &mut Kip848State {
        match &mut self.proto {
            Proto::Consumer(k) => k,
            Proto::Classic(_) => unreachable!("consumer-protocol state of a classic member"),
        }
    }

    pub(super) fn kip848_poll(
        &mut self,
        now: Instant,
    ) -> Option<(Pending, GroupRequest, Option<Duration>)> {
        if self.kip848().heartbeat_in_flight {
            return None;
        }
        if self.leaving {
            if self.revoking.is_some() || self.commits_pending() || self.kip848().leave_sent {
                return None;
            }
            if self.generation <= 0 {
                // Never joined: nothing to leave.
                self.leaving = false;
                self.finish_left();
                return None;
            }
            let epoch = if self.cfg.group_instance_id.is_some() {
                LEAVE_STATIC_EPOCH
            } else {
                LEAVE_EPOCH
            };
            let req = ConsumerGroupHeartbeatRequest {
                group_id: self.group_id.clone().into(),
                member_id: self.member_id.clone().into(),
                member_epoch: epoch,
                instance_id: self.cfg.group_instance_id.as_deref().map(Into::into),
                ..Default::default()
            };
            let k = self.kip848();
            k.leave_sent = true;
            k.heartbeat_in_flight = true;
            return Some((
                Pending::ConsumerHeartbeat,
                GroupRequest::ConsumerGroupHeartbeat(req),
                None,
            ));
        }
        if self.topics.is_empty() && self.generation <= 0 {
            return None;
        }
        let owned_changed = self.kip848_owned_changed();
        let k = self.kip848();
        if now < k.next_heartbeat && !owned_changed && !k.send_all {
            return None;
        }
        let send_all = k.send_all;
        let mut req = ConsumerGroupHeartbeatRequest {
            group_id: self.group_id.clone().into(),
            member_id: self.member_id.clone().into(),
            member_epoch: self.generation.max(0),
            instance_id: self.cfg.group_instance_id.as_deref().map(Into::into),
            ..Default::default()
        };
        if send_all {
            req.rebalance_timeout_ms = self.cfg.rebalance_timeout.as_millis() as i32;
            req.rack_id = self.cfg.client_rack.as_deref().map(Into::into);
            req.server_assignor = self.cfg.remote_assignor.as_deref().map(Into::into);
        }
        let topics_changed = match &self.proto {
            Proto::Consumer(k) => k.sent_topics.as_ref() != Some(&self.topics),
            Proto::Classic(_) => false,
        };
        if send_all || topics_changed {
            req.subscribed_topic_names = Some(self.topics.iter().map(Into::into).collect());
            let topics = self.topics.clone();
            self.kip848().sent_topics = Some(topics);
        }
        if send_all || owned_changed {
            let mut by_id: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            let owned = self.owned.clone();
            for tp in &owned {
                if let Some(id) = self.kip848().ids.get(&tp.topic) {
                    by_id.entry(*id).or_default().push(tp.partition);
                }
            }
            req.topic_partitions = Some(
                by_id
                    .into_iter()
                    .map(|(topic_id, partitions)| TopicPartitions {
                        topic_id,
                        partitions: partitions.into(),
                        ..Default::default()
                    })
                    .collect(),
            );
            self.kip848().sent_owned = Some(owned);
        }
        let k = self.kip848();
        k.heartbeat_in_flight = true;
        k.next_heartbeat = now + k.interval;
        Some((
            Pending::ConsumerHeartbeat,
            GroupRequest::ConsumerGroupHeartbeat(req),
            None,
        ))
    }

    fn kip848_owned_changed(&mut self) -> bool {
        // Acknowledge only settled ownership: not while a revocation is in the application's
        // hands.
        if self.revoking.is_some() {
            return false;
        }
        let owned = self.owned.clone();
        self.kip848().sent_owned.as_ref() != Some(&owned)
    }

    pub(super) fn kip848_failure(&mut self, now: Instant) {
        let backoff = self.retry_backoff;
        let k = self.kip848();
        k.heartbeat_in_flight = false;
        k.next_heartbeat = now + backoff;
        // The broker may not have seen what we sent: send everything next time.
        k.sent_topics = None;
        k.sent_owned = None;
        if k.leave_sent {
            self.finish_left();
        }
    }

    /// UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH: release everything as lost and rejoin with
    /// epoch 0 (KIP-848), keeping the member id.
    pub(super) fn kip848_fenced(&mut self, code: ErrorCode, now: Instant) {
        info!(%code, "fenced, rejoining with epoch 0");
        self.lose_all(&format!("{code}"));
        self.generation = 0;
        let k = self.kip848();
        k.send_all = true;
        k.target = None;
        k.sent_owned = None;
        k.sent_topics = None;
        k.next_heartbeat = now;
    }

    pub(super) fn kip848_heartbeat_response(
        &mut self,
        r: ConsumerGroupHeartbeatResponse,
        now: Instant,
    ) {
        let backoff = self.retry_backoff;
        self.kip848().heartbeat_in_flight = false;
        if self.kip848().leave_sent {
            self.finish_left();
            return;
        }
        let code = ErrorCode(r.error_code);
        match code {
            ErrorCode::NONE => {}
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::FENCED_MEMBER_EPOCH => {
                self.kip848_fenced(code, now);
                return;
            }
            c if Self::is_coordinator_error(c) => {
                self.coordinator_unknown(now, "heartbeat: coordinator moved");
                self.kip848().next_heartbeat = now + backoff;
                self.kip848().send_all |= self.generation <= 0;
                return;
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                self.kip848().next_heartbeat = now + backoff;
                return;
            }
            ErrorCode::UNRELEASED_INSTANCE_ID | ErrorCode::FENCED_INSTANCE_ID => {
                self.fatal(ConsumerError::Fenced(format!(
                    "group.instance.id {:?}: {code}{}",
                    self.cfg.group_instance_id,
                    r.error_message
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )));
                return;
            }
            other => {
                // UNSUPPORTED_VERSION (broker without KIP-848), UNSUPPORTED_ASSIGNOR,
                // GROUP_MAX_SIZE_REACHED, INVALID_REQUEST, authorization.
                self.fatal(ConsumerError::broker(
                    other,
                    r.error_message.map(Into::into),
                    format!("consumer group heartbeat of group {}", self.group_id),
                ));
                return;
            }
        }
        if let Some(id) = r.member_id.filter(|m| !m.is_empty()) {
            self.member_id = id.to_string();
        }
        let new_epoch = r.member_epoch;
        if new_epoch != self.generation {
            debug!(epoch = new_epoch, "member epoch");
            self.events.push_back(GroupEvent::Joined {
                generation: new_epoch,
                member_id: self.member_id.clone(),
                leader: false,
            });
        }
        self.generation = new_epoch;
        let k = self.kip848();
        k.send_all = false;
        if r.heartbeat_interval_ms > 0 {
            k.interval = Duration::from_millis(r.heartbeat_interval_ms as u64);
            k.next_heartbeat = now + k.interval;
        }
        if let Some(a) = r.assignment {
            let mut target: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            for t in a.topic_partitions {
                target.entry(t.topic_id).or_default().extend(t.partitions);
            }
            k.target = Some(target);
        }
        self.kip848_reconcile();
    }

    /// Moves the owned partitions toward the target: revoke first, then add.
    fn kip848_reconcile(&mut self) {
        if self.revoking.is_some() {
            return;
        }
        let Some(target) = self.kip848().target.clone() else {
            return;
        };
        let mut wanted: BTreeSet<TopicPartition> = BTreeSet::new();
        let mut unresolved = false;
        for (id, parts) in &target {
            match self.topic_names.get(id) {
                Some(name) => {
                    let name: Arc<str> = name.as_str().into();
                    self.kip848().ids.insert(name.clone(), *id);
                    wanted.extend(parts.iter().map(|&p| TopicPartition::new(name.clone(), p)));
                }
                None => unresolved = true,
            }
        }
        if unresolved {
            debug!("assignment names unknown topic ids, asking for metadata");
            let topics: BTreeSet<String> = self.topics.iter().cloned().collect();
            self.events.push_back(GroupEvent::NeedMetadata(topics));
        }
        let revoke: Vec<TopicPartition> = self
            .owned
            .iter()
            .filter(|tp| !wanted.contains(*tp))
            .cloned()
            .collect();
        if !revoke.is_empty() {
            self.start_revoke(revoke);
            return;
        }
        let add: Vec<TopicPartition> = wanted
            .iter()
            .filter(|tp| !self.owned.contains(*tp))
            .cloned()
            .collect();
        if !add.is_empty() {
            info!(epoch = self.generation, added = add.len(), "assignment");
        }
        self.add_assigned(add);
        if !unresolved {
            self.kip848().target = None;
        }
    }

    pub(super) fn kip848_revocation_done(&mut self, _now: Instant) {
        self.kip848_reconcile();
    }

    pub(super) fn kip848_metadata_arrived(&mut self, _now: Instant) {
        self.kip848_reconcile();
    }
}
