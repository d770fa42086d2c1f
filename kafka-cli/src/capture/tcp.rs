//! TCP header.

pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const RST: u8 = 0x04;
pub(crate) const ACK: u8 = 0x10;

/// A parsed TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload length according to the IP header (`>= payload.len()`; larger when the capture was
    /// cut by the snap length).
    pub payload_len: usize,
}

impl TcpSegment<'_> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Header truncated or data offset invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadTcp;

/// Parses a TCP segment. `data` is the captured IP payload, `announced_len` the IP payload
/// length from the IP header.
pub(crate) fn parse_tcp(data: &[u8], announced_len: usize) -> Result<TcpSegment<'_>, BadTcp> {
    let h = data.get(..20).ok_or(BadTcp)?;
    let hdr_len = usize::from(h[12] >> 4) * 4;
    if hdr_len < 20 {
        return Err(BadTcp);
    }
    let payload = data.get(hdr_len..).ok_or(BadTcp)?;
    Ok(TcpSegment {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: h[13],
        payload,
        payload_len: announced_len.saturating_sub(hdr_len).max(payload.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(off: u8, flags: u8) -> Vec<u8> {
        let mut h = vec![
            0xd4,
            0x31,
            0x23,
            0x84,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            2,
            off << 4,
            flags,
        ];
        h.extend_from_slice(&[0; 6]);
        h
    }

    #[test]
    fn parse() {
        let mut p = hdr(5, SYN | ACK);
        p.extend_from_slice(b"abc");
        let s = parse_tcp(&p, p.len()).unwrap();
        assert_eq!((s.src_port, s.dst_port, s.seq, s.ack), (54321, 9092, 1, 2));
        assert!(s.has(SYN) && s.has(ACK) && !s.has(FIN) && !s.has(RST));
        assert_eq!(s.payload, b"abc");
        assert_eq!(s.payload_len, 3);
        // truncated capture: 100 bytes announced
        assert_eq!(parse_tcp(&p, 120).unwrap().payload_len, 100);
        // options
        let mut p = hdr(6, 0);
        p.extend_from_slice(&[1, 1, 1, 0, 9]);
        assert_eq!(parse_tcp(&p, p.len()).unwrap().payload, &[9]);
    }

    #[test]
    fn bad() {
        assert_eq!(parse_tcp(&[0; 19], 19), Err(BadTcp));
        let p = hdr(4, 0);
        assert_eq!(parse_tcp(&p, 20), Err(BadTcp));
        let p = hdr(15, 0);
        assert_eq!(parse_tcp(&p, 60), Err(BadTcp));
    }
}
