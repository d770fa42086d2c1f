//! LZ4 (codec id 3): the LZ4 frame format (lz4_Frame_format.md), as Kafka's
//! `Lz4BlockOutputStream` writes it: FLG `0x60` (version 1, independent blocks), BD `0x40`
//! (64 KiB blocks), no content size, no checksums; blocks that do not shrink are stored with the
//! high bit of their length set.
//!
//! The frame is parsed here and only the blocks go to `lz4_flex`, so that:
//! - the header checksum may be the broken one of KAFKA-3160 (computed over the magic number
//!   too), which Kafka before 0.10 wrote and Java still writes for magic 0 (KIP-57);
//! - every block is checked against the room left under the cap before it is decoded, so a bomb
//!   never allocates more than the cap plus one block.

use twox_hash::XxHash32;

use crate::error::DecodeErrorKind;

/// The LZ4 frame magic number, little-endian on the wire.
const MAGIC: u32 = 0x184D_2204;
/// FLG: version 01, block independence.
const FLG_JAVA: u8 = 0x60;
/// BD: 64 KiB maximum block size (id 4), the size Java writes.
const BD_64K: u8 = 0x40;
const BLOCK_64K: usize = 64 * 1024;
/// Bit 31 of a block size: the block is stored uncompressed.
const UNCOMPRESSED_BIT: u32 = 0x8000_0000;

fn corrupt(why: impl std::fmt::Display) -> DecodeErrorKind {
    DecodeErrorKind::Decompression(format!("lz4: {why}"))
}

/// The header checksum: second byte of xxh32 over the descriptor. `from_magic` computes the
/// broken one of KAFKA-3160 over magic and descriptor.
fn header_checksum(frame_start: &[u8], descriptor_end: usize, from_magic: bool) -> u8 {
    let from = if from_magic { 0 } else { 4 };
    (XxHash32::oneshot(0, &frame_start[from..descriptor_end]) >> 8) as u8
}

