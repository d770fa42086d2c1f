//! Configuration: typed builders, and Kafka-style string properties with the names users know
//! from the Java client and librdkafka.
//!
//! Every property is parsed by one table per config type; an unknown name or a value that does
//! not parse is a [`KafkaError::Config`] naming the property, never silently ignored (a typo in
//! `linger.ms` would otherwise go unnoticed).

use std::time::Duration;

use kafka_protocol::record::Compression;

use crate::error::{KafkaError, Result};

/// Settings shared by every part of the client (connections, metadata, admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` pairs to ask for the first metadata.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`: sent in every request header (brokers log it and apply quotas by it).
    pub client_id: String,
    /// `request.timeout.ms`: how long one request may wait for its response.
    pub request_timeout: Duration,
    /// `metadata.max.age.ms`: metadata older than this is refreshed even without an error.
    pub metadata_max_age: Duration,
    /// `reconnect.backoff.ms`: first wait before reconnecting to a broker.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`: cap of the exponential reconnect backoff.
    pub reconnect_backoff_max: Duration,
    /// `retry.backoff.ms`: first wait before retrying a failed request.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: cap of the exponential retry backoff (KIP-580).
    pub retry_backoff_max: Duration,
    /// `connections.max.idle.ms`: a connection with nothing in flight for this long is closed.
    pub connections_max_idle: Duration,
    /// `socket.connection.setup.timeout.ms`: limit for TCP connect plus ApiVersions.
    pub connection_setup_timeout: Duration,
    /// `default.api.timeout.ms`: limit of admin and metadata operations that have no own one.
    pub default_api_timeout: Duration,
    /// `allow.auto.create.topics`: whether metadata requests may create topics on brokers with
    /// `auto.create.topics.enable=true`.
    pub allow_auto_create_topics: bool,
    /// `security.protocol`: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: SecurityProtocol,
    /// TLS (`ssl.*`) and SASL (`sasl.*`) settings; see [`crate::security`].
    pub security: crate::security::SecurityConfig,
}

/// How bytes reach the broker (`security.protocol`): TLS and SASL wrap the same framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// Plain TCP.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: Vec::new(),
            client_id: "kafka-rs".into(),
            request_timeout: Duration::from_millis(30_000),
            metadata_max_age: Duration::from_millis(300_000),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(1_000),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1_000),
            connections_max_idle: Duration::from_millis(540_000),
            connection_setup_timeout: Duration::from_millis(10_000),
            default_api_timeout: Duration::from_millis(60_000),
            allow_auto_create_topics: true,
            security_protocol: SecurityProtocol::Plaintext,
            security: crate::security::SecurityConfig::default(),
        }
    }
}

/// Parses a non-negative millisecond count.
fn parse_ms(key: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| KafkaError::config(key, format!("expected milliseconds, got `{value}`")))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(KafkaError::config(
            key,
            format!("expected true or false, got `{value}`"),
        )),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| KafkaError::config(key, format!("expected {what}, got `{value}`")))
}

/// Splits `a:1,b:2` into addresses, checking each has a host and a numeric port.
fn parse_servers(key: &str, value: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ok = s
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            return Err(KafkaError::config(key, format!("`{s}` is not host:port")));
        }
        out.push(s.to_owned());
    }
    if out.is_empty() {
        return Err(KafkaError::config(key, "no servers given"));
    }
    Ok(out)
}

impl ClientConfig {
    /// A config with defaults and the given bootstrap list (`host:port,host:port`).
    ///
    /// An invalid list is reported by [`validate`](Self::validate) (called when a client is
    /// created), so that the builder stays infallible.
    pub fn new(bootstrap: &str) -> Self {
        Self {
            bootstrap_servers: bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            ..Self::default()
        }
    }

    /// Builds a config from `key=value` properties.
    pub fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut c = Self::default();
        for (k, v) in props {
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Sets one property by its Kafka name. Unknown names and unparsable values are errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if !self.try_set(key, value)? {
            return Err(KafkaError::config(key, "unknown property"));
        }
        Ok(())
    }

