//! TLS with rustls (ring provider): trust roots, hostname verification, client certificates.
//!
//! Inputs are PEM, by path or inline, under the names of both worlds:
//!
//! | what | librdkafka | Java (`ssl.*.type=PEM`) |
//! | --- | --- | --- |
//! | CA certificates | `ssl.ca.location`, `ssl.ca.pem` | `ssl.truststore.location`, `ssl.truststore.certificates` |
//! | client chain | `ssl.certificate.location`, `ssl.certificate.pem` | `ssl.keystore.certificate.chain` |
//! | client key | `ssl.key.location`, `ssl.key.pem` | `ssl.keystore.key` |
//! | key + chain in one file | | `ssl.keystore.location` |
//!
//! Without a CA the system's roots are used (falling back to the Mozilla roots compiled in
//! when the system has none). The broker's name is always verified against its certificate
//! (RFC 6125, what Java calls `ssl.endpoint.identification.algorithm=https`) unless that
//! property is `none` (or empty): then the chain is still verified, only the name is not.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tracing::{debug, warn};

use super::{config_err, Password};
use crate::config::ClientConfig;
use crate::error::{KafkaError, Result};

/// PEM text: a file or the text itself (which may hold a private key, so it is a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM text.
    Pem(Password),
}

impl PemSource {
    fn read(&self, property: &str) -> Result<Vec<u8>> {
        match self {
            PemSource::File(p) => std::fs::read(p)
                .map_err(|e| config_err(property, format!("reading {}: {e}", p.display()))),
            PemSource::Pem(p) => Ok(p.expose().as_bytes().to_vec()),
        }
    }

    fn describe(&self) -> String {
        match self {
            PemSource::File(p) => p.display().to_string(),
            PemSource::Pem(_) => "the inline PEM".into(),
        }
    }
}

/// TLS versions that may be negotiated (`ssl.enabled.protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// The `ssl.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificates to trust; `None`: the system roots.
    pub ca: Option<PemSource>,
    /// Client certificate chain, leaf first (mutual TLS).
    pub certificate: Option<PemSource>,
    /// Client private key (PKCS#8, PKCS#1 or SEC1, unencrypted).
    pub key: Option<PemSource>,
    /// One PEM file with the client key and chain (Java's `ssl.keystore.location`).
    pub keystore: Option<PathBuf>,
    /// Verify that the broker's certificate names the host connected to (default true).
    pub verify_hostname: bool,
    /// The name to expect in the broker's certificate (and send as SNI) instead of the host of
    /// the address, e.g. when connecting through a tunnel. Typed API only.
    pub server_name: Option<String>,
    /// Allowed TLS versions (default 1.2 and 1.3).
    pub versions: Vec<TlsVersion>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            ca: None,
            certificate: None,
            key: None,
            keystore: None,
            verify_hostname: true,
            server_name: None,
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        }
    }
}

