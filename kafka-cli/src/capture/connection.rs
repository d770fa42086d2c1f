//! One TCP connection: both directions' reassembly and framing, Kafka-or-not state, lifecycle.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::context::Ctx;
use super::correlation::Outstanding;
use super::detect::{Confirmed, Detector, Held, Outcome};
use super::event::{CaptureEvent, CloseReason, Direction, NotKafkaReason, StreamId};
use super::framing::{FrameCx, Framer};
use super::options::CaptureOptions;
use super::reassembly::{Reassembler, SegmentStats, StreamSink};
use super::stats::CaptureStats;
use super::tcp::{TcpSegment, ACK, FIN, RST, SYN};
use super::time::Timestamp;

#[derive(Debug)]
enum Mode {
    /// Framing.
    Kafka,
    /// Auto-detection in progress.
    Detecting(Box<Detector>),
    /// Not Kafka, or closed: packets are only counted.
    Ignored,
}

#[derive(Debug)]
struct Half {
    reasm: Reassembler,
    framer: Framer,
}

impl Half {
    fn new(opts: &CaptureOptions) -> Self {
        Half {
            reasm: Reassembler::new(opts.max_out_of_order_bytes),
            framer: Framer::new(),
        }
    }
}

/// A tracked TCP connection.
#[derive(Debug)]
pub(crate) struct Connection {
    id: StreamId,
    mode: Mode,
    /// Indexed by [`Direction::index`].
    halves: [Half; 2],
    outstanding: Outstanding,
    frames: u64,
    /// `StreamOpened` was emitted.
    opened: bool,
    closed: bool,
    fin_seen: [bool; 2],
    opened_ts: Timestamp,
    /// The client's direction is known from the handshake.
    handshake: bool,
    /// Packet number of the last activity (for eviction).
    pub(crate) last_active: u64,
}

/// Builds the framing context for one direction.
fn frame_cx<'x, 'c>(
    id: StreamId,
    direction: Direction,
    ctx: &'x mut Ctx<'c>,
    outstanding: &'x mut Outstanding,
    frames: &'x mut u64,
    verdict: &'x mut Option<NotKafkaReason>,
) -> FrameCx<'x, 'c> {
    FrameCx {
        stream: id,
        direction,
        ctx,
        outstanding,
        conn_frames: frames,
        verdict,
    }
}

fn gap_event(
    events: &mut VecDeque<CaptureEvent>,
    stats: &mut CaptureStats,
    stream: StreamId,
    direction: Direction,
    ts: Timestamp,
    at: u64,
    len: u64,
) {
    stats.gaps += 1;
    stats.gap_bytes += len;
    events.push_back(CaptureEvent::Gap {
        stream,
        direction,
        ts,
        at,
        len,
    });
}

/// Routes one direction's reassembled stream to its framer or to the detector.
struct HalfSink<'a, 'c> {
    id: StreamId,
    direction: Direction,
    syn_seen: bool,
    client: Option<Direction>,
    framer: &'a mut Framer,
    mode: &'a mut Mode,
    outstanding: &'a mut Outstanding,
    frames: &'a mut u64,
    ctx: &'a mut Ctx<'c>,
    verdict: &'a mut Option<NotKafkaReason>,
    outcome: &'a mut Outcome,
}

impl StreamSink for HalfSink<'_, '_> {
    fn data(&mut self, offset: u64, data: &[u8]) {
        match self.mode {
            Mode::Kafka => {
                if self.framer.is_fresh() {
                    if self.syn_seen && offset == 0 {
                        self.framer.start_synced(self.direction, offset);
                    } else {
                        self.framer.start_unsynced(self.direction, offset);
                    }
                }
                let mut cx = frame_cx(
                    self.id,
                    self.direction,
                    self.ctx,
                    self.outstanding,
                    self.frames,
                    self.verdict,
                );
                self.framer.push(data, &mut cx);
            }
            Mode::Detecting(det) => match self.outcome {
                Outcome::Undecided => {
                    *self.outcome = det.on_data(
                        self.direction,
                        offset,
                        data,
                        self.ctx.ts,
                        self.client,
                        self.ctx.opts,
                    );
                }
                Outcome::Kafka(_) => det.hold(self.direction, offset, data, self.ctx.ts),
                Outcome::NotKafka => {}
            },
            Mode::Ignored => {}
        }
    }

