//! The indented tree view (`-v`): every field of the message on its own line, record batches and
//! records in full.

use std::io::{self, Write};

use kafka_protocol::record::{Batch, ControlRecord, Record};

use super::json::{control_type_name, skip_field};
use super::records::{DecodedBatch, RecordSet};
use super::text::{unescape_debug_bytes, write_text_bytes, write_text_opt_bytes};
use super::tree::{DebugTree, Kind, NodeId};

/// Scalar lists up to this many elements are written on one line.
const INLINE_LIST: usize = 16;

/// Writes the indented tree of a message.
#[derive(Debug, Default)]
pub struct TreeWriter {
    bytes: Vec<u8>,
}

impl TreeWriter {
    /// Writes the subtree at `id`, whose first line starts after `label` at `indent`.
    pub fn write(
        &mut self,
        w: &mut impl Write,
        t: &DebugTree,
        id: NodeId,
        records: &[RecordSet],
        indent: usize,
    ) -> io::Result<()> {
        pad(w, indent)?;
        self.value(w, t, id, records, indent)
    }

    /// Writes a value after its label (already on the line), then its children on further lines.
    fn value(
        &mut self,
        w: &mut impl Write,
        t: &DebugTree,
        id: NodeId,
        records: &[RecordSet],
        indent: usize,
    ) -> io::Result<()> {
        match t.kind(id) {
            Kind::Struct => {
                writeln!(w, "{}", t.text_of(id))?;
                for c in t.children(id) {
                    if skip_field(t, c) {
                        continue;
                    }
                    pad(w, indent + 2)?;
                    write!(w, "{}: ", t.field(c))?;
                    self.value(w, t, c, records, indent + 2)?;
                }
                Ok(())
            }
            Kind::Tuple | Kind::List => {
                let n = t.child_count(id);
                if n == 0 {
                    return writeln!(w, "[]");
                }
                if n <= INLINE_LIST && t.children(id).all(|c| is_scalar(t.kind(c))) {
                    w.write_all(b"[")?;
                    for (i, c) in t.children(id).enumerate() {
                        if i > 0 {
                            w.write_all(b", ")?;
                        }
                        self.scalar(w, t, c)?;
                    }
                    return writeln!(w, "]");
                }
                writeln!(w, "({n} items)")?;
                for (i, c) in t.children(id).enumerate() {
                    pad(w, indent + 2)?;
                    write!(w, "[{i}]: ")?;
                    self.value(w, t, c, records, indent + 2)?;
                }
                Ok(())
            }
            Kind::Records(i) => match records.get(i as usize) {
                Some(set) => write_record_set(w, set, indent + 2),
                None => writeln!(w, "null"),
            },
            _ => {
                self.scalar(w, t, id)?;
                writeln!(w)
            }
        }
    }

    fn scalar(&mut self, w: &mut impl Write, t: &DebugTree, id: NodeId) -> io::Result<()> {
        match t.kind(id) {
            Kind::Null => w.write_all(b"null"),
            Kind::Str => write!(w, "\"{}\"", t.text_of(id)),
            Kind::Bytes => {
                unescape_debug_bytes(t.text_of(id), &mut self.bytes);
                write_text_bytes(w, &self.bytes, None)
            }
            _ => w.write_all(t.text_of(id).as_bytes()),
        }
    }
}

fn is_scalar(k: Kind) -> bool {
    !matches!(
        k,
        Kind::Struct | Kind::Tuple | Kind::List | Kind::Records(_)
    )
}

fn pad(w: &mut impl Write, n: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

/// Writes a records blob: a heading on the current line, then batches and records indented.
pub fn write_record_set(w: &mut impl Write, set: &RecordSet, indent: usize) -> io::Result<()> {
    writeln!(
        w,
        "{} bytes, {} batches, {} records",
        set.size,
        set.batches.len(),
        set.record_count()
    )?;
    for b in &set.batches {
        pad(w, indent)?;
        write_batch_line(w, b)?;
        for (i, r) in b.records.iter().enumerate() {
            pad(w, indent + 2)?;
            write_record_line(w, r, b.control.get(i).filter(|_| b.is_control()))?;
        }
    }
    if let Some(t) = &set.truncated {
        pad(w, indent)?;
        writeln!(
            w,
            "truncated batch at {} ({} bytes; normal at the end of a fetch)",
            t.position,
            t.bytes.len()
        )?;
    }
    if let Some(e) = &set.error {
        pad(w, indent)?;
        writeln!(
            w,
            "ERROR: {} at byte {} of the records",
            e.kind(),
            e.offset()
        )?;
    }
    Ok(())
}

/// One line describing a batch header.
pub fn write_batch_line(w: &mut impl Write, d: &DecodedBatch) -> io::Result<()> {
    match &d.batch {
        Batch::V2(b) => {
            write!(
                w,
                "batch @{}: magic=2 offsets={}..{} count={} codec={} {} producer_id={} epoch={} base_sequence={} leader_epoch={} base_ts={} max_ts={} size={} crc={:#010x}",
                d.position,
                b.base_offset,
                b.last_offset(),
                b.records_count,
                b.compression().name(),
                b.timestamp_type().name(),
                b.producer_id,
                b.producer_epoch,
                b.base_sequence,
                b.partition_leader_epoch,
                b.base_timestamp,
                b.max_timestamp,
                b.size(),
                b.crc,
            )?;
            if b.is_transactional() {
                w.write_all(b" transactional")?;
            }
            if b.is_control() {
                w.write_all(b" control")?;
            }
            if let Some(h) = b.delete_horizon_ms() {
                write!(w, " delete_horizon={h}")?;
            }
            writeln!(w)
        }
        Batch::Legacy(b) => writeln!(
            w,
            "message @{}: magic={} offset={} codec={} {} ts={} size={} crc={:#010x}",
            d.position,
            b.magic,
            b.offset,
            b.compression().name(),
            b.timestamp_type().name(),
            b.timestamp,
            b.size(),
            b.crc,
        ),
    }
}

/// One line describing a record (or control record).
pub fn write_record_line(
    w: &mut impl Write,
    r: &Record,
    control: Option<&ControlRecord>,
) -> io::Result<()> {
    write!(w, "offset={} ts={}", r.offset, r.timestamp)?;
    if r.sequence >= 0 {
        write!(w, " seq={}", r.sequence)?;
    }
    if let Some(c) = control {
        return match c {
            ControlRecord::EndTransaction {
                commit,
                coordinator_epoch,
                ..
            } => writeln!(
                w,
                " control={} coordinator_epoch={coordinator_epoch}",
                if *commit { "COMMIT" } else { "ABORT" }
            ),
            ControlRecord::Other { kind, value } => {
                write!(w, " control={} value=", control_type_name(*kind))?;
                write_text_opt_bytes(w, value.as_deref(), None)?;
                writeln!(w)
            }
        };
    }
    w.write_all(b" key=")?;
    write_text_opt_bytes(w, r.key.as_deref(), None)?;
    w.write_all(b" value=")?;
    write_text_opt_bytes(w, r.value.as_deref(), None)?;
    if !r.headers.is_empty() {
        w.write_all(b" headers={")?;
        for (i, h) in r.headers.iter().enumerate() {
            if i > 0 {
                w.write_all(b", ")?;
            }
            write_text_bytes(w, &h.key, None)?;
            w.write_all(b": ")?;
            write_text_opt_bytes(w, h.value.as_deref(), None)?;
        }
        w.write_all(b"}")?;
    }
    writeln!(w)
}
