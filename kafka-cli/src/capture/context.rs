//! The per-packet context handed down the pipeline.

use std::collections::VecDeque;

use super::event::CaptureEvent;
use super::options::CaptureOptions;
use super::stats::CaptureStats;
use super::time::Timestamp;

/// Options, event queue and counters, plus the current packet's capture time.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub opts: &'a CaptureOptions,
    pub events: &'a mut VecDeque<CaptureEvent>,
    pub stats: &'a mut CaptureStats,
    /// Capture time of the packet being processed.
    pub ts: Timestamp,
}