    fn gap(&mut self, offset: u64, len: u64) {
        match self.mode {
            Mode::Kafka => {
                gap_event(
                    self.ctx.events,
                    self.ctx.stats,
                    self.id,
                    self.direction,
                    self.ctx.ts,
                    offset,
                    len,
                );
                if self.framer.is_fresh() {
                    self.framer.start_unsynced(self.direction, offset);
                }
                let mut cx = frame_cx(
                    self.id,
                    self.direction,
                    self.ctx,
                    self.outstanding,
                    self.frames,
                    self.verdict,
                );
                self.framer.gap(offset, len, &mut cx);
            }
            Mode::Detecting(det) => det.on_gap(self.direction, offset, len, self.ctx.ts),
            Mode::Ignored => {}
        }
    }
}

/// Results of driving a reassembler, acted upon afterwards.
#[derive(Debug)]
struct Pending {
    verdict: Option<NotKafkaReason>,
    outcome: Outcome,
}

impl Connection {
    /// A new connection. `auto`: Kafka-ness is still to be detected. `handshake`: the client
    /// side is known from a SYN.
    pub(crate) fn new(
        index: u64,
        client: SocketAddr,
        server: SocketAddr,
        auto: bool,
        handshake: bool,
        opts: &CaptureOptions,
        ts: Timestamp,
    ) -> Self {
        Connection {
            id: StreamId {
                index,
                client,
                server,
            },
            mode: if auto {
                Mode::Detecting(Box::new(Detector::new()))
            } else {
                Mode::Kafka
            },
            halves: [Half::new(opts), Half::new(opts)],
            outstanding: Outstanding::new(opts.max_outstanding_requests),
            frames: 0,
            opened: false,
            closed: false,
            fin_seen: [false; 2],
            opened_ts: ts,
            handshake,
            last_active: 0,
        }
    }

