//! Reading captured Kafka traffic: pcap / pcapng files in, complete Kafka frames out.
//!
//! The pipeline, one module per stage:
//!
//! 1. `source`: streaming pcap / pcapng reader (via `pcap-parser`), one packet at a time out of a
//!    reused buffer, with per-interface link types and timestamp resolution.
//! 2. `link`, `ip`, `defrag`, `tcp`: link layer (Ethernet + VLAN, Linux SLL / SLL2, raw IP,
//!    BSD loopback), IPv4 / IPv6 (extension headers, fragment reassembly) and TCP headers.
//! 3. `reassembly`: per direction TCP byte stream reassembly (out of order, retransmissions,
//!    overlaps, sequence wraparound, gaps), bounded memory.
//! 4. `framing`: Kafka length-prefixed framing on each direction's byte stream, with
//!    resynchronisation after gaps (`plausible` holds the heuristics).
//! 5. `detect`: recognising Kafka connections on unknown ports (`PortSelection::Auto`).
//! 6. `connection` + `reader`: connection table and the [`CaptureReader`] iterator that yields
//!    [`CaptureEvent`]s.
//!
//! Known limits: TCP checksums are not checked (offloading makes them wrong in most
//! captures); the obsolete pcapng Packet Block and IPv6 jumbograms are not supported; after a
//! gap, requests are only resynchronised on a non-empty client id until one frame of the
//! connection has been seen (then on its client id and correlation ids); auto-detection needs
//! both directions of a connection and holds its first frames until it decides; segments
//! that arrive before the data they follow in sequence (capture reordering) may be treated as
//! retransmissions when the stream's start was not captured.
//!
//! ```no_run
//! use kafka_cli::capture::{CaptureEvent, CaptureOptions, CaptureReader};
//! let file = std::fs::File::open("traffic.pcapng")?;
//! let mut reader = CaptureReader::new(file, CaptureOptions::default())?;
//! for event in reader.by_ref() {
//!     match event? {
//!         CaptureEvent::Frame(frame) => println!("{} {} {} bytes", frame.stream, frame.direction, frame.bytes.len()),
//!         other => println!("{other}"),
//!     }
//! }
//! println!("{:?}", reader.stats());
//! # Ok::<(), kafka_cli::capture::CaptureError>(())
//! ```

mod connection;
mod context;
mod correlation;
mod defrag;
mod detect;
mod error;
mod event;
mod framing;
mod ip;
mod link;
mod options;
mod plausible;
mod reader;
mod reassembly;
mod source;
mod stats;
mod tcp;
mod time;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use error::CaptureError;
pub use event::{
    CaptureEvent, CloseReason, Direction, Frame, MalformedReason, NotKafkaReason, SkipReason,
    StreamId,
};
pub use options::{CaptureOptions, PortSelection, PortSelectionError};
pub use reader::CaptureReader;
pub use source::CaptureFormat;
pub use stats::CaptureStats;
pub use time::Timestamp;
