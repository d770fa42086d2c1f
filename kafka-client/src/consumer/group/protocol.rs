//! The embedded consumer protocol of classic groups: what members put in JoinGroup
//! (`ConsumerProtocolSubscription`) and what the leader hands out in SyncGroup
//! (`ConsumerProtocolAssignment`), each prefixed by an int16 version.
//!
//! We write version 3 (topics sorted, owned partitions sorted, generation, rack), as the Java
//! client 4.x does, and read any version; a version above 3 is read as 3, as Java's
//! `ConsumerProtocol` does for forward compatibility.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::codec::Reader;
use kafka_protocol::generated::{consumer_protocol_assignment, consumer_protocol_subscription};
use kafka_protocol::generated::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::Message;

use super::assignor::MemberSubscription;
use crate::consumer::error::{ConsumerError, Result};
use crate::consumer::types::TopicPartition;

/// The version we write.
pub const VERSION: i16 = 3;

fn encode_prefixed<M: Message>(m: &M, version: i16) -> Result<Bytes> {
    let mut w = BytesMut::new();
    w.put_i16(version);
    m.encode(&mut w, version)
        .map_err(|e| ConsumerError::Codec(e.to_string()))?;
    Ok(w.freeze())
}

fn decode_prefixed<M: Message>(data: &Bytes) -> Result<M> {
    let mut r = Reader::from_bytes(data);
    let version = r
        .i16()
        .map_err(|e| ConsumerError::Codec(format!("{} version: {e}", M::NAME)))?;
    if version < 0 {
        return Err(ConsumerError::Codec(format!(
            "{} version {version} is negative",
            M::NAME
        )));
    }
    // Newer versions only append fields: read what we know, ignore the rest.
    let version = version.min(M::HIGHEST_VERSION);
    M::decode(&mut r, version).map_err(|e| ConsumerError::Codec(format!("{}: {e}", M::NAME)))
}

/// Groups partitions by topic, topics and partitions sorted.
fn by_topic(parts: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in parts {
        m.entry(&tp.topic).or_default().push(tp.partition);
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    m
}

/// Encodes our subscription.
pub fn encode_subscription(
    topics: &[String],
    owned: &[TopicPartition],
    generation: i32,
    rack: Option<&str>,
    user_data: Option<Bytes>,
) -> Result<Bytes> {
    let mut topics = topics.to_vec();
    topics.sort();
    topics.dedup();
    let sub = ConsumerProtocolSubscription {
        topics: topics.into_iter().map(Into::into).collect(),
        user_data,
        owned_partitions: by_topic(owned)
            .into_iter()
            .map(
                |(t, partitions)| consumer_protocol_subscription::TopicPartition {
                    topic: t.into(),
                    partitions: partitions.into(),
                },
            )
            .collect(),
        generation_id: generation,
        rack_id: rack.map(Into::into),
    };
    encode_prefixed(&sub, VERSION)
}

/// Decodes a member's subscription from a JoinGroup response.
pub fn decode_subscription(
    member_id: &str,
    group_instance_id: Option<&str>,
    data: &Bytes,
) -> Result<MemberSubscription> {
    let sub: ConsumerProtocolSubscription = decode_prefixed(data)?;
    let mut owned = Vec::new();
    for t in &sub.owned_partitions {
        let name: Arc<str> = t.topic.as_str().into();
        owned.extend(
            t.partitions
                .iter()
                .map(|&p| TopicPartition::new(name.clone(), p)),
        );
    }
    Ok(MemberSubscription {
        member_id: member_id.to_owned(),
        group_instance_id: group_instance_id.map(str::to_owned),
        topics: sub.topics.into_iter().map(Into::into).collect(),
        owned_partitions: owned,
        // Java: a negative generation means "not sent".
        generation: (sub.generation_id >= 0).then_some(sub.generation_id),
        rack: (sub.rack_id.filter(|r| !r.is_empty())).map(Into::into),
        user_data: sub.user_data,
    })
}

/// Encodes an assignment for SyncGroup.
pub fn encode_assignment(parts: &[TopicPartition], user_data: Option<Bytes>) -> Result<Bytes> {
    let a = ConsumerProtocolAssignment {
        assigned_partitions: by_topic(parts)
            .into_iter()
            .map(
                |(t, partitions)| consumer_protocol_assignment::TopicPartition {
                    topic: t.into(),
                    partitions: partitions.into(),
                },
            )
            .collect(),
        user_data,
    };
    encode_prefixed(&a, VERSION)
}

/// Decodes our assignment from a SyncGroup response (empty bytes: nothing assigned).
pub fn decode_assignment(data: &Bytes) -> Result<Vec<TopicPartition>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let a: ConsumerProtocolAssignment = decode_prefixed(data)?;
    let mut out = Vec::new();
    for t in &a.assigned_partitions {
        let name: Arc<str> = t.topic.as_str().into();
        out.extend(
            t.partitions
                .iter()
                .map(|&p| TopicPartition::new(name.clone(), p)),
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_round_trip_sorted_like_java() {
        let owned = [
            TopicPartition::new("b", 1),
            TopicPartition::new("a", 2),
            TopicPartition::new("b", 0),
        ];
        let data = encode_subscription(
            &["z".into(), "a".into()],
            &owned,
            7,
            Some("r1"),
            Some(Bytes::from_static(&[0, 0, 0, 7])),
        )
        .unwrap();
        assert_eq!(&data[..2], &[0, 3], "version prefix");
        let m = decode_subscription("m1", Some("i1"), &data).unwrap();
        assert_eq!(m.topics, vec!["a", "z"]);
        assert_eq!(
            m.owned_partitions,
            vec![
                TopicPartition::new("a", 2),
                TopicPartition::new("b", 0),
                TopicPartition::new("b", 1)
            ]
        );
        assert_eq!((m.generation, m.rack.as_deref()), (Some(7), Some("r1")));
        assert_eq!(m.group_instance_id.as_deref(), Some("i1"));
    }

    #[test]
    fn version_zero_and_future_versions_decode() {
        // v0: topics and user data only.
        let sub = ConsumerProtocolSubscription {
            topics: vec!["t".into()],
            ..Default::default()
        };
        let mut w = BytesMut::new();
        w.put_i16(0);
        sub.encode(&mut w, 0).unwrap();
        let m = decode_subscription("m", None, &w.freeze()).unwrap();
        assert_eq!(
            (m.topics.clone(), m.generation),
            (vec!["t".to_string()], None)
        );
        // A hypothetical v9 with extra trailing bytes reads as v3.
        let mut data = encode_subscription(&["t".into()], &[], -1, None, None)
            .unwrap()
            .to_vec();
        data[1] = 9;
        data.extend_from_slice(&[1, 2, 3]);
        assert!(decode_subscription("m", None, &Bytes::from(data)).is_ok());
        assert!(decode_subscription("m", None, &Bytes::from_static(&[0])).is_err());
    }

    #[test]
    fn assignment_round_trip_and_empty() {
        let parts = [TopicPartition::new("t", 2), TopicPartition::new("t", 0)];
        let data = encode_assignment(&parts, None).unwrap();
        assert_eq!(
            decode_assignment(&data).unwrap(),
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]
        );
        assert!(decode_assignment(&Bytes::new()).unwrap().is_empty());
    }
}
