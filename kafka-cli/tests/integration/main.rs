//! Runs the built `kafka-cli` against the real broker (`scripts/kafka up`, idempotent).

mod decode;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const BOOTSTRAP: &str = "127.0.0.1:9092";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn broker() {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        let out = Command::new(repo().join("scripts/kafka"))
            .arg("up")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

fn cli(args: &[&str], stdin: &str) -> Output {
    broker();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-cli"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), n % 1_000_000_000)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn topics_produce_metadata_round_trip() {
    let topic = unique("cli");
    let out = cli(
        &["topics", "create", &topic, "-p", "2", "-b", BOOTSTRAP],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = cli(&["topics", "create", &topic, "-b", BOOTSTRAP], "");
    assert_eq!(
        again.status.code(),
        Some(1),
        "already exists is a failure of the command"
    );
    assert!(text(&again.stderr).contains("TOPIC_ALREADY_EXISTS"));

    let out = cli(
        &[
            "produce", "-b", BOOTSTRAP, "-t", &topic, "-K", ":", "-H", "a=b", "-z", "zstd",
            "--acks", "all",
        ],
        "k1:v1\nk2:v2\nno key here\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("produced 3 of 3 records"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(&["topics", "describe", &topic], "");
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("partitions 2"),
        "{}",
        text(&out.stdout)
    );

    let out = cli(&["metadata", "--json", "-t", &topic], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["topics"][0]["name"], topic.as_str());
    assert_eq!(v["topics"][0]["partitions"].as_array().unwrap().len(), 2);

    let out = cli(&["topics", "list"], "");
    assert!(text(&out.stdout).lines().any(|l| l == topic));

    let out = cli(&["topics", "delete", &topic], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn bench_produce_reports_throughput() {
    let topic = unique("cli-bench");
    let out = cli(
        &[
            "bench", "produce", "-t", &topic, "-n", "20000", "-s", "100", "-z", "lz4", "--acks",
            "all", "-p", "3", "--json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 20000);
    assert_eq!(v["failed"], 0);
    assert!(v["records_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["latency_ms"]["p99"].as_f64().unwrap() >= v["latency_ms"]["p50"].as_f64().unwrap());
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let out = cli(&["produce", "-t", "x", "-X", "linger.msx=4"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("linger.msx"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(
        &[
            "metadata",
            "-b",
            "127.0.0.1:1",
            "-X",
            "default.api.timeout.ms=500",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("127.0.0.1:1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn broken_pipe_exits_quietly() {
    broker();
    // `topics list | head -0`: stdout closed before we write.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-cli"))
        .args(["topics", "list", "--internal"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}
