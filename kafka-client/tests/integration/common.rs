//! Shared helpers: the broker, unique topic names, the Java tools.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use kafka_client::{Client, ClientConfig};

/// The single-node broker's bootstrap address.
pub const BOOTSTRAP: &str = "127.0.0.1:9092";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Starts the single-node broker once per test binary (`up` is idempotent, and returns at once
/// when it already runs). If a three-node cluster runs instead, `up` refuses: then the
/// single-node tests cannot run, which is an error worth seeing.
pub fn broker() -> &'static str {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        let out = Command::new(repo().join("scripts/kafka"))
            .arg("up")
            .output()
            .expect("run scripts/kafka up");
        assert!(
            out.status.success(),
            "scripts/kafka up failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    BOOTSTRAP
}

/// A topic name no other test (or earlier run) uses.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// A connected client to the single-node broker.
pub async fn client() -> Client {
    let config = ClientConfig::new(broker())
        .client_id("kafka-rs-it")
        .default_api_timeout(Duration::from_secs(30));
    Client::connect(config).await.expect("connect to broker")
}

/// Polls `check` until it returns `Some` or 10 s pass: metadata reaches brokers a moment after
/// the controller accepted a change (Java's admin client has the same lag).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
