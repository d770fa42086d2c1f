//! Link-layer decapsulation: from a captured frame to its IP packet.

/// Link types (LINKTYPE_* values as stored in capture files).
pub(crate) mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW on some BSDs; LINKTYPE_RAW in practice.
    pub const RAW_12: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const RAW_14: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const MAX_VLAN_TAGS: usize = 8;

/// The network-layer content of a link-layer frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// Not IP (ARP, LLDP, ...).
    Other,
}

/// Why a frame could not be decapsulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkError {
    Truncated,
    Unsupported,
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Strips the link-layer header of `data` (captured with `link_type`).
pub(crate) fn decapsulate(link_type: u32, data: &[u8]) -> Result<Network<'_>, LinkError> {
    use linktype::*;
    match link_type {
        ETHERNET => {
            let ethertype = be16(data, 12).ok_or(LinkError::Truncated)?;
            by_ethertype(ethertype, data, 14)
        }
        LINUX_SLL => {
            let protocol = be16(data, 14).ok_or(LinkError::Truncated)?;
            by_ethertype(protocol, data, 16)
        }
        LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(LinkError::Truncated);
            }
            let protocol = be16(data, 0).ok_or(LinkError::Truncated)?;
            by_ethertype(protocol, data, 20)
        }
        RAW | RAW_12 | RAW_14 => by_version(data),
        IPV4 => Ok(Network::Ipv4(data)),
        IPV6 => Ok(Network::Ipv6(data)),
        NULL | LOOP => {
            let fam = data.get(..4).ok_or(LinkError::Truncated)?;
            let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
            // NULL: host byte order of the capturing machine (unknown); LOOP: network order.
            let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let family = if link_type == LOOP || be <= 0xffff {
                be
            } else {
                le
            };
            let payload = &data[4..];
            match family {
                2 => Ok(Network::Ipv4(payload)),
                // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
                10 | 24 | 28 | 30 => Ok(Network::Ipv6(payload)),
                _ => by_version(payload),
            }
        }
        _ => Err(LinkError::Unsupported),
    }
}

/// Dispatches on an EtherType found at `data[at - 2..at]`, following VLAN tags.
fn by_ethertype(mut ethertype: u16, data: &[u8], mut at: usize) -> Result<Network<'_>, LinkError> {
    for _ in 0..MAX_VLAN_TAGS {
        match ethertype {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                // 2 bytes tag control information, then the inner EtherType.
                ethertype = be16(data, at + 2).ok_or(LinkError::Truncated)?;
                at += 4;
            }
            _ => break,
        }
    }
    let payload = data.get(at..).ok_or(LinkError::Truncated)?;
    Ok(match ethertype {
        ETHERTYPE_IPV4 => Network::Ipv4(payload),
        ETHERTYPE_IPV6 => Network::Ipv6(payload),
        _ => Network::Other,
    })
}

/// Raw IP: the version nibble decides.
fn by_version(data: &[u8]) -> Result<Network<'_>, LinkError> {
    match data.first().map(|b| b >> 4) {
        None => Err(LinkError::Truncated),
        Some(4) => Ok(Network::Ipv4(data)),
        Some(6) => Ok(Network::Ipv6(data)),
        Some(_) => Ok(Network::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::linktype::*;
    use super::*;

    const IP4: &[u8] = &[0x45, 0, 0, 20];
    const IP6: &[u8] = &[0x60, 0, 0, 0];

    fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
        [a, b].concat()
    }

    #[test]
    fn ethernet_and_vlan() {
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        assert_eq!(
            decapsulate(ETHERNET, &cat(&eth, IP4)),
            Ok(Network::Ipv4(IP4))
        );
        let mut vlan = vec![0u8; 12];
        vlan.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x88, 0xa8, 0, 7, 0x86, 0xdd]);
        // 802.1Q then 802.1ad then IPv6
        let mut q = vec![0u8; 12];
        q.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x86, 0xdd]);
        assert_eq!(decapsulate(ETHERNET, &cat(&q, IP6)), Ok(Network::Ipv6(IP6)));
        let mut qq = vec![0u8; 12];
        qq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x05, 0x81, 0x00, 0, 7, 0x08, 0x00]);
        assert_eq!(
            decapsulate(ETHERNET, &cat(&qq, IP4)),
            Ok(Network::Ipv4(IP4))
        );
        // ARP
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 1, 2]);
        assert_eq!(decapsulate(ETHERNET, &arp), Ok(Network::Other));
        // truncated
        assert_eq!(decapsulate(ETHERNET, &[0; 13]), Err(LinkError::Truncated));
        assert_eq!(
            decapsulate(ETHERNET, &vlan[..14]),
            Err(LinkError::Truncated)
        );
    }

    #[test]
    fn linux_cooked() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        assert_eq!(
            decapsulate(LINUX_SLL, &cat(&sll, IP4)),
            Ok(Network::Ipv4(IP4))
        );
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        assert_eq!(
            decapsulate(LINUX_SLL2, &cat(&sll2, IP6)),
            Ok(Network::Ipv6(IP6))
        );
        assert_eq!(
            decapsulate(LINUX_SLL2, &sll2[..19]),
            Err(LinkError::Truncated)
        );
        assert_eq!(
            decapsulate(LINUX_SLL, &sll[..15]),
            Err(LinkError::Truncated)
        );
    }

    #[test]
    fn raw_and_loopback() {
        for lt in [RAW, RAW_12, RAW_14] {
            assert_eq!(decapsulate(lt, IP4), Ok(Network::Ipv4(IP4)));
            assert_eq!(decapsulate(lt, IP6), Ok(Network::Ipv6(IP6)));
            assert_eq!(decapsulate(lt, &[0x20]), Ok(Network::Other));
            assert_eq!(decapsulate(lt, &[]), Err(LinkError::Truncated));
        }
        // NULL in little-endian host order, NULL in big-endian host order, LOOP (network order)
        assert_eq!(
            decapsulate(NULL, &cat(&[2, 0, 0, 0], IP4)),
            Ok(Network::Ipv4(IP4))
        );
        assert_eq!(
            decapsulate(NULL, &cat(&[0, 0, 0, 2], IP4)),
            Ok(Network::Ipv4(IP4))
        );
        assert_eq!(
            decapsulate(NULL, &cat(&[30, 0, 0, 0], IP6)),
            Ok(Network::Ipv6(IP6))
        );
        assert_eq!(
            decapsulate(NULL, &cat(&[0, 0, 0, 24], IP6)),
            Ok(Network::Ipv6(IP6))
        );
        assert_eq!(
            decapsulate(LOOP, &cat(&[0, 0, 0, 2], IP4)),
            Ok(Network::Ipv4(IP4))
        );
        assert_eq!(
            decapsulate(LOOP, &cat(&[0, 0, 0, 28], IP6)),
            Ok(Network::Ipv6(IP6))
        );
        assert_eq!(decapsulate(NULL, &[2, 0, 0]), Err(LinkError::Truncated));
        assert_eq!(decapsulate(IPV4, IP4), Ok(Network::Ipv4(IP4)));
        assert_eq!(decapsulate(IPV6, IP6), Ok(Network::Ipv6(IP6)));
        assert_eq!(decapsulate(147, IP4), Err(LinkError::Unsupported));
    }
}
