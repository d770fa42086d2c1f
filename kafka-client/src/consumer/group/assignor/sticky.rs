//! The `cooperative-sticky` assignor (Java `CooperativeStickyAssignor` over
//! `AbstractStickyAssignor`, without rack awareness).
//!
//! When every member subscribes to the same topics (the usual case) this is a faithful port of
//! Java's "constrained" algorithm, iteration orders included, so that a Java leader and ours
//! hand out the same partitions: members keep their owned partitions up to the quota, the rest
//! is dealt round-robin to members below quota in member-id order. When subscriptions differ,
//! Java runs a general balancing algorithm whose tie-breaks follow hash-set iteration orders;
//! ours (documented in `general`) is balanced and sticky too but may break ties differently.
//!
//! Cooperative (KIP-429): a partition that moves from one member to another is left out of
//! this round's assignment; its old owner revokes it and rejoins, and the next rebalance hands
//! it to the new owner.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::java_order::hash_map_order;
use super::{java_cmp, MemberSubscription};
use crate::consumer::types::TopicPartition;

/// `AbstractStickyAssignor.DEFAULT_GENERATION`.
const DEFAULT_GENERATION: i32 = -1;

/// `CooperativeStickyAssignor.memberData`: the generation comes from the subscription (v2+)
/// or else from the user data, an int32 the assignor writes.
fn member_generation(m: &MemberSubscription) -> Option<i32> {
    if let Some(g) = m.generation {
        return Some(g);
    }
    let data = m.user_data.as_ref()?;
    Some(match data.get(..4) {
        Some(b) => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => DEFAULT_GENERATION,
    })
}

pub(super) fn assign_cooperative(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<TopicPartition>> {
    let ppt: BTreeMap<&str, i32> = partitions_per_topic
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(t, &n)| (t.as_str(), n))
        .collect();
    let mut out: BTreeMap<String, Vec<TopicPartition>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    if members.is_empty() {
        return out;
    }
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    // Java iterates its HashMap of subscriptions.
    let order = hash_map_order(&ids);

    // `allSubscriptionsEqual`: also resolves partitions claimed by several members.
    let mut equal = true;
    let mut first: Option<HashSet<&str>> = None;
    let mut owned: Vec<Vec<TopicPartition>> = vec![Vec::new(); members.len()];
    let mut prev_owner: HashMap<TopicPartition, usize> = HashMap::new();
    let mut multiple: HashSet<TopicPartition> = HashSet::new();
    for &i in &order {
        let m = &members[i];
        let topics: HashSet<&str> = m.topics.iter().map(String::as_str).collect();
        match &first {
            Some(f) if f.is_empty() => first = Some(topics),
            None => first = Some(topics),
            Some(f) => {
                if equal && !(m.topics.len() == f.len() && topics.is_subset(f)) {
                    equal = false;
                }
            }
        }
        let generation = member_generation(m).unwrap_or(DEFAULT_GENERATION);
        for tp in &m.owned_partitions {
            if !ppt.contains_key(&*tp.topic) {
                continue;
            }
            match prev_owner.get(tp).copied() {
                None => {
                    owned[i].push(tp.clone());
                    prev_owner.insert(tp.clone(), i);
                }
                Some(other) => {
                    // Java compares with the other member's subscription generation.
                    let other_gen = members[other].generation.unwrap_or(DEFAULT_GENERATION);
                    if generation == other_gen {
                        // Claimed twice in one generation: nobody keeps it.
                        multiple.insert(tp.clone());
                        remove_first(&mut owned[other], tp);
                        prev_owner.insert(tp.clone(), i);
                    } else if generation > other_gen {
                        owned[i].push(tp.clone());
                        remove_first(&mut owned[other], tp);
                        prev_owner.insert(tp.clone(), i);
                    }
                }
            }
        }
    }

    let (assignment, transferring) = if equal {
        constrained(&ppt, members, &order, &owned, &multiple)
    } else {
        let a = general(&ppt, members, &owned);
        let t = transferring_by_diff(members, &a);
        (a, t)
    };
    for (i, mut parts) in assignment.into_iter().enumerate() {
        parts.retain(|tp| transferring.get(tp) != Some(&i));
        if let Some(list) = out.get_mut(&members[i].member_id) {
            *list = parts;
        }
    }
    out
}

