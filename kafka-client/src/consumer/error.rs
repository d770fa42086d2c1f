//! Typed errors of the consumer and the group consumer.

use kafka_protocol::{DecodeError, ErrorCode};

use super::types::TopicPartition;

/// Everything the consumer reports to its user.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// A configuration property is unknown or its value is invalid.
    #[error("config property `{property}`: {reason}")]
    Config {
        /// The property's name.
        property: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A broker answered with an error code the consumer cannot handle by itself.
    #[error("{context}: broker error {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        /// The code.
        code: ErrorCode,
        /// The broker's message, if any.
        message: Option<String>,
        /// What the request was about.
        context: String,
    },
    /// The fetch position is outside the log and `auto.offset.reset=none` forbids a reset.
    #[error("offset {offset} is out of range for {partition} and auto.offset.reset is none")]
    OffsetOutOfRange {
        /// The partition.
        partition: TopicPartition,
        /// The position that was out of range.
        offset: i64,
    },
    /// The partition has no committed offset and `auto.offset.reset=none`.
    #[error("no committed offset for {0} and auto.offset.reset is none")]
    NoOffsetForPartition(TopicPartition),
    /// Record data from the broker did not decode (CRC mismatch, malformed batch).
    #[error(
        "corrupt record data in {partition} at offset {offset}: {error}; seek past it to continue"
    )]
    CorruptRecord {
        /// The partition.
        partition: TopicPartition,
        /// The position at which decoding failed.
        offset: i64,
        /// The decode error.
        error: DecodeError,
    },
    /// A topic the consumer reads does not exist (any more).
    #[error("topic `{0}` does not exist")]
    UnknownTopic(String),
    /// The partition is not assigned to this consumer.
    #[error("{0} is not assigned to this consumer")]
    NotAssigned(TopicPartition),
    /// A commit could not complete because the group rebalanced or fenced this member; the
    /// partitions may now belong to another member.
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// The member was fenced by the group coordinator (another instance with the same
    /// `group.instance.id`, KIP-345) and must not continue.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The broker's answer breaks the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A request could not be encoded or a response could not be decoded.
    #[error("codec: {0}")]
    Codec(String),
    /// A bad argument to an API call.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The connection layer failed (connection refused, timeout, ...).
    #[error("{0}")]
    Client(String),
    /// An operation did not complete in time.
    #[error("{0} timed out")]
    Timeout(String),
    /// The consumer was closed.
    #[error("consumer closed")]
    Closed,
}

/// The consumer's result type.
pub type Result<T, E = ConsumerError> = std::result::Result<T, E>;

impl ConsumerError {
    /// A config error.
    pub fn config(property: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            property: property.into(),
            reason: reason.into(),
        }
    }

    /// A broker error for `code`.
    pub fn broker(code: ErrorCode, message: Option<String>, context: impl Into<String>) -> Self {
        Self::Broker {
            code,
            message,
            context: context.into(),
        }
    }

    /// The broker error code, if this is a broker error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }
}
