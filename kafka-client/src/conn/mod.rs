//! Sans-IO connection state: framing, correlation ids, version negotiation, timeouts,
//! throttling.

mod core;
mod throttle;
mod versions;

pub use self::core::{ConnectionCore, Event, ResponseFrame, Submission};
pub use throttle::ThrottleTime;
pub use versions::{client_range, ApiVersions};
