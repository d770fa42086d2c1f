//! The tokio drivers over the sans-IO state machines.

pub(crate) mod engine;
pub(crate) mod group;
mod group_io;
pub(crate) mod simple;
