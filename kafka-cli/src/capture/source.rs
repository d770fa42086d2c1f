//! Streaming pcap / pcapng reader: one packet record at a time out of a reused buffer.
//!
//! Record framing (lengths, limits, buffering) is done here so that any input, however broken,
//! costs bounded memory and never panics; record contents are parsed with `pcap-parser` on
//! exactly one complete record at a time.

use std::io::{self, Read};
use std::ops::Range;

use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
};
use pcap_parser::pcapng::{
    parse_enhancedpacketblock_be, parse_enhancedpacketblock_le, parse_interfacedescriptionblock_be,
    parse_interfacedescriptionblock_le, parse_sectionheaderblock_be, parse_sectionheaderblock_le,
    parse_simplepacketblock_be, parse_simplepacketblock_le, OptionCode, PcapNGOption, EPB_MAGIC,
    IDB_MAGIC, SHB_MAGIC, SPB_MAGIC,
};

use super::error::CaptureError;
use super::event::MalformedReason;
use super::time::Timestamp;

/// Largest record (packet or pcapng block) held in memory.
const MAX_RECORD: usize = 64 << 20;
/// Most pcapng interfaces remembered per section.
const MAX_INTERFACES: usize = 65536;
/// Link type used for interfaces whose description block did not parse.
pub(crate) const LINKTYPE_INVALID: u32 = u32::MAX;

const PCAP_MAGICS_LE: [u32; 3] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xa1b2_cd34];
const PCAP_MAGICS_BE: [u32; 2] = [0xd4c3_b2a1, 0x4d3c_b2a1];

/// The container format of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Legacy libpcap format.
    Pcap {
        /// Written on a big-endian machine.
        big_endian: bool,
        /// Nanosecond timestamps (else microseconds).
        nanosecond: bool,
        /// The file's single link type.
        link_type: u32,
    },
    /// pcapng (interfaces, link types and timestamp resolutions are per interface).
    PcapNg,
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug)]
pub(crate) struct RawPacket<'a> {
    pub ts: Timestamp,
    pub link_type: u32,
    pub interface: u32,
    pub data: &'a [u8],
}

/// What the source yields.
#[derive(Debug)]
pub(crate) enum Record<'a> {
    Packet(RawPacket<'a>),
    Malformed(MalformedReason),
}

/// A record located in the buffer, without borrowing it.
enum Found {
    Packet {
        range: Range<usize>,
        ts: Timestamp,
        link_type: u32,
        interface: u32,
    },
    Malformed(MalformedReason),
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

#[derive(Debug)]
enum Layout {
    Pcap {
        big_endian: bool,
        nanosecond: bool,
        modified: bool,
        link_type: u32,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads packet records from any `Read`, holding at most one record (plus read-ahead) in memory.
#[derive(Debug)]
pub(crate) struct PacketSource<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    /// File offset of `buf[start]`.
    offset: u64,
    layout: Layout,
    last_ts: Timestamp,
}

fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let a = [
        b.first().copied().unwrap_or(0),
        b.get(1).copied().unwrap_or(0),
        b.get(2).copied().unwrap_or(0),
        b.get(3).copied().unwrap_or(0),
    ];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

impl<R> PacketSource<R> {
    /// The container format.
    pub(crate) fn format(&self) -> CaptureFormat {
        match self.layout {
            Layout::Pcap {
                big_endian,
                nanosecond,
                link_type,
                ..
            } => CaptureFormat::Pcap {
                big_endian,
                nanosecond,
                link_type,
            },
            Layout::PcapNg { .. } => CaptureFormat::PcapNg,
        }
    }
}

impl<R: Read> PacketSource<R> {
    /// Reads and checks the file header.
    pub(crate) fn new(reader: R, buffer_size: usize) -> Result<Self, CaptureError> {
        let mut src = PacketSource {
            reader,
            buf: vec![0; buffer_size.clamp(64 << 10, MAX_RECORD)],
            start: 0,
            end: 0,
            eof: false,
            done: false,
            offset: 0,
            layout: Layout::PcapNg {
                big_endian: false,
                interfaces: Vec::new(),
            },
            last_ts: Timestamp::ZERO,
        };
        let avail = src.fill(4)?;
        if avail < 4 {
            return Err(CaptureError::TooShort { len: avail });
        }
        let head = &src.buf[src.start..src.start + 4];
        let magic_le = read_u32(head, false);
        if magic_le == SHB_MAGIC {
            // The section header block is handled like any other block.
            return Ok(src);
        }
        if !PCAP_MAGICS_LE.contains(&magic_le) && !PCAP_MAGICS_BE.contains(&magic_le) {
            return Err(CaptureError::UnknownFormat {
                magic: read_u32(head, true),
            });
        }
        let avail = src.fill(24)?;
        if avail < 24 {
            return Err(CaptureError::TooShort { len: avail });
        }
        let header = match parse_pcap_header(&src.buf[src.start..src.start + 24]) {
            Ok((_, h)) => h,
            Err(_) => {
                return Err(CaptureError::UnknownFormat {
                    magic: read_u32(head_of(&src.buf, src.start), true),
                })
            }
        };
        src.layout = Layout::Pcap {
            big_endian: header.is_bigendian(),
            nanosecond: header.is_nanosecond_precision(),
            modified: header.is_modified_format(),
            // The upper bits may carry FCS information.
            link_type: (header.network.0 as u32) & 0xffff,
        };
        src.consume(24);
        Ok(src)
    }

