//! The sans-IO state machine of one broker connection.
//!
//! Bytes in ([`handle_input`](ConnectionCore::handle_input)), bytes out
//! ([`poll_transmit`](ConnectionCore::poll_transmit)), time in
//! ([`handle_timeout`](ConnectionCore::handle_timeout)); events out
//! ([`poll_event`](ConnectionCore::poll_event)). No sockets and no clock, so every path (version
//! negotiation, pipelining, timeouts, throttling, idle close) is unit-tested in-process.
//!
//! Each request carries an opaque token `T` that comes back with its response or failure; the
//! tokio driver uses a oneshot sender.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::codec::{Reader, Writer};
use kafka_protocol::frame::{self, FrameDecoder};
use kafka_protocol::generated::{ApiVersionsRequest, ApiVersionsResponse, ResponseHeader};
use kafka_protocol::{ApiKey, ErrorCode, Message};

use super::versions::{client_range, ApiVersions};
use crate::error::KafkaError;

/// Byte offset of the correlation id in a request frame: size (4), api key (2), version (2).
const CORRELATION_OFFSET: usize = 8;

/// A response body, header stripped, with the version it must be decoded at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    /// The API key of the request.
    pub api_key: ApiKey,
    /// The version the request was sent at (the response uses the same).
    pub version: i16,
    /// The body bytes, after the response header.
    pub body: Bytes,
}

/// A frame to write: its chunks in order, for one vectored write. A Produce request's records
/// are chunks of their own, the producer's buffers referenced rather than copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutFrame(Vec<Bytes>);

impl OutFrame {
    /// The chunks, in order.
    pub fn chunks(&self) -> &[Bytes] {
        &self.0
    }

    /// The chunks, in order.
    pub fn into_chunks(self) -> Vec<Bytes> {
        self.0
    }

    /// Bytes over all chunks.
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Bytes::is_empty)
    }

    /// A copy of the frame as one buffer (tests and diagnostics; the driver writes the chunks).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0[..] {
            [one] => one.clone(),
            chunks => chunks.concat().into(),
        }
    }
}

impl From<Bytes> for OutFrame {
    fn from(b: Bytes) -> Self {
        Self(vec![b])
    }
}

/// A request to send, already encoded.
#[derive(Debug)]
pub struct Submission {
    /// The whole frame, size prefix included: contiguous, or chunked
    /// ([`kafka_protocol::frame::encode_request_to`] into [`Writer::chunked`]) so that its
    /// records are written from the caller's buffers without a copy.
    pub frame: Writer,
    /// Its API key.
    pub api_key: ApiKey,
    /// Its version.
    pub version: i16,
    /// False for acks=0 produce requests, which the broker never answers.
    pub expects_response: bool,
    /// How long to wait for the response.
    pub timeout: Duration,
}

/// What the connection reports.
#[derive(Debug)]
pub enum Event<T> {
    /// Versions are negotiated; requests may be submitted.
    Ready(ApiVersions),
    /// A request completed. `None` for requests that get no response (acks=0 produce): those
    /// complete once handed to the transport.
    Response(T, Option<ResponseFrame>),
    /// A request failed; the connection may still be usable (see [`Event::Closed`]).
    Failed(T, KafkaError),
    /// The connection is finished: every request still pending has been failed.
    Closed(KafkaError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the ApiVersions response sent with this correlation id.
    Negotiating(i32),
    Ready,
    Closed,
}

struct InFlight<T> {
    api_key: ApiKey,
    version: i16,
    deadline: Instant,
    token: T,
}

struct Queued<T> {
    frame: OutFrame,
    correlation_id: i32,
    expects_response: bool,
    inflight: Option<InFlight<T>>,
    /// May go out while the connection is held (see `set_hold`).
    exclusive: bool,
}

/// One connection's protocol state.
pub struct ConnectionCore<T> {
    state: State,
    client_id: String,
    next_correlation: i32,
    /// Sent and waiting for their response, by correlation id.
    in_flight: HashMap<i32, InFlight<T>>,
    /// Submitted but not yet handed to the transport (during negotiation or throttling).
    queued: VecDeque<Queued<T>>,
    /// Only exclusive requests go out (SASL re-authentication, KIP-368).
    hold: bool,
    handshake: Option<Bytes>,
    handshake_deadline: Instant,
    read_buf: BytesMut,
    decoder: FrameDecoder,
    events: VecDeque<Event<T>>,
    throttled_until: Option<Instant>,
    idle_timeout: Duration,
    last_activity: Instant,
}

impl<T> std::fmt::Debug for ConnectionCore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionCore")
            .field("state", &self.state)
            .field("in_flight", &self.in_flight.len())
            .field("queued", &self.queued.len())
            .finish_non_exhaustive()
    }
}

