//! The tokio driver of one broker connection: a task that owns the socket and a
//! [`ConnectionCore`], fed by a channel of encoded requests.
//!
//! Callers encode on their own task (no lock, no copy into the I/O task), the driver assigns the
//! correlation id, writes frames back to back (pipelining) and routes each response to its
//! caller by correlation id. Reads and writes run concurrently in one `select!` so that a large
//! write never stops us reading: the broker mutes a connection until its response is read, so
//! blocking on either direction alone could deadlock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::codec::{Writer, DEFAULT_MIN_REFERENCE};
use kafka_protocol::frame;
use kafka_protocol::{ApiKey, Message, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, trace};

use super::transport::Transport;
use crate::config::ClientConfig;
use crate::conn::{ApiVersions, ConnectionCore, Event, ResponseFrame, Submission, ThrottleTime};
use crate::error::{KafkaError, Result};

type Reply = oneshot::Sender<Result<Option<ResponseFrame>>>;

pub(crate) enum Command {
    Request {
        frame: Writer,
        api_key: ApiKey,
        version: i16,
        expects_response: bool,
        timeout: Duration,
        reply: Reply,
        /// Sent even while the connection is held (SASL re-authentication, KIP-368).
        exclusive: bool,
    },
    Throttle(i32),
    /// Holds back (true) or releases (false) all but exclusive requests.
    Hold(bool),
}

/// A live connection to one broker. Cheap to share behind an `Arc`; closed when dropped by
/// everyone, when idle past `connections.max.idle.ms`, or on an error.
#[derive(Debug)]
pub struct BrokerConnection {
    addr: String,
    client_id: String,
    versions: ApiVersions,
    request_timeout: Duration,
    tx: mpsc::UnboundedSender<Command>,
    closed: Arc<AtomicBool>,
}

/// A response on its way; resolves to the decoded, typed response.
#[derive(Debug)]
pub struct PendingResponse<R: Request> {
    rx: oneshot::Receiver<Result<Option<ResponseFrame>>>,
    tx: mpsc::UnboundedSender<Command>,
    addr: String,
    _marker: std::marker::PhantomData<fn() -> R>,
}

impl<R: Request> PendingResponse<R>
where
    R::Response: ThrottleTime,
{
    /// Waits for the response and decodes it. `Ok(None)` for requests sent without expecting
    /// one (acks=0 produce).
    pub async fn wait(self) -> Result<Option<R::Response>> {
        let frame = self.rx.await.map_err(|_| KafkaError::Connection {
            addr: self.addr.clone(),
            reason: "connection task ended".into(),
        })?;
        let frame = frame.map_err(|e| with_addr(e, &self.addr))?;
        let Some(frame) = frame else {
            return Ok(None);
        };
        let resp = R::Response::decode_exact(&frame.body, frame.version)?;
        let throttle = resp.throttle_time_ms();
        if throttle > 0 {
            debug!(broker = %self.addr, throttle, "throttled by broker");
            let _ = self.tx.send(Command::Throttle(throttle));
        }
        Ok(Some(resp))
    }
}

/// Fills in the broker address the sans-IO core cannot know.
fn with_addr(e: KafkaError, addr: &str) -> KafkaError {
    match e {
        KafkaError::Connection { addr: a, reason } if a.is_empty() => KafkaError::Connection {
            addr: addr.to_owned(),
            reason,
        },
        KafkaError::Timeout { what, after } if after.is_zero() => KafkaError::Timeout {
            what: format!("{what} to {addr}"),
            after,
        },
        KafkaError::UnsupportedVersion { api, broker } if broker.is_empty() => {
            KafkaError::UnsupportedVersion {
                api,
                broker: addr.to_owned(),
            }
        }
        other => other,
    }
}

impl BrokerConnection {
    /// Connects, negotiates versions and starts the I/O task, all within
    /// `socket.connection.setup.timeout.ms`.
    pub async fn connect(addr: &str, config: &ClientConfig) -> Result<Self> {
        let setup = config.connection_setup_timeout;
        let started = Instant::now();
        let mut transport = Transport::connect(addr, config, setup).await?;
        let mut core: ConnectionCore<Reply> = ConnectionCore::new(
            &config.client_id,
            config.connections_max_idle,
            setup.saturating_sub(started.elapsed()),
            Instant::now(),
        );
        let versions = tokio::time::timeout(setup, handshake(&mut transport, &mut core))
            .await
            .map_err(|_| KafkaError::Timeout {
                what: format!("connection setup (ApiVersions) with {addr}"),
                after: setup,
            })?
            .map_err(|e| with_addr(e, addr))
            .map_err(|e| crate::security::tls::explain_plaintext_to_tls(e, addr, config))?;
        debug!(broker = addr, "connected");
        let (tx, rx) = mpsc::unbounded_channel();
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(run(transport, core, rx, closed.clone(), addr.to_owned()));
        // SASL (KIP-152) on the negotiated connection, before anyone else may use it.
        let left = setup.saturating_sub(started.elapsed());
        crate::security::sasl::on_connect(&tx, addr, config, &versions, left).await?;
        Ok(Self {
            addr: addr.to_owned(),
            client_id: config.client_id.clone(),
            versions,
            request_timeout: config.request_timeout,
            tx,
            closed,
        })
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The versions the broker advertised.
    pub fn versions(&self) -> &ApiVersions {
        &self.versions
    }

    /// Whether the connection has ended (a new one must be made).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.tx.is_closed()
    }

