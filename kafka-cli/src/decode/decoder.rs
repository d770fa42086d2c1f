//! Decoding captured frames: requests decoded by their header, responses paired with their
//! request per connection (a response names neither its API key nor its version), record data
//! decoded in full, and the result parsed into a [`DebugTree`] for the renderers.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::frame::{
    decode_request_frame, decode_response, peek_correlation_id, response_version, RequestFrameBody,
};
use kafka_protocol::record::DecodeOptions;
use kafka_protocol::{ApiKey, DecodeError, RequestBody, ResponseBody};

use super::digest::BodyRef;
use super::records::{Depth, RecordSet};
use super::topics::TopicNames;
use super::tree::{DebugTree, Kind, NodeId};
use crate::capture::{Frame, Timestamp};

/// Requests remembered per connection at most; beyond it the oldest are forgotten.
const MAX_PENDING: usize = 4096;

/// A request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    api_key: ApiKey,
    version: i16,
    ts: Timestamp,
}

/// Why a frame could not be decoded completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// What went wrong.
    pub reason: String,
    /// Byte offset of the problem from the start of the frame, its 4-byte length prefix
    /// included (so the stream offset is `frame.offset + frame_offset`).
    pub frame_offset: u64,
}

impl FrameError {
    fn new(reason: impl Into<String>, frame_offset: u64) -> Self {
        FrameError {
            reason: reason.into(),
            frame_offset,
        }
    }

    fn from_decode(e: &DecodeError, base: u64) -> Self {
        let path = e.path();
        let reason = if path.is_empty() {
            e.kind().to_string()
        } else {
            format!("{} in {path}", e.kind())
        };
        FrameError::new(reason, base + e.offset() as u64)
    }
}

/// One decoded frame, borrowing the decoder's buffers until the next call.
#[derive(Debug, Clone, Copy)]
pub struct DecodedFrame<'a> {
    /// The frame as captured.
    pub frame: &'a Frame,
    /// The API key: from the header for a request, from the paired request for a response.
    pub api_key: Option<ApiKey>,
    /// The API version, likewise.
    pub api_version: Option<i16>,
    /// The correlation id, when the frame is long enough to hold one.
    pub correlation_id: Option<i32>,
    /// The request header's client id.
    pub client_id: Option<&'a str>,
    /// For a response: time since its request, in nanoseconds.
    pub latency_ns: Option<i64>,
    /// The body as a tree (`None` when the message did not decode, or when `typed` holds it).
    pub body: Option<NodeId>,
    /// The decoded body itself, when the tree was not built because nothing will render it
    /// (summary and statistics, see [`FrameDecoder::set_count_records_only`]) and its digest
    /// is computed from its fields ([`BodyRef::has_typed_digest`]).
    pub typed: Option<BodyRef<'a>>,
    /// The tree `body` lives in.
    pub tree: &'a DebugTree,
    /// The record data of the body, in document order ([`Kind::Records`] indexes it).
    pub records: &'a [RecordSet],
    /// Set when anything in the frame did not decode (the body may still be present when only
    /// record data failed).
    pub error: Option<&'a FrameError>,
    /// False for a request that gets no response (Produce with `acks=0`).
    pub expects_response: bool,
    /// The version whose layout the body was read with, when it differs from `api_version`
    /// (KIP-511: the v0 answer to an ApiVersions request above the known versions).
    pub decoded_as: Option<i16>,
    /// A request above the versions the codec knows: the header is decoded, the body shown as
    /// its bytes (`{unparsed: ...}`). The broker does the same for ApiVersions (KIP-511); for
    /// other APIs the frame also carries an error.
    pub body_unparsed: bool,
    /// Bytes after a complete request body, ignored as the broker ignores them.
    pub trailing_bytes: usize,
    /// Topic id to name mapping learnt from the capture so far.
    pub topics: &'a TopicNames,
}

