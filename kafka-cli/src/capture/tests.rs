//! End-to-end tests: synthetic captures through the whole pipeline.

use std::io::Read;

use super::event::{
    CaptureEvent, CloseReason, Direction, MalformedReason, NotKafkaReason, SkipReason,
};
use super::options::{CaptureOptions, PortSelection};
use super::reader::CaptureReader;
use super::testutil::*;
use super::time::Timestamp;
use super::CaptureError;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// A complete conversation: handshake, two request/response pairs, orderly close.
fn simple_conversation(client: &str, server: &str) -> (Vec<TcpPkt>, Vec<Vec<u8>>) {
    let mut c = Conv::new(client, server, 1000, 5000);
    let r1 = request_frame(18, 3, 1, "test-client", &[]);
    let s1 = response_frame(1, &[0, 0, 0, 0, 0, 1, 2, 3]);
    let r2 = request_frame(
        3,
        12,
        2,
        "test-client",
        &[0, 0, 0, 1, 0, 3, b'f', b'o', b'o'],
    );
    let s2 = response_frame(2, &[7; 40]);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(&r1));
    pkts.push(c.s2c(&s1));
    pkts.push(c.c2s(&r2));
    pkts.push(c.s2c(&s2));
    pkts.extend(c.close());
    (pkts, vec![r1, s1, r2, s2])
}

fn check_simple(events: &[CaptureEvent], frames_sent: &[Vec<u8>], client: &str, server: &str) {
    let CaptureEvent::StreamOpened {
        stream,
        handshake_seen,
        ..
    } = &events[0]
    else {
        panic!("first event {:?}", events[0]);
    };
    assert!(handshake_seen);
    assert_eq!(stream.client, client.parse().unwrap());
    assert_eq!(stream.server, server.parse().unwrap());
    let got = frames(events);
    assert_eq!(got.len(), 4, "{events:#?}");
    let dirs = [C2S, S2C, C2S, S2C];
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.direction, dirs[i]);
        assert_eq!(&f.bytes[..], &frames_sent[i][4..]);
        assert_eq!(f.stream, *stream);
    }
    assert_eq!(got[0].offset, 0);
    assert_eq!(got[2].offset, frames_sent[0].len() as u64);
    assert_eq!(got[3].offset, frames_sent[1].len() as u64);
    assert_eq!(got[2].request_header(), Some((3, 12, 2)));
    assert!(matches!(
        events.last(),
        Some(CaptureEvent::StreamClosed {
            reason: CloseReason::Fin,
            ..
        })
    ));
    assert_eq!(events.len(), 6, "{events:#?}");
}

#[test]
fn every_link_type_ipv4_and_ipv6() {
    let links = [
        Link::Ethernet,
        Link::EthernetVlan,
        Link::Sll,
        Link::Sll2,
        Link::Raw,
        Link::NullLe,
        Link::NullBe,
        Link::Loop,
    ];
    for link in links {
        for (client, server) in [
            ("10.1.2.3:53211", "10.1.2.4:9092"),
            ("[2001:db8::1]:53211", "[2001:db8::2]:9092"),
        ] {
            let (pkts, sent) = simple_conversation(client, server);
            let (events, stats) = read_all(&pcap_of(&pkts, link), CaptureOptions::default());
            check_simple(&events, &sent, client, server);
            assert_eq!(stats.packets, pkts.len() as u64, "{link:?}");
            assert_eq!(stats.frames, 4);
            assert_eq!(stats.malformed, 0);
            assert_eq!(stats.gaps, 0);
        }
    }
}

#[test]
fn raw_ip_link_types_12_and_14_and_ipv4_ipv6_types() {
    let (pkts, sent) = simple_conversation("10.0.0.1:4000", "10.0.0.2:9092");
    for lt in [12, 14, 228] {
        let mut w = PcapWriter::new(lt, false, false);
        for p in &pkts {
            w.packet(1, 0, &ip_packet(p));
        }
        let (events, _) = read_all(&w.finish(), CaptureOptions::default());
        check_simple(&events, &sent, "10.0.0.1:4000", "10.0.0.2:9092");
    }
    let (pkts, sent) = simple_conversation("[::1]:4000", "[::1]:9092");
    let mut w = PcapWriter::new(229, false, false);
    for p in &pkts {
        w.packet(1, 0, &ip_packet(p));
    }
    let (events, _) = read_all(&w.finish(), CaptureOptions::default());
    check_simple(&events, &sent, "[::1]:4000", "[::1]:9092");
}

#[test]
fn pcap_endianness_and_timestamp_precision() {
    let (pkts, sent) = simple_conversation("127.0.0.1:40000", "127.0.0.1:9092");
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let mut w = PcapWriter::new(Link::Ethernet.linktype(), big_endian, nanos);
            for (i, p) in pkts.iter().enumerate() {
                w.packet(
                    1_700_000_000 + i as u32,
                    250_000,
                    &Link::Ethernet.wrap(&ip_packet(p)),
                );
            }
            let file = w.finish();
            let mut r = CaptureReader::new(&file[..], CaptureOptions::default()).unwrap();
            assert!(matches!(
                r.format(),
                super::CaptureFormat::Pcap { big_endian: b, nanosecond: n, link_type: 1 }
                    if b == big_endian && n == nanos
            ));
            let events: Vec<_> = r.by_ref().map(Result::unwrap).collect();
            check_simple(&events, &sent, "127.0.0.1:40000", "127.0.0.1:9092");
            let f = frames(&events);
            // request 1 is packet index 3
            assert_eq!(f[0].ts, Timestamp::new(1_700_000_003, 250_000_000));
            assert_eq!(f[0].first_ts, f[0].ts);
        }
    }
}

