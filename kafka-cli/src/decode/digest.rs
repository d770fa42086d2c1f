//! The short digest of a decoded message for the one-line summary and for filtering: topics
//! and partitions named, record counts, non-zero error codes, group and transactional ids.
//!
//! It is computed from the message tree by field names shared by all Kafka messages (`topic`,
//! `topic_name`, `topic_id`, `name` inside a topic struct, `partition_index`, `error_code`...), so
//! it covers every API without per-message code.

use std::io::{self, Write};

use kafka_protocol::ErrorCode;

use super::decoder::DecodedFrame;
use super::text::unescape_debug_str;
use super::tree::{DebugTree, Kind, NodeId};

/// Topics shown in a summary before eliding.
const SHOW_TOPICS: usize = 4;
/// Partitions shown per topic before eliding.
const SHOW_PARTITIONS: usize = 8;
/// Kafka's text form of the zero UUID ("no topic id").
const ZERO_UUID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

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
        let Some(body) = frame.body else {
            self.topics.truncate(0);
            return;
        };
        let t = frame.tree;
        for set in frame.records {
            self.batches += set.batches.len();
            self.records += set.record_count();
        }
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
                    let code = t.int(id).unwrap_or(0);
                    if code != 0 {
                        let code = code as i16;
                        match self.errors.iter_mut().find(|(c, _)| *c == code) {
                            Some((_, n)) => *n += 1,
                            None => self.errors.push((code, 1)),
                        }
                    }
                }
                _ => {}
            }
        }
        self.topics.truncate(self.used);
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
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
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
            write!(w, "{sep}topics=")?;
            sep = " ";
            for (i, topic) in topics.iter().take(SHOW_TOPICS).enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                w.write_all(topic.name.as_bytes())?;
                if !topic.partitions.is_empty() {
                    w.write_all(b"[")?;
                    for (j, p) in topic.partitions.iter().take(SHOW_PARTITIONS).enumerate() {
                        if j > 0 {
                            w.write_all(b",")?;
                        }
                        write!(w, "{p}")?;
                    }
                    if topic.partitions.len() > SHOW_PARTITIONS {
                        write!(w, ",…+{}", topic.partitions.len() - SHOW_PARTITIONS)?;
                    }
                    w.write_all(b"]")?;
                }
            }
            if topics.len() > SHOW_TOPICS {
                write!(w, ",…+{}", topics.len() - SHOW_TOPICS)?;
            }
        }
        if self.batches > 0 || self.records > 0 {
            write!(w, "{sep}records={} batches={}", self.records, self.batches)?;
            sep = " ";
        }
        if !self.errors.is_empty() {
            write!(w, "{sep}errors=")?;
            for (i, (code, n)) in self.errors.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                match ErrorCode(*code).name() {
                    Some(name) => write!(w, "{name}({code})")?,
                    None => write!(w, "{code}")?,
                }
                if *n > 1 {
                    write!(w, "x{n}")?;
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

fn unescaped(t: &DebugTree, id: NodeId) -> String {
    let mut s = String::new();
    unescape_debug_str(t.text_of(id), &mut s);
    s
}