fn remove_first(list: &mut Vec<TopicPartition>, tp: &TopicPartition) {
    if let Some(pos) = list.iter().position(|x| x == tp) {
        list.remove(pos);
    }
}

fn all_partitions(ppt: &BTreeMap<&str, i32>) -> Vec<TopicPartition> {
    // Java sorts topic names (String order; equal to byte order for the names Kafka allows).
    let mut out = Vec::new();
    for (&topic, &n) in ppt {
        let name: Arc<str> = topic.into();
        out.extend((0..n).map(|p| TopicPartition::new(name.clone(), p)));
    }
    out
}

/// Java `ConstrainedAssignmentBuilder.build` (no racks). Returns the assignment per member
/// index and the partitions transferring ownership (partition → new owner).
fn constrained(
    ppt: &BTreeMap<&str, i32>,
    members: &[MemberSubscription],
    order: &[usize],
    owned: &[Vec<TopicPartition>],
    multiple: &HashSet<TopicPartition>,
) -> (Vec<Vec<TopicPartition>>, HashMap<TopicPartition, usize>) {
    let n = members.len();
    let total: usize = ppt.values().map(|&c| c as usize).sum();
    let min_quota = total / n;
    let max_quota = total.div_ceil(n);
    let expected_over = total % n;
    let mut current_over = 0usize;
    let mut assignment: Vec<Vec<TopicPartition>> = vec![Vec::new(); n];
    let mut maybe_revoked: HashMap<TopicPartition, usize> = HashMap::new();
    let mut under: Vec<usize> = Vec::new();
    let mut exact: VecDeque<usize> = VecDeque::new();
    let mut assigned: HashSet<TopicPartition> = HashSet::new();

    for &i in order {
        let mut mine = owned[i].clone();
        // Java sorts owned partitions by partition number, then topic.
        mine.sort_by(|a, b| {
            a.partition
                .cmp(&b.partition)
                .then_with(|| java_cmp(&a.topic, &b.topic))
        });
        mine.retain(|tp| !multiple.contains(tp));
        if mine.len() < min_quota {
            assigned.extend(mine.iter().cloned());
            assignment[i].extend(mine);
            under.push(i);
        } else if mine.len() >= max_quota && current_over < expected_over {
            current_over += 1;
            if current_over == expected_over {
                exact.clear();
            }
            for tp in mine.drain(max_quota..) {
                maybe_revoked.insert(tp, i);
            }
            assigned.extend(mine.iter().cloned());
            assignment[i].extend(mine);
        } else {
            for tp in mine.drain(min_quota..) {
                maybe_revoked.insert(tp, i);
            }
            assigned.extend(mine.iter().cloned());
            assignment[i].extend(mine);
            if current_over < expected_over {
                exact.push_back(i);
            }
        }
    }

    let unassigned: Vec<TopicPartition> = all_partitions(ppt)
        .into_iter()
        .filter(|tp| !assigned.contains(tp))
        .collect();
    under.sort_by(|&a, &b| java_cmp(&members[a].member_id, &members[b].member_id));
    exact
        .make_contiguous()
        .sort_by(|&a, &b| java_cmp(&members[a].member_id, &members[b].member_id));

    // `assignRoundRobin`, with Java's iterator over the under-quota list emulated by an index.
    let mut transferring: HashMap<TopicPartition, usize> = HashMap::new();
    let mut it = 0usize;
    for tp in unassigned {
        let consumer = if it < under.len() {
            it += 1;
            under[it - 1]
        } else if under.is_empty() {
            match exact.pop_front() {
                Some(c) => c,
                // Java throws here ("No more unfilled consumers"); quotas make it unreachable.
                None => break,
            }
        } else {
            it = 1;
            under[0]
        };
        assignment[consumer].push(tp.clone());
        if maybe_revoked.get(&tp).is_some_and(|&prev| prev != consumer) || multiple.contains(&tp) {
            transferring.insert(tp, consumer);
        }
        let count = assignment[consumer].len();
        if count == min_quota {
            // `unfilledConsumerIter.remove()`: the consumer just returned by the iterator.
            if it > 0 && under.get(it - 1) == Some(&consumer) {
                under.remove(it - 1);
                it -= 1;
            }
            exact.push_back(consumer);
        }
        // (Java counts members reaching max quota here only to log a sanity check.)
    }
    (assignment, transferring)
}

