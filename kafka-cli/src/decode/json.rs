//! JSON Lines output: one object per frame, schema in `docs/decode.md`.
//!
//! Written by hand straight into the output buffer (no intermediate `serde_json::Value`), from
//! the message tree and the decoded record data.

use std::io::{self, Write};

use kafka_protocol::record::{Batch, ControlRecord, ControlRecordType, Record};

use super::decoder::DecodedFrame;
use super::records::{DecodedBatch, RecordSet};
use super::text::{
    unescape_debug_bytes, unescape_debug_str, write_i64, write_json_bytes, write_json_opt_bytes,
    write_json_str,
};
use super::tree::{DebugTree, Kind, NodeId};
use crate::capture::Timestamp;

/// Reusable buffers for the JSON writer.
#[derive(Debug, Default)]
pub struct JsonWriter {
    bytes: Vec<u8>,
    string: String,
}

impl JsonWriter {
    /// Writes one frame as a JSON object followed by a newline. `number` is the frame's
    /// 1-based position in the capture.
    pub fn write_frame(
        &mut self,
        w: &mut impl Write,
        number: u64,
        f: &DecodedFrame<'_>,
    ) -> io::Result<()> {
        let fr = f.frame;
        write!(w, "{{\"frame\":{number},\"ts\":")?;
        write_ts(w, fr.ts)?;
        write!(
            w,
            ",\"stream\":{{\"index\":{},\"client\":\"{}\",\"server\":\"{}\"}},\"direction\":\"{}\",\"offset\":{},\"length\":{}",
            fr.stream.index,
            fr.stream.client,
            fr.stream.server,
            if f.is_request() { "request" } else { "response" },
            fr.offset,
            fr.bytes.len() + 4,
        )?;
        w.write_all(b",\"api_key\":")?;
        write_opt(w, f.api_key.map(|k| k.0))?;
        w.write_all(b",\"api_name\":")?;
        match f.api_name() {
            Some(n) => write!(w, "\"{n}\"")?,
            None => w.write_all(b"null")?,
        }
        w.write_all(b",\"api_version\":")?;
        write_opt(w, f.api_version)?;
        w.write_all(b",\"correlation_id\":")?;
        write_opt(w, f.correlation_id)?;
        if f.is_request() {
            w.write_all(b",\"client_id\":")?;
            match f.client_id {
                Some(c) => write_json_str(w, c)?,
                None => w.write_all(b"null")?,
            }
        } else if let Some(ns) = f.latency_ns {
            write!(w, ",\"latency_us\":{}", ns / 1000)?;
        }
        if let Some(v) = f.decoded_as {
            write!(w, ",\"decoded_as_version\":{v}")?;
        }
        if f.trailing_bytes > 0 {
            write!(w, ",\"ignored_trailing_bytes\":{}", f.trailing_bytes)?;
        }
        if let Some(body) = f.body {
            w.write_all(b",\"body\":")?;
            self.write_node(w, f.tree, body, f.records)?;
        }
        if let Some(e) = f.error {
            w.write_all(b",\"error\":{\"reason\":")?;
            write_json_str(w, &e.reason)?;
            write!(
                w,
                ",\"offset\":{},\"frame_offset\":{}}}",
                fr.offset + e.frame_offset,
                e.frame_offset
            )?;
        }
        w.write_all(b"}\n")
    }

