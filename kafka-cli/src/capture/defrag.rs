//! IP fragment reassembly (IPv4 and IPv6), bounded in memory and time.
//!
//! Overlapping fragments keep the first copy (per 8-byte block, the unit of fragment offsets).

use std::collections::HashMap;
use std::net::IpAddr;

use super::ip::Fragment;

/// Largest datagram payload rebuilt (the IPv4 / non-jumbo IPv6 maximum).
const MAX_DATAGRAM: usize = 65535;
const BLOCKS: usize = MAX_DATAGRAM.div_ceil(8);
const WORDS: usize = BLOCKS.div_ceil(64);
/// Incomplete datagrams are dropped after this many further fragments.
const EXPIRY: u64 = 1 << 16;

/// Identifies the fragments of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub protocol: u8,
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    filled: Vec<u64>,
    total: Option<usize>,
    last_seen: u64,
}

impl Partial {
    fn new(now: u64) -> Self {
        Partial {
            data: Vec::new(),
            filled: vec![0; WORDS],
            total: None,
            last_seen: now,
        }
    }

    fn is_filled(&self, block: usize) -> bool {
        self.filled
            .get(block / 64)
            .is_some_and(|w| w & (1 << (block % 64)) != 0)
    }

    fn complete(&self) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        (0..total.div_ceil(8)).all(|b| self.is_filled(b))
    }
}

/// Outcome of adding one fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Added {
    /// The rebuilt payload, when this fragment completed its datagram.
    pub complete: Option<Vec<u8>>,
    /// Datagrams given up on (inconsistent, too large, expired or evicted).
    pub dropped: u64,
}

/// Reassembles fragmented IP payloads.
#[derive(Debug)]
pub(crate) struct Defragmenter {
    table: HashMap<FragKey, Partial>,
    max_datagrams: usize,
    clock: u64,
}

impl Defragmenter {
    pub(crate) fn new(max_datagrams: usize) -> Self {
        Defragmenter {
            table: HashMap::new(),
            max_datagrams: max_datagrams.max(1),
            clock: 0,
        }
    }

    /// Number of incomplete datagrams held.
    pub(crate) fn pending(&self) -> usize {
        self.table.len()
    }

    /// Adds a fragment carrying `data` (the fragment's captured payload, complete).
    pub(crate) fn add(&mut self, key: FragKey, frag: Fragment, data: &[u8]) -> Added {
        self.clock += 1;
        let now = self.clock;
        let mut dropped = 0;
        if now.is_multiple_of(4096) {
            let before = self.table.len();
            self.table.retain(|_, p| now - p.last_seen <= EXPIRY);
            dropped += (before - self.table.len()) as u64;
        }
        let end = frag.offset.saturating_add(data.len());
        if end > MAX_DATAGRAM || (frag.more && !data.len().is_multiple_of(8)) {
            if self.table.remove(&key).is_some() {
                dropped += 1;
            }
            return Added {
                complete: None,
                dropped: dropped + 1,
            };
        }
        if !self.table.contains_key(&key) && self.table.len() >= self.max_datagrams {
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, p)| p.last_seen)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                self.table.remove(&oldest);
                dropped += 1;
            }
        }
        let partial = self.table.entry(key).or_insert_with(|| Partial::new(now));
        partial.last_seen = now;
        if !frag.more {
            if partial.total.is_some_and(|t| t != end) {
                self.table.remove(&key);
                return Added {
                    complete: None,
                    dropped: dropped + 1,
                };
            }
            partial.total = Some(end);
        }
        if partial.data.len() < end {
            partial.data.resize(end, 0);
        }
        let first_block = frag.offset / 8;
        for block in first_block..end.div_ceil(8) {
            if partial.is_filled(block) {
                continue;
            }
            let from = (block * 8).max(frag.offset);
            let to = ((block + 1) * 8).min(end);
            if let (Some(dst), Some(src)) = (
                partial.data.get_mut(from..to),
                data.get(from - frag.offset..to - frag.offset),
            ) {
                dst.copy_from_slice(src);
            }
            if let Some(w) = partial.filled.get_mut(block / 64) {
                *w |= 1 << (block % 64);
            }
        }
        if partial.complete() {
            let total = partial.total.unwrap_or(0);
            let mut data = self.table.remove(&key).map(|p| p.data).unwrap_or_default();
            data.truncate(total);
            return Added {
                complete: Some(data),
                dropped,
            };
        }
        Added {
            complete: None,
            dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id,
            protocol: 6,
        }
    }

    fn frag(offset: usize, more: bool) -> Fragment {
        Fragment {
            id: 1,
            offset,
            more,
        }
    }

    #[test]
    fn in_order_and_reversed() {
        let payload: Vec<u8> = (0..100).collect();
        let mut d = Defragmenter::new(8);
        assert_eq!(d.add(key(1), frag(0, true), &payload[..48]).complete, None);
        assert_eq!(
            d.add(key(1), frag(48, true), &payload[48..96]).complete,
            None
        );
        assert_eq!(
            d.add(key(1), frag(96, false), &payload[96..]).complete,
            Some(payload.clone())
        );
        assert_eq!(d.pending(), 0);
        assert_eq!(
            d.add(key(2), frag(96, false), &payload[96..]).complete,
            None
        );
        assert_eq!(
            d.add(key(2), frag(48, true), &payload[48..96]).complete,
            None
        );
        assert_eq!(
            d.add(key(2), frag(0, true), &payload[..48]).complete,
            Some(payload)
        );
    }

    #[test]
    fn overlap_keeps_first_copy() {
        let mut d = Defragmenter::new(8);
        assert_eq!(d.add(key(1), frag(0, true), &[1; 16]).complete, None);
        // overlapping fragment with different content for bytes 8..16
        let got = d.add(key(1), frag(8, false), &[2; 12]).complete.unwrap();
        assert_eq!(&got[..16], &[1; 16]);
        assert_eq!(&got[16..], &[2; 4]);
    }

    #[test]
    fn inconsistent_and_oversized() {
        let mut d = Defragmenter::new(8);
        assert_eq!(d.add(key(1), frag(0, true), &[0; 7]).dropped, 1); // not a multiple of 8
        assert_eq!(d.add(key(1), frag(65528, false), &[0; 16]).dropped, 1);
        d.add(key(3), frag(16, false), &[0; 8]);
        assert_eq!(d.add(key(3), frag(8, false), &[0; 8]).dropped, 1); // two different ends
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn bounded() {
        let mut d = Defragmenter::new(4);
        let mut dropped = 0;
        for id in 0..10 {
            dropped += d.add(key(id), frag(0, true), &[0; 8]).dropped;
        }
        assert_eq!(d.pending(), 4);
        assert_eq!(dropped, 6);
    }
}
