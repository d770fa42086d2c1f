//! Capture timestamps.

use std::fmt;

/// A packet capture timestamp: seconds since the Unix epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second, always `< 1_000_000_000`.
    pub nanos: u32,
}

const NANOS_PER_SEC: u32 = 1_000_000_000;

impl Timestamp {
    /// The epoch.
    pub const ZERO: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// Builds a timestamp, carrying excess nanoseconds into the seconds.
    pub fn new(secs: i64, nanos: u32) -> Self {
        let carry = i64::from(nanos / NANOS_PER_SEC);
        Timestamp {
            secs: secs.saturating_add(carry),
            nanos: nanos % NANOS_PER_SEC,
        }
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * i128::from(NANOS_PER_SEC) + i128::from(self.nanos)
    }

    /// Converts a pcapng timestamp (`units` ticks of the interface resolution `if_tsresol`, plus
    /// the interface offset `if_tsoffset` in seconds) to a timestamp. Never overflows or panics.
    pub(crate) fn from_pcapng(units: u64, tsresol: u8, offset_secs: i64) -> Self {
        let exp = u32::from(tsresol & 0x7f);
        let units = u128::from(units);
        let (secs, nanos) = if tsresol & 0x80 == 0 {
            // 10^-exp seconds per unit
            match 10u128.checked_pow(exp) {
                Some(per_sec) => {
                    let secs = units / per_sec;
                    let frac = units % per_sec;
                    // frac < per_sec <= 10^38 would overflow * 1e9; divide first when exp > 9.
                    let nanos = if exp <= 9 {
                        frac * 10u128.pow(9 - exp)
                    } else {
                        frac / 10u128.pow(exp - 9)
                    };
                    (secs, nanos)
                }
                None => (0, 0),
            }
        } else {
            // 2^-exp seconds per unit; exp <= 127 so the shift is in range.
            let secs = units >> exp;
            let frac = units & ((1u128 << exp) - 1);
            // frac < 2^64, * 1e9 < 2^94.
            let nanos = (frac * u128::from(NANOS_PER_SEC)) >> exp;
            (secs, nanos)
        };
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        // nanos < 1e9 by construction; be defensive anyway.
        let nanos = u32::try_from(nanos).unwrap_or(0);
        Timestamp::new(secs.saturating_add(offset_secs), nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_normalises() {
        assert_eq!(
            Timestamp::new(1, 2_500_000_000),
            Timestamp {
                secs: 3,
                nanos: 500_000_000
            }
        );
        assert_eq!(Timestamp::new(i64::MAX, u32::MAX).secs, i64::MAX);
    }

    #[test]
    fn pcapng_resolutions() {
        // default: microseconds
        assert_eq!(
            Timestamp::from_pcapng(1_500_000, 6, 0),
            Timestamp::new(1, 500_000_000)
        );
        // nanoseconds
        assert_eq!(
            Timestamp::from_pcapng(1_000_000_007, 9, 0),
            Timestamp::new(1, 7)
        );
        // picoseconds
        assert_eq!(
            Timestamp::from_pcapng(2_000_000_000_123, 12, 0),
            Timestamp::new(2, 0)
        );
        // seconds
        assert_eq!(Timestamp::from_pcapng(5, 0, 10), Timestamp::new(15, 0));
        // 2^-10 seconds
        assert_eq!(
            Timestamp::from_pcapng(1024 + 512, 0x80 | 10, 0),
            Timestamp::new(1, 500_000_000)
        );
        // absurd resolutions do not panic
        for r in 0..=255u8 {
            let _ = Timestamp::from_pcapng(u64::MAX, r, i64::MAX);
            let _ = Timestamp::from_pcapng(u64::MAX, r, i64::MIN);
        }
    }

    #[test]
    fn display() {
        assert_eq!(Timestamp::new(12, 3400).to_string(), "12.000003400");
    }
}
