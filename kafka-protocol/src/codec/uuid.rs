use std::fmt;

/// A 128-bit UUID as Kafka puts it on the wire (topic ids, member ids): 16 bytes, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID Kafka uses for "no topic id".
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Builds a UUID from its two 64-bit halves, as Java's `new Uuid(msb, lsb)`.
    pub fn from_halves(most_significant: u64, least_significant: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&most_significant.to_be_bytes());
        b[8..].copy_from_slice(&least_significant.to_be_bytes());
        Uuid(b)
    }

    /// Parses Kafka's text form: URL-safe base64 without padding (22 characters).
    pub fn parse_base64(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 22 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &c in bytes {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => return None,
            } as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                if n < 16 {
                    out[n] = (acc >> bits) as u8;
                }
                n += 1;
                acc &= (1 << bits) - 1;
            }
        }
        Some(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    /// Kafka's text form: URL-safe base64 without padding, as `Uuid.toString()` in Java.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = [0u8; 22];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                out[n] = ALPHABET[((acc >> bits) & 63) as usize];
                n += 1;
            }
        }
        if bits > 0 {
            out[n] = ALPHABET[((acc << (6 - bits)) & 63) as usize];
        }
        f.write_str(std::str::from_utf8(&out).unwrap_or("?"))
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        let u = Uuid::from_halves(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        let text = u.to_string();
        assert_eq!(text.len(), 22);
        assert_eq!(Uuid::parse_base64(&text), Some(u));
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
    }
}
