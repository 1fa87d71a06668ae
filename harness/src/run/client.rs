//! What a database client looks like to the run loop.
//!
//! A [`Connect`] opens one [`Client`] per worker against one node; the
//! worker hands it [`OpRequest`]s one at a time and records the
//! [`Completion`]. After an `info` completion (unknown outcome) the worker
//! drops the client and opens a fresh one: the old connection may still
//! carry the ambiguous request.

use history::Value;
use std::future::Future;

/// One operation for a client to perform: what the history's invocation
/// records (`f`, `value`, `key`).
#[derive(Clone, Debug, PartialEq)]
pub struct OpRequest {
    /// `read`, `write`, `cas`, `add`, `txn` ...
    pub f: &'static str,
    pub value: Value,
    /// The key of an independent (per-key) history, if any.
    pub key: Option<Value>,
}

impl OpRequest {
    pub fn new(f: &'static str, value: impl Into<Value>) -> OpRequest {
        OpRequest {
            f,
            value: value.into(),
            key: None,
        }
    }

    pub fn with_key(mut self, key: impl Into<Value>) -> OpRequest {
        self.key = Some(key.into());
        self
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// It happened; the value is the completion's (a read's result, or the
    /// written value echoed back).
    Ok(Value),
    /// It certainly did not happen (a compare that failed, a request that
    /// was never sent). The completion keeps the request's value.
    Fail(String),
    /// Unknown: it may or may not have happened, and may still take effect
    /// (a timeout or a connection reset after the request was sent).
    Info(String),
}

impl Completion {
    pub fn fail(error: impl Into<String>) -> Completion {
        Completion::Fail(error.into())
    }

    pub fn info(error: impl Into<String>) -> Completion {
        Completion::Info(error.into())
    }

    pub fn is_info(&self) -> bool {
        matches!(self, Completion::Info(_))
    }
}

/// A connection to one node, used by one worker at a time.
pub trait Client: Send + 'static {
    /// Performs one operation. Must not panic on database errors: map them
    /// to `Fail` (certainly not applied) or `Info` (unknown). The run loop
    /// wraps the call in its own per-op timeout and records `info` when it
    /// fires.
    fn invoke(&mut self, op: &OpRequest) -> impl Future<Output = Completion> + Send;
}

/// Opens clients: one per worker, bound to the node `worker % nodes`.
pub trait Connect: Send + Sync + 'static {
    type Client: Client;

    /// Opens a client for `node` (a name from [`RunConfig::nodes`](super::RunConfig)).
    /// An error is logged and retried with backoff until the phase ends.
    fn open(&self, node: &str) -> impl Future<Output = Result<Self::Client, String>> + Send;
}