    /// Writes the subtree at `id` as JSON.
    pub fn write_node(
        &mut self,
        w: &mut impl Write,
        t: &DebugTree,
        id: NodeId,
        records: &[RecordSet],
    ) -> io::Result<()> {
        match t.kind(id) {
            Kind::Struct => {
                w.write_all(b"{")?;
                let mut first = true;
                for c in t.children(id) {
                    if skip_field(t, c) {
                        continue;
                    }
                    if !first {
                        w.write_all(b",")?;
                    }
                    first = false;
                    write!(w, "\"{}\":", t.field(c))?;
                    self.write_node(w, t, c, records)?;
                }
                w.write_all(b"}")
            }
            Kind::Tuple | Kind::List => {
                w.write_all(b"[")?;
                for (i, c) in t.children(id).enumerate() {
                    if i > 0 {
                        w.write_all(b",")?;
                    }
                    self.write_node(w, t, c, records)?;
                }
                w.write_all(b"]")
            }
            Kind::Null => w.write_all(b"null"),
            Kind::Bool | Kind::Int => w.write_all(t.text_of(id).as_bytes()),
            Kind::Float => {
                let text = t.text_of(id);
                if text.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e') {
                    // NaN, inf, -inf: not JSON numbers.
                    write!(w, "\"{text}\"")
                } else {
                    w.write_all(text.as_bytes())
                }
            }
            Kind::Str => {
                let text = t.text_of(id);
                if text.contains('\\') {
                    unescape_debug_str(text, &mut self.string);
                    write_json_str(w, &self.string)
                } else {
                    // Debug escapes quotes, backslashes and control characters: what is left
                    // needs no JSON escaping.
                    write!(w, "\"{text}\"")
                }
            }
            Kind::Bytes => {
                unescape_debug_bytes(t.text_of(id), &mut self.bytes);
                write_json_bytes(w, &self.bytes)
            }
            Kind::Uuid | Kind::Ident => write!(w, "\"{}\"", t.text_of(id)),
            Kind::Records(i) => match records.get(i as usize) {
                Some(set) => write_record_set(w, set),
                None => w.write_all(b"null"),
            },
        }
    }
}

/// Empty `unknown_tagged_fields` lists are left out (they are a codec detail); non-empty ones
/// are kept.
pub(crate) fn skip_field(t: &DebugTree, id: NodeId) -> bool {
    t.field(id) == "unknown_tagged_fields" && t.child_count(id) == 0
}

fn write_opt<T: std::fmt::Display>(w: &mut impl Write, v: Option<T>) -> io::Result<()> {
    match v {
        Some(v) => write!(w, "{v}"),
        None => w.write_all(b"null"),
    }
}

/// Seconds since the epoch with nanoseconds, as a JSON number.
pub fn write_ts(w: &mut impl Write, ts: Timestamp) -> io::Result<()> {
    if ts.secs < 0 {
        // Never in practice; keep the number well-formed.
        let ns = ts.as_nanos();
        return write!(w, "-{}.{:09}", (-ns) / 1_000_000_000, (-ns) % 1_000_000_000);
    }
    write!(w, "{}.{:09}", ts.secs, ts.nanos)
}

/// Writes a decoded records blob.
pub fn write_record_set(w: &mut impl Write, set: &RecordSet) -> io::Result<()> {
    write!(w, "{{\"size\":{},\"batches\":[", set.size)?;
    for (i, b) in set.batches.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_batch(w, b)?;
    }
    w.write_all(b"]")?;
    if let Some(t) = &set.truncated {
        write!(
            w,
            ",\"truncated_tail\":{{\"position\":{},\"size\":{}}}",
            t.position,
            t.bytes.len()
        )?;
    }
    if let Some(e) = &set.error {
        w.write_all(b",\"error\":{\"reason\":")?;
        write_json_str(w, &e.kind().to_string())?;
        write!(w, ",\"position\":{}}}", e.offset())?;
    }
    w.write_all(b"}")
}

