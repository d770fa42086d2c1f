//! `kafka-cli decode` run as a program on the captured fixtures (`fixtures/manifest.json`) and
//! on a log segment written by the real broker (`fixtures/segments/`). No broker needed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `kafka-cli` from the repository root (so relative fixture paths match the goldens).
fn decode(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-cli"))
        .arg("decode")
        .args(args)
        .current_dir(repo())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        // Written from a thread: the child may fill stdout before it has read all of stdin.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Capture {
    file: String,
    port: u16,
    request_frames: usize,
    response_frames: usize,
    requests: BTreeMap<(i64, i64), u64>,
    responses: BTreeMap<(i64, i64), u64>,
}

fn counts(v: &Value) -> BTreeMap<(i64, i64), u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                (
                    c["api_key"].as_i64().unwrap(),
                    c["api_version"].as_i64().unwrap(),
                ),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn manifest() -> Vec<Capture> {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/manifest.json")).unwrap(),
    )
    .unwrap();
    doc["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Capture {
            file: format!("fixtures/{}", c["file"].as_str().unwrap()),
            port: c["broker_port"].as_u64().unwrap() as u16,
            request_frames: c["request_frames"].as_u64().unwrap() as usize,
            response_frames: c["response_frames"].as_u64().unwrap() as usize,
            requests: counts(&c["requests"]),
            responses: counts(&c["responses"]),
        })
        .collect()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_fixture_decodes_completely_to_the_reference_counts() {
    let captures = manifest();
    assert!(
        captures.len() >= 20,
        "manifest lists {} captures",
        captures.len()
    );
    let mut failures = Vec::new();
    for c in &captures {
        let port = c.port.to_string();
        let out = decode(&["--json", "--port", &port, &c.file], None);
        let lines = json_lines(&out);
        let mut requests = BTreeMap::new();
        let mut responses = BTreeMap::new();
        for l in &lines {
            for key in [
                "frame",
                "ts",
                "stream",
                "direction",
                "offset",
                "length",
                "api_key",
                "api_name",
                "api_version",
                "correlation_id",
                "body",
            ] {
                assert!(l.get(key).is_some(), "{}: no {key} in {l}", c.file);
            }
            if l.get("error").is_some() {
                failures.push(format!(
                    "{}: frame {} has an error: {}",
                    c.file, l["frame"], l["error"]
                ));
            }
            let k = (
                l["api_key"].as_i64().unwrap(),
                l["api_version"].as_i64().unwrap(),
            );
            match l["direction"].as_str().unwrap() {
                "request" => *requests.entry(k).or_insert(0u64) += 1,
                "response" => *responses.entry(k).or_insert(0u64) += 1,
                d => panic!("direction {d}"),
            }
        }
        let (nreq, nresp) = (
            requests.values().sum::<u64>() as usize,
            responses.values().sum::<u64>() as usize,
        );
        if !out.status.success()
            || nreq != c.request_frames
            || nresp != c.response_frames
            || requests != c.requests
            || responses != c.responses
        {
            failures.push(format!(
                "{}: exit {:?}, {nreq}/{} requests, {nresp}/{} responses, per api {}; stderr: {}",
                c.file,
                out.status.code(),
                c.request_frames,
                c.response_frames,
                if requests == c.requests && responses == c.responses {
                    "equal"
                } else {
                    "different"
                },
                text(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const KCAT_IDEMPOTENT: &str = "    1    0.000000 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  ApiVersions v3 corr=1
    2    0.000728 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response ApiVersions v3 corr=1 +0.728ms
    3    0.000976 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  Metadata v4 corr=2
    4    0.001525 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response Metadata v4 corr=2 +0.549ms
    5    0.001849 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  Metadata v4 corr=3 topics=kcat-idem
    6    0.003304 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response Metadata v4 corr=3 +1.455ms topics=kcat-idem errors=UNKNOWN_TOPIC_OR_PARTITION(3)
    7    0.012703 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  InitProducerId v4 corr=4
    8    0.013200 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response InitProducerId v4 corr=4 +0.497ms
    9    1.000961 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  Metadata v4 corr=5 topics=kcat-idem
   10    1.001806 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response Metadata v4 corr=5 +0.845ms topics=kcat-idem[0]
   11    1.002729 #1 127.0.0.1:46002 -> 127.0.0.1:9192 request  Produce v7 corr=6 topics=kcat-idem[0] records=60 batches=1
   12    1.004610 #1 127.0.0.1:9192 -> 127.0.0.1:46002 response Produce v7 corr=6 +1.881ms topics=kcat-idem[0]
";

#[test]
fn summary_lines_golden() {
    let out = decode(
        &["--port", "9192", "fixtures/captures/kcat-idempotent.pcapng"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), KCAT_IDEMPOTENT);

    // Topic ids of Produce v13 resolved through the capture's Metadata; transactional ids.
    let out = decode(
        &[
            "--port",
            "9192",
            "fixtures/captures/java43-transactions.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "   15    1.139759 #2 127.0.0.1:50714 -> 127.0.0.1:9192 request  Produce v13 corr=8 txn=\"capture-txn-j43-txn\" topics=j43-txn[0] records=10 batches=1",
        "   21    1.494865 #2 127.0.0.1:50714 -> 127.0.0.1:9192 request  EndTxn v5 corr=10 txn=\"capture-txn-j43-txn\"",
        "   37    1.882955 #2 127.0.0.1:50714 -> 127.0.0.1:9192 request  TxnOffsetCommit v5 corr=15 group=\"j43-txn-group\" txn=\"capture-txn-j43-txn\" topics=j43-txn[0]",
    ] {
        assert!(stdout.lines().any(|l| l == line), "missing {line:?} in\n{stdout}");
    }

    // KIP-511: franz-go's ApiVersions v5 and the broker's v0 answer.
    let out = decode(
        &[
            "--port",
            "9192",
            "fixtures/captures/franz-go-metadata.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first: Vec<String> = text(&out.stdout)
        .lines()
        .take(2)
        .map(str::to_owned)
        .collect();
    assert!(
        first[0].ends_with("request  ApiVersions v5 corr=0 (unknown version: body not decoded)"),
        "{first:?}"
    );
    assert!(
        first[1].ends_with("(read as v0, KIP-511) errors=UNSUPPORTED_VERSION(35)"),
        "{first:?}"
    );

    // librdkafka 2.16's Metadata v13 with 3 bytes after the body: a note, not an error; -v
    // shows the bytes.
    let out = decode(
        &[
            "--port",
            "9192",
            "-v",
            "-f",
            "stream=1",
            "-f",
            "corr=3",
            "-f",
            "dir=request",
            "fixtures/captures/librdkafka-metadata.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].ends_with("request  Metadata v13 corr=3 (3 trailing bytes ignored)"),
        "{stdout}"
    );
    assert!(
        lines.contains(&"      ignored trailing bytes: 0x010000"),
        "{stdout}"
    );
    assert!(!stdout.contains("ERROR"), "{stdout}");
}

#[test]
fn verbose_tree_shows_fields_and_records() {
    let out = decode(
        &[
            "-v",
            "--port",
            "9192",
            "fixtures/captures/kcat-idempotent.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "      client_id: \"rdkafka\"",
        "      ProduceRequest",
        "        acks: -1",
        "              records: ",
        "                batch @0: magic=2 offsets=0..59 count=60",
        "                  offset=0 ts=",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn json_body_holds_decoded_records() {
    let out = decode(
        &[
            "--json",
            "--port",
            "9192",
            "--filter",
            "api=Produce",
            "fixtures/captures/java43-transactions.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert!(!lines.is_empty());
    let req = lines.iter().find(|l| l["direction"] == "request").unwrap();
    assert_eq!(req["api_name"], "Produce");
    assert_eq!(req["client_id"].as_str().map(|s| !s.is_empty()), Some(true));
    let records = &req["body"]["topic_data"][0]["partition_data"][0]["records"];
    let batch = &records["batches"][0];
    assert_eq!(batch["magic"], 2);
    assert_eq!(batch["transactional"], true);
    assert_eq!(
        batch["records"].as_array().unwrap().len() as u64,
        batch["records_count"].as_u64().unwrap()
    );
    assert!(batch["records"][0]["value"].is_string(), "{batch}");
    let resp = lines.iter().find(|l| l["direction"] == "response").unwrap();
    assert!(resp["latency_us"].as_u64().is_some());
    assert!(resp.get("client_id").is_none());
}

#[test]
fn filters_select_frames() {
    let f = "fixtures/captures/java43-transactions.pcapng";
    let all = json_lines(&decode(&["--json", "--port", "9192", f], None));
    let apis = |args: &[&str]| -> Vec<Value> {
        let mut a = vec!["--json", "--port", "9192"];
        a.extend_from_slice(args);
        a.push(f);
        let out = decode(&a, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        json_lines(&out)
    };
    let produce = apis(&["--filter", "api=produce"]);
    assert!(!produce.is_empty());
    assert!(produce.iter().all(|l| l["api_name"] == "Produce"));
    assert_eq!(
        produce.len(),
        all.iter().filter(|l| l["api_name"] == "Produce").count()
    );
    let by_key = apis(&["--filter", "api=0"]);
    assert_eq!(by_key.len(), produce.len());

    let corr = apis(&["--filter", "corr=8", "--filter", "stream=2"]);
    assert_eq!(corr.len(), 2, "{corr:?}");
    assert!(corr.iter().all(|l| l["correlation_id"] == 8));

    let topic = apis(&["--filter", "topic=j43-txn"]);
    assert!(topic.len() > produce.len());
    assert!(topic.len() < all.len());
    assert!(apis(&["--filter", "topic=no-such-topic"]).is_empty());

    let bad = decode(&["--filter", "api=NoSuchApi", f], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("NoSuchApi"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn stats_report_counts_latency_and_errors() {
    let out = decode(
        &[
            "--stats",
            "--port",
            "9192",
            "fixtures/captures/kcat-idempotent.pcapng",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("frames: 12 ("), "{s}");
    assert!(s.contains("record data: 60 records in 1 batches"), "{s}");
    let produce = s.lines().find(|l| l.starts_with("Produce ")).unwrap();
    let cols: Vec<&str> = produce.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["7", "1", "1"], "{produce}");
    assert!(s.contains("latency (ms)"), "{s}");
    assert!(
        s.lines().any(|l| l.starts_with("Metadata")
            && l.contains("UNKNOWN_TOPIC_OR_PARTITION")
            && l.ends_with(" 1")),
        "{s}"
    );
}

#[test]
fn stdin_and_auto_ports_give_the_same_frames() {
    let f = "fixtures/captures/java43-tools-produce-codecs.pcapng";
    let from_file = decode(&["--json", "--port", "9192", f], None);
    assert!(from_file.status.success());
    let data = std::fs::read(repo().join(f)).unwrap();
    let from_stdin = decode(&["--json", "--port", "9192", "-"], Some(&data));
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let implicit = decode(&["--json", "--port", "9192"], Some(&data));
    assert_eq!(implicit.stdout, from_file.stdout);

    let auto = decode(&["--json", "--port", "auto", f], None);
    assert!(auto.status.success(), "{}", text(&auto.stderr));
    assert_eq!(json_lines(&auto).len(), json_lines(&from_file).len());

    // The default port (9092) finds nothing in these captures: said, not an error.
    let none = decode(&[f], None);
    assert!(none.status.success());
    assert!(none.stdout.is_empty());
    assert!(
        text(&none.stderr).contains("no Kafka frames found on port 9092"),
        "{}",
        text(&none.stderr)
    );
}

fn assert_no_panic(out: &Output) {
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

#[test]
fn truncated_capture_exits_1_with_a_message() {
    let data =
        std::fs::read(repo().join("fixtures/captures/java43-tools-produce-codecs.pcapng")).unwrap();
    let full = json_lines(&decode(
        &[
            "--json",
            "--port",
            "9192",
            "fixtures/captures/java43-tools-produce-codecs.pcapng",
        ],
        None,
    ));
    let mut exit_1 = 0;
    for cut in [data.len() / 3, data.len() / 2, data.len() - 7] {
        let out = decode(&["--json", "--port", "9192", "-"], Some(&data[..cut]));
        assert_no_panic(&out);
        let lines = json_lines(&out);
        // The last cut only loses the final packet (no Kafka data); the others lose frames.
        assert!(
            lines.len() < full.len() || cut == data.len() - 7,
            "cut at {cut}"
        );
        if out.status.code() == Some(1) {
            exit_1 += 1;
            assert!(
                text(&out.stderr).contains("did not decode completely"),
                "{}",
                text(&out.stderr)
            );
        }
    }
    // A capture cut inside a record is reported, whatever the record carried.
    assert_eq!(exit_1, 3);
}

#[test]
fn garbled_frames_are_reported_with_offsets_and_decoding_goes_on() {
    let path = "fixtures/captures/kcat-idempotent.pcapng";
    let mut data = std::fs::read(repo().join(path)).unwrap();
    // Corrupt bytes inside the produced record batch (zstd; its CRC then fails). The topic name
    // occurs in the Produce request just before the batch, and once more in the response.
    let needle = b"kcat-idem";
    let positions: Vec<usize> = data
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| w == needle)
        .map(|(i, _)| i)
        .collect();
    let request = positions[positions.len() - 2];
    for b in &mut data[request + 160..request + 200] {
        *b ^= 0x5a;
    }
    let out = decode(&["--json", "--port", "9192", "-"], Some(&data));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let bad: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert!(!bad.is_empty());
    for l in &bad {
        let e = &l["error"];
        assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{l}");
        assert_eq!(
            e["offset"].as_u64().unwrap(),
            l["offset"].as_u64().unwrap() + e["frame_offset"].as_u64().unwrap()
        );
    }
    // The frames before and after the damage still decode.
    assert!(lines.len() >= 11, "{}", lines.len());
    assert!(
        text(&out.stderr).contains("at stream offset"),
        "{}",
        text(&out.stderr)
    );
    // The summary and --stats read no record by default, but the batch checksum covers the
    // damaged records: the same frames fail there, with and without --check-records.
    for args in [
        &[][..],
        &["--check-records"],
        &["--stats"],
        &["--stats", "--check-records"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--port", "9192", "-"]);
        let out = decode(&all, Some(&data));
        assert_no_panic(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        if !args.contains(&"--stats") {
            let errors = stdout.lines().filter(|l| l.contains(" ERROR: ")).count();
            assert_eq!(errors, bad.len(), "{args:?}: {stdout}");
            assert!(stdout.contains("checksum mismatch"), "{args:?}: {stdout}");
        }
    }

    // Garbage of every kind: never a panic.
    for junk in [
        &b""[..],
        b"\x0a\x0d\x0d\x0a",
        b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
        &[0x42u8; 10_000][..],
    ] {
        let out = decode(&["--port", "auto", "-"], Some(junk));
        assert_no_panic(&out);
        assert_ne!(out.status.code(), Some(0), "{junk:?}");
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = decode(&["fixtures/no-such-file.pcapng"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no-such-file"),
        "{}",
        text(&out.stderr)
    );
    let out = decode(
        &["--port", "auto", "--port", "9092", "fixtures/manifest.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = decode(&["fixtures/manifest.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a pcap or pcapng"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn broken_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-cli"))
        .args([
            "decode",
            "-v",
            "--port",
            "auto",
            "fixtures/captures/java43-tools-admin.pcapng",
        ])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

const SEGMENT: &str = "fixtures/segments/seg-demo-0/00000000000000000000.log";

#[test]
fn log_segment_matches_kafka_dump_log() {
    let expected =
        std::fs::read_to_string(repo().join("fixtures/segments/seg-demo-0.kafka-dump-log.txt"))
            .unwrap();
    let out = decode(&[SEGMENT], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);
    let forced = decode(&["--log-segment", SEGMENT], None);
    assert_eq!(forced.stdout, out.stdout);
}

#[test]
fn log_segment_json_stats_and_damage() {
    let out = decode(&["--json", SEGMENT], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let batches = json_lines(&out);
    let records: usize = batches
        .iter()
        .map(|b| b["records"].as_array().unwrap().len())
        .sum();
    assert_eq!(records, 83);
    let codecs: Vec<&str> = batches
        .iter()
        .map(|b| b["compression"].as_str().unwrap())
        .collect();
    assert!(
        codecs.contains(&"gzip") && codecs.contains(&"zstd"),
        "{codecs:?}"
    );
    let control: Vec<&Value> = batches.iter().filter(|b| b["control"] == true).collect();
    assert_eq!(control.len(), 3);
    assert_eq!(control[0]["records"][0]["control"]["type"], "COMMIT");
    let headers = batches
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap())
        .find(|r| !r["headers"].as_array().unwrap().is_empty())
        .unwrap();
    assert_eq!(headers["headers"][0]["key"], "h1");
    assert_eq!(headers["headers"][0]["value"], "v1");

    let stats = decode(&["--stats", SEGMENT], None);
    assert!(
        text(&stats.stdout)
            .starts_with("batches: 11 (3 control), records: 83, bytes: 1409, offsets: 0..82"),
        "{}",
        text(&stats.stdout)
    );

    // Truncated copy, read from stdin: what is complete is printed, then exit 1.
    let data = std::fs::read(repo().join(SEGMENT)).unwrap();
    let out = decode(&["--log-segment", "-"], Some(&data[..data.len() - 10]));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("truncated"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).matches("baseOffset:").count(), 10);

    // A flipped byte inside one batch: that batch fails its CRC, the others still print.
    let mut bad = data.clone();
    bad[300] ^= 0xff;
    let out = decode(&["--log-segment", "-"], Some(&bad));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("checksum"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).matches("baseOffset:").count(), 10);

    assert!(Path::new(&repo().join(SEGMENT)).exists());
}
