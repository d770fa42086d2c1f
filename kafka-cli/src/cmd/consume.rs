//! `kafka-cli consume`: print the records of topics, alone or as a group member, like kcat.
//!
//! With no format each value is printed on its own line. `-f` takes a format string, `--json`
//! prints JSON Lines (a stable contract: `topic`, `partition`, `offset`, `timestamp`,
//! `timestamp_type`, `key`, `value`, `headers`; bytes that are not UTF-8 come as
//! `key_base64` / `value_base64` instead).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use kafka_client::consumer::{
    Consumer, ConsumerError, ConsumerRecord, GroupConsumer, OffsetSpec, TopicPartition,
};

use super::config::ConnectArgs;

/// Print the records of topics, alone or as a group member (kcat style).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic to read (repeatable).
    #[arg(short = 't', long = "topic", required = true)]
    topics: Vec<String>,
    /// Read only this partition (repeatable; not with -G).
    #[arg(short = 'p', long = "partition")]
    partitions: Vec<i32>,
    /// Where to start: `beginning`, `end`, an offset `N`, `-N` (N records before the end) or
    /// `@TIMESTAMP` (ms since the epoch). With -G: where to start without a committed offset
    /// (`beginning` or `end`).
    #[arg(
        short = 'o',
        long = "offset",
        default_value = "beginning",
        allow_hyphen_values = true
    )]
    offset: String,
    /// Exit once every partition has been read to its end.
    #[arg(short = 'e', long = "exit-at-end")]
    exit_at_end: bool,
    /// Exit after this many records.
    #[arg(short = 'c', long = "count")]
    count: Option<u64>,
    /// Output format: %k key, %v value, %p partition, %o offset, %t timestamp (ms), %h headers
    /// (k=v,...), %n topic name, %K key length, %S value length, %% a percent sign; escapes \n
    /// \t \\ . Default: the value and a newline.
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    /// Print JSON Lines.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Consume as a member of this group (committed offsets, partitions shared with the
    /// group's other members).
    #[arg(short = 'G', long = "group")]
    group: Option<String>,
}

/// Where to start, parsed from `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Spec(OffsetSpec),
    At(i64),
    BeforeEnd(i64),
}

fn parse_start(s: &str) -> anyhow::Result<Start> {
    Ok(match s {
        "beginning" | "earliest" | "start" => Start::Spec(OffsetSpec::Earliest),
        "end" | "latest" => Start::Spec(OffsetSpec::Latest),
        _ if s.starts_with('@') => Start::Spec(OffsetSpec::Timestamp(
            s[1..]
                .parse()
                .with_context(|| format!("`{s}`: expected @<milliseconds>"))?,
        )),
        _ if s.starts_with('-') => Start::BeforeEnd(
            s[1..]
                .parse()
                .with_context(|| format!("`{s}`: expected -<count>"))?,
        ),
        _ => Start::At(
            s.parse()
                .with_context(|| format!("`{s}`: expected beginning, end, N, -N or @timestamp"))?,
        ),
    })
}

/// One piece of a parsed format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(Vec<u8>),
    Key,
    Value,
    Partition,
    Offset,
    Timestamp,
    Headers,
    Topic,
    KeyLen,
    ValueLen,
}

fn parse_format(f: &str) -> anyhow::Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        let piece = match c {
            '%' => match chars.next() {
                Some('k') => Piece::Key,
                Some('v') => Piece::Value,
                Some('p') => Piece::Partition,
                Some('o') => Piece::Offset,
                Some('t') => Piece::Timestamp,
                Some('h') => Piece::Headers,
                Some('n') => Piece::Topic,
                Some('K') => Piece::KeyLen,
                Some('S') => Piece::ValueLen,
                Some('%') => {
                    lit.push(b'%');
                    continue;
                }
                other => bail!(
                    "unknown format token %{}",
                    other.map(String::from).unwrap_or_default()
                ),
            },
            '\\' => {
                match chars.next() {
                    Some('n') => lit.push(b'\n'),
                    Some('t') => lit.push(b'\t'),
                    Some('r') => lit.push(b'\r'),
                    Some('0') => lit.push(0),
                    Some('\\') => lit.push(b'\\'),
                    Some(o) => {
                        lit.push(b'\\');
                        let mut b = [0; 4];
                        lit.extend_from_slice(o.encode_utf8(&mut b).as_bytes());
                    }
                    None => lit.push(b'\\'),
                }
                continue;
            }
            c => {
                let mut b = [0; 4];
                lit.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                continue;
            }
        };
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(piece);
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

