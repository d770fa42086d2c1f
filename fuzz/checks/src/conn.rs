//! `client_conn`: the client's sans-IO connection core (`kafka_client::conn::ConnectionCore`)
//! driven by a script of operations the fuzzer's bytes choose: bytes from the "broker" (well
//! framed responses to a chosen correlation id, or raw bytes), request submissions, transmits,
//! time passing, throttling and closing.
//!
//! Properties: no panic; every event names a request that was submitted and not yet completed;
//! a response carries the API key and version its request was submitted with, and a body that
//! decodes only if it re-encodes to the same bytes; a request without a response completes
//! only as sent; after `Closed` nothing but failures comes; once the connection is closed,
//! every submitted request has completed exactly once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use bytes::{BufMut, BytesMut};
use kafka_client::conn::{ConnectionCore, Event, Submission};
use kafka_client::KafkaError;
use kafka_protocol::fuzzing::{check_response_body, select, Outcome, Verdict, Violation};
use kafka_protocol::ApiKey;

const CHECK: &str = "client_conn";
const MAX_OPS: usize = 256;

struct Pending {
    api_key: ApiKey,
    version: i16,
    expects_response: bool,
}

struct Harness {
    core: ConnectionCore<u32>,
    now: Instant,
    pending: HashMap<u32, Pending>,
    next_token: u32,
    /// Correlation ids the core has used so far: they are sequential from 0.
    ids_used: i32,
    closed: bool,
    verdict: Verdict,
}

fn violation(what: String) -> Violation {
    Violation::new(CHECK, what)
}

impl Harness {
    fn drain(&mut self) -> Result<(), Violation> {
        while let Some(event) = self.core.poll_event() {
            match event {
                Event::Ready(_) if self.closed => {
                    return Err(violation("Ready after Closed".into()));
                }
                Event::Ready(_) => {}
                Event::Response(token, frame) => {
                    if self.closed {
                        return Err(violation(format!("response {token} after Closed")));
                    }
                    let p = self
                        .pending
                        .remove(&token)
                        .ok_or_else(|| violation(format!("response for unknown token {token}")))?;
                    match frame {
                        None if p.expects_response => {
                            return Err(violation(format!("token {token}: empty response")));
                        }
                        None => {}
                        Some(_) if !p.expects_response => {
                            return Err(violation(format!("token {token}: unexpected response")));
                        }
                        Some(f) => {
                            if (f.api_key, f.version) != (p.api_key, p.version) {
                                return Err(violation(format!(
                                    "token {token}: sent {} v{}, answered as {} v{}",
                                    p.api_key, p.version, f.api_key, f.version
                                )));
                            }
                            if check_response_body(&f.body, f.api_key, f.version)?
                                != Verdict::Rejected
                            {
                                self.verdict = Verdict::Accepted;
                            }
                        }
                    }
                }
                Event::Failed(token, _) => {
                    if self.pending.remove(&token).is_none() {
                        return Err(violation(format!("failure of unknown token {token}")));
                    }
                }
                Event::Closed(_) => {
                    if self.closed {
                        return Err(violation("Closed twice".into()));
                    }
                    self.closed = true;
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        match u.int_in_range(0..=7u8)? {
            // A well-framed response to a correlation id the core has (probably) used.
            0 | 1 => {
                let id = if u.ratio(7, 8)? {
                    u.int_in_range(0..=self.ids_used.max(0))?
                } else {
                    u.arbitrary()?
                };
                let len = u.int_in_range(0..=512usize)?;
                let body = u.bytes(len)?;
                let mut frame = BytesMut::with_capacity(len + 8);
                frame.put_u32(4 + len as u32);
                frame.put_i32(id);
                frame.put_slice(body);
                let cut = u.int_in_range(0..=frame.len())?;
                self.core.handle_input(&frame[..cut], self.now);
                self.core.handle_input(&frame[cut..], self.now);
            }
            2 => {
                let len = u.int_in_range(0..=64usize)?;
                let raw = u.bytes(len)?;
                self.core.handle_input(raw, self.now);
            }
            3 => self.submit(u)?,
            4 => {
                for _ in 0..64 {
                    if self.core.poll_transmit(self.now).is_none() {
                        break;
                    }
                }
            }
            5 => {
                self.now += Duration::from_millis(u.int_in_range(0..=120_000)?);
                self.core.handle_timeout(self.now);
            }
            6 => self.core.handle_throttle(u.arbitrary()?, self.now),
            _ => {
                if u.ratio(1, 8)? {
                    self.core
                        .handle_close(KafkaError::Protocol("closed by the fuzzer".into()));
                }
            }
        }
        Ok(())
    }

    fn submit(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let (api_key, version) = select(u.arbitrary()?, u.arbitrary()?);
        let mut frame = BytesMut::new();
        // Size, API key, version, correlation id (patched by the core), null client id.
        frame.put_i32(10);
        frame.put_i16(api_key.0);
        frame.put_i16(version);
        frame.put_i32(0);
        frame.put_i16(-1);
        let expects_response = u.ratio(7, 8)?;
        let token = self.next_token;
        self.next_token += 1;
        let was_closed = self.core.is_closed();
        self.core.submit(
            Submission {
                frame: kafka_protocol::codec::Writer::contiguous(frame),
                api_key,
                version,
                expects_response,
                timeout: Duration::from_millis(u.int_in_range(1..=60_000)?),
            },
            token,
            self.now,
        );
        if !was_closed {
            self.ids_used += 1;
        }
        self.pending.insert(
            token,
            Pending {
                api_key,
                version,
                expects_response,
            },
        );
        Ok(())
    }
}

/// Drives a connection core with the script in `data`.
pub fn client_conn(data: &[u8]) -> Outcome {
    let mut u = Unstructured::new(data);
    let now = Instant::now();
    let mut h = Harness {
        core: ConnectionCore::new(
            "fuzz",
            Duration::from_secs(60),
            Duration::from_secs(10),
            now,
        ),
        now,
        pending: HashMap::new(),
        next_token: 0,
        ids_used: 0,
        closed: false,
        verdict: Verdict::Rejected,
    };
    // The handshake goes out first.
    let _ = h.core.poll_transmit(now);
    for _ in 0..MAX_OPS {
        if u.is_empty() || h.step(&mut u).is_err() {
            break;
        }
        h.drain()?;
    }
    h.core
        .handle_close(KafkaError::Protocol("end of input".into()));
    h.drain()?;
    if !h.pending.is_empty() {
        let mut tokens: Vec<_> = h.pending.keys().collect();
        tokens.sort();
        return Err(violation(format!(
            "closed with requests never completed: {tokens:?}"
        )));
    }
    Ok(h.verdict)
}
