//! Client-side partition assignors of the classic group protocol, computing the same
//! assignments as the Java assignors of the same names for the same input, so that our leader
//! and Java members (or a Java leader and our members) agree.
//!
//! The leader runs the assignor over every member's subscription
//! (`ConsumerProtocolSubscription`) and the topics' partition counts; members get their part as
//! a `ConsumerProtocolAssignment`.

mod java_order;
mod range;
mod roundrobin;
mod sticky;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::consumer::types::TopicPartition;

/// The rebalance protocol an assignor supports (KIP-429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Every member gives up all its partitions before rejoining.
    Eager,
    /// Members keep what stays theirs; moved partitions are revoked first, then reassigned in
    /// a follow-up rebalance.
    Cooperative,
}

/// The assignors this client implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignorKind {
    /// `range`: per topic, consecutive ranges of partitions.
    Range,
    /// `roundrobin`: all partitions dealt out in turn.
    RoundRobin,
    /// `cooperative-sticky`: balanced, keeps partitions where they are, cooperative.
    CooperativeSticky,
}

impl AssignorKind {
    /// Parses a protocol name or the Java class name of the assignor.
    pub fn parse(name: &str) -> Option<Self> {
        let short = name.trim().rsplit('.').next().unwrap_or_default();
        match short {
            "range" | "RangeAssignor" => Some(Self::Range),
            "roundrobin" | "RoundRobinAssignor" => Some(Self::RoundRobin),
            "cooperative-sticky" | "CooperativeStickyAssignor" => Some(Self::CooperativeSticky),
            _ => None,
        }
    }

    /// The protocol name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::RoundRobin => "roundrobin",
            Self::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The rebalance protocols the assignor supports.
    pub fn supported_protocols(self) -> &'static [RebalanceProtocol] {
        match self {
            Self::Range | Self::RoundRobin => &[RebalanceProtocol::Eager],
            Self::CooperativeSticky => &[RebalanceProtocol::Cooperative, RebalanceProtocol::Eager],
        }
    }

    /// Runs the assignor.
    pub fn assign(
        self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        // Java's leader only looks up the topics someone subscribes to.
        let subscribed: BTreeMap<String, i32> = partitions_per_topic
            .iter()
            .filter(|(t, _)| members.iter().any(|m| m.topics.contains(t)))
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        let partitions_per_topic = &subscribed;
        match self {
            Self::Range => range::assign(partitions_per_topic, members),
            Self::RoundRobin => roundrobin::assign(partitions_per_topic, members),
            Self::CooperativeSticky => sticky::assign_cooperative(partitions_per_topic, members),
        }
    }
}

/// The rebalance protocol for a list of assignors: the highest one all of them support (as
/// the Java `ConsumerCoordinator` picks it). Java's default list `range, cooperative-sticky`
/// is therefore eager.
pub fn rebalance_protocol(assignors: &[AssignorKind]) -> RebalanceProtocol {
    [RebalanceProtocol::Cooperative, RebalanceProtocol::Eager]
        .into_iter()
        .find(|p| {
            assignors
                .iter()
                .all(|a| a.supported_protocols().contains(p))
        })
        .unwrap_or(RebalanceProtocol::Eager)
}

/// One member's subscription as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberSubscription {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id` (KIP-345): static members sort by it.
    pub group_instance_id: Option<String>,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Partitions it owns now (subscription v1+).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation its owned partitions are from (subscription v2+), if sent.
    pub generation: Option<i32>,
    /// Its rack (subscription v3+).
    pub rack: Option<String>,
    /// Assignor-specific data.
    pub user_data: Option<Bytes>,
}

/// Java `AbstractPartitionAssignor.MemberInfo` order: static members first, by instance id,
/// then dynamic members by member id.
pub(crate) fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_cmp(&a.member_id, &b.member_id),
    }
}

/// Java `String.compareTo`: by UTF-16 code units (differs from byte order only outside the
/// basic multilingual plane).
pub(crate) fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Every member with an (initially empty) list.
fn empty_assignment(members: &[MemberSubscription]) -> BTreeMap<String, Vec<TopicPartition>> {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
