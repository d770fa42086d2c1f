//! The `roundrobin` assignor (Java `RoundRobinAssignor`): all partitions of all subscribed
//! topics, sorted by topic and partition, dealt to the members in member order, skipping
//! members not subscribed to the partition's topic.

use std::collections::{BTreeMap, BTreeSet};

use super::{empty_assignment, member_order, MemberSubscription};
use crate::consumer::types::TopicPartition;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = empty_assignment(members);
    if members.is_empty() {
        return out;
    }
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    let topics: BTreeSet<&String> = members.iter().flat_map(|m| &m.topics).collect();
    let mut next = 0usize;
    for topic in topics {
        let Some(&count) = partitions_per_topic.get(topic) else {
            continue;
        };
        let name: std::sync::Arc<str> = topic.as_str().into();
        for p in 0..count {
            // Some member is subscribed (the topic came from a subscription), so this ends.
            while !sorted[next % sorted.len()].topics.contains(topic) {
                next += 1;
            }
            let m = sorted[next % sorted.len()];
            next += 1;
            if let Some(list) = out.get_mut(&m.member_id) {
                list.push(TopicPartition::new(name.clone(), p));
            }
        }
    }
    out
}
