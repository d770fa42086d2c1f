//! Fatal errors of [`CaptureReader`](super::CaptureReader).

/// An error that stops reading the capture file.
///
/// Problems inside the capture (broken packets, lost segments, non-Kafka streams) are not errors:
/// they are reported as [`CaptureEvent`](super::CaptureEvent)s and reading continues.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Reading the underlying file or pipe failed.
    #[error("I/O error while reading the capture: {0}")]
    Io(#[from] std::io::Error),
    /// The input is shorter than any capture file header.
    #[error("input too short to be a pcap or pcapng capture ({len} bytes)")]
    TooShort {
        /// How many bytes there were.
        len: usize,
    },
    /// The first bytes are neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng capture (magic number {magic:#010x})")]
    UnknownFormat {
        /// The first four bytes, read big-endian.
        magic: u32,
    },
    /// The file structure is broken beyond recovery (e.g. an impossible block length).
    #[error("corrupt capture file at byte {offset}: {reason}")]
    Corrupt {
        /// File offset of the broken record or block.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}