    /// Sets `key` if it is a client property; `Ok(false)` if the name is not one.
    pub(crate) fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "bootstrap.servers" | "metadata.broker.list" => {
                self.bootstrap_servers = parse_servers(key, value)?
            }
            "client.id" => self.client_id = value.to_owned(),
            "request.timeout.ms" => self.request_timeout = parse_ms(key, value)?,
            "metadata.max.age.ms" => self.metadata_max_age = parse_ms(key, value)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(key, value)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = parse_ms(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(key, value)?,
            "connections.max.idle.ms" => self.connections_max_idle = parse_ms(key, value)?,
            "socket.connection.setup.timeout.ms" => {
                self.connection_setup_timeout = parse_ms(key, value)?
            }
            "default.api.timeout.ms" => self.default_api_timeout = parse_ms(key, value)?,
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(key, value)?,
            "security.protocol" => {
                self.security_protocol = match value.trim().to_ascii_uppercase().as_str() {
                    "PLAINTEXT" => SecurityProtocol::Plaintext,
                    "SSL" => SecurityProtocol::Ssl,
                    "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
                    "SASL_SSL" => SecurityProtocol::SaslSsl,
                    _ => {
                        return Err(KafkaError::config(
                            key,
                            format!("`{value}` is not a security protocol"),
                        ))
                    }
                }
            }
            _ => return self.security.try_set(key, value),
        }
        Ok(true)
    }

    /// Checks the combination of settings.
    pub fn validate(&self) -> Result<()> {
        self.security.validate(self.security_protocol)?;
        if self.bootstrap_servers.is_empty() {
            return Err(KafkaError::config("bootstrap.servers", "no servers given"));
        }
        parse_servers("bootstrap.servers", &self.bootstrap_servers.join(","))?;
        if self.request_timeout.is_zero() {
            return Err(KafkaError::config("request.timeout.ms", "must be positive"));
        }
        if self.reconnect_backoff_max < self.reconnect_backoff {
            return Err(KafkaError::config(
                "reconnect.backoff.max.ms",
                "must not be below reconnect.backoff.ms",
            ));
        }
        Ok(())
    }

    /// Sets `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Sets `request.timeout.ms`.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Sets `metadata.max.age.ms`.
    pub fn metadata_max_age(mut self, t: Duration) -> Self {
        self.metadata_max_age = t;
        self
    }

    /// Sets `reconnect.backoff.ms` and `reconnect.backoff.max.ms`.
    pub fn reconnect_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.reconnect_backoff = first;
        self.reconnect_backoff_max = max;
        self
    }

    /// Sets `connections.max.idle.ms`.
    pub fn connections_max_idle(mut self, t: Duration) -> Self {
        self.connections_max_idle = t;
        self
    }

    /// Sets `socket.connection.setup.timeout.ms`.
    pub fn connection_setup_timeout(mut self, t: Duration) -> Self {
        self.connection_setup_timeout = t;
        self
    }

    /// Sets `default.api.timeout.ms`.
    pub fn default_api_timeout(mut self, t: Duration) -> Self {
        self.default_api_timeout = t;
        self
    }
}

/// `acks`: how many replicas must have a batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `0`: no answer at all; offsets are unknown (-1).
    None,
    /// `1`: the leader has written it.
    Leader,
    /// `all` (`-1`): every in-sync replica has it.
    #[default]
    All,
}

impl Acks {
    /// The value on the wire.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    /// Parses `0`, `1`, `all` or `-1`.
    pub fn parse(value: &str) -> Option<Acks> {
        match value.trim().to_ascii_lowercase().as_str() {
            "0" => Some(Acks::None),
            "1" => Some(Acks::Leader),
            "all" | "-1" => Some(Acks::All),
            _ => None,
        }
    }
}

/// Parses a `compression.type` name.
pub fn parse_compression(value: &str) -> Option<Compression> {
    Compression::ALL
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(value.trim()))
}