    pub(crate) fn id(&self) -> StreamId {
        self.id
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Direction of a packet sent by `src`.
    pub(crate) fn direction_of(&self, src: SocketAddr) -> Direction {
        if src == self.id.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// True if a SYN from `src` with `seq` starts a new connection on the same addresses.
    pub(crate) fn is_new_syn(&self, src: SocketAddr, seq: u32) -> bool {
        self.halves[self.direction_of(src).index()]
            .reasm
            .is_new_syn(seq)
    }

    /// Remembers a request correlation id (for response resynchronisation).
    pub(crate) fn expect_response(&mut self, correlation_id: i32) {
        self.outstanding.insert(correlation_id);
    }

    /// Forgets a request correlation id (a request that gets no response).
    pub(crate) fn forget_response(&mut self, correlation_id: i32) -> bool {
        self.outstanding.remove(correlation_id)
    }

    /// Emits `StreamOpened` (port mode: right away; auto mode: when recognised).
    pub(crate) fn open(&mut self, ctx: &mut Ctx<'_>) {
        if self.opened {
            return;
        }
        self.opened = true;
        ctx.events.push_back(CaptureEvent::StreamOpened {
            stream: self.id,
            ts: self.opened_ts,
            handshake_seen: self.handshake,
        });
    }

    /// Runs `f` on direction `d`'s reassembler with a sink feeding its framer or the detector.
    fn drive(
        &mut self,
        d: Direction,
        ctx: &mut Ctx<'_>,
        pending: &mut Pending,
        f: impl FnOnce(&mut Reassembler, &mut HalfSink<'_, '_>) -> SegmentStats,
    ) {
        let client = self.handshake.then_some(Direction::ClientToServer);
        let Connection {
            id,
            mode,
            halves,
            outstanding,
            frames,
            ..
        } = self;
        let Half { reasm, framer } = &mut halves[d.index()];
        let mut sink = HalfSink {
            id: *id,
            direction: d,
            syn_seen: reasm.syn_seen(),
            client,
            framer,
            mode,
            outstanding,
            frames,
            ctx,
            verdict: &mut pending.verdict,
            outcome: &mut pending.outcome,
        };
        let st = f(reasm, &mut sink);
        let stats = &mut *sink.ctx.stats;
        stats.duplicate_bytes += st.duplicate_bytes;
        stats.out_of_order_segments += u64::from(st.out_of_order);
        stats.out_of_window_segments += u64::from(st.out_of_window);
    }

    /// Handles a TCP segment travelling in `dir`.
    pub(crate) fn on_segment(&mut self, dir: Direction, seg: &TcpSegment<'_>, ctx: &mut Ctx<'_>) {
        if self.closed {
            ctx.stats.ignored_segments += 1;
            return;
        }
        if seg.has(FIN) {
            self.fin_seen[dir.index()] = true;
        }
        if matches!(self.mode, Mode::Ignored) {
            ctx.stats.ignored_segments += 1;
            if seg.has(RST) {
                self.close(CloseReason::Reset, ctx);
            } else if self.fin_seen == [true, true] {
                self.close(CloseReason::Fin, ctx);
            }
            return;
        }
        let other = dir.reverse();
        if seg.has(SYN) {
            self.halves[dir.index()].reasm.on_syn(seg.seq);
            if seg.has(ACK) {
                // The SYN-ACK acknowledges the client's initial sequence number.
                self.halves[other.index()]
                    .reasm
                    .on_syn(seg.ack.wrapping_sub(1));
            }
        }
        let mut pending = Pending {
            verdict: None,
            outcome: Outcome::Undecided,
        };
        if seg.has(ACK) {
            self.drive(other, ctx, &mut pending, |r, sink| r.on_ack(seg.ack, sink));
        }
        if seg.payload_len > 0 || seg.has(FIN) {
            let seq = if seg.has(SYN) {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            self.drive(dir, ctx, &mut pending, |r, sink| {
                r.on_segment(seq, seg.payload, seg.payload_len, seg.has(FIN), sink)
            });
        }
        self.settle(pending, ctx);
        if self.closed {
            return;
        }
        if seg.has(RST) {
            self.close(CloseReason::Reset, ctx);
            return;
        }
        self.finish_ended_halves(ctx);
        if self.halves.iter().all(|h| h.reasm.is_finished()) {
            self.close(CloseReason::Fin, ctx);
        }
    }

    /// Releases the framer of each direction whose stream reached its FIN.
    fn finish_ended_halves(&mut self, ctx: &mut Ctx<'_>) {
        if !matches!(self.mode, Mode::Kafka) {
            return;
        }
        let mut verdict = None;
        for d in [Direction::ClientToServer, Direction::ServerToClient] {
            let half = &mut self.halves[d.index()];
            if half.reasm.is_finished() && !half.framer.is_dead() {
                let mut cx = frame_cx(
                    self.id,
                    d,
                    ctx,
                    &mut self.outstanding,
                    &mut self.frames,
                    &mut verdict,
                );
                half.framer.finish(&mut cx);
            }
        }
    }

    /// Acts on what driving the reassemblers revealed.
    fn settle(&mut self, pending: Pending, ctx: &mut Ctx<'_>) {
        if let Some(reason) = pending.verdict {
            self.not_kafka(reason, ctx);
            return;
        }
        match pending.outcome {
            Outcome::Undecided => {}
            Outcome::NotKafka => self.not_kafka(NotKafkaReason::NotDetected, ctx),
            Outcome::Kafka(c) => self.confirm(c, ctx),
        }
    }

    fn not_kafka(&mut self, reason: NotKafkaReason, ctx: &mut Ctx<'_>) {
        if matches!(self.mode, Mode::Ignored) {
            return;
        }
        ctx.stats.not_kafka_streams += 1;
        ctx.events.push_back(CaptureEvent::NotKafka {
            stream: self.id,
            ts: ctx.ts,
            reason,
        });
        self.mode = Mode::Ignored;
        self.halves = [Half::new(ctx.opts), Half::new(ctx.opts)];
    }

    /// Auto-detection recognised Kafka: fix the orientation, open, replay the held data.
    fn confirm(&mut self, c: Confirmed, ctx: &mut Ctx<'_>) {
        let Mode::Detecting(mut det) = std::mem::replace(&mut self.mode, Mode::Kafka) else {
            return;
        };
        let held = det.take_held();
        let swap = c.requests == Direction::ServerToClient;
        if swap {
            std::mem::swap(&mut self.id.client, &mut self.id.server);
            self.halves.swap(0, 1);
            self.fin_seen.swap(0, 1);
        }
        let map = |d: Direction| if swap { d.reverse() } else { d };
        self.open(ctx);
        let mut verdict = None;
        for (d, frame_at) in [
            (Direction::ClientToServer, c.request_at),
            (Direction::ServerToClient, c.response_at),
        ] {
            let first = held.iter().find(|h| map(h.direction()) == d);
            let (offset, ts) = match first {
                Some(Held::Data { offset, ts, .. }) | Some(Held::Gap { offset, ts, .. }) => {
                    (*offset, *ts)
                }
                None => (frame_at, ctx.ts),
            };
            let now = std::mem::replace(&mut ctx.ts, ts);
            let mut cx = frame_cx(
                self.id,
                d,
                ctx,
                &mut self.outstanding,
                &mut self.frames,
                &mut verdict,
            );
            self.halves[d.index()]
                .framer
                .start_at(d, offset, frame_at, &mut cx);
            ctx.ts = now;
        }
        for item in held {
            let d = map(item.direction());
            let (ts, offset) = match &item {
                Held::Data { ts, offset, .. } | Held::Gap { ts, offset, .. } => (*ts, *offset),
            };
            if let Held::Gap { len, .. } = &item {
                gap_event(ctx.events, ctx.stats, self.id, d, ts, offset, *len);
            }
            let now = std::mem::replace(&mut ctx.ts, ts);
            let mut cx = frame_cx(
                self.id,
                d,
                ctx,
                &mut self.outstanding,
                &mut self.frames,
                &mut verdict,
            );
            let framer = &mut self.halves[d.index()].framer;
            match &item {
                Held::Data { data, .. } => framer.push(data, &mut cx),
                Held::Gap { len, .. } => framer.gap(offset, *len, &mut cx),
            }
            ctx.ts = now;
        }
        if let Some(reason) = verdict {
            self.not_kafka(reason, ctx);
        }
    }

    /// Ends the connection: flushes both directions and emits `StreamClosed` (if opened).
    pub(crate) fn close(&mut self, reason: CloseReason, ctx: &mut Ctx<'_>) {
        if self.closed {
            return;
        }
        if !matches!(self.mode, Mode::Ignored) {
            let mut pending = Pending {
                verdict: None,
                outcome: Outcome::Undecided,
            };
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                self.drive(d, ctx, &mut pending, |r, sink| r.flush(sink));
            }
            self.settle(pending, ctx);
        }
        match &self.mode {
            Mode::Kafka => {
                let mut verdict = None;
                for d in [Direction::ClientToServer, Direction::ServerToClient] {
                    let mut cx = frame_cx(
                        self.id,
                        d,
                        ctx,
                        &mut self.outstanding,
                        &mut self.frames,
                        &mut verdict,
                    );
                    self.halves[d.index()].framer.finish(&mut cx);
                }
            }
            Mode::Detecting(det) => {
                if !det.is_empty() {
                    self.not_kafka(NotKafkaReason::NotDetected, ctx);
                }
            }
            Mode::Ignored => {}
        }
        if self.opened {
            ctx.events.push_back(CaptureEvent::StreamClosed {
                stream: self.id,
                ts: ctx.ts,
                reason,
            });
        }
        self.closed = true;
        self.mode = Mode::Ignored;
        self.halves = [Half::new(ctx.opts), Half::new(ctx.opts)];
        self.outstanding = Outstanding::new(1);
    }
}
