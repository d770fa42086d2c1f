//! SCRAM-SHA-256 / SCRAM-SHA-512 client (RFC 5802, RFC 7677), without channel binding
//! (`n,,`), as Kafka's `ScramSaslClient`:
//!
//! ```text
//! client-first  n,,n=<user>,r=<client nonce>
//! server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
//! client-final  c=biws,r=<nonce>,p=<ClientKey XOR HMAC(StoredKey, AuthMessage)>
//! server-final  v=<HMAC(ServerKey, AuthMessage)>   or   e=<error>
//! ```
//!
//! The server's signature is checked in constant time (`Mac::verify_slice`): it proves the
//! server knows the password's derived key, so a wrong one means a fake server.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::{Mechanism, Step};
use crate::security::Password;

/// Kafka's `ScramMechanism` minimum: fewer iterations from a server is a downgrade attack
/// (RFC 5802 section 9 asks clients to enforce a minimum).
const MIN_ITERATIONS: u32 = 4096;
/// Upper bound so that a hostile server cannot make the client spin for minutes.
const MAX_ITERATIONS: u32 = 1 << 20;

/// The hash of the mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => mac::<Hmac<Sha256>>(key, data),
            ScramHash::Sha512 => mac::<Hmac<Sha512>>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi()` of RFC 5802 section 2.2 is PBKDF2 with HMAC as the PRF.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }

    /// Constant-time comparison of `HMAC(key, data)` with `expected`.
    fn verify(self, key: &[u8], data: &[u8], expected: &[u8]) -> bool {
        match self {
            ScramHash::Sha256 => verify::<Hmac<Sha256>>(key, data, expected),
            ScramHash::Sha512 => verify::<Hmac<Sha512>>(key, data, expected),
        }
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn verify<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.verify_slice(expected).is_ok()
}

/// RFC 5802 section 5.1: `=` and `,` in a name are escaped as `=3D` and `=2C`.
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A printable nonce from the system's secure random source (RFC 5802: unpredictable).
pub(crate) fn random_nonce() -> String {
    let mut bytes = [0u8; 24];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .expect("system random source");
    // Base64 has no `,`, the one character a nonce may not hold.
    B64.encode(bytes)
}

enum State {
    Start,
    SentFirst {
        client_first_bare: String,
    },
    SentFinal {
        server_key: Vec<u8>,
        auth_message: String,
    },
    Done,
}

pub(crate) struct Scram {
    hash: ScramHash,
    username: String,
    password: Password,
    nonce: String,
    state: State,
}

impl Scram {
    pub(crate) fn new(hash: ScramHash, username: &str, password: &Password) -> Self {
        Self::with_nonce(hash, username, password, random_nonce())
    }

    pub(crate) fn with_nonce(
        hash: ScramHash,
        username: &str,
        password: &Password,
        nonce: String,
    ) -> Self {
        Self {
            hash,
            username: username.to_owned(),
            password: password.clone(),
            nonce,
            state: State::Start,
        }
    }

    fn client_final(
        &mut self,
        client_first_bare: &str,
        server_first: &[u8],
    ) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "SCRAM server-first message is not UTF-8".to_string())?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| "malformed SCRAM server-first message".to_string())?;
            match k {
                "r" => nonce = Some(v),
                "s" => salt = Some(v),
                "i" => iterations = Some(v),
                // A mandatory extension we do not know (RFC 5802 section 5.1).
                "m" => return Err("SCRAM server requires an unsupported extension".into()),
                "e" => return Err(format!("SCRAM server error: {v}")),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err("SCRAM server-first message lacks r, s or i".into());
        };
        // The server must extend our nonce: otherwise this is a replay or a confused server.
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("SCRAM server nonce does not extend the client nonce".into());
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| "SCRAM salt is not base64".to_string())?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| "SCRAM iteration count is not a number".to_string())?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!(
                "SCRAM iteration count {iterations} is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
            ));
        }
        let h = self.hash;
        let salted = h.hi(self.password.expose().as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        // c=biws is base64("n,,"): no channel binding, no authzid.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.state = State::SentFinal {
            server_key,
            auth_message,
        };
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }
}

impl Mechanism for Scram {
    fn initial(&mut self) -> Result<Vec<u8>, String> {
        let bare = format!("n={},r={}", saslname(&self.username), self.nonce);
        let msg = format!("n,,{bare}").into_bytes();
        self.state = State::SentFirst {
            client_first_bare: bare,
        };
        Ok(msg)
    }

    fn step(&mut self, server: &[u8]) -> Result<Step, String> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::SentFirst { client_first_bare } => Ok(Step::Respond(
                self.client_final(&client_first_bare, server)?,
            )),
            State::SentFinal {
                server_key,
                auth_message,
            } => {
                let text = std::str::from_utf8(server)
                    .map_err(|_| "SCRAM server-final message is not UTF-8".to_string())?;
                if let Some(e) = text.strip_prefix("e=") {
                    return Err(format!("SCRAM server error: {e}"));
                }
                let v = text
                    .split(',')
                    .find_map(|a| a.strip_prefix("v="))
                    .ok_or_else(|| "SCRAM server-final message lacks v".to_string())?;
                let sig = B64
                    .decode(v)
                    .map_err(|_| "SCRAM server signature is not base64".to_string())?;
                if !self.hash.verify(&server_key, auth_message.as_bytes(), &sig) {
                    return Err(
                        "SCRAM server signature is wrong: the server does not know the \
                         credentials (possible impersonation)"
                            .into(),
                    );
                }
                Ok(Step::Done)
            }
            State::Start | State::Done => Err("SCRAM message out of order".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        hash: ScramHash,
        user: &str,
        pw: &str,
        nonce: &str,
        server_first: &str,
    ) -> (Scram, String, String) {
        let mut s = Scram::with_nonce(hash, user, &Password::new(pw), nonce.into());
        let first = String::from_utf8(s.initial().unwrap()).unwrap();
        let Step::Respond(fin) = s.step(server_first.as_bytes()).unwrap() else {
            panic!("expected client-final")
        };
        (s, first, String::from_utf8(fin).unwrap())
    }

    /// RFC 7677 section 3.
    #[test]
    fn rfc7677_sha256_vector() {
        let (mut s, first, fin) = run(
            ScramHash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        );
        assert_eq!(first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(matches!(
            s.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap(),
            Step::Done
        ));
    }

    /// SHA-512 has no RFC vector; these values come from Python's hashlib/hmac (an
    /// independent implementation that reproduces the RFC 7677 vector above).
    #[test]
    fn sha512_vector() {
        let (mut s, _, fin) = run(
            ScramHash::Sha512,
            "alice",
            "alice-secret",
            "fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=a2Fma2EtcnMtc2FsdC0xNg==,i=4096",
        );
        assert_eq!(
            fin,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=1h47UoQ0W+GhlnE0el+2KWuwpWnyEAOqdXCvovDL5LifXLUUVhdMQe6fLxcPO85/gxECH2P+gREwYoywWTmkEw=="
        );
        assert!(matches!(
            s.step(b"v=isfm5tMfJMle/U7qKOHwtcoP7NBiW8reAay7T/rtYyQoey6wuJkMqBmmfEbhOLKHYx5sdWr4mP140H1NJ9p/YA==").unwrap(),
            Step::Done
        ));
    }

    #[test]
    fn wrong_server_signature_is_rejected() {
        let (mut s, _, _) = run(
            ScramHash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        );
        // Last byte changed.
        let e = s
            .step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=")
            .unwrap_err();
        assert!(e.contains("signature"), "{e}");
    }

    #[test]
    fn hostile_server_first_messages() {
        let pw = Password::new("pencil");
        for (bad, want) in [
            ("r=OTHERNONCE,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
            ("r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
            ("r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", "iteration"),
            (
                "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
                "iteration",
            ),
            ("r=abcdef,s=!!!,i=4096", "base64"),
            ("r=abcdef,i=4096", "lacks"),
            ("m=ext,r=abcdef,s=AA==,i=4096", "extension"),
            ("e=other-error", "other-error"),
            ("garbage", "malformed"),
        ] {
            let mut s = Scram::with_nonce(ScramHash::Sha256, "u", &pw, "abc".into());
            s.initial().unwrap();
            let e = match s.step(bad.as_bytes()) {
                Err(e) => e,
                Ok(_) => panic!("accepted {bad}"),
            };
            assert!(e.contains(want), "{bad}: {e}");
            assert!(!e.contains("pencil"));
        }
        let mut s = Scram::with_nonce(ScramHash::Sha256, "u", &pw, "abc".into());
        assert!(s.step(b"r=abcd,s=AA==,i=4096").is_err(), "before initial");
    }

    #[test]
    fn names_are_escaped_and_nonces_random() {
        let mut s = Scram::with_nonce(ScramHash::Sha512, "a=b,c", &Password::new("p"), "n".into());
        assert_eq!(s.initial().unwrap(), b"n,,n=a=3Db=2Cc,r=n");
        let (a, b) = (random_nonce(), random_nonce());
        assert_ne!(a, b);
        assert!(a.len() >= 24 && !a.contains(','));
    }
}