/// Writes one batch with its records (without a trailing newline).
pub fn write_batch(w: &mut impl Write, d: &DecodedBatch) -> io::Result<()> {
    match &d.batch {
        Batch::V2(b) => {
            write!(
                w,
                "{{\"position\":{},\"magic\":2,\"base_offset\":{},\"last_offset\":{},\"size\":{},\"partition_leader_epoch\":{},\"crc\":{},\"attributes\":{},\"compression\":\"{}\",\"timestamp_type\":\"{}\",\"transactional\":{},\"control\":{},\"base_timestamp\":{},\"max_timestamp\":{},\"producer_id\":{},\"producer_epoch\":{},\"base_sequence\":{},\"records_count\":{}",
                d.position,
                b.base_offset,
                b.last_offset(),
                b.size(),
                b.partition_leader_epoch,
                b.crc,
                b.attributes,
                b.compression().name(),
                b.timestamp_type().name(),
                b.is_transactional(),
                b.is_control(),
                b.base_timestamp,
                b.max_timestamp,
                b.producer_id,
                b.producer_epoch,
                b.base_sequence,
                b.records_count,
            )?;
            if let Some(h) = b.delete_horizon_ms() {
                write!(w, ",\"delete_horizon_ms\":{h}")?;
            }
        }
        Batch::Legacy(b) => {
            write!(
                w,
                "{{\"position\":{},\"magic\":{},\"offset\":{},\"size\":{},\"crc\":{},\"attributes\":{},\"compression\":\"{}\",\"timestamp_type\":\"{}\",\"timestamp\":{}",
                d.position,
                b.magic,
                b.offset,
                b.size(),
                b.crc,
                b.attributes,
                b.compression().name(),
                b.timestamp_type().name(),
                b.timestamp,
            )?;
        }
    }
    w.write_all(b",\"records\":[")?;
    for (i, r) in d.records.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_record(w, r, d.control.get(i).filter(|_| d.is_control()))?;
    }
    w.write_all(b"]}")
}

fn write_record(w: &mut impl Write, r: &Record, control: Option<&ControlRecord>) -> io::Result<()> {
    w.write_all(b"{\"offset\":")?;
    write_i64(w, r.offset)?;
    w.write_all(b",\"timestamp\":")?;
    write_i64(w, r.timestamp)?;
    w.write_all(b",\"key\":")?;
    write_json_opt_bytes(w, r.key.as_deref())?;
    w.write_all(b",\"value\":")?;
    write_json_opt_bytes(w, r.value.as_deref())?;
    w.write_all(b",\"headers\":[")?;
    for (i, h) in r.headers.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"key\":")?;
        write_json_bytes(w, &h.key)?;
        w.write_all(b",\"value\":")?;
        write_json_opt_bytes(w, h.value.as_deref())?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]")?;
    if let Some(c) = control {
        w.write_all(b",\"control\":")?;
        write_control(w, c)?;
    }
    w.write_all(b"}")
}

/// The name of a control record type, as Java's `ControlRecordType` prints it.
pub fn control_type_name(kind: ControlRecordType) -> &'static str {
    match kind {
        ControlRecordType::Abort => "ABORT",
        ControlRecordType::Commit => "COMMIT",
        ControlRecordType::LeaderChange => "LEADER_CHANGE",
        ControlRecordType::SnapshotHeader => "SNAPSHOT_HEADER",
        ControlRecordType::SnapshotFooter => "SNAPSHOT_FOOTER",
        ControlRecordType::KRaftVersion => "KRAFT_VERSION",
        ControlRecordType::KRaftVoters => "KRAFT_VOTERS",
        ControlRecordType::Unknown(_) => "UNKNOWN",
    }
}

fn write_control(w: &mut impl Write, c: &ControlRecord) -> io::Result<()> {
    match c {
        ControlRecord::EndTransaction {
            commit,
            version,
            coordinator_epoch,
        } => write!(
            w,
            "{{\"type\":\"{}\",\"type_id\":{},\"version\":{version},\"coordinator_epoch\":{coordinator_epoch}}}",
            if *commit { "COMMIT" } else { "ABORT" },
            i32::from(*commit)
        ),
        ControlRecord::Other { kind, value } => {
            write!(
                w,
                "{{\"type\":\"{}\",\"type_id\":{},\"value\":",
                control_type_name(*kind),
                kind.id()
            )?;
            write_json_opt_bytes(w, value.as_deref())?;
            w.write_all(b"}")
        }
    }
}
