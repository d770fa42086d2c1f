//! Incremental fetch sessions (KIP-227), one per broker.
//!
//! The first request of a session is a full fetch (session id 0, epoch 0) listing every
//! partition; the broker answers with a session id. Later requests carry the id and the next
//! epoch and list only what changed: partitions added or whose fetch offset, size or leader
//! epoch changed, plus `forgotten_topics_data` for partitions removed. The broker answers with
//! only the partitions that have news. Any mismatch falls back to a full fetch, as the Java
//! `FetchSessionHandler` does.

use std::collections::BTreeMap;

use kafka_protocol::codec::Uuid;
use kafka_protocol::ErrorCode;
use tracing::debug;

use crate::consumer::types::TopicPartition;

/// `INVALID_SESSION_ID`: no session.
const NO_SESSION: i32 = 0;
/// `INITIAL_EPOCH`: a full request that creates a session (and closes the one it names).
const INITIAL_EPOCH: i32 = 0;

/// What the broker holds for one partition of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionPartition {
    pub(crate) topic_id: Uuid,
    pub(crate) fetch_offset: i64,
    pub(crate) max_bytes: i32,
    pub(crate) current_leader_epoch: i32,
}

/// The session part of one fetch request.
#[derive(Debug, Clone)]
pub(crate) struct SessionRequest {
    pub(crate) session_id: i32,
    pub(crate) epoch: i32,
    /// Partitions to list in the request.
    pub(crate) send: Vec<(TopicPartition, SessionPartition)>,
    /// Partitions to drop from the session, with the topic id they were added under.
    pub(crate) forget: Vec<(TopicPartition, Uuid)>,
    /// The session's partitions once the request succeeds.
    next: BTreeMap<TopicPartition, SessionPartition>,
}

impl SessionRequest {
    /// The session's partitions once this request succeeds: everything fetched from the broker.
    pub(crate) fn wanted(&self) -> impl Iterator<Item = (&TopicPartition, &SessionPartition)> {
        self.next.iter()
    }

    /// Whether this is a full request (the response lists every partition).
    pub(crate) fn is_full(&self) -> bool {
        self.epoch == INITIAL_EPOCH
    }
}

/// One broker's fetch session, as the client sees it.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    id: i32,
    /// The epoch of the next request.
    epoch: i32,
    partitions: BTreeMap<TopicPartition, SessionPartition>,
}

/// KIP-227: epochs count up from 1 and wrap to 1, never back to 0 (which means "new session").
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

impl FetchSession {
    /// The session id (0 when none).
    #[cfg(test)]
    pub(crate) fn id(&self) -> i32 {
        self.id
    }

    /// Builds the session part of the next request for the partitions wanted now.
    pub(crate) fn build(
        &self,
        wanted: BTreeMap<TopicPartition, SessionPartition>,
    ) -> SessionRequest {
        let id_changed = wanted.iter().any(|(tp, p)| {
            self.partitions
                .get(tp)
                .is_some_and(|old| old.topic_id != p.topic_id)
        });
        if self.id == NO_SESSION || self.epoch == INITIAL_EPOCH || id_changed {
            // A topic recreated under a new id cannot be swapped within the session (forget and
            // add of one name in one request would drop it): start over with a full request.
            return SessionRequest {
                session_id: self.id,
                epoch: INITIAL_EPOCH,
                send: wanted.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                forget: Vec::new(),
                next: wanted,
            };
        }
        let send = wanted
            .iter()
            .filter(|(tp, p)| self.partitions.get(*tp) != Some(*p))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let forget = self
            .partitions
            .iter()
            .filter(|(tp, _)| !wanted.contains_key(*tp))
            .map(|(tp, p)| (tp.clone(), p.topic_id))
            .collect();
        SessionRequest {
            session_id: self.id,
            epoch: self.epoch,
            send,
            forget,
            next: wanted,
        }
    }