    /// The highest version of `R` both sides support.
    pub fn version_of<R: Request>(&self) -> Result<i16> {
        self.versions
            .negotiate(R::API_KEY)
            .ok_or_else(|| KafkaError::UnsupportedVersion {
                api: R::API_KEY,
                broker: self.addr.clone(),
            })
    }

    /// Sends `req` at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, req: &R) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        let version = self.version_of::<R>()?;
        self.send_versioned(req, version).await
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send_versioned<R: Request>(&self, req: &R, version: i16) -> Result<R::Response>
    where
        R::Response: ThrottleTime,
    {
        self.submit(req, version, true, self.request_timeout)?
            .wait()
            .await?
            .ok_or_else(|| KafkaError::Protocol("expected a response".into()))
    }

    /// Queues `req` now (requests go on the wire in submission order) and returns its pending
    /// response. With `expects_response` false (acks=0 produce) it resolves once written.
    pub fn submit<R: Request>(
        &self,
        req: &R,
        version: i16,
        expects_response: bool,
        timeout: Duration,
    ) -> Result<PendingResponse<R>> {
        // Chunked: records fields (Produce) stay the producer's buffers, written from there
        // with the frame's other chunks in one vectored write, not copied into the frame.
        let mut frame = Writer::chunked(DEFAULT_MIN_REFERENCE);
        // Correlation id 0 is a placeholder: the core patches in its own.
        frame::encode_request_to(&mut frame, 0, Some(&self.client_id), version, req)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Request {
                frame,
                api_key: R::API_KEY,
                version,
                expects_response,
                timeout,
                reply,
                exclusive: false,
            })
            .map_err(|_| KafkaError::Connection {
                addr: self.addr.clone(),
                reason: "connection is closed".into(),
            })?;
        Ok(PendingResponse {
            rx,
            tx: self.tx.clone(),
            addr: self.addr.clone(),
            _marker: std::marker::PhantomData,
        })
    }
}

async fn handshake(
    transport: &mut Transport,
    core: &mut ConnectionCore<Reply>,
) -> Result<ApiVersions> {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        while let Some(out) = core.poll_transmit(Instant::now()) {
            for chunk in out.chunks() {
                transport_write(transport, chunk).await?;
            }
        }
        while let Some(ev) = core.poll_event() {
            match ev {
                Event::Ready(v) => return Ok(v),
                Event::Closed(e) => return Err(e),
                Event::Failed(_, e) => return Err(e),
                Event::Response(..) => {}
            }
        }
        buf.clear();
        let n = {
            let (mut r, _) = transport.split();
            r.read_buf(&mut buf).await.map_err(io_err)?
        };
        if n == 0 {
            return Err(KafkaError::Connection {
                addr: String::new(),
                reason: "closed by the broker during ApiVersions".into(),
            });
        }
        core.handle_input(&buf, Instant::now());
    }
}

/// I/O vector entries per write; Linux takes up to 1024 (`IOV_MAX`), a Produce request of 64
/// partitions needs about 130.
const MAX_IO_SLICES: usize = 256;

/// Writes the first chunks with one vectored write. On plain TCP that is one `writev`. Over TLS
/// the vector reaches rustls whole (`tokio::io::split` and tokio-rustls both forward
/// `poll_write_vectored`), and rustls fills each TLS record from as many chunks as fit, so small
/// header chunks do not each become a record of their own.
async fn write_chunks(
    writer: &mut super::transport::WriteHalf<'_>,
    out: &VecDeque<Bytes>,
) -> std::io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
    let mut n = 0;
    for (slot, chunk) in slices.iter_mut().zip(out) {
        *slot = IoSlice::new(chunk);
        n += 1;
    }
    writer.write_vectored(&slices[..n]).await
}

/// Drops the first `n` bytes of the queued chunks; returns `n`.
fn consume(out: &mut VecDeque<Bytes>, n: usize) -> usize {
    let mut left = n;
    while left > 0 {
        let Some(front) = out.front_mut() else { break };
        if left >= front.len() {
            left -= front.len();
            out.pop_front();
        } else {
            front.advance(left);
            left = 0;
        }
    }
    n - left
}