fn write_formatted(
    w: &mut impl Write,
    pieces: &[Piece],
    r: &ConsumerRecord,
) -> std::io::Result<()> {
    for p in pieces {
        match p {
            Piece::Lit(b) => w.write_all(b)?,
            Piece::Key => w.write_all(r.key.as_deref().unwrap_or_default())?,
            Piece::Value => w.write_all(r.value.as_deref().unwrap_or_default())?,
            Piece::Partition => write!(w, "{}", r.partition)?,
            Piece::Offset => write!(w, "{}", r.offset)?,
            Piece::Timestamp => write!(w, "{}", r.timestamp)?,
            Piece::Topic => w.write_all(r.topic.as_bytes())?,
            Piece::KeyLen => write!(w, "{}", r.key.as_ref().map_or(-1, |k| k.len() as i64))?,
            Piece::ValueLen => write!(w, "{}", r.value.as_ref().map_or(-1, |v| v.len() as i64))?,
            Piece::Headers => {
                for (i, h) in r.headers.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b",")?;
                    }
                    w.write_all(&h.key)?;
                    w.write_all(b"=")?;
                    w.write_all(h.value.as_deref().unwrap_or_default())?;
                }
            }
        }
    }
    Ok(())
}

/// Standard base64 (RFC 4648) for bytes that are not UTF-8 in JSON output.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn json_bytes(obj: &mut serde_json::Map<String, serde_json::Value>, name: &str, b: Option<&[u8]>) {
    match b {
        None => {
            obj.insert(name.into(), serde_json::Value::Null);
        }
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => {
                obj.insert(name.into(), s.into());
            }
            Err(_) => {
                obj.insert(name.into(), serde_json::Value::Null);
                obj.insert(format!("{name}_base64"), base64(b).into());
            }
        },
    }
}

fn write_json(w: &mut impl Write, r: &ConsumerRecord) -> std::io::Result<()> {
    let mut o = serde_json::Map::new();
    o.insert("topic".into(), r.topic.as_ref().into());
    o.insert("partition".into(), r.partition.into());
    o.insert("offset".into(), r.offset.into());
    o.insert("timestamp".into(), r.timestamp.into());
    o.insert("timestamp_type".into(), r.timestamp_type.name().into());
    json_bytes(&mut o, "key", r.key.as_deref());
    json_bytes(&mut o, "value", r.value.as_deref());
    let headers: Vec<serde_json::Value> = r
        .headers
        .iter()
        .map(|h| {
            let mut m = serde_json::Map::new();
            json_bytes(&mut m, "key", Some(&h.key));
            json_bytes(&mut m, "value", h.value.as_deref());
            serde_json::Value::Object(m)
        })
        .collect();
    o.insert("headers".into(), headers.into());
    serde_json::to_writer(&mut *w, &serde_json::Value::Object(o))?;
    w.write_all(b"\n")
}

/// The two kinds of consumer behind one loop.
enum Source {
    Alone(Box<Consumer>),
    Group(Box<GroupConsumer>),
}

impl Source {
    async fn next(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        match self {
            Source::Alone(c) => c.next().await,
            Source::Group(g) => g.next().await,
        }
    }

    fn try_next(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        match self {
            Source::Alone(c) => c.try_next(),
            Source::Group(g) => g.try_next(),
        }
    }

    fn at_end(&self) -> bool {
        match self {
            Source::Alone(c) => c.at_end(),
            Source::Group(g) => g.at_end(),
        }
    }
}

/// Errors after which consuming cannot go on.
fn is_fatal(e: &ConsumerError) -> bool {
    matches!(
        e,
        ConsumerError::UnknownTopic(_)
            | ConsumerError::NoOffsetForPartition(_)
            | ConsumerError::OffsetOutOfRange { .. }
            | ConsumerError::Fenced(_)
            | ConsumerError::Config { .. }
            | ConsumerError::CorruptRecord { .. }
            | ConsumerError::Protocol(_)
    ) || e.code().is_some_and(|c| !c.is_retriable())
}

/// Consecutive transient errors (no cluster, timeouts) without a record before giving up.
const MAX_TRANSIENT_ERRORS: u32 = 10;

