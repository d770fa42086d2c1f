//! Networking: transports, the per-broker connection driver, reconnect backoff, the pool.

mod backoff;
mod connection;
mod pool;
mod transport;

pub use backoff::Backoff;
pub(crate) use connection::Command;
pub use connection::{BrokerConnection, PendingResponse};
pub use pool::BrokerPool;
pub use transport::Transport;
