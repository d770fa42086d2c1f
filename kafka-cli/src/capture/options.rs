//! Configuration of [`CaptureReader`](super::CaptureReader).

use std::str::FromStr;

/// Which TCP connections are Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSelection {
    /// Connections with one of these server ports (either endpoint) are Kafka; all other TCP is
    /// counted and skipped.
    Ports(Vec<u16>),
    /// Any TCP connection whose first frames look like a Kafka request followed by a response
    /// with the same correlation id is Kafka.
    Auto,
}

impl PortSelection {
    /// The default Kafka port.
    pub const DEFAULT_PORT: u16 = 9092;

    /// True if `port` is one of the listed ports (always false for `Auto`).
    pub fn contains(&self, port: u16) -> bool {
        match self {
            PortSelection::Ports(ports) => ports.contains(&port),
            PortSelection::Auto => false,
        }
    }

    /// True for `Auto`.
    pub fn is_auto(&self) -> bool {
        matches!(self, PortSelection::Auto)
    }
}

impl Default for PortSelection {
    fn default() -> Self {
        PortSelection::Ports(vec![Self::DEFAULT_PORT])
    }
}

/// Error parsing a [`PortSelection`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid port list {0:?}: expected `auto` or comma-separated ports like `9092,9093`")]
pub struct PortSelectionError(pub String);

impl FromStr for PortSelection {
    type Err = PortSelectionError;

    /// `auto`, or a comma-separated list of ports (`9092,9093`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(PortSelection::Auto);
        }
        let mut ports = Vec::new();
        for part in s.split(',') {
            let port: u16 = part
                .trim()
                .parse()
                .map_err(|_| PortSelectionError(s.to_owned()))?;
            if port == 0 {
                return Err(PortSelectionError(s.to_owned()));
            }
            ports.push(port);
        }
        Ok(PortSelection::Ports(ports))
    }
}

/// Limits and knobs. All memory use is bounded by these, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Which connections are Kafka. Default: port 9092.
    pub ports: PortSelection,
    /// Largest plausible frame length; a longer length prefix means the stream is not Kafka (at
    /// its start) or framing was lost (later). Default 128 MiB.
    pub max_frame_len: u32,
    /// Largest frame assembled in memory; plausible but larger frames are skipped and reported.
    /// Default 64 MiB.
    pub max_frame_buffer: usize,
    /// Out-of-order data buffered per direction while waiting for a missing segment; beyond it
    /// the missing bytes are declared a gap. Default 8 MiB.
    pub max_out_of_order_bytes: usize,
    /// A connection that never produced a frame is reported as not Kafka after scanning this
    /// many bytes for a frame start. Default 16 MiB.
    pub max_resync_scan: u64,
    /// Connections tracked at once; beyond it the least recently active is dropped. Default 65536.
    pub max_streams: usize,
    /// Request correlation ids remembered per connection for matching responses (resync and
    /// auto-detection). Default 1024.
    pub max_outstanding_requests: usize,
    /// Auto-detection: payload bytes held per connection while deciding. Default 1 MiB.
    pub detect_max_bytes: usize,
    /// Auto-detection: segments per direction examined for a frame start. Default 32.
    pub detect_max_segments: usize,
    /// IP datagrams reassembled from fragments at once (IPv4 and IPv6; up to 64 KiB each).
    /// Default 256.
    pub max_ip_fragments: usize,
    /// Size of the file read buffer. Default 1 MiB.
    pub read_buffer: usize,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            ports: PortSelection::default(),
            max_frame_len: 128 << 20,
            max_frame_buffer: 64 << 20,
            max_out_of_order_bytes: 8 << 20,
            max_resync_scan: 16 << 20,
            max_streams: 65536,
            max_outstanding_requests: 1024,
            detect_max_bytes: 1 << 20,
            detect_max_segments: 32,
            max_ip_fragments: 256,
            read_buffer: 1 << 20,
        }
    }
}

impl CaptureOptions {
    /// Default options with the given port selection.
    pub fn with_ports(ports: PortSelection) -> Self {
        CaptureOptions {
            ports,
            ..CaptureOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ports() {
        assert_eq!(
            "auto".parse::<PortSelection>().unwrap(),
            PortSelection::Auto
        );
        assert_eq!(
            " 9092, 9093 ".parse::<PortSelection>().unwrap(),
            PortSelection::Ports(vec![9092, 9093])
        );
        assert!("".parse::<PortSelection>().is_err());
        assert!("0".parse::<PortSelection>().is_err());
        assert!("70000".parse::<PortSelection>().is_err());
        assert!("9092,x".parse::<PortSelection>().is_err());
        assert!(PortSelection::default().contains(9092));
        assert!(!PortSelection::Auto.contains(9092));
    }
}
