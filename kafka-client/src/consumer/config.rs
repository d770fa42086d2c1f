//! Consumer and group settings, by the property names of the Java client.
//!
//! Every property is parsed here; an unknown value is a [`ConsumerError::Config`] naming the
//! property. The defaults are the Java client's (4.x).

use std::time::Duration;

use super::error::{ConsumerError, Result};
use super::group::assignor::AssignorKind;

/// `auto.offset.reset`: where to start when there is no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// The log start offset.
    Earliest,
    /// The log end offset (Java's default).
    #[default]
    Latest,
    /// Fail with an error instead.
    None,
}

impl OffsetReset {
    /// Parses `earliest`, `latest` or `none` (librdkafka's `smallest`/`beginning` and
    /// `largest`/`end` are accepted too).
    pub fn parse(v: &str) -> Option<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "earliest" | "smallest" | "beginning" => Some(Self::Earliest),
            "latest" | "largest" | "end" => Some(Self::Latest),
            "none" | "error" => Some(Self::None),
            _ => None,
        }
    }
}

/// `isolation.level` (KIP-98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every record up to the high watermark, aborted transactions included.
    #[default]
    ReadUncommitted,
    /// Only records up to the last stable offset, aborted transactions filtered out.
    ReadCommitted,
}

impl IsolationLevel {
    /// The wire value of the `IsolationLevel` field of Fetch and ListOffsets.
    pub fn wire(self) -> i8 {
        match self {
            Self::ReadUncommitted => 0,
            Self::ReadCommitted => 1,
        }
    }
}

/// `group.protocol`: the classic JoinGroup/SyncGroup protocol or the consumer protocol of
/// KIP-848 (ConsumerGroupHeartbeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupProtocol {
    /// JoinGroup, SyncGroup, Heartbeat (the Java client's default).
    #[default]
    Classic,
    /// ConsumerGroupHeartbeat with server-side assignment (KIP-848).
    Consumer,
}

/// Fetch settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// `fetch.min.bytes`: the broker waits until this much data is ready (or the wait ends).
    pub min_bytes: i32,
    /// `fetch.max.wait.ms`: the longest the broker holds a fetch waiting for `min_bytes`.
    pub max_wait: Duration,
    /// `fetch.max.bytes`: the most data one fetch response may carry (KIP-74).
    pub max_bytes: i32,
    /// `max.partition.fetch.bytes`: the most data per partition in one response.
    pub max_partition_bytes: i32,
    /// `isolation.level`.
    pub isolation: IsolationLevel,
    /// `auto.offset.reset`.
    pub auto_offset_reset: OffsetReset,
    /// `check.crcs`: verify the CRC32C of every batch.
    pub check_crcs: bool,
    /// `queued.max.messages.kbytes` (librdkafka's name; the Java client has no such bound):
    /// fetched data held in memory, not yet handed to the application. No fetch is sent while
    /// the buffer is above it.
    pub max_buffered_bytes: usize,
    /// `max.poll.records`: the most records one `poll` returns.
    pub max_poll_records: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            min_bytes: 1,
            max_wait: Duration::from_millis(500),
            max_bytes: 52_428_800,
            max_partition_bytes: 1_048_576,
            isolation: IsolationLevel::ReadUncommitted,
            auto_offset_reset: OffsetReset::Latest,
            check_crcs: true,
            max_buffered_bytes: 64 << 20,
            max_poll_records: 500,
        }
    }
}

/// Group membership and offset commit settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: Option<String>,
    /// `group.instance.id`: static membership (KIP-345).
    pub group_instance_id: Option<String>,
    /// `group.protocol`.
    pub protocol: GroupProtocol,
    /// `session.timeout.ms` (classic protocol; the consumer protocol takes it from the broker).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (classic protocol).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`: sent as the rebalance timeout.
    pub rebalance_timeout: Duration,
    /// `partition.assignment.strategy` (classic protocol), in preference order.
    pub assignors: Vec<AssignorKind>,
    /// `group.remote.assignor` (consumer protocol): the broker-side assignor, or the broker's
    /// default when unset.
    pub remote_assignor: Option<String>,
    /// `enable.auto.commit`.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval: Duration,
    /// `client.rack`: sent in subscriptions (KIP-881) and heartbeats.
    pub client_rack: Option<String>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            group_id: None,
            group_instance_id: None,
            protocol: GroupProtocol::Classic,
            session_timeout: Duration::from_millis(45_000),
            heartbeat_interval: Duration::from_millis(3_000),
            rebalance_timeout: Duration::from_millis(300_000),
            assignors: vec![AssignorKind::Range, AssignorKind::CooperativeSticky],
            remote_assignor: None,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_millis(5_000),
            client_rack: None,
        }
    }
}

fn parse_ms(key: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| ConsumerError::config(key, format!("expected milliseconds, got `{value}`")))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConsumerError::config(
            key,
            format!("expected true or false, got `{value}`"),
        )),
    }
}

fn parse_positive_i32(key: &str, value: &str) -> Result<i32> {
    match value.trim().parse::<i32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConsumerError::config(
            key,
            format!("expected a positive 32-bit number, got `{value}`"),
        )),
    }
}

