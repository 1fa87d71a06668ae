//! What a database client looks like to the run loop.
//!
//! A [`Connect`] opens one [`Client`] per worker against one node; the
//! worker hands it [`OpRequest`]s one at a time and records the
//! [`Completion`]. After an `info` completion (unknown outcome) the worker
//! drops the client and opens a fresh one: the old connection may still
//! carry the ambiguous request.

use history::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

    /// Who this client is, for a warning about what it answered (an exec
    /// client names its program and stderr file); None: the warning names
    /// it by process and node.
    fn describe(&self) -> Option<String> {
        None
    }
}

/// Opens clients: one per worker, bound to the node `worker % nodes`.
pub trait Connect: Send + Sync + 'static {
    type Client: Client;

    /// Opens a client for `node` (a name from [`RunConfig::nodes`](super::RunConfig))
    /// that will perform operations as history process `process` (a fresh
    /// one after every `info`). An error is logged and retried with backoff
    /// until the phase ends.
    fn open(
        &self,
        node: &str,
        process: u64,
    ) -> impl Future<Output = Result<Self::Client, String>> + Send;

    /// Problems the clients met that the run should report (a client
    /// program that printed garbage, say), collected at the end of the run.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

// ---- boxed clients, for targets chosen at run time -------------------------

/// A boxed future, as the dyn-compatible traits below return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Client`] in a form that can live behind `dyn`: the binary picks a
/// target from the test file, so it cannot name the client type.
pub trait DynClient: Send + 'static {
    fn invoke_boxed<'a>(&'a mut self, op: &'a OpRequest) -> BoxFuture<'a, Completion>;
    fn describe_boxed(&self) -> Option<String>;
}

impl<C: Client> DynClient for C {
    fn invoke_boxed<'a>(&'a mut self, op: &'a OpRequest) -> BoxFuture<'a, Completion> {
        Box::pin(self.invoke(op))
    }
    fn describe_boxed(&self) -> Option<String> {
        self.describe()
    }
}

/// Any client. One allocation per operation, which is nothing beside a
/// network round trip.
pub struct BoxClient(pub Box<dyn DynClient>);

impl BoxClient {
    pub fn new(client: impl Client) -> BoxClient {
        BoxClient(Box::new(client))
    }
}

impl Client for BoxClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        self.0.invoke_boxed(op).await
    }

    fn describe(&self) -> Option<String> {
        self.0.describe_boxed()
    }
}

/// [`Connect`] behind `dyn`.
pub trait DynConnect: Send + Sync + 'static {
    fn open_boxed<'a>(
        &'a self,
        node: &'a str,
        process: u64,
    ) -> BoxFuture<'a, Result<BoxClient, String>>;
    fn warnings(&self) -> Vec<String>;
}

impl<C: Connect> DynConnect for C {
    fn open_boxed<'a>(
        &'a self,
        node: &'a str,
        process: u64,
    ) -> BoxFuture<'a, Result<BoxClient, String>> {
        Box::pin(async move { self.open(node, process).await.map(BoxClient::new) })
    }
    fn warnings(&self) -> Vec<String> {
        Connect::warnings(self)
    }
}

/// Any [`Connect`]: what a target hands the run loop.
#[derive(Clone)]
pub struct BoxConnect(pub Arc<dyn DynConnect>);

impl BoxConnect {
    pub fn new(connect: impl Connect) -> BoxConnect {
        BoxConnect(Arc::new(connect))
    }
}

impl Connect for BoxConnect {
    type Client = BoxClient;

    async fn open(&self, node: &str, process: u64) -> Result<BoxClient, String> {
        self.0.open_boxed(node, process).await
    }

    fn warnings(&self) -> Vec<String> {
        self.0.warnings()
    }
}
