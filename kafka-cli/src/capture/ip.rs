//! IPv4 and IPv6 headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) const PROTO_TCP: u8 = 6;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTH: u8 = 51;
const IPV6_DEST_OPTS: u8 = 60;
const IPV6_MOBILITY: u8 = 135;
const IPV6_HIP: u8 = 139;
const IPV6_SHIM6: u8 = 140;
const MAX_EXT_HEADERS: usize = 16;

/// Fragmentation information of a fragment (IPv4, or IPv6 fragment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub id: u32,
    /// Byte offset of this fragment's data in the original payload.
    pub offset: usize,
    pub more: bool,
}

/// A parsed IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// Captured payload, trimmed to the length the header announces (drops link padding).
    pub payload: &'a [u8],
    /// Payload length the header announces; larger than `payload.len()` if the capture was
    /// truncated (snap length).
    pub payload_len: usize,
    pub fragment: Option<Fragment>,
}

impl IpPacket<'_> {
    /// True if the capture holds less than the packet's announced payload.
    pub fn is_truncated(&self) -> bool {
        self.payload.len() < self.payload_len
    }
}

/// Why an IP header is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadIp;

pub(crate) fn parse_ipv4(data: &[u8]) -> Result<IpPacket<'_>, BadIp> {
    let h = data.get(..20).ok_or(BadIp)?;
    if h[0] >> 4 != 4 {
        return Err(BadIp);
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 || ihl > data.len() {
        return Err(BadIp);
    }
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // Total length 0 is seen with TCP segmentation offload: trust the capture.
    let (end, payload_len) = if total == 0 {
        (data.len(), data.len() - ihl)
    } else {
        if total < ihl {
            return Err(BadIp);
        }
        (total.min(data.len()), total - ihl)
    };
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let more = frag & 0x2000 != 0;
    let offset = usize::from(frag & 0x1fff) * 8;
    let fragment = (more || offset != 0).then_some(Fragment {
        id: u32::from(u16::from_be_bytes([h[4], h[5]])),
        offset,
        more,
    });
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        protocol: h[9],
        payload: &data[ihl..end],
        payload_len,
        fragment,
    })
}

fn ipv6_addr(b: &[u8]) -> IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    IpAddr::V6(Ipv6Addr::from(a))
}

pub(crate) fn parse_ipv6(data: &[u8]) -> Result<IpPacket<'_>, BadIp> {
    let h = data.get(..40).ok_or(BadIp)?;
    if h[0] >> 4 != 6 {
        return Err(BadIp);
    }
    let announced = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // Payload length 0: jumbogram or segmentation offload; trust the capture.
    let (end, payload_len) = if announced == 0 {
        (data.len(), data.len() - 40)
    } else {
        ((40 + announced).min(data.len()), announced)
    };
    let body = &data[40..end];
    let (protocol, skip, fragment) = skip_extension_headers(h[6], body)?;
    Ok(IpPacket {
        src: ipv6_addr(&h[8..24]),
        dst: ipv6_addr(&h[24..40]),
        protocol,
        payload: body.get(skip..).unwrap_or(&[]),
        payload_len: payload_len.saturating_sub(skip),
        fragment,
    })
}