/// Producer settings, with the client settings inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// Connection and metadata settings.
    pub client: ClientConfig,
    /// `acks`.
    pub acks: Acks,
    /// `linger.ms`: how long a batch may wait for more records (default 5 since KIP-1030).
    pub linger: Duration,
    /// `batch.size`: bytes a batch may grow to before it is sent.
    pub batch_size: usize,
    /// `max.request.size`: the largest record (and produce request) the producer sends.
    pub max_request_size: usize,
    /// `compression.type`.
    pub compression: Compression,
    /// `enable.idempotence`.
    pub enable_idempotence: bool,
    /// Whether `enable.idempotence` was set explicitly: Java turns idempotence off silently when
    /// a conflicting setting (acks, in-flight) is given without it, and fails when it is set.
    pub idempotence_explicit: bool,
    /// `delivery.timeout.ms`: upper bound from `send` to success or failure, retries included.
    pub delivery_timeout: Duration,
    /// `retries`.
    pub retries: u32,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: usize,
    /// `buffer.memory`: bytes of records waiting to be sent before `send` blocks.
    pub buffer_memory: usize,
    /// `max.block.ms`: how long `send` may wait for metadata or buffer space.
    pub max_block: Duration,
    /// `partitioner.ignore.keys`: use the sticky partitioner even for keyed records.
    pub partitioner_ignore_keys: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            max_request_size: 1_048_576,
            compression: Compression::None,
            enable_idempotence: true,
            idempotence_explicit: false,
            delivery_timeout: Duration::from_millis(120_000),
            retries: i32::MAX as u32,
            max_in_flight: 5,
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_millis(60_000),
            partitioner_ignore_keys: false,
        }
    }
}

impl ProducerConfig {
    /// Defaults with the given bootstrap list.
    pub fn new(bootstrap: &str) -> Self {
        Self {
            client: ClientConfig::new(bootstrap),
            ..Self::default()
        }
    }

    /// Builds a config from `key=value` properties (client and producer names).
    pub fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut c = Self::default();
        for (k, v) in props {
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Sets one property by its Kafka name (client or producer).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if self.client.try_set(key, value)? {
            return Ok(());
        }
        match key {
            "acks" | "request.required.acks" => {
                self.acks = Acks::parse(value).ok_or_else(|| {
                    KafkaError::config(key, format!("expected 0, 1, all or -1, got `{value}`"))
                })?
            }
            "linger.ms" | "queue.buffering.max.ms" => self.linger = parse_ms(key, value)?,
            "batch.size" => self.batch_size = parse_num(key, value, "a byte count")?,
            "max.request.size" => self.max_request_size = parse_num(key, value, "a byte count")?,
            "compression.type" | "compression.codec" => {
                self.compression = parse_compression(value).ok_or_else(|| {
                    KafkaError::config(
                        key,
                        format!("expected none, gzip, snappy, lz4 or zstd, got `{value}`"),
                    )
                })?
            }
            "enable.idempotence" => {
                self.enable_idempotence = parse_bool(key, value)?;
                self.idempotence_explicit = true;
            }
            "delivery.timeout.ms" => self.delivery_timeout = parse_ms(key, value)?,
            "retries" => self.retries = parse_num(key, value, "a count")?,
            "max.in.flight.requests.per.connection" | "max.in.flight" => {
                self.max_in_flight = parse_num(key, value, "a count")?
            }
            "buffer.memory" => self.buffer_memory = parse_num(key, value, "a byte count")?,
            "max.block.ms" => self.max_block = parse_ms(key, value)?,
            "partitioner.ignore.keys" => self.partitioner_ignore_keys = parse_bool(key, value)?,
            _ => return Err(KafkaError::config(key, "unknown property")),
        }
        Ok(())
    }