impl<T> ConnectionCore<T> {
    /// A connection that starts by asking the broker for its versions; the handshake must
    /// complete before `setup_timeout` passes.
    pub fn new(
        client_id: &str,
        idle_timeout: Duration,
        setup_timeout: Duration,
        now: Instant,
    ) -> Self {
        let mut core = Self {
            state: State::Closed,
            client_id: client_id.to_owned(),
            next_correlation: 0,
            in_flight: HashMap::new(),
            queued: VecDeque::new(),
            handshake: None,
            handshake_deadline: now + setup_timeout,
            read_buf: BytesMut::with_capacity(64 * 1024),
            decoder: FrameDecoder::default(),
            events: VecDeque::new(),
            throttled_until: None,
            hold: false,
            idle_timeout,
            last_activity: now,
        };
        let version = client_range(ApiKey::API_VERSIONS).map_or(0, |r| r.1);
        core.start_handshake(version);
        core
    }

    fn start_handshake(&mut self, version: i16) {
        let id = self.take_correlation_id();
        // KIP-511: the client names itself so brokers can report client versions.
        let req = ApiVersionsRequest {
            client_software_name: "kafka-rs".into(),
            client_software_version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        let mut w = BytesMut::new();
        match frame::encode_request(&mut w, id, Some(&self.client_id), version, &req) {
            Ok(()) => {
                self.handshake = Some(w.freeze());
                self.state = State::Negotiating(id);
            }
            Err(e) => self.close(KafkaError::Encode(e)),
        }
    }

    fn take_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation;
        // Java wraps to 0 too; ids only need to be unique among the few in flight.
        self.next_correlation = self.next_correlation.checked_add(1).unwrap_or(0);
        id
    }

    /// Whether versions are negotiated and the connection is open.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Whether the connection is finished.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Queues a request frame built by [`kafka_protocol::frame::encode_request_to`] (chunked:
    /// records are written from the caller's buffers) or [`kafka_protocol::frame::encode_request`]
    /// (in a contiguous [`Writer`]), with any correlation id: the connection assigns its own and
    /// patches it in. The timeout counts
    /// from `now`. Requests that get no response complete when sent.
    pub fn submit(&mut self, sub: Submission, token: T, now: Instant) {
        let Submission {
            mut frame,
            api_key,
            version,
            expects_response,
            timeout,
        } = sub;
        if self.state == State::Closed {
            self.events.push_back(Event::Failed(
                token,
                KafkaError::Connection {
                    addr: String::new(),
                    reason: "connection is closed".into(),
                },
            ));
            return;
        }
        let id = self.next_correlation;
        // The size prefix and header are the first chunk of any frame the codec encodes.
        if !frame.patch(CORRELATION_OFFSET, &id.to_be_bytes()) {
            self.events.push_back(Event::Failed(
                token,
                KafkaError::Protocol("request frame shorter than its header".into()),
            ));
            return;
        }
        let id = self.take_correlation_id();
        self.last_activity = now;
        self.queued.push_back(Queued {
            frame: OutFrame(frame.into_chunks()),
            correlation_id: id,
            expects_response,
            inflight: Some(InFlight {
                api_key,
                version,
                deadline: now + timeout,
                token,
            }),
            exclusive: false,
        });
    }

    /// As [`submit`](Self::submit), for a request that goes out even while the connection is
    /// held (see [`set_hold`](Self::set_hold)).
    pub fn submit_exclusive(&mut self, sub: Submission, token: T, now: Instant) {
        let before = self.queued.len();
        self.submit(sub, token, now);
        if self.queued.len() > before {
            if let Some(q) = self.queued.back_mut() {
                q.exclusive = true;
            }
        }
    }

    /// Holds back every request but exclusive ones, or releases them. KIP-368: once the client
    /// has sent SaslHandshake to re-authenticate, nothing else may reach the broker until the
    /// SASL exchange is over.
    pub fn set_hold(&mut self, on: bool) {
        self.hold = on;
    }