/// Balanced, sticky assignment when members subscribe to different topics: members keep the
/// owned partitions they still subscribe to, unowned partitions go to the least loaded
/// eligible member (topics with fewest candidates first, as Java orders them), then partitions
/// move from members holding more than one above an eligible member until balanced.
fn general(
    ppt: &BTreeMap<&str, i32>,
    members: &[MemberSubscription],
    owned: &[Vec<TopicPartition>],
) -> Vec<Vec<TopicPartition>> {
    let n = members.len();
    let subscribed: Vec<BTreeSet<&str>> = members
        .iter()
        .map(|m| {
            m.topics
                .iter()
                .map(String::as_str)
                .filter(|t| ppt.contains_key(t))
                .collect()
        })
        .collect();
    let mut assignment: Vec<Vec<TopicPartition>> = vec![Vec::new(); n];
    let mut taken: HashSet<TopicPartition> = HashSet::new();
    for i in 0..n {
        for tp in &owned[i] {
            if subscribed[i].contains(&*tp.topic) && taken.insert(tp.clone()) {
                assignment[i].push(tp.clone());
            }
        }
    }
    let candidates =
        |topic: &str| -> usize { subscribed.iter().filter(|s| s.contains(topic)).count() };
    let mut topics: Vec<&str> = ppt.keys().copied().collect();
    topics.sort_by(|a, b| {
        candidates(a)
            .cmp(&candidates(b))
            .then_with(|| java_cmp(a, b))
    });
    let least_loaded = |assignment: &Vec<Vec<TopicPartition>>, topic: &str| -> Option<usize> {
        (0..n)
            .filter(|&i| subscribed[i].contains(topic))
            .min_by(|&a, &b| {
                assignment[a]
                    .len()
                    .cmp(&assignment[b].len())
                    .then_with(|| java_cmp(&members[a].member_id, &members[b].member_id))
            })
    };
    for topic in &topics {
        let name: Arc<str> = (*topic).into();
        for p in 0..ppt[topic] {
            let tp = TopicPartition::new(name.clone(), p);
            if taken.contains(&tp) {
                continue;
            }
            if let Some(i) = least_loaded(&assignment, topic) {
                assignment[i].push(tp.clone());
                taken.insert(tp);
            }
        }
    }
    // Move partitions from overloaded members; each move lowers the spread, so this ends.
    loop {
        let mut moved = false;
        for from in 0..n {
            let pick = assignment[from]
                .iter()
                .enumerate()
                .rev()
                .find_map(|(k, tp)| {
                    let to = least_loaded(&assignment, &tp.topic)?;
                    (assignment[from].len() > assignment[to].len() + 1).then_some((k, to))
                });
            if let Some((k, to)) = pick {
                let tp = assignment[from].remove(k);
                assignment[to].push(tp);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    assignment
}

/// Java `computePartitionsTransferringOwnership`: partitions added to one member and revoked
/// from another in this assignment.
fn transferring_by_diff(
    members: &[MemberSubscription],
    assignment: &[Vec<TopicPartition>],
) -> HashMap<TopicPartition, usize> {
    let mut added: HashMap<TopicPartition, usize> = HashMap::new();
    let mut revoked: HashSet<TopicPartition> = HashSet::new();
    for (i, m) in members.iter().enumerate() {
        let owned: HashSet<&TopicPartition> = m.owned_partitions.iter().collect();
        let mine: HashSet<&TopicPartition> = assignment[i].iter().collect();
        for tp in &assignment[i] {
            if !owned.contains(tp) {
                added.insert(tp.clone(), i);
            }
        }
        for tp in &m.owned_partitions {
            if !mine.contains(tp) {
                revoked.insert(tp.clone());
            }
        }
    }
    added.retain(|tp, _| revoked.contains(tp));
    added
}
