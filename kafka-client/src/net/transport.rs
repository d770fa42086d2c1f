//! The byte stream under a connection: plain TCP or TLS (`crate::security::tls`). SASL runs
//! on top of either once the connection is up; the connection driver only sees the split halves.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::ClientConfig;
use crate::error::{KafkaError, Result};

/// A connected stream to a broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (`security.protocol` SSL or SASL_SSL).
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The read half of a [`Transport`].
pub type ReadHalf<'a> = Box<dyn AsyncRead + Unpin + Send + 'a>;
/// The write half of a [`Transport`].
pub type WriteHalf<'a> = Box<dyn AsyncWrite + Unpin + Send + 'a>;

impl Transport {
    /// Opens a stream to `addr` within `timeout` (`socket.connection.setup.timeout.ms`), with
    /// the TLS handshake when `security.protocol` asks for it.
    pub async fn connect(addr: &str, config: &ClientConfig, timeout: Duration) -> Result<Self> {
        let started = std::time::Instant::now();
        let conn_err = |reason: String| KafkaError::Connection {
            addr: addr.to_owned(),
            reason,
        };
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| KafkaError::Timeout {
                what: format!("connecting to {addr}"),
                after: timeout,
            })?
            .map_err(|e| conn_err(e.to_string()))?;
        // Requests are whole frames written at once; Nagle would only add latency.
        stream
            .set_nodelay(true)
            .map_err(|e| conn_err(e.to_string()))?;
        if config.security_protocol.uses_tls() {
            let left = timeout.saturating_sub(started.elapsed());
            let tls = crate::security::tls::handshake(addr, stream, config, left).await?;
            return Ok(Transport::Tls(Box::new(tls)));
        }
        Ok(Transport::Tcp(stream))
    }

    /// Borrowed read and write halves, usable concurrently in one task.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Transport::Tcp(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
            Transport::Tls(s) => {
                let (r, w) = tokio::io::split(&mut **s);
                (Box::new(r), Box::new(w))
            }
        }
    }
}
