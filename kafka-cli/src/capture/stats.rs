//! Summary counters of a capture run.

/// Counters accumulated while reading; see [`CaptureReader::stats`](super::CaptureReader::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptureStats {
    /// Packet records read.
    pub packets: u64,
    /// Captured bytes of those packets.
    pub bytes: u64,
    /// Packets that are not IPv4/IPv6 (ARP, LLDP, ...).
    pub non_ip: u64,
    /// IP packets that are not TCP (UDP, ICMP, ...).
    pub non_tcp: u64,
    /// TCP segments.
    pub tcp_segments: u64,
    /// TCP segments ignored: other ports, connections that are not Kafka, late packets of closed
    /// connections, pure ACKs of unknown connections.
    pub ignored_segments: u64,
    /// Packets of interfaces with an unsupported link type.
    pub unsupported_link: u64,
    /// Undecodable packets and records.
    pub malformed: u64,
    /// Packets whose capture was cut short by the snap length.
    pub truncated_packets: u64,
    /// IP fragments seen.
    pub ip_fragments: u64,
    /// IP datagrams rebuilt from fragments.
    pub ip_reassembled: u64,
    /// IP fragments dropped (never completed, inconsistent or evicted).
    pub ip_fragments_dropped: u64,
    /// TCP connections tracked (Kafka or candidates).
    pub streams: u64,
    /// Connections reported as not Kafka.
    pub not_kafka_streams: u64,
    /// Connections dropped because of `max_streams`.
    pub evicted_streams: u64,
    /// Kafka frames produced.
    pub frames: u64,
    /// Bytes of those frames, including length prefixes.
    pub frame_bytes: u64,
    /// Gaps in TCP streams (missing data).
    pub gaps: u64,
    /// Bytes missing in those gaps.
    pub gap_bytes: u64,
    /// Stream bytes reported in `Skipped` events (resync scans, oversized frames, frames damaged
    /// by gaps (including the missing part), truncated frames).
    pub skipped_bytes: u64,
    /// Bytes received again (retransmissions and overlaps); the first copy is kept.
    pub duplicate_bytes: u64,
    /// Segments that arrived ahead of a missing one and were buffered.
    pub out_of_order_segments: u64,
    /// Segments too far outside the expected sequence window, ignored.
    pub out_of_window_segments: u64,
}