async fn transport_write(transport: &mut Transport, data: &[u8]) -> Result<()> {
    let (_, mut w) = transport.split();
    w.write_all(data).await.map_err(io_err)
}

fn io_err(e: std::io::Error) -> KafkaError {
    KafkaError::Connection {
        addr: String::new(),
        reason: e.to_string(),
    }
}

/// Delivers the core's events; returns false once the connection is closed.
fn deliver(core: &mut ConnectionCore<Reply>, addr: &str) -> bool {
    let mut open = true;
    while let Some(ev) = core.poll_event() {
        match ev {
            Event::Response(reply, frame) => {
                let _ = reply.send(Ok(frame));
            }
            Event::Failed(reply, e) => {
                let _ = reply.send(Err(with_addr(e, addr)));
            }
            Event::Closed(e) => {
                debug!(broker = addr, reason = %e, "connection closed");
                open = false;
            }
            Event::Ready(_) => {}
        }
    }
    open
}

fn apply(core: &mut ConnectionCore<Reply>, cmd: Command) {
    let now = Instant::now();
    match cmd {
        Command::Request {
            frame,
            api_key,
            version,
            expects_response,
            timeout,
            reply,
            exclusive,
        } => {
            let sub = Submission {
                frame,
                api_key,
                version,
                expects_response,
                timeout,
            };
            if exclusive {
                core.submit_exclusive(sub, reply, now)
            } else {
                core.submit(sub, reply, now)
            }
        }
        Command::Throttle(ms) => core.handle_throttle(ms, now),
        Command::Hold(on) => core.set_hold(on),
    }
}

async fn run(
    mut transport: Transport,
    mut core: ConnectionCore<Reply>,
    mut rx: mpsc::UnboundedReceiver<Command>,
    closed: Arc<AtomicBool>,
    addr: String,
) {
    let (mut reader, mut writer) = transport.split();
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    // Frames to write, as their chunks (records referenced, not copied), and their total size.
    let mut out: VecDeque<Bytes> = VecDeque::new();
    let mut out_len = 0usize;
    let mut rx_open = true;
    loop {
        let now = Instant::now();
        // Queue everything ready: one vectored write (one syscall on plain TCP) for many
        // pipelined requests, without copying their records.
        while out_len < 1 << 20 {
            match core.poll_transmit(now) {
                Some(f) => {
                    for chunk in f.into_chunks() {
                        if !chunk.is_empty() {
                            out_len += chunk.len();
                            out.push_back(chunk);
                        }
                    }
                }
                None => break,
            }
        }
        if !deliver(&mut core, &addr) {
            break;
        }
        let deadline = core.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = rx.recv(), if rx_open => match cmd {
                Some(cmd) => {
                    apply(&mut core, cmd);
                    while let Ok(cmd) = rx.try_recv() {
                        apply(&mut core, cmd);
                    }
                }
                None => {
                    // Every handle is gone: finish what is in flight, then stop.
                    rx_open = false;
                    if core.in_flight() == 0 && out.is_empty() {
                        break;
                    }
                }
            },
            r = reader.read_buf(&mut rbuf) => match r {
                Ok(0) => {
                    core.handle_close(KafkaError::Connection { addr: addr.clone(), reason: "closed by the broker".into() });
                }
                Ok(n) => {
                    trace!(broker = %addr, n, "read");
                    core.handle_input(&rbuf, Instant::now());
                    rbuf.clear();
                    if !rx_open && core.in_flight() == 0 {
                        deliver(&mut core, &addr);
                        break;
                    }
                }
                Err(e) => core.handle_close(KafkaError::Connection { addr: addr.clone(), reason: e.to_string() }),
            },
            w = write_chunks(&mut writer, &out), if !out.is_empty() => match w {
                Ok(n) => out_len -= consume(&mut out, n),
                Err(e) => core.handle_close(KafkaError::Connection { addr: addr.clone(), reason: e.to_string() }),
            },
            () = sleep => core.handle_timeout(Instant::now()),
        }
    }
    closed.store(true, Ordering::Release);
    // Fail anything submitted after the close.
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        if let Command::Request { reply, .. } = cmd {
            let _ = reply.send(Err(KafkaError::Connection {
                addr: addr.clone(),
                reason: "connection is closed".into(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_drops_written_chunks_and_advances_a_partial_one() {
        let mut out: VecDeque<Bytes> = [&b"abc"[..], b"de", b"fghij"]
            .into_iter()
            .map(Bytes::from_static)
            .collect();
        assert_eq!(consume(&mut out, 4), 4);
        assert_eq!(out, [&b"e"[..], b"fghij"]);
        assert_eq!(consume(&mut out, 0), 0);
        assert_eq!(consume(&mut out, 100), 6, "only what was queued");
        assert!(out.is_empty());
    }
}
