//! Consumers: reading partitions alone ([`fetch::Fetcher`]) and in groups ([`group`]).
//!
//! Every decision lives in sans-IO state machines fed with responses and `now` (quinn-proto
//! style: `handle_*` for input, `poll_*` for output, `handle_timeout`); the tokio drivers only
//! move requests and responses.

pub mod config;
mod driver;
pub mod error;
pub mod fetch;
pub mod group;
pub mod list_offsets;
pub mod record;
pub mod types;

pub use config::{
    ConsumerConfig, FetchConfig, GroupConfig, GroupProtocol, IsolationLevel, OffsetReset,
};
pub use driver::group::{GroupConsumer, RebalanceEvent};
pub use driver::simple::{split_properties, Consumer};
pub use error::ConsumerError;
pub use fetch::{Fetcher, OffsetSpec};
pub use record::ConsumerRecord;
pub use types::{LeaderInfo, OffsetAndMetadata, TopicPartition};
