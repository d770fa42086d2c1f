//! TLS and SASL: the settings users know from the Java client and librdkafka, the TLS
//! handshake ([`tls`]) and the SASL exchange ([`sasl`]) of each connection.
//!
//! `security.protocol` picks the layers: `PLAINTEXT` (none), `SSL` (TLS), `SASL_PLAINTEXT`
//! (SASL over TCP), `SASL_SSL` (SASL over TLS). Secrets (passwords, inline private keys,
//! OAUTHBEARER tokens) are held in [`Password`], whose `Debug` prints a placeholder, so a
//! `{:?}` of a config, a log line or an error never shows one.

mod jaas;
mod password;
pub mod sasl;
pub mod tls;

use std::sync::Arc;

pub use password::Password;
pub use sasl::{
    OAuthBearerToken, OAuthBearerTokenProvider, SaslConfig, SaslMechanism, TokenFuture,
};
pub use tls::{PemSource, TlsConfig};

use crate::config::{ClientConfig, SecurityProtocol};
use crate::error::{KafkaError, Result};

/// The `ssl.*` and `sasl.*` settings of a client.
#[derive(Clone, Default)]
pub struct SecurityConfig {
    /// TLS settings, used by `SSL` and `SASL_SSL`.
    pub tls: TlsConfig,
    /// SASL settings, used by `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: SaslConfig,
    /// The rustls config built from `tls` (files read once per client, not per connection).
    cache: tls::Cache,
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // TlsConfig and SaslConfig redact their secrets themselves.
        f.debug_struct("SecurityConfig")
            .field("tls", &self.tls)
            .field("sasl", &self.sasl)
            .finish()
    }
}

impl PartialEq for SecurityConfig {
    fn eq(&self, other: &Self) -> bool {
        self.tls == other.tls && self.sasl == other.sasl
    }
}

impl Eq for SecurityConfig {}

impl SecurityProtocol {
    /// Whether the connection is TLS (`SSL`, `SASL_SSL`).
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether the connection authenticates with SASL (`SASL_PLAINTEXT`, `SASL_SSL`).
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// The property value (`SASL_SSL`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl SecurityConfig {
    /// Sets `key` if it is an `ssl.*` or `sasl.*` property; `Ok(false)` if the name is not one.
    pub fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        if self.tls.try_set(key, value)? {
            return Ok(true);
        }
        self.sasl.try_set(key, value)
    }

    /// Checks the settings `protocol` needs, and loads the TLS files (so that a missing CA file
    /// is reported when the client is made, not at the first connection).
    pub fn validate(&self, protocol: SecurityProtocol) -> Result<()> {
        if protocol.uses_sasl() {
            self.sasl.validate()?;
        }
        if protocol.uses_tls() {
            self.rustls_config()?;
        }
        Ok(())
    }

    /// The rustls client config for [`tls`](Self::tls), built once and shared by clones.
    pub(crate) fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        self.cache.get(&self.tls)
    }
}

/// Typed builders for the security settings.
impl ClientConfig {
    /// Sets `security.protocol`.
    pub fn security_protocol(mut self, protocol: SecurityProtocol) -> Self {
        self.security_protocol = protocol;
        self
    }

    /// Sets the TLS settings (`ssl.*`).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.security.tls = tls;
        self
    }

    /// Sets the SASL settings (`sasl.*`).
    pub fn sasl(mut self, sasl: SaslConfig) -> Self {
        self.security.sasl = sasl;
        self
    }
}

/// A config error for a property.
fn config_err(key: &str, reason: impl Into<String>) -> KafkaError {
    KafkaError::config(key, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_from_both_worlds() {
        let c = ClientConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9096"),
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"alice\" password=\"s3cr=t;\\\"x\";",
            ),
            ("ssl.endpoint.identification.algorithm", "https"),
        ])
        .unwrap();
        assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(c.security.sasl.mechanism, Some(SaslMechanism::ScramSha512));
        assert_eq!(c.security.sasl.username.as_deref(), Some("alice"));
        assert_eq!(
            c.security.sasl.password.as_ref().map(Password::expose),
            Some("s3cr=t;\"x")
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr"), "{dbg}");
        assert!(dbg.contains("alice"), "{dbg}");

        let c = ClientConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9095"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "hunter2"),
        ])
        .unwrap();
        assert_eq!(c.security.sasl.mechanism, Some(SaslMechanism::Plain));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn sasl_without_credentials_is_a_config_error() {
        let e = ClientConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("sasl.username"), "{e}");
        let e = ClientConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("security.protocol", "SASL_PLAINTEXT"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("sasl.mechanism"), "{e}");
        let e = ClientConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("sasl.mechanism", "GSSAPI"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("GSSAPI"), "{e}");
        // Without SASL in security.protocol, SASL settings are not needed.
        ClientConfig::from_properties([("bootstrap.servers", "h:1")]).unwrap();
    }

    #[test]
    fn missing_ca_file_fails_at_construction() {
        let e = ClientConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/nonexistent/ca.pem"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        let e = ClientConfig::from_properties([
            ("bootstrap.servers", "h:1"),
            ("ssl.truststore.type", "JKS"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("PEM"), "{e}");
    }
}
