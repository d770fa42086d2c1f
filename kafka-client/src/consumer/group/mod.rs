//! Group membership: the classic protocol (JoinGroup/SyncGroup/Heartbeat with client-side
//! assignors) and the consumer protocol of KIP-848 (ConsumerGroupHeartbeat), plus offset
//! commits.

pub mod assignor;
pub mod member;
pub mod protocol;
pub mod wire;

pub use member::{GroupEvent, GroupMember, GroupRequest, GroupResponse, Outgoing};
