//! Group membership: the classic protocol (JoinGroup/SyncGroup/Heartbeat with client-side
//! assignors) and the consumer protocol of KIP-848 (ConsumerGroupHeartbeat), plus offset
//! commits.

pub mod assignor;
