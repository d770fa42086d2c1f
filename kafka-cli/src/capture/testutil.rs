//! Test helpers: Kafka frame builders, packet builders, tiny pcap / pcapng writers.

use std::net::{IpAddr, SocketAddr};

use super::event::{CaptureEvent, Frame};
use super::link::linktype;
use super::options::CaptureOptions;
use super::reader::CaptureReader;
use super::stats::CaptureStats;
use super::tcp::{ACK, FIN, RST, SYN};

/// A request frame, length prefix included.
pub(crate) fn request_frame(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    client_id: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&api_key.to_be_bytes());
    f.extend_from_slice(&api_version.to_be_bytes());
    f.extend_from_slice(&correlation_id.to_be_bytes());
    f.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    f.extend_from_slice(client_id.as_bytes());
    f.extend_from_slice(body);
    prefixed(&f)
}

/// A response frame, length prefix included.
pub(crate) fn response_frame(correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut f = correlation_id.to_be_bytes().to_vec();
    f.extend_from_slice(body);
    prefixed(&f)
}

fn prefixed(f: &[u8]) -> Vec<u8> {
    let mut v = (f.len() as i32).to_be_bytes().to_vec();
    v.extend_from_slice(f);
    v
}

/// One TCP segment between two endpoints.
#[derive(Debug, Clone)]
pub(crate) struct TcpPkt {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

/// TCP header (no options, checksum not computed) plus payload.
pub(crate) fn tcp_bytes(p: &TcpPkt) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + p.payload.len());
    t.extend_from_slice(&p.src.port().to_be_bytes());
    t.extend_from_slice(&p.dst.port().to_be_bytes());
    t.extend_from_slice(&p.seq.to_be_bytes());
    t.extend_from_slice(&p.ack.to_be_bytes());
    t.push(5 << 4);
    t.push(p.flags);
    t.extend_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(&p.payload);
    t
}

/// IPv4 header options and fragment fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct V4Fields {
    pub options: Vec<u8>,
    pub id: u16,
    pub frag_offset: usize,
    pub more: bool,
}

/// IPv4 header around `payload`.
pub(crate) fn ipv4(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &[u8],
    f: &V4Fields,
) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
        panic!("ipv4 needs IPv4 addresses");
    };
    assert_eq!(f.options.len() % 4, 0);
    let hl = 20 + f.options.len();
    let mut h = vec![0x40 | (hl / 4) as u8, 0];
    h.extend_from_slice(&((hl + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&f.id.to_be_bytes());
    let frag = (f.frag_offset / 8) as u16 | if f.more { 0x2000 } else { 0 };
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, protocol, 0, 0]);
    h.extend_from_slice(&s.octets());
    h.extend_from_slice(&d.octets());
    h.extend_from_slice(&f.options);
    h.extend_from_slice(payload);
    h
}

/// IPv6 header; `ext` are extension headers (already chained to `next_after_ext`).
pub(crate) fn ipv6(src: IpAddr, dst: IpAddr, first_next: u8, ext_and_payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
        panic!("ipv6 needs IPv6 addresses");
    };
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(ext_and_payload.len() as u16).to_be_bytes());
    h.push(first_next);
    h.push(64);
    h.extend_from_slice(&s.octets());
    h.extend_from_slice(&d.octets());
    h.extend_from_slice(ext_and_payload);
    h
}

/// The IP packet (v4 or v6 by address family) carrying a TCP segment.
pub(crate) fn ip_packet(p: &TcpPkt) -> Vec<u8> {
    let tcp = tcp_bytes(p);
    match p.src.ip() {
        IpAddr::V4(_) => ipv4(p.src.ip(), p.dst.ip(), 6, &tcp, &V4Fields::default()),
        IpAddr::V6(_) => ipv6(p.src.ip(), p.dst.ip(), 6, &tcp),
    }
}

/// Link-layer framings the tests exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Ethernet,
    /// Ethernet with an 802.1Q tag.
    EthernetVlan,
    Sll,
    Sll2,
    Raw,
    /// BSD loopback, family in little-endian host order.
    NullLe,
    /// BSD loopback, family in big-endian host order.
    NullBe,
    Loop,
}

impl Link {
    pub(crate) fn linktype(self) -> u32 {
        match self {
            Link::Ethernet | Link::EthernetVlan => linktype::ETHERNET,
            Link::Sll => linktype::LINUX_SLL,
            Link::Sll2 => linktype::LINUX_SLL2,
            Link::Raw => linktype::RAW,
            Link::NullLe | Link::NullBe => linktype::NULL,
            Link::Loop => linktype::LOOP,
        }
    }