#[test]
fn pcapng_interfaces_resolutions_and_blocks() {
    for big_endian in [false, true] {
        let (pkts, sent) = simple_conversation("192.168.0.10:50000", "192.168.0.20:9092");
        let mut w = PcapNgWriter::new(big_endian);
        w.interface(Link::Ethernet.linktype() as u16, None, None); // 0: microseconds
        w.interface(Link::Raw.linktype() as u16, Some(9), None); // 1: nanoseconds
        w.interface(Link::Sll2.linktype() as u16, Some(0x80 | 10), Some(100)); // 2: 2^-10 s, +100 s
        w.block(4, &[0, 0, 0, 0]); // name resolution block, skipped
        w.block(0x0bad, &[1, 2, 3, 4, 5, 6, 7, 8]); // custom block, skipped
        for (i, p) in pkts.iter().enumerate() {
            let ip = ip_packet(p);
            match i % 3 {
                0 => w.packet(
                    0,
                    1_700_000_000_000_000 + i as u64,
                    &Link::Ethernet.wrap(&ip),
                ),
                1 => w.packet(1, 1_700_000_000_000_000_000 + i as u64, &ip),
                _ => w.packet(2, 1024 * 5 + 512, &Link::Sll2.wrap(&ip)),
            }
        }
        let file = w.finish();
        let mut r = CaptureReader::new(&file[..], CaptureOptions::default()).unwrap();
        assert_eq!(r.format(), super::CaptureFormat::PcapNg);
        let events: Vec<_> = r.by_ref().map(Result::unwrap).collect();
        check_simple(&events, &sent, "192.168.0.10:50000", "192.168.0.20:9092");
        let f = frames(&events);
        assert_eq!(f[0].ts, Timestamp::new(1_700_000_000, 3000)); // packet 3, interface 0
        assert_eq!(f[1].ts, Timestamp::new(1_700_000_000, 4)); // packet 4, interface 1
        assert_eq!(f[2].ts, Timestamp::new(105, 500_000_000)); // packet 5, interface 2
    }
}

#[test]
fn pcapng_simple_packets_sections_and_unknown_interface() {
    let (pkts, sent) = simple_conversation("10.9.9.9:1234", "10.9.9.8:9092");
    let mut w = PcapNgWriter::new(false);
    w.interface(Link::Raw.linktype() as u16, None, None);
    for p in &pkts[..4] {
        w.simple_packet(&ip_packet(p));
    }
    w.packet(7, 0, &ip_packet(&pkts[4])); // undeclared interface: reported, skipped
    w.packet(0, 0, &ip_packet(&pkts[4]));
    // a new section (interfaces reset), big-endian this time
    let mut w2 = PcapNgWriter::new(true);
    w2.interface(Link::Loop.linktype() as u16, None, None);
    for p in &pkts[5..] {
        w2.packet(0, 7, &Link::Loop.wrap(&ip_packet(p)));
    }
    let mut file = w.finish();
    file.extend_from_slice(&w2.finish());
    let (mut events, stats) = read_all(&file, CaptureOptions::default());
    let i = events
        .iter()
        .position(|e| matches!(e, CaptureEvent::Malformed { .. }))
        .unwrap();
    assert!(matches!(
        events.remove(i),
        CaptureEvent::Malformed {
            reason: MalformedReason::UnknownInterface(7),
            packet: 5,
            ..
        }
    ));
    check_simple(&events, &sent, "10.9.9.9:1234", "10.9.9.8:9092");
    assert_eq!(stats.malformed, 1);
}

#[test]
fn out_of_order_retransmission_and_overlap() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 7, 9);
    let req = request_frame(0, 9, 10, "producer-1", &[0xaa; 300]);
    assert_eq!(req.len(), 324);
    let resp = response_frame(10, &[0xbb; 50]);
    let mut pkts = c.handshake();
    let segs = c.c2s_segments(&req, 100); // [0,100) [100,200) [200,300) [300,324)
    pkts.push(segs[0].clone());
    pkts.push(segs[3].clone()); // out of order
                                // overlapping segment [250,324) with different bytes: [250,300) is new, the rest was
                                // already buffered (first copy kept)
    let mut overlap = segs[2].clone();
    overlap.seq = overlap.seq.wrapping_add(50);
    overlap.payload = vec![0x11; 74];
    pkts.push(overlap);
    pkts.push(segs[2].clone()); // [200,250) new, [250,300) duplicate
    pkts.push(segs[1].clone()); // fills the hole
    pkts.push(segs[1].clone()); // retransmission
    pkts.push(c.s2c(&resp));
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 2);
    let mut expected = req.clone();
    expected[250..300].fill(0x11);
    assert_eq!(&f[0].bytes[..], &expected[4..]);
    assert_eq!(&f[1].bytes[..], &resp[4..]);
    assert_eq!(stats.out_of_order_segments, 3);
    assert_eq!(stats.duplicate_bytes, 24 + 50 + 100);
    assert_eq!(stats.gaps, 0);
}

#[test]
fn frame_split_over_many_segments_and_many_frames_per_segment() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let big = request_frame(0, 9, 1, "p", &[0x5a; 5000]);
    let mut pkts = c.handshake();
    pkts.extend(c.c2s_segments(&big, 7));
    let many: Vec<Vec<u8>> = (2..40)
        .map(|i| request_frame(1, 11, i, "p", &[i as u8; 3]))
        .collect();
    pkts.push(c.c2s(&many.concat()));
    let responses: Vec<Vec<u8>> = (1..40).map(|i| response_frame(i, &[1; 6])).collect();
    pkts.push(c.s2c(&responses.concat()));
    let (events, _) = read_all(&pcap_of(&pkts, Link::Raw), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 1 + 38 + 39);
    assert_eq!(&f[0].bytes[..], &big[4..]);
    assert!(f[0].first_ts < f[0].ts);
    let mut offset = big.len() as u64;
    for (i, m) in many.iter().enumerate() {
        assert_eq!(&f[1 + i].bytes[..], &m[4..]);
        assert_eq!(f[1 + i].offset, offset);
        offset += m.len() as u64;
    }
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(f[39 + i].correlation_id(), Some(i as i32 + 1));
        assert_eq!(&f[39 + i].bytes[..], &r[4..]);
    }
}

#[test]
fn sequence_wraparound() {
    let mut c = Conv::new(
        "10.0.0.1:40000",
        "10.0.0.2:9092",
        u32::MAX - 10,
        u32::MAX - 3,
    );
    let req = request_frame(3, 1, 5, "wrap", &[1; 64]);
    let resp = response_frame(5, &[2; 64]);
    let mut pkts = c.handshake();
    let segs = c.c2s_segments(&req, 16);
    pkts.extend(segs.iter().rev().cloned()); // all out of order, across the wrap
    pkts.extend(c.s2c_segments(&resp, 5));
    pkts.extend(c.close());
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 2, "{events:#?}");
    assert_eq!(&f[0].bytes[..], &req[4..]);
    assert_eq!(&f[1].bytes[..], &resp[4..]);
    assert_eq!(stats.gaps, 0);
    assert!(matches!(
        events.last(),
        Some(CaptureEvent::StreamClosed {
            reason: CloseReason::Fin,
            ..
        })
    ));
}

