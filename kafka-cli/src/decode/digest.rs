//! The short digest of a decoded message for the one-line summary and for filtering: topics
//! and partitions named, record counts, non-zero error codes, group and transactional ids.
//!
//! It is computed from the message tree by field names shared by all Kafka messages (`topic`,
//! `topic_name`, `topic_id`, `name` inside a topic struct, `partition_index`, `error_code`...), so
//! it covers every API without per-message code. The messages that dominate captures or whose
//! trees are the largest (ApiVersions, whose response lists every API; Metadata; Produce and
//! Fetch; DescribeConfigs, whose response lists every config; ListOffsets, OffsetCommit, the
//! group, coordinator, producer id, transaction end and SASL exchanges of every consumer and
//! transactional producer; OffsetFetch, AddPartitionsToTxn, WriteTxnMarkers and the admin
//! client's CreateTopics, DescribeLogDirs, DescribeCluster, DescribeGroups, DescribeAcls,
//! DeleteTopics and DeleteGroups; ConsumerGroupHeartbeat) also have a typed digest,
//! computed from their fields, which gives the same result (checked against the tree's by the
//! tests, on every fixture frame and on random messages of every version): summary and
//! statistics then need no tree for them.
//! Building the tree (formatting with `Debug`, parsing the text back) costs a few microseconds
//! per message, most of the summary's time on captures of many small frames.

use std::io::{self, Write};

use kafka_protocol::codec::Uuid;
use kafka_protocol::{ErrorCode, RequestBody, ResponseBody};

use super::decoder::DecodedFrame;
use super::text::{push_dec, push_int, unescape_debug_str};
use super::topics::TopicNames;
use super::tree::{DebugTree, Kind, NodeId};

/// Topics shown in a summary before eliding.
const SHOW_TOPICS: usize = 4;
/// Partitions shown per topic before eliding.
const SHOW_PARTITIONS: usize = 8;
/// Kafka's text form of the zero UUID ("no topic id").
const ZERO_UUID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// A decoded message body, for the typed digest.
#[derive(Debug, Clone, Copy)]
pub enum BodyRef<'a> {
    /// A request body.
    Request(&'a RequestBody),
    /// A response body.
    Response(&'a ResponseBody),
}

impl BodyRef<'_> {
    /// Whether [`Digest::compute`] can work from this body's fields instead of its tree.
    pub fn has_typed_digest(self) -> bool {
        matches!(
            self,
            BodyRef::Request(
                RequestBody::ApiVersions(_)
                    | RequestBody::Metadata(_)
                    | RequestBody::Produce(_)
                    | RequestBody::Fetch(_)
                    | RequestBody::ListOffsets(_)
                    | RequestBody::OffsetCommit(_)
                    | RequestBody::FindCoordinator(_)
                    | RequestBody::JoinGroup(_)
                    | RequestBody::SyncGroup(_)
                    | RequestBody::Heartbeat(_)
                    | RequestBody::LeaveGroup(_)
                    | RequestBody::InitProducerId(_)
                    | RequestBody::EndTxn(_)
                    | RequestBody::SaslHandshake(_)
                    | RequestBody::SaslAuthenticate(_)
                    | RequestBody::DescribeConfigs(_)
                    | RequestBody::AddPartitionsToTxn(_)
                    | RequestBody::OffsetFetch(_)
                    | RequestBody::WriteTxnMarkers(_)
                    | RequestBody::CreateTopics(_)
                    | RequestBody::DescribeLogDirs(_)
                    | RequestBody::DescribeCluster(_)
                    | RequestBody::ConsumerGroupHeartbeat(_)
                    | RequestBody::DescribeGroups(_)
                    | RequestBody::DescribeAcls(_)
                    | RequestBody::DeleteTopics(_)
                    | RequestBody::DeleteGroups(_)
            ) | BodyRef::Response(
                ResponseBody::ApiVersions(_)
                    | ResponseBody::Metadata(_)
                    | ResponseBody::Produce(_)
                    | ResponseBody::Fetch(_)
                    | ResponseBody::ListOffsets(_)
                    | ResponseBody::OffsetCommit(_)
                    | ResponseBody::FindCoordinator(_)
                    | ResponseBody::JoinGroup(_)
                    | ResponseBody::SyncGroup(_)
                    | ResponseBody::Heartbeat(_)
                    | ResponseBody::LeaveGroup(_)
                    | ResponseBody::InitProducerId(_)
                    | ResponseBody::EndTxn(_)
                    | ResponseBody::SaslHandshake(_)
                    | ResponseBody::SaslAuthenticate(_)
                    | ResponseBody::DescribeConfigs(_)
                    | ResponseBody::AddPartitionsToTxn(_)
                    | ResponseBody::OffsetFetch(_)
                    | ResponseBody::WriteTxnMarkers(_)
                    | ResponseBody::CreateTopics(_)
                    | ResponseBody::DescribeLogDirs(_)
                    | ResponseBody::DescribeCluster(_)
                    | ResponseBody::ConsumerGroupHeartbeat(_)
                    | ResponseBody::DescribeGroups(_)
                    | ResponseBody::DescribeAcls(_)
                    | ResponseBody::DeleteTopics(_)
                    | ResponseBody::DeleteGroups(_)
            )
        )
    }
}

