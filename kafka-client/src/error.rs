//! Typed errors of the client.

use std::time::Duration;

use kafka_protocol::{ApiKey, DecodeError, EncodeError, ErrorCode};

/// Everything that can go wrong talking to Kafka.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaError {
    /// A broker answered with an error code.
    #[error("{context}: broker error {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        /// The code, with its name and retriable flag.
        code: ErrorCode,
        /// The broker's error message, if it sent one.
        message: Option<String>,
        /// What the request was about, e.g. `produce to t-0`.
        context: String,
    },
    /// An operation did not complete within its timeout.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        what: String,
        /// The timeout that passed.
        after: Duration,
    },
    /// A TCP connection could not be made or broke.
    #[error("connection to {addr}: {reason}")]
    Connection {
        /// The broker address.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// A response could not be decoded.
    #[error("decoding a response: {0}")]
    Decode(#[from] DecodeError),
    /// A request could not be encoded.
    #[error("encoding a request: {0}")]
    Encode(#[from] EncodeError),
    /// No version of an API is supported by both the broker and this client.
    #[error("broker {broker} supports no version of {api} that this client knows")]
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The broker's address.
        broker: String,
    },
    /// A configuration property is unknown or its value is invalid.
    #[error("config property `{property}`: {reason}")]
    Config {
        /// The property's name.
        property: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The broker's answer breaks the protocol (a missing partition, an unexpected shape).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A record is larger than `max.request.size` or `buffer.memory` allow.
    #[error("record of {size} bytes is larger than {limit} ({property})")]
    RecordTooLarge {
        /// The record's serialized size.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
        /// The property that sets the limit.
        property: &'static str,
    },
    /// A bad argument to an API call (a partition that does not exist, an empty topic name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// SASL authentication failed (wrong password, unknown user, mechanism not enabled). Not
    /// retriable: retrying with the same credentials fails the same way (Java's
    /// `SaslAuthenticationException`).
    #[error("SASL authentication with {addr} failed: {reason}")]
    Authentication {
        /// The broker address.
        addr: String,
        /// Why, as the broker or the mechanism said it (never a credential).
        reason: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong host name, not a TLS listener).
    /// Not retriable (Java's `SslAuthenticationException`).
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        /// The broker address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The client or producer was closed.
    #[error("closed")]
    Closed,
}

/// The client's result type.
pub type Result<T, E = KafkaError> = std::result::Result<T, E>;

impl KafkaError {
    /// A broker error for `code` with a context.
    pub fn broker(code: ErrorCode, message: Option<String>, context: impl Into<String>) -> Self {
        KafkaError::Broker {
            code,
            message,
            context: context.into(),
        }
    }

    /// Returns `Err` for a non-zero error code.
    pub fn check(code: i16, message: Option<&str>, context: impl FnOnce() -> String) -> Result<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(Self::broker(
                ErrorCode(code),
                message.map(str::to_owned),
                context(),
            ))
        }
    }

    /// A config error.
    pub fn config(property: impl Into<String>, reason: impl Into<String>) -> Self {
        KafkaError::Config {
            property: property.into(),
            reason: reason.into(),
        }
    }

    /// The broker error code, if this is a broker error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            KafkaError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether retrying the same operation may succeed: retriable broker codes (as Java
    /// classifies them), timeouts and broken connections.
    pub fn is_retriable(&self) -> bool {
        match self {
            KafkaError::Broker { code, .. } => code.is_retriable(),
            KafkaError::Timeout { .. } | KafkaError::Connection { .. } => true,
            _ => false,
        }
    }

    /// Whether the error means our view of who leads a partition is stale, so metadata should
    /// be refreshed before a retry.
    pub fn invalidates_metadata(&self) -> bool {
        match self {
            KafkaError::Broker { code, .. } => is_metadata_error(*code),
            KafkaError::Connection { .. } | KafkaError::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// Error codes after which the Java client requests a metadata update (its
/// `InvalidMetadataException` subclasses): the leader moved, the topic is not (yet) known, or
/// the broker is not there any more.
pub fn is_metadata_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::LEADER_NOT_AVAILABLE
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_LEADER_EPOCH
            | ErrorCode::UNKNOWN_TOPIC_ID
            | ErrorCode::INCONSISTENT_TOPIC_ID
            | ErrorCode::KAFKA_STORAGE_ERROR
            | ErrorCode::REPLICA_NOT_AVAILABLE
            | ErrorCode::BROKER_NOT_AVAILABLE
            | ErrorCode::LISTENER_NOT_FOUND
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_and_context() {
        let e = KafkaError::broker(
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            Some("moved".into()),
            "produce to t-0",
        );
        assert_eq!(
            e.to_string(),
            "produce to t-0: broker error NOT_LEADER_OR_FOLLOWER (6): moved"
        );
        assert!(e.is_retriable());
        assert!(e.invalidates_metadata());
        let c = KafkaError::config("linger.ms", "not a number: x");
        assert!(c.to_string().contains("`linger.ms`"));
        assert!(!c.is_retriable());
        assert!(KafkaError::check(0, None, || unreachable!()).is_ok());
        assert_eq!(
            KafkaError::check(36, None, || "create t".into())
                .unwrap_err()
                .code(),
            Some(ErrorCode::TOPIC_ALREADY_EXISTS)
        );
    }
}
