//! The byte stream under a connection. Only plaintext TCP today; TLS and SASL (a later issue)
//! become more variants, and the connection driver only sees the split halves.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::SecurityProtocol;
use crate::error::{KafkaError, Result};

/// A connected stream to a broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
}

/// The read half of a [`Transport`].
pub type ReadHalf<'a> = Box<dyn AsyncRead + Unpin + Send + 'a>;
/// The write half of a [`Transport`].
pub type WriteHalf<'a> = Box<dyn AsyncWrite + Unpin + Send + 'a>;

impl Transport {
    /// Opens a stream to `addr` within `timeout` (`socket.connection.setup.timeout.ms`).
    pub async fn connect(
        addr: &str,
        protocol: SecurityProtocol,
        timeout: Duration,
    ) -> Result<Self> {
        let conn_err = |reason: String| KafkaError::Connection {
            addr: addr.to_owned(),
            reason,
        };
        match protocol {
            SecurityProtocol::Plaintext => {
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
                Ok(Transport::Tcp(stream))
            }
        }
    }

    /// Borrowed read and write halves, usable concurrently in one task.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Transport::Tcp(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
        }
    }
}