    /// The next packet or malformed record; `Ok(None)` at the end of the capture.
    ///
    /// After an `Err` or a `TruncatedCapture` record the source is finished.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let found = match self.layout {
            Layout::Pcap { .. } => self.next_pcap(),
            Layout::PcapNg { .. } => self.next_pcapng(),
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        Ok(found.map(|f| match f {
            Found::Packet {
                range,
                ts,
                link_type,
                interface,
            } => Record::Packet(RawPacket {
                ts,
                link_type,
                interface,
                data: self.buf.get(range).unwrap_or(&[]),
            }),
            Found::Malformed(reason) => Record::Malformed(reason),
        }))
    }

    fn truncated(&mut self) -> Result<Option<Found>, CaptureError> {
        self.done = true;
        Ok(Some(Found::Malformed(MalformedReason::TruncatedCapture)))
    }

    fn next_pcap(&mut self) -> Result<Option<Found>, CaptureError> {
        let Layout::Pcap {
            big_endian,
            nanosecond,
            modified,
            link_type,
        } = self.layout
        else {
            return Ok(None);
        };
        let hdr_len = if modified { 24 } else { 16 };
        let avail = self.fill(hdr_len)?;
        if avail == 0 {
            self.done = true;
            return Ok(None);
        }
        if avail < hdr_len {
            return self.truncated();
        }
        let caplen = read_u32(&self.buf[self.start + 8..self.start + 12], big_endian) as usize;
        if caplen > MAX_RECORD {
            return Err(CaptureError::Corrupt {
                offset: self.offset,
                reason: "packet record longer than 64 MiB",
            });
        }
        let total = hdr_len + caplen;
        if self.fill(total)? < total {
            return self.truncated();
        }
        let rec = &self.buf[self.start..self.start + total];
        let parsed = if modified {
            parse_pcap_frame_modified(rec)
        } else if big_endian {
            parse_pcap_frame_be(rec)
        } else {
            parse_pcap_frame(rec)
        };
        let found = match parsed {
            Ok((_, block)) => {
                let sub = u64::from(block.ts_usec);
                let (carry, nanos) = if nanosecond {
                    (sub / 1_000_000_000, sub % 1_000_000_000)
                } else {
                    (sub / 1_000_000, (sub % 1_000_000) * 1000)
                };
                let ts = Timestamp::new(
                    i64::from(block.ts_sec).saturating_add(carry as i64),
                    nanos as u32,
                );
                self.last_ts = ts;
                let data_start = self.start + hdr_len;
                Found::Packet {
                    range: data_start..data_start + block.data.len().min(caplen),
                    ts,
                    link_type,
                    interface: 0,
                }
            }
            Err(_) => Found::Malformed(MalformedReason::BadBlock),
        };
        self.consume(total);
        Ok(Some(found))
    }