/// One topic a message names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicDigest {
    /// The name, or the id (base64) when the capture never revealed the name.
    pub name: String,
    /// Partition indexes named under it, in order of appearance, without repeats.
    pub partitions: Vec<i64>,
}

/// The digest of one message. Reuse one with [`Digest::compute`].
#[derive(Debug, Clone, Default)]
pub struct Digest {
    /// Topics, in order of first appearance.
    pub topics: Vec<TopicDigest>,
    used: usize,
    /// Non-zero error codes with how often each appears, in order of first appearance.
    pub errors: Vec<(i16, u32)>,
    /// Record batches in the message's record data.
    pub batches: usize,
    /// Records in the message's record data.
    pub records: usize,
    /// Top-level `group_id`, if any.
    pub group_id: Option<String>,
    /// Top-level `transactional_id`, if any and not null.
    pub transactional_id: Option<String>,
    scratch: String,
}

impl Digest {
    /// Computes the digest of `frame`, replacing the previous contents.
    pub fn compute(&mut self, frame: &DecodedFrame<'_>) {
        self.used = 0;
        self.errors.clear();
        self.batches = 0;
        self.records = 0;
        self.group_id = None;
        self.transactional_id = None;
        if !frame.is_decoded() {
            self.topics.truncate(0);
            return;
        }
        for set in frame.records {
            self.batches += set.batches.len();
            self.records += set.record_count();
        }
        let Some(body) = frame.body else {
            if let Some(typed) = frame.typed {
                self.typed(typed, frame.topics);
            }
            self.topics.truncate(self.used);
            return;
        };
        let t = frame.tree;
        for c in t.children(body) {
            match (t.field(c), t.kind(c)) {
                ("group_id", Kind::Str) => self.group_id = Some(unescaped(t, c)),
                ("transactional_id", Kind::Str) => self.transactional_id = Some(unescaped(t, c)),
                _ => {}
            }
        }
        for id in t.ids() {
            match t.kind(id) {
                Kind::Struct => self.topic_struct(frame, id),
                Kind::List => {
                    let f = t.field(id);
                    if f == "topics" || f.ends_with("topic_names") {
                        for e in t.children(id) {
                            if t.kind(e) == Kind::Str {
                                unescape_debug_str(t.text_of(e), &mut self.scratch);
                                self.topic_slot_by_scratch();
                            }
                        }
                    }
                }
                Kind::Int if t.field(id) == "error_code" => {
                    self.error(t.int(id).unwrap_or(0) as i16);
                }
                _ => {}
            }
        }
        self.topics.truncate(self.used);
    }