#[test]
fn gap_inside_frame_and_gap_across_frames_resync() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 100, 200);
    let r: Vec<Vec<u8>> = (1..=5)
        .map(|i| request_frame(1, 11, i, "consumer-7", &[i as u8; 120]))
        .collect();
    let s: Vec<Vec<u8>> = (1..=5)
        .map(|i| response_frame(i, &[0x30 + i as u8; 200]))
        .collect();
    let mut pkts = c.handshake();
    pkts.push(c.c2s(&r[0]));
    pkts.push(c.s2c(&s[0]));
    // r2 in three segments, the middle one lost by the capture
    let segs = c.c2s_segments(&r[1], 50);
    pkts.push(segs[0].clone());
    pkts.push(segs[2].clone());
    pkts.push(c.s2c(&s[1])); // its ACK covers all of r2
                             // r3 + r4 in segments of 100 bytes; the one spanning r3's end and r4's start is lost
    let r34 = [r[2].clone(), r[3].clone()].concat();
    let segs = c.c2s_segments(&r34, 100);
    for (i, seg) in segs.iter().enumerate() {
        if i != 1 {
            pkts.push(seg.clone());
        }
    }
    pkts.push(c.c2s(&r[4]));
    // responses s3..s5 in segments of 150; lose the one spanning s3/s4
    let s345 = [s[2].clone(), s[3].clone(), s[4].clone()].concat();
    let segs = c.s2c_segments(&s345, 150);
    for (i, seg) in segs.iter().enumerate() {
        if i != 1 {
            pkts.push(seg.clone());
        }
    }
    pkts.push(c.c2s(&[])); // final ACK of everything
    pkts.extend(c.close());
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let f = frames(&events);
    let ids: Vec<(Direction, i32)> = f
        .iter()
        .map(|f| (f.direction, f.correlation_id().unwrap()))
        .collect();
    assert_eq!(
        ids,
        vec![(C2S, 1), (S2C, 1), (S2C, 2), (C2S, 5), (S2C, 5)],
        "{events:#?}"
    );
    let gaps: Vec<(Direction, u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            CaptureEvent::Gap {
                direction, at, len, ..
            } => Some((*direction, *at, *len)),
            _ => None,
        })
        .collect();
    let r1 = r[0].len() as u64;
    let s12 = (s[0].len() + s[1].len()) as u64;
    assert_eq!(
        gaps,
        vec![
            (C2S, r1 + 50, 50),
            (C2S, r1 + r[1].len() as u64 + 100, 100),
            (S2C, s12 + 150, 150)
        ]
    );
    let skips: Vec<(Direction, u64, u64, SkipReason)> = events
        .iter()
        .filter_map(|e| match e {
            CaptureEvent::Skipped {
                direction,
                at,
                len,
                reason,
                ..
            } => Some((*direction, *at, *len, *reason)),
            _ => None,
        })
        .collect();
    let r12 = r1 + r[1].len() as u64;
    assert_eq!(
        skips,
        vec![
            (C2S, r1, r[1].len() as u64, SkipReason::DamagedByGap),
            (C2S, r12, 100, SkipReason::DamagedByGap),
            // after the gap: the rest of r4 scanned over
            (
                C2S,
                r12 + 200,
                (r[2].len() + r[3].len()) as u64 - 200,
                SkipReason::Resync
            ),
            (S2C, s12, 150, SkipReason::DamagedByGap),
            (
                S2C,
                s12 + 300,
                (s[2].len() + s[3].len()) as u64 - 300,
                SkipReason::Resync
            ),
        ]
    );
    assert_eq!(stats.gaps, 3);
    assert_eq!(stats.gap_bytes, 300);
}

#[test]
fn mid_stream_start_without_handshake() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 5_000_000, 9_000_000);
    let old_req = request_frame(1, 11, 41, "consumer", &[0; 500]);
    let old_resp = response_frame(41, &[0; 900]);
    let req = request_frame(1, 11, 42, "consumer", &[0; 30]);
    let resp = response_frame(42, &[1; 30]);
    // the capture starts with the tail of an old request and an old response
    let _ = c.c2s(&old_req[..400]);
    let tail_req = c.c2s(&old_req[400..]);
    let _ = c.s2c(&old_resp[..100]);
    let tail_resp = c.s2c(&old_resp[100..]);
    // the first packet seen is the server's: the port decides who is the client
    let pkts = vec![tail_resp, tail_req, c.c2s(&req), c.s2c(&resp)];
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let CaptureEvent::StreamOpened {
        stream,
        handshake_seen,
        ..
    } = &events[0]
    else {
        panic!("{events:#?}");
    };
    assert!(!handshake_seen);
    assert_eq!(stream.server.port(), 9092);
    let f = frames(&events);
    assert_eq!(f.len(), 2, "{events:#?}");
    assert_eq!((f[0].direction, f[0].correlation_id()), (C2S, Some(42)));
    assert_eq!((f[1].direction, f[1].correlation_id()), (S2C, Some(42)));
    // offsets count from the first byte seen
    assert_eq!(f[0].offset, old_req.len() as u64 - 400);
    assert_eq!(f[1].offset, old_resp.len() as u64 - 100);
    assert_eq!(events.len(), 6, "{events:#?}"); // opened, 2 skipped, 2 frames, closed
}

#[test]
fn syn_ack_without_syn_still_synchronises_client() {
    let (pkts, sent) = simple_conversation("10.0.0.1:40000", "10.0.0.2:9092");
    let (events, _) = read_all(&pcap_of(&pkts[1..], Link::Raw), CaptureOptions::default());
    check_simple(&events, &sent, "10.0.0.1:40000", "10.0.0.2:9092");
}

#[test]
fn tls_connection_reported_once() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let mut pkts = c.handshake();
    let client_hello = [&[0x16, 0x03, 0x01, 0x00, 0x40][..], &[0x01; 0x40]].concat();
    pkts.push(c.c2s(&client_hello));
    pkts.push(c.s2c(&[
        0x16, 0x03, 0x03, 0x00, 0x10, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    ]));
    for _ in 0..5 {
        pkts.push(c.c2s(&[0x17, 0x03, 0x03, 0x00, 0x04, 9, 9, 9, 9]));
    }
    pkts.extend(c.close());
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let not_kafka: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, CaptureEvent::NotKafka { .. }))
        .collect();
    assert_eq!(not_kafka.len(), 1);
    assert!(matches!(
        not_kafka[0],
        CaptureEvent::NotKafka {
            reason: NotKafkaReason::Tls,
            ..
        }
    ));
    assert!(frames(&events).is_empty());
    assert!(matches!(
        events.last(),
        Some(CaptureEvent::StreamClosed {
            reason: CloseReason::Fin,
            ..
        })
    ));
    assert_eq!(events.len(), 3);
    assert_eq!(stats.not_kafka_streams, 1);
}

