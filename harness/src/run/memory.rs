//! An in-process register map: a linearizable client that answers at once,
//! for the run loop's tests and benchmark (and as a reference client).
//!
//! Ops: `read` (value nil), `write v`, `cas [old new]`, each on the op's
//! `key`. With `stale_reads` every third read of a key returns the value
//! before the current one: a deliberately broken store the checker must
//! catch.

use super::client::{Client, Completion, Connect, OpRequest};
use history::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Cell {
    current: Value,
    previous: Value,
}

/// The store shared by every client.
#[derive(Clone, Default)]
pub struct MemoryStore {
    cells: Arc<Mutex<HashMap<Option<Value>, Cell>>>,
    reads: Arc<AtomicU64>,
    stale_reads: bool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store whose reads are sometimes stale (not linearizable).
    pub fn with_stale_reads() -> MemoryStore {
        MemoryStore {
            stale_reads: true,
            ..MemoryStore::default()
        }
    }

    pub fn apply(&self, op: &OpRequest) -> Completion {
        let mut cells = self.cells.lock().unwrap();
        let cell = match cells.get_mut(&op.key) {
            Some(c) => c,
            None => cells.entry(op.key.clone()).or_default(),
        };
        match op.f {
            "read" => {
                if self.stale_reads && self.reads.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
                    Completion::Ok(cell.previous.clone())
                } else {
                    Completion::Ok(cell.current.clone())
                }
            }
            "write" => {
                cell.previous = std::mem::replace(&mut cell.current, op.value.clone());
                Completion::Ok(op.value.clone())
            }
            "cas" => match op.value.as_list() {
                Some([from, to]) if *from == cell.current => {
                    cell.previous = std::mem::replace(&mut cell.current, to.clone());
                    Completion::Ok(op.value.clone())
                }
                Some([_, _]) => Completion::fail("cas: value differs"),
                _ => Completion::fail("cas: expected [old new]"),
            },
            other => Completion::fail(format!("unsupported f {other:?}")),
        }
    }
}

/// A client of a [`MemoryStore`].
pub struct MemoryClient {
    store: MemoryStore,
}

impl Client for MemoryClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        self.store.apply(op)
    }
}

impl Connect for MemoryStore {
    type Client = MemoryClient;

    async fn open(&self, _node: &str, _process: u64) -> Result<MemoryClient, String> {
        Ok(MemoryClient {
            store: self.clone(),
        })
    }
}