impl DecodedFrame<'_> {
    /// Whether the message decoded (as a tree or as a typed body).
    pub fn is_decoded(&self) -> bool {
        self.body.is_some() || self.typed.is_some()
    }

    /// The API name, e.g. `Produce`.
    pub fn api_name(&self) -> Option<&'static str> {
        self.api_key.and_then(ApiKey::name)
    }

    /// True for requests.
    pub fn is_request(&self) -> bool {
        self.frame.direction.is_request()
    }
}

/// Decodes the frames of a capture, one at a time, keeping per-connection request state.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    pending: HashMap<u64, HashMap<i32, Pending>>,
    topics: TopicNames,
    tree: DebugTree,
    records: Vec<RecordSet>,
    blobs: Vec<Bytes>,
    client_id: Option<kafka_protocol::codec::KafkaString>,
    error: Option<FrameError>,
    opts: DecodeOptions,
    count_only: bool,
    batches_only: bool,
    no_typed: bool,
    typed: Option<TypedBody>,
}

/// A body kept instead of its tree (see [`DecodedFrame::typed`]).
#[derive(Debug)]
enum TypedBody {
    Request(RequestBody),
    Response(ResponseBody),
}

impl FrameDecoder {
    /// A decoder with default record decoding options (checksums verified).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `opts` for record batches.
    pub fn with_record_options(opts: DecodeOptions) -> Self {
        FrameDecoder {
            opts,
            ..Self::default()
        }
    }

    /// Decode records but only count them (for output that shows no records: the one-line
    /// summary, statistics). Every record is still decoded and checked (unless [`set_batches_only`](Self::set_batches_only)). Messages with a typed
    /// digest (the most frequent, largest ones) are then also kept as they are instead of being
    /// turned into a tree ([`DecodedFrame::typed`]).
    pub fn set_count_records_only(&mut self, count_only: bool) {
        self.count_only = count_only;
    }

    /// With [`set_count_records_only`](Self::set_count_records_only): check record data to
    /// the batches only ([`Depth::Batches`]: framing, header, checksum; record counts from the
    /// v2 headers) instead of reading every record ([`Depth::Count`], the default).
    pub fn set_batches_only(&mut self, batches_only: bool) {
        self.batches_only = batches_only;
    }

    /// Builds the tree of every message even when it will not be rendered, so that the digest
    /// always comes from the tree (for tests comparing the typed digest with it).
    #[doc(hidden)]
    pub fn set_always_tree(&mut self, always: bool) {
        self.no_typed = always;
    }

    /// Forgets a connection's outstanding requests (call when it closes).
    pub fn close_stream(&mut self, stream_index: u64) {
        self.pending.remove(&stream_index);
    }

    /// Topic names learnt so far.
    pub fn topics(&self) -> &TopicNames {
        &self.topics
    }

    /// Decodes one frame.
    pub fn decode<'a>(&'a mut self, frame: &'a Frame) -> DecodedFrame<'a> {
        self.records.clear();
        self.blobs.clear();
        self.client_id = None;
        self.error = None;
        self.typed = None;
        let mut out = Head {
            api_key: None,
            api_version: None,
            correlation_id: frame.correlation_id(),
            latency_ns: None,
            body: None,
            expects_response: frame.direction.is_request(),
            decoded_as: None,
            body_unparsed: false,
            trailing_bytes: 0,
        };
        if frame.direction.is_request() {
            self.request(frame, &mut out);
        } else {
            self.response(frame, &mut out);
        }
        DecodedFrame {
            frame,
            api_key: out.api_key,
            api_version: out.api_version,
            correlation_id: out.correlation_id,
            client_id: self.client_id.as_deref(),
            latency_ns: out.latency_ns,
            body: out.body,
            typed: match &self.typed {
                Some(TypedBody::Request(b)) => Some(BodyRef::Request(b)),
                Some(TypedBody::Response(b)) => Some(BodyRef::Response(b)),
                None => None,
            },
            tree: &self.tree,
            records: &self.records,
            error: self.error.as_ref(),
            expects_response: out.expects_response,
            decoded_as: out.decoded_as,
            body_unparsed: out.body_unparsed,
            trailing_bytes: out.trailing_bytes,
            topics: &self.topics,
        }
    }

