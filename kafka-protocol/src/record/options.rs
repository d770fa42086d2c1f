//! Decoding options.

/// How batches are checked and decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Check CRC32C (magic 2) and CRC32 (magic 0/1) checksums, as Java's `ensureValid` and the
    /// consumer's `check.crcs=true` do. Turn off only for forensics on damaged captures.
    pub verify_crc: bool,
    /// The most bytes one compressed batch (or legacy wrapper message) may decompress to. A
    /// batch that would decompress to more fails with `DecompressedTooLarge` after at most this
    /// many bytes of output.
    pub max_decompressed: usize,
}

impl DecodeOptions {
    /// The default cap: 64 MiB, well above Kafka's default `message.max.bytes` (1 MiB) and
    /// `fetch.max.bytes` (50 MiB) times any sensible compression ratio of real data.
    pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 << 20;

    /// Options that skip checksum verification (forensics on damaged captures).
    pub fn without_crc() -> Self {
        Self {
            verify_crc: false,
            ..Self::default()
        }
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            verify_crc: true,
            max_decompressed: Self::DEFAULT_MAX_DECOMPRESSED,
        }
    }
}
