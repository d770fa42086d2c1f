//! Kafka framing of one direction's byte stream: 4-byte big-endian length prefix, then the frame.
//!
//! In the common case bytes are appended to one contiguous buffer and each complete frame is cut
//! off as a `Bytes` slice of it (one copy from the packet into the buffer, none afterwards).
//! When framing is lost (a gap, an implausible length, a capture starting mid-connection) the
//! framer scans forward for a plausible frame start and reports what it skipped.

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};

use super::context::Ctx;
use super::correlation::Outstanding;
use super::event::{CaptureEvent, Direction, Frame, NotKafkaReason, SkipReason, StreamId};
use super::plausible::{
    is_tls_handshake, is_tls_record, length_prefix, plausible_request, plausible_response,
    request_header, request_start, Verdict, REQUEST_PROBE, RESPONSE_PROBE,
};
use super::time::Timestamp;

/// Buffer growth step for streams of small frames.
const CHUNK: usize = 64 << 10;
/// Most buffer space reserved for a frame before its data arrives.
const RESERVE_AHEAD: usize = 1 << 20;
/// While resynchronising, a candidate frame up to this long is confirmed by looking at what
/// follows it (waiting for the data if needed); longer candidates need to start a packet.
const CHAIN_WINDOW: usize = 64 << 10;
/// Segment start offsets remembered while resynchronising.
const MAX_SEGMENT_STARTS: usize = 1024;
/// After a gap, a request's correlation id must exceed the last one seen by at most this.
const CORRELATION_WINDOW: i32 = 1 << 20;

/// Everything a framer needs from its connection while processing one packet.
#[derive(Debug)]
pub(crate) struct FrameCx<'a, 'c> {
    pub stream: StreamId,
    pub direction: Direction,
    pub ctx: &'a mut Ctx<'c>,
    pub outstanding: &'a mut Outstanding,
    /// Frames produced so far on the connection (both directions).
    pub conn_frames: &'a mut u64,
    /// Set when this stream shows the connection is not Kafka.
    pub verdict: &'a mut Option<NotKafkaReason>,
}