    /// Checks the combination of settings as the Java producer does, and settles idempotence:
    /// left at its default, it is switched off by settings it cannot work with (acks other
    /// than all, more than 5 in flight, no retries); set explicitly, those are errors.
    pub fn validate(&mut self) -> Result<()> {
        self.client.validate()?;
        if self.max_in_flight == 0 {
            return Err(KafkaError::config(
                "max.in.flight.requests.per.connection",
                "must be at least 1",
            ));
        }
        if self.batch_size == 0 {
            // Java treats 0 as "no batching"; one record per batch is the same here.
            self.batch_size = 1;
        }
        let conflict = if self.acks != Acks::All {
            Some(("acks", "idempotence needs acks=all"))
        } else if self.max_in_flight > 5 {
            Some((
                "max.in.flight.requests.per.connection",
                "idempotence allows at most 5 requests in flight (the broker keeps 5 batches per producer)",
            ))
        } else if self.retries == 0 {
            Some(("retries", "idempotence needs retries > 0"))
        } else {
            None
        };
        if let Some((prop, why)) = conflict {
            if self.enable_idempotence && self.idempotence_explicit {
                return Err(KafkaError::config(prop, why));
            }
            self.enable_idempotence = false;
        }
        let floor = self.linger + self.client.request_timeout;
        if self.delivery_timeout < floor {
            return Err(KafkaError::config(
                "delivery.timeout.ms",
                format!(
                    "must be at least linger.ms + request.timeout.ms ({} ms)",
                    floor.as_millis()
                ),
            ));
        }
        if self.buffer_memory < self.batch_size {
            return Err(KafkaError::config(
                "buffer.memory",
                "must be at least batch.size",
            ));
        }
        Ok(())
    }

    /// Sets `acks`.
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }

    /// Sets `linger.ms`.
    pub fn linger(mut self, t: Duration) -> Self {
        self.linger = t;
        self
    }

    /// Sets `batch.size`.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }

    /// Sets `compression.type`.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Sets `enable.idempotence` explicitly.
    pub fn idempotence(mut self, on: bool) -> Self {
        self.enable_idempotence = on;
        self.idempotence_explicit = true;
        self
    }

    /// Sets `delivery.timeout.ms`.
    pub fn delivery_timeout(mut self, t: Duration) -> Self {
        self.delivery_timeout = t;
        self
    }

    /// Sets `max.block.ms`.
    pub fn max_block(mut self, t: Duration) -> Self {
        self.max_block = t;
        self
    }

    /// Sets `buffer.memory`.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.buffer_memory = bytes;
        self
    }

    /// Sets `max.request.size`.
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_parse_and_name_bad_ones() {
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9092, localhost:9093"),
            ("linger.ms", "20"),
            ("compression.type", "LZ4"),
            ("acks", "1"),
        ])
        .unwrap();
        assert_eq!(c.client.bootstrap_servers.len(), 2);
        assert_eq!(c.linger, Duration::from_millis(20));
        assert_eq!(c.compression, Compression::Lz4);
        // acks=1 without an explicit enable.idempotence switches idempotence off, as in Java.
        assert!(!c.enable_idempotence);

        let e =
            ProducerConfig::from_properties([("bootstrap.servers", "h:1"), ("linger.msx", "1")])
                .unwrap_err();
        assert!(matches!(&e, KafkaError::Config { property, .. } if property == "linger.msx"));
        let e =
            ProducerConfig::from_properties([("bootstrap.servers", "h:1"), ("batch.size", "big")])
                .unwrap_err();
        assert!(e.to_string().contains("batch.size"), "{e}");
        let e = ClientConfig::from_properties([("bootstrap.servers", "nohost")]).unwrap_err();
        assert!(e.to_string().contains("bootstrap.servers"), "{e}");
        let e = ClientConfig::from_properties([("linger.ms", "5")]).unwrap_err();
        assert!(e.to_string().contains("linger.ms"), "{e}");
    }

    #[test]
    fn explicit_idempotence_conflicts_are_errors() {
        let e = ProducerConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("enable.idempotence", "true"),
            ("acks", "0"),
        ])
        .unwrap_err();
        assert!(matches!(&e, KafkaError::Config { property, .. } if property == "acks"));
        let e = ProducerConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("delivery.timeout.ms", "1000"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("delivery.timeout.ms"));
        let ok = ProducerConfig::from_properties([("bootstrap.servers", "h:1")]).unwrap();
        assert!(ok.enable_idempotence);
        assert_eq!(ok.acks, Acks::All);
    }
}
