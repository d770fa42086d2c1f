//! Zstandard (codec id 4, KIP-110): plain zstd frames, streamed through a capped reader.

use crate::error::{DecodeErrorKind, EncodeError};

/// The level Java's `ZstdCompression` uses by default.
const LEVEL: i32 = 3;
/// The largest window this decoder accepts (2^27 = 128 MiB, zstd's own default limit), further
/// limited by the cap: a frame header claiming a larger window would make the decoder allocate
/// it before producing a byte.
const MAX_WINDOW_LOG: u32 = 27;
const MIN_WINDOW_LOG: u32 = 10;

fn window_log_for(cap: usize) -> u32 {
    let needed = usize::BITS - cap.saturating_sub(1).leading_zeros();
    needed.clamp(MIN_WINDOW_LOG, MAX_WINDOW_LOG)
}

/// Decompresses one or more zstd frames into at most `cap` bytes. The frame's declared content
/// size is not trusted: output is streamed and cut at `cap + 1` bytes.
pub(super) fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeErrorKind> {
    let err = |e: std::io::Error| DecodeErrorKind::Decompression(format!("zstd: {e}"));
    let mut dec = zstd::stream::read::Decoder::with_buffer(input).map_err(err)?;
    dec.window_log_max(window_log_for(cap)).map_err(err)?;
    super::read_capped(dec, cap, input.len().saturating_mul(4)).map_err(|e| match e {
        // A window above the limit that follows the cap: for the single-segment frames
        // producers write, the window is the content size, so the output would exceed the cap.
        DecodeErrorKind::Decompression(why) if why.contains("too much memory") => {
            DecodeErrorKind::DecompressedTooLarge { cap }
        }
        other => other,
    })
}

/// Compresses with a reusable context at level 3.
pub(super) fn compress(
    input: &[u8],
    out: &mut Vec<u8>,
    ctx: &mut Option<zstd::bulk::Compressor<'static>>,
) -> Result<(), EncodeError> {
    let err = |e: std::io::Error| EncodeError::Records(format!("zstd: {e}"));
    if ctx.is_none() {
        *ctx = Some(zstd::bulk::Compressor::new(LEVEL).map_err(err)?);
    }
    let Some(c) = ctx.as_mut() else {
        return Err(EncodeError::Records("zstd: no context".into()));
    };
    let start = out.len();
    out.resize(start + zstd::zstd_safe::compress_bound(input.len()), 0);
    let res = c.compress_to_buffer(input, &mut out[start..]);
    let n = res.map_err(err)?;
    out.truncate(start + n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_log_follows_the_cap() {
        assert_eq!(window_log_for(0), MIN_WINDOW_LOG);
        assert_eq!(window_log_for(1 << 20), 20);
        assert_eq!(window_log_for((1 << 20) + 1), 21);
        assert_eq!(window_log_for(usize::MAX), MAX_WINDOW_LOG);
    }

    #[test]
    fn bomb_stops_at_the_cap() {
        let bomb = zstd::bulk::compress(&vec![0u8; 32 << 20], 3).unwrap();
        assert!(bomb.len() < 4 << 10, "{}", bomb.len());
        let cap = 1 << 20;
        assert_eq!(
            decompress(&bomb, cap).unwrap_err(),
            DecodeErrorKind::DecompressedTooLarge { cap }
        );
    }
}
