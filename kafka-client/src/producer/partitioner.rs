//! Choosing a partition: explicit, pluggable, keyed (murmur2, as Java), or the built-in
//! uniform sticky strategy for null keys (KIP-480, KIP-794).

use super::fast_hash::FastMap;
use std::fmt::Debug;
use std::sync::Arc;

use super::murmur2::partition_for_key;
use crate::metadata::TopicInfo;

/// A custom partitioner. Returning `None` falls back to the built-in behaviour (murmur2 for
/// keyed records, sticky for the rest), as a Java partitioner returning -1 would with
/// `partitioner.class` unset.
pub trait Partitioner: Send + Sync + Debug {
    /// The partition for a record of `topic` with `key` (`None`: no key).
    fn partition(&self, topic: &TopicInfo, key: Option<&[u8]>, value: Option<&[u8]>)
        -> Option<i32>;
}

/// The built-in choice for keyed records: `toPositive(murmur2(key)) % partitions` over all
/// partitions (available or not, so a key always maps to the same partition).
pub fn keyed_partition(topic: &TopicInfo, key: &[u8]) -> i32 {
    partition_for_key(key, topic.partitions.len() as i32)
}

/// KIP-794's uniform sticky partitioner: null-key records stick to one partition until
/// `batch.size` bytes went to it, then move to another chosen at random among partitions with
/// a leader. Switching by bytes produced (not by batch completion, KIP-480's rule) spreads data
/// evenly even when one broker is slow, which KIP-794 found skewed load toward slow brokers.
#[derive(Debug, Default)]
pub struct StickyPartitioner {
    batch_size: usize,
    topics: FastMap<Arc<str>, Sticky>,
    /// The topic of the previous call with its state, kept out of `topics` while here: a
    /// producer mostly sends to one topic, and comparing the name (by pointer, when the caller
    /// passes the same `Arc` each time) costs less than hashing it, twice per record.
    hot: Option<(Arc<str>, Sticky)>,
}

#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: i32,
    produced: usize,
}

