//! [`Client`]: the shared handle over connections and cluster metadata that the producer, the
//! admin client and the consumer are built on.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::MetadataRequest;
use kafka_protocol::{ErrorCode, Request};
use tracing::{debug, warn};

use crate::config::ClientConfig;
use crate::conn::ThrottleTime;
use crate::error::{KafkaError, Result};
use crate::metadata::{Cluster, TopicInfo};
use crate::net::{Backoff, BrokerConnection, BrokerPool};

/// A handle to a Kafka cluster: one connection per broker, shared metadata. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    pool: BrokerPool,
    bootstrap_ids: Vec<i32>,
    cluster: RwLock<Arc<Cluster>>,
    /// Bumped with every new cluster snapshot, so hot paths can keep what they looked up and
    /// notice when it may be stale without taking the lock.
    generation: AtomicU64,
    /// Serializes metadata refreshes so that a burst of errors causes one request, not many.
    refresh_lock: tokio::sync::Mutex<()>,
    /// Set after a metadata error: the next `maybe_refresh` asks the cluster again.
    stale: AtomicBool,
    /// Topics users of this client care about; refreshes ask for these.
    interest: Mutex<BTreeSet<String>>,
}

impl Client {
    /// Validates the config, connects to a bootstrap server and fetches the cluster's brokers,
    /// all within `default.api.timeout.ms`.
    pub async fn connect(config: ClientConfig) -> Result<Client> {
        let client = Client::new(config)?;
        let timeout = client.inner.config.default_api_timeout;
        client.bootstrap(timeout).await?;
        let weak = Arc::downgrade(&client.inner);
        tokio::spawn(refresh_on_age(weak));
        Ok(client)
    }

