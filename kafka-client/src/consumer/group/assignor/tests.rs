//! Assignor tests: the examples of the Java assignors' documentation and invariants.

use super::*;

pub(crate) fn member(id: &str, topics: &[&str]) -> MemberSubscription {
    MemberSubscription {
        member_id: id.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

fn ppt(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
    list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn show(a: &BTreeMap<String, Vec<TopicPartition>>, id: &str) -> Vec<String> {
    let mut v: Vec<String> = a[id]
        .iter()
        .map(|tp| format!("{}{}", tp.topic, tp.partition))
        .collect();
    v.sort();
    v
}

#[test]
fn range_matches_the_java_documentation() {
    let members = [member("C1", &["t0", "t1"]), member("C0", &["t0", "t1"])];
    let a = AssignorKind::Range.assign(&ppt(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(show(&a, "C0"), ["t00", "t01", "t10", "t11"]);
    assert_eq!(show(&a, "C1"), ["t02", "t12"]);
}

#[test]
fn roundrobin_matches_the_java_documentation() {
    let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
    let a = AssignorKind::RoundRobin.assign(&ppt(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(show(&a, "C0"), ["t00", "t02", "t11"]);
    assert_eq!(show(&a, "C1"), ["t01", "t10", "t12"]);
    // Different subscriptions: C0 t0; C1 t0,t1; C2 t0,t1,t2 (Java javadoc example).
    let members = [
        member("C0", &["t0"]),
        member("C1", &["t0", "t1"]),
        member("C2", &["t0", "t1", "t2"]),
    ];
    let a = AssignorKind::RoundRobin.assign(&ppt(&[("t0", 1), ("t1", 2), ("t2", 3)]), &members);
    assert_eq!(show(&a, "C0"), ["t00"]);
    assert_eq!(show(&a, "C1"), ["t10"]);
    assert_eq!(show(&a, "C2"), ["t11", "t20", "t21", "t22"]);
}

#[test]
fn static_members_sort_by_instance_id_first() {
    let mut a = member("z-dynamic", &["t"]);
    a.group_instance_id = None;
    let mut b = member("b-member", &["t"]);
    b.group_instance_id = Some("x-instance".into());
    let out = AssignorKind::Range.assign(&ppt(&[("t", 3)]), &[a, b]);
    assert_eq!(show(&out, "b-member"), ["t0", "t1"]);
    assert_eq!(show(&out, "z-dynamic"), ["t2"]);
}

#[test]
fn cooperative_sticky_fresh_group_deals_round_robin() {
    let members = [
        member("c2", &["t"]),
        member("c0", &["t"]),
        member("c1", &["t"]),
    ];
    let a = AssignorKind::CooperativeSticky.assign(&ppt(&[("t", 7)]), &members);
    assert_eq!(show(&a, "c0"), ["t0", "t3", "t6"]);
    assert_eq!(show(&a, "c1"), ["t1", "t4"]);
    assert_eq!(show(&a, "c2"), ["t2", "t5"]);
}

fn owning(id: &str, topics: &[&str], owned: &[(&str, i32)], generation: i32) -> MemberSubscription {
    let mut m = member(id, topics);
    m.owned_partitions = owned
        .iter()
        .map(|(t, p)| TopicPartition::new(*t, *p))
        .collect();
    m.generation = Some(generation);
    m
}

#[test]
fn cooperative_sticky_keeps_partitions_and_holds_back_moving_ones() {
    // c0 and c1 share six partitions; c2 joins. Each must give up one, which c2 gets only in
    // the next rebalance (after the revocation).
    let members = [
        owning("c0", &["t"], &[("t", 0), ("t", 1), ("t", 2)], 1),
        owning("c1", &["t"], &[("t", 3), ("t", 4), ("t", 5)], 1),
        owning("c2", &["t"], &[], -1),
    ];
    let a = AssignorKind::CooperativeSticky.assign(&ppt(&[("t", 6)]), &members);
    assert_eq!(show(&a, "c0"), ["t0", "t1"]);
    assert_eq!(show(&a, "c1"), ["t3", "t4"]);
    assert!(
        show(&a, "c2").is_empty(),
        "t2 and t5 are being revoked first"
    );
    // Next round: c0 and c1 own two each; c2 gets the two free ones.
    let members = [
        owning("c0", &["t"], &[("t", 0), ("t", 1)], 2),
        owning("c1", &["t"], &[("t", 3), ("t", 4)], 2),
        owning("c2", &["t"], &[], 2),
    ];
    let a = AssignorKind::CooperativeSticky.assign(&ppt(&[("t", 6)]), &members);
    assert_eq!(show(&a, "c2"), ["t2", "t5"]);
}

#[test]
fn cooperative_sticky_resolves_double_claims_by_generation() {
    let members = [
        owning("a", &["t"], &[("t", 0), ("t", 1)], 5),
        owning("b", &["t"], &[("t", 1)], 3),
    ];
    let a = AssignorKind::CooperativeSticky.assign(&ppt(&[("t", 2)]), &members);
    // The newer claim wins; t1 then moves from a to b (a's quota is 1), so it is held back.
    assert_eq!(show(&a, "a"), ["t0"]);
    assert!(show(&a, "b").is_empty());
}

#[test]
fn every_assignor_assigns_each_partition_at_most_once_and_balances() {
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..300 {
        let topics: Vec<String> = (0..rng.usize(1..4)).map(|i| format!("t{i}")).collect();
        let counts: BTreeMap<String, i32> =
            topics.iter().map(|t| (t.clone(), rng.i32(1..9))).collect();
        let same = rng.bool();
        let members: Vec<MemberSubscription> = (0..rng.usize(1..6))
            .map(|i| {
                let subs: Vec<&str> = if same {
                    topics.iter().map(String::as_str).collect()
                } else {
                    let mut s: Vec<&str> = topics
                        .iter()
                        .map(String::as_str)
                        .filter(|_| rng.bool())
                        .collect();
                    if s.is_empty() {
                        s.push(&topics[0]);
                    }
                    s
                };
                member(&format!("m{}", rng.u32(..1000) * 10 + i as u32), &subs)
            })
            .collect();
        for kind in [
            AssignorKind::Range,
            AssignorKind::RoundRobin,
            AssignorKind::CooperativeSticky,
        ] {
            let a = kind.assign(&counts, &members);
            assert_eq!(a.len(), members.len());
            let mut seen = std::collections::HashSet::new();
            for (id, parts) in &a {
                let m = members.iter().find(|m| &m.member_id == id).unwrap();
                for tp in parts {
                    assert!(
                        seen.insert(tp.clone()),
                        "{kind:?} round {round}: {tp} twice"
                    );
                    assert!(
                        m.topics.iter().any(|t| **t == *tp.topic),
                        "{kind:?}: not subscribed"
                    );
                }
            }
            let total: i32 = counts
                .iter()
                .filter(|(t, _)| members.iter().any(|m| m.topics.contains(t)))
                .map(|(_, n)| n)
                .sum();
            // Fresh groups own nothing, so nothing is held back: everything is assigned.
            assert_eq!(seen.len() as i32, total, "{kind:?} round {round}");
            if same && kind != AssignorKind::Range {
                let sizes: Vec<usize> = a.values().map(Vec::len).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{kind:?} unbalanced: {sizes:?}");
            }
        }
    }
}

#[test]
fn rebalance_protocol_is_the_common_highest() {
    assert_eq!(
        rebalance_protocol(&[AssignorKind::CooperativeSticky]),
        RebalanceProtocol::Cooperative
    );
    assert_eq!(
        rebalance_protocol(&[AssignorKind::Range, AssignorKind::CooperativeSticky]),
        RebalanceProtocol::Eager
    );
}
