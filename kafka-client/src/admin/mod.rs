//! The admin client: topics, partitions, cluster, configs, offsets, records.
//!
//! Every operation retries retriable errors (leader moves, a controller election, a broker
//! restarting) with backoff until `default.api.timeout.ms`, refreshing metadata after errors that
//! mean it is stale, as the Java `Admin` does.

mod configs;
mod offsets;
mod topics;

use std::future::Future;
use std::time::Instant;

use tracing::debug;

pub use configs::{AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource};
pub use offsets::{ListedOffset, OffsetSpec};
pub use topics::{ClusterDescription, NewTopic};

use crate::client::Client;
use crate::config::ClientConfig;
use crate::error::{KafkaError, Result};
use crate::net::Backoff;

/// Administrative operations over a [`Client`].
#[derive(Debug, Clone)]
pub struct Admin {
    client: Client,
}

impl Admin {
    /// An admin client sharing `client`'s connections and metadata.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Connects a new client and wraps it.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        Ok(Self::new(Client::connect(config).await?))
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or
    /// `default.api.timeout.ms` passes.
    async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let timeout = self.client.config().default_api_timeout;
        let deadline = Instant::now() + timeout;
        let mut backoff = Backoff::new(
            self.client.config().retry_backoff,
            self.client.config().retry_backoff_max,
        );
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let err = match tokio::time::timeout(left, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if e.is_retriable() => e,
                Ok(Err(e)) => return Err(e),
                Err(_) => KafkaError::Timeout {
                    what: what.to_owned(),
                    after: timeout,
                },
            };
            debug!(what, error = %err, "retrying admin operation");
            if err.invalidates_metadata() {
                self.client.invalidate_metadata();
            }
            backoff.fail();
            let wait = backoff.delay();
            if Instant::now() + wait >= deadline {
                return Err(match err {
                    e @ KafkaError::Timeout { .. } => e,
                    e => KafkaError::Timeout {
                        what: format!("{what} (last error: {e})"),
                        after: timeout,
                    },
                });
            }
            tokio::time::sleep(wait).await;
            if self.client.maybe_refresh().await.is_err() {
                // The next attempt reports the real problem.
            }
        }
    }
}
