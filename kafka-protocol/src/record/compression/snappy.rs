//! Snappy (codec id 2): raw snappy blocks, and the xerial framing that the Java client writes
//! (`org.xerial.snappy.SnappyOutputStream`): a 16-byte header (magic `0x82 "SNAPPY" 0x00`,
//! int32 version, int32 compatible version) followed by blocks, each an int32 big-endian length
//! and a raw snappy block. librdkafka writes the same framing and reads both.

use crate::error::DecodeErrorKind;

/// The xerial stream magic.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic plus the two int32 version fields.
const XERIAL_HEADER_LEN: usize = 16;
/// The xerial default block size, which Kafka's `SnappyCompression` keeps.
const XERIAL_BLOCK: usize = 32 * 1024;

fn corrupt(e: impl std::fmt::Display) -> DecodeErrorKind {
    DecodeErrorKind::Decompression(format!("snappy: {e}"))
}

/// Decompresses either framing into at most `cap` bytes.
pub(super) fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeErrorKind> {
    let mut out = Vec::new();
    if input.starts_with(&XERIAL_MAGIC) {
        decompress_xerial(input, cap, &mut out)?;
    } else {
        decompress_raw_block(input, cap, &mut out)?;
    }
    Ok(out)
}

/// One raw block appended to `out`. Snappy states the uncompressed length up front; it is
/// checked against the room left under the cap before anything is allocated, and the decoder
/// then fails unless the block produces exactly that many bytes.
fn decompress_raw_block(
    block: &[u8],
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeErrorKind> {
    let len = snap::raw::decompress_len(block).map_err(corrupt)?;
    if len > cap.saturating_sub(out.len()) {
        return Err(DecodeErrorKind::DecompressedTooLarge { cap });
    }
    let start = out.len();
    out.resize(start + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(corrupt)?;
    out.truncate(start + n);
    Ok(())
}

/// The xerial framing. Like `SnappyInputStream`, a second stream header at a block boundary
/// (concatenated streams) is skipped.
fn decompress_xerial(input: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<(), DecodeErrorKind> {
    let mut rest = input;
    while !rest.is_empty() {
        if rest.starts_with(&XERIAL_MAGIC) {
            if rest.len() < XERIAL_HEADER_LEN {
                return Err(corrupt("truncated xerial header"));
            }
            rest = &rest[XERIAL_HEADER_LEN..];
            continue;
        }
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt("truncated xerial block length"));
        };
        let len = i32::from_be_bytes(*len);
        let len = usize::try_from(len).map_err(|_| corrupt("negative xerial block length"))?;
        if len > tail.len() {
            return Err(corrupt("xerial block longer than the input"));
        }
        let (block, tail) = tail.split_at(len);
        decompress_raw_block(block, cap, out)?;
        rest = tail;
    }
    Ok(())
}

/// Compresses into the xerial framing with 32 KiB blocks, as the Java client does.
pub(super) fn compress_xerial(input: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for chunk in input.chunks(XERIAL_BLOCK) {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(chunk.len()), 0);
        // Cannot fail: the chunk is far below snappy's 4 GiB limit and the room is the bound.
        let n = enc.compress(chunk, &mut out[start..]).unwrap_or(0);
        out.truncate(start + n);
        out[len_at..start].copy_from_slice(&(n as i32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_blocks_are_read() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello hello")
            .unwrap();
        assert_eq!(decompress(&raw, 100).unwrap(), b"hello hello");
    }

    #[test]
    fn xerial_header_layout() {
        let mut out = Vec::new();
        compress_xerial(b"abc", &mut out);
        assert_eq!(
            &out[..16],
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"
        );
        assert_eq!(decompress(&out, 3).unwrap(), b"abc");
    }

    #[test]
    fn declared_length_beyond_cap_fails_before_allocating() {
        // A raw block claiming 2^32-1 bytes: a five-byte varint and nothing else.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(
            decompress(&bomb, 1 << 20).unwrap_err(),
            DecodeErrorKind::DecompressedTooLarge { cap: 1 << 20 }
        );
    }

    #[test]
    fn concatenated_streams_and_bad_lengths() {
        let mut out = Vec::new();
        compress_xerial(b"ab", &mut out);
        compress_xerial(b"cd", &mut out);
        assert_eq!(decompress(&out, 10).unwrap(), b"abcd");
        let mut bad = Vec::new();
        compress_xerial(b"ab", &mut bad);
        bad[16] = 0x80; // negative block length
        assert!(decompress(&bad, 10).is_err());
        bad[16] = 0x00;
        bad[19] = 0xff; // longer than the input
        assert!(decompress(&bad, 10).is_err());
    }
}
