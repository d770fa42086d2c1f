//! Text helpers shared by the renderers: undoing Rust `Debug` escapes, JSON string escaping,
//! base64 and hex, and how binary data (keys, values, byte fields) is shown.
//!
//! Policy for byte data, the same everywhere: bytes that are valid UTF-8 are shown as text;
//! anything else as base64 in JSON (`{"base64": "..."}`) and as `0x`-prefixed hex in the text
//! views.

use std::io::{self, Write};

/// Undoes the escapes of a Rust `Debug` string body (between the quotes): `\n`, `\r`, `\t`,
/// `\\`, `\"`, `\'`, `\0` and `\u{...}`. Unknown escapes are kept literally.
pub fn unescape_debug_str(escaped: &str, out: &mut String) {
    out.clear();
    let mut rest = escaped;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            out.push('\\');
            return;
        };
        match c {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' | '"' | '\'' => out.push(c),
            'u' => {
                // \u{XXXX}
                let after = chars.as_str();
                let decoded = after
                    .strip_prefix('{')
                    .and_then(|s| s.find('}').map(|end| (&s[..end], end)))
                    .and_then(|(hex, end)| {
                        u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .map(|ch| (ch, end))
                    });
                match decoded {
                    Some((ch, end)) => {
                        out.push(ch);
                        // 'u' + '{' + hex + '}'
                        rest = &rest[1 + 1 + end + 1..];
                        continue;
                    }
                    None => {
                        out.push('\\');
                        out.push('u');
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push_str(rest);
}

/// Undoes the escapes of a `bytes::Bytes` `Debug` body (between `b"` and `"`): `\n`, `\r`,
/// `\t`, `\\`, `\"`, `\0` and `\xNN`; other characters are the bytes themselves.
pub fn unescape_debug_bytes(escaped: &str, out: &mut Vec<u8>) {
    out.clear();
    let b = escaped.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' || i + 1 >= b.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = b[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'x' => {
                let hex = b.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => out.push(other),
        }
    }
}

/// Writes `s` as a JSON string, quotes included.
pub fn write_json_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    write_json_str_body(w, s)?;
    w.write_all(b"\"")
}

/// Bytes a JSON string holds as they are: all but `"`, `\\`, control characters and DEL.
static JSON_PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = false;
        c += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t[0x7f] = false;
    t
};

/// Writes `s` JSON-escaped, without quotes.
pub fn write_json_str_body(w: &mut impl Write, s: &str) -> io::Result<()> {
    write_json_utf8_body(w, s.as_bytes())
}

/// [`write_json_str_body`] for bytes known to be UTF-8. Runs of plain bytes are found with a
/// table and written at once (record keys and values are most of `--json` output).
fn write_json_utf8_body(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let mut start = 0;
    while let Some(k) = bytes[start..]
        .iter()
        .position(|&b| !JSON_PLAIN[usize::from(b)])
    {
        let i = start + k;
        w.write_all(&bytes[start..i])?;
        let b = bytes[i];
        match b {
            b'"' => w.write_all(b"\\\"")?,
            b'\\' => w.write_all(b"\\\\")?,
            b'\n' => w.write_all(b"\\n")?,
            b'\r' => w.write_all(b"\\r")?,
            b'\t' => w.write_all(b"\\t")?,
            _ => write!(w, "\\u{b:04x}")?,
        }
        start = i + 1;
    }
    w.write_all(&bytes[start..])
}

/// Digits of a `u64` at most.
const DEC: usize = 20;