fn non_empty(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

impl FetchConfig {
    /// Sets `key` if it is a fetch property; `Ok(false)` if the name is not one.
    pub fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "fetch.min.bytes" => self.min_bytes = parse_positive_i32(key, value)?,
            "fetch.max.wait.ms" => self.max_wait = parse_ms(key, value)?,
            "fetch.max.bytes" => self.max_bytes = parse_positive_i32(key, value)?,
            "max.partition.fetch.bytes" => {
                self.max_partition_bytes = parse_positive_i32(key, value)?
            }
            "isolation.level" => {
                self.isolation = match value.trim().to_ascii_lowercase().as_str() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => {
                        return Err(ConsumerError::config(
                            key,
                            format!("expected read_committed or read_uncommitted, got `{value}`"),
                        ))
                    }
                }
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = OffsetReset::parse(value).ok_or_else(|| {
                    ConsumerError::config(
                        key,
                        format!("expected earliest, latest or none, got `{value}`"),
                    )
                })?
            }
            "check.crcs" => self.check_crcs = parse_bool(key, value)?,
            "queued.max.messages.kbytes" => {
                self.max_buffered_bytes = parse_positive_i32(key, value)? as usize * 1024
            }
            "max.poll.records" => self.max_poll_records = parse_positive_i32(key, value)? as usize,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the combination of settings.
    pub fn validate(&self) -> Result<()> {
        if self.max_wait > Duration::from_millis(i32::MAX as u64) {
            return Err(ConsumerError::config("fetch.max.wait.ms", "too large"));
        }
        Ok(())
    }
}

impl GroupConfig {
    /// Sets `key` if it is a group property; `Ok(false)` if the name is not one.
    pub fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "group.id" => self.group_id = non_empty(value),
            "group.instance.id" => self.group_instance_id = non_empty(value),
            "group.protocol" => {
                self.protocol = match value.trim().to_ascii_lowercase().as_str() {
                    "classic" => GroupProtocol::Classic,
                    "consumer" => GroupProtocol::Consumer,
                    _ => {
                        return Err(ConsumerError::config(
                            key,
                            format!("expected classic or consumer, got `{value}`"),
                        ))
                    }
                }
            }
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.rebalance_timeout = parse_ms(key, value)?,
            "partition.assignment.strategy" => {
                let mut list = Vec::new();
                for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    list.push(AssignorKind::parse(name).ok_or_else(|| {
                        ConsumerError::config(
                            key,
                            format!(
                                "unknown assignor `{name}` (range, roundrobin, cooperative-sticky)"
                            ),
                        )
                    })?);
                }
                if list.is_empty() {
                    return Err(ConsumerError::config(key, "no assignor given"));
                }
                self.assignors = list;
            }
            "group.remote.assignor" => self.remote_assignor = non_empty(value),
            "enable.auto.commit" => self.enable_auto_commit = parse_bool(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(key, value)?,
            "client.rack" => self.client_rack = non_empty(value),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the combination of settings, as the Java client does at construction.
    pub fn validate(&self) -> Result<()> {
        if self.protocol == GroupProtocol::Classic
            && self.heartbeat_interval >= self.session_timeout
        {
            return Err(ConsumerError::config(
                "heartbeat.interval.ms",
                "must be lower than session.timeout.ms",
            ));
        }
        if self.group_instance_id.is_some() && self.group_id.is_none() {
            return Err(ConsumerError::config(
                "group.instance.id",
                "requires group.id",
            ));
        }
        Ok(())
    }
}

/// All consumer-specific settings (the connection settings live in the client config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerConfig {
    /// Fetch settings.
    pub fetch: FetchConfig,
    /// Group settings.
    pub group: GroupConfig,
}

impl ConsumerConfig {
    /// Sets `key` if it is a consumer property; `Ok(false)` if the name is not one.
    pub fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        Ok(self.fetch.try_set(key, value)? || self.group.try_set(key, value)?)
    }

    /// Sets one property; an unknown name is an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if self.try_set(key, value)? {
            Ok(())
        } else {
            Err(ConsumerError::config(key, "unknown property"))
        }
    }

    /// Checks the combination of settings.
    pub fn validate(&self) -> Result<()> {
        self.fetch.validate()?;
        self.group.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_defaults_and_parsing() {
        let mut c = ConsumerConfig::default();
        assert_eq!(c.fetch.max_bytes, 52_428_800);
        assert_eq!(
            c.group.assignors,
            vec![AssignorKind::Range, AssignorKind::CooperativeSticky]
        );
        c.set("isolation.level", "read_committed").unwrap();
        c.set("auto.offset.reset", "earliest").unwrap();
        c.set(
            "partition.assignment.strategy",
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor,roundrobin",
        )
        .unwrap();
        c.set("group.protocol", "consumer").unwrap();
        assert_eq!(c.fetch.isolation, IsolationLevel::ReadCommitted);
        assert_eq!(c.fetch.auto_offset_reset, OffsetReset::Earliest);
        assert_eq!(
            c.group.assignors,
            vec![AssignorKind::CooperativeSticky, AssignorKind::RoundRobin]
        );
        assert_eq!(c.group.protocol, GroupProtocol::Consumer);
        assert!(c.set("auto.offset.reset", "sometimes").is_err());
        assert!(c
            .set("partition.assignment.strategy", "sticky-ish")
            .is_err());
        assert!(c.set("no.such.thing", "1").is_err());
        assert!(c.set("fetch.min.bytes", "-3").is_err());
    }

    #[test]
    fn validation_catches_bad_combinations() {
        let mut c = ConsumerConfig::default();
        c.set("heartbeat.interval.ms", "50000").unwrap();
        assert!(c.validate().is_err());
        let mut c = ConsumerConfig::default();
        c.set("group.instance.id", "i1").unwrap();
        assert!(c.validate().is_err());
        c.set("group.id", "g").unwrap();
        c.validate().unwrap();
    }
}