#[test]
fn not_kafka_http_on_kafka_port() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    pkts.push(c.s2c(b"HTTP/1.1 200 OK\r\n\r\n"));
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    assert!(matches!(
        events[1],
        CaptureEvent::NotKafka {
            reason: NotKafkaReason::ImplausibleLength(_),
            ..
        }
    ));
    assert!(matches!(
        events[2],
        CaptureEvent::StreamClosed {
            reason: CloseReason::EndOfCapture,
            ..
        }
    ));
}

#[test]
fn ipv4_fragments_are_reassembled() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let req = request_frame(0, 9, 3, "frag", &[0x42; 3000]);
    let mut pkts = Vec::new();
    for p in c.handshake() {
        pkts.push(Link::Ethernet.wrap(&ip_packet(&p)));
    }
    let seg = c.c2s(&req);
    let tcp = tcp_bytes(&seg);
    // three fragments, sent last-first
    let pieces = [(0usize, 1480usize), (1480, 2960), (2960, tcp.len())];
    for &(a, b) in pieces.iter().rev() {
        let more = b < tcp.len();
        let fields = V4Fields {
            options: vec![1, 1, 1, 0],
            id: 77,
            frag_offset: a,
            more,
        };
        let ip = ipv4(seg.src.ip(), seg.dst.ip(), 6, &tcp[a..b], &fields);
        pkts.push(Link::Ethernet.wrap(&ip));
    }
    let mut w = PcapWriter::new(1, false, false);
    for p in &pkts {
        w.packet(1, 0, p);
    }
    let (events, stats) = read_all(&w.finish(), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0].bytes[..], &req[4..]);
    assert_eq!(stats.ip_fragments, 3);
    assert_eq!(stats.ip_reassembled, 1);
}

#[test]
fn ipv6_extension_headers_and_fragments() {
    let mut c = Conv::new("[fe80::1]:40000", "[fe80::2]:9092", 1, 1);
    let req = request_frame(0, 9, 3, "v6", &[0x42; 2000]);
    let mut pkts = Vec::new();
    for p in c.handshake() {
        // hop-by-hop options header before TCP
        let tcp = tcp_bytes(&p);
        let ext = [&[6u8, 0, 1, 4, 0, 0, 0, 0][..], &tcp].concat();
        pkts.push(ipv6(p.src.ip(), p.dst.ip(), 0, &ext));
    }
    let seg = c.c2s(&req);
    let tcp = tcp_bytes(&seg);
    for (a, b) in [(1232usize, tcp.len()), (0, 1232)] {
        let more = b < tcp.len();
        let off_flags = (a as u16) | u16::from(more);
        let mut frag = vec![6u8, 0];
        frag.extend_from_slice(&off_flags.to_be_bytes());
        frag.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        frag.extend_from_slice(&tcp[a..b]);
        pkts.push(ipv6(seg.src.ip(), seg.dst.ip(), 44, &frag));
    }
    let mut w = PcapWriter::new(101, false, false);
    for p in &pkts {
        w.packet(1, 0, p);
    }
    let (events, stats) = read_all(&w.finish(), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 1, "{events:#?}");
    assert_eq!(&f[0].bytes[..], &req[4..]);
    assert_eq!(stats.ip_reassembled, 1);
}

#[test]
fn snap_length_truncation_becomes_gaps() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let big = request_frame(0, 9, 1, "snap", &[1; 400]);
    let small = request_frame(1, 11, 2, "snap", &[2; 10]);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(&big));
    pkts.push(c.c2s(&small));
    let mut w = PcapWriter::new(1, false, false);
    for p in &pkts {
        w.packet_snapped(1, 0, &Link::Ethernet.wrap(&ip_packet(p)), 200);
    }
    let (events, stats) = read_all(&w.finish(), CaptureOptions::default());
    let f = frames(&events);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].correlation_id(), Some(2));
    assert_eq!(stats.truncated_packets, 1);
    assert!(events.iter().any(|e| matches!(
        e,
        CaptureEvent::Gap { at: 146, len, .. } if *len == big.len() as u64 - 146
    )));
}

#[test]
fn auto_detection() {
    let opts = CaptureOptions::with_ports(PortSelection::Auto);
    // Kafka on an unusual port, with handshake
    let (pkts, sent) = simple_conversation("10.0.0.1:40000", "10.0.0.2:31337");
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), opts.clone());
    check_simple(&events, &sent, "10.0.0.1:40000", "10.0.0.2:31337");
    // mid-stream, first packet seen from the server: orientation fixed by detection
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:31337", 1, 1);
    let resp0 = response_frame(6, &[0; 20]);
    let req = request_frame(3, 12, 7, "auto", &[]);
    let resp = response_frame(7, &[5; 20]);
    let pkts = vec![c.s2c(&resp0), c.c2s(&req), c.s2c(&resp)];
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), opts.clone());
    let CaptureEvent::StreamOpened { stream, .. } = &events[0] else {
        panic!("{events:#?}");
    };
    assert_eq!(stream.server.port(), 31337);
    let f = frames(&events);
    // the first response predates the detection point and is skipped
    assert_eq!(f.len(), 2, "{events:#?}");
    assert_eq!((f[0].direction, f[0].correlation_id()), (C2S, Some(7)));
    assert_eq!((f[1].direction, f[1].correlation_id()), (S2C, Some(7)));
    assert_eq!(f[1].offset, resp0.len() as u64);
    // HTTP on some port: not Kafka, reported at the end; no open/close events
    let mut c = Conv::new("10.0.0.1:40001", "10.0.0.2:8080", 1, 1);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(b"GET / HTTP/1.1\r\n\r\n"));
    pkts.push(c.s2c(b"HTTP/1.1 200 OK\r\n\r\n"));
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Ethernet), opts);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(matches!(
        events[0],
        CaptureEvent::NotKafka {
            reason: NotKafkaReason::NotDetected,
            ..
        }
    ));
    assert_eq!(stats.streams, 1);
}

