#!/usr/bin/env python3
"""Reference frame counter for the Kafka fixtures (independent of the Rust codec).

Reads a pcap or pcapng file, reassembles every TCP connection to the broker port in sequence order
(dropping retransmitted bytes, reporting gaps), splits both directions into length-prefixed Kafka
frames and counts requests per (api key, api version) from the request header. Responses are paired
with their request by correlation id and counted per (api key, api version) too.

  count_frames.py [--port 9192] capture.pcapng...           JSON summary per file on stdout
  count_frames.py --port 9192 --manifest-entry f.pcapng     only the counts object used in manifest.json

Requests without a response (Produce with acks=0, or in flight when the client closed the
connection) are listed as unanswered_requests. Exit status 1 if a stream has a gap, leftover bytes
or a response without a request (the capture is unclean).
"""
import argparse
import json
import struct
import sys
from collections import Counter, defaultdict

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch", 10: "FindCoordinator",
    11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
    17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords",
    22: "InitProducerId", 23: "OffsetForLeaderEpoch", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn",
    26: "EndTxn", 27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls",
    31: "DeleteAcls", 32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs", 35: "DescribeLogDirs",
    36: "SaslAuthenticate", 37: "CreatePartitions", 38: "CreateDelegationToken", 39: "RenewDelegationToken",
    40: "ExpireDelegationToken", 41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments", 46: "ListPartitionReassignments",
    47: "OffsetDelete", 48: "DescribeClientQuotas", 49: "AlterClientQuotas", 50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials", 52: "Vote", 53: "BeginQuorumEpoch", 54: "EndQuorumEpoch", 55: "DescribeQuorum",
    56: "AlterPartition", 57: "UpdateFeatures", 58: "Envelope", 59: "FetchSnapshot", 60: "DescribeCluster",
    61: "DescribeProducers", 62: "BrokerRegistration", 63: "BrokerHeartbeat", 64: "UnregisterBroker",
    65: "DescribeTransactions", 66: "ListTransactions", 67: "AllocateProducerIds", 68: "ConsumerGroupHeartbeat",
    69: "ConsumerGroupDescribe", 70: "ControllerRegistration", 71: "GetTelemetrySubscriptions", 72: "PushTelemetry",
    73: "AssignReplicasToDirs", 74: "ListConfigResources", 75: "DescribeTopicPartitions", 76: "ShareGroupHeartbeat",
    77: "ShareGroupDescribe", 78: "ShareFetch", 79: "ShareAcknowledge", 80: "AddRaftVoter", 81: "RemoveRaftVoter",
    82: "UpdateRaftVoter", 83: "InitializeShareGroupState", 84: "ReadShareGroupState", 85: "WriteShareGroupState",
    86: "DeleteShareGroupState", 87: "ReadShareGroupStateSummary", 88: "StreamsGroupHeartbeat",
    89: "StreamsGroupDescribe", 90: "DescribeShareGroupOffsets", 91: "AlterShareGroupOffsets",
    92: "DeleteShareGroupOffsets",
}


