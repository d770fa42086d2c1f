//! `kafka-cli decode`: Kafka frames from a capture ([`crate::capture`]) decoded in full and
//! rendered as one-line summaries, an indented tree, or JSON Lines; statistics, filters, and
//! Kafka log segment files.
//!
//! - `decoder`: pairs responses with requests per connection and decodes every frame, record
//!   batches included, into a [`DecodedFrame`].
//! - `tree`: the message as a walkable tree, parsed back from its `Debug` output.
//! - `records`: record data decoded in full (decompressed, control records typed).
//! - `topics`: topic ids to names, learnt from the capture.
//! - `digest`, `summary`, `verbose`, `json`: the renderers.
//! - `filter`, `stats`: `--filter` and `--stats`.
//! - `segment`: log segment files.
//! - `text`: escaping, base64, hex; how binary data is shown.

mod decoder;
mod digest;
mod filter;
mod json;
mod records;
mod segment;
mod stats;
mod summary;
mod text;
mod topics;
mod tree;
mod verbose;

pub use decoder::{DecodedFrame, FrameDecoder, FrameError};
pub use digest::{BodyRef, Digest, TopicDigest};
pub use filter::{Filter, FilterError, Filters};
pub use json::{write_batch, write_record_set, JsonWriter};
pub use records::{DecodedBatch, Depth, RecordSet};
pub use segment::{write_dump_log, SegmentError, SegmentReader};
pub use stats::{ApiCounts, Stats};
pub use summary::SummaryWriter;
pub use topics::TopicNames;
pub use tree::{DebugTree, Kind, NodeId, TreeError};
pub use verbose::{write_batch_line, write_record_line, TreeWriter};