#[test]
fn port_list_and_non_tcp_traffic() {
    let (pkts, _) = simple_conversation("10.0.0.1:40000", "10.0.0.2:80");
    let mut file = PcapWriter::new(1, false, false);
    for p in &pkts {
        file.packet(1, 0, &Link::Ethernet.wrap(&ip_packet(p)));
    }
    // UDP and ARP
    let udp = ipv4(
        "10.0.0.1".parse().unwrap(),
        "10.0.0.2".parse().unwrap(),
        17,
        &[0; 12],
        &V4Fields::default(),
    );
    file.packet(1, 0, &Link::Ethernet.wrap(&udp));
    let mut arp = vec![0xff; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    file.packet(1, 0, &arp);
    let file = file.finish();
    let (events, stats) = read_all(&file, CaptureOptions::default());
    assert!(events.is_empty());
    assert_eq!(stats.ignored_segments, pkts.len() as u64);
    assert_eq!((stats.non_tcp, stats.non_ip), (1, 1));
    let (events, _) = read_all(
        &file,
        CaptureOptions::with_ports(PortSelection::Ports(vec![9092, 80])),
    );
    assert_eq!(frames(&events).len(), 4);
}

#[test]
fn reset_and_address_reuse() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let req = request_frame(18, 3, 1, "r", &[]);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(&req[..10])); // partial frame, then RST
    pkts.push(c.reset());
    pkts.push(c.c2s(&req[10..])); // late packet: ignored
    let mut c2 = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 777, 888);
    pkts.extend(c2.handshake());
    pkts.push(c2.c2s(&req));
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            CaptureEvent::StreamOpened { stream, .. } => format!("open {}", stream.index),
            CaptureEvent::StreamClosed { stream, reason, .. } => {
                format!("close {} {reason}", stream.index)
            }
            CaptureEvent::Skipped { stream, reason, .. } => {
                format!("skip {} {reason:?}", stream.index)
            }
            CaptureEvent::Frame(f) => format!("frame {}", f.stream.index),
            other => format!("{other}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "open 1",
            "skip 1 Truncated",
            "close 1 RST",
            "open 2",
            "frame 2",
            "close 2 end of capture"
        ]
    );
}

#[test]
fn new_syn_on_open_connection_closes_it_as_reused() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let mut pkts = c.handshake();
    pkts.push(c.c2s(&request_frame(18, 3, 1, "r", &[])));
    let mut c2 = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 5555, 1);
    pkts.extend(c2.handshake());
    let (events, _) = read_all(&pcap_of(&pkts, Link::Ethernet), CaptureOptions::default());
    assert!(events.iter().any(|e| matches!(e, CaptureEvent::StreamClosed { reason: CloseReason::Reused, stream, .. } if stream.index == 1)));
    assert!(events
        .iter()
        .any(|e| matches!(e, CaptureEvent::StreamOpened { stream, .. } if stream.index == 2)));
}

#[test]
fn stream_table_is_bounded() {
    let mut pkts = Vec::new();
    for port in 0..20u16 {
        let mut c = Conv::new(&format!("10.0.0.1:{}", 30000 + port), "10.0.0.2:9092", 1, 1);
        pkts.extend(c.handshake());
        pkts.push(c.c2s(&request_frame(18, 3, 1, "r", &[])));
    }
    let opts = CaptureOptions {
        max_streams: 4,
        ..CaptureOptions::default()
    };
    let (events, stats) = read_all(&pcap_of(&pkts, Link::Raw), opts);
    assert_eq!(stats.evicted_streams, 16);
    assert_eq!(frames(&events).len(), 20);
    let evicted = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                CaptureEvent::StreamClosed {
                    reason: CloseReason::Evicted,
                    ..
                }
            )
        })
        .count();
    assert_eq!(evicted, 16);
}

#[test]
fn oversized_frames_are_skipped_not_buffered() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let mut pkts = c.handshake();
    let small = request_frame(1, 11, 1, "c", &[]);
    pkts.push(c.c2s(&small));
    let big = response_frame(1, &[3; 20_000]);
    pkts.extend(c.s2c_segments(&big, 1400));
    let after = response_frame(2, &[4; 10]);
    pkts.push(c.s2c(&after));
    let opts = CaptureOptions {
        max_frame_buffer: 4096,
        ..CaptureOptions::default()
    };
    let (events, _) = read_all(&pcap_of(&pkts, Link::Raw), opts);
    let f = frames(&events);
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].correlation_id(), Some(2));
    assert!(events.iter().any(|e| matches!(
        e,
        CaptureEvent::Skipped { reason: SkipReason::FrameTooLarge, len, .. } if *len == big.len() as u64
    )));
}

#[test]
fn caller_supplied_correlation_ids_resynchronise_responses() {
    // Only the server's side was captured, starting mid-stream.
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
    let old = response_frame(99, &[0; 300]);
    let r1 = response_frame(100, &[1; 30]);
    let _ = c.s2c(&old[..100]);
    let pkts = vec![c.s2c(&old[100..]), c.s2c(&r1)];
    let file = pcap_of(&pkts, Link::Raw);
    // without help nothing can be matched
    let (events, _) = read_all(&file, CaptureOptions::default());
    assert!(frames(&events).is_empty());
    // with the hook
    let mut r = CaptureReader::new(&file[..], CaptureOptions::default()).unwrap();
    let mut got = Vec::new();
    while let Some(e) = r.next() {
        let e = e.unwrap();
        if let CaptureEvent::StreamOpened { stream, .. } = &e {
            assert!(r.expect_response(stream, 100));
            assert!(r.expect_response(stream, 101));
            assert!(r.forget_response(stream, 101));
        }
        got.push(e);
    }
    let f = frames(&got);
    assert_eq!(f.len(), 1, "{got:#?}");
    assert_eq!(f[0].correlation_id(), Some(100));
}

