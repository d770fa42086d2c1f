//! Port auto-detection: is this TCP connection Kafka, and which side is the client?
//!
//! While undecided, a connection's reassembled data is held (bounded). At the start of each
//! packet's data a Kafka request or response header is looked for; the connection is Kafka once
//! a plausible request in one direction has a response with the same correlation id in the
//! other. The held data is then replayed through the framers, starting at those frames.

use super::event::Direction;
use super::options::CaptureOptions;
use super::plausible::{
    length_prefix, plausible_request, request_start, response_length, Verdict, MIN_RESPONSE_LEN,
};
use super::time::Timestamp;

/// Data or a gap received while undecided.
#[derive(Debug)]
pub(crate) enum Held {
    Data {
        direction: Direction,
        offset: u64,
        ts: Timestamp,
        data: Vec<u8>,
    },
    Gap {
        direction: Direction,
        offset: u64,
        len: u64,
        ts: Timestamp,
    },
}

impl Held {
    pub(crate) fn direction(&self) -> Direction {
        match self {
            Held::Data { direction, .. } | Held::Gap { direction, .. } => *direction,
        }
    }
}

/// Where the connection was recognised (directions as labelled while detecting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Confirmed {
    /// The direction that carries requests.
    pub requests: Direction,
    /// Stream offset of the matched request in that direction.
    pub request_at: u64,
    /// Stream offset of the matched response in the other direction.
    pub response_at: u64,
}

/// Result of feeding the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Undecided,
    Kafka(Confirmed),
    NotKafka,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    direction: Direction,
    offset: u64,
    correlation_id: i32,
}

/// Detection state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Detector {
    held: Vec<Held>,
    held_bytes: usize,
    segments: [usize; 2],
    requests: Vec<Candidate>,
    responses: Vec<Candidate>,
}

impl Detector {
    pub(crate) fn new() -> Self {
        Detector::default()
    }

    /// True if nothing (no data, no gap) was received.
    pub(crate) fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Takes the held data, in arrival order.
    pub(crate) fn take_held(&mut self) -> Vec<Held> {
        self.held_bytes = 0;
        std::mem::take(&mut self.held)
    }

    /// Holds data received after the decision, for the replay.
    pub(crate) fn hold(&mut self, direction: Direction, offset: u64, data: &[u8], ts: Timestamp) {
        self.held.push(Held::Data {
            direction,
            offset,
            ts,
            data: data.to_vec(),
        });
    }

    /// A gap in `direction`.
    pub(crate) fn on_gap(&mut self, direction: Direction, offset: u64, len: u64, ts: Timestamp) {
        self.held.push(Held::Gap {
            direction,
            offset,
            len,
            ts,
        });
    }