    /// Wraps an IP packet.
    pub(crate) fn wrap(self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let mut f = Vec::new();
        match self {
            Link::Ethernet | Link::EthernetVlan => {
                f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
                if self == Link::EthernetVlan {
                    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
                }
                f.extend_from_slice(&ethertype);
            }
            Link::Sll => {
                f.extend_from_slice(&[0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
                f.extend_from_slice(&ethertype);
            }
            Link::Sll2 => {
                f.extend_from_slice(&ethertype);
                f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
            }
            Link::Raw => {}
            Link::NullLe => f.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
            Link::NullBe => f.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
            Link::Loop => f.extend_from_slice(&(if v6 { 28u32 } else { 2 }).to_be_bytes()),
        }
        f.extend_from_slice(ip);
        if matches!(self, Link::Ethernet | Link::EthernetVlan) && f.len() < 60 {
            f.resize(60, 0); // Ethernet padding
        }
        f
    }
}

/// Legacy pcap writer.
#[derive(Debug)]
pub(crate) struct PcapWriter {
    buf: Vec<u8>,
    big_endian: bool,
    nanos: bool,
}

impl PcapWriter {
    pub(crate) fn new(linktype: u32, big_endian: bool, nanos: bool) -> Self {
        let mut w = PcapWriter {
            buf: Vec::new(),
            big_endian,
            nanos,
        };
        w.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        w.u16(2);
        w.u16(4);
        w.u32(0);
        w.u32(0);
        w.u32(262_144);
        w.u32(linktype);
        w
    }

    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    /// A packet at `secs` + `micros` microseconds, captured at most `snaplen` bytes.
    pub(crate) fn packet_snapped(&mut self, secs: u32, micros: u32, data: &[u8], snaplen: usize) {
        let cap = data.len().min(snaplen);
        self.u32(secs);
        self.u32(if self.nanos { micros * 1000 } else { micros });
        self.u32(cap as u32);
        self.u32(data.len() as u32);
        self.buf.extend_from_slice(&data[..cap]);
    }

    pub(crate) fn packet(&mut self, secs: u32, micros: u32, data: &[u8]) {
        self.packet_snapped(secs, micros, data, usize::MAX);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// pcapng writer.
#[derive(Debug)]
pub(crate) struct PcapNgWriter {
    buf: Vec<u8>,
    big_endian: bool,
}

impl PcapNgWriter {
    pub(crate) fn new(big_endian: bool) -> Self {
        let mut w = PcapNgWriter {
            buf: Vec::new(),
            big_endian,
        };
        w.section();
        w
    }

    fn b32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn b16(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Any block: type, body (padded here), lengths.
    pub(crate) fn block(&mut self, block_type: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = (12 + body.len()) as u32;
        let t = self.b32(block_type);
        let l = self.b32(len);
        self.buf.extend_from_slice(&t);
        self.buf.extend_from_slice(&l);
        self.buf.extend_from_slice(&body);
        self.buf.extend_from_slice(&l);
    }

    /// A new section header block (also resets interfaces).
    pub(crate) fn section(&mut self) {
        let mut body = self.b32(0x1a2b_3c4d).to_vec();
        body.extend_from_slice(&self.b16(1));
        body.extend_from_slice(&self.b16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body);
    }

    /// An interface description; `tsresol` adds an `if_tsresol` option, `tsoffset` an
    /// `if_tsoffset` one.
    pub(crate) fn interface(&mut self, linktype: u16, tsresol: Option<u8>, tsoffset: Option<i64>) {
        let mut body = self.b16(linktype).to_vec();
        body.extend_from_slice(&self.b16(0));
        body.extend_from_slice(&self.b32(0));
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.b16(9));
            body.extend_from_slice(&self.b16(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            body.extend_from_slice(&self.b16(14));
            body.extend_from_slice(&self.b16(8));
            let v = if self.big_endian {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            body.extend_from_slice(&v);
        }
        if tsresol.is_some() || tsoffset.is_some() {
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        self.block(1, &body);
    }

    /// An enhanced packet block with a timestamp in interface units.
    pub(crate) fn packet(&mut self, interface: u32, ts_units: u64, data: &[u8]) {
        let mut body = self.b32(interface).to_vec();
        body.extend_from_slice(&self.b32((ts_units >> 32) as u32));
        body.extend_from_slice(&self.b32(ts_units as u32));
        body.extend_from_slice(&self.b32(data.len() as u32));
        body.extend_from_slice(&self.b32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(6, &body);
    }

    /// A simple packet block (interface 0, no timestamp).
    pub(crate) fn simple_packet(&mut self, data: &[u8]) {
        let mut body = self.b32(data.len() as u32).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Builds a TCP conversation packet by packet, tracking sequence numbers.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Next sequence number of each side.
    pub cseq: u32,
    pub sseq: u32,
}

impl Conv {
    pub(crate) fn new(client: &str, server: &str, cisn: u32, sisn: u32) -> Self {
        Conv {
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            cseq: cisn,
            sseq: sisn,
        }
    }

    fn pkt(&self, from_client: bool, seq: u32, flags: u8, payload: &[u8]) -> TcpPkt {
        let (src, dst, ack) = if from_client {
            (self.client, self.server, self.sseq)
        } else {
            (self.server, self.client, self.cseq)
        };
        TcpPkt {
            src,
            dst,
            seq,
            ack,
            flags,
            payload: payload.to_vec(),
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub(crate) fn handshake(&mut self) -> Vec<TcpPkt> {
        let syn = TcpPkt {
            ack: 0,
            ..self.pkt(true, self.cseq, SYN, &[])
        };
        self.cseq = self.cseq.wrapping_add(1);
        let syn_ack = self.pkt(false, self.sseq, SYN | ACK, &[]);
        self.sseq = self.sseq.wrapping_add(1);
        let ack = self.pkt(true, self.cseq, ACK, &[]);
        vec![syn, syn_ack, ack]
    }

    /// Client data (advances the client sequence number).
    pub(crate) fn c2s(&mut self, data: &[u8]) -> TcpPkt {
        let p = self.pkt(true, self.cseq, ACK, data);
        self.cseq = self.cseq.wrapping_add(data.len() as u32);
        p
    }

    /// Server data.
    pub(crate) fn s2c(&mut self, data: &[u8]) -> TcpPkt {
        let p = self.pkt(false, self.sseq, ACK, data);
        self.sseq = self.sseq.wrapping_add(data.len() as u32);
        p
    }

    /// Client data split into segments of at most `mss` bytes.
    pub(crate) fn c2s_segments(&mut self, data: &[u8], mss: usize) -> Vec<TcpPkt> {
        data.chunks(mss).map(|c| self.c2s(c)).collect()
    }

    /// Server data split into segments of at most `mss` bytes.
    pub(crate) fn s2c_segments(&mut self, data: &[u8], mss: usize) -> Vec<TcpPkt> {
        data.chunks(mss).map(|c| self.s2c(c)).collect()
    }

    /// FIN from the client, then from the server, each acknowledged.
    pub(crate) fn close(&mut self) -> Vec<TcpPkt> {
        let f1 = self.pkt(true, self.cseq, FIN | ACK, &[]);
        self.cseq = self.cseq.wrapping_add(1);
        let f2 = self.pkt(false, self.sseq, FIN | ACK, &[]);
        self.sseq = self.sseq.wrapping_add(1);
        let a = self.pkt(true, self.cseq, ACK, &[]);
        vec![f1, f2, a]
    }

    /// RST from the client.
    pub(crate) fn reset(&mut self) -> TcpPkt {
        self.pkt(true, self.cseq, RST | ACK, &[])
    }
}

/// A pcap file with the packets, 1 ms apart.
pub(crate) fn pcap_of(pkts: &[TcpPkt], link: Link) -> Vec<u8> {
    let mut w = PcapWriter::new(link.linktype(), false, false);
    for (i, p) in pkts.iter().enumerate() {
        w.packet(1_700_000_000, i as u32 * 1000, &link.wrap(&ip_packet(p)));
    }
    w.finish()
}

/// Reads a whole capture; panics on a fatal error.
pub(crate) fn read_all(capture: &[u8], opts: CaptureOptions) -> (Vec<CaptureEvent>, CaptureStats) {
    let mut r = CaptureReader::new(capture, opts).expect("capture header");
    let events: Vec<CaptureEvent> = r.by_ref().map(|e| e.expect("no fatal error")).collect();
    (events, r.stats().clone())
}

/// The frames among the events.
pub(crate) fn frames(events: &[CaptureEvent]) -> Vec<Frame> {
    events
        .iter()
        .filter_map(|e| match e {
            CaptureEvent::Frame(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}