#[test]
fn malformed_and_truncated_captures() {
    assert!(matches!(
        CaptureReader::new(
            &b"hello world, this is not a capture"[..],
            CaptureOptions::default()
        ),
        Err(CaptureError::UnknownFormat { .. })
    ));
    assert!(matches!(
        CaptureReader::new(&[0xd4, 0xc3][..], CaptureOptions::default()),
        Err(CaptureError::TooShort { len: 2 })
    ));
    assert!(matches!(
        CaptureReader::new(
            &[0xd4, 0xc3, 0xb2, 0xa1, 0, 0][..],
            CaptureOptions::default()
        ),
        Err(CaptureError::TooShort { len: 6 })
    ));
    // a capture cut in the middle of a packet: reported, and the open stream is still closed
    let (pkts, _) = simple_conversation("10.0.0.1:40000", "10.0.0.2:9092");
    let file = pcap_of(&pkts, Link::Ethernet);
    let open_file = pcap_of(&pkts[..6], Link::Ethernet);
    let cut = &open_file[..open_file.len() - 10];
    let (events, _) = read_all(cut, CaptureOptions::default());
    let n = events.len();
    assert!(matches!(
        events[n - 2],
        CaptureEvent::Malformed {
            reason: MalformedReason::TruncatedCapture,
            ..
        }
    ));
    assert!(matches!(
        events[n - 1],
        CaptureEvent::StreamClosed {
            reason: CloseReason::EndOfCapture,
            ..
        }
    ));
    // a corrupt record length: fatal error, then the streams are closed
    let mut bad = file.clone();
    let second_record = 24 + 16 + pkts_len_first(&pkts);
    bad[second_record + 8..second_record + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut r = CaptureReader::new(&bad[..], CaptureOptions::default()).unwrap();
    let all: Vec<_> = r.by_ref().collect();
    assert!(all.iter().any(|e| matches!(e, Err(CaptureError::Corrupt { offset, .. }) if *offset == second_record as u64)));
    assert!(matches!(
        all.last(),
        Some(Ok(CaptureEvent::StreamClosed { .. }))
    ));
    // garbage packets: reported, not fatal
    let mut w = PcapWriter::new(1, false, false);
    w.packet(1, 0, &[1, 2, 3]);
    let mut bad_ip = vec![0u8; 12];
    bad_ip.extend_from_slice(&[0x08, 0x00, 0x47, 0, 0]);
    w.packet(1, 0, &bad_ip);
    let mut w2 = PcapWriter::new(147, false, false);
    w2.packet(1, 0, &[1]);
    let (events, stats) = read_all(&w.finish(), CaptureOptions::default());
    assert_eq!(events.len(), 2);
    assert_eq!(stats.malformed, 2);
    let (events, stats) = read_all(&w2.finish(), CaptureOptions::default());
    assert!(matches!(
        events[0],
        CaptureEvent::Malformed {
            reason: MalformedReason::UnsupportedLinkType(147),
            ..
        }
    ));
    assert_eq!(stats.unsupported_link, 1);
}

fn pkts_len_first(pkts: &[TcpPkt]) -> usize {
    Link::Ethernet.wrap(&ip_packet(&pkts[0])).len()
}

/// A reader that returns at most a few bytes per call, like a pipe.
struct Dribble<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.n = self.n % 7 + 1;
        let k = self.n.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

#[test]
fn streaming_reader_with_short_reads() {
    let (pkts, sent) = simple_conversation("10.0.0.1:40000", "10.0.0.2:9092");
    let file = pcap_of(&pkts, Link::Ethernet);
    let r = CaptureReader::new(Dribble { data: &file, n: 0 }, CaptureOptions::default()).unwrap();
    let events: Vec<_> = r.map(Result::unwrap).collect();
    check_simple(&events, &sent, "10.0.0.1:40000", "10.0.0.2:9092");
    let mut w = PcapNgWriter::new(false);
    w.interface(1, None, None);
    for p in &pkts {
        w.packet(0, 0, &Link::Ethernet.wrap(&ip_packet(p)));
    }
    let file = w.finish();
    let r = CaptureReader::new(Dribble { data: &file, n: 0 }, CaptureOptions::default()).unwrap();
    let events: Vec<_> = r.map(Result::unwrap).collect();
    check_simple(&events, &sent, "10.0.0.1:40000", "10.0.0.2:9092");
}

#[test]
fn event_display() {
    let (pkts, _) = simple_conversation("127.0.0.1:53211", "127.0.0.1:9092");
    let (events, _) = read_all(&pcap_of(&pkts, Link::NullLe), CaptureOptions::default());
    let text: Vec<String> = events.iter().map(ToString::to_string).collect();
    assert!(
        text[0].contains("#1 127.0.0.1:53211 -> 127.0.0.1:9092 opened"),
        "{text:?}"
    );
    assert!(text[1].contains("client->server frame at 0"), "{text:?}");
}

mod real_captures {
    //! Captures of real loopback traffic (tcpdump, dumpcap), see `testdata/README.md`.
    use super::*;
    use crate::capture::{CaptureFormat, Frame};

    const ETHERNET: &[u8] = include_bytes!("testdata/loopback_ethernet.pcap");
    const NANO: &[u8] = include_bytes!("testdata/loopback_nanosecond.pcap");
    const SLL2: &[u8] = include_bytes!("testdata/any_sll2.pcap");
    const PCAPNG: &[u8] = include_bytes!("testdata/loopback_dumpcap.pcapng");

    /// Checks the content every capture has; returns the Kafka frames.
    fn check(file: &[u8], format: CaptureFormat) -> Vec<Frame> {
        let mut r = CaptureReader::new(file, CaptureOptions::default()).unwrap();
        assert_eq!(r.format(), format);
        let events: Vec<CaptureEvent> = r.by_ref().map(Result::unwrap).collect();
        let stats = r.stats().clone();
        assert_eq!(stats.malformed, 0, "{events:#?}");
        assert_eq!(
            (stats.gaps, stats.skipped_bytes, stats.duplicate_bytes),
            (0, 0, 0)
        );
        assert_eq!(stats.streams, 3);
        assert_eq!(stats.packets, 48);
        // two Kafka connections (IPv4 then IPv6), one TLS connection
        let opened: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CaptureEvent::StreamOpened {
                    stream,
                    handshake_seen,
                    ..
                } => Some((*stream, *handshake_seen)),
                _ => None,
            })
            .collect();
        assert_eq!(opened.len(), 3);
        assert!(opened.iter().all(|(s, hs)| *hs && s.server.port() == 9092));
        assert!(opened[0].0.client.is_ipv4() && opened[1].0.client.is_ipv6());
        assert!(events.iter().any(|e| matches!(
            e,
            CaptureEvent::NotKafka { stream, reason: NotKafkaReason::Tls, .. } if stream.index == 3
        )));
        let closed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CaptureEvent::StreamClosed { stream, reason, .. } => Some((stream.index, *reason)),
                _ => None,
            })
            .collect();
        // the fake TLS client is reset by the server, which hangs up on unread data
        assert_eq!(
            closed,
            vec![
                (1, CloseReason::Fin),
                (2, CloseReason::Fin),
                (3, CloseReason::Reset)
            ]
        );
        let f = frames(&events);
        assert_eq!(f.len(), 20);
        for conn in [1, 2] {
            let conn_frames: Vec<&Frame> = f.iter().filter(|x| x.stream.index == conn).collect();
            let requests: Vec<_> = conn_frames
                .iter()
                .filter_map(|x| x.request_header())
                .collect();
            assert_eq!(
                requests,
                vec![(18, 3, 1), (3, 12, 2), (0, 9, 3), (1, 11, 4), (12, 4, 5)]
            );
            let responses: Vec<_> = conn_frames
                .iter()
                .filter(|x| x.direction == S2C)
                .map(|x| (x.correlation_id().unwrap(), x.bytes.len()))
                .collect();
            assert_eq!(
                responses,
                vec![(1, 44), (2, 304), (3, 64), (4, 3004), (5, 24)]
            );
            // the produce request came in three packets, 20 ms apart
            let produce = conn_frames
                .iter()
                .find(|x| x.request_header() == Some((0, 9, 3)))
                .unwrap();
            assert_eq!(produce.bytes.len(), 10 + 9 + 3072);
            assert!(produce.ts.as_nanos() - produce.first_ts.as_nanos() > 30_000_000);
            // timestamps never go backwards within a direction
            for d in [C2S, S2C] {
                let ts: Vec<_> = conn_frames
                    .iter()
                    .filter(|x| x.direction == d)
                    .map(|x| x.ts)
                    .collect();
                assert!(ts.windows(2).all(|w| w[0] <= w[1]));
            }
        }
        f
    }

    fn same_frames(a: &[Frame], b: &[Frame]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(
                (x.stream.index, x.direction, x.offset),
                (y.stream.index, y.direction, y.offset)
            );
            assert_eq!(x.bytes, y.bytes);
        }
    }

    #[test]
    fn tcpdump_loopback_ethernet() {
        let f = check(
            ETHERNET,
            CaptureFormat::Pcap {
                big_endian: false,
                nanosecond: false,
                link_type: 1,
            },
        );
        assert_eq!(f[0].stream.client.ip().to_string(), "127.0.0.1");
        assert_eq!(f[0].ts.nanos % 1000, 0);
    }

    #[test]
    fn tcpdump_nanosecond() {
        let f = check(
            NANO,
            CaptureFormat::Pcap {
                big_endian: false,
                nanosecond: true,
                link_type: 1,
            },
        );
        assert!(f.iter().any(|x| x.ts.nanos % 1000 != 0));
    }

    #[test]
    fn tcpdump_any_interface_sll2() {
        check(
            SLL2,
            CaptureFormat::Pcap {
                big_endian: false,
                nanosecond: false,
                link_type: 276,
            },
        );
    }

    #[test]
    fn dumpcap_pcapng() {
        let f = check(PCAPNG, CaptureFormat::PcapNg);
        assert!(f.iter().any(|x| x.ts.nanos % 1000 != 0));
        same_frames(
            &f,
            &check(
                ETHERNET,
                CaptureFormat::Pcap {
                    big_endian: false,
                    nanosecond: false,
                    link_type: 1,
                },
            ),
        );
    }

    #[test]
    fn auto_detection_on_real_traffic() {
        let (events, stats) = read_all(ETHERNET, CaptureOptions::with_ports(PortSelection::Auto));
        assert_eq!(frames(&events).len(), 20);
        assert_eq!(stats.not_kafka_streams, 1);
    }

    #[test]
    fn every_truncation_of_a_real_capture_is_handled() {
        for cut in (0..ETHERNET.len()).step_by(97) {
            let Ok(r) = CaptureReader::new(&ETHERNET[..cut], CaptureOptions::default()) else {
                assert!(cut < 24);
                continue;
            };
            let events: Vec<_> = r.map(Result::unwrap).collect();
            // every frame produced is a real one
            for f in frames(&events) {
                assert!(f.correlation_id().is_some_and(|c| (1..=5).contains(&c)));
            }
        }
    }
}

