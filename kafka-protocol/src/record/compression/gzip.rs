//! gzip (codec id 1): RFC 1952 members, as `java.util.zip.GZIPOutputStream` writes them.

use std::io::Write;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::error::{DecodeErrorKind, EncodeError};

/// Decompresses gzip members (Java's `GZIPInputStream` reads concatenated members too) into at
/// most `cap` bytes.
pub(super) fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeErrorKind> {
    super::read_capped(
        MultiGzDecoder::new(input),
        cap,
        input.len().saturating_mul(4),
    )
}

/// Compresses at the default level (6), as Java's `GzipCompression` does by default.
pub(super) fn compress(input: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut enc = GzEncoder::new(out, flate2::Compression::default());
    enc.write_all(input)
        .and_then(|()| enc.try_finish())
        .map_err(|e| EncodeError::Records(format!("gzip: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bomb_stops_at_the_cap() {
        // 8 MiB of zeros compress to about 8 KiB.
        let mut out = Vec::new();
        compress(&vec![0u8; 8 << 20], &mut out).unwrap();
        assert!(out.len() < 16 << 10);
        assert_eq!(
            decompress(&out, 1 << 20).unwrap_err(),
            DecodeErrorKind::DecompressedTooLarge { cap: 1 << 20 }
        );
    }

    #[test]
    fn concatenated_members_are_read() {
        let mut out = Vec::new();
        compress(b"ab", &mut out).unwrap();
        compress(b"cd", &mut out).unwrap();
        assert_eq!(decompress(&out, 10).unwrap(), b"abcd");
    }
}
