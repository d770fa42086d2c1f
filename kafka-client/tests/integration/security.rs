//! TLS and SASL against the real broker in security mode (`scripts/kafka up --security`):
//! SSL, SASL_PLAINTEXT and SASL_SSL listeners, PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512 /
//! OAUTHBEARER, mutual TLS, re-authentication (KIP-368), and the failures that must be fast
//! and clear.
//!
//! Gated behind `KAFKA_RS_SECURITY_TESTS=1`, because only one broker mode runs at a time on
//! the default ports and the other suites use the plain single node:
//!
//! ```sh
//! KAFKA_RS_SECURITY_TESTS=1 cargo test -p kafka-client --test integration security::
//! # beside a running plain broker, on ports shifted by 300 (9392..9396):
//! KAFKA_PORT_OFFSET=300 KAFKA_RS_SECURITY_TESTS=1 cargo test -p kafka-client --test integration security::
//! ```
//!
//! With no broker on those ports the suite starts `scripts/kafka up --security` itself, adding
//! OAUTHBEARER (Kafka's unsecured test validator) and a 2 s session limit for SCRAM-SHA-256 on
//! SASL_PLAINTEXT (to see re-authentication). If a broker of another mode runs there, every
//! test here says so on stderr and does nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kafka_client::admin::{Admin, NewTopic};
use kafka_client::consumer::{Consumer, ConsumerConfig};
use kafka_client::producer::{Producer, ProducerRecord};
use kafka_client::security::{
    OAuthBearerToken, OAuthBearerTokenProvider, SaslConfig, TlsConfig, TokenFuture,
};
use kafka_client::{Client, ClientConfig, KafkaError, ProducerConfig};

use crate::common;

const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";

/// Server properties the suite adds when it starts the broker itself. `\u0020` is a space in a
/// Java properties file (`KAFKA_EXTRA_PROPS` splits on spaces).
const EXTRA_PROPS: &str = "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER \
listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule\\u0020required; \
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule\\u0020required; \
listener.name.sasl_plaintext.scram-sha-256.connections.max.reauth.ms=2000";

/// The running security-mode broker.
#[derive(Debug)]
struct Env {
    ssl: String,
    sasl_plaintext: String,
    sasl_ssl: String,
    plaintext: String,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    client_keystore: PathBuf,
    /// OAUTHBEARER enabled and the SCRAM-SHA-256 session limit set (the suite's own broker).
    extras: bool,
}

/// Says something on the terminal even though libtest captures `eprintln!` of passing tests.
fn notice(msg: &str) {
    let _ = writeln!(std::io::stderr(), "security tests: {msg}");
}

fn status() -> (i32, String) {
    let out = Command::new(common::repo().join("scripts/kafka"))
        .arg("status")
        .output()
        .expect("run scripts/kafka status");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        .map(str::trim)
}

/// The security broker, started if nothing runs; `None` (after saying why) when the suite must
/// not run.
fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Option<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        if std::env::var("KAFKA_RS_SECURITY_TESTS").as_deref() != Ok("1") {
            notice(
                "skipped (set KAFKA_RS_SECURITY_TESTS=1 to run them against \
                 `scripts/kafka up --security`; see docs/security.md)",
            );
            return None;
        }
        let (code, mut text) = status();
        if code == 3 {
            notice("starting `scripts/kafka up --security`");
            let out = Command::new(common::repo().join("scripts/kafka"))
                .args(["up", "--security"])
                .env("KAFKA_EXTRA_PROPS", EXTRA_PROPS)
                .output()
                .expect("run scripts/kafka up --security");
            assert!(
                out.status.success(),
                "scripts/kafka up --security failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            text = status().1;
        }
        let mode = field(&text, "mode").unwrap_or("?");
        // KAFKA_RS_SECURITY_TESTS=1 asks for the suite: a broker of another mode on these ports
        // must fail it, not turn every test into a silent pass.
        assert!(
            mode == "security",
            "a `{mode}` broker runs on the security suite's ports. Run the suite when none runs, \
             after `scripts/kafka down`, or beside it with KAFKA_PORT_OFFSET=300"
        );
        let path = |name: &str| PathBuf::from(field(&text, name).expect(name));
        let logs = path("logs");
        let props =
            std::fs::read_to_string(logs.with_file_name("server.properties")).unwrap_or_default();
        let extras = props.contains("OAUTHBEARER") && props.contains("connections.max.reauth.ms");
        if !extras {
            notice(
                "the running security broker was not started by this suite: the OAUTHBEARER \
                 and re-authentication tests are skipped",
            );
        }
        let ca = path("ca");
        Some(Env {
            ssl: field(&text, "bootstrap.ssl").unwrap().to_owned(),
            sasl_plaintext: field(&text, "bootstrap.sasl_plaintext").unwrap().to_owned(),
            sasl_ssl: field(&text, "bootstrap.sasl_ssl").unwrap().to_owned(),
            plaintext: field(&text, "bootstrap").unwrap().to_owned(),
            client_keystore: ca.with_file_name("client-keystore.pem"),
            ca,
            client_cert: path("client-cert"),
            client_key: path("client-key"),
            extras,
        })
    })
    .as_ref()
}