    fn next_pcapng(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            let avail = self.fill(12)?;
            if avail == 0 {
                self.done = true;
                return Ok(None);
            }
            if avail < 12 {
                return self.truncated();
            }
            let head = &self.buf[self.start..self.start + 12];
            let is_shb = read_u32(head, false) == SHB_MAGIC;
            let big_endian = if is_shb {
                match read_u32(&head[8..12], false) {
                    0x1a2b_3c4d => false,
                    0x4d3c_2b1a => true,
                    _ => {
                        return Err(CaptureError::Corrupt {
                            offset: self.offset,
                            reason: "bad pcapng byte-order magic",
                        })
                    }
                }
            } else {
                match self.layout {
                    Layout::PcapNg { big_endian, .. } => big_endian,
                    Layout::Pcap { .. } => false,
                }
            };
            let block_type = read_u32(head, big_endian);
            let block_len = read_u32(&head[4..8], big_endian) as usize;
            if block_len < 12 || !block_len.is_multiple_of(4) {
                return Err(CaptureError::Corrupt {
                    offset: self.offset,
                    reason: "invalid pcapng block length",
                });
            }
            match block_type {
                SHB_MAGIC | IDB_MAGIC if block_len > MAX_RECORD => {
                    return Err(CaptureError::Corrupt {
                        offset: self.offset,
                        reason: "pcapng header block longer than 64 MiB",
                    });
                }
                EPB_MAGIC | SPB_MAGIC if block_len > MAX_RECORD => {
                    if !self.discard(block_len as u64)? {
                        return self.truncated();
                    }
                    return Ok(Some(Found::Malformed(MalformedReason::PacketTooLarge(
                        block_len as u64,
                    ))));
                }
                SHB_MAGIC | IDB_MAGIC | EPB_MAGIC | SPB_MAGIC => {}
                _ => {
                    // Name resolution, statistics, secrets, custom...: not needed; skip without
                    // buffering, whatever their size.
                    if !self.discard(block_len as u64)? {
                        return self.truncated();
                    }
                    continue;
                }
            }
            if self.fill(block_len)? < block_len {
                return self.truncated();
            }
            let block = &self.buf[self.start..self.start + block_len];
            let result = match block_type {
                SHB_MAGIC => {
                    let ok = if big_endian {
                        parse_sectionheaderblock_be(block).is_ok()
                    } else {
                        parse_sectionheaderblock_le(block).is_ok()
                    };
                    if !ok {
                        return Err(CaptureError::Corrupt {
                            offset: self.offset,
                            reason: "unparseable pcapng section header block",
                        });
                    }
                    self.layout = Layout::PcapNg {
                        big_endian,
                        interfaces: Vec::new(),
                    };
                    None
                }
                IDB_MAGIC => {
                    let parsed = if big_endian {
                        parse_interfacedescriptionblock_be(block)
                    } else {
                        parse_interfacedescriptionblock_le(block)
                    };
                    let (iface, bad) = match parsed {
                        Ok((_, idb)) => {
                            let (tsresol, tsoffset) = ts_options(&idb.options, big_endian);
                            let iface = Interface {
                                link_type: (idb.linktype.0 as u32) & 0xffff,
                                snaplen: idb.snaplen,
                                tsresol,
                                tsoffset,
                            };
                            (iface, false)
                        }
                        Err(_) => (
                            Interface {
                                link_type: LINKTYPE_INVALID,
                                snaplen: 0,
                                tsresol: 6,
                                tsoffset: 0,
                            },
                            true,
                        ),
                    };
                    let mut overflow = false;
                    if let Layout::PcapNg { interfaces, .. } = &mut self.layout {
                        if interfaces.len() < MAX_INTERFACES {
                            interfaces.push(iface);
                        } else {
                            overflow = true;
                        }
                    }
                    (bad || overflow).then_some(Found::Malformed(MalformedReason::BadBlock))
                }
                EPB_MAGIC => {
                    let parsed = if big_endian {
                        parse_enhancedpacketblock_be(block)
                    } else {
                        parse_enhancedpacketblock_le(block)
                    };
                    Some(match parsed {
                        Ok((_, epb)) => match self.interface(epb.if_id) {
                            Some(iface) => {
                                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                let ts =
                                    Timestamp::from_pcapng(units, iface.tsresol, iface.tsoffset);
                                self.last_ts = ts;
                                // pcap-parser checked the padded data lies within the block.
                                let len = (epb.caplen as usize).min(block_len - 32);
                                let data_start = self.start + 28;
                                Found::Packet {
                                    range: data_start..data_start + len,
                                    ts,
                                    link_type: iface.link_type,
                                    interface: epb.if_id,
                                }
                            }
                            None => Found::Malformed(MalformedReason::UnknownInterface(epb.if_id)),
                        },
                        Err(_) => Found::Malformed(MalformedReason::BadBlock),
                    })
                }
                _ => {
                    // SPB_MAGIC
                    let parsed = if big_endian {
                        parse_simplepacketblock_be(block)
                    } else {
                        parse_simplepacketblock_le(block)
                    };
                    Some(match parsed {
                        Ok((_, spb)) => match self.interface(0) {
                            Some(iface) => {
                                let mut len = (spb.origlen as usize).min(block_len - 16);
                                if iface.snaplen > 0 {
                                    len = len.min(iface.snaplen as usize);
                                }
                                let data_start = self.start + 12;
                                Found::Packet {
                                    range: data_start..data_start + len,
                                    ts: self.last_ts,
                                    link_type: iface.link_type,
                                    interface: 0,
                                }
                            }
                            None => Found::Malformed(MalformedReason::UnknownInterface(0)),
                        },
                        Err(_) => Found::Malformed(MalformedReason::BadBlock),
                    })
                }
            };
            self.consume(block_len);
            if let Some(found) = result {
                return Ok(Some(found));
            }
        }
    }