# ------------------------------------------------------------------ capture files
def read_packets(path):
    """Yields (linktype, packet bytes) for every packet of a pcap or pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _read_pcapng(data)
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        yield from _read_pcap(data, "<")
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        yield from _read_pcap(data, ">")
    else:
        raise ValueError(f"{path}: not a pcap or pcapng file")


def _read_pcap(data, e):
    linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(e + "I", data, off + 8)[0]
        yield linktype, data[off + 16: off + 16 + incl]
        off += 16 + incl


def _read_pcapng(data):
    off, e, links = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack_from("<I", data, off)[0]
        if btype == 0x0A0D0D0A:  # section header: byte order from its magic
            e = "<" if struct.unpack_from("<I", data, off + 8)[0] == 0x1A2B3C4D else ">"
            links = []
        blen = struct.unpack_from(e + "I", data, off + 4)[0]
        if blen < 12:
            raise ValueError(f"bad pcapng block length {blen} at {off}")
        body = data[off + 8: off + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack_from(e + "H", body, 0)[0])
        elif btype == 6:  # enhanced packet
            iface, _hi, _lo, cap, _orig = struct.unpack_from(e + "IIIII", body, 0)
            yield links[iface], body[20: 20 + cap]
        elif btype == 3:  # simple packet
            orig = struct.unpack_from(e + "I", body, 0)[0]
            yield links[0], body[4: 4 + orig]
        off += blen


def ip_payload(linktype, pkt):
    """Returns (src, dst, tcp segment bytes) or None."""
    if linktype == 1:  # Ethernet (Linux loopback too)
        etype, off = struct.unpack_from(">H", pkt, 12)[0], 14
        while etype == 0x8100:
            etype, off = struct.unpack_from(">H", pkt, off + 2)[0], off + 4
    elif linktype == 113:  # Linux cooked v1
        etype, off = struct.unpack_from(">H", pkt, 14)[0], 16
    elif linktype == 276:  # Linux cooked v2
        etype, off = struct.unpack_from(">H", pkt, 0)[0], 20
    elif linktype == 0:  # BSD loopback: host-order address family
        fam = struct.unpack_from("<I", pkt, 0)[0]
        etype, off = (0x0800 if fam == 2 else 0x86DD), 4
    elif linktype in (101, 228, 229):  # raw IP
        etype, off = (0x0800 if pkt[0] >> 4 == 4 else 0x86DD), 0
    else:
        raise ValueError(f"unsupported link type {linktype}")
    if etype == 0x0800:
        ihl = (pkt[off] & 0x0F) * 4
        total = struct.unpack_from(">H", pkt, off + 2)[0]
        if pkt[off + 9] != 6:
            return None
        src, dst = pkt[off + 12: off + 16], pkt[off + 16: off + 20]
        return src, dst, pkt[off + ihl: off + total]
    if etype == 0x86DD:
        plen, nxt = struct.unpack_from(">HB", pkt, off + 4)
        if nxt != 6:
            return None
        src, dst = pkt[off + 8: off + 24], pkt[off + 24: off + 40]
        return src, dst, pkt[off + 40: off + 40 + plen]
    return None


# ------------------------------------------------------------------ TCP reassembly
class Stream:
    def __init__(self):
        self.next = None      # next expected sequence number
        self.pending = {}     # out-of-order segments: seq -> bytes
        self.data = bytearray()
        self.gaps = 0

    def add(self, seq, flags, payload):
        if flags & 0x02:  # SYN
            self.next = (seq + 1) & 0xFFFFFFFF
            seq = (seq + 1) & 0xFFFFFFFF
        if not payload:
            return
        if self.next is None:  # connection began before the capture: start at its first segment
            self.next = seq
        rel = (seq - self.next) & 0xFFFFFFFF
        if rel >= 0x80000000:  # starts before `next`: retransmission, keep only new bytes
            skip = (self.next - seq) & 0xFFFFFFFF
            if skip >= len(payload):
                return
            payload, seq = payload[skip:], self.next
        if seq != self.next:
            old = self.pending.get(seq)
            if old is None or len(old) < len(payload):
                self.pending[seq] = payload
            return
        self.data += payload
        self.next = (self.next + len(payload)) & 0xFFFFFFFF
        while self.pending:
            progressed = False
            for s in list(self.pending):
                rel = (s - self.next) & 0xFFFFFFFF
                if rel >= 0x80000000 or rel == 0:
                    p = self.pending.pop(s)
                    skip = (self.next - s) & 0xFFFFFFFF
                    if skip < len(p):
                        self.data += p[skip:]
                        self.next = (self.next + len(p) - skip) & 0xFFFFFFFF
                    progressed = True
            if not progressed:
                break

    def finish(self):
        self.gaps = len(self.pending)


def tcp_streams(path, port):
    """{(client addr, client port, server addr, server port): (to-server Stream, to-client Stream)}."""
    conns = {}
    for linktype, pkt in read_packets(path):
        r = ip_payload(linktype, pkt)
        if r is None:
            continue
        src, dst, seg = r
        if len(seg) < 20:
            continue
        sport, dport, seq, _ack, off_flags = struct.unpack_from(">HHIIH", seg, 0)
        doff, flags = (off_flags >> 12) * 4, off_flags & 0x3F
        payload = bytes(seg[doff:])
        if dport == port:
            key, to_server = (src, sport, dst, dport), True
        elif sport == port:
            key, to_server = (dst, dport, src, sport), False
        else:
            continue
        pair = conns.setdefault(key, (Stream(), Stream()))
        pair[0 if to_server else 1].add(seq, flags, payload)
    for a, b in conns.values():
        a.finish()
        b.finish()
    return conns


def frames(buf):
    """Splits a stream into length-prefixed frames; returns (frames, leftover byte count)."""
    out, off = [], 0
    while off + 4 <= len(buf):
        n = struct.unpack_from(">i", buf, off)[0]
        if n < 0 or off + 4 + n > len(buf):
            break
        out.append(bytes(buf[off + 4: off + 4 + n]))
        off += 4 + n
    return out, len(buf) - off


def count(path, port):
    conns = tcp_streams(path, port)
    req, resp, unanswered = Counter(), Counter(), Counter()
    problems = []
    n_req = n_resp = 0
    for key, (up, down) in sorted(conns.items()):
        name = f"{key[1]}->{key[3]}"
        if up.gaps or down.gaps:
            problems.append(f"{name}: {up.gaps + down.gaps} segment(s) after a gap")
        reqs, left_up = frames(up.data)
        resps, left_down = frames(down.data)
        if left_up or left_down:
            problems.append(f"{name}: {left_up} / {left_down} bytes after the last whole request / response frame")
        pending = {}
        for f in reqs:
            if len(f) < 8:
                problems.append(f"{name}: request frame of {len(f)} bytes")
                continue
            k, v, corr = struct.unpack_from(">hhi", f, 0)
            req[(k, v)] += 1
            pending[corr] = (k, v)
        n_req += len(reqs)
        n_resp += len(resps)
        for f in resps:
            corr = struct.unpack_from(">i", f, 0)[0] if len(f) >= 4 else None
            kv = pending.pop(corr, None)
            if kv is None:
                problems.append(f"{name}: response with correlation id {corr} has no request")
                continue
            resp[kv] += 1
        # Requests left unanswered: Produce with acks=0 (by design), or requests still in flight
        # when a client closed its connection (librdkafka does so at close). Counted, not errors.
        for corr, (k, v) in pending.items():
            unanswered[(k, v)] += 1

    def table(c):
        return [{"api_key": k, "api_name": API_NAMES.get(k, f"Unknown{k}"), "api_version": v, "count": n}
                for (k, v), n in sorted(c.items())]
    return {
        "connections": len(conns),
        "request_frames": n_req,
        "response_frames": n_resp,
        "requests": table(req),
        "responses": table(resp),
        "unanswered_requests": table(unanswered),
    }, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=9192, help="broker port (default 9192)")
    ap.add_argument("--manifest-entry", action="store_true", help="print only the counts of one file")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    bad = False
    out = {}
    for path in args.files:
        counts, problems = count(path, args.port)
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        bad |= bool(problems)
        out[path] = counts
    if args.manifest_entry:
        json.dump(out[args.files[0]], sys.stdout, indent=1)
    else:
        json.dump(out, sys.stdout, indent=1)
    print()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