    /// The digest from the fields of a body with [`BodyRef::has_typed_digest`]: what the tree
    /// walk finds in these messages, in the same order (topics and error codes in document
    /// order: a topic's own error code before its partitions', the response's last).
    fn typed(&mut self, body: BodyRef<'_>, names: &TopicNames) {
        match body {
            BodyRef::Response(ResponseBody::ApiVersions(r)) => self.error(r.error_code),
            BodyRef::Request(RequestBody::Metadata(m)) => {
                for t in m.topics.iter().flatten() {
                    self.typed_topic(t.name.as_deref(), t.topic_id, names);
                }
            }
            BodyRef::Response(ResponseBody::Metadata(m)) => {
                for t in &m.topics {
                    self.typed_topic_partitions(
                        t.name.as_deref(),
                        t.topic_id,
                        names,
                        t.partitions.iter().map(|p| p.partition_index),
                    );
                    self.error(t.error_code);
                    for p in &t.partitions {
                        self.error(p.error_code);
                    }
                }
                self.error(m.error_code);
            }
            BodyRef::Request(RequestBody::Produce(p)) => {
                set_id(&mut self.transactional_id, p.transactional_id.as_deref());
                for t in &p.topic_data {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        t.topic_id,
                        names,
                        t.partition_data.iter().map(|part| part.index),
                    );
                }
            }
            BodyRef::Response(ResponseBody::Produce(p)) => {
                for t in &p.responses {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        t.topic_id,
                        names,
                        t.partition_responses.iter().map(|part| part.index),
                    );
                    for part in &t.partition_responses {
                        self.error(part.error_code);
                    }
                }
            }
            BodyRef::Response(ResponseBody::Fetch(f)) => {
                // The response's own error code comes before the topics.
                self.error(f.error_code);
                for t in &f.responses {
                    self.typed_topic_partitions(
                        Some(&t.topic),
                        t.topic_id,
                        names,
                        t.partitions.iter().map(|part| part.partition_index),
                    );
                    for part in &t.partitions {
                        self.error(part.error_code);
                    }
                }
            }
            BodyRef::Response(ResponseBody::DescribeConfigs(d)) => {
                // Config resources are not topic structs, even for topics.
                for r in &d.results {
                    self.error(r.error_code);
                }
            }
            BodyRef::Request(RequestBody::Fetch(f)) => {
                for t in &f.topics {
                    self.typed_topic_partitions(
                        Some(&t.topic),
                        t.topic_id,
                        names,
                        t.partitions.iter().map(|part| part.partition),
                    );
                }
                // Partitions of a forgotten topic are a list of ints named `partitions`.
                for t in &f.forgotten_topics_data {
                    self.typed_topic_partitions(
                        Some(&t.topic),
                        t.topic_id,
                        names,
                        t.partitions.iter().copied(),
                    );
                }
            }
            BodyRef::Request(RequestBody::ListOffsets(l)) => {
                for t in &l.topics {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().map(|part| part.partition_index),
                    );
                }
            }
            BodyRef::Response(ResponseBody::ListOffsets(l)) => {
                for t in &l.topics {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().map(|part| part.partition_index),
                    );
                    for part in &t.partitions {
                        self.error(part.error_code);
                    }
                }
            }
            BodyRef::Request(RequestBody::OffsetCommit(o)) => {
                set_id(&mut self.group_id, Some(&o.group_id));
                for t in &o.topics {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        t.topic_id,
                        names,
                        t.partitions.iter().map(|part| part.partition_index),
                    );
                }
            }
            BodyRef::Response(ResponseBody::OffsetCommit(o)) => {
                for t in &o.topics {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        t.topic_id,
                        names,
                        t.partitions.iter().map(|part| part.partition_index),
                    );
                    for part in &t.partitions {
                        self.error(part.error_code);
                    }
                }
            }
            BodyRef::Request(RequestBody::JoinGroup(j)) => {
                set_id(&mut self.group_id, Some(&j.group_id));
            }
            BodyRef::Request(RequestBody::SyncGroup(g)) => {
                set_id(&mut self.group_id, Some(&g.group_id));
            }
            BodyRef::Request(RequestBody::Heartbeat(h)) => {
                set_id(&mut self.group_id, Some(&h.group_id));
            }
            BodyRef::Request(RequestBody::LeaveGroup(l)) => {
                set_id(&mut self.group_id, Some(&l.group_id));
            }
            BodyRef::Response(ResponseBody::LeaveGroup(l)) => {
                self.error(l.error_code);
                for m in &l.members {
                    self.error(m.error_code);
                }
            }
            BodyRef::Response(ResponseBody::FindCoordinator(f)) => {
                self.error(f.error_code);
                for c in &f.coordinators {
                    self.error(c.error_code);
                }
            }
            BodyRef::Request(RequestBody::InitProducerId(i)) => {
                set_id(&mut self.transactional_id, i.transactional_id.as_deref());
            }
            BodyRef::Request(RequestBody::EndTxn(e)) => {
                set_id(&mut self.transactional_id, Some(&e.transactional_id));
            }
            BodyRef::Response(ResponseBody::JoinGroup(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::SyncGroup(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::Heartbeat(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::InitProducerId(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::EndTxn(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::SaslHandshake(r)) => self.error(r.error_code),
            BodyRef::Response(ResponseBody::SaslAuthenticate(r)) => self.error(r.error_code),
            BodyRef::Request(RequestBody::AddPartitionsToTxn(a)) => {
                // The transactional ids are not top-level (v4+) or not named so (v0-v3).
                let v4 = a.transactions.iter().flat_map(|x| &x.topics);
                for t in v4.chain(&a.v3_and_below_topics) {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::AddPartitionsToTxn(a)) => {
                // Partition errors are `partition_error_code`: the tree does not count them.
                self.error(a.error_code);
                let v4 = a
                    .results_by_transaction
                    .iter()
                    .flat_map(|x| &x.topic_results);
                for t in v4.chain(&a.results_by_topic_v3_and_below) {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.results_by_partition.iter().map(|p| p.partition_index),
                    );
                }
            }
            BodyRef::Request(RequestBody::OffsetFetch(o)) => {
                set_id(&mut self.group_id, Some(&o.group_id));
                for t in o.topics.iter().flatten() {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partition_indexes.iter().copied(),
                    );
                }
                for t in o.groups.iter().flat_map(|g| g.topics.iter().flatten()) {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        t.topic_id,
                        names,
                        t.partition_indexes.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::OffsetFetch(o)) => {
                for t in &o.topics {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().map(|p| p.partition_index),
                    );
                    for p in &t.partitions {
                        self.error(p.error_code);
                    }
                }
                self.error(o.error_code);
                for g in &o.groups {
                    for t in &g.topics {
                        self.typed_topic_partitions(
                            Some(&t.name),
                            t.topic_id,
                            names,
                            t.partitions.iter().map(|p| p.partition_index),
                        );
                        for p in &t.partitions {
                            self.error(p.error_code);
                        }
                    }
                    self.error(g.error_code);
                }
            }
            BodyRef::Request(RequestBody::WriteTxnMarkers(w)) => {
                for t in w.markers.iter().flat_map(|m| &m.topics) {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partition_indexes.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::WriteTxnMarkers(w)) => {
                for t in w.markers.iter().flat_map(|m| &m.topics) {
                    self.typed_topic_partitions(
                        Some(&t.name),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().map(|p| p.partition_index),
                    );
                    for p in &t.partitions {
                        self.error(p.error_code);
                    }
                }
            }
            BodyRef::Request(RequestBody::CreateTopics(c)) => {
                // Replica assignments are not partition structs; configs are not topics.
                for t in &c.topics {
                    self.typed_topic(Some(&t.name), Uuid::ZERO, names);
                }
            }
            BodyRef::Response(ResponseBody::CreateTopics(c)) => {
                // `topic_config_error_code` is not an `error_code`.
                for t in &c.topics {
                    self.typed_topic(Some(&t.name), t.topic_id, names);
                    self.error(t.error_code);
                }
            }
            BodyRef::Request(RequestBody::DescribeLogDirs(d)) => {
                for t in d.topics.iter().flatten() {
                    self.typed_topic_partitions(
                        Some(&t.topic),
                        Uuid::ZERO,
                        names,
                        t.partitions.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::DescribeLogDirs(d)) => {
                self.error(d.error_code);
                for r in &d.results {
                    self.error(r.error_code);
                    for t in &r.topics {
                        self.typed_topic_partitions(
                            Some(&t.name),
                            Uuid::ZERO,
                            names,
                            t.partitions.iter().map(|p| p.partition_index),
                        );
                    }
                }
            }
            BodyRef::Response(ResponseBody::DescribeCluster(r)) => self.error(r.error_code),
            BodyRef::Request(RequestBody::ConsumerGroupHeartbeat(c)) => {
                set_id(&mut self.group_id, Some(&c.group_id));
                // Subscribed names are a list of strings whose field ends in `topic_names`.
                for n in c.subscribed_topic_names.iter().flatten() {
                    self.named_topic(n);
                }
                // Owned partitions are named by topic id only.
                for t in c.topic_partitions.iter().flatten() {
                    self.typed_topic_partitions(
                        None,
                        t.topic_id,
                        names,
                        t.partitions.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::ConsumerGroupHeartbeat(c)) => {
                self.error(c.error_code);
                for t in c.assignment.iter().flat_map(|a| &a.topic_partitions) {
                    self.typed_topic_partitions(
                        None,
                        t.topic_id,
                        names,
                        t.partitions.iter().copied(),
                    );
                }
            }
            BodyRef::Response(ResponseBody::DescribeGroups(d)) => {
                // A described group's `group_id` is not top-level.
                for g in &d.groups {
                    self.error(g.error_code);
                }
            }
            BodyRef::Response(ResponseBody::DescribeAcls(d)) => self.error(d.error_code),
            BodyRef::Request(RequestBody::DeleteTopics(d)) => {
                for t in &d.topics {
                    self.typed_topic(t.name.as_deref(), t.topic_id, names);
                }
                for n in &d.topic_names {
                    self.named_topic(n);
                }
            }
            BodyRef::Response(ResponseBody::DeleteTopics(d)) => {
                for t in &d.responses {
                    self.typed_topic(t.name.as_deref(), t.topic_id, names);
                    self.error(t.error_code);
                }
            }
            BodyRef::Response(ResponseBody::DeleteGroups(d)) => {
                // A result's `group_id` is not top-level.
                for r in &d.results {
                    self.error(r.error_code);
                }
            }
            // ApiVersions, DescribeConfigs, FindCoordinator, DescribeGroups, DescribeAcls,
            // DeleteGroups and the SASL requests name no topic, group or transaction and carry
            // no error code.
            _ => {}
        }
    }

    /// [`typed_topic`](Self::typed_topic) and the partition indexes under it.
    fn typed_topic_partitions(
        &mut self,
        name: Option<&str>,
        id: Uuid,
        names: &TopicNames,
        partitions: impl Iterator<Item = i32>,
    ) {
        if let Some(slot) = self.typed_topic(name, id, names) {
            for p in partitions {
                push_partition(&mut self.topics[slot], Some(p.into()));
            }
        }
    }

    /// A topic struct of a typed body: named by its name, else by its id (resolved through
    /// the capture when possible), else not at all.
    fn typed_topic(&mut self, name: Option<&str>, id: Uuid, names: &TopicNames) -> Option<usize> {
        self.scratch.clear();
        match name.filter(|n| !n.is_empty()) {
            Some(n) => self.scratch.push_str(n),
            None if id != Uuid::ZERO => {
                let text = id.to_string();
                self.scratch.push_str(names.name(&text).unwrap_or(&text));
            }
            None => return None,
        }
        Some(self.topic_slot_by_scratch())
    }

    /// A topic from a list of topic name strings: counted even when empty, as the tree's.
    fn named_topic(&mut self, name: &str) {
        self.scratch.clear();
        self.scratch.push_str(name);
        self.topic_slot_by_scratch();
    }

    /// Counts a non-zero error code.
    fn error(&mut self, code: i16) {
        if code != 0 {
            match self.errors.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => self.errors.push((code, 1)),
            }
        }
    }

    /// The topics actually named (valid after [`compute`](Self::compute)).
    pub fn topics(&self) -> &[TopicDigest] {
        &self.topics[..self.used.min(self.topics.len())]
    }

    fn topic_struct(&mut self, frame: &DecodedFrame<'_>, id: NodeId) {
        let t = frame.tree;
        let type_name = t.text_of(id);
        let name_counts = type_name.contains("Topic") && !type_name.contains("Config");
        let mut name = None;
        let mut topic_id = None;
        for c in t.children(id) {
            match (t.field(c), t.kind(c)) {
                ("topic" | "topic_name", Kind::Str) => name = Some(c),
                ("name", Kind::Str) if name_counts => name = Some(c),
                ("topic_id", Kind::Uuid) if t.text_of(c) != ZERO_UUID => topic_id = Some(c),
                _ => {}
            }
        }
        self.scratch.clear();
        if let Some(n) = name.filter(|&n| !t.text_of(n).is_empty()) {
            unescape_debug_str(t.text_of(n), &mut self.scratch);
        } else if let Some(i) = topic_id {
            let text = t.text_of(i);
            self.scratch
                .push_str(frame.topics.name(text).unwrap_or(text));
        } else {
            return;
        }
        let slot = self.topic_slot_by_scratch();
        // Partitions: the struct's own index (partition-level structs naming their topic), and
        // those of partition lists under it.
        for c in t.children(id) {
            match t.kind(c) {
                Kind::Int if is_partition_field(t.field(c)) => {
                    push_partition(&mut self.topics[slot], t.int(c));
                }
                Kind::List => {
                    let f = t.field(c);
                    for e in t.children(c) {
                        match t.kind(e) {
                            Kind::Struct if t.text_of(e).contains("Partition") => {
                                let idx = t
                                    .children(e)
                                    .find(|&g| is_partition_field(t.field(g)))
                                    .and_then(|g| t.int(g));
                                push_partition(&mut self.topics[slot], idx);
                            }
                            Kind::Int if f.starts_with("partition") => {
                                push_partition(&mut self.topics[slot], t.int(e));
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The slot of the topic named `self.scratch`, added if new.
    fn topic_slot_by_scratch(&mut self) -> usize {
        if let Some(i) = self.topics[..self.used]
            .iter()
            .position(|t| t.name == self.scratch)
        {
            return i;
        }
        if self.used == self.topics.len() {
            self.topics.push(TopicDigest::default());
        }
        let slot = &mut self.topics[self.used];
        slot.name.clear();
        slot.name.push_str(&self.scratch);
        slot.partitions.clear();
        self.used += 1;
        self.used - 1
    }

    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.group_id.is_none()
            && self.transactional_id.is_none()
            && self.used == 0
            && self.batches == 0
            && self.records == 0
            && self.errors.is_empty()
    }

    /// Writes the digest: `group=g txn=t topics=a[0,1],b records=3/1b errors=NAME(n)x2`.
    /// Numbers without `core::fmt` (one line per frame).
    pub fn write(&self, w: &mut Vec<u8>) -> io::Result<()> {
        let mut sep = "";
        if let Some(g) = &self.group_id {
            write!(w, "group={g:?}")?;
            sep = " ";
        }
        if let Some(x) = &self.transactional_id {
            write!(w, "{sep}txn={x:?}")?;
            sep = " ";
        }
        let topics = self.topics();
        if !topics.is_empty() {
            w.extend_from_slice(sep.as_bytes());
            w.extend_from_slice(b"topics=");
            sep = " ";
            for (i, topic) in topics.iter().take(SHOW_TOPICS).enumerate() {
                if i > 0 {
                    w.push(b',');
                }
                w.extend_from_slice(topic.name.as_bytes());
                if !topic.partitions.is_empty() {
                    w.push(b'[');
                    for (j, p) in topic.partitions.iter().take(SHOW_PARTITIONS).enumerate() {
                        if j > 0 {
                            w.push(b',');
                        }
                        push_int(w, *p);
                    }
                    if topic.partitions.len() > SHOW_PARTITIONS {
                        w.extend_from_slice(",…+".as_bytes());
                        push_dec(
                            w,
                            (topic.partitions.len() - SHOW_PARTITIONS) as u64,
                            0,
                            b' ',
                        );
                    }
                    w.push(b']');
                }
            }
            if topics.len() > SHOW_TOPICS {
                w.extend_from_slice(",…+".as_bytes());
                push_dec(w, (topics.len() - SHOW_TOPICS) as u64, 0, b' ');
            }
        }
        if self.batches > 0 || self.records > 0 {
            w.extend_from_slice(sep.as_bytes());
            w.extend_from_slice(b"records=");
            push_dec(w, self.records as u64, 0, b' ');
            w.extend_from_slice(b" batches=");
            push_dec(w, self.batches as u64, 0, b' ');
            sep = " ";
        }
        if !self.errors.is_empty() {
            w.extend_from_slice(sep.as_bytes());
            w.extend_from_slice(b"errors=");
            for (i, (code, n)) in self.errors.iter().enumerate() {
                if i > 0 {
                    w.push(b',');
                }
                if let Some(name) = ErrorCode(*code).name() {
                    w.extend_from_slice(name.as_bytes());
                    w.push(b'(');
                    push_int(w, (*code).into());
                    w.push(b')');
                } else {
                    push_int(w, (*code).into());
                }
                if *n > 1 {
                    w.push(b'x');
                    push_dec(w, (*n).into(), 0, b' ');
                }
            }
        }
        Ok(())
    }
}

fn is_partition_field(f: &str) -> bool {
    matches!(
        f,
        "partition_index" | "partition" | "index" | "partition_id"
    )
}

fn push_partition(topic: &mut TopicDigest, idx: Option<i64>) {
    if let Some(p) = idx {
        if !topic.partitions.contains(&p) {
            topic.partitions.push(p);
        }
    }
}

/// Sets a digest's group or transactional id, reusing its allocation.
fn set_id(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(mine), Some(v)) => {
            mine.clear();
            mine.push_str(v);
        }
        (_, v) => *slot = v.map(String::from),
    }
}

fn unescaped(t: &DebugTree, id: NodeId) -> String {
    let mut s = String::new();
    unescape_debug_str(t.text_of(id), &mut s);
    s
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::{Bytes, BytesMut};
    use kafka_protocol::frame::{encode_request_body, encode_response_body};
    use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
    use kafka_protocol::generated::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::generated::{
        MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader,
    };
    use kafka_protocol::ApiKey;

    use super::*;
    use crate::capture::{
        CaptureEvent, CaptureOptions, CaptureReader, Direction, Frame, PortSelection, StreamId,
        Timestamp,
    };
    use crate::decode::FrameDecoder;

    type Key = (
        Vec<TopicDigest>,
        Vec<(i16, u32)>,
        usize,
        usize,
        Option<String>,
        Option<String>,
    );

    fn key(d: &Digest) -> Key {
        (
            d.topics().to_vec(),
            d.errors.clone(),
            d.batches,
            d.records,
            d.group_id.clone(),
            d.transactional_id.clone(),
        )
    }

    /// Two summary-mode decoders fed the same frames, one with typed digests, one always
    /// building the tree: the digests must agree on every frame.
    struct Pair {
        typed: FrameDecoder,
        tree: FrameDecoder,
        digest: Digest,
        typed_frames: usize,
    }

    impl Pair {
        fn new() -> Self {
            let mut typed = FrameDecoder::new();
            typed.set_count_records_only(true);
            let mut tree = FrameDecoder::new();
            tree.set_count_records_only(true);
            tree.set_always_tree(true);
            Pair {
                typed,
                tree,
                digest: Digest::default(),
                typed_frames: 0,
            }
        }

        fn check(&mut self, frame: &Frame, what: &str) {
            let a = self.typed.decode(frame);
            self.typed_frames += usize::from(a.typed.is_some());
            self.digest.compute(&a);
            let from_fields = key(&self.digest);
            let b = self.tree.decode(frame);
            assert!(b.typed.is_none(), "{what}");
            assert_eq!(a.error, b.error, "{what}");
            assert_eq!(a.is_decoded(), b.is_decoded(), "{what}");
            self.digest.compute(&b);
            assert_eq!(from_fields, key(&self.digest), "{what}");
        }
    }

    fn frame(direction: Direction, bytes: BytesMut) -> Frame {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        Frame {
            stream: StreamId {
                index: 1,
                client: addr,
                server: addr,
            },
            direction,
            ts: Timestamp::new(0, 0),
            first_ts: Timestamp::new(0, 0),
            offset: 0,
            bytes: Bytes::from(bytes).slice(4..),
        }
    }

    fn send(pair: &mut Pair, request: &RequestBody, version: i16) {
        let header = RequestHeader {
            request_api_key: request.api_key().0,
            request_api_version: version,
            correlation_id: 7,
            client_id: Some("c".into()),
            ..Default::default()
        };
        let mut w = BytesMut::new();
        encode_request_body(&mut w, &header, request).unwrap();
        let what = format!("v{version}: {request:?}");
        pair.check(&frame(Direction::ClientToServer, w), &what);
    }

    fn exchange(pair: &mut Pair, request: &RequestBody, response: &ResponseBody, version: i16) {
        let key = request.api_key();
        send(pair, request, version);
        let what = format!("{key:?} v{version}: {request:?} / {response:?}");
        let mut w = BytesMut::new();
        let header = ResponseHeader {
            correlation_id: 7,
            ..Default::default()
        };
        encode_response_body(&mut w, &header, key, version, response).unwrap();
        pair.check(&frame(Direction::ServerToClient, w), &what);
    }

    #[test]
    fn typed_digests_equal_tree_digests_for_random_messages() {
        let mut pair = Pair::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let (mut checked, mut typed) = (0, 0);
        for key in [
            ApiKey::API_VERSIONS,
            ApiKey::METADATA,
            ApiKey::PRODUCE,
            ApiKey::FETCH,
            ApiKey::LIST_OFFSETS,
            ApiKey::OFFSET_COMMIT,
            ApiKey::FIND_COORDINATOR,
            ApiKey::JOIN_GROUP,
            ApiKey::SYNC_GROUP,
            ApiKey::HEARTBEAT,
            ApiKey::LEAVE_GROUP,
            ApiKey::INIT_PRODUCER_ID,
            ApiKey::END_TXN,
            ApiKey::SASL_HANDSHAKE,
            ApiKey::SASL_AUTHENTICATE,
            ApiKey::DESCRIBE_CONFIGS,
            ApiKey::ADD_PARTITIONS_TO_TXN,
            ApiKey::OFFSET_FETCH,
            ApiKey::WRITE_TXN_MARKERS,
            ApiKey::CREATE_TOPICS,
            ApiKey::DESCRIBE_LOG_DIRS,
            ApiKey::DESCRIBE_CLUSTER,
            ApiKey::CONSUMER_GROUP_HEARTBEAT,
            ApiKey::DESCRIBE_GROUPS,
            ApiKey::DESCRIBE_ACLS,
            ApiKey::DELETE_TOPICS,
            ApiKey::DELETE_GROUPS,
        ] {
            let info = key.info().unwrap();
            for version in info.lowest..=info.highest {
                for _ in 0..200 {
                    let data: Vec<u8> = (0..2048)
                        .map(|_| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            seed as u8
                        })
                        .collect();
                    let mut u = arbitrary::Unstructured::new(&data);
                    let (Ok(req), Ok(resp)) = (
                        RequestBody::arbitrary_for(key, &mut u, version),
                        ResponseBody::arbitrary_for(key, &mut u, version),
                    ) else {
                        continue;
                    };
                    exchange(&mut pair, &req, &resp, version);
                    checked += 1;
                    typed += usize::from(BodyRef::Request(&req).has_typed_digest());
                    typed += usize::from(BodyRef::Response(&resp).has_typed_digest());
                }
            }
        }
        assert!(checked > 3000, "{checked}");
        // Every typed body took the typed path (unless its response found no request: acks=0).
        assert!(
            pair.typed_frames > typed * 9 / 10,
            "{} of {typed}",
            pair.typed_frames
        );
    }

    #[test]
    fn typed_digests_resolve_topic_ids_and_merge_repeats() {
        let id = Uuid::from_halves(1, 2);
        let mut pair = Pair::new();
        let topic =
            |name: Option<&str>, id, error_code, partitions: &[(i32, i16)]| MetadataResponseTopic {
                name: name.map(Into::into),
                topic_id: id,
                error_code,
                partitions: partitions
                    .iter()
                    .map(|&(partition_index, error_code)| MetadataResponsePartition {
                        partition_index,
                        error_code,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
        let response = ResponseBody::Metadata(MetadataResponse {
            topics: vec![
                topic(Some("orders"), id, 0, &[(1, 0), (0, 6), (1, 6)]),
                topic(Some(""), Uuid::from_halves(3, 4), 3, &[(2, 0)]),
                topic(None, Uuid::ZERO, 3, &[(5, 9)]),
                topic(Some("orders"), Uuid::ZERO, 0, &[(7, 0)]),
            ],
            error_code: 29,
            ..Default::default()
        });
        let request = RequestBody::Metadata(MetadataRequest {
            topics: Some(vec![
                MetadataRequestTopic {
                    name: None,
                    topic_id: id,
                    ..Default::default()
                },
                MetadataRequestTopic {
                    name: Some("b".into()),
                    topic_id: Uuid::ZERO,
                    ..Default::default()
                },
            ]),
            ..Default::default()
        });
        // The first exchange teaches the id's name, the second uses it (v13: the response's own
        // error code too).
        send(&mut pair, &request, 13);
        let names = |d: &Digest| {
            d.topics()
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&pair.digest), [id.to_string(), "b".into()]);
        exchange(&mut pair, &request, &response, 13);
        let d = &pair.digest;
        assert_eq!(d.topics()[0].name, "orders");
        assert_eq!(d.topics()[0].partitions, [1, 0, 7]);
        assert_eq!(d.errors, [(6, 2), (3, 2), (9, 1), (29, 1)]);
        send(&mut pair, &request, 13);
        assert_eq!(names(&pair.digest), ["orders", "b"]);
    }

    #[test]
    fn typed_digests_equal_tree_digests_on_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
                .unwrap();
        let mut pair = Pair::new();
        let mut frames = 0;
        for c in manifest["captures"].as_array().unwrap() {
            let file = c["file"].as_str().unwrap();
            let port = c["broker_port"].as_u64().unwrap() as u16;
            let input = std::fs::File::open(root.join(file)).unwrap();
            let options = CaptureOptions::with_ports(PortSelection::Ports(vec![port]));
            let reader = CaptureReader::new(input, options).unwrap();
            for event in reader {
                if let CaptureEvent::Frame(f) = event.unwrap() {
                    frames += 1;
                    pair.check(&f, &format!("{file}, frame {frames}"));
                }
            }
        }
        assert!(
            frames > 2000 && pair.typed_frames > 500,
            "{frames} {}",
            pair.typed_frames
        );
    }
}