/// Writes the decimal digits of `n` at the end of `buf` (prefilled with the padding), returns
/// where they start.
#[inline]
fn dec_digits(mut n: u64, buf: &mut [u8; DEC]) -> usize {
    let mut i = DEC;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Appends `n` in decimal, right-aligned in `width` columns filled with `pad`, without
/// `core::fmt` (it was a fifth of the summary's time): `{n:>width$}` or `{n:0width$}`.
pub fn push_dec(w: &mut Vec<u8>, n: u64, width: usize, pad: u8) {
    let mut buf = [pad; DEC];
    let i = dec_digits(n, &mut buf);
    if width > DEC {
        w.resize(w.len() + width - DEC, pad);
    }
    w.extend_from_slice(&buf[i.min(DEC.saturating_sub(width))..]);
}

/// Appends a signed integer in decimal.
pub fn push_int(w: &mut Vec<u8>, n: i64) {
    if n < 0 {
        w.push(b'-');
    }
    push_dec(w, n.unsigned_abs(), 0, b' ');
}

/// Writes an integer in decimal without `core::fmt` (record offsets and timestamps in JSON).
pub fn write_i64(w: &mut impl Write, n: i64) -> io::Result<()> {
    let mut buf = [0; DEC];
    let i = dec_digits(n.unsigned_abs(), &mut buf);
    if n < 0 {
        w.write_all(b"-")?;
    }
    w.write_all(&buf[i..])
}

/// Writes byte data as JSON: a string when it is UTF-8, else `{"base64":"..."}`.
pub fn write_json_bytes(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    // ASCII is UTF-8: the word-at-a-time ASCII check spares the UTF-8 validation.
    if data.is_ascii() {
        w.write_all(b"\"")?;
        write_json_utf8_body(w, data)?;
        return w.write_all(b"\"");
    }
    match std::str::from_utf8(data) {
        Ok(s) => write_json_str(w, s),
        Err(_) => {
            w.write_all(b"{\"base64\":\"")?;
            write_base64(w, data)?;
            w.write_all(b"\"}")
        }
    }
}

/// Writes optional byte data as JSON (`null` for `None`).
pub fn write_json_opt_bytes(w: &mut impl Write, data: Option<&[u8]>) -> io::Result<()> {
    match data {
        Some(d) => write_json_bytes(w, d),
        None => w.write_all(b"null"),
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes standard base64 (RFC 4648, with padding).
pub fn write_base64(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let mut buf = [0u8; 4 * 64];
    for chunk in data.chunks(3 * 64) {
        let mut n = 0;
        for group in chunk.chunks(3) {
            let b0 = group[0];
            let b1 = group.get(1).copied().unwrap_or(0);
            let b2 = group.get(2).copied().unwrap_or(0);
            let v = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
            buf[n] = BASE64[(v >> 18) as usize & 63];
            buf[n + 1] = BASE64[(v >> 12) as usize & 63];
            buf[n + 2] = if group.len() > 1 {
                BASE64[(v >> 6) as usize & 63]
            } else {
                b'='
            };
            buf[n + 3] = if group.len() > 2 {
                BASE64[v as usize & 63]
            } else {
                b'='
            };
            n += 4;
        }
        w.write_all(&buf[..n])?;
    }
    Ok(())
}

/// Writes lower-case hex.
pub fn write_hex(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 128];
    for chunk in data.chunks(64) {
        for (i, b) in chunk.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        w.write_all(&buf[..2 * chunk.len()])?;
    }
    Ok(())
}

/// Bytes that `<str as Debug>` writes as they are: printable ASCII except `"` and `\\`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x7f {
        t[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    t
};

/// Writes byte data for the text views: `"text"` (Rust-escaped) when UTF-8, else `0x` hex,
/// elided after `max` bytes when `max` is given (`0x0102… (300 bytes)`).
pub fn write_text_bytes(w: &mut impl Write, data: &[u8], max: Option<usize>) -> io::Result<()> {
    // Most keys and values are printable ASCII without quotes or backslashes, which `{:?}`
    // writes unchanged: skip the UTF-8 check and the escaping machinery for them (the bulk of
    // `-v` on record-heavy captures).
    if max.is_none_or(|max| data.len() <= max) && data.iter().all(|&b| PLAIN[usize::from(b)]) {
        w.write_all(b"\"")?;
        w.write_all(data)?;
        return w.write_all(b"\"");
    }
    match std::str::from_utf8(data) {
        Ok(s) => match max {
            Some(max) if s.len() > max => {
                let mut cut = max;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                write!(w, "{:?}… ({} bytes)", &s[..cut], s.len())
            }
            _ => write!(w, "{s:?}"),
        },
        Err(_) => {
            w.write_all(b"0x")?;
            match max {
                Some(max) if data.len() > max => {
                    write_hex(w, &data[..max])?;
                    write!(w, "… ({} bytes)", data.len())
                }
                _ => write_hex(w, data),
            }
        }
    }
}

/// Writes optional byte data for the text views (`null` for `None`).
pub fn write_text_opt_bytes(
    w: &mut impl Write,
    data: Option<&[u8]>,
    max: Option<usize>,
) -> io::Result<()> {
    match data {
        Some(d) => write_text_bytes(w, d, max),
        None => w.write_all(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut v = Vec::new();
        f(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn debug_str_round_trip() {
        let original = "a\"b\\c\nd\te\r\0f\u{1}g\u{301}é'";
        let debug = format!("{original:?}");
        let mut out = String::new();
        unescape_debug_str(&debug[1..debug.len() - 1], &mut out);
        assert_eq!(out, original);
        unescape_debug_str("tail\\", &mut out);
        assert_eq!(out, "tail\\");
        unescape_debug_str("\\u{zz}", &mut out);
        assert_eq!(out, "\\u{zz}");
    }

    #[test]
    fn debug_bytes_round_trip() {
        let original: Vec<u8> = (0..=255u8).chain(*b"\"\\\n\r\t\0").collect();
        let debug = format!("{:?}", bytes::Bytes::from(original.clone()));
        let mut out = Vec::new();
        unescape_debug_bytes(&debug[2..debug.len() - 1], &mut out);
        assert_eq!(out, original);
    }

    #[test]
    fn text_bytes_fast_path_writes_what_debug_writes() {
        // Every ASCII byte alone and inside plain text: the fast path must agree with `{:?}`.
        for b in 0..0x80u8 {
            for text in [vec![b], [b"key-".as_slice(), &[b], b" value"].concat()] {
                let expected = format!("{:?}", std::str::from_utf8(&text).unwrap());
                assert_eq!(
                    s(|w| write_text_bytes(w, &text, None)),
                    expected,
                    "{b:#04x}"
                );
                assert_eq!(s(|w| write_text_bytes(w, &text, Some(64))), expected);
            }
        }
        assert_eq!(s(|w| write_text_bytes(w, b"", None)), "\"\"");
        // Over the limit, or not ASCII: the general path.
        assert_eq!(
            s(|w| write_text_bytes(w, b"abcdef", Some(3))),
            "\"abc\"… (6 bytes)"
        );
        assert_eq!(
            s(|w| write_text_bytes(w, "é\u{301}".as_bytes(), None)),
            "\"é\\u{301}\""
        );
    }

    #[test]
    fn json_escaping_matches_the_byte_by_byte_rule() {
        // The rule: `"`, `\\`, \n, \r, \t by name; other controls and DEL as \u00XX; the rest
        // as it is.
        fn reference(s: &str) -> String {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\0'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        for c in (0u32..0x100)
            .filter_map(char::from_u32)
            .chain(['é', '€', '😀'])
        {
            for text in [c.to_string(), format!("ab{c}cd{c}"), format!("{c}{c}x")] {
                assert_eq!(s(|w| write_json_str(w, &text)), reference(&text), "{c:?}");
                assert_eq!(
                    s(|w| write_json_bytes(w, text.as_bytes())),
                    reference(&text)
                );
            }
        }
        for n in [0, 7, -7, 1_795_537_745_633, i64::MIN, i64::MAX] {
            assert_eq!(s(|w| write_i64(w, n)), n.to_string());
        }
    }

    #[test]
    fn json_strings() {
        assert_eq!(
            s(|w| write_json_str(w, "a\"\\\n\u{1}\u{7f}é")),
            r#""a\"\\\n\u0001\u007fé""#
        );
        let parsed: String = serde_json::from_str(&s(|w| write_json_str(w, "x\u{0}y"))).unwrap();
        assert_eq!(parsed, "x\u{0}y");
    }

    #[test]
    fn json_bytes() {
        assert_eq!(s(|w| write_json_bytes(w, b"hi")), r#""hi""#);
        assert_eq!(
            s(|w| write_json_bytes(w, &[0xff, 0, 1])),
            r#"{"base64":"/wAB"}"#
        );
        assert_eq!(s(|w| write_json_opt_bytes(w, None)), "null");
    }

    #[test]
    fn base64_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(s(|w| write_base64(w, input.as_bytes())), expected);
        }
        let long = vec![0xabu8; 1000];
        assert_eq!(
            s(|w| write_base64(w, &long)).len(),
            1000usize.div_ceil(3) * 4
        );
    }

    #[test]
    fn text_bytes() {
        assert_eq!(s(|w| write_text_bytes(w, b"a\"b", None)), r#""a\"b""#);
        assert_eq!(s(|w| write_text_bytes(w, &[0xff, 1], None)), "0xff01");
        assert_eq!(
            s(|w| write_text_bytes(w, &[0xff; 5], Some(2))),
            "0xffff… (5 bytes)"
        );
        assert_eq!(
            s(|w| write_text_bytes(w, "ééé".as_bytes(), Some(3))),
            "\"é\"… (6 bytes)"
        );
    }
}
