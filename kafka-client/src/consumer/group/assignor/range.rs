//! The `range` assignor (Java `RangeAssignor`, without rack awareness): for each topic, the
//! members subscribed to it in member order, and the partitions split into consecutive
//! ranges, the first `count % members` members getting one extra.

use std::collections::BTreeMap;

use super::{empty_assignment, member_order, MemberSubscription};
use crate::consumer::types::TopicPartition;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = empty_assignment(members);
    for (topic, &count) in partitions_per_topic {
        if count <= 0 {
            continue;
        }
        let mut subscribed: Vec<&MemberSubscription> = members
            .iter()
            .filter(|m| m.topics.iter().any(|t| t == topic))
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        subscribed.sort_by(|a, b| member_order(a, b));
        let n = subscribed.len() as i32;
        let per = count / n;
        let extra = count % n;
        let topic: std::sync::Arc<str> = topic.as_str().into();
        for (i, m) in subscribed.iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + i32::from(i < extra);
            if let Some(list) = out.get_mut(&m.member_id) {
                list.extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
            }
        }
    }
    out
}