impl TlsConfig {
    /// Defaults: system roots, hostname verification on, no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates in this PEM file instead of the system roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(PemSource::File(path.into()));
        self
    }

    /// Trusts the CA certificates in this PEM text instead of the system roots.
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca = Some(PemSource::Pem(Password::new(pem)));
        self
    }

    /// Presents a client certificate (mutual TLS): chain and key PEM files.
    pub fn client_cert_files(mut self, chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.certificate = Some(PemSource::File(chain.into()));
        self.key = Some(PemSource::File(key.into()));
        self
    }

    /// Presents the client key and chain of one PEM file (Java's PEM keystore).
    pub fn keystore_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.keystore = Some(path.into());
        self
    }

    /// Turns hostname verification on (the default) or off. Off, any certificate the CA signed
    /// is accepted for any broker: only for test setups.
    pub fn verify_hostname(mut self, on: bool) -> Self {
        self.verify_hostname = on;
        self
    }

    /// Expects `name` in the broker's certificate (and sends it as SNI) for every broker.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Sets `key` if it is an `ssl.*` property this client knows; `Ok(false)` otherwise.
    pub(crate) fn try_set(&mut self, key: &str, value: &str) -> Result<bool> {
        let path = || PemSource::File(PathBuf::from(value.trim()));
        let pem = || PemSource::Pem(Password::new(value));
        match key {
            "ssl.ca.location" | "ssl.truststore.location" => self.ca = Some(path()),
            "ssl.ca.pem" | "ssl.truststore.certificates" => self.ca = Some(pem()),
            "ssl.certificate.location" => self.certificate = Some(path()),
            "ssl.certificate.pem" | "ssl.keystore.certificate.chain" => {
                self.certificate = Some(pem())
            }
            "ssl.key.location" => self.key = Some(path()),
            "ssl.key.pem" | "ssl.keystore.key" => self.key = Some(pem()),
            "ssl.keystore.location" => self.keystore = Some(PathBuf::from(value.trim())),
            "ssl.truststore.type" | "ssl.keystore.type" => {
                if !value.trim().eq_ignore_ascii_case("PEM") {
                    return Err(config_err(
                        key,
                        format!("only PEM is supported, not `{}`", value.trim()),
                    ));
                }
            }
            "ssl.key.password" | "ssl.keystore.password" | "ssl.truststore.password" => {
                // The value is a secret: never echo it.
                if !value.is_empty() {
                    return Err(config_err(
                        key,
                        "encrypted PEM keys and password-protected stores are not supported; \
                         give an unencrypted PKCS#8 key",
                    ));
                }
            }
            "ssl.endpoint.identification.algorithm" => {
                self.verify_hostname = match value.trim().to_ascii_lowercase().as_str() {
                    "https" => true,
                    "none" | "" => false,
                    other => {
                        return Err(config_err(
                            key,
                            format!("expected https or none, got `{other}`"),
                        ))
                    }
                }
            }
            "ssl.enabled.protocols" => {
                let mut versions = Vec::new();
                for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    versions.push(match v {
                        "TLSv1.2" => TlsVersion::Tls12,
                        "TLSv1.3" => TlsVersion::Tls13,
                        _ => {
                            return Err(config_err(
                                key,
                                format!("`{v}` is not supported (TLSv1.2, TLSv1.3)"),
                            ))
                        }
                    });
                }
                if versions.is_empty() {
                    return Err(config_err(key, "no protocol given"));
                }
                self.versions = versions;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The rustls config built from a [`TlsConfig`], kept with the settings it was built from so
/// that a changed setting rebuilds it. Shared by clones of a client config.
#[derive(Clone, Default)]
pub(crate) struct Cache(Arc<Mutex<Option<Built>>>);

/// A rustls config and the settings it was built from.
type Built = (TlsConfig, Arc<rustls::ClientConfig>);

impl Cache {
    pub(crate) fn get(&self, tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>> {
        let mut guard = self.0.lock().expect("tls cache lock");
        if let Some((built_from, config)) = guard.as_ref() {
            if built_from == tls {
                return Ok(config.clone());
            }
        }
        let config = build(tls)?;
        *guard = Some((tls.clone(), config.clone()));
        Ok(config)
    }
}

fn build(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(root_store(tls)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| config_err("ssl.ca.location", e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.verify_hostname {
        webpki
    } else {
        warn!("ssl.endpoint.identification.algorithm=none: broker host names are not verified");
        Arc::new(AnyName(webpki))
    };
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = tls
        .versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| config_err("ssl.enabled.protocols", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client_identity(tls)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| config_err("ssl.certificate.location", e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn certificates(pem: &[u8], property: &str, from: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| config_err(property, format!("{from}: {e}")))?;
    if certs.is_empty() {
        return Err(config_err(
            property,
            format!("{from}: no PEM certificate found"),
        ));
    }
    Ok(certs)
}

fn private_key(pem: &[u8], property: &str, from: &str) -> Result<PrivateKeyDer<'static>> {
    // Search the bytes for the label only: the key itself must not reach an error.
    if pem
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"ENCRYPTED PRIVATE KEY")
    {
        return Err(config_err(
            property,
            format!(
                "{from}: encrypted private keys are not supported; give an unencrypted PKCS#8 key"
            ),
        ));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        config_err(
            property,
            format!("{from}: no usable private key ({})", pem_error_kind(&e)),
        )
    })
}

/// A PEM error without any of the input (which is a private key here).
fn pem_error_kind(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error as E;
    match e {
        E::NoItemsFound => "no PRIVATE KEY block",
        E::MissingSectionEnd { .. } | E::IllegalSectionStart { .. } => "broken PEM section",
        E::Base64Decode(_) => "bad base64",
        E::Io(_) => "read error",
        _ => "unreadable PEM",
    }
}

fn root_store(tls: &TlsConfig) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match &tls.ca {
        Some(src) => {
            let prop = "ssl.ca.location";
            let pem = src.read(prop)?;
            for cert in certificates(&pem, prop, &src.describe())? {
                roots
                    .add(cert)
                    .map_err(|e| config_err(prop, format!("{}: {e}", src.describe())))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                debug!("no system CA certificates found; using the compiled-in Mozilla roots");
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            } else {
                debug!(added, "system CA certificates loaded");
            }
        }
    }
    Ok(roots)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_identity(tls: &TlsConfig) -> Result<Option<Identity>> {
    match (&tls.keystore, &tls.certificate, &tls.key) {
        (None, None, None) => Ok(None),
        (Some(path), None, None) => {
            let prop = "ssl.keystore.location";
            let pem = PemSource::File(path.clone()).read(prop)?;
            let from = path.display().to_string();
            Ok(Some((
                certificates(&pem, prop, &from)?,
                private_key(&pem, prop, &from)?,
            )))
        }
        (Some(_), _, _) => Err(config_err(
            "ssl.keystore.location",
            "give either a keystore or a certificate and key, not both",
        )),
        (None, Some(cert), Some(key)) => {
            let chain = certificates(
                &cert.read("ssl.certificate.location")?,
                "ssl.certificate.location",
                &cert.describe(),
            )?;
            let key = private_key(
                &key.read("ssl.key.location")?,
                "ssl.key.location",
                &key.describe(),
            )?;
            Ok(Some((chain, key)))
        }
        (None, Some(_), None) => Err(config_err(
            "ssl.key.location",
            "a client certificate needs its private key",
        )),
        (None, None, Some(_)) => Err(config_err(
            "ssl.certificate.location",
            "a client private key needs its certificate",
        )),
    }
}

/// Verifies the chain like webpki but accepts any name in it
/// (`ssl.endpoint.identification.algorithm=none`). webpki checks the name only after the chain
/// and validity, so `NotValidForName` means everything else passed.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The name to verify: the override, else the host of `host:port` (an IP address is matched
/// against the certificate's IP SANs and sent without SNI, RFC 6066 section 3).
fn server_name(addr: &str, name_override: Option<&str>) -> Result<ServerName<'static>> {
    let host = match name_override {
        Some(n) => n,
        None => {
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            host.trim_start_matches('[').trim_end_matches(']')
        }
    };
    ServerName::try_from(host.to_owned()).map_err(|_| KafkaError::Tls {
        addr: addr.to_owned(),
        reason: format!("`{host}` is not a valid TLS server name"),
    })
}

/// Runs the TLS handshake on a connected socket within `timeout`.
pub(crate) async fn handshake(
    addr: &str,
    tcp: TcpStream,
    config: &ClientConfig,
    timeout: Duration,
) -> Result<TlsStream<TcpStream>> {
    let rustls = config.security.rustls_config()?;
    let name = server_name(addr, config.security.tls.server_name.as_deref())?;
    let connector = tokio_rustls::TlsConnector::from(rustls);
    match tokio::time::timeout(timeout, connector.connect(name.clone(), tcp)).await {
        Err(_) => Err(KafkaError::Timeout {
            what: format!("TLS handshake with {addr}"),
            after: timeout,
        }),
        Ok(Err(e)) => Err(classify(addr, &name, e)),
        Ok(Ok(stream)) => {
            debug!(broker = addr, "TLS established");
            Ok(stream)
        }
    }
}

/// Explains a plaintext client talking to a TLS port: the broker's answer is a TLS record
/// (content type 0x15 alert or 0x16 handshake, then version major 0x03, RFC 8446 section 5.1),
/// whose first four bytes read as an absurd Kafka frame size. That is a configuration error,
/// not a broken connection, so it becomes a non-retriable TLS error.
pub(crate) fn explain_plaintext_to_tls(
    e: KafkaError,
    addr: &str,
    config: &ClientConfig,
) -> KafkaError {
    let size = match &e {
        KafkaError::Decode(d) => match d.kind() {
            kafka_protocol::DecodeErrorKind::FrameTooLarge { size, .. } => Some(*size),
            _ => None,
        },
        _ => None,
    };
    if let Some(size) = size {
        let b = (size as u32).to_be_bytes();
        if !config.security_protocol.uses_tls() && matches!(b[0], 0x15 | 0x16) && b[1] == 0x03 {
            return KafkaError::Tls {
                addr: addr.to_owned(),
                reason: format!(
                    "the broker answered in TLS: this is a TLS listener, but security.protocol \
                     is {} (use SSL or SASL_SSL)",
                    config.security_protocol.name()
                ),
            };
        }
    }
    e
}

/// A failed handshake: rustls's verdicts are final (the same certificate fails the same way
/// next time, so no retry); a dropped connection is an ordinary, retriable one.
fn classify(addr: &str, name: &ServerName<'_>, e: std::io::Error) -> KafkaError {
    let tls = |reason: String| KafkaError::Tls {
        addr: addr.to_owned(),
        reason,
    };
    if let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls(describe(err, name));
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
            KafkaError::Connection {
                addr: addr.to_owned(),
                reason: format!(
                    "closed during the TLS handshake ({e}); is this port a TLS listener \
                     (security.protocol SSL / SASL_SSL)?"
                ),
            }
        }
        _ => KafkaError::Connection {
            addr: addr.to_owned(),
            reason: format!("TLS handshake: {e}"),
        },
    }
}

fn describe(err: &rustls::Error, name: &ServerName<'_>) -> String {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => "the broker's certificate \
             is not signed by a trusted CA (set ssl.ca.location / ssl.truststore.location to \
             the CA that signed it)"
            .into(),
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "{err}: the broker's certificate is not valid for {} (hostname verification; \
             ssl.endpoint.identification.algorithm=none disables it)",
            name.to_str()
        ),
        E::InvalidCertificate(_) => format!("the broker's certificate was rejected: {err}"),
        E::AlertReceived(alert) => format!(
            "the broker refused the handshake with the alert {alert:?} (does it require a \
             client certificate, ssl.certificate.location / ssl.keystore.location?)"
        ),
        E::InvalidMessage(_) => {
            format!("{err}: the peer does not speak TLS (is this port a TLS listener?)")
        }
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_addresses() {
        assert_eq!(
            server_name("localhost:9094", None).unwrap().to_str(),
            "localhost"
        );
        assert!(matches!(
            server_name("127.0.0.1:9094", None).unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]:9094", None).unwrap(),
            ServerName::IpAddress(_)
        ));
        assert_eq!(
            server_name("127.0.0.1:9094", Some("wrong.example"))
                .unwrap()
                .to_str(),
            "wrong.example"
        );
    }

    #[test]
    fn properties_and_errors() {
        let mut t = TlsConfig::default();
        assert!(t.try_set("ssl.truststore.type", "pem").unwrap());
        assert!(t
            .try_set("ssl.endpoint.identification.algorithm", "")
            .unwrap());
        assert!(!t.verify_hostname);
        assert!(t.try_set("ssl.enabled.protocols", "TLSv1.3").unwrap());
        assert_eq!(t.versions, vec![TlsVersion::Tls13]);
        assert!(t.try_set("ssl.enabled.protocols", "SSLv3").is_err());
        let e = t.try_set("ssl.key.password", "hunter2").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!t.try_set("ssl.nonsense", "x").unwrap());
        // An inline key is redacted in Debug.
        t.try_set(
            "ssl.key.pem",
            "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----",
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("SECRETKEY"));
    }

    #[test]
    fn bad_inline_key_error_does_not_echo_it() {
        let t = TlsConfig {
            certificate: Some(PemSource::Pem(Password::new("x"))),
            key: Some(PemSource::Pem(Password::new(
                "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n",
            ))),
            ..TlsConfig::default()
        };
        let e = client_identity(&t).unwrap_err().to_string();
        assert!(!e.contains("SECRETKEY"), "{e}");
    }

    #[test]
    fn builds_with_generated_ca_and_client_identity() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["client".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let t = TlsConfig::default().ca_pem(ca.pem()).verify_hostname(false);
        let t = TlsConfig {
            certificate: Some(PemSource::Pem(Password::new(leaf.pem()))),
            key: Some(PemSource::Pem(Password::new(leaf_key.serialize_pem()))),
            ..t
        };
        let cache = Cache::default();
        let a = cache.get(&t).unwrap();
        let b = cache.get(&t).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "built once");
        assert!(a.client_auth_cert_resolver.has_certs());
        let c = cache.get(&t.clone().verify_hostname(true)).unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "a changed setting rebuilds");
        // Only a certificate, no key.
        let half = TlsConfig {
            key: None,
            ..t.clone()
        };
        assert!(Cache::default().get(&half).is_err());
        // Neither CA nor key: the system roots (or the compiled-in ones).
        Cache::default().get(&TlsConfig::default()).unwrap();
    }
}