/// A little cursor over the frame bytes.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeErrorKind> {
        if n > self.0.len() {
            return Err(corrupt("truncated frame"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u32_le(&mut self) -> Result<u32, DecodeErrorKind> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u8(&mut self) -> Result<u8, DecodeErrorKind> {
        Ok(self.take(1)?[0])
    }
}

/// Decompresses one or more concatenated frames into at most `cap` bytes. Both header checksums
/// are accepted: the lenient reading KIP-57 asks of readers of magic 0 and 1.
pub(super) fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeErrorKind> {
    let mut out = Vec::with_capacity(input.len().saturating_mul(3).min(cap));
    let mut inp = Input(input);
    loop {
        decompress_frame(&mut inp, cap, &mut out)?;
        if inp.0.is_empty() {
            return Ok(out);
        }
    }
}

fn decompress_frame(
    inp: &mut Input<'_>,
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeErrorKind> {
    let frame_start = inp.0;
    if inp.u32_le()? != MAGIC {
        return Err(corrupt("bad frame magic"));
    }
    // Frame descriptor: FLG, BD, [content size], [dictionary id], HC.
    let flg = inp.u8()?;
    let bd = inp.u8()?;
    if flg >> 6 != 1 {
        return Err(corrupt("unsupported frame version"));
    }
    if flg & 0x02 != 0 || bd & 0x8f != 0 {
        return Err(corrupt("reserved descriptor bits set"));
    }
    let independent = flg & 0x20 != 0;
    let block_checksums = flg & 0x10 != 0;
    let content_checksum = flg & 0x04 != 0;
    if flg & 0x08 != 0 {
        // The declared content size is skipped, never trusted.
        inp.take(8)?;
    }
    if flg & 0x01 != 0 {
        return Err(corrupt("dictionaries are not supported"));
    }
    let block_max = match (bd >> 4) & 0x07 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return Err(corrupt("invalid block maximum size")),
    };
    let descriptor_end = frame_start.len() - inp.0.len();
    let hc = inp.u8()?;
    if hc != header_checksum(frame_start, descriptor_end, false)
        && hc != header_checksum(frame_start, descriptor_end, true)
    {
        return Err(corrupt("frame header checksum mismatch"));
    }
    let frame_out_start = out.len();
    loop {
        let size = inp.u32_le()?;
        if size == 0 {
            break; // EndMark
        }
        let stored = size & UNCOMPRESSED_BIT != 0;
        let len = (size & !UNCOMPRESSED_BIT) as usize;
        if len > block_max {
            return Err(corrupt("block larger than the frame's maximum"));
        }
        let block = inp.take(len)?;
        if block_checksums {
            let sum = inp.u32_le()?;
            if sum != XxHash32::oneshot(0, block) {
                return Err(corrupt("block checksum mismatch"));
            }
        }
        let room = cap.saturating_sub(out.len());
        if stored {
            if len > room {
                return Err(DecodeErrorKind::DecompressedTooLarge { cap });
            }
            out.extend_from_slice(block);
            continue;
        }
        let avail = block_max.min(room);
        // The safe decoder writes into initialised memory only. Zeroing the block maximum
        // (64 KiB to 4 MiB) for every block was most of the cost of small batches; the exact
        // size, from a scan of the sequence lengths, is as much as the block writes. Anything
        // the scan does not vouch for (a malformed block, more than fits) takes the old path,
        // so errors stay those of the decoder.
        let want = decoded_len(block, avail).unwrap_or(avail);
        let start = out.len();
        out.resize(start + want, 0);
        let (prev, dest) = out.split_at_mut(start);
        let result = if independent {
            lz4_flex::block::decompress_into(block, dest)
        } else {
            // Linked blocks may refer to the last 64 KiB of this frame's output.
            let dict_from = start.saturating_sub(BLOCK_64K).max(frame_out_start);
            lz4_flex::block::decompress_into_with_dict(block, dest, &prev[dict_from..])
        };
        match result {
            Ok(n) => out.truncate(start + n),
            Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if avail < block_max => {
                return Err(DecodeErrorKind::DecompressedTooLarge { cap });
            }
            Err(e) => return Err(corrupt(e)),
        }
    }
    if content_checksum {
        let sum = inp.u32_le()?;
        if sum != XxHash32::oneshot(0, &out[frame_out_start..]) {
            return Err(corrupt("content checksum mismatch"));
        }
    }
    Ok(())
}

/// The size an LZ4 block decodes to, from its sequences (lz4_Block_format.md: a token whose
/// high nibble is the literal length and low nibble the match length minus 4, each extended by
/// bytes while they are 255; literals; a 2-byte offset, absent after the last literals), when
/// the sequences parse to the end of the block and the size is at most `limit`. Neither
/// offsets nor the end-of-block rules are checked: the decoder does that.
fn decoded_len(block: &[u8], limit: usize) -> Option<usize> {
    /// A length nibble and its extension bytes.
    fn length(block: &[u8], i: &mut usize, nibble: u8) -> Option<usize> {
        let mut len = usize::from(nibble);
        if nibble == 15 {
            loop {
                let b = *block.get(*i)?;
                *i += 1;
                len += usize::from(b);
                if b != 255 {
                    return Some(len);
                }
            }
        }
        Some(len)
    }
    if block.is_empty() {
        return None;
    }
    let (mut i, mut n) = (0usize, 0usize);
    loop {
        let token = *block.get(i)?;
        i += 1;
        let literals = length(block, &mut i, token >> 4)?;
        i = i.checked_add(literals).filter(|&e| e <= block.len())?;
        n += literals;
        if n > limit {
            return None;
        }
        if i == block.len() {
            return Some(n);
        }
        i += 2;
        if i > block.len() {
            return None;
        }
        n += length(block, &mut i, token & 15)? + 4;
        if n > limit {
            return None;
        }
    }
}

/// Compresses `input` as one frame in Java's layout, with the broken header checksum of
/// KAFKA-3160 when `broken_header_checksum` (Java does so for magic 0 only).
pub(super) fn compress(input: &[u8], out: &mut Vec<u8>, broken_header_checksum: bool) {
    let frame_start = out.len();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(FLG_JAVA);
    out.push(BD_64K);
    let hc = header_checksum(&out[frame_start..], 6, broken_header_checksum);
    out.push(hc);
    for chunk in input.chunks(BLOCK_64K) {
        let size_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(
            start + lz4_flex::block::get_maximum_output_size(chunk.len()),
            0,
        );
        let size = match lz4_flex::block::compress_into(chunk, &mut out[start..]) {
            Ok(n) if n < chunk.len() => {
                out.truncate(start + n);
                n as u32
            }
            // Incompressible (or, impossibly, no room): store the block as is.
            _ => {
                out.truncate(start);
                out.extend_from_slice(chunk);
                chunk.len() as u32 | UNCOMPRESSED_BIT
            }
        };
        out[size_at..start].copy_from_slice(&size.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_java_for_both_checksums() {
        // Bytes Java's Lz4BlockOutputStream writes for an empty input: magic, FLG, BD, HC and
        // the end mark; HC 0x82 is xxh32(0x60 0x40) >> 8, 0x1a the broken one (magic 0), as in
        // the Java-written vectors of testdata/.
        let mut ok = Vec::new();
        compress(b"", &mut ok, false);
        assert_eq!(ok, [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 0, 0, 0, 0]);
        let mut broken = Vec::new();
        compress(b"", &mut broken, true);
        assert_eq!(broken[6], 0x1a);
        assert!(decompress(&ok, 0).unwrap().is_empty());
        assert!(decompress(&broken, 0).unwrap().is_empty());
        broken[6] ^= 1;
        assert!(decompress(&broken, 0).is_err());
    }

    #[test]
    fn lz4_flex_frames_with_checksums_and_linked_blocks_are_read() {
        use std::io::Write;
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
        for mode in [
            lz4_flex::frame::BlockMode::Independent,
            lz4_flex::frame::BlockMode::Linked,
        ] {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_mode(mode)
                .block_checksums(true)
                .content_checksum(true)
                .content_size(Some(data.len() as u64));
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(&data).unwrap();
            let framed = enc.finish().unwrap();
            assert_eq!(decompress(&framed, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn decoded_len_is_the_decoded_size() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..400 {
            // Runs of repeats (long matches), noise (long literals), and mixes of both.
            let len = (next() % 70_000) as usize;
            let data: Vec<u8> = (0..len)
                .map(|i| match round % 4 {
                    0 => (i / 300) as u8,
                    1 => next() as u8,
                    2 => (next() % 4) as u8,
                    _ => (i % 7) as u8 ^ ((i / 5000) as u8),
                })
                .collect();
            let block = lz4_flex::block::compress(&data);
            assert_eq!(decoded_len(&block, usize::MAX), Some(len), "round {round}");
            if len > 0 {
                assert_eq!(decoded_len(&block, len - 1), None);
            }
            // A cut block never claims a size (the decoder then reports it).
            let cut = &block[..block.len() / 2];
            if let Some(n) = decoded_len(cut, usize::MAX) {
                assert!(lz4_flex::block::decompress(cut, n).map_or(true, |d| d.len() == n));
            }
        }
        assert_eq!(decoded_len(&[], 10), None);
    }

    #[test]
    fn bomb_fails_within_one_block_of_the_cap() {
        let mut out = Vec::new();
        compress(&vec![7u8; 16 << 20], &mut out, false);
        assert!(out.len() < 100 << 10);
        assert_eq!(
            decompress(&out, 1 << 20).unwrap_err(),
            DecodeErrorKind::DecompressedTooLarge { cap: 1 << 20 }
        );
    }
}