    fn interface(&self, id: u32) -> Option<Interface> {
        match &self.layout {
            Layout::PcapNg { interfaces, .. } => interfaces.get(id as usize).copied(),
            Layout::Pcap { .. } => None,
        }
    }

    /// Makes at least `need` bytes available at `buf[start..]` unless the input ends first.
    /// Returns the number of bytes available. The buffer only grows (by doubling) when data
    /// actually arrives, so a record header claiming a huge length costs nothing by itself.
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        while self.end - self.start < need && !self.eof {
            if self.end == self.buf.len() {
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                }
                if self.end == self.buf.len() {
                    let grown = (self.buf.len() * 2)
                        .clamp(self.buf.len() + 1, need.max(self.buf.len() + 1));
                    self.buf.resize(grown, 0);
                }
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n.min(self.buf.len() - self.end),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Skips `n` bytes without buffering them. Returns false if the input ended first.
    fn discard(&mut self, mut n: u64) -> io::Result<bool> {
        let avail = (self.end - self.start) as u64;
        if n <= avail {
            self.consume(n as usize);
            return Ok(true);
        }
        n -= avail;
        self.consume(avail as usize);
        while n > 0 {
            if self.eof {
                return Ok(false);
            }
            let chunk = n.min(self.buf.len() as u64) as usize;
            match self.reader.read(&mut self.buf[..chunk]) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    let k = k.min(chunk);
                    n -= k as u64;
                    self.offset += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

fn head_of(buf: &[u8], start: usize) -> &[u8] {
    buf.get(start..).unwrap_or(&[])
}

/// `if_tsresol` and `if_tsoffset` of an interface description, read in the section's byte order.
fn ts_options(options: &[PcapNGOption<'_>], big_endian: bool) -> (u8, i64) {
    let mut tsresol = 6;
    let mut tsoffset = 0;
    for opt in options {
        let value = opt.value();
        if opt.code == OptionCode::IfTsresol && opt.len == 1 {
            if let Some(&v) = value.first() {
                tsresol = v;
            }
        } else if opt.code == OptionCode::IfTsoffset && opt.len == 8 {
            if let Some(b) = value.get(..8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                tsoffset = if big_endian {
                    i64::from_be_bytes(a)
                } else {
                    i64::from_le_bytes(a)
                };
            }
        }
    }
    (tsresol, tsoffset)
}
