//! OAUTHBEARER (RFC 7628) with tokens from a user-supplied [`OAuthBearerTokenProvider`].
//!
//! The client sends one message (RFC 7628 section 3.1, with Kafka's SASL extensions, KIP-342):
//!
//! ```text
//! n,[a=<authzid>],^Aauth=Bearer <token>^A[<key>=<value>^A]*^A
//! ```
//!
//! On success the server answers with nothing. On failure it first sends a JSON error
//! challenge (section 3.2.2), which the client must answer with a single `^A` (0x01) before
//! the server fails the exchange; Kafka then reports SASL_AUTHENTICATION_FAILED.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use super::{Mechanism, Step};
use crate::security::Password;

/// The separator of RFC 7628's key-value pairs.
const KVSEP: u8 = 0x01;

/// A bearer token and what to send with it.
#[derive(Debug, Clone)]
pub struct OAuthBearerToken {
    /// The token (a JWT, usually). Secret.
    pub value: Password,
    /// SASL extensions (KIP-342), e.g. `logicalCluster=lkc-1`. Names are letters only
    /// (RFC 7628 section 3.1), and `auth` is reserved.
    pub extensions: BTreeMap<String, String>,
    /// When the token expires, if known (informational; the broker's session lifetime decides
    /// when to re-authenticate, KIP-368).
    pub expires: Option<SystemTime>,
}

impl OAuthBearerToken {
    /// A token without extensions.
    pub fn new(value: impl Into<Password>) -> Self {
        Self {
            value: value.into(),
            extensions: BTreeMap::new(),
            expires: None,
        }
    }
}

/// The future a [`OAuthBearerTokenProvider`] returns. The error is shown to users: it must not
/// contain a secret.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<OAuthBearerToken, String>> + Send + 'a>>;

/// Supplies OAUTHBEARER tokens: called for every authentication and re-authentication, so it
/// can refresh (and cache) tokens from an identity provider.
pub trait OAuthBearerTokenProvider: Send + Sync + 'static {
    /// A currently valid token.
    fn token(&self) -> TokenFuture<'_>;
}

pub(crate) struct OAuthBearer {
    token: OAuthBearerToken,
    server_error: Option<String>,
}

impl OAuthBearer {
    pub(crate) fn new(token: OAuthBearerToken) -> Self {
        Self {
            token,
            server_error: None,
        }
    }
}

impl Mechanism for OAuthBearer {
    fn initial(&mut self) -> Result<Vec<u8>, String> {
        let token = self.token.value.expose();
        // RFC 6750 b64token characters only: anything else would break the message framing.
        let b64token = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        if token.is_empty() || !token.chars().all(b64token) {
            return Err(
                "the OAUTHBEARER token is empty or has characters outside RFC 6750's b64token"
                    .into(),
            );
        }
        let mut out = b"n,,".to_vec();
        out.push(KVSEP);
        out.extend_from_slice(b"auth=Bearer ");
        out.extend_from_slice(token.as_bytes());
        out.push(KVSEP);
        for (k, v) in &self.token.extensions {
            if k == "auth" || k.is_empty() || !k.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!("invalid OAUTHBEARER extension name `{k}`"));
            }
            if v.bytes().any(|b| b == KVSEP) {
                return Err(format!("OAUTHBEARER extension `{k}` contains 0x01"));
            }
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
            out.push(KVSEP);
        }
        out.push(KVSEP);
        Ok(out)
    }

    fn step(&mut self, server: &[u8]) -> Result<Step, String> {
        if server.is_empty() {
            return Ok(Step::Done);
        }
        if self.server_error.is_some() {
            return Err("OAUTHBEARER server sent a second challenge".into());
        }
        // An error challenge (RFC 7628 section 3.2.2): acknowledge it with a lone KVSEP; the
        // server then fails the exchange and we report its JSON (status, scope).
        self.server_error = Some(String::from_utf8_lossy(server).into_owned());
        Ok(Step::Respond(vec![KVSEP]))
    }

    fn server_error(&self) -> Option<&str> {
        self.server_error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7628_client_message_and_error_flow() {
        let mut t = OAuthBearerToken::new("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.");
        t.extensions.insert("traceId".into(), "42".into());
        let mut m = OAuthBearer::new(t);
        assert_eq!(
            m.initial().unwrap(),
            b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.\x01traceId=42\x01\x01"
        );
        let Step::Respond(ack) = m.step(br#"{"status":"invalid_token"}"#).unwrap() else {
            panic!()
        };
        assert_eq!(ack, [KVSEP]);
        assert!(m.server_error().unwrap().contains("invalid_token"));
        let mut ok = OAuthBearer::new(OAuthBearerToken::new("abc"));
        ok.initial().unwrap();
        assert!(matches!(ok.step(b"").unwrap(), Step::Done));
    }

    #[test]
    fn bad_tokens_and_extensions() {
        assert!(OAuthBearer::new(OAuthBearerToken::new(""))
            .initial()
            .is_err());
        let e = OAuthBearer::new(OAuthBearerToken::new("has space"))
            .initial()
            .unwrap_err();
        assert!(!e.contains("has space"), "token must not be echoed: {e}");
        let mut t = OAuthBearerToken::new("abc");
        t.extensions.insert("auth".into(), "x".into());
        assert!(OAuthBearer::new(t).initial().is_err());
    }
}
