//! An etcd v3 client over etcd's HTTP/JSON gateway (`/v3/kv/range`,
//! `/v3/kv/put`, `/v3/kv/txn`, `/v3/maintenance/status`), on a small
//! HTTP/1.1 client of its own (keep-alive, `Content-Length` and chunked
//! bodies, a timeout per request), and the run-loop client built on it.
//!
//! - [`error`]: what went wrong, and whether the request could have taken
//!   effect;
//! - `http`, [`base64`]: the wire;
//! - [`api`]: [`EtcdClient`] (range, put, txn, status) and [`find_leader`];
//! - this module: the run-loop client [`EtcdOps`], and one module per
//!   workload with its operations on etcd (`register`, `set`,
//!   `list_append`, `bank`, `counter`, `unique_ids`).
//!
//! Errors say whether the request could have taken effect:
//! [`EtcdError::definitely_failed`] is true only when it certainly did not
//! (never sent, or refused by etcd before it was applied: a failed
//! compare is not an error but `succeeded: false`). Everything else, a
//! timeout or a reset after the request went out, is unknown, and a write
//! with an unknown outcome is recorded as `info`. A read changes nothing:
//! any error of a read is a `fail`.
//!
//! Keys used by the workloads, under a per-run prefix:
//! `<prefix>r/<key>` (register, value the decimal integer),
//! `<prefix>s/<element>` (set, one key per element),
//! `<prefix>l/<key>` (list-append, value a JSON array of integers),
//! `<prefix>b/<account>` (bank, value the decimal balance),
//! `<prefix>counter` (counter, the decimal value),
//! `<prefix>ids` (unique-ids, rewritten by every `generate`).

pub mod api;
pub mod base64;
pub mod error;
mod http;

mod bank;
mod counter;
mod list_append;
mod register;
mod set;
mod unique_ids;

pub use api::{find_leader, Compare, EtcdClient, KeyValue, Status, TxnOp, TxnResponse, TxnResult};
pub use base64::{base64_decode, base64_encode};
pub use error::EtcdError;

use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use std::time::Duration;

/// Options of the run-loop client.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Every key the workloads touch starts with this (one per run).
    pub prefix: String,
    /// `read: serializable` in the workload options.
    pub serializable_reads: bool,
    /// Per request; keep it below the run loop's `op_timeout` so the client
    /// notices its own timeouts and drops the connection.
    pub timeout: Duration,
    /// The workload the clients are opened for: they perform only its
    /// operations (one of [`WORKLOADS`]).
    pub workload: &'static str,
    /// Bank: whether a transfer may overdraw an account (the workload's
    /// `negative-balances`); if not, an overdraft is refused as a `fail`.
    pub negative_balances: bool,
}

/// The workloads [`EtcdOps`] performs.
pub const WORKLOADS: &[&str] = &[
    "register",
    "set",
    "list-append",
    "bank",
    "counter",
    "unique-ids",
];

/// How many times a read-modify-write (a bank transfer, a counter add)
/// tries its guarded txn before it gives up as a `fail`: every attempt
/// whose compare failed certainly changed nothing.
pub const CAS_ATTEMPTS: usize = 10;

/// After the `attempt`th lost compare (from 0), waits a random 0 to
/// 2^attempt ms (at most 64): clients that lost to each other spread
/// out instead of colliding again at once. At most ~130 ms over all
/// attempts, well inside a request timeout.
async fn backoff(attempt: usize) {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = 1u64 << attempt.min(6);
    // A fresh random seed per call; no random-number crate needed for this.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    tokio::time::sleep(Duration::from_micros(random % (ceiling * 1000 + 1))).await;
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            prefix: "shakedown/".into(),
            serializable_reads: false,
            timeout: Duration::from_secs(4),
            workload: "register",
            negative_balances: false,
        }
    }
}

/// Opens [`EtcdOps`] clients: node name -> `host:port` of its client URL.
#[derive(Clone, Debug)]
pub struct EtcdConnect {
    /// `(node, "host:port")`; a node not listed is used as `host:port` itself.
    pub endpoints: Vec<(String, String)>,
    pub options: ClientOptions,
}

impl Connect for EtcdConnect {
    type Client = EtcdOps;

    async fn open(&self, node: &str, _process: u64) -> Result<EtcdOps, String> {
        let endpoint = self
            .endpoints
            .iter()
            .find(|(n, _)| n == node)
            .map_or(node, |(_, e)| e.as_str());
        let mut client = EtcdClient::new(endpoint);
        client.timeout = self.options.timeout;
        client.serializable = self.options.serializable_reads;
        Ok(EtcdOps {
            client,
            prefix: self.options.prefix.clone(),
            workload: self.options.workload,
            negative_balances: self.options.negative_balances,
        })
    }
}

/// The run-loop client for one workload's ops on etcd (each workload's
/// module says how its ops map onto etcd):
///
/// - register: `read` / `write v` / `cas [old new]` on a key, one etcd key
///   per register;
/// - set: `add e` / `read`, one etcd key per element;
/// - list-append: `txn [[append k v] [r k nil] ...]`, a read of every key
///   involved followed by a txn guarded by their mod revisions;
/// - bank: `init`, `transfer`, `read`; a transfer is one txn guarded by
///   both accounts' mod revisions;
/// - counter: `add n` / `read`; an add is a compare-and-swap loop on the
///   counter's mod revision;
/// - unique-ids: `generate`; the id is the etcd revision of a write.
pub struct EtcdOps {
    pub client: EtcdClient,
    prefix: String,
    workload: &'static str,
    negative_balances: bool,
}

fn key_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Str(s) | Value::Keyword(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_scalar(b: &[u8]) -> Value {
    let s = String::from_utf8_lossy(b);
    match s.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Str(s.into_owned()),
    }
}

fn scalar_bytes(v: &Value) -> Vec<u8> {
    key_text(v).into_bytes()
}

/// A list-append value: a JSON array of integers.
fn parse_list(b: &[u8]) -> Result<Vec<Value>, String> {
    if b.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<i64> = serde_json::from_slice(b)
        .map_err(|e| format!("list value {:?}: {e}", String::from_utf8_lossy(b)))?;
    Ok(list.into_iter().map(Value::Int).collect())
}

/// Maps an error of an op that may have changed state.
fn write_error(e: EtcdError) -> Completion {
    if e.definitely_failed() {
        Completion::Fail(e.to_string())
    } else {
        Completion::Info(e.to_string())
    }
}

impl EtcdOps {
    /// `<prefix><space>/<k>`: each workload has its own space.
    fn key(&self, space: &str, k: &Value) -> Vec<u8> {
        format!("{}{space}/{}", self.prefix, key_text(k)).into_bytes()
    }
}

impl Client for EtcdOps {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        match (self.workload, &op.key) {
            ("register", Some(key)) => {
                let key = key.clone();
                self.register(op, &key).await
            }
            ("register", None) => Completion::fail("register op without a key"),
            ("set", _) => self.set(op).await,
            ("list-append", _) if op.f == "txn" => self.txn(op).await,
            ("bank", _) => self.bank(op).await,
            ("counter", _) => self.counter(op).await,
            ("unique-ids", _) => self.unique_id(op).await,
            (workload, _) => Completion::fail(format!(
                "etcd client opened for {workload} cannot perform {:?}",
                op.f
            )),
        }
    }
}