    /// Takes the response's top-level error and session id. Returns whether the partition data
    /// of the response may be used.
    pub(crate) fn handle_response(
        &mut self,
        sent: SessionRequest,
        error: ErrorCode,
        session_id: i32,
    ) -> bool {
        if error != ErrorCode::NONE {
            debug!(session = self.id, %error, "fetch session error");
            if error == ErrorCode::FETCH_SESSION_ID_NOT_FOUND {
                // The broker evicted the session: start a new one from scratch.
                self.id = NO_SESSION;
            }
            // Any other error (INVALID_FETCH_SESSION_EPOCH included): close the session and
            // create a new one with the next full request (Java `nextCloseExistingAttemptNew`).
            self.epoch = INITIAL_EPOCH;
            self.partitions.clear();
            return false;
        }
        if session_id == NO_SESSION {
            // The broker keeps no session for us (cache full, or it closed it): full requests.
            self.id = NO_SESSION;
            self.epoch = INITIAL_EPOCH;
            self.partitions.clear();
            return true;
        }
        if sent.is_full() {
            self.id = session_id;
            self.epoch = next_epoch(INITIAL_EPOCH);
        } else {
            self.epoch = next_epoch(self.epoch);
        }
        self.partitions = sent.next;
        true
    }

    /// The request failed without a response: the broker may or may not have applied it, so
    /// the next request is full (closing this session).
    pub(crate) fn handle_failure(&mut self) {
        self.epoch = INITIAL_EPOCH;
        self.partitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(offset: i64) -> SessionPartition {
        SessionPartition {
            topic_id: Uuid::ZERO,
            fetch_offset: offset,
            max_bytes: 100,
            current_leader_epoch: 0,
        }
    }

    fn want(list: &[(i32, i64)]) -> BTreeMap<TopicPartition, SessionPartition> {
        list.iter()
            .map(|&(p, o)| (TopicPartition::new("t", p), sp(o)))
            .collect()
    }

    #[test]
    fn full_then_incremental_with_adds_changes_and_forgets() {
        let mut s = FetchSession::default();
        let r = s.build(want(&[(0, 0), (1, 0)]));
        assert!(r.is_full());
        assert_eq!((r.session_id, r.epoch, r.send.len()), (0, 0, 2));
        assert!(s.handle_response(r, ErrorCode::NONE, 77));
        assert_eq!(s.id(), 77);

        // p0 moved on, p1 unchanged, p2 added.
        let r = s.build(want(&[(0, 5), (1, 0), (2, 0)]));
        assert!(!r.is_full());
        assert_eq!((r.session_id, r.epoch), (77, 1));
        let sent: Vec<i32> = r.send.iter().map(|(tp, _)| tp.partition).collect();
        assert_eq!(sent, vec![0, 2]);
        assert!(r.forget.is_empty());
        assert!(s.handle_response(r, ErrorCode::NONE, 77));

        // p1 removed (paused, or has buffered data).
        let r = s.build(want(&[(0, 5), (2, 0)]));
        assert_eq!(r.epoch, 2);
        assert!(r.send.is_empty());
        assert_eq!(r.forget.len(), 1);
        assert_eq!(r.forget[0].0.partition, 1);
    }

    #[test]
    fn session_errors_fall_back_to_full_fetches() {
        let mut s = FetchSession::default();
        let r = s.build(want(&[(0, 0)]));
        s.handle_response(r, ErrorCode::NONE, 9);
        let r = s.build(want(&[(0, 1)]));
        assert!(!s.handle_response(r, ErrorCode::INVALID_FETCH_SESSION_EPOCH, 0));
        let r = s.build(want(&[(0, 1)]));
        // Same id with epoch 0: close session 9 and open a new one.
        assert_eq!((r.session_id, r.epoch, r.send.len()), (9, 0, 1));
        assert!(!s.handle_response(r, ErrorCode::FETCH_SESSION_ID_NOT_FOUND, 0));
        let r = s.build(want(&[(0, 1)]));
        assert_eq!((r.session_id, r.epoch), (0, 0));
        // The broker declines to create a session: keep sending full requests.
        assert!(s.handle_response(r, ErrorCode::NONE, 0));
        assert!(s.build(want(&[(0, 1)])).is_full());
        // A lost request makes the next one full.
        let r = s.build(want(&[(0, 1)]));
        s.handle_response(r, ErrorCode::NONE, 5);
        assert!(!s.build(want(&[(0, 1)])).is_full());
        s.handle_failure();
        assert!(s.build(want(&[(0, 1)])).is_full());
    }

    #[test]
    fn epochs_wrap_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