    fn request(&mut self, frame: &Frame, out: &mut Head) {
        let Some((key, version, corr)) = frame.request_header() else {
            self.error = Some(FrameError::new(
                format!(
                    "frame of {} bytes is too short for a request header",
                    frame.bytes.len()
                ),
                4,
            ));
            return;
        };
        let api_key = ApiKey(key);
        out.api_key = Some(api_key);
        out.api_version = Some(version);
        // Read as the broker reads it: bytes after the body ignored, a version above the known
        // range kept as bytes (see `decode_request_frame`).
        match decode_request_frame(&frame.bytes) {
            Ok(decoded) => {
                self.client_id = decoded.header.client_id;
                out.trailing_bytes = decoded.trailing.len();
                match decoded.body {
                    RequestFrameBody::Decoded(mut body) => {
                        if let RequestBody::Produce(p) = &mut body {
                            out.expects_response = p.acks != 0;
                            for t in &mut p.topic_data {
                                for part in &mut t.partition_data {
                                    if let Some(r) = part.records.as_mut() {
                                        self.blobs.push(std::mem::take(r));
                                    }
                                }
                            }
                        }
                        if self.skip_tree(BodyRef::Request(&body)) {
                            self.decode_records(frame);
                            self.typed = Some(TypedBody::Request(body));
                        } else {
                            self.finish_body(frame, &body, out);
                        }
                    }
                    RequestFrameBody::UnsupportedVersion(unparsed) => {
                        out.body_unparsed = true;
                        let at = 4 + (frame.bytes.len() - unparsed.len()) as u64;
                        self.finish_body(frame, &UnparsedBody { unparsed }, out);
                        // Only ApiVersions has an answer the codec can read (KIP-511's v0);
                        // the broker fails any other API's body and closes the connection.
                        if api_key != ApiKey::API_VERSIONS {
                            let range = api_key
                                .info()
                                .map_or(String::new(), |i| format!(" {}-{}", i.lowest, i.highest));
                            self.error = Some(FrameError::new(
                                format!(
                                    "version {version} is above the known versions{range}: body \
                                     not decoded"
                                ),
                                at,
                            ));
                        }
                    }
                }
            }
            Err(e) => self.error = Some(FrameError::from_decode(&e, 4)),
        }
        if out.expects_response {
            let pending = self.pending.entry(frame.stream.index).or_default();
            if pending.len() >= MAX_PENDING {
                pending.clear();
            }
            pending.insert(
                corr,
                Pending {
                    api_key,
                    version,
                    ts: frame.ts,
                },
            );
        }
    }