    /// A client that has not talked to the cluster yet (no I/O until the first request).
    pub fn new(config: ClientConfig) -> Result<Client> {
        config.validate()?;
        let pool = BrokerPool::new(config.clone());
        let mut bootstrap_ids = Vec::new();
        for (i, addr) in config.bootstrap_servers.iter().enumerate() {
            let id = -(i as i32) - 1;
            pool.set_address(id, addr);
            bootstrap_ids.push(id);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                pool,
                bootstrap_ids,
                cluster: RwLock::new(Arc::new(Cluster::default())),
                generation: AtomicU64::new(0),
                refresh_lock: tokio::sync::Mutex::new(()),
                stale: AtomicBool::new(true),
                interest: Mutex::new(BTreeSet::new()),
            }),
        })
    }

    async fn bootstrap(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last: Option<KafkaError> = None;
        let mut backoff = Backoff::new(
            self.inner.config.reconnect_backoff,
            self.inner.config.reconnect_backoff_max,
        );
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.refresh_metadata(Some(&[]))).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) if e.is_retriable() => last = Some(e),
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
            backoff.fail();
            let wait = backoff
                .delay()
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(wait).await;
        }
        Err(KafkaError::Timeout {
            what: format!(
                "bootstrap from {} (last error: {})",
                self.inner.config.bootstrap_servers.join(","),
                last.map_or_else(|| "none".to_string(), |e| e.to_string())
            ),
            after: timeout,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Changes whenever [`cluster`](Self::cluster) would return a new snapshot. Read it before
    /// the snapshot: an equal value later means nothing newer was installed since.
    pub fn cluster_generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The latest metadata snapshot.
    pub fn cluster(&self) -> Arc<Cluster> {
        self.inner.cluster.read().expect("cluster lock").clone()
    }

    /// The connection to a broker node, made if needed.
    pub async fn connection(&self, node: i32) -> Result<Arc<BrokerConnection>> {
        if self.inner.pool.address(node).is_none() {
            let cluster = self.cluster();
            let b = cluster.brokers.get(&node).ok_or_else(|| {
                KafkaError::InvalidArgument(format!("broker {node} is not in the metadata"))
            })?;
            self.inner.pool.set_address(node, &b.addr());
        }
        self.inner.pool.get(node).await
    }

    /// Sends `req` to a node at the highest version both sides support.
    pub async fn send_to<R: Request>(&self, node: i32, req: &R) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        let conn = self.connection(node).await?;
        conn.send(req).await
    }

    /// Builds the request for the negotiated version (for requests whose fields depend on it)
    /// and sends it to a node.
    pub async fn send_to_with<R: Request>(
        &self,
        node: i32,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        let conn = self.connection(node).await?;
        let version = conn.version_of::<R>()?;
        conn.send_versioned(&build(version), version).await
    }

    /// Sends `req` to any reachable broker (for cluster-wide requests: metadata, create topics).
    pub async fn send_any<R: Request + Clone>(&self, req: &R) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        self.send_any_with(|_| req.clone()).await
    }

    /// As [`send_any`](Self::send_any), building the request for the negotiated version.
    pub async fn send_any_with<R: Request>(&self, build: impl Fn(i16) -> R) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        let mut last = None;
        for node in self.candidate_nodes() {
            let conn = match self.connection(node).await {
                Ok(c) => c,
                Err(e) => {
                    debug!(node, error = %e, "broker unreachable, trying the next");
                    last = Some(e);
                    continue;
                }
            };
            let version = conn.version_of::<R>()?;
            match conn.send_versioned(&build(version), version).await {
                Err(e @ KafkaError::Connection { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| KafkaError::Connection {
            addr: self.inner.config.bootstrap_servers.join(","),
            reason: "no broker known".into(),
        }))
    }

    /// Nodes to try for a cluster-wide request: connected ones first (no connect cost), then
    /// known brokers not backing off, then the rest, then the bootstrap list (as Java's
    /// `leastLoadedNode`, which also falls back to bootstrap servers, KIP-899).
    fn candidate_nodes(&self) -> Vec<i32> {
        let cluster = self.cluster();
        let mut connected: Vec<i32> = self
            .inner
            .pool
            .connected_nodes()
            .into_iter()
            .filter(|n| cluster.brokers.contains_key(n) || (cluster.brokers.is_empty() && *n < 0))
            .collect();
        fastrand::shuffle(&mut connected);
        let mut known: Vec<i32> = cluster.brokers.keys().copied().collect();
        fastrand::shuffle(&mut known);
        known.sort_by_key(|n| self.inner.pool.is_backing_off(*n));
        let mut out = connected;
        for n in known
            .into_iter()
            .chain(self.inner.bootstrap_ids.iter().copied())
        {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Adds topics to the set that metadata refreshes ask for.
    pub fn add_interest<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let mut set = self.inner.interest.lock().expect("interest lock");
        for t in topics {
            if !set.contains(t) {
                set.insert(t.to_owned());
            }
        }
    }

    /// Marks metadata as stale (after NOT_LEADER_OR_FOLLOWER and similar errors): the next
    /// [`maybe_refresh`](Self::maybe_refresh) fetches it.
    pub fn invalidate_metadata(&self) {
        self.inner.stale.store(true, Ordering::Release);
    }

    /// Whether metadata was invalidated since the last refresh.
    pub fn metadata_is_stale(&self) -> bool {
        self.inner.stale.load(Ordering::Acquire)
    }

    /// Refreshes metadata for the topics of interest if it was invalidated or is older than
    /// `metadata.max.age.ms`.
    pub async fn maybe_refresh(&self) -> Result<Arc<Cluster>> {
        let cluster = self.cluster();
        let old = cluster
            .updated_at
            .is_none_or(|t| t.elapsed() >= self.inner.config.metadata_max_age);
        if old || self.inner.stale.load(Ordering::Acquire) {
            self.refresh_interest().await
        } else {
            Ok(cluster)
        }
    }

    /// Fetches metadata for the topics of interest.
    pub async fn refresh_interest(&self) -> Result<Arc<Cluster>> {
        let topics: Vec<String> = self
            .inner
            .interest
            .lock()
            .expect("interest lock")
            .iter()
            .cloned()
            .collect();
        self.refresh_metadata(Some(&topics)).await
    }

    /// Fetches metadata for `topics` (`None`: every topic) and merges it into the cache.
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<Arc<Cluster>> {
        let before = self.cluster().updated_at;
        let _guard = self.inner.refresh_lock.lock().await;
        // Someone else refreshed while we waited for the lock: their answer is as fresh as ours
        // would be, if it covered our topics.
        let now_cluster = self.cluster();
        if now_cluster.updated_at != before && !self.inner.stale.load(Ordering::Acquire) {
            if let Some(ts) = topics {
                if ts.iter().all(|t| now_cluster.topics.contains_key(t)) {
                    return Ok(now_cluster);
                }
            }
        }
        self.inner.stale.store(false, Ordering::Release);
        let auto_create = self.inner.config.allow_auto_create_topics;
        let owned: Option<Vec<String>> = topics.map(<[String]>::to_vec);
        let result = self
            .send_any_with(|version| MetadataRequest {
                topics: match (&owned, version) {
                    (None, 0) => Some(vec![]),
                    (None, _) => None,
                    (Some(ts), _) => Some(
                        ts.iter()
                            .map(|t| MetadataRequestTopic {
                                name: Some(t.clone().into()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                },
                allow_auto_topic_creation: auto_create,
                ..Default::default()
            })
            .await;
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                self.inner.stale.store(true, Ordering::Release);
                return Err(e);
            }
        };
        if resp.error_code != 0 {
            // Metadata v13 (KIP-1102): REBOOTSTRAP_REQUIRED and friends at the top level.
            self.inner.stale.store(true, Ordering::Release);
            return Err(KafkaError::broker(
                ErrorCode(resp.error_code),
                None,
                "metadata request",
            ));
        }
        let mut guard = self.inner.cluster.write().expect("cluster lock");
        let updated = Arc::new(guard.apply(&resp, topics, Instant::now()));
        *guard = updated.clone();
        self.inner.generation.fetch_add(1, Ordering::Release);
        drop(guard);
        for b in updated.brokers.values() {
            self.inner.pool.set_address(b.node_id, &b.addr());
        }
        self.inner
            .pool
            .retain(|id| updated.brokers.contains_key(&id));
        Ok(updated)
    }

    /// The metadata of `topic`, waiting up to `timeout` for it to appear (a topic being
    /// auto-created has no leaders for a moment). Fails with the broker's topic error
    /// (`UNKNOWN_TOPIC_OR_PARTITION`, ...) when the time is up.
    pub async fn topic(&self, topic: &str, timeout: Duration) -> Result<Arc<TopicInfo>> {
        if topic.is_empty() {
            return Err(KafkaError::InvalidArgument("empty topic name".into()));
        }
        self.add_interest([topic]);
        let deadline = Instant::now() + timeout;
        let mut backoff = Backoff::new(
            self.inner.config.retry_backoff,
            self.inner.config.retry_backoff_max,
        );
        let mut last_err: Option<KafkaError> = None;
        loop {
            let cluster = self.cluster();
            if let Some(t) = cluster.topic(topic) {
                if !t.partitions.is_empty() && t.partitions.iter().all(|p| p.leader >= 0) {
                    return Ok(t.clone());
                }
            }
            if let Some(code) = cluster.topic_errors.get(topic) {
                if !code.is_retriable() && *code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                    return Err(KafkaError::broker(*code, None, format!("topic {topic}")));
                }
                last_err = Some(KafkaError::broker(*code, None, format!("topic {topic}")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let what = format!("waiting for metadata of topic {topic}");
                return Err(match last_err {
                    Some(KafkaError::Broker { code, message, .. }) => KafkaError::Broker {
                        code,
                        message,
                        context: format!(
                            "topic {topic} not present in metadata after {} ms",
                            timeout.as_millis()
                        ),
                    },
                    Some(e) => KafkaError::Timeout {
                        what: format!("{what} (last error: {e})"),
                        after: timeout,
                    },
                    None => KafkaError::Timeout {
                        what,
                        after: timeout,
                    },
                });
            }
            if backoff.failures() > 0 {
                tokio::time::sleep(backoff.delay().min(left)).await;
            }
            backoff.fail();
            let t = [topic.to_owned()];
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.refresh_metadata(Some(&t))).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.is_retriable() => last_err = Some(e),
                Ok(Err(e)) => return Err(e),
                Err(_) => {}
            }
        }
    }
}

/// Refreshes metadata of the topics of interest once it is older than `metadata.max.age.ms`,
/// so that leader moves are noticed even without errors. Ends with the client.
async fn refresh_on_age(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let age = strong.config.metadata_max_age;
        let client = Client { inner: strong };
        let wait = client
            .cluster()
            .updated_at
            .map_or(Duration::ZERO, |t| age.saturating_sub(t.elapsed()));
        drop(client);
        tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let client = Client { inner: strong };
        if let Err(e) = client.maybe_refresh().await {
            warn!(error = %e, "periodic metadata refresh failed");
        }
    }
}