impl StickyPartitioner {
    /// A partitioner switching after `batch_size` bytes.
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size: batch_size.max(1),
            topics: FastMap::default(),
            hot: None,
        }
    }

    /// The state of topic `name` (`shared`: the same name as an `Arc`), made the hot one.
    fn state(&mut self, name: &str, shared: Option<&Arc<str>>) -> Option<&mut Sticky> {
        if self
            .hot
            .as_ref()
            .is_some_and(|(n, _)| shared.is_some_and(|a| Arc::ptr_eq(a, n)) || **n == *name)
        {
            return self.hot.as_mut().map(|(_, s)| s);
        }
        let entry = self.topics.remove_entry(name)?;
        if let Some((n, s)) = self.hot.replace(entry) {
            self.topics.insert(n, s);
        }
        self.hot.as_mut().map(|(_, s)| s)
    }

    /// The current sticky partition of `topic`, choosing one if there is none.
    pub fn partition(&mut self, topic: &TopicInfo) -> i32 {
        self.partition_of(topic, None)
    }

    /// [`partition`](Self::partition), with the topic's name as an `Arc` that the caller
    /// passes every time (the producer's own copy of it).
    pub(crate) fn partition_of(&mut self, topic: &TopicInfo, name: Option<&Arc<str>>) -> i32 {
        if let Some(s) = self.state(&topic.name, name) {
            if (s.partition as usize) < topic.partitions.len() {
                return s.partition;
            }
        }
        let p = Self::pick(topic, None);
        let fresh = Sticky {
            partition: p,
            produced: 0,
        };
        match self.state(&topic.name, name) {
            Some(s) => *s = fresh,
            None => {
                let key = name
                    .cloned()
                    .unwrap_or_else(|| Arc::from(topic.name.as_str()));
                if let Some((n, s)) = self.hot.replace((key, fresh)) {
                    self.topics.insert(n, s);
                }
            }
        }
        p
    }

    /// Records `bytes` appended to `partition` of `topic`; moves on after `batch.size`.
    pub fn on_append(&mut self, topic: &TopicInfo, partition: i32, bytes: usize) {
        self.on_append_of(topic, None, partition, bytes);
    }

    /// [`on_append`](Self::on_append), with the name as for
    /// [`partition_of`](Self::partition_of).
    pub(crate) fn on_append_of(
        &mut self,
        topic: &TopicInfo,
        name: Option<&Arc<str>>,
        partition: i32,
        bytes: usize,
    ) {
        let batch_size = self.batch_size;
        let Some(s) = self.state(&topic.name, name) else {
            return;
        };
        if s.partition != partition {
            return;
        }
        s.produced += bytes;
        if s.produced >= batch_size {
            s.partition = Self::pick(topic, Some(partition));
            s.produced = 0;
        }
    }

    /// The partition for a null-key record accounted at `bytes` that is about to be appended,
    /// counted at once: [`partition_of`](Self::partition_of) and
    /// [`on_append_of`](Self::on_append_of) with one look-up of the topic's state. (Should the
    /// append then fail, the bytes still count: the partition only moves on a little early.)
    /// Only records the sticky strategy placed count toward its switch, as in Java, where
    /// keyed records do not update the built-in partitioner.
    pub(crate) fn partition_for_append(
        &mut self,
        topic: &TopicInfo,
        name: Option<&Arc<str>>,
        bytes: usize,
    ) -> i32 {
        let batch_size = self.batch_size;
        if let Some(s) = self.state(&topic.name, name) {
            if (s.partition as usize) < topic.partitions.len() {
                let p = s.partition;
                s.produced += bytes;
                if s.produced >= batch_size {
                    s.partition = Self::pick(topic, Some(p));
                    s.produced = 0;
                }
                return p;
            }
        }
        let p = self.partition_of(topic, name);
        self.on_append_of(topic, name, p, bytes);
        p
    }

    /// A random available partition, different from `previous` when there is a choice.
    fn pick(topic: &TopicInfo, previous: Option<i32>) -> i32 {
        let available: Vec<i32> = topic
            .available_partitions()
            .map(|p| p.partition)
            .filter(|p| Some(*p) != previous)
            .collect();
        if !available.is_empty() {
            return available[fastrand::usize(..available.len())];
        }
        let n = topic.partitions.len().max(1);
        if n > 1 {
            if let Some(prev) = previous {
                // All others unavailable: any other partition still spreads load.
                let r = fastrand::usize(..n - 1) as i32;
                return if r >= prev { r + 1 } else { r };
            }
        }
        previous.unwrap_or_else(|| fastrand::usize(..n) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::PartitionInfo;
    use kafka_protocol::ErrorCode;

    fn topic(n: i32, leaderless: &[i32]) -> TopicInfo {
        TopicInfo {
            name: "t".into(),
            id: Default::default(),
            is_internal: false,
            partitions: (0..n)
                .map(|p| PartitionInfo {
                    partition: p,
                    leader: if leaderless.contains(&p) { -1 } else { 1 },
                    leader_epoch: 0,
                    replicas: vec![1],
                    isr: vec![1],
                    offline: vec![],
                    error: ErrorCode::NONE,
                })
                .collect(),
        }
    }

    #[test]
    fn keyed_records_follow_murmur2_over_all_partitions() {
        assert_eq!(keyed_partition(&topic(6, &[0, 1, 2]), b"key"), 1);
    }

    #[test]
    fn sticky_switches_after_batch_size_and_skips_leaderless() {
        let t = topic(4, &[2]);
        let mut s = StickyPartitioner::new(100);
        let first = s.partition(&t);
        assert_ne!(first, 2);
        s.on_append(&t, first, 60);
        assert_eq!(s.partition(&t), first, "still under batch.size");
        s.on_append(&t, first, 60);
        let second = s.partition(&t);
        assert_ne!(second, first, "moved after batch.size bytes");
        assert_ne!(second, 2, "never to a partition without leader");
        // Over many switches every available partition is used.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = s.partition(&t);
            seen.insert(p);
            s.on_append(&t, p, 100);
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[test]
    fn partition_for_append_chooses_and_counts_as_the_two_steps_do() {
        let t = topic(6, &[4]);
        let name: Arc<str> = "t".into();
        let (mut one, mut two) = (StickyPartitioner::new(250), StickyPartitioner::new(250));
        fastrand::seed(7);
        let a: Vec<i32> = (0..50)
            .map(|_| one.partition_for_append(&t, Some(&name), 60))
            .collect();
        fastrand::seed(7);
        let b: Vec<i32> = (0..50)
            .map(|_| {
                let p = two.partition_of(&t, Some(&name));
                two.on_append_of(&t, Some(&name), p, 60);
                p
            })
            .collect();
        assert_eq!(a, b);
        // Five records of 60 bytes per partition (the fifth crosses 250), never partition 4.
        assert!(
            a.chunks(5).all(|c| c.iter().all(|p| *p == c[0] && *p != 4)),
            "{a:?}"
        );
        assert!(a
            .chunks(5)
            .zip(a.chunks(5).skip(1))
            .all(|(x, y)| x[0] != y[0]));
    }

    #[test]
    fn each_topic_keeps_its_own_sticky_state() {
        let mut a = topic(8, &[]);
        a.name = "a".into();
        let mut b = topic(8, &[]);
        b.name = "b".into();
        let mut s = StickyPartitioner::new(100);
        let pa = s.partition(&a);
        s.on_append(&a, pa, 60);
        let pb = s.partition(&b);
        s.on_append(&b, pb, 60);
        // Back to `a`: the 60 bytes counted before `b` was used still count.
        assert_eq!(s.partition(&a), pa);
        s.on_append(&a, pa, 60);
        assert_ne!(s.partition(&a), pa, "a moved after 120 bytes");
        assert_eq!(s.partition(&b), pb, "b has 60 bytes only");
    }
}
