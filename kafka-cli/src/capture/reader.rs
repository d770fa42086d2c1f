//! [`CaptureReader`]: the capture file in, [`CaptureEvent`]s out.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::connection::Connection;
use super::context::Ctx;
use super::defrag::{Defragmenter, FragKey};
use super::error::CaptureError;
use super::event::{CaptureEvent, CloseReason, Direction, MalformedReason, StreamId};
use super::ip::{self, IpPacket, PROTO_TCP};
use super::link::{self, LinkError, Network};
use super::options::CaptureOptions;
use super::source::{CaptureFormat, PacketSource, RawPacket, Record};
use super::stats::CaptureStats;
use super::tcp::{self, TcpSegment, ACK, RST, SYN};
use super::time::Timestamp;

/// Both endpoints of a connection (IPv4 as IPv4-mapped IPv6, port), in a canonical order;
/// plain integers so comparing and hashing are cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    lo: u128,
    hi: u128,
    ports: u32,
}

fn endpoint(addr: SocketAddr) -> (u128, u16) {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    (u128::from(ip), addr.port())
}

impl ConnKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
        let (a, b) = (endpoint(a), endpoint(b));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        ConnKey {
            lo: lo.0,
            hi: hi.0,
            ports: (u32::from(lo.1) << 16) | u32::from(hi.1),
        }
    }
}

/// Everything except the file reader: the packet-to-event pipeline.
#[derive(Debug)]
struct Engine {
    opts: CaptureOptions,
    conns: HashMap<ConnKey, Connection>,
    /// Keys of closed connections, oldest first: reclaimed first when the table is full.
    closed: VecDeque<ConnKey>,
    next_index: u64,
    events: VecDeque<CaptureEvent>,
    stats: CaptureStats,
    defrag: Defragmenter,
    /// `(interface, link type)` pairs already reported as unsupported.
    unsupported: Vec<(u32, u32)>,
    /// Records read so far (packets and malformed records).
    record_no: u64,
    last_ts: Timestamp,
}

