//! One operation of a history: an invocation or a completion.

use crate::value::Value;
use std::fmt;

/// The four kinds of history entries (Jepsen's `:type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpType {
    /// The client is about to perform the operation.
    Invoke,
    /// The operation happened.
    Ok,
    /// The operation certainly did not happen.
    Fail,
    /// Unknown outcome: it may or may not have happened, and may take effect
    /// at any later time. Nemesis events are also `info`.
    Info,
}

impl OpType {
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<OpType> {
        match s {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who performed an operation: a client process (an integer, as in Jepsen,
/// or a name such as `"c1"` or `:c1`) or one of the named actors that log
/// standalone events ([`EVENT_PROCESSES`]: the nemesis, the primaries
/// watch).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Named(String),
}

/// The named processes that are not clients: they log events, not
/// invocations and completions. Every other name is a client's.
pub const EVENT_PROCESSES: [&str; 2] = ["nemesis", "primaries"];

impl Process {
    pub fn nemesis() -> Process {
        Process::Named("nemesis".to_string())
    }

    pub fn is_client(&self) -> bool {
        // Asked per op in hot loops: no hash for a yes or no.
        match self {
            Process::Client(_) => true,
            Process::Named(n) => !EVENT_PROCESSES.contains(&n.as_str()),
        }
    }

    /// The client's number; `None` for an event process. A client named
    /// by a string gets [`Process::named_client_id`].
    pub fn client(&self) -> Option<u64> {
        match self {
            Process::Client(p) => Some(*p),
            Process::Named(n) => Process::named_client_id(n),
        }
    }

    /// The number standing for a client process named `name` (`None` for
    /// an event process). Integer clients are below 2^63 (readers take
    /// them from non-negative i64s), so names get the upper half: FNV-1a
    /// of the name with the top bit set. Two names share a number only if
    /// their 63-bit hashes collide; stable across runs and releases.
    pub fn named_client_id(name: &str) -> Option<u64> {
        if EVENT_PROCESSES.contains(&name) {
            return None;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Some(h | 1 << 63)
    }

    pub fn is_nemesis(&self) -> bool {
        matches!(self, Process::Named(n) if n == "nemesis")
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Named(n) => f.write_str(n),
        }
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Position in the history: dense and ascending in shakedown's own
    /// histories; assigned from the line order when a foreign file has none.
    pub index: u64,
    /// Nanoseconds since the run started (controller's monotonic clock), when known.
    pub time: Option<u64>,
    pub kind: OpType,
    pub process: Process,
    /// The function: `read`, `write`, `cas`, `txn`, `start-partition` ...
    pub f: String,
    pub value: Value,
    /// The key of an independent (per-key) history, if any.
    pub key: Option<Value>,
    pub node: Option<String>,
    pub error: Option<Value>,
    /// Every other field, kept as read and written back unchanged.
    pub extra: Vec<(String, Value)>,
}

impl Op {
    /// A minimal op; the builder-style setters below fill in the rest.
    pub fn new(kind: OpType, process: Process, f: impl Into<String>, value: Value) -> Op {
        Op {
            index: 0,
            time: None,
            kind,
            process,
            f: f.into(),
            value,
            key: None,
            node: None,
            error: None,
            extra: Vec::new(),
        }
    }

    pub fn invoke(process: u64, f: &str, value: impl Into<Value>) -> Op {
        Op::new(OpType::Invoke, Process::Client(process), f, value.into())
    }
    pub fn ok(process: u64, f: &str, value: impl Into<Value>) -> Op {
        Op::new(OpType::Ok, Process::Client(process), f, value.into())
    }
    pub fn fail(process: u64, f: &str, value: impl Into<Value>) -> Op {
        Op::new(OpType::Fail, Process::Client(process), f, value.into())
    }
    pub fn info(process: u64, f: &str, value: impl Into<Value>) -> Op {
        Op::new(OpType::Info, Process::Client(process), f, value.into())
    }

    /// What the invocation/completion protocol reads of an op
    /// ([`crate::Pairing::push`]): the client's number, the kind, `f`.
    pub fn parts(&self) -> (Option<u64>, OpType, &str) {
        (self.process.client(), self.kind, &self.f)
    }

    pub fn with_key(mut self, key: impl Into<Value>) -> Op {
        self.key = Some(key.into());
        self
    }
    pub fn with_time(mut self, time: u64) -> Op {
        self.time = Some(time);
        self
    }
    pub fn with_index(mut self, index: u64) -> Op {
        self.index = index;
        self
    }
}

/// Field names with a meaning of their own; every other field goes to `extra`.
pub const KNOWN_FIELDS: [&str; 9] = [
    "index", "time", "type", "process", "f", "value", "key", "node", "error",
];