    /// The next frame to write, if any may be written now.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<OutFrame> {
        if let Some(h) = self.handshake.take() {
            return Some(h.into());
        }
        if self.state != State::Ready {
            return None;
        }
        // KIP-219: after a throttled response the client itself holds back further requests to
        // this broker until the throttle time has passed.
        if self.throttled_until.is_some_and(|t| now < t) {
            return None;
        }
        let mut q = if self.hold {
            let i = self.queued.iter().position(|q| q.exclusive)?;
            self.queued.remove(i)?
        } else {
            self.queued.pop_front()?
        };
        let inflight = q
            .inflight
            .take()
            .expect("queued requests carry their state");
        if q.expects_response {
            self.in_flight.insert(q.correlation_id, inflight);
        } else {
            self.events.push_back(Event::Response(inflight.token, None));
        }
        self.last_activity = now;
        Some(q.frame)
    }

    /// Bytes read from the transport.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.read_buf.extend_from_slice(data);
        self.last_activity = now;
        loop {
            let frame = match self.decoder.decode(&mut self.read_buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return self.close(KafkaError::Decode(e)),
            };
            if let Err(e) = self.handle_frame(frame) {
                return self.close(e);
            }
            if self.state == State::Closed {
                return;
            }
        }
    }

    fn handle_frame(&mut self, frame: Bytes) -> Result<(), KafkaError> {
        let id = frame::peek_correlation_id(&frame)
            .ok_or_else(|| KafkaError::Protocol("response shorter than a correlation id".into()))?;
        if let State::Negotiating(hs) = self.state {
            if id != hs {
                return Err(KafkaError::Protocol(format!(
                    "response {id} before the ApiVersions answer"
                )));
            }
            return self.handle_handshake(frame);
        }
        let Some(inflight) = self.in_flight.remove(&id) else {
            // A response we did not ask for means the stream cannot be trusted any more.
            return Err(KafkaError::Protocol(format!(
                "response with unknown correlation id {id}"
            )));
        };
        let mut r = Reader::from_bytes(&frame);
        let header_version = inflight.api_key.response_header_version(inflight.version);
        match ResponseHeader::decode(&mut r, header_version) {
            Ok(_) => {
                let body = frame.slice(r.position()..);
                self.events.push_back(Event::Response(
                    inflight.token,
                    Some(ResponseFrame {
                        api_key: inflight.api_key,
                        version: inflight.version,
                        body,
                    }),
                ));
                Ok(())
            }
            Err(e) => {
                self.events
                    .push_back(Event::Failed(inflight.token, KafkaError::Decode(e.clone())));
                Err(KafkaError::Decode(e))
            }
        }
    }

    fn handle_handshake(&mut self, frame: Bytes) -> Result<(), KafkaError> {
        // The response header of ApiVersions is always v0 (KIP-511): just the correlation id.
        let body = frame.slice(4..);
        let ours = client_range(ApiKey::API_VERSIONS).map_or(0, |r| r.1);
        let resp = match ApiVersionsResponse::decode_exact(&body, ours) {
            Ok(r) => r,
            // A broker that does not know our version answers in v0 (KIP-511).
            Err(_) => ApiVersionsResponse::decode_exact(&body, 0)?,
        };
        if resp.error_code == ErrorCode::UNSUPPORTED_VERSION.0 {
            let theirs = resp
                .api_keys
                .iter()
                .find(|k| k.api_key == ApiKey::API_VERSIONS.0)
                .map(|k| k.max_version);
            return match theirs {
                Some(v) if v < ours && v >= 0 => {
                    self.start_handshake(v);
                    Ok(())
                }
                _ => Err(KafkaError::UnsupportedVersion {
                    api: ApiKey::API_VERSIONS,
                    broker: String::new(),
                }),
            };
        }
        KafkaError::check(resp.error_code, None, || "ApiVersions".into())?;
        let versions = ApiVersions::from_response(&resp);
        self.state = State::Ready;
        self.events.push_back(Event::Ready(versions));
        Ok(())
    }

    /// The broker asked (in a response's `throttle_time_ms`) for a pause.
    pub fn handle_throttle(&mut self, throttle_ms: i32, now: Instant) {
        if throttle_ms > 0 {
            let until = now + Duration::from_millis(throttle_ms as u64);
            self.throttled_until = Some(self.throttled_until.map_or(until, |t| t.max(until)));
        }
    }

    /// Time passed: fails expired requests and closes an idle connection.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed => {}
            State::Negotiating(_) => {
                if now >= self.handshake_deadline {
                    self.close(KafkaError::Timeout {
                        what: "connection setup (ApiVersions)".into(),
                        after: Duration::ZERO,
                    });
                }
            }
            State::Ready => {
                let expired: Vec<i32> = self
                    .in_flight
                    .iter()
                    .filter(|(_, f)| f.deadline <= now)
                    .map(|(id, _)| *id)
                    .collect();
                let queued_expired = self
                    .queued
                    .iter()
                    .any(|q| q.inflight.as_ref().is_some_and(|f| f.deadline <= now));
                if !expired.is_empty() {
                    for id in expired {
                        let f = self.in_flight.remove(&id).expect("collected above");
                        let what = format!("{} request", f.api_key);
                        self.events.push_back(Event::Failed(
                            f.token,
                            KafkaError::Timeout {
                                what,
                                after: Duration::ZERO,
                            },
                        ));
                    }
                    // As the Java client does: a request that timed out leaves the connection in
                    // an unknown state (the response may still come), so it is closed and the
                    // other requests fail with a retriable disconnect.
                    self.close(KafkaError::Connection {
                        addr: String::new(),
                        reason: "closed after a request timed out".into(),
                    });
                } else if queued_expired {
                    // Requests still held back (throttling) that ran out of time fail alone;
                    // nothing was written, so the connection stays usable.
                    let mut keep = VecDeque::new();
                    while let Some(mut q) = self.queued.pop_front() {
                        match q.inflight.take() {
                            Some(f) if f.deadline <= now => {
                                let what = format!("{} request", f.api_key);
                                self.events.push_back(Event::Failed(
                                    f.token,
                                    KafkaError::Timeout {
                                        what,
                                        after: Duration::ZERO,
                                    },
                                ));
                            }
                            other => {
                                q.inflight = other;
                                keep.push_back(q);
                            }
                        }
                    }
                    self.queued = keep;
                } else if self.in_flight.is_empty()
                    && self.queued.is_empty()
                    && now >= self.last_activity + self.idle_timeout
                {
                    // connections.max.idle.ms: free the broker's resources.
                    self.close(KafkaError::Connection {
                        addr: String::new(),
                        reason: "idle".into(),
                    });
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::Negotiating(_) => Some(self.handshake_deadline),
            State::Ready => {
                let mut next = self
                    .in_flight
                    .values()
                    .map(|f| f.deadline)
                    .chain(
                        self.queued
                            .iter()
                            .filter_map(|q| q.inflight.as_ref().map(|f| f.deadline)),
                    )
                    .min();
                if let Some(t) = self.throttled_until {
                    if !self.queued.is_empty() {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                }
                if self.in_flight.is_empty() && self.queued.is_empty() {
                    let idle = self.last_activity + self.idle_timeout;
                    next = Some(next.map_or(idle, |n| n.min(idle)));
                }
                next
            }
        }
    }

    /// The transport closed or failed: every pending request fails with `error`'s reason.
    pub fn handle_close(&mut self, error: KafkaError) {
        self.close(error);
    }

    fn close(&mut self, error: KafkaError) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.handshake = None;
        let reason = error.to_string();
        let fail = |e: &KafkaError| match e {
            KafkaError::Timeout { .. } => e.clone(),
            _ => KafkaError::Connection {
                addr: String::new(),
                reason: reason.clone(),
            },
        };
        for (_, f) in self.in_flight.drain() {
            self.events.push_back(Event::Failed(f.token, fail(&error)));
        }
        for q in self.queued.drain(..) {
            if let Some(f) = q.inflight {
                self.events.push_back(Event::Failed(f.token, fail(&error)));
            }
        }
        self.events.push_back(Event::Closed(error));
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event<T>> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::frame::encode_response_body;
    use kafka_protocol::generated::api_versions_response::ApiVersion;
    use kafka_protocol::generated::{MetadataRequest, MetadataResponse};
    use kafka_protocol::ResponseBody;

    fn versions_response(max_meta: i16) -> ApiVersionsResponse {
        ApiVersionsResponse {
            api_keys: vec![
                ApiVersion {
                    api_key: ApiKey::API_VERSIONS.0,
                    min_version: 0,
                    max_version: 4,
                    ..Default::default()
                },
                ApiVersion {
                    api_key: ApiKey::METADATA.0,
                    min_version: 0,
                    max_version: max_meta,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn response_bytes(id: i32, key: ApiKey, version: i16, body: ResponseBody) -> BytesMut {
        let mut w = BytesMut::new();
        let header = ResponseHeader {
            correlation_id: id,
            ..Default::default()
        };
        encode_response_body(&mut w, &header, key, version, &body).unwrap();
        w
    }

    fn ready_core(now: Instant) -> ConnectionCore<u32> {
        let mut c = ConnectionCore::new("t", Duration::from_secs(60), Duration::from_secs(5), now);
        let hs = c.poll_transmit(now).unwrap();
        let (header, _) = frame::decode_request(&hs.to_bytes().slice(4..)).unwrap();
        assert_eq!(header.request_api_key, ApiKey::API_VERSIONS.0);
        let resp = response_bytes(
            header.correlation_id,
            ApiKey::API_VERSIONS,
            header.request_api_version,
            ResponseBody::ApiVersions(versions_response(12)),
        );
        c.handle_input(&resp, now);
        match c.poll_event() {
            Some(Event::Ready(v)) => assert_eq!(v.negotiate(ApiKey::METADATA), Some(12)),
            other => panic!("{other:?}"),
        }
        c
    }

    fn sub(expects_response: bool, timeout: Duration) -> Submission {
        Submission {
            frame: metadata_frame(),
            api_key: ApiKey::METADATA,
            version: 12,
            expects_response,
            timeout,
        }
    }

    fn metadata_frame() -> Writer {
        let mut w = BytesMut::new();
        frame::encode_request(&mut w, 0, Some("t"), 12, &MetadataRequest::default()).unwrap();
        Writer::contiguous(w)
    }

    #[test]
    fn chunked_produce_goes_out_with_its_records_referenced() {
        use kafka_protocol::codec::DEFAULT_MIN_REFERENCE;
        use kafka_protocol::generated::{produce_request, ProduceRequest};
        let now = Instant::now();
        let mut c = ready_core(now);
        let records = Bytes::from(vec![7u8; 16 * 1024]);
        let req = ProduceRequest {
            acks: -1,
            timeout_ms: 1000,
            topic_data: vec![produce_request::TopicProduceData {
                name: "t".into(),
                partition_data: vec![produce_request::PartitionProduceData {
                    index: 0,
                    records: Some(records.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut w = Writer::chunked(DEFAULT_MIN_REFERENCE);
        frame::encode_request_to(&mut w, 0, Some("t"), 9, &req).unwrap();
        let sub = Submission {
            frame: w,
            api_key: ApiKey::PRODUCE,
            version: 9,
            expects_response: true,
            timeout: Duration::from_secs(1),
        };
        c.submit(sub, 1, now);
        let out = c.poll_transmit(now).unwrap();
        // Header and fields, the records by reference, the trailing fields.
        assert_eq!(out.chunks().len(), 3);
        assert_eq!(out.chunks()[1].as_ptr(), records.as_ptr());
        // The same bytes as a contiguous encoding with the core's correlation id.
        let flat = out.to_bytes();
        let id = i32::from_be_bytes(flat[8..12].try_into().unwrap());
        let mut expected = BytesMut::new();
        frame::encode_request(&mut expected, id, Some("t"), 9, &req).unwrap();
        assert_eq!(flat, expected);
        assert_eq!(out.len(), expected.len());
    }

    #[test]
    fn requests_wait_for_negotiation_then_pipeline() {
        let now = Instant::now();
        let mut c: ConnectionCore<u32> =
            ConnectionCore::new("t", Duration::from_secs(60), Duration::from_secs(5), now);
        let hs = c.poll_transmit(now).unwrap();
        c.submit(sub(true, Duration::from_secs(1)), 7, now);
        c.submit(sub(true, Duration::from_secs(1)), 8, now);
        assert!(
            c.poll_transmit(now).is_none(),
            "held until versions are known"
        );
        let (h, _) = frame::decode_request(&hs.to_bytes().slice(4..)).unwrap();
        let resp = response_bytes(
            h.correlation_id,
            ApiKey::API_VERSIONS,
            h.request_api_version,
            ResponseBody::ApiVersions(versions_response(12)),
        );
        // Delivered byte by byte: framing must reassemble.
        for b in resp.iter() {
            c.handle_input(&[*b], now);
        }
        assert!(matches!(c.poll_event(), Some(Event::Ready(_))));
        let a = c.poll_transmit(now).unwrap();
        let b = c.poll_transmit(now).unwrap();
        let ida = i32::from_be_bytes(a.to_bytes()[8..12].try_into().unwrap());
        let idb = i32::from_be_bytes(b.to_bytes()[8..12].try_into().unwrap());
        assert_ne!(ida, idb);
        assert_eq!(c.in_flight(), 2);
        // Answer out of order: matched by correlation id, not position.
        let body = ResponseBody::Metadata(MetadataResponse {
            controller_id: 3,
            ..Default::default()
        });
        let mut both = response_bytes(idb, ApiKey::METADATA, 12, body.clone());
        both.extend_from_slice(&response_bytes(ida, ApiKey::METADATA, 12, body));
        c.handle_input(&both, now);
        let mut tokens = vec![];
        while let Some(e) = c.poll_event() {
            match e {
                Event::Response(t, Some(f)) => {
                    let m = MetadataResponse::decode_exact(&f.body, f.version).unwrap();
                    assert_eq!(m.controller_id, 3);
                    tokens.push(t);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(tokens, vec![8, 7]);
    }

    #[test]
    fn unknown_correlation_id_closes() {
        let now = Instant::now();
        let mut c = ready_core(now);
        c.submit(sub(true, Duration::from_secs(1)), 1, now);
        c.poll_transmit(now).unwrap();
        c.handle_input(
            &response_bytes(
                999,
                ApiKey::METADATA,
                12,
                ResponseBody::Metadata(Default::default()),
            ),
            now,
        );
        assert!(matches!(
            c.poll_event(),
            Some(Event::Failed(1, KafkaError::Connection { .. }))
        ));
        assert!(matches!(
            c.poll_event(),
            Some(Event::Closed(KafkaError::Protocol(_)))
        ));
        assert!(c.is_closed());
    }

    #[test]
    fn timeout_fails_request_and_closes() {
        let now = Instant::now();
        let mut c = ready_core(now);
        c.submit(sub(true, Duration::from_secs(1)), 1, now);
        c.submit(sub(true, Duration::from_secs(5)), 2, now);
        c.poll_transmit(now).unwrap();
        c.poll_transmit(now).unwrap();
        assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(1)));
        c.handle_timeout(now + Duration::from_millis(999));
        assert!(c.poll_event().is_none());
        c.handle_timeout(now + Duration::from_secs(1));
        assert!(matches!(
            c.poll_event(),
            Some(Event::Failed(1, KafkaError::Timeout { .. }))
        ));
        assert!(matches!(
            c.poll_event(),
            Some(Event::Failed(2, KafkaError::Connection { .. }))
        ));
        assert!(matches!(c.poll_event(), Some(Event::Closed(_))));
    }

    #[test]
    fn throttle_holds_back_requests() {
        let now = Instant::now();
        let mut c = ready_core(now);
        c.handle_throttle(100, now);
        c.submit(sub(true, Duration::from_secs(1)), 1, now);
        assert!(c.poll_transmit(now + Duration::from_millis(50)).is_none());
        assert_eq!(c.poll_timeout(), Some(now + Duration::from_millis(100)));
        assert!(c.poll_transmit(now + Duration::from_millis(100)).is_some());
    }

    #[test]
    fn no_response_requests_complete_when_sent_and_idle_closes() {
        let now = Instant::now();
        let mut c = ready_core(now);
        c.submit(sub(false, Duration::from_secs(1)), 4, now);
        c.poll_transmit(now).unwrap();
        assert!(matches!(c.poll_event(), Some(Event::Response(4, None))));
        assert_eq!(c.in_flight(), 0);
        assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(60)));
        c.handle_timeout(now + Duration::from_secs(59));
        assert!(!c.is_closed());
        c.handle_timeout(now + Duration::from_secs(60));
        assert!(c.is_closed());
    }

    #[test]
    fn handshake_retries_at_broker_version_and_times_out() {
        let now = Instant::now();
        let mut c: ConnectionCore<u32> =
            ConnectionCore::new("t", Duration::from_secs(60), Duration::from_secs(5), now);
        let hs = c.poll_transmit(now).unwrap();
        let (h, _) = frame::decode_request(&hs.to_bytes().slice(4..)).unwrap();
        // An older broker answers UNSUPPORTED_VERSION in v0 with its own range.
        let mut old = versions_response(12);
        old.error_code = ErrorCode::UNSUPPORTED_VERSION.0;
        old.api_keys[0].max_version = 2;
        c.handle_input(
            &response_bytes(
                h.correlation_id,
                ApiKey::API_VERSIONS,
                0,
                ResponseBody::ApiVersions(old),
            ),
            now,
        );
        let retry = c.poll_transmit(now).unwrap();
        let (h2, _) = frame::decode_request(&retry.to_bytes().slice(4..)).unwrap();
        assert_eq!(h2.request_api_version, 2);
        c.handle_timeout(now + Duration::from_secs(5));
        assert!(matches!(
            c.poll_event(),
            Some(Event::Closed(KafkaError::Timeout { .. }))
        ));
    }
}