    /// Data in `direction` at stream `offset` (the start of a packet's new data). `client` is
    /// the direction known (from the SYN) to be the client's, if any.
    pub(crate) fn on_data(
        &mut self,
        direction: Direction,
        offset: u64,
        data: &[u8],
        ts: Timestamp,
        client: Option<Direction>,
        opts: &CaptureOptions,
    ) -> Outcome {
        self.held_bytes += data.len();
        if self.held_bytes > opts.detect_max_bytes {
            return Outcome::NotKafka;
        }
        self.held.push(Held::Data {
            direction,
            offset,
            ts,
            data: data.to_vec(),
        });
        let seen = &mut self.segments[direction.index()];
        *seen += 1;
        if *seen > opts.detect_max_segments {
            let other = self.segments[direction.reverse().index()];
            return if other > opts.detect_max_segments {
                Outcome::NotKafka
            } else {
                Outcome::Undecided
            };
        }
        let max_len = opts.max_frame_len;
        if client.is_none_or(|c| c == direction) {
            if let Ok((len, header)) = request_start(data, max_len) {
                // The length must be consistent with the packet: the frame continues in later
                // packets, ends with it, or is followed by another request.
                let consistent = match data.get(4 + len as usize..) {
                    None | Some([]) => true,
                    Some(next) => plausible_request(next, max_len) != Verdict::No,
                };
                if consistent {
                    self.requests.push(Candidate {
                        direction,
                        offset,
                        correlation_id: header.correlation_id,
                    });
                }
            }
        }
        if client.is_none_or(|c| c != direction) {
            if let (Some(len), Some(c)) = (length_prefix(data), data.get(4..8)) {
                let consistent = len >= MIN_RESPONSE_LEN
                    && len as u32 <= max_len
                    && match data.get(4 + len as usize..) {
                        None | Some([]) => true,
                        Some(next) => response_length(next, max_len) != Verdict::No,
                    };
                if consistent {
                    self.responses.push(Candidate {
                        direction,
                        offset,
                        correlation_id: i32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    });
                }
            }
        }
        for req in &self.requests {
            if let Some(resp) = self
                .responses
                .iter()
                .find(|r| r.direction != req.direction && r.correlation_id == req.correlation_id)
            {
                return Outcome::Kafka(Confirmed {
                    requests: req.direction,
                    request_at: req.offset,
                    response_at: resp.offset,
                });
            }
        }
        Outcome::Undecided
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::{request_frame, response_frame};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn request_then_matching_response() {
        let opts = CaptureOptions::default();
        let mut d = Detector::new();
        let req = request_frame(3, 12, 5, "app", &[0; 20]);
        assert_eq!(
            d.on_data(C2S, 0, &req, Timestamp::ZERO, None, &opts),
            Outcome::Undecided
        );
        let other = response_frame(4, &[0; 8]);
        assert_eq!(
            d.on_data(S2C, 0, &other, Timestamp::ZERO, None, &opts),
            Outcome::Undecided
        );
        let resp = response_frame(5, &[0; 8]);
        assert_eq!(
            d.on_data(S2C, other.len() as u64, &resp, Timestamp::ZERO, None, &opts),
            Outcome::Kafka(Confirmed {
                requests: C2S,
                request_at: 0,
                response_at: other.len() as u64
            })
        );
        assert_eq!(d.take_held().len(), 3);
    }

    #[test]
    fn reversed_orientation() {
        let opts = CaptureOptions::default();
        let mut d = Detector::new();
        // the first packet seen was the server's: labelled client-to-server
        let resp = response_frame(9, &[1; 8]);
        assert_eq!(
            d.on_data(C2S, 100, &resp, Timestamp::ZERO, None, &opts),
            Outcome::Undecided
        );
        let req = request_frame(1, 4, 9, "c", &[]);
        let got = d.on_data(S2C, 50, &req, Timestamp::ZERO, None, &opts);
        assert_eq!(
            got,
            Outcome::Kafka(Confirmed {
                requests: S2C,
                request_at: 50,
                response_at: 100
            })
        );
        // with the SYN known, the reversed pairing is not allowed
        let mut d = Detector::new();
        d.on_data(C2S, 100, &resp, Timestamp::ZERO, Some(C2S), &opts);
        let got = d.on_data(S2C, 50, &req, Timestamp::ZERO, Some(C2S), &opts);
        assert_eq!(got, Outcome::Undecided);
    }

    #[test]
    fn gives_up() {
        let opts = CaptureOptions {
            detect_max_segments: 2,
            ..CaptureOptions::default()
        };
        let mut d = Detector::new();
        let junk = [0x41u8; 40];
        let mut last = Outcome::Undecided;
        for i in 0..3 {
            last = d.on_data(C2S, i * 40, &junk, Timestamp::ZERO, None, &opts);
            assert_eq!(last, Outcome::Undecided);
            last = d.on_data(S2C, i * 40, &junk, Timestamp::ZERO, None, &opts);
        }
        assert_eq!(last, Outcome::NotKafka);
        let opts = CaptureOptions {
            detect_max_bytes: 100,
            ..CaptureOptions::default()
        };
        let mut d = Detector::new();
        assert_eq!(
            d.on_data(C2S, 0, &[0; 60], Timestamp::ZERO, None, &opts),
            Outcome::Undecided
        );
        assert_eq!(
            d.on_data(C2S, 60, &[0; 60], Timestamp::ZERO, None, &opts),
            Outcome::NotKafka
        );
    }
}
