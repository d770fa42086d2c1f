//! Runs SASL exchanges over a broker connection: once when it is made, then again before each
//! session the broker granted runs out (KIP-368).
//!
//! The requests go through the connection's own task as *exclusive* requests. For a
//! re-authentication the connection is first *held*: requests already on the wire are answered
//! first (the broker handles one connection's requests in order), the others wait in the
//! connection's queue until the exchange is over, because between SaslHandshake and the last
//! SaslAuthenticate the broker accepts nothing else.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::generated::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::{frame, ApiKey, Message, Request};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::exchange::{Exchange, Next, Session};
use super::oauthbearer::OAuthBearer;
use super::plain::Plain;
use super::scram::{Scram, ScramHash};
use super::{Mechanism, SaslConfig, SaslMechanism};
use crate::config::ClientConfig;
use crate::conn::ApiVersions;
use crate::error::{KafkaError, Result};
use crate::net::Command;

/// A handle on a connection's task for SASL requests. Weak, so that it never keeps a
/// connection open that everyone else has dropped.
pub(crate) struct Link {
    tx: mpsc::WeakUnboundedSender<Command>,
    client_id: String,
    addr: String,
    handshake_version: i16,
    authenticate_version: i16,
    timeout: Duration,
}

impl Link {
    fn closed(&self) -> KafkaError {
        KafkaError::Connection {
            addr: self.addr.clone(),
            reason: "connection closed during SASL authentication".into(),
        }
    }

    fn is_closed(&self) -> bool {
        self.tx.upgrade().is_none_or(|tx| tx.is_closed())
    }

    fn command(&self, cmd: Command) -> Result<()> {
        let tx = self.tx.upgrade().ok_or_else(|| self.closed())?;
        tx.send(cmd).map_err(|_| self.closed())
    }

    fn hold(&self, on: bool) {
        let _ = self.command(Command::Hold(on));
    }

    async fn send<R: Request>(&self, req: &R, version: i16) -> Result<R::Response> {
        let mut buf = BytesMut::new();
        frame::encode_request(&mut buf, 0, Some(&self.client_id), version, req)?;
        let (reply, rx) = oneshot::channel();
        self.command(Command::Request {
            frame: kafka_protocol::codec::Writer::contiguous(buf),
            api_key: R::API_KEY,
            version,
            expects_response: true,
            timeout: self.timeout,
            reply,
            exclusive: true,
        })?;
        let frame = rx
            .await
            .map_err(|_| self.closed())?
            .map_err(|e| match e {
                KafkaError::Connection { addr, reason } if addr.is_empty() => {
                    KafkaError::Connection {
                        addr: self.addr.clone(),
                        reason,
                    }
                }
                other => other,
            })?
            .ok_or_else(|| KafkaError::Protocol("expected a SASL response".into()))?;
        Ok(R::Response::decode_exact(&frame.body, frame.version)?)
    }
}

/// Authenticates a freshly negotiated connection if `security.protocol` is SASL_*, within
/// `timeout`, and starts its re-authentication task when the broker limits the session.
pub(crate) async fn on_connect(
    tx: &mpsc::UnboundedSender<Command>,
    addr: &str,
    config: &ClientConfig,
    versions: &ApiVersions,
    timeout: Duration,
) -> Result<()> {
    if !config.security_protocol.uses_sasl() {
        return Ok(());
    }
    let auth_err = |reason: String| KafkaError::Authentication {
        addr: addr.to_owned(),
        reason,
    };
    // SaslHandshake v0 means raw SASL tokens after it, without SaslAuthenticate (pre-KIP-152);
    // we only speak the framed form.
    let handshake_version = versions
        .negotiate(ApiKey::SASL_HANDSHAKE)
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            auth_err(
                "the listener does not accept SaslHandshake v1 (is it a SASL listener?)".into(),
            )
        })?;
    let authenticate_version = versions
        .negotiate(ApiKey::SASL_AUTHENTICATE)
        .ok_or_else(|| auth_err("the broker does not support SaslAuthenticate (KIP-152)".into()))?;
    let link = Link {
        tx: tx.downgrade(),
        client_id: config.client_id.clone(),
        addr: addr.to_owned(),
        handshake_version,
        authenticate_version,
        timeout: config.request_timeout,
    };
    let sasl = &config.security.sasl;
    let session = tokio::time::timeout(timeout, authenticate(&link, sasl))
        .await
        .map_err(|_| KafkaError::Timeout {
            what: format!("SASL authentication with {addr}"),
            after: timeout,
        })??;
    if let Some(lifetime) = session.lifetime {
        tokio::spawn(reauthenticate(link, sasl.clone(), lifetime));
    }
    Ok(())
}

/// The mechanism for `sasl`, with a fresh token for OAUTHBEARER.
async fn mechanism(sasl: &SaslConfig) -> std::result::Result<Box<dyn Mechanism>, String> {
    let mech = sasl.mechanism.ok_or("sasl.mechanism is not set")?;
    let creds = || {
        Ok::<_, String>((
            sasl.username.as_deref().ok_or("sasl.username is not set")?,
            sasl.password.as_ref().ok_or("sasl.password is not set")?,
        ))
    };
    Ok(match mech {
        SaslMechanism::Plain => {
            let (u, p) = creds()?;
            Box::new(Plain::new(u, p))
        }
        SaslMechanism::ScramSha256 => {
            let (u, p) = creds()?;
            Box::new(Scram::new(ScramHash::Sha256, u, p))
        }
        SaslMechanism::ScramSha512 => {
            let (u, p) = creds()?;
            Box::new(Scram::new(ScramHash::Sha512, u, p))
        }
        SaslMechanism::OAuthBearer => {
            let provider = sasl
                .token_provider
                .as_ref()
                .ok_or("OAUTHBEARER needs a token provider")?;
            let token = provider
                .token()
                .await
                .map_err(|e| format!("the OAUTHBEARER token provider failed: {e}"))?;
            Box::new(OAuthBearer::new(token))
        }
    })
}

