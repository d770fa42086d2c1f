//! What [`CaptureReader`](super::CaptureReader) yields.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use super::time::Timestamp;

/// Direction of a byte stream within a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Client to server: Kafka requests.
    ClientToServer,
    /// Server to client: Kafka responses.
    ServerToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// `0` for client to server, `1` for server to client.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    /// True for the request (client to server) direction.
    pub fn is_request(self) -> bool {
        self == Direction::ClientToServer
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ClientToServer => "client->server",
            Direction::ServerToClient => "server->client",
        })
    }
}

/// Identity of one TCP connection (both directions) in the capture.
///
/// `index` is unique within one [`CaptureReader`](super::CaptureReader) run (a reused 4-tuple
/// gets a new index); the addresses are for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Sequential connection number, starting at 1, in order of first appearance.
    pub index: u64,
    /// The client (connecting side).
    pub client: SocketAddr,
    /// The server (Kafka broker side).
    pub server: SocketAddr,
}

impl StreamId {
    /// The address sending in `direction`.
    pub fn source(&self, direction: Direction) -> SocketAddr {
        match direction {
            Direction::ClientToServer => self.client,
            Direction::ServerToClient => self.server,
        }
    }

    /// The address receiving in `direction`.
    pub fn destination(&self, direction: Direction) -> SocketAddr {
        self.source(direction.reverse())
    }
}

impl fmt::Display for StreamId {
    /// `127.0.0.1:53211 -> 127.0.0.1:9092`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.client, self.server)
    }
}

/// One complete Kafka frame (request or response) from one direction of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The connection.
    pub stream: StreamId,
    /// Requests travel client to server, responses server to client.
    pub direction: Direction,
    /// Capture time of the packet that completed the frame.
    pub ts: Timestamp,
    /// Capture time of the packet that carried the frame's first byte.
    pub first_ts: Timestamp,
    /// Offset of the frame's 4-byte length prefix in this direction's byte stream (0 = first
    /// payload byte after the SYN, or first byte seen when the capture started mid-connection).
    pub offset: u64,
    /// The frame without its 4-byte length prefix: request or response header plus body.
    pub bytes: Bytes,
}