/// Reads a pcap or pcapng capture and yields the Kafka frames of its TCP connections, plus
/// everything noteworthy along the way (connections opening and closing, gaps, skipped bytes,
/// non-Kafka connections, malformed packets).
///
/// Events come in capture order (per connection; with `PortSelection::Auto` a connection's
/// first frames are held until it is recognised). A fatal error (I/O, corrupt file) is yielded
/// once as `Err`; the events that closing the open connections produces follow, then `None`.
///
/// Memory use is bounded by [`CaptureOptions`] whatever the input, and no input makes it panic.
#[derive(Debug)]
pub struct CaptureReader<R> {
    source: PacketSource<R>,
    engine: Engine,
    finished: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>, options: CaptureOptions) -> Result<Self, CaptureError> {
        CaptureReader::new(File::open(path)?, options)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `reader` (a file, stdin, ...; it is read in large chunks, no
    /// extra buffering needed) and prepares to read packets.
    pub fn new(reader: R, options: CaptureOptions) -> Result<Self, CaptureError> {
        let source = PacketSource::new(reader, options.read_buffer)?;
        Ok(CaptureReader {
            source,
            engine: Engine {
                defrag: Defragmenter::new(options.max_ip_fragments),
                opts: options,
                conns: HashMap::new(),
                closed: VecDeque::new(),
                next_index: 1,
                events: VecDeque::new(),
                stats: CaptureStats::default(),
                unsupported: Vec::new(),
                record_no: 0,
                last_ts: Timestamp::ZERO,
            },
            finished: false,
        })
    }
}

impl<R> CaptureReader<R> {
    /// Counters so far (complete once the iterator returned `None`).
    pub fn stats(&self) -> &CaptureStats {
        &self.engine.stats
    }

    /// The capture's container format.
    pub fn format(&self) -> CaptureFormat {
        self.source.format()
    }

    /// The options in use.
    pub fn options(&self) -> &CaptureOptions {
        &self.engine.opts
    }

    /// Tells the reader that a request with `correlation_id` awaits a response on `stream`
    /// (used to resynchronise the response direction after a gap). Request frames the reader
    /// produces are registered automatically; this is for ids known otherwise. Returns false
    /// if the stream is not open.
    pub fn expect_response(&mut self, stream: &StreamId, correlation_id: i32) -> bool {
        match self.engine.open_conn(stream) {
            Some(conn) => {
                conn.expect_response(correlation_id);
                true
            }
            None => false,
        }
    }

    /// Tells the reader that the request with `correlation_id` gets no response (e.g. a
    /// produce request with `acks=0`). Returns true if it was outstanding.
    pub fn forget_response(&mut self, stream: &StreamId, correlation_id: i32) -> bool {
        self.engine
            .open_conn(stream)
            .is_some_and(|conn| conn.forget_response(correlation_id))
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<CaptureEvent, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.engine.events.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            match self.source.next_record() {
                Ok(Some(Record::Packet(packet))) => self.engine.packet(&packet),
                Ok(Some(Record::Malformed(reason))) => {
                    self.engine.record_no += 1;
                    let ts = self.engine.last_ts;
                    self.engine.malformed(ts, reason);
                }
                Ok(None) => {
                    self.engine.finish();
                    self.finished = true;
                }
                Err(e) => {
                    self.engine.finish();
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl Engine {
    fn open_conn(&mut self, stream: &StreamId) -> Option<&mut Connection> {
        self.conns
            .get_mut(&ConnKey::new(stream.client, stream.server))
            .filter(|c| c.id().index == stream.index && !c.is_closed())
    }

    fn malformed(&mut self, ts: Timestamp, reason: MalformedReason) {
        self.stats.malformed += 1;
        self.events.push_back(CaptureEvent::Malformed {
            packet: self.record_no,
            ts,
            reason,
        });
    }

    fn packet(&mut self, packet: &RawPacket<'_>) {
        self.record_no += 1;
        self.stats.packets += 1;
        self.stats.bytes += packet.data.len() as u64;
        let ts = packet.ts;
        self.last_ts = ts;
        match link::decapsulate(packet.link_type, packet.data) {
            Ok(Network::Ipv4(data)) => match ip::parse_ipv4(data) {
                Ok(p) => self.ip(p, false, ts),
                Err(_) => self.malformed(ts, MalformedReason::BadIpHeader),
            },
            Ok(Network::Ipv6(data)) => match ip::parse_ipv6(data) {
                Ok(p) => self.ip(p, true, ts),
                Err(_) => self.malformed(ts, MalformedReason::BadIpHeader),
            },
            Ok(Network::Other) => self.stats.non_ip += 1,
            Err(LinkError::Truncated) => self.malformed(ts, MalformedReason::TruncatedLinkHeader),
            Err(LinkError::Unsupported) => {
                self.stats.unsupported_link += 1;
                let key = (packet.interface, packet.link_type);
                if !self.unsupported.contains(&key) && self.unsupported.len() < 1024 {
                    self.unsupported.push(key);
                    self.malformed(ts, MalformedReason::UnsupportedLinkType(packet.link_type));
                }
            }
        }
    }

    fn ip(&mut self, p: IpPacket<'_>, v6: bool, ts: Timestamp) {
        let Some(frag) = p.fragment else {
            if p.protocol != PROTO_TCP {
                self.stats.non_tcp += 1;
                return;
            }
            match tcp::parse_tcp(p.payload, p.payload_len) {
                Ok(seg) => self.tcp(p.src, p.dst, &seg, ts),
                Err(_) => self.malformed(ts, MalformedReason::BadTcpHeader),
            }
            return;
        };
        self.stats.ip_fragments += 1;
        if p.is_truncated() {
            self.stats.ip_fragments_dropped += 1;
            self.malformed(ts, MalformedReason::FragmentDropped);
            return;
        }
        let key = FragKey {
            src: p.src,
            dst: p.dst,
            id: frag.id,
            protocol: p.protocol,
        };
        let added = self.defrag.add(key, frag, p.payload);
        if added.dropped > 0 {
            self.stats.ip_fragments_dropped += added.dropped;
            self.malformed(ts, MalformedReason::FragmentDropped);
        }
        let Some(datagram) = added.complete else {
            return;
        };
        self.stats.ip_reassembled += 1;
        let (protocol, skip) = if v6 {
            match ip::skip_extension_headers(p.protocol, &datagram) {
                Ok((proto, skip, None)) => (proto, skip),
                _ => {
                    self.malformed(ts, MalformedReason::BadIpHeader);
                    return;
                }
            }
        } else {
            (p.protocol, 0)
        };
        if protocol != PROTO_TCP {
            self.stats.non_tcp += 1;
            return;
        }
        let payload = datagram.get(skip..).unwrap_or(&[]);
        match tcp::parse_tcp(payload, payload.len()) {
            Ok(seg) => self.tcp(p.src, p.dst, &seg, ts),
            Err(_) => self.malformed(ts, MalformedReason::BadTcpHeader),
        }
    }

    fn tcp(&mut self, src_ip: IpAddr, dst_ip: IpAddr, seg: &TcpSegment<'_>, ts: Timestamp) {
        self.stats.tcp_segments += 1;
        if seg.payload.len() < seg.payload_len {
            self.stats.truncated_packets += 1;
        }
        let src = SocketAddr::new(src_ip, seg.src_port);
        let dst = SocketAddr::new(dst_ip, seg.dst_port);
        let key = ConnKey::new(src, dst);
        let syn_only = seg.has(SYN) && !seg.has(ACK);
        let record_no = self.record_no;
        let Engine {
            opts,
            conns,
            closed,
            events,
            stats,
            ..
        } = self;
        let mut ctx = Ctx {
            opts,
            events,
            stats,
            ts,
        };
        if let Some(conn) = conns.get_mut(&key) {
            let replace = if conn.is_closed() {
                syn_only
            } else if syn_only && conn.is_new_syn(src, seg.seq) {
                conn.close(CloseReason::Reused, &mut ctx);
                true
            } else {
                false
            };
            if !replace {
                conn.last_active = record_no;
                let dir = conn.direction_of(src);
                let was_closed = conn.is_closed();
                conn.on_segment(dir, seg, &mut ctx);
                if conn.is_closed() && !was_closed {
                    closed.push_back(key);
                }
                return;
            }
            conns.remove(&key);
        }
        // A new connection.
        let auto = opts.ports.is_auto();
        let kafka_port = |p: u16| opts.ports.contains(p);
        if !auto && !kafka_port(seg.src_port) && !kafka_port(seg.dst_port) {
            ctx.stats.ignored_segments += 1;
            return;
        }
        if seg.has(RST) || (seg.payload_len == 0 && !seg.has(SYN)) {
            // Pure ACKs, FINs and RSTs of connections never seen.
            ctx.stats.ignored_segments += 1;
            return;
        }
        let src_is_client = if seg.has(SYN) {
            !seg.has(ACK)
        } else if !auto && kafka_port(seg.dst_port) != kafka_port(seg.src_port) {
            kafka_port(seg.dst_port)
        } else {
            true
        };
        let (client, server) = if src_is_client {
            (src, dst)
        } else {
            (dst, src)
        };
        make_room(conns, closed, &mut ctx);
        let index = self.next_index;
        self.next_index += 1;
        let Engine {
            opts,
            conns,
            closed,
            events,
            stats,
            ..
        } = self;
        let mut ctx = Ctx {
            opts,
            events,
            stats,
            ts,
        };
        ctx.stats.streams += 1;
        let mut conn = Connection::new(index, client, server, auto, seg.has(SYN), opts, ts);
        conn.last_active = record_no;
        if !auto {
            conn.open(&mut ctx);
        }
        let dir = if src_is_client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        conn.on_segment(dir, seg, &mut ctx);
        if conn.is_closed() {
            closed.push_back(key);
        }
        conns.insert(key, conn);
    }

    /// End of capture: close every connection, in order of appearance.
    fn finish(&mut self) {
        let ts = self.last_ts;
        let Engine {
            opts,
            conns,
            events,
            stats,
            defrag,
            ..
        } = self;
        stats.ip_fragments_dropped += defrag.pending() as u64;
        let mut open: Vec<&mut Connection> =
            conns.values_mut().filter(|c| !c.is_closed()).collect();
        open.sort_by_key(|c| c.id().index);
        let mut ctx = Ctx {
            opts,
            events,
            stats,
            ts,
        };
        for conn in open {
            conn.close(CloseReason::EndOfCapture, &mut ctx);
        }
        conns.clear();
        self.closed.clear();
    }
}

/// Frees a slot in the connection table if it is full: the oldest closed connection, else the
/// least recently active one (reported as evicted).
fn make_room(
    conns: &mut HashMap<ConnKey, Connection>,
    closed: &mut VecDeque<ConnKey>,
    ctx: &mut Ctx<'_>,
) {
    let max = ctx.opts.max_streams.max(1);
    while conns.len() >= max {
        let Some(key) = closed.pop_front() else {
            break;
        };
        if conns.get(&key).is_some_and(Connection::is_closed) {
            conns.remove(&key);
        }
    }
    if conns.len() < max {
        return;
    }
    let victim = conns
        .iter()
        .min_by_key(|(_, c)| c.last_active)
        .map(|(k, _)| *k);
    if let Some(key) = victim {
        if let Some(mut conn) = conns.remove(&key) {
            ctx.stats.evicted_streams += 1;
            conn.close(CloseReason::Evicted, ctx);
        }
    }
}
