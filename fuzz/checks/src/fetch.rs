//! `client_fetch`: the consumer's sans-IO fetcher (`kafka_client::consumer::Fetcher`) takes a
//! Fetch response from the fuzzer and hands out its records.
//!
//! Input layout: `[flags, version selector, offset, response body...]`. The fetcher follows
//! partitions 0 to 2 of topic `t` (topic id [`TOPIC_ID`], leader node 1), all positioned at
//! `offset`; it builds its request, and the rest of the input is decoded as the Fetch response
//! at a version the request allows (picked by the selector byte). Flag bit 0 selects
//! read_committed, bit 1 CRC checking.
//!
//! Properties: no panic; records of a partition come out in strictly increasing offset order,
//! none below the position they were fetched from; a partition's position moves past every
//! record handed out; at most `max` records per poll; the fetch buffer empties.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_client::consumer::{
    ConsumerRecord, FetchConfig, Fetcher, IsolationLevel, LeaderInfo, TopicPartition,
};
use kafka_protocol::codec::Uuid;
use kafka_protocol::fuzzing::{Outcome, Verdict, Violation};
use kafka_protocol::generated::FetchResponse;
use kafka_protocol::{ApiKey, Message};

const CHECK: &str = "client_fetch";
/// The topic id of topic `t` (for Fetch v13 and later, which name topics by id).
pub const TOPIC_ID: Uuid = Uuid([
    0x4b, 0x61, 0x66, 0x6b, 0x61, 0x2d, 0x72, 0x73, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x21, 0x21, 0x21,
]);
/// Partitions the fetcher follows.
pub const PARTITIONS: i32 = 3;
const MAX_POLL: usize = 100;
/// More polls than this means the fetcher does not make progress.
const MAX_POLLS: usize = 1 << 16;

/// The Fetch version the selector byte picks among those `max` allows.
pub fn fetch_version(selector: u8, max: i16) -> i16 {
    let lowest = ApiKey::FETCH.info().map_or(0, |i| i.lowest);
    let span = i32::from(max) - i32::from(lowest) + 1;
    lowest + (i32::from(selector) % span.max(1)) as i16
}

fn violation(what: String) -> Violation {
    Violation::new(CHECK, what)
}

/// One fetch round trip through the fetcher.
pub fn client_fetch(data: &[u8]) -> Outcome {
    let Some(([flags, selector, offset], body)) = data.split_first_chunk::<3>() else {
        return Ok(Verdict::Rejected);
    };
    let cfg = FetchConfig {
        isolation: if flags & 1 == 1 {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::ReadUncommitted
        },
        check_crcs: flags & 2 == 2,
        max_poll_records: MAX_POLL,
        ..FetchConfig::default()
    };
    let now = Instant::now();
    let mut fetcher = Fetcher::new(cfg, Duration::from_millis(100));
    fetcher.set_topic_id("t", TOPIC_ID);
    let start = i64::from(*offset);
    let tps: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new("t", p))
        .collect();
    fetcher.add_partitions(tps.iter().cloned());
    for tp in &tps {
        fetcher.set_leader(tp, Some(LeaderInfo { node: 1, epoch: 0 }));
        fetcher
            .seek(tp, start)
            .map_err(|e| violation(format!("seek: {e}")))?;
    }
    let out = fetcher
        .poll_fetch(now)
        .ok_or_else(|| violation("no fetch request for three positioned partitions".into()))?;
    let version = fetch_version(*selector, out.max_version);
    let Ok(resp) = FetchResponse::decode_exact(&Bytes::copy_from_slice(body), version) else {
        fetcher.handle_fetch_failure(out.node, now);
        return Ok(Verdict::Rejected);
    };
    fetcher.handle_fetch_response(out.node, resp, now);
    drain(&mut fetcher, &tps, start)
}

fn drain(fetcher: &mut Fetcher, tps: &[TopicPartition], start: i64) -> Outcome {
    let mut last: HashMap<i32, i64> = HashMap::new();
    let mut records: Vec<ConsumerRecord> = Vec::new();
    let mut verdict = Verdict::Rejected;
    for _ in 0..MAX_POLLS {
        records.clear();
        let n = match fetcher.poll_records(MAX_POLL, &mut records) {
            Ok(0) if !fetcher.has_buffered_records() => break,
            Ok(n) => n,
            Err(_) => continue,
        };
        if n != records.len() || n > MAX_POLL {
            return Err(violation(format!(
                "poll returned {n} for {} records",
                records.len()
            )));
        }
        for r in &records {
            verdict = Verdict::Accepted;
            let floor = last.get(&r.partition).map_or(start, |o| o + 1);
            if r.topic.as_ref() != "t" || !(0..PARTITIONS).contains(&r.partition) {
                return Err(violation(format!("record of {}-{}", r.topic, r.partition)));
            }
            if r.offset < floor {
                return Err(violation(format!(
                    "partition {}: offset {} handed out after {floor} was due",
                    r.partition, r.offset
                )));
            }
            last.insert(r.partition, r.offset);
        }
        for tp in tps {
            if let (Some(&l), Some(p)) = (last.get(&tp.partition), fetcher.position(tp)) {
                if p <= l {
                    return Err(violation(format!(
                        "partition {}: position {p} after handing out offset {l}",
                        tp.partition
                    )));
                }
            }
        }
    }
    if fetcher.has_buffered_records() || fetcher.buffered_bytes() != 0 {
        return Err(violation(format!(
            "{} bytes still buffered after draining",
            fetcher.buffered_bytes()
        )));
    }
    Ok(verdict)
}
