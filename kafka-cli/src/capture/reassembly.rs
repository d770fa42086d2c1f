//! Reassembly of one direction of a TCP connection into an in-order byte stream.
//!
//! Stream offsets are `u64` counted from the first byte after the SYN (or from the first payload
//! byte seen when the SYN was not captured); sequence numbers are mapped to offsets relative to
//! the next expected byte, so sequence wraparound is transparent. The first copy of any byte
//! wins; later copies (retransmissions, overlaps) are counted and dropped.
//!
//! Missing bytes become a gap, reported to the sink, when
//! * the peer acknowledged data beyond them (the capture lost them, they will not be resent),
//! * out-of-order data buffered behind them exceeds the memory limit,
//! * a packet was cut short by the capture's snap length, or
//! * the stream ends (FIN, RST, end of capture) with data still missing.

use std::collections::BTreeMap;

/// Receives the reassembled stream, strictly in order: every call starts where the previous one
/// ended.
pub(crate) trait StreamSink {
    /// `data` is the stream content at `offset`.
    fn data(&mut self, offset: u64, data: &[u8]);
    /// `len` bytes at `offset` are missing from the capture.
    fn gap(&mut self, offset: u64, len: u64);
}

/// Per-call counters for the capture statistics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentStats {
    pub duplicate_bytes: u64,
    pub out_of_order: bool,
    pub out_of_window: bool,
}

/// Segments further than this from the expected sequence number are ignored.
const WINDOW: i64 = 1 << 30;
/// Bookkeeping cost charged per buffered segment, so many tiny segments are bounded too.
const SEGMENT_OVERHEAD: usize = 64;

#[derive(Debug)]
struct Pending {
    /// Captured bytes starting at the map key.
    data: Vec<u8>,
    /// End offset of the segment on the wire; bytes after `data` up to here were not captured.
    end: u64,
}

/// One direction's reassembly state.
#[derive(Debug)]
pub(crate) struct Reassembler {
    started: bool,
    syn_seen: bool,
    /// Sequence number of stream offset 0.
    base_seq: u32,
    /// Offset of the next byte to deliver.
    next: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    max_pending: usize,
    fin_at: Option<u64>,
    /// Highest offset acknowledged by the peer.
    acked: u64,
    finished: bool,
}

impl Reassembler {
    pub(crate) fn new(max_pending: usize) -> Self {
        Reassembler {
            started: false,
            syn_seen: false,
            base_seq: 0,
            next: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            max_pending,
            fin_at: None,
            acked: 0,
            finished: false,
        }
    }

    /// True if this direction's SYN was seen (offset 0 is the true stream start).
    pub(crate) fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// True once the stream's start (SYN or first data) has been seen.
    #[cfg(test)]
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// True once all data up to the FIN was delivered, or after [`flush`](Self::flush).
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Offset of the next byte to deliver.
    #[cfg(test)]
    pub(crate) fn next_offset(&self) -> u64 {
        self.next
    }

    /// Memory charged for buffered out-of-order data.
    #[cfg(test)]
    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The sender's SYN (sequence number `seq`) was seen.
    pub(crate) fn on_syn(&mut self, seq: u32) {
        if !self.started {
            self.base_seq = seq.wrapping_add(1);
            self.started = true;
            self.syn_seen = true;
        }
    }

    /// True if a SYN with `seq` starts a different connection than the one tracked (no SYN was
    /// seen before, or it had another initial sequence number).
    pub(crate) fn is_new_syn(&self, seq: u32) -> bool {
        !self.syn_seen || seq.wrapping_add(1) != self.base_seq
    }

    fn offset_of(&self, seq: u32) -> Option<i64> {
        let expected = self.base_seq.wrapping_add(self.next as u32);
        let rel = i64::from(seq.wrapping_sub(expected) as i32);
        if rel.abs() > WINDOW {
            return None;
        }
        Some(self.next as i64 + rel)
    }