/// A client config from Kafka-style properties (as users would write them).
fn config(bootstrap: &str, props: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap)
        .client_id("kafka-rs-security-it")
        .default_api_timeout(Duration::from_secs(30));
    for (k, v) in props {
        c.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    c
}

fn sasl_props<'a>(mechanism: &'a str, ca: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("sasl.mechanism", mechanism),
        ("sasl.username", USER),
        ("sasl.password", PASSWORD),
        ("ssl.ca.location", ca),
    ]
}

/// Creates a topic, produces records and reads them back, all over `config`'s listener.
async fn round_trip(name: &str, config: ClientConfig) {
    let client = Client::connect(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: connect: {e}"));
    let topic = common::unique_topic(&format!("sec-{name}"));
    Admin::new(client.clone())
        .create_topic(NewTopic::new(&topic).partitions(1))
        .await
        .unwrap_or_else(|e| panic!("{name}: create topic: {e}"));
    let producer = Producer::with_client(
        client.clone(),
        ProducerConfig {
            client: config,
            ..ProducerConfig::default()
        },
        None,
    )
    .unwrap();
    let n = 20;
    let mut deliveries = Vec::new();
    for i in 0..n {
        let r = ProducerRecord::new(topic.clone(), format!("{name}-{i}")).key(format!("k{i}"));
        deliveries.push(producer.send(r).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap_or_else(|e| panic!("{name}: delivery: {e}"));
    }
    let mut cc = ConsumerConfig::default();
    cc.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(client, cc).unwrap();
    consumer.assign_topic(&topic).await.unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while values.len() < n && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    let want: Vec<String> = (0..n).map(|i| format!("{name}-{i}")).collect();
    assert_eq!(values, want, "{name}");
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_with_ca_file() {
    let Some(env) = env() else { return };
    let ca = env.ca.to_str().unwrap();
    round_trip(
        "ssl",
        config(
            &env.ssl,
            &[
                ("security.protocol", "SSL"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", ca),
            ],
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_with_client_certificate() {
    let Some(env) = env() else { return };
    let ca = env.ca.to_str().unwrap();
    // librdkafka names: certificate and key files.
    round_trip(
        "mtls-files",
        config(
            &env.ssl,
            &[
                ("security.protocol", "SSL"),
                ("ssl.ca.location", ca),
                (
                    "ssl.certificate.location",
                    env.client_cert.to_str().unwrap(),
                ),
                ("ssl.key.location", env.client_key.to_str().unwrap()),
            ],
        ),
    )
    .await;
    // Java names: one PEM keystore with key and chain.
    round_trip(
        "mtls-keystore",
        config(
            &env.ssl,
            &[
                ("security.protocol", "SSL"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", ca),
                ("ssl.keystore.type", "PEM"),
                (
                    "ssl.keystore.location",
                    env.client_keystore.to_str().unwrap(),
                ),
            ],
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_every_mechanism() {
    let Some(env) = env() else { return };
    let ca = env.ca.to_str().unwrap();
    for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut props = sasl_props(mech, ca);
        props.push(("security.protocol", "SASL_PLAINTEXT"));
        round_trip(
            &format!("sasl-plaintext-{mech}"),
            config(&env.sasl_plaintext, &props),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_every_mechanism_and_jaas_config() {
    let Some(env) = env() else { return };
    let ca = env.ca.to_str().unwrap();
    for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut props = sasl_props(mech, ca);
        props.push(("security.protocol", "SASL_SSL"));
        round_trip(&format!("sasl-ssl-{mech}"), config(&env.sasl_ssl, &props)).await;
    }
    // The Java client's way of giving credentials.
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{USER}\" password=\"{PASSWORD}\";"
    );
    round_trip(
        "sasl-ssl-jaas",
        config(
            &env.sasl_ssl,
            &[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.jaas.config", &jaas),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", ca),
            ],
        ),
    )
    .await;
}

/// A TCP proxy in front of `target` that counts the connections made through it: the bootstrap
/// connection attempts of a client pointed at it.
async fn counting_proxy(target: &str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let (c, target) = (count.clone(), target.to_owned());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, count)
}

/// Connects through a counting proxy; the failure must come within `bound`, after one
/// connection attempt, while `default.api.timeout.ms` (30 s) would allow many retries.
async fn fails_fast(target: &str, props: &[(&str, &str)], bound: Duration) -> KafkaError {
    let (proxy, attempts) = counting_proxy(target).await;
    let started = Instant::now();
    let err = Client::connect(config(&proxy, props)).await.unwrap_err();
    let took = started.elapsed();
    assert!(took < bound, "took {took:?}: {err}");
    let n = attempts.load(Ordering::SeqCst);
    assert_eq!(n, 1, "{n} connection attempts: {err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_fail_fast() {
    let Some(env) = env() else { return };
    let ca = env.ca.to_str().unwrap();
    for (listener, protocol) in [
        (&env.sasl_plaintext, "SASL_PLAINTEXT"),
        (&env.sasl_ssl, "SASL_SSL"),
    ] {
        for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            for (user, pass) in [(USER, "not-the-password"), ("mallory", PASSWORD)] {
                let props = [
                    ("security.protocol", protocol),
                    ("sasl.mechanism", mech),
                    ("sasl.username", user),
                    ("sasl.password", pass),
                    ("ssl.ca.location", ca),
                ];
                let err = fails_fast(listener, &props, Duration::from_secs(5)).await;
                let what = format!("{protocol} {mech} {user}: {err}");
                assert!(matches!(err, KafkaError::Authentication { .. }), "{what}");
                assert!(
                    err.to_string().contains("SASL_AUTHENTICATION_FAILED"),
                    "{what}"
                );
                assert!(!err.is_retriable(), "{what}");
                assert!(!err.to_string().contains(pass), "{what}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_fails_fast() {
    let Some(env) = env() else { return };
    // A CA that did not sign the broker's certificate.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_ca = params.self_signed(&key).unwrap();
    let path = std::env::temp_dir().join(format!("kafka-rs-other-ca-{}.pem", std::process::id()));
    std::fs::write(&path, other_ca.pem()).unwrap();
    let err = fails_fast(
        &env.ssl,
        &[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", path.to_str().unwrap()),
        ],
        Duration::from_secs(5),
    )
    .await;
    let _ = std::fs::remove_file(&path);
    assert!(matches!(err, KafkaError::Tls { .. }), "{err}");
    assert!(
        err.to_string().contains("not signed by a trusted CA"),
        "{err}"
    );
    // The system roots do not trust the test CA either.
    let err = fails_fast(
        &env.sasl_ssl,
        &[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ],
        Duration::from_secs(5),
    )
    .await;
    assert!(matches!(err, KafkaError::Tls { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_hostname_fails_fast_unless_verification_is_off() {
    let Some(env) = env() else { return };
    let (proxy, attempts) = counting_proxy(&env.ssl).await;
    // The broker's certificate names localhost and 127.0.0.1, not wrong.example.
    let tls = TlsConfig::new()
        .ca_file(&env.ca)
        .server_name("wrong.example");
    let cfg = config(&proxy, &[("security.protocol", "SSL")]).tls(tls.clone());
    let started = Instant::now();
    let err = Client::connect(cfg).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "{err}");
    assert!(matches!(err, KafkaError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("wrong.example"), "{err}");
    assert!(err.to_string().contains("not valid for"), "{err}");

    // The same with hostname verification off: the chain is still checked, the name is not.
    let mut cfg = config(&env.ssl, &[("security.protocol", "SSL")]).tls(tls);
    cfg.set("ssl.endpoint.identification.algorithm", "none")
        .unwrap();
    round_trip("no-hostname-check", cfg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_protocol_for_the_port_fails_cleanly() {
    let Some(env) = env() else { return };
    // Plaintext Kafka on the TLS port: the broker answers our ApiVersions bytes with a TLS
    // alert. Recognised as such: a non-retriable TLS error naming security.protocol.
    let err = fails_fast(&env.ssl, &[], Duration::from_secs(5)).await;
    assert!(matches!(err, KafkaError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("security.protocol"), "{err}");

    // TLS on the plaintext port: the broker reads the ClientHello as a bogus request size
    // and closes; the handshake fails without hanging.
    let mut cfg = config(
        &env.plaintext,
        &[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", env.ca.to_str().unwrap()),
        ],
    );
    cfg.default_api_timeout = Duration::from_secs(3);
    let started = Instant::now();
    let err = Client::connect(cfg).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

/// Captures everything the client logs (all levels) on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The buffer that events logged on this thread go to, while a test captures.
    static CAPTURING: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Writes to the current thread's capture buffer, or nowhere.
struct ThreadCapture;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadCapture {
    type Writer = Box<dyn Write + 'a>;
    fn make_writer(&'a self) -> Self::Writer {
        match CAPTURING.with(|c| c.borrow().clone()) {
            Some(buffer) => Box::new(buffer),
            None => Box::new(std::io::sink()),
        }
    }
}

/// Stops capturing on this thread when dropped.
struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURING.with(|c| c.borrow_mut().take());
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Sends every event and span field of every level logged on this thread to this buffer
    /// (the tests below run on a current-thread runtime, so every task the client spawns logs
    /// here too).
    ///
    /// The subscriber is process-wide and decides per event, never per callsite: a scoped
    /// (`set_default`) subscriber lets tracing cache a callsite's interest as "never" when
    /// another test thread registers it first, which made this capture miss lines at random.
    fn install(&self) -> CaptureGuard {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        static GLOBAL: OnceLock<()> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let only_while_capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
                CAPTURING.with(|c| c.borrow().is_some())
            })
            .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(ThreadCapture)
                .with_filter(only_while_capturing);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("no other global subscriber in this test binary");
        });
        CAPTURING.with(|c| *c.borrow_mut() = Some(self.clone()));
        CaptureGuard
    }
}

#[tokio::test]
async fn passwords_never_in_logs_errors_or_debug() {
    let Some(env) = env() else { return };
    let logs = Captured::default();
    let _guard = logs.install();
    let ca = env.ca.to_str().unwrap();
    let mut texts = Vec::new();

    // Success over SASL_SSL with SCRAM, then PLAIN (whose message carries the password).
    for mech in ["SCRAM-SHA-512", "PLAIN"] {
        let mut props = sasl_props(mech, ca);
        props.push(("security.protocol", "SASL_SSL"));
        let cfg = config(&env.sasl_ssl, &props);
        texts.push(format!("{cfg:?}"));
        let client = Client::connect(cfg).await.unwrap();
        client.refresh_metadata(None).await.unwrap();
        texts.push(format!("{client:?}"));
    }
    // Failures with a distinctive wrong password.
    let wrong = "Wr0ng-Pa55word-Marker";
    for mech in ["PLAIN", "SCRAM-SHA-256"] {
        let cfg = config(
            &env.sasl_plaintext,
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", mech),
                ("sasl.username", USER),
                ("sasl.password", wrong),
            ],
        );
        texts.push(format!("{cfg:?}"));
        let err = Client::connect(cfg).await.unwrap_err();
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    // A bad property value that is a secret.
    let e = ClientConfig::new("h:1")
        .set("ssl.key.password", PASSWORD)
        .unwrap_err();
    texts.push(e.to_string());

    let log = logs.text();
    assert!(
        log.contains("SASL authenticated") && log.lines().count() > 10,
        "the capture must see the client's logs:\n{log}"
    );
    for secret in [PASSWORD, wrong] {
        for line in log.lines() {
            assert!(!line.contains(secret), "log line shows a password: {line}");
        }
        for t in &texts {
            assert!(!t.contains(secret), "shows a password: {t}");
        }
    }
}

/// A token provider making Kafka's unsecured JWS tokens (`alg: none`), which the broker's
/// default OAUTHBEARER validator accepts: a stand-in for an identity provider.
#[derive(Debug)]
struct UnsecuredTokens {
    subject: String,
    lifetime_s: i64,
    calls: AtomicUsize,
}

impl OAuthBearerTokenProvider for UnsecuredTokens {
    fn token(&self) -> TokenFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let claims = URL_SAFE_NO_PAD.encode(
                format!(
                    r#"{{"sub":"{}","iat":{now},"exp":{}}}"#,
                    self.subject,
                    now + self.lifetime_s
                )
                .as_bytes(),
            );
            Ok(OAuthBearerToken::new(format!("{header}.{claims}.")))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_with_a_token_provider() {
    let Some(env) = env() else { return };
    if !env.extras {
        notice("oauthbearer_with_a_token_provider skipped: OAUTHBEARER is not enabled");
        return;
    }
    let ca = env.ca.to_str().unwrap();
    for (listener, protocol) in [
        (&env.sasl_plaintext, "SASL_PLAINTEXT"),
        (&env.sasl_ssl, "SASL_SSL"),
    ] {
        let provider = Arc::new(UnsecuredTokens {
            subject: USER.into(),
            lifetime_s: 3600,
            calls: AtomicUsize::new(0),
        });
        let cfg = config(
            listener,
            &[("security.protocol", protocol), ("ssl.ca.location", ca)],
        )
        .sasl(SaslConfig::oauthbearer(provider.clone()));
        round_trip(&format!("oauth-{protocol}"), cfg).await;
        assert!(provider.calls.load(Ordering::SeqCst) >= 1);
    }
    // An expired token: the broker's error challenge, then a clear failure.
    let expired = Arc::new(UnsecuredTokens {
        subject: USER.into(),
        lifetime_s: -60,
        calls: AtomicUsize::new(0),
    });
    let (proxy, attempts) = counting_proxy(&env.sasl_plaintext).await;
    let cfg = config(&proxy, &[("security.protocol", "SASL_PLAINTEXT")])
        .sasl(SaslConfig::oauthbearer(expired));
    let started = Instant::now();
    let err = Client::connect(cfg).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "{err}");
    assert!(matches!(err, KafkaError::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("invalid_token"), "{err}");
}

/// The broker limits SCRAM-SHA-256 sessions on SASL_PLAINTEXT to 2 s (KIP-368): one connection
/// used for 7 s keeps working only if the client re-authenticates in time (a broker closes a
/// connection whose session expired at its next request).
#[tokio::test]
async fn reauthenticates_before_the_session_expires() {
    let Some(env) = env() else { return };
    if !env.extras {
        notice("reauthenticates_before_the_session_expires skipped: no session limit set");
        return;
    }
    let logs = Captured::default();
    let _guard = logs.install();
    let cfg = config(
        &env.sasl_plaintext,
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ],
    );
    let client = Client::connect(cfg.clone()).await.unwrap();
    let node = *client.cluster().brokers.keys().next().unwrap();
    let conn = client.connection(node).await.unwrap();
    let topic = common::unique_topic("sec-reauth");
    Admin::new(client.clone())
        .create_topic(NewTopic::new(&topic).partitions(1))
        .await
        .unwrap();
    let producer = Producer::with_client(
        client.clone(),
        ProducerConfig {
            client: cfg,
            ..ProducerConfig::default()
        },
        None,
    )
    .unwrap();
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(7) {
        let d = producer
            .send(ProducerRecord::new(topic.clone(), format!("r{sent}")))
            .await
            .unwrap();
        d.await
            .unwrap_or_else(|e| panic!("after {:?}: {e}", started.elapsed()));
        client
            .send_to(node, &kafka_protocol::generated::MetadataRequest::default())
            .await
            .unwrap_or_else(|e| panic!("after {:?}: {e}", started.elapsed()));
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let same = client.connection(node).await.unwrap();
    assert!(Arc::ptr_eq(&conn, &same), "the connection was replaced");
    assert!(!conn.is_closed());
    let log = logs.text();
    let reauths = log.matches("SASL re-authenticated").count();
    assert!(reauths >= 3, "{reauths} re-authentications in 7 s:\n{log}");
    assert!(!log.contains("re-authentication failed"), "{log}");
    producer.close().await;
}
