//! `-F/--config FILE`: client properties in the Java `.properties` format, the file users
//! already have for `kafka-console-producer --producer.config` (TLS and SASL settings, mostly).
//!
//! The format as `java.util.Properties.load` reads it: `#` or `!` comment lines; `key=value`,
//! `key: value` or `key value`; a line ending in an odd number of backslashes continues on the
//! next (whose leading blanks are dropped); escapes `\t \n \r \f \uXXXX`, and `\x` is `x`.
//! Errors name the line, never a value (values may be passwords).

use std::path::Path;

use anyhow::{bail, Context};

/// Reads the properties of `path`, in file order.
pub fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    parse(&text).with_context(|| format!("in the config file {}", path.display()))
}

/// Parses properties text.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let first = line.trim_start();
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines.
        let mut logical = String::from(first);
        let start = n + 1;
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split(&logical);
        let key = unescape(key).with_context(|| format!("line {start}"))?;
        let value = unescape(value).with_context(|| format!("line {start}"))?;
        out.push((key, value));
    }
    Ok(out)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Splits a logical line at the first unescaped `=`, `:` or blank.
fn split(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32);
                match code {
                    Some(ch) => out.push(ch),
                    None => bail!("malformed \\uXXXX escape"),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let text = r#"
# a comment
! another
security.protocol=SASL_SSL
sasl.mechanism : SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="alice" \
    password="alice-secret";
ssl.truststore.location /tmp/ca.pem
key\ with\ spaces=v\u0041\t1
empty=
"#;
        let props = parse(text).unwrap();
        assert_eq!(
            props,
            vec![
                ("security.protocol".into(), "SASL_SSL".into()),
                ("sasl.mechanism".into(), "SCRAM-SHA-512".into()),
                (
                    "sasl.jaas.config".into(),
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"alice-secret\";".into()
                ),
                ("ssl.truststore.location".into(), "/tmp/ca.pem".into()),
                ("key with spaces".into(), "vA\t1".into()),
                ("empty".into(), String::new()),
            ]
        );
        // An escaped backslash at the end does not continue the line.
        assert_eq!(
            parse("a=x\\\\\nb=y").unwrap(),
            vec![("a".into(), "x\\".into()), ("b".into(), "y".into())]
        );
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        let e = parse("ok=1\nsasl.password=se\\uZZZZcret\n").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("cret"), "{msg}");
    }
}