    fn response(&mut self, frame: &Frame, out: &mut Head) {
        let Some(corr) = peek_correlation_id(&frame.bytes) else {
            self.error = Some(FrameError::new(
                format!(
                    "frame of {} bytes is too short for a response header",
                    frame.bytes.len()
                ),
                4,
            ));
            return;
        };
        let Some(req) = self
            .pending
            .get_mut(&frame.stream.index)
            .and_then(|p| p.remove(&corr))
        else {
            self.error = Some(FrameError::new(
                format!("no request with correlation id {corr} seen on this connection"),
                4,
            ));
            return;
        };
        out.api_key = Some(req.api_key);
        out.api_version = Some(req.version);
        let latency = frame.ts.as_nanos() - req.ts.as_nanos();
        out.latency_ns = Some(latency.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        // The request's version, except the v0 answer to an ApiVersions request above the known
        // versions (KIP-511), which `decode_response` reads as v0 given the request's version.
        let layout = response_version(req.api_key, req.version);
        out.decoded_as = (layout != req.version).then_some(layout);
        match decode_response(&frame.bytes, req.api_key, req.version) {
            Ok((_, mut body)) => {
                self.topics.learn(&body);
                match &mut body {
                    ResponseBody::Fetch(f) => {
                        for t in &mut f.responses {
                            for part in &mut t.partitions {
                                if let Some(r) = part.records.as_mut() {
                                    self.blobs.push(std::mem::take(r));
                                }
                            }
                        }
                    }
                    ResponseBody::ShareFetch(f) => {
                        for t in &mut f.responses {
                            for part in &mut t.partitions {
                                if let Some(r) = part.records.as_mut() {
                                    self.blobs.push(std::mem::take(r));
                                }
                            }
                        }
                    }
                    _ => {}
                }
                if self.skip_tree(BodyRef::Response(&body)) {
                    self.decode_records(frame);
                    self.typed = Some(TypedBody::Response(body));
                } else {
                    self.finish_body(frame, &body, out);
                }
            }
            Err(e) => self.error = Some(FrameError::from_decode(&e, 4)),
        }
    }

    /// Decodes the record data taken out of the body.
    fn decode_records(&mut self, frame: &Frame) {
        let base = frame.bytes.as_ptr() as usize;
        for blob in self.blobs.drain(..) {
            let position = (blob.as_ptr() as usize)
                .checked_sub(base)
                .filter(|p| p + blob.len() <= frame.bytes.len())
                .unwrap_or(0);
            let depth = match (self.count_only, self.batches_only) {
                (false, _) => Depth::Keep,
                (true, false) => Depth::Count,
                (true, true) => Depth::Batches,
            };
            let set = RecordSet::decode(blob, position, &self.opts, depth);
            if let (Some(e), None) = (&set.error, &self.error) {
                let mut fe = FrameError::from_decode(e, 4 + position as u64);
                fe.reason = format!("record data: {}", fe.reason);
                self.error = Some(fe);
            }
            self.records.push(set);
        }
    }

    /// Whether to keep `body` as it is rather than build its tree: nothing renders the tree
    /// and the digest can be computed from the fields.
    fn skip_tree(&self, body: BodyRef<'_>) -> bool {
        self.count_only && !self.no_typed && body.has_typed_digest()
    }

    /// Decodes the taken-out record data, parses the body's `Debug` tree and marks the
    /// records nodes.
    fn finish_body(&mut self, frame: &Frame, body: &impl std::fmt::Debug, out: &mut Head) {
        self.decode_records(frame);
        let root = match self.tree.parse_debug(body) {
            Ok(root) => root,
            Err(e) => {
                self.error = Some(FrameError::new(format!("internal: {e}"), 4));
                return;
            }
        };
        // The body enums print as `Produce(ProduceRequest { .. })`: the message is inside.
        let body_node = match self.tree.kind(root) {
            Kind::Tuple if self.tree.child_count(root) == 1 => {
                self.tree.children(root).next().unwrap_or(root)
            }
            _ => root,
        };
        let mut next = 0u32;
        if !self.records.is_empty() {
            for id in self.tree.ids() {
                if self.tree.kind(id) == Kind::Bytes && self.tree.field(id) == "records" {
                    if next as usize >= self.records.len() {
                        break;
                    }
                    self.tree.set_records(id, next);
                    next += 1;
                }
            }
        }
        if next as usize != self.records.len() {
            self.error = Some(FrameError::new(
                "internal: record data does not line up with the message",
                4,
            ));
            return;
        }
        out.body = Some(body_node);
    }
}

/// The body of a request of a version above the codec's range (shown as its bytes).
#[derive(Debug)]
struct UnparsedBody {
    #[allow(dead_code)] // read through Debug
    unparsed: Bytes,
}

struct Head {
    api_key: Option<ApiKey>,
    api_version: Option<i16>,
    correlation_id: Option<i32>,
    latency_ns: Option<i64>,
    body: Option<NodeId>,
    expects_response: bool,
    decoded_as: Option<i16>,
    body_unparsed: bool,
    trailing_bytes: usize,
}
