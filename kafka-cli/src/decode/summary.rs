//! The one-line summary per frame (the default output), like tshark's packet list:
//!
//! ```text
//!     3   0.001234 #1 127.0.0.1:53211 -> 127.0.0.1:9092 request  Produce v9 corr=4 topics=orders[0] records=10 batches=1
//!     4   0.003010 #1 127.0.0.1:9092 -> 127.0.0.1:53211 response Produce v9 corr=4 +1.776ms topics=orders[0]
//! ```
//!
//! Columns: frame number, seconds since the first frame, connection number, source ->
//! destination, direction, API and version, correlation id, for responses the time since the
//! request, then the [`Digest`]. A frame that did not decode ends with `ERROR: reason (offset N)`.

use std::io::{self, Write};

use super::decoder::DecodedFrame;
use super::digest::Digest;
use super::verbose::TreeWriter;
use crate::capture::Timestamp;

/// Writes summary lines (and, verbose, the tree under each).
#[derive(Debug, Default)]
pub struct SummaryWriter {
    origin: Option<Timestamp>,
    digest: Digest,
    tree: TreeWriter,
}

impl SummaryWriter {
    /// A writer whose relative times count from the first frame written.
    pub fn new() -> Self {
        Self::default()
    }

    /// The digest of the last frame written.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Computes the digest of `f` (done by [`write_line`](Self::write_line) too; call it when
    /// filtering needs the digest before deciding to write).
    pub fn compute_digest(&mut self, f: &DecodedFrame<'_>) {
        self.digest.compute(f);
    }

    /// Writes the summary line of `f`, computing its digest unless `digest_ready`.
    pub fn write_line(
        &mut self,
        w: &mut impl Write,
        number: u64,
        f: &DecodedFrame<'_>,
        digest_ready: bool,
    ) -> io::Result<()> {
        if !digest_ready {
            self.digest.compute(f);
        }
        let fr = f.frame;
        let origin = *self.origin.get_or_insert(fr.ts);
        let rel = fr.ts.as_nanos() - origin.as_nanos();
        let (sign, rel) = if rel < 0 { ("-", -rel) } else { ("", rel) };
        let dir = fr.direction;
        write!(
            w,
            "{number:>5} {sign}{:>4}.{:06} #{} {} -> {} {:<8} ",
            rel / 1_000_000_000,
            (rel % 1_000_000_000) / 1000,
            fr.stream.index,
            fr.stream.source(dir),
            fr.stream.destination(dir),
            if f.is_request() {
                "request"
            } else {
                "response"
            },
        )?;
        match (f.api_name(), f.api_key) {
            (Some(name), _) => w.write_all(name.as_bytes())?,
            (None, Some(k)) => write!(w, "ApiKey({})", k.0)?,
            (None, None) => w.write_all(b"?")?,
        }
        match f.api_version {
            Some(v) => write!(w, " v{v}")?,
            None => w.write_all(b" v?")?,
        }
        match f.correlation_id {
            Some(c) => write!(w, " corr={c}")?,
            None => w.write_all(b" corr=?")?,
        }
        if let Some(ns) = f.latency_ns {
            write!(
                w,
                " +{}.{:03}ms",
                ns / 1_000_000,
                (ns % 1_000_000).abs() / 1000
            )?;
        }
        if let Some(v) = f.decoded_as {
            write!(w, " (read as v{v}, KIP-511)")?;
        }
        if f.body_unparsed {
            w.write_all(b" (unknown version: body not decoded)")?;
        }
        if f.trailing_bytes > 0 {
            write!(w, " ({} trailing bytes ignored)", f.trailing_bytes)?;
        }
        if f.is_request() && !f.expects_response {
            w.write_all(b" (no response expected)")?;
        }
        if f.body.is_some() && !self.digest.is_empty() {
            w.write_all(b" ")?;
            self.digest.write(w)?;
        }
        if let Some(e) = f.error {
            write!(
                w,
                " ERROR: {} (offset {})",
                e.reason,
                fr.offset + e.frame_offset
            )?;
        }
        writeln!(w)
    }

    /// Writes the summary line and then the full tree of the message, indented.
    pub fn write_verbose(
        &mut self,
        w: &mut impl Write,
        number: u64,
        f: &DecodedFrame<'_>,
        digest_ready: bool,
    ) -> io::Result<()> {
        self.write_line(w, number, f, digest_ready)?;
        if let Some(c) = f.client_id {
            writeln!(w, "      client_id: {c:?}")?;
        }
        if let Some(body) = f.body {
            self.tree.write(w, f.tree, body, f.records, 6)?;
        }
        if f.trailing_bytes > 0 {
            // The bytes themselves, for forensics: the broker ignored them.
            let bytes = &f.frame.bytes[f.frame.bytes.len().saturating_sub(f.trailing_bytes)..];
            w.write_all(b"      ignored trailing bytes: 0x")?;
            super::text::write_hex(w, bytes)?;
            writeln!(w)?;
        }
        writeln!(w)
    }
}
