//! One connection per broker node, made on demand, remade after a failure with exponential
//! backoff (`reconnect.backoff.ms` .. `reconnect.backoff.max.ms`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::debug;

use super::backoff::Backoff;
use super::connection::BrokerConnection;
use crate::config::ClientConfig;
use crate::error::Result;

#[derive(Debug)]
struct Slot {
    addr: String,
    state: tokio::sync::Mutex<SlotState>,
}

#[derive(Debug)]
struct SlotState {
    conn: Option<Arc<BrokerConnection>>,
    backoff: Backoff,
    last_failure: Option<Instant>,
}

/// Connections by node id. Bootstrap servers get negative pseudo ids (-1, -2, ...), as in the
/// Java client, until metadata names the real nodes.
#[derive(Debug)]
pub struct BrokerPool {
    config: ClientConfig,
    slots: Mutex<HashMap<i32, Arc<Slot>>>,
}

impl BrokerPool {
    /// An empty pool.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Records (or updates) a node's address. A changed address drops the old connection.
    pub fn set_address(&self, node: i32, addr: &str) {
        let mut slots = self.slots.lock().expect("pool lock");
        if slots.get(&node).is_some_and(|s| s.addr == addr) {
            return;
        }
        slots.insert(
            node,
            Arc::new(Slot {
                addr: addr.to_owned(),
                state: tokio::sync::Mutex::new(SlotState {
                    conn: None,
                    backoff: Backoff::new(
                        self.config.reconnect_backoff,
                        self.config.reconnect_backoff_max,
                    ),
                    last_failure: None,
                }),
            }),
        );
    }

    /// Forgets nodes that are no longer in the cluster (keeping bootstrap pseudo nodes).
    pub fn retain(&self, keep: impl Fn(i32) -> bool) {
        self.slots
            .lock()
            .expect("pool lock")
            .retain(|&id, _| id < 0 || keep(id));
    }

    /// The address of a node, if known.
    pub fn address(&self, node: i32) -> Option<String> {
        self.slots
            .lock()
            .expect("pool lock")
            .get(&node)
            .map(|s| s.addr.clone())
    }

    /// Node ids with a live connection now (without waiting).
    pub fn connected_nodes(&self) -> Vec<i32> {
        let slots = self.slots.lock().expect("pool lock");
        slots
            .iter()
            .filter(|(_, s)| {
                s.state
                    .try_lock()
                    .is_ok_and(|st| st.conn.as_ref().is_some_and(|c| !c.is_closed()))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether the node failed to connect recently and is still backing off.
    pub fn is_backing_off(&self, node: i32) -> bool {
        let slot = self.slots.lock().expect("pool lock").get(&node).cloned();
        slot.is_some_and(|s| {
            s.state.try_lock().is_ok_and(|st| {
                st.last_failure
                    .is_some_and(|t| t.elapsed() < st.backoff.delay_with(0.5))
            })
        })
    }

    /// The live connection to `node`, connecting (after any backoff) if needed.
    pub async fn get(&self, node: i32) -> Result<Arc<BrokerConnection>> {
        let slot = self
            .slots
            .lock()
            .expect("pool lock")
            .get(&node)
            .cloned()
            .ok_or_else(|| {
                crate::KafkaError::InvalidArgument(format!("unknown broker node {node}"))
            })?;
        let mut st = slot.state.lock().await;
        if let Some(c) = &st.conn {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        st.conn = None;
        if let Some(t) = st.last_failure {
            let wait = st.backoff.delay();
            let elapsed = t.elapsed();
            if elapsed < wait {
                tokio::time::sleep(wait - elapsed).await;
            }
        }
        match BrokerConnection::connect(&slot.addr, &self.config).await {
            Ok(c) => {
                st.backoff.reset();
                st.last_failure = None;
                let c = Arc::new(c);
                st.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                debug!(node, addr = %slot.addr, error = %e, "connect failed");
                st.backoff.fail();
                st.last_failure = Some(Instant::now());
                Err(e)
            }
        }
    }
}
