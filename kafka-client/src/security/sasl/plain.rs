//! PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd`; the server answers with
//! nothing on success (Kafka puts a failure in the SaslAuthenticate error instead).

use super::{Mechanism, Step};
use crate::security::Password;

pub(crate) struct Plain {
    username: String,
    password: Password,
}

impl Plain {
    pub(crate) fn new(username: &str, password: &Password) -> Self {
        Self {
            username: username.to_owned(),
            password: password.clone(),
        }
    }
}

impl Mechanism for Plain {
    fn initial(&mut self) -> Result<Vec<u8>, String> {
        // NUL separates the fields (RFC 4616 section 2), so neither may contain one.
        if self.username.contains('\0') || self.password.expose().contains('\0') {
            return Err("PLAIN username and password must not contain NUL".into());
        }
        // Empty authzid: act as the authenticated user, as Kafka's PlainSaslServer expects.
        let mut out = Vec::with_capacity(2 + self.username.len() + self.password.expose().len());
        out.push(0);
        out.extend_from_slice(self.username.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.expose().as_bytes());
        Ok(out)
    }

    fn step(&mut self, _server: &[u8]) -> Result<Step, String> {
        Ok(Step::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4616_message() {
        let mut p = Plain::new("tim", &Password::new("tanstaaftanstaaf"));
        assert_eq!(p.initial().unwrap(), b"\0tim\0tanstaaftanstaaf");
        assert!(matches!(p.step(b"").unwrap(), Step::Done));
        assert!(Plain::new("a\0b", &Password::new("x")).initial().is_err());
    }
}
