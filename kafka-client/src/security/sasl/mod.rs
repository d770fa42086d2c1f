//! SASL over the Kafka protocol (KIP-152): a SaslHandshake naming the mechanism, then
//! SaslAuthenticate requests carrying the mechanism's messages, then re-authentication before
//! the session the broker granted runs out (KIP-368).
//!
//! The mechanisms (`plain`, `scram`, [`oauthbearer`]) and the Kafka-level exchange
//! (`exchange`) are sans-IO; `driver` moves their messages over a broker connection.

pub(crate) mod driver;
pub(crate) mod exchange;
pub mod oauthbearer;
pub(crate) mod plain;
pub(crate) mod scram;

use std::sync::Arc;

pub(crate) use driver::on_connect;
pub use oauthbearer::{OAuthBearerToken, OAuthBearerTokenProvider, TokenFuture};

use super::jaas;
use super::{config_err, Password};
use crate::error::Result;

/// A SASL mechanism (`sasl.mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN` (RFC 4616): the password in the clear, so only over TLS outside tests.
    Plain,
    /// `SCRAM-SHA-256` (RFC 5802, RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512` (RFC 5802 with SHA-512).
    ScramSha512,
    /// `OAUTHBEARER` (RFC 7628) with a token from an [`OAuthBearerTokenProvider`].
    OAuthBearer,
}

impl SaslMechanism {
    /// The name sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Parses a mechanism name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        [
            SaslMechanism::Plain,
            SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512,
            SaslMechanism::OAuthBearer,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// The `sasl.*` settings.
#[derive(Clone, Default)]
pub struct SaslConfig {
    /// `sasl.mechanism` (Java) / `sasl.mechanisms` (librdkafka).
    pub mechanism: Option<SaslMechanism>,
    /// `sasl.username`, or `username` of `sasl.jaas.config`.
    pub username: Option<String>,
    /// `sasl.password`, or `password` of `sasl.jaas.config`.
    pub password: Option<Password>,
    /// Where OAUTHBEARER tokens come from.
    pub token_provider: Option<Arc<dyn OAuthBearerTokenProvider>>,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &self.password)
            .field(
                "token_provider",
                &self.token_provider.as_ref().map(|_| "<provider>"),
            )
            .finish()
    }
}