impl Frame {
    /// Request header fields `(api_key, api_version, correlation_id)`, if this is a request frame
    /// long enough to hold them.
    pub fn request_header(&self) -> Option<(i16, i16, i32)> {
        if !self.direction.is_request() {
            return None;
        }
        let b = self.bytes.get(..8)?;
        Some((
            i16::from_be_bytes([b[0], b[1]]),
            i16::from_be_bytes([b[2], b[3]]),
            i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// The correlation id (bytes 4..8 of a request, 0..4 of a response), if present.
    pub fn correlation_id(&self) -> Option<i32> {
        let range = if self.direction.is_request() {
            4..8
        } else {
            0..4
        };
        let b = self.bytes.get(range)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Why bytes of a stream did not become frames (see [`CaptureEvent::Skipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SkipReason {
    /// Scanned while looking for the start of a frame: after a gap, after an implausible length
    /// prefix, or because the capture started in the middle of the connection.
    #[error("resynchronising: no plausible frame start")]
    Resync,
    /// A frame longer than `CaptureOptions::max_frame_buffer`; skipped without buffering.
    #[error("frame larger than the buffer limit")]
    FrameTooLarge,
    /// Part of this frame was lost in the capture (see the preceding `Gap`).
    #[error("frame damaged by a gap in the capture")]
    DamagedByGap,
    /// The stream ended (FIN, RST or end of capture) in the middle of this frame.
    #[error("stream ended inside the frame")]
    Truncated,
}

/// Why a connection was judged not to carry Kafka (see [`CaptureEvent::NotKafka`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NotKafkaReason {
    /// The stream starts like TLS (`0x16 0x03`: handshake, or another TLS record header).
    #[error("TLS traffic")]
    Tls,
    /// The first length prefix is negative or larger than `max_frame_len`.
    #[error("implausible first frame length {0}")]
    ImplausibleLength(i64),
    /// The first client frame is not a plausible Kafka request header.
    #[error("first client frame is not a Kafka request")]
    NotARequest,
    /// No plausible frame found after scanning this many bytes (`max_resync_scan`).
    #[error("no Kafka frame found in {0} bytes")]
    NoFrameFound(u64),
    /// Port auto-detection found no Kafka request with a matching response.
    #[error("no Kafka request/response pair at the start of the connection")]
    NotDetected,
}

/// Why a connection's streams ended (see [`CaptureEvent::StreamClosed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CloseReason {
    /// Both directions sent FIN and all data up to it was seen.
    #[error("FIN")]
    Fin,
    /// A RST was seen.
    #[error("RST")]
    Reset,
    /// The capture ended with the connection still open.
    #[error("end of capture")]
    EndOfCapture,
    /// Dropped to stay within `CaptureOptions::max_streams`.
    #[error("evicted (too many concurrent streams)")]
    Evicted,
    /// A new connection (SYN) reused the same addresses and ports.
    #[error("addresses reused by a new connection")]
    Reused,
}

/// A packet or capture record that could not be decoded (see [`CaptureEvent::Malformed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedReason {
    /// Packet shorter than its link-layer header.
    #[error("truncated link-layer header")]
    TruncatedLinkHeader,
    /// IP header truncated or invalid (bad version or header length).
    #[error("bad IP header")]
    BadIpHeader,
    /// TCP header truncated or data offset invalid.
    #[error("bad TCP header")]
    BadTcpHeader,
    /// A pcapng block or pcap record whose contents do not parse; it was skipped.
    #[error("unparseable capture block")]
    BadBlock,
    /// A pcapng packet refers to an interface that was never described.
    #[error("packet for undeclared interface {0}")]
    UnknownInterface(u32),
    /// A packet larger than the reader's limit; skipped.
    #[error("packet record too large ({0} bytes)")]
    PacketTooLarge(u64),
    /// The capture ends in the middle of a record (e.g. the capturing process was killed).
    #[error("capture file truncated in the middle of a record")]
    TruncatedCapture,
    /// The link type of this interface is not supported; its packets are counted and skipped.
    /// Reported once per interface.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// An IP fragment could not be reassembled (inconsistent, too large, or evicted).
    #[error("IP fragment dropped")]
    FragmentDropped,
}

/// Everything the capture reader reports, in capture order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureEvent {
    /// A Kafka connection was seen for the first time. With `PortSelection::Auto` this comes
    /// when the connection is recognised as Kafka, just before its first frames.
    StreamOpened {
        /// The connection.
        stream: StreamId,
        /// Time of the packet that opened it.
        ts: Timestamp,
        /// True if the SYN was captured (stream offsets start at the true beginning).
        handshake_seen: bool,
    },
    /// A complete Kafka frame.
    Frame(Frame),
    /// Bytes of the stream are missing from the capture (dropped by the capture, or the capture
    /// is truncated by its snap length). `at` is the stream offset of the first missing byte.
    Gap {
        /// The connection.
        stream: StreamId,
        /// Which byte stream.
        direction: Direction,
        /// Time of the packet whose arrival revealed the gap.
        ts: Timestamp,
        /// Stream offset of the first missing byte.
        at: u64,
        /// Number of missing bytes.
        len: u64,
    },
    /// Captured bytes that did not become frames.
    Skipped {
        /// The connection.
        stream: StreamId,
        /// Which byte stream.
        direction: Direction,
        /// Time of the packet at which this was decided.
        ts: Timestamp,
        /// Stream offset of the first skipped byte.
        at: u64,
        /// Length of the skipped span (for `DamagedByGap`, the whole frame including gap bytes).
        len: u64,
        /// Why.
        reason: SkipReason,
    },
    /// The connection does not carry (plain-text) Kafka; reported once, then its packets are
    /// ignored.
    NotKafka {
        /// The connection.
        stream: StreamId,
        /// Time of the packet at which this was decided.
        ts: Timestamp,
        /// Why.
        reason: NotKafkaReason,
    },
    /// The connection ended.
    StreamClosed {
        /// The connection.
        stream: StreamId,
        /// Time of the last packet.
        ts: Timestamp,
        /// Why.
        reason: CloseReason,
    },
    /// A capture record or packet that could not be decoded; it was skipped.
    Malformed {
        /// 1-based number of the packet record in the capture (0 if not tied to a packet).
        packet: u64,
        /// Its capture time, if known.
        ts: Timestamp,
        /// What was wrong.
        reason: MalformedReason,
    },
}

impl fmt::Display for CaptureEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureEvent::StreamOpened {
                stream,
                ts,
                handshake_seen,
            } => write!(
                f,
                "{ts} #{} {stream} opened{}",
                stream.index,
                if *handshake_seen { "" } else { " (mid-stream)" }
            ),
            CaptureEvent::Frame(fr) => write!(
                f,
                "{} #{} {} {} frame at {} ({} bytes)",
                fr.ts,
                fr.stream.index,
                fr.stream,
                fr.direction,
                fr.offset,
                fr.bytes.len()
            ),
            CaptureEvent::Gap {
                stream,
                direction,
                ts,
                at,
                len,
            } => write!(
                f,
                "{ts} #{} {stream} {direction} gap of {len} bytes at {at}",
                stream.index
            ),
            CaptureEvent::Skipped {
                stream,
                direction,
                ts,
                at,
                len,
                reason,
            } => write!(
                f,
                "{ts} #{} {stream} {direction} skipped {len} bytes at {at}: {reason}",
                stream.index
            ),
            CaptureEvent::NotKafka { stream, ts, reason } => {
                write!(f, "{ts} #{} {stream} not Kafka: {reason}", stream.index)
            }
            CaptureEvent::StreamClosed { stream, ts, reason } => {
                write!(f, "{ts} #{} {stream} closed: {reason}", stream.index)
            }
            CaptureEvent::Malformed { packet, ts, reason } => {
                write!(f, "{ts} packet {packet}: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid() -> StreamId {
        StreamId {
            index: 1,
            client: "127.0.0.1:53211".parse().unwrap(),
            server: "[::1]:9092".parse().unwrap(),
        }
    }

    #[test]
    fn stream_id_display() {
        assert_eq!(sid().to_string(), "127.0.0.1:53211 -> [::1]:9092");
        assert_eq!(sid().source(Direction::ServerToClient), sid().server);
        assert_eq!(sid().destination(Direction::ServerToClient), sid().client);
    }

    #[test]
    fn frame_accessors() {
        let mut fr = Frame {
            stream: sid(),
            direction: Direction::ClientToServer,
            ts: Timestamp::ZERO,
            first_ts: Timestamp::ZERO,
            offset: 0,
            bytes: Bytes::from_static(&[0, 3, 0, 12, 0, 0, 0, 7, 0xff, 0xff]),
        };
        assert_eq!(fr.request_header(), Some((3, 12, 7)));
        assert_eq!(fr.correlation_id(), Some(7));
        fr.direction = Direction::ServerToClient;
        assert_eq!(fr.request_header(), None);
        assert_eq!(fr.correlation_id(), Some(0x0003_000c));
        fr.bytes = Bytes::from_static(&[1, 2]);
        assert_eq!(fr.correlation_id(), None);
    }
}
