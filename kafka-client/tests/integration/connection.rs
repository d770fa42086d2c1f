//! Connections, version negotiation and metadata against the real broker.

use std::time::{Duration, Instant};

use kafka_client::{Client, ClientConfig, KafkaError};
use kafka_protocol::generated::{ApiVersionsRequest, MetadataRequest};
use kafka_protocol::ApiKey;

use crate::common;

#[tokio::test]
async fn negotiates_versions_and_pipelines() {
    let client = common::client().await;
    let cluster = client.cluster();
    assert_eq!(cluster.brokers.len(), 1, "{cluster:?}");
    let node = *cluster.brokers.keys().next().unwrap();
    let conn = client.connection(node).await.unwrap();
    // A 4.x broker: Produce 3..=13 (notes/real-kafka.md); we pick the highest common one.
    let (lo, hi) = conn.versions().broker_range(ApiKey::PRODUCE).unwrap();
    assert!(lo <= 3 && hi >= 12, "{lo}..{hi}");
    assert!(conn.versions().negotiate(ApiKey::METADATA).unwrap() >= 12);
    // 50 requests in flight at once on one connection, matched by correlation id.
    let futs: Vec<_> = (0..50)
        .map(|i| {
            let conn = conn.clone();
            async move {
                if i % 2 == 0 {
                    conn.send(&MetadataRequest::default())
                        .await
                        .map(|r| r.brokers.len())
                } else {
                    conn.send(&ApiVersionsRequest {
                        client_software_name: "it".into(),
                        client_software_version: "1".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.api_keys.len())
                }
            }
        })
        .collect();
    for (i, r) in futures_join(futs).await.into_iter().enumerate() {
        let n = r.unwrap();
        if i % 2 == 0 {
            assert_eq!(n, 1);
        } else {
            assert!(n > 20, "{n} API keys");
        }
    }
}

async fn futures_join<F>(futs: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn unreachable_bootstrap_fails_within_timeout() {
    // Port 1 on loopback: connection refused at once; the client keeps retrying with backoff
    // until default.api.timeout.ms and then names the servers and the last error.
    let config = ClientConfig::new("127.0.0.1:1").default_api_timeout(Duration::from_secs(2));
    let start = Instant::now();
    let err = Client::connect(config).await.unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(matches!(err, KafkaError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn metadata_for_unknown_topic_without_auto_create() {
    common::broker();
    let mut config = ClientConfig::new(common::BOOTSTRAP);
    config.allow_auto_create_topics = false;
    let client = Client::connect(config).await.unwrap();
    let start = Instant::now();
    let err = client
        .topic(
            &common::unique_topic("missing"),
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(4));
    assert_eq!(
        err.code(),
        Some(kafka_protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
        "{err}"
    );
    assert!(err.to_string().contains("not present in metadata"), "{err}");
}

#[tokio::test]
async fn idle_connections_close_and_reconnect() {
    common::broker();
    let config =
        ClientConfig::new(common::BOOTSTRAP).connections_max_idle(Duration::from_millis(300));
    let client = Client::connect(config).await.unwrap();
    let node = *client.cluster().brokers.keys().next().unwrap();
    let conn = client.connection(node).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(conn.is_closed(), "closed after connections.max.idle.ms");
    // The next request reconnects transparently.
    let r = client
        .send_to(node, &MetadataRequest::default())
        .await
        .unwrap();
    assert_eq!(r.brokers.len(), 1);
}