mod properties {
    //! Randomised tests: arbitrary input never panics; reordering and duplicating segments
    //! does not change the frames.
    use proptest::prelude::*;

    use super::*;

    fn drain(input: &[u8], opts: CaptureOptions) {
        if let Ok(r) = CaptureReader::new(input, opts) {
            for e in r.take(100_000) {
                let _ = e;
            }
        }
    }

    fn small_limits() -> CaptureOptions {
        CaptureOptions {
            max_frame_buffer: 1000,
            max_out_of_order_bytes: 2000,
            max_resync_scan: 500,
            max_streams: 4,
            detect_max_bytes: 1000,
            detect_max_segments: 4,
            max_ip_fragments: 4,
            ..CaptureOptions::default()
        }
    }

    fn sample_captures() -> Vec<Vec<u8>> {
        let (pkts, _) = simple_conversation("10.0.0.1:40000", "10.0.0.2:9092");
        let (pkts6, _) = simple_conversation("[::1]:40000", "[::1]:9092");
        let mut ng = PcapNgWriter::new(true);
        ng.interface(Link::Sll.linktype() as u16, Some(9), None);
        for p in &pkts6 {
            ng.packet(0, 5, &Link::Sll.wrap(&ip_packet(p)));
        }
        vec![
            pcap_of(&pkts, Link::Ethernet),
            pcap_of(&pkts6, Link::Sll2),
            ng.finish(),
        ]
    }

    proptest! {
        // 256 cases by default; more with PROPTEST_CASES=n.
        #![proptest_config(ProptestConfig::default())]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            drain(&data, CaptureOptions::default());
            drain(&data, CaptureOptions::with_ports(PortSelection::Auto));
        }

        #[test]
        fn random_bytes_after_valid_headers_never_panic(
            which in 0usize..3,
            body in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            let base = &sample_captures()[which];
            let header_len = if which == 2 { 28 + 32 } else { 24 };
            let mut data = base[..header_len].to_vec();
            data.extend_from_slice(&body);
            drain(&data, small_limits());
            drain(&data, CaptureOptions { ports: PortSelection::Auto, ..small_limits() });
        }

