//! The Kafka side of a SASL exchange (KIP-152), sans-IO: SaslHandshake names the mechanism,
//! then each SaslAuthenticate carries one mechanism message each way. The broker reports a
//! failure in the SaslAuthenticate error code and message; the final response carries
//! `session_lifetime_ms` (KIP-368), after which the broker will drop the connection unless
//! the client has re-authenticated.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::generated::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::ErrorCode;

use super::{Mechanism, SaslMechanism, Step};

/// An authenticated session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    /// How long the broker accepts it; `None` when the broker does not expire sessions
    /// (`connections.max.reauth.ms=0`, the default).
    pub lifetime: Option<Duration>,
}

/// What to do next.
pub(crate) enum Next {
    /// Send a SaslAuthenticate request.
    Authenticate(SaslAuthenticateRequest),
    /// Authenticated.
    Done(Session),
}

/// One SASL exchange. Errors are reasons for an authentication error (never a secret).
pub(crate) struct Exchange {
    mechanism: SaslMechanism,
    mech: Box<dyn Mechanism>,
}

impl Exchange {
    pub(crate) fn new(mechanism: SaslMechanism, mech: Box<dyn Mechanism>) -> Self {
        Self { mechanism, mech }
    }

    /// The request that starts the exchange.
    pub(crate) fn handshake(&self) -> SaslHandshakeRequest {
        SaslHandshakeRequest {
            mechanism: self.mechanism.name().into(),
        }
    }

    /// The SaslHandshake answer: the first SaslAuthenticate, or why the broker refused.
    pub(crate) fn on_handshake(
        &mut self,
        resp: &SaslHandshakeResponse,
    ) -> Result<SaslAuthenticateRequest, String> {
        match ErrorCode(resp.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
                return Err(format!(
                    "mechanism {} is not enabled on this listener (it offers: {})",
                    self.mechanism.name(),
                    resp.mechanisms.join(", ")
                ))
            }
            code => return Err(format!("SaslHandshake failed with {code}")),
        }
        Ok(auth_request(self.mech.initial()?))
    }

    /// A SaslAuthenticate answer.
    pub(crate) fn on_authenticate(
        &mut self,
        resp: &SaslAuthenticateResponse,
    ) -> Result<Next, String> {
        if resp.error_code != 0 {
            let mut reason = format!("{}", ErrorCode(resp.error_code));
            if let Some(m) = resp.error_message.as_deref().filter(|m| !m.is_empty()) {
                reason.push_str(": ");
                reason.push_str(m);
            }
            if let Some(e) = self.mech.server_error() {
                reason.push_str(&format!(" (server said {e})"));
            }
            return Err(reason);
        }
        match self.mech.step(&resp.auth_bytes)? {
            Step::Respond(bytes) => Ok(Next::Authenticate(auth_request(bytes))),
            Step::Done => Ok(Next::Done(Session {
                lifetime: u64::try_from(resp.session_lifetime_ms)
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis),
            })),
        }
    }
}

fn auth_request(bytes: Vec<u8>) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest {
        auth_bytes: Bytes::from(bytes),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::sasl::plain::Plain;
    use crate::security::sasl::scram::{Scram, ScramHash};
    use crate::security::Password;

    fn ok_auth(bytes: &[u8], lifetime_ms: i64) -> SaslAuthenticateResponse {
        SaslAuthenticateResponse {
            auth_bytes: Bytes::copy_from_slice(bytes),
            session_lifetime_ms: lifetime_ms,
            ..Default::default()
        }
    }

    #[test]
    fn plain_exchange_with_session_lifetime() {
        let pw = Password::new("alice-secret");
        let mut x = Exchange::new(SaslMechanism::Plain, Box::new(Plain::new("alice", &pw)));
        assert_eq!(x.handshake().mechanism, "PLAIN");
        let first = x.on_handshake(&SaslHandshakeResponse::default()).unwrap();
        assert_eq!(&first.auth_bytes[..], b"\0alice\0alice-secret");
        match x.on_authenticate(&ok_auth(b"", 3_000)).unwrap() {
            Next::Done(s) => assert_eq!(s.lifetime, Some(Duration::from_secs(3))),
            Next::Authenticate(_) => panic!("PLAIN is one round"),
        }
        let mut x = Exchange::new(SaslMechanism::Plain, Box::new(Plain::new("alice", &pw)));
        x.on_handshake(&SaslHandshakeResponse::default()).unwrap();
        assert!(matches!(
            x.on_authenticate(&ok_auth(b"", 0)).unwrap(),
            Next::Done(Session { lifetime: None })
        ));
    }

    #[test]
    fn scram_exchange_two_rounds() {
        let pw = Password::new("pencil");
        let scram = Scram::with_nonce(
            ScramHash::Sha256,
            "user",
            &pw,
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        let mut x = Exchange::new(SaslMechanism::ScramSha256, Box::new(scram));
        x.on_handshake(&SaslHandshakeResponse::default()).unwrap();
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let Next::Authenticate(fin) = x.on_authenticate(&ok_auth(server_first, 0)).unwrap() else {
            panic!("expected client-final")
        };
        assert!(fin.auth_bytes.starts_with(b"c=biws,r="));
        let server_final = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        assert!(matches!(
            x.on_authenticate(&ok_auth(server_final, 10_000)).unwrap(),
            Next::Done(Session { lifetime: Some(_) })
        ));
    }

    #[test]
    fn broker_refusals_become_reasons() {
        let pw = Password::new("pw");
        let mut x = Exchange::new(SaslMechanism::ScramSha512, Box::new(Plain::new("u", &pw)));
        let e = x
            .on_handshake(&SaslHandshakeResponse {
                error_code: ErrorCode::UNSUPPORTED_SASL_MECHANISM.0,
                mechanisms: vec!["PLAIN".into()],
            })
            .unwrap_err();
        assert!(e.contains("SCRAM-SHA-512") && e.contains("PLAIN"), "{e}");
        let mut x = Exchange::new(SaslMechanism::Plain, Box::new(Plain::new("u", &pw)));
        x.on_handshake(&SaslHandshakeResponse::default()).unwrap();
        let e = x
            .on_authenticate(&SaslAuthenticateResponse {
                error_code: ErrorCode::SASL_AUTHENTICATION_FAILED.0,
                error_message: Some("Invalid username or password".into()),
                ..Default::default()
            })
            .err()
            .unwrap();
        assert!(
            e.contains("SASL_AUTHENTICATION_FAILED") && e.contains("Invalid"),
            "{e}"
        );
    }
}