    /// A segment from the sender: sequence number `seq`, captured `payload`, `len` bytes on the
    /// wire (`>= payload.len()`), FIN flag.
    pub(crate) fn on_segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        len: usize,
        fin: bool,
        sink: &mut impl StreamSink,
    ) -> SegmentStats {
        let mut st = SegmentStats::default();
        let len = len.max(payload.len());
        if self.finished {
            st.duplicate_bytes = len as u64;
            return st;
        }
        if !self.started {
            if len == 0 {
                return st;
            }
            self.base_seq = seq;
            self.started = true;
        }
        let Some(start) = self.offset_of(seq) else {
            st.out_of_window = true;
            return st;
        };
        let end = start + len as i64;
        if fin && end >= 0 && self.fin_at.is_none() {
            self.fin_at = Some(end as u64);
        }
        let next = self.next as i64;
        if len == 0 {
            // nothing to place
        } else if end <= next {
            st.duplicate_bytes = len as u64;
        } else if start <= next {
            let skip = (next - start) as usize;
            st.duplicate_bytes = skip as u64;
            self.deliver(payload, skip, end as u64, sink);
            self.drain(sink, &mut st);
        } else {
            st.out_of_order = true;
            self.insert(start as u64, payload, end as u64, &mut st);
            self.enforce_limit(sink, &mut st);
            self.resolve_acked(sink, &mut st);
        }
        self.check_fin();
        st
    }

    /// The peer acknowledged everything before sequence number `ack` of this direction.
    pub(crate) fn on_ack(&mut self, ack: u32, sink: &mut impl StreamSink) -> SegmentStats {
        let mut st = SegmentStats::default();
        if !self.started || self.finished {
            return st;
        }
        if let Some(off) = self.offset_of(ack) {
            if off > self.acked as i64 {
                self.acked = off as u64;
            }
        }
        self.resolve_acked(sink, &mut st);
        self.check_fin();
        st
    }

    /// The stream ends (RST, end of capture, eviction): deliver everything buffered, declaring
    /// the holes as gaps.
    pub(crate) fn flush(&mut self, sink: &mut impl StreamSink) -> SegmentStats {
        let mut st = SegmentStats::default();
        if self.finished || !self.started {
            self.finished = true;
            return st;
        }
        while let Some((&k, _)) = self.pending.first_key_value() {
            if k > self.next {
                sink.gap(self.next, k - self.next);
                self.next = k;
            }
            self.drain(sink, &mut st);
        }
        let target = match self.fin_at {
            Some(fin) => fin,
            // An acknowledgement one past the data is most likely for an uncaptured FIN.
            None if self.acked == self.next + 1 => self.next,
            None => self.acked,
        };
        if target > self.next {
            sink.gap(self.next, target - self.next);
            self.next = target;
        }
        self.finished = true;
        st
    }

    /// Delivers `payload[skip..]` at `self.next`, then the uncaptured rest up to `end` as a gap.
    fn deliver(&mut self, payload: &[u8], skip: usize, end: u64, sink: &mut impl StreamSink) {
        if let Some(fresh) = payload.get(skip..).filter(|f| !f.is_empty()) {
            sink.data(self.next, fresh);
            self.next += fresh.len() as u64;
        }
        if self.next < end {
            sink.gap(self.next, end - self.next);
            self.next = end;
        }
    }

    /// Delivers buffered segments that have become contiguous.
    fn drain(&mut self, sink: &mut impl StreamSink, st: &mut SegmentStats) {
        while let Some(entry) = self.pending.first_entry() {
            let key = *entry.key();
            if key > self.next {
                break;
            }
            let p = entry.remove();
            self.pending_bytes = self
                .pending_bytes
                .saturating_sub(p.data.len() + SEGMENT_OVERHEAD);
            if p.end <= self.next {
                st.duplicate_bytes += p.end - key;
                continue;
            }
            let skip = (self.next - key) as usize;
            st.duplicate_bytes += skip as u64;
            self.deliver(&p.data, skip, p.end, sink);
        }
    }

    /// Buffers the parts of `[start, end)` not already buffered (first copy wins).
    fn insert(&mut self, start: u64, payload: &[u8], end: u64, st: &mut SegmentStats) {
        let captured_end = start + payload.len() as u64;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cur = start;
        let from = self
            .pending
            .range(..=start)
            .next_back()
            .map_or(start, |(&k, _)| k);
        for (&k, p) in self.pending.range(from..end) {
            if p.end <= cur {
                continue;
            }
            if k > cur {
                pieces.push((cur, k.min(end)));
            }
            cur = cur.max(p.end);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            pieces.push((cur, end));
        }
        let mut fresh = 0;
        for (s, e) in pieces {
            fresh += e - s;
            let data = if s < captured_end {
                let a = (s - start) as usize;
                let b = (e.min(captured_end) - start) as usize;
                payload.get(a..b).unwrap_or(&[]).to_vec()
            } else {
                Vec::new()
            };
            self.pending_bytes += data.len() + SEGMENT_OVERHEAD;
            self.pending.insert(s, Pending { data, end: e });
        }
        st.duplicate_bytes += (end - start) - fresh;
    }

    /// Declares gaps until the buffered data fits the limit.
    fn enforce_limit(&mut self, sink: &mut impl StreamSink, st: &mut SegmentStats) {
        while self.pending_bytes > self.max_pending {
            let Some((&k, _)) = self.pending.first_key_value() else {
                break;
            };
            if k > self.next {
                sink.gap(self.next, k - self.next);
                self.next = k;
            }
            self.drain(sink, st);
        }
    }

    /// Declares holes the peer already acknowledged as gaps.
    fn resolve_acked(&mut self, sink: &mut impl StreamSink, st: &mut SegmentStats) {
        while let Some((&k, _)) = self.pending.first_key_value() {
            if k > self.acked || k <= self.next {
                break;
            }
            sink.gap(self.next, k - self.next);
            self.next = k;
            self.drain(sink, st);
        }
    }

    fn check_fin(&mut self) {
        if self.fin_at.is_some_and(|f| self.next >= f) {
            self.finished = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects the stream, checking the in-order contract.
    #[derive(Debug, Default)]
    struct Collect {
        bytes: Vec<u8>,
        gaps: Vec<(u64, u64)>,
        pos: u64,
    }

    impl StreamSink for Collect {
        fn data(&mut self, offset: u64, data: &[u8]) {
            assert_eq!(offset, self.pos);
            self.bytes.extend_from_slice(data);
            self.pos += data.len() as u64;
        }
        fn gap(&mut self, offset: u64, len: u64) {
            assert_eq!(offset, self.pos);
            assert!(len > 0);
            self.gaps.push((offset, len));
            self.pos += len;
        }
    }

    const MAX: usize = 1 << 20;

    fn seg(r: &mut Reassembler, c: &mut Collect, seq: u32, data: &[u8]) -> SegmentStats {
        r.on_segment(seq, data, data.len(), false, c)
    }

    #[test]
    fn in_order_with_syn() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(999);
        assert!(r.syn_seen());
        seg(&mut r, &mut c, 1000, b"hello ");
        seg(&mut r, &mut c, 1006, b"world");
        assert_eq!(c.bytes, b"hello world");
        assert!(!r.is_finished());
        r.on_segment(1011, b"", 0, true, &mut c);
        assert!(r.is_finished());
    }

    #[test]
    fn out_of_order_retransmission_overlap() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        assert!(seg(&mut r, &mut c, 7, b"ghij").out_of_order);
        assert!(seg(&mut r, &mut c, 4, b"defgh").out_of_order); // overlaps "gh" (first copy wins)
        assert_eq!(r.pending_bytes(), 4 + 3 + 2 * SEGMENT_OVERHEAD);
        seg(&mut r, &mut c, 1, b"abc");
        assert_eq!(c.bytes, b"abcdefghij");
        assert_eq!(r.pending_bytes(), 0);
        // full retransmission
        assert_eq!(seg(&mut r, &mut c, 1, b"abcdefghij").duplicate_bytes, 10);
        // partial overlap with new data
        let st = seg(&mut r, &mut c, 9, b"IJkl");
        assert_eq!(st.duplicate_bytes, 2);
        assert_eq!(c.bytes, b"abcdefghijkl");
        assert!(c.gaps.is_empty());
    }

    #[test]
    fn overlap_keeps_first_copy_in_buffer() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 5, b"EF");
        seg(&mut r, &mut c, 9, b"IJ");
        // covers both buffered pieces and the holes between
        let st = seg(&mut r, &mut c, 3, b"cdxfghxj");
        assert_eq!(st.duplicate_bytes, 4);
        seg(&mut r, &mut c, 1, b"ab");
        assert_eq!(c.bytes, b"abcdEFghIJ");
    }

    #[test]
    fn wraparound() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(u32::MAX - 5);
        seg(&mut r, &mut c, u32::MAX - 4, b"abcd");
        seg(&mut r, &mut c, 1, b"ghi"); // out of order across the wrap
        seg(&mut r, &mut c, u32::MAX, b"ef");
        assert_eq!(c.bytes, b"abcdefghi");
        assert_eq!(r.next_offset(), 9);
    }

    #[test]
    fn mid_stream_start() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        // pure ACK before any data does not start the stream
        r.on_segment(500, b"", 0, false, &mut c);
        assert!(!r.started());
        seg(&mut r, &mut c, 12345, b"xyz");
        assert!(!r.syn_seen());
        seg(&mut r, &mut c, 12348, b"123");
        // older data than the first seen is treated as retransmission
        assert_eq!(seg(&mut r, &mut c, 12340, b"abcde").duplicate_bytes, 5);
        assert_eq!(c.bytes, b"xyz123");
    }

    #[test]
    fn gap_from_ack() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 1, b"abc");
        seg(&mut r, &mut c, 8, b"hij"); // 4..8 lost
        assert!(c.gaps.is_empty());
        r.on_ack(6, &mut c); // not yet past the hole's end
        assert!(c.gaps.is_empty());
        r.on_ack(11, &mut c);
        assert_eq!(c.gaps, vec![(3, 4)]);
        assert_eq!(c.bytes, b"abchij");
    }

    #[test]
    fn gap_when_ack_precedes_data() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 1, b"abc");
        r.on_ack(20, &mut c);
        seg(&mut r, &mut c, 8, b"hij");
        assert_eq!(c.gaps, vec![(3, 4)]);
    }

    #[test]
    fn gap_from_memory_limit() {
        let mut r = Reassembler::new(3 * (100 + SEGMENT_OVERHEAD));
        let mut c = Collect::default();
        r.on_syn(0);
        let chunk = [7u8; 100];
        // segment at 1 is lost; following segments pile up
        for i in 1..=4u32 {
            seg(&mut r, &mut c, 1 + i * 100, &chunk);
        }
        assert_eq!(c.gaps, vec![(0, 100)]);
        assert_eq!(c.bytes.len(), 400);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn truncated_segments_become_gaps() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        r.on_segment(1, b"ab", 10, false, &mut c);
        assert_eq!(c.gaps, vec![(2, 8)]);
        // truncated and out of order
        r.on_segment(21, b"xy", 5, false, &mut c);
        seg(&mut r, &mut c, 11, b"0123456789");
        assert_eq!(c.gaps, vec![(2, 8), (22, 3)]);
        assert_eq!(c.bytes, b"ab0123456789xy");
        assert_eq!(r.next_offset(), 25);
    }

    #[test]
    fn flush_declares_holes_and_lost_tail() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 1, b"ab");
        seg(&mut r, &mut c, 5, b"ef");
        r.on_segment(10, b"", 0, true, &mut c); // FIN at offset 9
        assert!(!r.is_finished());
        r.flush(&mut c);
        assert_eq!(c.gaps, vec![(2, 2), (6, 3)]);
        assert!(r.is_finished());
        // after the end, data is ignored
        assert_eq!(seg(&mut r, &mut c, 20, b"zz").duplicate_bytes, 2);
    }

    #[test]
    fn flush_without_fin_uses_ack() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 1, b"ab");
        r.on_ack(11, &mut c);
        r.flush(&mut c);
        assert_eq!(c.gaps, vec![(2, 8)]);
        // an ack one past the data is an uncaptured FIN, not a gap
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        seg(&mut r, &mut c, 1, b"ab");
        r.on_ack(4, &mut c);
        r.flush(&mut c);
        assert!(c.gaps.is_empty());
    }

    #[test]
    fn out_of_window_ignored() {
        let mut r = Reassembler::new(MAX);
        let mut c = Collect::default();
        r.on_syn(0);
        assert!(seg(&mut r, &mut c, 0x8000_0000, b"zz").out_of_window);
        assert_eq!(r.pending_bytes(), 0);
        assert!(r.is_new_syn(77));
        assert!(!r.is_new_syn(0));
        assert!(Reassembler::new(MAX).is_new_syn(0));
    }
}
