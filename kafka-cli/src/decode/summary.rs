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
use super::text::{push_dec, push_int};
use super::verbose::TreeWriter;
use crate::capture::Timestamp;

/// [`push_dec`] for the seconds column, which a capture's timestamps could push past `u64`.
fn write_dec_wide(w: &mut Vec<u8>, n: u128, width: usize, pad: u8) {
    match u64::try_from(n) {
        Ok(n) => push_dec(w, n, width, pad),
        // Writing to a Vec cannot fail.
        Err(_) if pad == b'0' => drop(write!(w, "{n:0>width$}")),
        Err(_) => drop(write!(w, "{n:>width$}")),
    }
}

/// Appends ` +{ms}.{µs:03}ms` for a latency in nanoseconds, as `core::fmt` did.
fn push_latency(w: &mut Vec<u8>, ns: i64) {
    w.extend_from_slice(b" +");
    push_int(w, ns / 1_000_000);
    w.push(b'.');
    push_dec(w, (ns % 1_000_000).unsigned_abs() / 1000, 3, b'0');
    w.extend_from_slice(b"ms");
}

/// Appends `addr` as its `Display` writes it (`1.2.3.4:5`, `[::1]:5`).
fn write_addr(w: &mut Vec<u8>, addr: std::net::SocketAddr) {
    match addr {
        std::net::SocketAddr::V4(a) => {
            for (i, o) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    w.push(b'.');
                }
                push_dec(w, u64::from(o), 0, b' ');
            }
            w.push(b':');
            push_dec(w, u64::from(a.port()), 0, b' ');
        }
        std::net::SocketAddr::V6(a) => {
            // Writing to a Vec cannot fail.
            let _ = write!(w, "{a}");
        }
    }
}

/// Writes summary lines (and, verbose, the tree under each).
#[derive(Debug, Default)]
pub struct SummaryWriter {
    origin: Option<Timestamp>,
    digest: Digest,
    tree: TreeWriter,
    /// The line being built (one `write_all` per line).
    line: Vec<u8>,
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
        // The fixed columns without `core::fmt` (it was a fifth of the summary's time), as
        // `{number:>5} {sign}{:>4}.{:06} #{index} {src} -> {dst} {dir:<8} `.
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let w0 = w;
        let w = &mut line;
        push_dec(w, number, 5, b' ');
        w.push(b' ');
        w.extend_from_slice(sign.as_bytes());
        write_dec_wide(w, rel.unsigned_abs() / 1_000_000_000, 4, b' ');
        w.push(b'.');
        push_dec(
            w,
            ((rel.unsigned_abs() % 1_000_000_000) / 1000) as u64,
            6,
            b'0',
        );
        w.extend_from_slice(b" #");
        push_dec(w, fr.stream.index, 0, b' ');
        w.push(b' ');
        write_addr(w, fr.stream.source(dir));
        w.extend_from_slice(b" -> ");
        write_addr(w, fr.stream.destination(dir));
        w.extend_from_slice(if f.is_request() {
            b" request  "
        } else {
            b" response "
        });
        match (f.api_name(), f.api_key) {
            (Some(name), _) => w.write_all(name.as_bytes())?,
            (None, Some(k)) => write!(w, "ApiKey({})", k.0)?,
            (None, None) => w.write_all(b"?")?,
        }
        match f.api_version {
            Some(v) => {
                w.extend_from_slice(b" v");
                push_int(w, v.into());
            }
            None => w.write_all(b" v?")?,
        }
        match f.correlation_id {
            Some(c) => {
                w.extend_from_slice(b" corr=");
                push_int(w, c.into());
            }
            None => w.write_all(b" corr=?")?,
        }
        if let Some(ns) = f.latency_ns {
            push_latency(w, ns);
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
        if f.is_decoded() && !self.digest.is_empty() {
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
        w.push(b'\n');
        let written = w0.write_all(&line);
        self.line = line;
        written
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_columns_match_core_fmt() {
        let mut w = Vec::new();
        for n in [0u64, 7, 42, 99_999, 100_000, 1 << 40, u64::MAX] {
            w.clear();
            push_dec(&mut w, n, 5, b' ');
            assert_eq!(String::from_utf8_lossy(&w), format!("{n:>5}"));
            w.clear();
            push_dec(&mut w, n, 6, b'0');
            assert_eq!(String::from_utf8_lossy(&w), format!("{n:06}"));
        }
        for n in [0u128, 9, 12_345, u128::from(u64::MAX) + 1, u128::MAX] {
            w.clear();
            write_dec_wide(&mut w, n, 4, b' ');
            assert_eq!(String::from_utf8_lossy(&w), format!("{n:>4}"));
            w.clear();
            write_dec_wide(&mut w, n, 30, b'0');
            assert_eq!(String::from_utf8_lossy(&w), format!("{n:030}"));
        }
        for ns in [
            0i64,
            999,
            1_000,
            1_234_567,
            -1_234_567,
            -999_999,
            i64::MIN,
            i64::MAX,
        ] {
            w.clear();
            push_latency(&mut w, ns);
            let expected = format!(
                " +{}.{:03}ms",
                ns / 1_000_000,
                (ns % 1_000_000).abs() / 1000
            );
            assert_eq!(String::from_utf8_lossy(&w), expected);
        }
        for n in [0i64, -1, 5, i64::MIN, i64::MAX] {
            w.clear();
            push_int(&mut w, n);
            assert_eq!(String::from_utf8_lossy(&w), n.to_string());
        }
        for a in [
            "127.0.0.1:9092",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "[::1]:9092",
        ] {
            let a: std::net::SocketAddr = a.parse().unwrap();
            w.clear();
            write_addr(&mut w, a);
            assert_eq!(String::from_utf8_lossy(&w), a.to_string());
        }
    }
}