impl PartialEq for SaslConfig {
    fn eq(&self, other: &Self) -> bool {
        self.mechanism == other.mechanism
            && self.username == other.username
            && self.password == other.password
            && match (&self.token_provider, &other.token_provider) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for SaslConfig {}

impl SaslConfig {
    fn with_credentials(
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        Self {
            mechanism: Some(mechanism),
            username: Some(username.into()),
            password: Some(password.into()),
            token_provider: None,
        }
    }

    /// PLAIN with a username and password.
    pub fn plain(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self::with_credentials(SaslMechanism::Plain, username, password)
    }

    /// SCRAM-SHA-256 with a username and password.
    pub fn scram_sha256(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self::with_credentials(SaslMechanism::ScramSha256, username, password)
    }

    /// SCRAM-SHA-512 with a username and password.
    pub fn scram_sha512(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self::with_credentials(SaslMechanism::ScramSha512, username, password)
    }

    /// OAUTHBEARER with tokens from `provider` (asked again at every re-authentication).
    pub fn oauthbearer(provider: Arc<dyn OAuthBearerTokenProvider>) -> Self {
        Self {
            mechanism: Some(SaslMechanism::OAuthBearer),
            token_provider: Some(provider),
            ..Self::default()
        }
    }

    /// Sets `key` if it is a `sasl.*` property this client knows; `Ok(false)` otherwise.
    pub(crate) fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "sasl.mechanism" | "sasl.mechanisms" => {
                let v = value.trim();
                self.mechanism = Some(SaslMechanism::parse(v).ok_or_else(|| {
                    if v.eq_ignore_ascii_case("GSSAPI") {
                        config_err(key, "GSSAPI (Kerberos) is not supported")
                    } else {
                        config_err(
                            key,
                            format!(
                                "`{v}` is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
                            ),
                        )
                    }
                })?);
            }
            "sasl.username" => self.username = Some(value.to_owned()),
            "sasl.password" => self.password = Some(Password::new(value)),
            "sasl.jaas.config" => self.set_jaas(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Takes username and password from a PlainLoginModule or ScramLoginModule line.
    fn set_jaas(&mut self, key: &str, value: &str) -> Result<()> {
        let module = jaas::parse(value).map_err(|e| config_err(key, e))?;
        let class = module.class.rsplit('.').next().unwrap_or_default();
        match class {
            "PlainLoginModule" | "ScramLoginModule" => {
                let get =
                    |name: &str| {
                        module.options.get(name).cloned().ok_or_else(|| {
                            config_err(key, format!("{class} needs a `{name}` option"))
                        })
                    };
                self.username = Some(get("username")?);
                self.password = Some(Password::new(get("password")?));
                Ok(())
            }
            "OAuthBearerLoginModule" => Err(config_err(
                key,
                "OAUTHBEARER takes its tokens from a token provider set in code \
                 (SaslConfig::oauthbearer), not from the JAAS config",
            )),
            _ => Err(config_err(
                key,
                format!("login module `{}` is not supported", module.class),
            )),
        }
    }

    /// Checks that the mechanism has what it needs.
    pub(crate) fn validate(&self) -> Result<()> {
        let Some(mechanism) = self.mechanism else {
            return Err(config_err(
                "sasl.mechanism",
                "not set (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)",
            ));
        };
        match mechanism {
            SaslMechanism::OAuthBearer => {
                if self.token_provider.is_none() {
                    return Err(config_err(
                        "sasl.mechanism",
                        "OAUTHBEARER needs a token provider (SaslConfig::oauthbearer)",
                    ));
                }
            }
            _ => {
                if self.username.as_deref().is_none_or(str::is_empty) {
                    return Err(config_err(
                        "sasl.username",
                        format!(
                            "{} needs a username (sasl.username or sasl.jaas.config)",
                            mechanism.name()
                        ),
                    ));
                }
                if self.password.is_none() {
                    return Err(config_err(
                        "sasl.password",
                        format!(
                            "{} needs a password (sasl.password or sasl.jaas.config)",
                            mechanism.name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a mechanism does with the server's message.
pub(crate) enum Step {
    /// Send these bytes (they may contain credentials: never log them).
    Respond(Vec<u8>),
    /// The mechanism is complete on the client side.
    Done,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The bytes may hold a password (PLAIN) or a proof: show only their size.
            Step::Respond(b) => write!(f, "Respond({} bytes)", b.len()),
            Step::Done => f.write_str("Done"),
        }
    }
}

/// A client-side SASL mechanism, sans-IO. Errors are reasons for the user and must not contain
/// any secret.
pub(crate) trait Mechanism: Send {
    /// The client's first message.
    fn initial(&mut self) -> std::result::Result<Vec<u8>, String>;
    /// The server's next message.
    fn step(&mut self, server: &[u8]) -> std::result::Result<Step, String>;
    /// A failure the server described in a challenge before it failed the exchange.
    fn server_error(&self) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_sets_credentials() {
        let mut s = SaslConfig::default();
        assert!(s
            .try_set(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";",
            )
            .unwrap());
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(s.password.as_ref().unwrap().expose(), "alice-secret");
        let e = s
            .try_set(
                "sasl.jaas.config",
                "x.ScramLoginModule required password=\"pw-only\";",
            )
            .unwrap_err();
        assert!(e.to_string().contains("username"), "{e}");
        assert!(!e.to_string().contains("pw-only"), "{e}");
        assert!(s
            .try_set(
                "sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required;"
            )
            .is_err());
        assert!(!format!("{s:?}").contains("alice-secret"));
    }

    #[test]
    fn mechanism_names() {
        for m in ["plain", "SCRAM-SHA-256", "scram-sha-512", "OAUTHBEARER"] {
            assert!(SaslMechanism::parse(m).is_some(), "{m}");
        }
        assert_eq!(SaslMechanism::parse("SCRAM-SHA-1"), None);
    }
}