        #[test]
        fn mutated_captures_never_panic(
            which in 0usize..3,
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..20),
        ) {
            let mut data = sample_captures()[which].clone();
            for (i, v) in flips {
                let i = i.index(data.len());
                data[i] ^= v;
            }
            let cut = cut.index(data.len() + 1);
            drain(&data[..cut], CaptureOptions::default());
            drain(&data[..cut], CaptureOptions { ports: PortSelection::Auto, ..small_limits() });
        }

        #[test]
        fn random_packets_never_panic(
            packets in proptest::collection::vec(
                (0u8..4, any::<u8>(), any::<u32>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..200)),
                0..60,
            ),
        ) {
            // Random TCP segments on one connection: random flags, sequence numbers, payloads.
            let client: std::net::SocketAddr = "10.0.0.1:40000".parse().unwrap();
            let server: std::net::SocketAddr = "10.0.0.2:9092".parse().unwrap();
            let pkts: Vec<TcpPkt> = packets
                .into_iter()
                .map(|(dir, flags, seq, ack, payload)| {
                    let (src, dst) = if dir % 2 == 0 { (client, server) } else { (server, client) };
                    TcpPkt { src, dst, seq: if dir < 2 { seq % 4096 } else { seq }, ack, flags, payload }
                })
                .collect();
            let file = pcap_of(&pkts, Link::Raw);
            drain(&file, small_limits());
            drain(&file, CaptureOptions { ports: PortSelection::Auto, ..small_limits() });
        }

        #[test]
        fn lost_segments_never_produce_false_frames(
            pairs in proptest::collection::vec(
                (0usize..600, 0usize..3000, proptest::collection::vec(0u8..4, 1..8)),
                1..10,
            ),
            mss in 20usize..700,
            lost in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            reorder in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..3), 0..6),
        ) {
            // Bodies full of small big-endian integers and zeros: the worst case for the
            // resynchronisation heuristics.
            let body = |n: usize, pattern: &[u8]| -> Vec<u8> {
                (0..n).map(|i| if i % 4 == 3 { pattern[i / 4 % pattern.len()] } else { 0 }).collect()
            };
            let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", 1, 1);
            let mut pkts = c.handshake();
            let mut data_pkts = Vec::new();
            let mut reqs = Vec::new();
            let mut resps = Vec::new();
            for (i, (qn, rn, pattern)) in pairs.iter().enumerate() {
                let corr = i as i32 + 1;
                let req = request_frame(0, 9, corr, "prop-client", &body(*qn, pattern));
                let resp = response_frame(corr, &body(*rn, pattern));
                data_pkts.extend(c.c2s_segments(&req, mss));
                data_pkts.extend(c.s2c_segments(&resp, mss));
                reqs.push(req[4..].to_vec());
                resps.push(resp[4..].to_vec());
            }
            for i in lost {
                if !data_pkts.is_empty() {
                    let i = i.index(data_pkts.len());
                    data_pkts.remove(i);
                }
            }
            for (i, d) in reorder {
                if !data_pkts.is_empty() {
                    let i = i.index(data_pkts.len());
                    let j = (i + d).min(data_pkts.len() - 1);
                    data_pkts.swap(i, j);
                }
            }
            pkts.extend(data_pkts);
            pkts.push(c.c2s(&[])); // acknowledges everything the server sent
            pkts.push(c.s2c(&[]));
            let (events, _) = read_all(&pcap_of(&pkts, Link::Raw), CaptureOptions::default());
            for f in frames(&events) {
                let pool = if f.direction == C2S { &reqs } else { &resps };
                prop_assert!(
                    pool.iter().any(|x| x[..] == f.bytes[..]),
                    "false frame {:?} at {}", f.direction, f.offset
                );
            }
        }

        #[test]
        fn reordering_and_duplication_preserve_frames(
            sizes in proptest::collection::vec(0usize..300, 1..12),
            mss in 1usize..200,
            isn in any::<u32>(),
            swaps in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..6), 0..30),
            dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:9092", isn, isn ^ 0x5555_5555);
            let reqs: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| request_frame(1, 11, i as i32, "prop", &vec![i as u8; n]))
                .collect();
            let stream = reqs.concat();
            let mut pkts = c.handshake();
            let mut segs = c.c2s_segments(&stream, mss);
            // local reordering: swap segments at most 5 apart
            for (i, d) in swaps {
                let i = i.index(segs.len());
                let j = (i + d).min(segs.len() - 1);
                segs.swap(i, j);
            }
            for i in dups {
                let i = i.index(segs.len());
                let seg = segs[i].clone();
                segs.insert(i, seg);
            }
            pkts.extend(segs);
            pkts.extend(c.close());
            let (events, stats) = read_all(&pcap_of(&pkts, Link::Raw), CaptureOptions::default());
            let f = frames(&events);
            prop_assert_eq!(f.len(), reqs.len());
            for (frame, req) in f.iter().zip(&reqs) {
                prop_assert_eq!(&frame.bytes[..], &req[4..]);
            }
            prop_assert_eq!(stats.gaps, 0);
        }
    }
}

/// Throughput on a ~200 MB synthetic capture. Run with
/// `cargo test --release -p kafka-cli throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run in release mode"]
fn throughput_200mb() {
    fn build(mss: usize, max_response: usize, target: usize) -> Vec<u8> {
        let mut w = PcapWriter::new(Link::Ethernet.linktype(), false, false);
        let mut convs: Vec<Conv> = (0..64)
            .map(|i| {
                Conv::new(
                    &format!("10.0.{}.{}:{}", i / 200, i % 200 + 1, 40000 + i),
                    "10.1.0.1:9092",
                    i as u32 * 7919,
                    1,
                )
            })
            .collect();
        let mut n = 0u32;
        let emit = |w: &mut PcapWriter, p: &TcpPkt, n: &mut u32| {
            *n += 1;
            w.packet(
                1_700_000_000 + *n / 100_000,
                *n % 1_000_000,
                &Link::Ethernet.wrap(&ip_packet(p)),
            );
        };
        for c in &mut convs {
            for p in c.handshake() {
                emit(&mut w, &p, &mut n);
            }
        }
        let mut corr = 0;
        let mut size = 0;
        while size < target {
            for (i, c) in convs.iter_mut().enumerate() {
                corr += 1;
                let req = request_frame(1, 11, corr, "consumer-1", &[7; 120]);
                let resp = response_frame(
                    corr,
                    &vec![(i % 251) as u8; 100 + (corr as usize * 7919) % max_response],
                );
                for p in c.c2s_segments(&req, mss) {
                    emit(&mut w, &p, &mut n);
                }
                for p in c.s2c_segments(&resp, mss) {
                    emit(&mut w, &p, &mut n);
                }
                size += req.len() + resp.len();
            }
        }
        w.finish()
    }
    for (name, mss, max_response) in [
        ("ethernet mss 1448", 1448, 60_000),
        ("loopback mss 65483", 65483, 60_000),
        ("small frames, mss 1448", 1448, 400),
    ] {
        let file = build(mss, max_response, 200 << 20);
        if let Ok(dir) = std::env::var("KCAP_BENCH_DIR") {
            let name = name.replace([' ', ','], "_");
            std::fs::write(format!("{dir}/{name}.pcap"), &file).unwrap();
        }
        let start = std::time::Instant::now();
        let mut r = CaptureReader::new(&file[..], CaptureOptions::default()).unwrap();
        let mut frames = 0u64;
        let mut frame_bytes = 0u64;
        for e in r.by_ref() {
            if let CaptureEvent::Frame(f) = e.unwrap() {
                frames += 1;
                frame_bytes += f.bytes.len() as u64;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let stats = r.stats();
        assert_eq!(stats.gaps, 0);
        assert_eq!(stats.frames, frames);
        println!(
            "{name}: {:.1} MB, {} packets, {frames} frames ({:.1} MB) in {secs:.3} s = {:.0} MB/s, {:.2} Mpackets/s",
            file.len() as f64 / 1e6,
            stats.packets,
            frame_bytes as f64 / 1e6,
            file.len() as f64 / 1e6 / secs,
            stats.packets as f64 / 1e6 / secs,
        );
    }
}