fn properties(args: &Args) -> anyhow::Result<Vec<(String, String)>> {
    let mut props = vec![
        (
            "bootstrap.servers".to_string(),
            args.connect.bootstrap.clone(),
        ),
        ("client.id".to_string(), "kafka-cli".to_string()),
    ];
    // -F file, then -X (TLS/SASL settings among them).
    props.extend(args.connect.properties()?);
    Ok(props)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let start = parse_start(&args.offset)?;
    let pieces = args.format.as_deref().map(parse_format).transpose()?;
    let mut props = properties(&args)?;
    super::runtime()?.block_on(async move {
        let mut source = match &args.group {
            Some(group) => {
                if !args.partitions.is_empty() {
                    bail!("-p selects partitions without a group; a group assigns them (drop -p or -G)");
                }
                let reset = match start {
                    Start::Spec(OffsetSpec::Earliest) => "earliest",
                    Start::Spec(OffsetSpec::Latest) => "latest",
                    _ => bail!("with -G, -o is beginning or end (where to start without a committed offset)"),
                };
                props.insert(0, ("auto.offset.reset".into(), reset.into()));
                props.insert(0, ("group.id".into(), group.clone()));
                let mut g = GroupConsumer::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .await
                    .context("starting the group consumer")?;
                g.subscribe(&args.topics);
                Source::Group(Box::new(g))
            }
            None => {
                let mut c = Consumer::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .await
                    .context("starting the consumer")?;
                let mut parts: Vec<TopicPartition> = Vec::new();
                for t in &args.topics {
                    if args.partitions.is_empty() {
                        parts.extend(c.assign_topic(t).await.with_context(|| format!("topic {t}"))?);
                    } else {
                        parts.extend(args.partitions.iter().map(|&p| TopicPartition::new(t.as_str(), p)));
                    }
                }
                c.assign(parts.clone())?;
                position(&mut c, &parts, start).await?;
                Source::Alone(Box::new(c))
            }
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
        let mut printed = 0u64;
        let mut transient = 0u32;
        let mut failed = false;
        loop {
            if args.count.is_some_and(|c| printed >= c) {
                break;
            }
            // Take what is fetched without waiting (no timer per record); flush before waiting.
            let next = match source.try_next() {
                Some(r) => Some(Some(r)),
                None => {
                    out.flush()?;
                    if args.exit_at_end && source.at_end() {
                        break;
                    }
                    tokio::time::timeout(Duration::from_millis(100), source.next())
                        .await
                        .ok()
                }
            };
            match next {
                None => continue,
                Some(None) => break,
                Some(Some(Ok(r))) => {
                    transient = 0;
                    printed += 1;
                    if args.json {
                        write_json(&mut out, &r)?;
                    } else if let Some(p) = &pieces {
                        write_formatted(&mut out, p, &r)?;
                    } else {
                        out.write_all(r.value.as_deref().unwrap_or_default())?;
                        out.write_all(b"\n")?;
                    }
                }
                Some(Some(Err(e))) => {
                    out.flush()?;
                    if is_fatal(&e) {
                        eprintln!("error: {e}");
                        failed = true;
                        break;
                    }
                    transient += 1;
                    eprintln!("warning: {e}");
                    if transient >= MAX_TRANSIENT_ERRORS {
                        eprintln!("error: giving up after {transient} errors in a row");
                        failed = true;
                        break;
                    }
                }
            }
        }
        out.flush()?;
        drop(out);
        if let Source::Group(g) = source {
            if let Err(e) = g.close(Duration::from_secs(10)).await {
                eprintln!("warning: leaving the group: {e}");
            }
        }
        Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}

/// Moves every partition to where `-o` says.
async fn position(c: &mut Consumer, parts: &[TopicPartition], start: Start) -> anyhow::Result<()> {
    match start {
        Start::Spec(spec) => {
            for tp in parts {
                c.seek_to(tp, spec)?;
            }
        }
        Start::At(n) => {
            for tp in parts {
                c.seek(tp, n)?;
            }
        }
        Start::BeforeEnd(n) => {
            let ends = c
                .end_offsets(parts)
                .await
                .context("looking up end offsets")?;
            let begins = c
                .beginning_offsets(parts)
                .await
                .context("looking up start offsets")?;
            for tp in parts {
                let end = *ends
                    .get(tp)
                    .ok_or_else(|| anyhow!("no end offset for {tp}"))?;
                let begin = begins.get(tp).copied().unwrap_or(0);
                c.seek(tp, (end - n).max(begin))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::record::{Header, TimestampType};

    fn rec() -> ConsumerRecord {
        ConsumerRecord {
            topic: "t".into(),
            partition: 2,
            offset: 42,
            timestamp: 1700,
            timestamp_type: TimestampType::CreateTime,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(&[0xff, b'v'])),
            headers: vec![Header::new("a", Some("1")), Header::new("b", None::<Bytes>)],
            leader_epoch: None,
        }
    }

    #[test]
    fn offsets_parse_like_kcat() {
        assert_eq!(
            parse_start("beginning").unwrap(),
            Start::Spec(OffsetSpec::Earliest)
        );
        assert_eq!(parse_start("end").unwrap(), Start::Spec(OffsetSpec::Latest));
        assert_eq!(parse_start("17").unwrap(), Start::At(17));
        assert_eq!(parse_start("-5").unwrap(), Start::BeforeEnd(5));
        assert_eq!(
            parse_start("@1700").unwrap(),
            Start::Spec(OffsetSpec::Timestamp(1700))
        );
        assert!(parse_start("soon").is_err());
        assert!(parse_start("@x").is_err());
    }

    #[test]
    fn format_tokens_and_escapes() {
        let p = parse_format("%n/%p@%o %t [%k=%v] %K/%S {%h}%%\\n").unwrap();
        let mut out = Vec::new();
        write_formatted(&mut out, &p, &rec()).unwrap();
        assert_eq!(out, b"t/2@42 1700 [k=\xffv] 1/2 {a=1,b=}%\n".to_vec());
        assert!(parse_format("%x").is_err());
    }

    #[test]
    fn json_lines_keep_bytes_that_are_not_utf8() {
        let mut out = Vec::new();
        write_json(&mut out, &rec()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["partition"], 2);
        assert_eq!(v["key"], "k");
        assert_eq!(v["value"], serde_json::Value::Null);
        assert_eq!(v["value_base64"], "/3Y=");
        assert_eq!(v["headers"][0]["value"], "1");
        assert_eq!(v["timestamp_type"], "CreateTime");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
    }
}