/// Walks IPv6 extension headers starting with `next` at `data[0]`. Returns the upper-layer
/// protocol, the number of bytes to skip, and the fragment header if one was crossed (the
/// walk stops after a fragment header: what follows is only complete after reassembly).
pub(crate) fn skip_extension_headers(
    mut next: u8,
    data: &[u8],
) -> Result<(u8, usize, Option<Fragment>), BadIp> {
    let mut at = 0usize;
    for _ in 0..MAX_EXT_HEADERS {
        match next {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS | IPV6_MOBILITY | IPV6_HIP
            | IPV6_SHIM6 => {
                let h = data.get(at..at + 2).ok_or(BadIp)?;
                next = h[0];
                at += (usize::from(h[1]) + 1) * 8;
            }
            IPV6_AUTH => {
                let h = data.get(at..at + 2).ok_or(BadIp)?;
                next = h[0];
                at += (usize::from(h[1]) + 2) * 4;
            }
            IPV6_FRAGMENT => {
                let h = data.get(at..at + 8).ok_or(BadIp)?;
                let off_flags = u16::from_be_bytes([h[2], h[3]]);
                let fragment = Fragment {
                    id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    offset: usize::from(off_flags & 0xfff8),
                    more: off_flags & 1 != 0,
                };
                // An atomic fragment (offset 0, no more) is a whole packet.
                let frag = (fragment.more || fragment.offset != 0).then_some(fragment);
                return Ok((h[0], at + 8, frag));
            }
            _ => return Ok((next, at, None)),
        }
        if at > data.len() {
            return Err(BadIp);
        }
    }
    Err(BadIp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(total: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ipv4_basic_padding_truncation() {
        let p = v4(24, 0x4000, &[1, 2, 3, 4, 0, 0]); // DF, 2 bytes of Ethernet padding
        let ip = parse_ipv4(&p).unwrap();
        assert_eq!(ip.payload, &[1, 2, 3, 4]);
        assert_eq!(ip.protocol, PROTO_TCP);
        assert_eq!(ip.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert!(ip.fragment.is_none());
        assert!(!ip.is_truncated());
        let p = v4(100, 0, &[1, 2]); // snapped
        let ip = parse_ipv4(&p).unwrap();
        assert_eq!(ip.payload_len, 80);
        assert!(ip.is_truncated());
        let p = v4(0, 0, &[1, 2, 3]); // TSO
        assert_eq!(parse_ipv4(&p).unwrap().payload, &[1, 2, 3]);
    }

    #[test]
    fn ipv4_options_and_fragments() {
        let mut p = v4(28, 0x2000 | 3, &[0, 0, 0, 0, 9, 9, 9, 9]);
        p[0] = 0x46; // 24-byte header: 4 bytes of options
        let ip = parse_ipv4(&p).unwrap();
        assert_eq!(ip.payload, &[9, 9, 9, 9]);
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 0x1234,
                offset: 24,
                more: true
            })
        );
    }

    #[test]
    fn ipv4_bad() {
        assert_eq!(parse_ipv4(&[0x45; 19]), Err(BadIp));
        let mut p = v4(20, 0, &[]);
        p[0] = 0x44;
        assert_eq!(parse_ipv4(&p), Err(BadIp));
        p[0] = 0x4f; // 60-byte header, 20 bytes present
        assert_eq!(parse_ipv4(&p), Err(BadIp));
        let p = v4(10, 0, &[]);
        assert_eq!(parse_ipv4(&p), Err(BadIp));
        let mut p = v4(20, 0, &[]);
        p[0] = 0x65;
        assert_eq!(parse_ipv4(&p), Err(BadIp));
    }

    fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.push(next);
        p.push(64);
        p.extend_from_slice(&[0; 15]);
        p.push(1);
        p.extend_from_slice(&[0; 15]);
        p.push(2);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ipv6_extension_headers() {
        let ip_data = v6(PROTO_TCP, &[1, 2, 3]);
        let ip = parse_ipv6(&ip_data).unwrap();
        assert_eq!(ip.payload, &[1, 2, 3]);
        assert_eq!(ip.dst, "::2".parse::<IpAddr>().unwrap());
        // hop-by-hop (8 bytes) then destination options (16 bytes) then TCP
        let mut ext = vec![IPV6_DEST_OPTS, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[PROTO_TCP, 1]);
        ext.extend_from_slice(&[0; 14]);
        ext.extend_from_slice(&[7, 7]);
        let ip_data = v6(IPV6_HOP_BY_HOP, &ext);
        let ip = parse_ipv6(&ip_data).unwrap();
        assert_eq!(ip.protocol, PROTO_TCP);
        assert_eq!(ip.payload, &[7, 7]);
        assert_eq!(ip.payload_len, 2);
        // fragment header
        let frag = [PROTO_TCP, 0, 0x00, 0x11, 0, 0, 0, 9, 5, 5];
        let ip_data = v6(IPV6_FRAGMENT, &frag);
        let ip = parse_ipv6(&ip_data).unwrap();
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 9,
                offset: 16,
                more: true
            })
        );
        assert_eq!(ip.payload, &[5, 5]);
        // truncated extension header
        let ip_data = v6(IPV6_ROUTING, &[PROTO_TCP]);
        assert_eq!(parse_ipv6(&ip_data), Err(BadIp));
        // extension header pointing past the end
        let ip_data = v6(IPV6_ROUTING, &[PROTO_TCP, 200, 0, 0]);
        assert_eq!(parse_ipv6(&ip_data), Err(BadIp));
        // a loop of extension headers is cut off
        let looped: Vec<u8> = (0..40)
            .flat_map(|_| [IPV6_DEST_OPTS, 0, 0, 0, 0, 0, 0, 0])
            .collect();
        assert_eq!(parse_ipv6(&v6(IPV6_DEST_OPTS, &looped)), Err(BadIp));
        assert_eq!(parse_ipv6(&[0x60; 39]), Err(BadIp));
    }
}