impl FrameCx<'_, '_> {
    fn skipped(&mut self, at: u64, len: u64, reason: SkipReason) {
        if len == 0 {
            return;
        }
        self.ctx.stats.skipped_bytes += len;
        self.ctx.events.push_back(CaptureEvent::Skipped {
            stream: self.stream,
            direction: self.direction,
            ts: self.ctx.ts,
            at,
            len,
            reason,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started yet.
    Fresh,
    /// Framed: `buf` starts at a frame boundary.
    Sync,
    /// Discarding bytes up to offset `until` (the end of a frame), then `Sync`.
    Skip { until: u64 },
    /// Looking for a plausible frame start; skipping began at offset `from`.
    Scan { from: u64 },
    /// Not Kafka, or finished: everything is discarded.
    Dead,
}

/// True if correlation id `next` plausibly follows `last` on one connection.
fn corr_follows(last: i32, next: i32) -> bool {
    let d = next.wrapping_sub(last);
    d > 0 && d <= CORRELATION_WINDOW
}

/// A request start found while resynchronising.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    len: i32,
    corr: i32,
    client_id: Option<&'a [u8]>,
    /// It has a non-empty client id.
    named: bool,
}

/// Frames one direction of a connection.
#[derive(Debug)]
pub(crate) struct Framer {
    state: State,
    /// Requests (client to server) or responses.
    request: bool,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    pos: u64,
    /// Index in `buf` where the current packet's bytes start.
    fresh_from: usize,
    /// Capture time of the packet that carried `buf[0]` (best effort).
    first_ts: Timestamp,
    /// Validate the next frame as the stream's first (not-Kafka detection).
    check_first: bool,
    /// Check for a TLS record at the next scan (mid-stream start).
    check_tls: bool,
    /// Bytes scanned without finding a frame start.
    scanned: u64,
    /// Stream offsets where packets started, while resynchronising.
    seg_starts: VecDeque<u64>,
    /// Request direction: client id of the last request (outer `None`: none seen yet).
    client_id: Option<Option<Vec<u8>>>,
    /// Request direction: correlation id of the last request.
    last_corr: Option<i32>,
}

impl Framer {
    pub(crate) fn new() -> Self {
        Framer {
            state: State::Fresh,
            request: true,
            buf: BytesMut::new(),
            pos: 0,
            fresh_from: 0,
            first_ts: Timestamp::ZERO,
            check_first: false,
            check_tls: false,
            scanned: 0,
            seg_starts: VecDeque::new(),
            client_id: None,
            last_corr: None,
        }
    }

    /// True until one of the `start_*` methods was called.
    pub(crate) fn is_fresh(&self) -> bool {
        self.state == State::Fresh
    }

    /// True if everything is being discarded (not Kafka or finished).
    pub(crate) fn is_dead(&self) -> bool {
        self.state == State::Dead
    }

    /// The stream starts at `offset` with a frame (SYN seen); the first frame is checked for
    /// being Kafka at all.
    pub(crate) fn start_synced(&mut self, direction: Direction, offset: u64) {
        self.request = direction.is_request();
        self.pos = offset;
        self.state = State::Sync;
        self.check_first = true;
    }

    /// The stream starts at `offset` somewhere inside (capture started mid-connection).
    pub(crate) fn start_unsynced(&mut self, direction: Direction, offset: u64) {
        self.request = direction.is_request();
        self.pos = offset;
        self.state = State::Scan { from: offset };
        self.check_tls = true;
    }

    /// The stream's data starts at `offset` and a frame is known to start at `frame_at`
    /// (auto-detection); the bytes in between are skipped.
    pub(crate) fn start_at(
        &mut self,
        direction: Direction,
        offset: u64,
        frame_at: u64,
        cx: &mut FrameCx<'_, '_>,
    ) {
        self.request = direction.is_request();
        self.pos = offset;
        if frame_at > offset {
            cx.skipped(offset, frame_at - offset, SkipReason::Resync);
            self.state = State::Skip { until: frame_at };
        } else {
            self.state = State::Sync;
        }
    }

    /// Bytes at the end of the stream seen so far.
    pub(crate) fn push(&mut self, mut data: &[u8], cx: &mut FrameCx<'_, '_>) {
        loop {
            match self.state {
                State::Fresh => self.state = State::Scan { from: self.pos },
                State::Dead => {
                    self.pos += data.len() as u64;
                    return;
                }
                State::Skip { until } => {
                    let n = (until.saturating_sub(self.pos)).min(data.len() as u64) as usize;
                    self.pos += n as u64;
                    data = &data[n..];
                    if self.pos >= until {
                        self.state = State::Sync;
                    }
                    if data.is_empty() {
                        return;
                    }
                }
                State::Sync | State::Scan { .. } => {
                    if matches!(self.state, State::Scan { .. }) && !data.is_empty() {
                        self.note_segment_start(self.pos + self.buf.len() as u64);
                    }
                    self.append(data, cx.ctx.ts);
                    self.process(cx);
                    return;
                }
            }
        }
    }

    /// `len` bytes at `at` (the current end of the stream) are missing.
    pub(crate) fn gap(&mut self, at: u64, len: u64, cx: &mut FrameCx<'_, '_>) {
        let end = self.pos + self.buf.len() as u64;
        let resume = at.max(end).saturating_add(len);
        match self.state {
            State::Fresh => {
                self.pos = resume;
                self.state = State::Scan { from: resume };
            }
            State::Dead => self.pos = resume,
            State::Skip { until } => {
                self.pos = resume;
                self.state = match resume.cmp(&until) {
                    std::cmp::Ordering::Less => State::Skip { until },
                    std::cmp::Ordering::Equal => State::Sync,
                    std::cmp::Ordering::Greater => State::Scan { from: resume },
                };
            }
            State::Sync => {
                let frame_len = length_prefix(&self.buf)
                    .filter(|&l| l >= 0 && l as u32 <= cx.ctx.opts.max_frame_len)
                    .map(|l| 4 + l as u64);
                match frame_len {
                    Some(total) if resume <= self.pos + total => {
                        // Framing survives: drop this frame, continue after it.
                        let frame_end = self.pos + total;
                        cx.skipped(self.pos, total, SkipReason::DamagedByGap);
                        self.clear_buf();
                        self.pos = resume;
                        self.state = if resume == frame_end {
                            State::Sync
                        } else {
                            State::Skip { until: frame_end }
                        };
                    }
                    _ => {
                        cx.skipped(self.pos, self.buf.len() as u64, SkipReason::DamagedByGap);
                        self.clear_buf();
                        self.pos = resume;
                        self.state = State::Scan { from: resume };
                    }
                }
            }
            State::Scan { from } => {
                let n = end.saturating_sub(from);
                cx.skipped(from, n, SkipReason::Resync);
                self.clear_buf();
                self.pos = resume;
                self.state = State::Scan { from: resume };
            }
        }
    }

    /// The stream ended: report what is left unframed and release the buffer.
    pub(crate) fn finish(&mut self, cx: &mut FrameCx<'_, '_>) {
        match self.state {
            State::Sync if !self.buf.is_empty() => {
                cx.skipped(self.pos, self.buf.len() as u64, SkipReason::Truncated);
            }
            State::Scan { from } => {
                let n = (self.pos + self.buf.len() as u64).saturating_sub(from);
                cx.skipped(from, n, SkipReason::Resync);
            }
            _ => {}
        }
        self.pos += self.buf.len() as u64;
        self.buf = BytesMut::new();
        self.state = State::Dead;
    }

    /// Stops framing for good (the connection is not Kafka).
    pub(crate) fn kill(&mut self) {
        self.pos += self.buf.len() as u64;
        self.buf = BytesMut::new();
        self.state = State::Dead;
    }

    fn not_kafka(&mut self, reason: NotKafkaReason, cx: &mut FrameCx<'_, '_>) {
        if cx.verdict.is_none() {
            *cx.verdict = Some(reason);
        }
        self.kill();
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.fresh_from = 0;
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.pos += n as u64;
        self.fresh_from = self.fresh_from.saturating_sub(n);
    }

    fn append(&mut self, data: &[u8], ts: Timestamp) {
        if self.buf.is_empty() {
            self.first_ts = ts;
        }
        self.fresh_from = self.buf.len();
        if self.buf.capacity() - self.buf.len() < data.len() {
            // Grow by doubling: memory stays proportional to the data actually buffered.
            self.buf.reserve(data.len().max(CHUNK).max(self.buf.len()));
        }
        self.buf.extend_from_slice(data);
    }

    fn process(&mut self, cx: &mut FrameCx<'_, '_>) {
        loop {
            let again = match self.state {
                State::Sync => self.step_sync(cx),
                State::Scan { from } => self.step_scan(from, cx),
                _ => false,
            };
            if !again {
                return;
            }
        }
    }

    /// Cuts complete frames. Returns true if the state changed and processing should go on.
    fn step_sync(&mut self, cx: &mut FrameCx<'_, '_>) -> bool {
        loop {
            let Some(len) = length_prefix(&self.buf) else {
                return false;
            };
            if self.check_first {
                match self.check_first_frame(len, cx) {
                    Verdict::Yes => self.check_first = false,
                    Verdict::NeedMore => return false,
                    Verdict::No => return false,
                }
            }
            if len < 0 || len as u32 > cx.ctx.opts.max_frame_len {
                // Framing lost. The current packet's start is a candidate frame start.
                if self.fresh_from < self.buf.len() {
                    self.note_segment_start(self.pos + self.fresh_from as u64);
                }
                self.state = State::Scan { from: self.pos };
                return true;
            }
            let len = len as usize;
            let total = 4 + len as u64;
            if len > cx.ctx.opts.max_frame_buffer {
                cx.skipped(self.pos, total, SkipReason::FrameTooLarge);
                if self.buf.len() as u64 >= total {
                    self.advance(total as usize);
                    continue;
                }
                let until = self.pos + total;
                self.pos += self.buf.len() as u64;
                self.clear_buf();
                self.state = State::Skip { until };
                return false;
            }
            if self.buf.len() < 4 + len {
                // Make room for the rest of the frame, but never on the word of a length
                // prefix alone beyond RESERVE_AHEAD: larger frames grow as their data arrives.
                let missing = (4 + len - self.buf.len()).min(RESERVE_AHEAD);
                if self.buf.capacity() - self.buf.len() < missing {
                    self.buf.reserve(missing);
                }
                return false;
            }
            let offset = self.pos;
            self.advance(4);
            let bytes = self.buf.split_to(len).freeze();
            self.pos += len as u64;
            self.fresh_from = self.fresh_from.saturating_sub(len);
            self.emit(offset, bytes, cx);
            if self.fresh_from == 0 {
                self.first_ts = cx.ctx.ts;
            }
        }
    }

    /// Validates the first frame of a stream that started with the handshake.
    fn check_first_frame(&mut self, len: i32, cx: &mut FrameCx<'_, '_>) -> Verdict {
        if is_tls_handshake(&self.buf) {
            self.not_kafka(NotKafkaReason::Tls, cx);
            return Verdict::No;
        }
        if len < 0 || len as u32 > cx.ctx.opts.max_frame_len {
            self.not_kafka(NotKafkaReason::ImplausibleLength(i64::from(len)), cx);
            return Verdict::No;
        }
        if !self.request {
            return Verdict::Yes;
        }
        match plausible_request(&self.buf, cx.ctx.opts.max_frame_len) {
            Verdict::No => {
                self.not_kafka(NotKafkaReason::NotARequest, cx);
                Verdict::No
            }
            v => v,
        }
    }

    fn note_segment_start(&mut self, offset: u64) {
        if self.seg_starts.back().is_some_and(|&b| b >= offset) {
            return;
        }
        if self.seg_starts.len() >= MAX_SEGMENT_STARTS {
            self.seg_starts.pop_front();
        }
        self.seg_starts.push_back(offset);
    }

    /// Scans for a frame start. Returns true if one was found (state is `Sync` again).
    ///
    /// Positions where a packet started are tried first (senders usually write a frame at a
    /// time). Other positions are only tried when there is knowledge to check candidates
    /// against: the connection's client id and correlation ids for requests, outstanding
    /// correlation ids for responses.
    fn step_scan(&mut self, from: u64, cx: &mut FrameCx<'_, '_>) -> bool {
        if self.check_tls && self.buf.len() >= 3 {
            self.check_tls = false;
            if *cx.conn_frames == 0 && is_tls_record(&self.buf) {
                self.not_kafka(NotKafkaReason::Tls, cx);
                return false;
            }
        }
        while self.seg_starts.front().is_some_and(|&s| s < self.pos) {
            self.seg_starts.pop_front();
        }
        let len = self.buf.len();
        let probe = if self.request {
            REQUEST_PROBE
        } else {
            RESPONSE_PROBE
        };
        // Bytes before `keep` are no longer needed.
        let mut keep = len;
        let mut found = None;
        for &s in &self.seg_starts {
            let p = (s - self.pos) as usize;
            if p >= len {
                break;
            }
            match self.candidate(p, true, cx) {
                Verdict::Yes => {
                    found = Some(p);
                    break;
                }
                Verdict::NeedMore => {
                    keep = p;
                    break;
                }
                Verdict::No => {}
            }
        }
        let informed = if self.request {
            self.client_id.is_some()
        } else {
            !cx.outstanding.is_empty()
        };
        if found.is_none() && informed {
            let mut p = 0;
            while p < keep && p + probe <= len {
                let at_seg = self.seg_starts.contains(&(self.pos + p as u64));
                match self.candidate(p, at_seg, cx) {
                    Verdict::Yes => {
                        found = Some(p);
                        break;
                    }
                    Verdict::NeedMore => break,
                    Verdict::No => p += 1,
                }
            }
            keep = keep.min(p);
        }
        let discard = found.unwrap_or(keep);
        self.advance(discard);
        self.scanned += discard as u64;
        if found.is_some() {
            let skipped = self.pos - from;
            cx.skipped(from, skipped, SkipReason::Resync);
            if self.fresh_from == 0 {
                self.first_ts = cx.ctx.ts;
            }
            self.seg_starts.clear();
            self.state = State::Sync;
            return true;
        }
        if *cx.conn_frames == 0 && self.scanned > cx.ctx.opts.max_resync_scan {
            let scanned = self.scanned;
            self.not_kafka(NotKafkaReason::NoFrameFound(scanned), cx);
        }
        false
    }

    /// Is `buf[p..]` the start of a frame?
    ///
    /// The candidate must pass the plausibility checks and agree with what is known about the
    /// connection: a request needs the connection's client id (or, if none is known yet, a
    /// non-empty one: zero-filled data easily looks like a request without one) and a
    /// correlation id after the last one; a response needs an outstanding correlation id.
    /// Requests with known client and correlation ids are accepted as they are. Otherwise the
    /// candidate is confirmed by what follows it: another frame start passing the same checks
    /// (same client id and a later correlation id; a response to a later request), or the end
    /// of a packet. Candidates too long to be confirmed that way must start a packet.
    fn candidate(&self, p: usize, at_segment_start: bool, cx: &FrameCx<'_, '_>) -> Verdict {
        let at = &self.buf[p..];
        let max_len = cx.ctx.opts.max_frame_len;
        let (len, request, response_pos) = if self.request {
            let req = match self.request_candidate(at, max_len) {
                Ok(r) => r,
                Err(v) => return v,
            };
            if let Some(last) = self.last_corr {
                if !corr_follows(last, req.corr) {
                    return Verdict::No;
                }
                if self.client_id.is_some() {
                    // Same client id, next correlation id: certain enough.
                    return Verdict::Yes;
                }
            }
            if self.client_id.is_none() && !req.named {
                // Zero-filled data easily looks like a request without a client id.
                return Verdict::No;
            }
            (req.len, Some(req), None)
        } else {
            let (Some(len), Some(pos)) = (
                length_prefix(at),
                at.get(4..8).and_then(|c| {
                    cx.outstanding
                        .position(i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                }),
            ) else {
                return plausible_response(at, max_len, cx.outstanding);
            };
            match plausible_response(at, max_len, cx.outstanding) {
                Verdict::Yes => {}
                v => return v,
            }
            (len, None, Some(pos))
        };
        let total = 4 + len as usize;
        let next = at.get(total..);
        let ends_packet = match next {
            Some([]) => true,
            Some(_) => self.seg_starts.contains(&(self.pos + (p + total) as u64)),
            None => false,
        };
        let chained = match (next, request) {
            (None | Some([]), _) => Verdict::NeedMore,
            (Some(next), Some(req)) => match self.request_candidate(next, max_len) {
                Ok(n) if n.client_id == req.client_id && corr_follows(req.corr, n.corr) => {
                    Verdict::Yes
                }
                Ok(_) => Verdict::No,
                Err(v) => v,
            },
            (Some(next), None) => match plausible_response(next, max_len, cx.outstanding) {
                // The next response answers a later request.
                Verdict::Yes => {
                    let later = next
                        .get(4..8)
                        .and_then(|c| {
                            cx.outstanding
                                .position(i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        })
                        .is_some_and(|pos| Some(pos) > response_pos);
                    if later {
                        Verdict::Yes
                    } else {
                        Verdict::No
                    }
                }
                v => v,
            },
        };
        match chained {
            Verdict::Yes => Verdict::Yes,
            _ if ends_packet => Verdict::Yes,
            Verdict::No => Verdict::No,
            Verdict::NeedMore if next.is_some() || total <= CHAIN_WINDOW => Verdict::NeedMore,
            Verdict::NeedMore if at_segment_start => Verdict::Yes,
            Verdict::NeedMore => Verdict::No,
        }
    }

    /// A plausible request start with this connection's client id (if known).
    fn request_candidate<'b>(&self, at: &'b [u8], max_len: u32) -> Result<Candidate<'b>, Verdict> {
        let (len, header) = request_start(at, max_len)?;
        if let Some(known) = &self.client_id {
            if known.as_deref() != header.client_id {
                return Err(Verdict::No);
            }
        }
        Ok(Candidate {
            len,
            corr: header.correlation_id,
            client_id: header.client_id,
            named: header.client_id.is_some_and(|id| !id.is_empty()),
        })
    }

    /// Remembers the client id and correlation id of a request frame (body after the prefix).
    fn learn_request(&mut self, body: &[u8]) {
        let Ok(len) = i32::try_from(body.len()) else {
            return;
        };
        let Ok(header) = request_header(body, len) else {
            return;
        };
        self.last_corr = Some(header.correlation_id);
        let same = matches!(&self.client_id, Some(known) if known.as_deref() == header.client_id);
        if !same {
            self.client_id = Some(header.client_id.map(<[u8]>::to_vec));
        }
    }

    fn emit(&mut self, offset: u64, bytes: bytes::Bytes, cx: &mut FrameCx<'_, '_>) {
        if self.request {
            if let Some(c) = bytes.get(4..8) {
                cx.outstanding
                    .insert(i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            }
            self.learn_request(&bytes);
        } else if let Some(c) = bytes.get(..4) {
            cx.outstanding
                .answered(i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        cx.ctx.stats.frames += 1;
        cx.ctx.stats.frame_bytes += 4 + bytes.len() as u64;
        *cx.conn_frames += 1;
        cx.ctx.events.push_back(CaptureEvent::Frame(Frame {
            stream: cx.stream,
            direction: cx.direction,
            ts: cx.ctx.ts,
            first_ts: self.first_ts,
            offset,
            bytes,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::options::CaptureOptions;
    use crate::capture::testutil::{request_frame, response_frame};

    /// Framing context for tests (the shared parts are leaked: tests are short-lived).
    struct Harness {
        ctx: Ctx<'static>,
        outstanding: Outstanding,
        frames: u64,
        verdict: Option<NotKafkaReason>,
        ts: i64,
    }

    impl Harness {
        fn new() -> Self {
            Self::with_opts(CaptureOptions::default())
        }

        fn with_opts(opts: CaptureOptions) -> Self {
            Harness {
                ctx: Ctx {
                    opts: Box::leak(Box::new(opts)),
                    events: Box::leak(Box::default()),
                    stats: Box::leak(Box::default()),
                    ts: Timestamp::ZERO,
                },
                outstanding: Outstanding::new(16),
                frames: 0,
                verdict: None,
                ts: 0,
            }
        }

        fn cx(&mut self, direction: Direction) -> FrameCx<'_, 'static> {
            self.ts += 1;
            self.ctx.ts = Timestamp::new(self.ts, 0);
            FrameCx {
                stream: StreamId {
                    index: 1,
                    client: "127.0.0.1:5000".parse().unwrap(),
                    server: "127.0.0.1:9092".parse().unwrap(),
                },
                direction,
                ctx: &mut self.ctx,
                outstanding: &mut self.outstanding,
                conn_frames: &mut self.frames,
                verdict: &mut self.verdict,
            }
        }

        fn frames(&mut self) -> Vec<Frame> {
            self.ctx
                .events
                .iter()
                .filter_map(|e| match e {
                    CaptureEvent::Frame(f) => Some(f.clone()),
                    _ => None,
                })
                .collect()
        }

        fn skips(&self) -> Vec<(u64, u64, SkipReason)> {
            self.ctx
                .events
                .iter()
                .filter_map(|e| match e {
                    CaptureEvent::Skipped {
                        at, len, reason, ..
                    } => Some((*at, *len, *reason)),
                    _ => None,
                })
                .collect()
        }
    }

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn split_and_coalesced_frames() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(C2S, 0);
        let a = request_frame(3, 1, 1, "c", &[1; 100]);
        let b = request_frame(3, 1, 2, "c", &[2; 5]);
        let c = request_frame(3, 1, 3, "c", &[3; 7]);
        // a split into 1-byte segments
        for byte in &a {
            f.push(&[*byte], &mut h.cx(C2S));
        }
        // b and c in one segment
        let bc = [b.clone(), c.clone()].concat();
        f.push(&bc, &mut h.cx(C2S));
        let frames = h.frames();
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0].bytes[..], &a[4..]);
        assert_eq!(frames[0].offset, 0);
        assert_eq!(frames[0].first_ts, Timestamp::new(1, 0));
        assert_eq!(frames[0].ts, Timestamp::new(a.len() as i64, 0));
        assert_eq!(&frames[1].bytes[..], &b[4..]);
        assert_eq!(frames[1].offset, a.len() as u64);
        assert_eq!(&frames[2].bytes[..], &c[4..]);
        assert_eq!(frames[2].offset, (a.len() + b.len()) as u64);
        assert!(h.outstanding.contains(1) && h.outstanding.contains(3));
        assert_eq!(h.ctx.stats.frames, 3);
        assert!(h.verdict.is_none());
    }

    #[test]
    fn tls_and_garbage_are_not_kafka() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(C2S, 0);
        f.push(
            &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0, 0, 0, 0],
            &mut h.cx(C2S),
        );
        assert_eq!(h.verdict, Some(NotKafkaReason::Tls));
        assert!(f.is_dead());
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(C2S, 0);
        f.push(b"GET / HTTP/1.1\r\n", &mut h.cx(C2S));
        assert!(matches!(
            h.verdict,
            Some(NotKafkaReason::ImplausibleLength(_))
        ));
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(C2S, 0);
        f.push(
            &[0, 0, 0, 20, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &mut h.cx(C2S),
        );
        assert_eq!(h.verdict, Some(NotKafkaReason::NotARequest));
        // mid-stream TLS application data
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_unsynced(C2S, 0);
        f.push(&[0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3], &mut h.cx(C2S));
        assert_eq!(h.verdict, Some(NotKafkaReason::Tls));
    }

    #[test]
    fn resync_after_gap_request_and_response() {
        let mut h = Harness::new();
        let mut req = Framer::new();
        let mut resp = Framer::new();
        req.start_synced(C2S, 0);
        resp.start_synced(S2C, 0);
        let r1 = request_frame(1, 11, 7, "cli", &[0; 50]);
        let r2 = request_frame(1, 11, 8, "cli", &[0; 50]);
        req.push(&r1[..20], &mut h.cx(C2S));
        // the rest of r1 and the start of r2 are lost, r2 arrives complete by retransmission?
        // no: 30 bytes of r1 plus 10 of r2 lost; then the rest of r2, then r3
        let lost = (r1.len() - 20) as u64 + 10;
        req.gap(20, lost, &mut h.cx(C2S));
        req.push(&r2[10..], &mut h.cx(C2S));
        let r3 = request_frame(1, 11, 9, "cli", &[0; 5]);
        req.push(&r3, &mut h.cx(C2S));
        let frames = h.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].correlation_id(), Some(9));
        let skips = h.skips();
        assert_eq!(skips[0], (0, 20, SkipReason::DamagedByGap));
        assert_eq!(skips[1].2, SkipReason::Resync);
        assert_eq!(skips[1].1, (r2.len() - 10) as u64);
        // responses: only correlation id 9 is outstanding (7 and 8 were lost)
        h.ctx.events.clear();
        let s8 = response_frame(8, &[0; 30]);
        let s9 = response_frame(9, &[0; 30]);
        resp.gap(0, 3, &mut h.cx(S2C));
        resp.push(&s8[3..], &mut h.cx(S2C));
        resp.push(&s9, &mut h.cx(S2C));
        let frames = h.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].correlation_id(), Some(9));
        assert_eq!(frames[0].offset, s8.len() as u64);
        assert!(!h.outstanding.contains(9));
    }

    #[test]
    fn gap_inside_frame_keeps_framing() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(S2C, 0);
        let a = response_frame(1, &[5; 100]);
        let b = response_frame(2, &[6; 10]);
        f.push(&a[..30], &mut h.cx(S2C));
        f.gap(30, 20, &mut h.cx(S2C));
        f.push(&a[50..], &mut h.cx(S2C));
        f.push(&b, &mut h.cx(S2C));
        let frames = h.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].correlation_id(), Some(2));
        assert_eq!(
            h.skips(),
            vec![(0, a.len() as u64, SkipReason::DamagedByGap)]
        );
        // a gap ending exactly at a frame boundary
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(S2C, 0);
        f.push(&a[..30], &mut h.cx(S2C));
        f.gap(30, (a.len() - 30) as u64, &mut h.cx(S2C));
        f.push(&b, &mut h.cx(S2C));
        assert_eq!(h.frames().len(), 1);
    }

    #[test]
    fn oversized_frames_are_skipped() {
        let mut h = Harness::with_opts(CaptureOptions {
            max_frame_buffer: 50,
            ..CaptureOptions::default()
        });
        let mut f = Framer::new();
        f.start_synced(S2C, 0);
        let big = response_frame(1, &[1; 200]);
        let small = response_frame(2, &[2; 10]);
        f.push(&big[..100], &mut h.cx(S2C));
        f.push(&big[100..], &mut h.cx(S2C));
        f.push(&small, &mut h.cx(S2C));
        // oversized frame entirely inside one push
        f.push(&[big.clone(), small.clone()].concat(), &mut h.cx(S2C));
        let frames = h.frames();
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.correlation_id() == Some(2)));
        let skips = h.skips();
        assert_eq!(skips.len(), 2);
        assert_eq!(skips[0], (0, big.len() as u64, SkipReason::FrameTooLarge));
    }

    #[test]
    fn implausible_length_mid_stream_resyncs() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_synced(C2S, 0);
        let a = request_frame(0, 9, 1, "p", &[]);
        f.push(&a, &mut h.cx(C2S));
        f.push(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3], &mut h.cx(C2S));
        let b = request_frame(0, 9, 2, "p", &[]);
        f.push(&b, &mut h.cx(C2S));
        assert_eq!(h.frames().len(), 2);
        assert_eq!(h.skips(), vec![(a.len() as u64, 7, SkipReason::Resync)]);
    }

    #[test]
    fn mid_stream_start_and_truncated_end() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_unsynced(C2S, 0);
        let a = request_frame(18, 3, 100, "admin", &[1, 2, 3]);
        let b = request_frame(18, 3, 101, "admin", &[4, 5, 6]);
        f.push(&a[7..], &mut h.cx(C2S));
        f.push(&b, &mut h.cx(C2S));
        f.push(&a[..9], &mut h.cx(C2S));
        f.finish(&mut h.cx(C2S));
        assert_eq!(h.frames().len(), 1);
        assert_eq!(
            h.skips(),
            vec![
                (0, (a.len() - 7) as u64, SkipReason::Resync),
                ((a.len() - 7 + b.len()) as u64, 9, SkipReason::Truncated)
            ]
        );
    }

    #[test]
    fn not_kafka_after_scan_limit() {
        let mut h = Harness::with_opts(CaptureOptions {
            max_resync_scan: 1000,
            ..CaptureOptions::default()
        });
        let mut f = Framer::new();
        f.start_unsynced(C2S, 0);
        for _ in 0..20 {
            f.push(&[0xab; 100], &mut h.cx(C2S));
        }
        assert_eq!(h.verdict, Some(NotKafkaReason::NoFrameFound(1100)));
    }

    #[test]
    fn start_at_skips_prefix() {
        let mut h = Harness::new();
        let mut f = Framer::new();
        f.start_at(S2C, 0, 5, &mut h.cx(S2C));
        let a = response_frame(1, &[0; 4]);
        f.push(&[9; 5], &mut h.cx(S2C));
        f.push(&a, &mut h.cx(S2C));
        assert_eq!(h.frames().len(), 1);
        assert_eq!(h.skips(), vec![(0, 5, SkipReason::Resync)]);
    }
}