/// One SASL exchange over `link`.
async fn authenticate(link: &Link, sasl: &SaslConfig) -> Result<Session> {
    let auth_err = |reason: String| KafkaError::Authentication {
        addr: link.addr.clone(),
        reason,
    };
    let name = sasl.mechanism.map_or("?", SaslMechanism::name);
    let mech = mechanism(sasl).await.map_err(auth_err)?;
    let mut exchange = Exchange::new(sasl.mechanism.expect("checked by mechanism()"), mech);
    let resp = link
        .send::<SaslHandshakeRequest>(&exchange.handshake(), link.handshake_version)
        .await?;
    let mut req = exchange.on_handshake(&resp).map_err(auth_err)?;
    loop {
        let resp = link
            .send::<SaslAuthenticateRequest>(&req, link.authenticate_version)
            .await?;
        match exchange.on_authenticate(&resp).map_err(auth_err)? {
            Next::Authenticate(next) => req = next,
            Next::Done(session) => {
                debug!(
                    broker = %link.addr,
                    mechanism = name,
                    session_lifetime_ms = session.lifetime.map(|d| d.as_millis() as u64),
                    "SASL authenticated"
                );
                return Ok(session);
            }
        }
    }
}

/// When to re-authenticate: at a random point between 85% and 95% of the session, as the Java
/// client does (KIP-368), so that many connections made together do not all re-authenticate at
/// once and there is time left for the exchange.
fn reauth_delay(lifetime: Duration, unit: f64) -> Duration {
    lifetime.mul_f64(0.85 + 0.10 * unit.clamp(0.0, 1.0))
}

/// Re-authenticates before each session expires, until the connection is gone or a
/// re-authentication fails (the broker then closes the connection; requests fail with a
/// connection error and the next connection authenticates from scratch).
async fn reauthenticate(link: Link, sasl: SaslConfig, mut lifetime: Duration) {
    loop {
        tokio::time::sleep(reauth_delay(lifetime, fastrand::f64())).await;
        if link.is_closed() {
            return;
        }
        link.hold(true);
        let result = authenticate(&link, &sasl).await;
        link.hold(false);
        match result {
            Ok(Session {
                lifetime: Some(next),
            }) => {
                debug!(broker = %link.addr, "SASL re-authenticated");
                lifetime = next;
            }
            Ok(Session { lifetime: None }) => {
                debug!(broker = %link.addr, "SASL re-authenticated; the session no longer expires");
                return;
            }
            Err(e) => {
                if !link.is_closed() {
                    warn!(broker = %link.addr, error = %e, "SASL re-authentication failed");
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use kafka_protocol::generated::MetadataRequest;

    use super::*;
    use crate::conn::{ConnectionCore, Submission};

    #[test]
    fn reauth_between_85_and_95_percent() {
        let l = Duration::from_secs(100);
        assert_eq!(reauth_delay(l, 0.0), Duration::from_secs(85));
        assert_eq!(reauth_delay(l, 1.0), Duration::from_secs(95));
    }

    fn sub(key: ApiKey) -> Submission {
        let mut w = BytesMut::new();
        frame::encode_request(&mut w, 0, Some("t"), 12, &MetadataRequest::default()).unwrap();
        Submission {
            frame: kafka_protocol::codec::Writer::contiguous(w),
            api_key: key,
            version: 12,
            expects_response: true,
            timeout: Duration::from_secs(5),
        }
    }

    /// A held connection lets only the SASL requests out, and the rest in their order after.
    #[test]
    fn held_connection_sends_only_exclusive_requests() {
        let now = Instant::now();
        let mut c: ConnectionCore<u32> =
            ConnectionCore::new("t", Duration::from_secs(60), Duration::from_secs(5), now);
        // Skip the handshake by answering it.
        let hs = c.poll_transmit(now).unwrap();
        let (h, _) = frame::decode_request(&hs.to_bytes().slice(4..)).unwrap();
        let mut resp = BytesMut::new();
        frame::encode_response_body(
            &mut resp,
            &kafka_protocol::generated::ResponseHeader {
                correlation_id: h.correlation_id,
                ..Default::default()
            },
            ApiKey::API_VERSIONS,
            h.request_api_version,
            &kafka_protocol::ResponseBody::ApiVersions(Default::default()),
        )
        .unwrap();
        c.handle_input(&resp, now);
        assert!(c.is_ready());
        c.submit(sub(ApiKey::METADATA), 1, now);
        c.set_hold(true);
        c.submit(sub(ApiKey::METADATA), 2, now);
        c.submit_exclusive(sub(ApiKey::SASL_HANDSHAKE), 3, now);
        let ids: Vec<i32> = std::iter::from_fn(|| c.poll_transmit(now))
            .map(|f| i32::from_be_bytes(f.to_bytes()[8..12].try_into().unwrap()))
            .collect();
        // Request 1 was queued before the hold but is held too (only exclusive ones pass).
        assert_eq!(ids.len(), 1, "{ids:?}");
        c.set_hold(false);
        assert_eq!(std::iter::from_fn(|| c.poll_transmit(now)).count(), 2);
    }
}
