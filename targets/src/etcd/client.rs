//! An etcd v3 client over etcd's HTTP/JSON gateway (`/v3/kv/range`,
//! `/v3/kv/put`, `/v3/kv/txn`, `/v3/maintenance/status`), on a small
//! HTTP/1.1 client of its own (keep-alive, `Content-Length` and chunked
//! bodies, a timeout per request), and the run-loop client built on it.
//!
//! Errors say whether the request could have taken effect:
//! [`EtcdError::definitely_failed`] is true only when it certainly did not
//! (never sent, or refused by etcd before it was applied: a failed
//! compare is not an error but `succeeded: false`). Everything else, a
//! timeout or a reset after the request went out, is unknown, and a write
//! with an unknown outcome is recorded as `info`.
//!
//! Keys used by the workloads, under a per-run prefix:
//! `<prefix>r/<key>` (register, value the decimal integer),
//! `<prefix>s/<element>` (set, one key per element),
//! `<prefix>l/<key>` (list-append, value a JSON array of integers).

use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use serde_json::{json, Value as Json};
use std::fmt;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- errors ---------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub enum EtcdError {
    /// The request never left: connecting failed, or the connection broke
    /// before anything was written.
    NotSent(String),
    /// Sent, but no answer: timeout, reset, garbled response.
    Unknown(String),
    /// etcd answered with an error (a gRPC status code).
    Server {
        status: u16,
        code: i64,
        message: String,
    },
}

impl EtcdError {
    /// True when the request certainly had no effect.
    pub fn definitely_failed(&self) -> bool {
        match self {
            EtcdError::NotSent(_) => true,
            EtcdError::Unknown(_) => false,
            // gRPC codes for requests rejected before they were applied:
            // InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
            // ResourceExhausted (too many requests, no space),
            // FailedPrecondition, OutOfRange (compacted), Unimplemented,
            // Unauthenticated. Unavailable ("request timed out", "leader
            // changed", "no leader"), DeadlineExceeded, Internal and
            // Unknown may follow a proposal that still commits.
            EtcdError::Server { code, .. } => {
                matches!(code, 3 | 5 | 6 | 7 | 8 | 9 | 11 | 12 | 16)
            }
        }
    }
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtcdError::NotSent(m) => write!(f, "not sent: {m}"),
            EtcdError::Unknown(m) => write!(f, "unknown outcome: {m}"),
            EtcdError::Server {
                status,
                code,
                message,
            } => write!(f, "{message} (code {code}, http {status})"),
        }
    }
}

impl std::error::Error for EtcdError {}

// ---- base64 ---------------------------------------------------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err(format!("invalid base64 character {:?}", c as char)),
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

// ---- HTTP/1.1 -------------------------------------------------------------

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 256 * 1024 * 1024;

fn unknown(e: impl fmt::Display) -> EtcdError {
    EtcdError::Unknown(e.to_string())
}

impl Conn {
    async fn open(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
        })
    }

    /// True when the server has closed the connection (or sent something
    /// unasked) since the last response: it must not carry a request.
    ///
    /// This asks the socket itself (a non-blocking `MSG_PEEK`): tokio's
    /// cached readiness may not have seen the peer's FIN yet, and a request
    /// written into a connection the server already closed has an unknown
    /// outcome, where one never written has certainly failed.
    fn is_stale(&self) -> bool {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: a borrowed view of the descriptor `self.stream` owns;
        // ManuallyDrop keeps the view from closing it.
        let view = std::mem::ManuallyDrop::new(unsafe {
            std::net::TcpStream::from_raw_fd(self.stream.as_raw_fd())
        });
        let mut b = [0u8; 1];
        !matches!(view.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Reads more bytes into the buffer; an error at EOF.
    async fn fill(&mut self) -> Result<(), EtcdError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + 16 * 1024, 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        self.buf.truncate(len + *n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => Err(unknown(
                "connection closed before the response was complete",
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(unknown(format!("reading the response: {e}"))),
        }
    }

    async fn line(&mut self) -> Result<String, EtcdError> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.buf.len() - self.pos > MAX_HEAD {
                return Err(unknown("response line too long"));
            }
            self.fill().await?;
        }
    }

    async fn take(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), EtcdError> {
        while self.buf.len() - self.pos < n {
            self.fill().await?;
        }
        out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(())
    }

    /// Reads one response: status, body, and whether the connection stays open.
    async fn response(&mut self) -> Result<(u16, Vec<u8>, bool), EtcdError> {
        let status_line = self.line().await?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| version.starts_with("HTTP/1."))
            .ok_or_else(|| unknown(format!("not an HTTP response: {status_line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        let mut keep_alive = version == "HTTP/1.1";
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(unknown(format!("malformed header {line:?}")));
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = Some(
                        value
                            .parse::<usize>()
                            .map_err(|_| unknown(format!("bad Content-Length {value:?}")))?,
                    )
                }
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        keep_alive = false;
                    } else if v.contains("keep-alive") {
                        keep_alive = true;
                    }
                }
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let line = self.line().await?;
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| unknown(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    // Trailers, up to an empty line.
                    while !self.line().await?.is_empty() {}
                    break;
                }
                if body.len() + size > MAX_BODY {
                    return Err(unknown("response body too large"));
                }
                self.take(size, &mut body).await?;
                if !self.line().await?.is_empty() {
                    return Err(unknown("chunk not followed by CRLF"));
                }
            }
        } else if let Some(n) = length {
            if n > MAX_BODY {
                return Err(unknown("response body too large"));
            }
            self.take(n, &mut body).await?;
        } else {
            // Body up to EOF.
            body.extend_from_slice(&self.buf[self.pos..]);
            self.pos = self.buf.len();
            loop {
                let mut chunk = [0u8; 16 * 1024];
                match self.stream.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                    Err(e) => return Err(unknown(format!("reading the response: {e}"))),
                }
            }
            keep_alive = false;
        }
        Ok((status, body, keep_alive))
    }
}

// ---- etcd API -------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
}

/// `GET /v3/maintenance/status`, the parts that matter for finding the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub member_id: u64,
    /// Member id of the leader as this member sees it (0: none).
    pub leader: u64,
    pub raft_term: u64,
    pub raft_index: u64,
    pub version: String,
}

impl Status {
    pub fn is_leader(&self) -> bool {
        self.leader != 0 && self.leader == self.member_id
    }
}

/// A condition of a txn.
#[derive(Clone, Debug)]
pub enum Compare {
    /// The key's value equals this (false when the key is absent).
    Value(Vec<u8>, Vec<u8>),
    /// The key's last modification revision equals this (0: absent).
    ModRevision(Vec<u8>, i64),
}

/// An operation inside a txn.
#[derive(Clone, Debug)]
pub enum TxnOp {
    Get(Vec<u8>),
    Put(Vec<u8>, Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TxnResult {
    Get(Option<KeyValue>),
    Put,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TxnResponse {
    pub succeeded: bool,
    pub revision: i64,
    pub results: Vec<TxnResult>,
}

/// An etcd client bound to one endpoint (`host:port`), one connection at a
/// time, reconnecting as needed.
pub struct EtcdClient {
    addr: String,
    conn: Option<Conn>,
    /// Upper bound on one request, connect included.
    pub timeout: Duration,
    /// Serve reads from the local member without a quorum round (may be stale).
    pub serializable: bool,
}

/// int64 fields arrive as JSON strings; absent means 0.
fn int(v: &Json, name: &str) -> i64 {
    match v.get(name) {
        Some(Json::String(s)) => s.parse().unwrap_or(0),
        Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn uint(v: &Json, names: &[&str]) -> u64 {
    for name in names {
        match v.get(name) {
            Some(Json::String(s)) => return s.parse().unwrap_or(0),
            Some(Json::Number(n)) => return n.as_u64().unwrap_or(0),
            _ => {}
        }
    }
    0
}

fn bytes(v: &Json, name: &str) -> Result<Vec<u8>, EtcdError> {
    match v.get(name).and_then(Json::as_str) {
        Some(s) => base64_decode(s).map_err(|e| unknown(format!("field {name}: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn kvs(v: &Json) -> Result<Vec<KeyValue>, EtcdError> {
    let Some(list) = v.get("kvs").and_then(Json::as_array) else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|kv| {
            Ok(KeyValue {
                key: bytes(kv, "key")?,
                value: bytes(kv, "value")?,
                create_revision: int(kv, "create_revision"),
                mod_revision: int(kv, "mod_revision"),
                version: int(kv, "version"),
            })
        })
        .collect()
}

/// The smallest key greater than every key with this prefix.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0] // the whole key space
}

impl EtcdClient {
    /// `endpoint` is `host:port`, optionally with a leading `http://`.
    pub fn new(endpoint: &str) -> EtcdClient {
        let addr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        EtcdClient {
            addr,
            conn: None,
            timeout: Duration::from_secs(5),
            serializable: false,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.addr
    }

    /// POSTs a JSON body and returns the JSON answer.
    pub async fn call(&mut self, path: &str, body: &Json) -> Result<Json, EtcdError> {
        let body = serde_json::to_vec(body).map_err(|e| EtcdError::NotSent(e.to_string()))?;
        let mut sent = false;
        let result =
            tokio::time::timeout(self.timeout, self.exchange(path, &body, &mut sent)).await;
        let (status, body) = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(match e {
                    EtcdError::Unknown(m) if !sent => EtcdError::NotSent(m),
                    e => e,
                });
            }
            Err(_) => {
                let msg = format!("timeout after {:?}", self.timeout);
                return Err(if sent {
                    EtcdError::Unknown(msg)
                } else {
                    EtcdError::NotSent(msg)
                });
            }
        };
        let json: Json = serde_json::from_slice(&body).map_err(|e| {
            unknown(format!(
                "http {status}: unparsable body ({e}): {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        })?;
        if status != 200 || json.get("error").is_some() {
            let message = json
                .get("message")
                .or(json.get("error"))
                .and_then(Json::as_str)
                .unwrap_or("no message")
                .to_string();
            return Err(EtcdError::Server {
                status,
                code: int(&json, "code"),
                message,
            });
        }
        Ok(json)
    }

    /// One request/response. The connection is taken out of `self` for
    /// the exchange and put back only after a complete response: if the
    /// future is dropped midway (a caller's own timeout), the half-used
    /// connection goes with it instead of answering the next request.
    async fn exchange(
        &mut self,
        path: &str,
        body: &[u8],
        sent: &mut bool,
    ) -> Result<(u16, Vec<u8>), EtcdError> {
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_stale() => c,
            _ => Conn::open(&self.addr)
                .await
                .map_err(|e| EtcdError::NotSent(format!("connecting to {}: {e}", self.addr)))?,
        };
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        *sent = true;
        conn.stream
            .write_all(&request)
            .await
            .map_err(|e| unknown(format!("sending the request: {e}")))?;
        let (status, body, keep_alive) = conn.response().await?;
        if keep_alive && conn.pos == conn.buf.len() {
            self.conn = Some(conn);
        }
        Ok((status, body))
    }

    fn range_json(&self, key: &[u8]) -> Json {
        let mut r = json!({ "key": base64_encode(key) });
        if self.serializable {
            r["serializable"] = Json::Bool(true);
        }
        r
    }

    pub async fn get(&mut self, key: &[u8]) -> Result<Option<KeyValue>, EtcdError> {
        let body = self.range_json(key);
        let r = self.call("/v3/kv/range", &body).await?;
        Ok(kvs(&r)?.into_iter().next())
    }

    /// Every key with this prefix, in key order.
    pub async fn get_prefix(
        &mut self,
        prefix: &[u8],
        keys_only: bool,
    ) -> Result<Vec<KeyValue>, EtcdError> {
        let mut body = self.range_json(prefix);
        body["range_end"] = Json::String(base64_encode(&prefix_end(prefix)));
        if keys_only {
            body["keys_only"] = Json::Bool(true);
        }
        let r = self.call("/v3/kv/range", &body).await?;
        kvs(&r)
    }

    /// Returns the revision of the write.
    pub async fn put(&mut self, key: &[u8], value: &[u8]) -> Result<i64, EtcdError> {
        let body = json!({ "key": base64_encode(key), "value": base64_encode(value) });
        let r = self.call("/v3/kv/put", &body).await?;
        Ok(int(&r["header"], "revision"))
    }

    /// Sets `key` to `new` if its value is `expected`; false if it was not.
    pub async fn cas(
        &mut self,
        key: &[u8],
        expected: &[u8],
        new: &[u8],
    ) -> Result<bool, EtcdError> {
        let txn = self
            .txn(
                &[Compare::Value(key.to_vec(), expected.to_vec())],
                &[TxnOp::Put(key.to_vec(), new.to_vec())],
                &[],
            )
            .await?;
        Ok(txn.succeeded)
    }

    /// Sets `key` to `new` if it was last modified at `mod_revision` (0:
    /// if it does not exist); false if not.
    pub async fn cas_revision(
        &mut self,
        key: &[u8],
        mod_revision: i64,
        new: &[u8],
    ) -> Result<bool, EtcdError> {
        let txn = self
            .txn(
                &[Compare::ModRevision(key.to_vec(), mod_revision)],
                &[TxnOp::Put(key.to_vec(), new.to_vec())],
                &[],
            )
            .await?;
        Ok(txn.succeeded)
    }

    /// If every compare holds, runs `success`, else `failure`, atomically.
    pub async fn txn(
        &mut self,
        compare: &[Compare],
        success: &[TxnOp],
        failure: &[TxnOp],
    ) -> Result<TxnResponse, EtcdError> {
        let compare: Vec<Json> = compare
            .iter()
            .map(|c| match c {
                Compare::Value(k, v) => json!({
                    "key": base64_encode(k), "result": "EQUAL", "target": "VALUE",
                    "value": base64_encode(v),
                }),
                Compare::ModRevision(k, rev) => json!({
                    "key": base64_encode(k), "result": "EQUAL", "target": "MOD",
                    "mod_revision": rev.to_string(),
                }),
            })
            .collect();
        let ops = |ops: &[TxnOp]| -> Vec<Json> {
            ops.iter()
                .map(|op| match op {
                    TxnOp::Get(k) => json!({ "request_range": self.range_json(k) }),
                    TxnOp::Put(k, v) => json!({
                        "request_put": { "key": base64_encode(k), "value": base64_encode(v) }
                    }),
                })
                .collect()
        };
        let body = json!({ "compare": compare, "success": ops(success), "failure": ops(failure) });
        let r = self.call("/v3/kv/txn", &body).await?;
        let succeeded = r.get("succeeded").and_then(Json::as_bool).unwrap_or(false);
        let mut results = Vec::new();
        if let Some(list) = r.get("responses").and_then(Json::as_array) {
            for resp in list {
                if let Some(range) = resp.get("response_range") {
                    results.push(TxnResult::Get(kvs(range)?.into_iter().next()));
                } else {
                    results.push(TxnResult::Put);
                }
            }
        }
        Ok(TxnResponse {
            succeeded,
            revision: int(&r["header"], "revision"),
            results,
        })
    }

    pub async fn status(&mut self) -> Result<Status, EtcdError> {
        let r = self.call("/v3/maintenance/status", &json!({})).await?;
        Ok(Status {
            member_id: uint(&r["header"], &["member_id", "memberId"]),
            leader: uint(&r, &["leader"]),
            raft_term: uint(&r, &["raftTerm", "raft_term"]),
            raft_index: uint(&r, &["raftIndex", "raft_index"]),
            version: r
                .get("version")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
}

/// Asks every endpoint (`(node, "host:port")`) for its status and returns
/// the node that is the leader, according to the leader itself. An error
/// lists what each node said when none is (no quorum, all down).
pub async fn find_leader(
    endpoints: &[(String, String)],
    timeout: Duration,
) -> Result<String, String> {
    let mut said = Vec::new();
    for (node, endpoint) in endpoints {
        let mut c = EtcdClient::new(endpoint);
        c.timeout = timeout;
        match c.status().await {
            Ok(s) if s.is_leader() => return Ok(node.clone()),
            Ok(s) => said.push(format!("{node}: follower (leader {:x})", s.leader)),
            Err(e) => said.push(format!("{node}: {e}")),
        }
    }
    Err(format!("no etcd leader found ({})", said.join("; ")))
}

// ---- the run-loop client --------------------------------------------------

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
    /// operations (`register`, `set` or `list-append`).
    pub workload: &'static str,
}

/// The workloads [`EtcdOps`] performs.
pub const WORKLOADS: &[&str] = &["register", "set", "list-append"];

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            prefix: "shakedown/".into(),
            serializable_reads: false,
            timeout: Duration::from_secs(4),
            workload: "register",
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
        })
    }
}

/// The run-loop client for one workload's ops on etcd:
///
/// - register: `read` / `write v` / `cas [old new]` on a key, one etcd key
///   per register;
/// - set: `add e` / `read`, one etcd key per element;
/// - list-append: `txn [[append k v] [r k nil] ...]`, a read of every key
///   involved followed by a txn guarded by their mod revisions.
pub struct EtcdOps {
    pub client: EtcdClient,
    prefix: String,
    workload: &'static str,
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
    fn key(&self, space: &str, k: &Value) -> Vec<u8> {
        format!("{}{space}/{}", self.prefix, key_text(k)).into_bytes()
    }

    async fn register(&mut self, op: &OpRequest, key: &Value) -> Completion {
        let k = self.key("r", key);
        match op.f {
            // A read changes nothing: any error is a failure.
            "read" => match self.client.get(&k).await {
                Ok(kv) => Completion::Ok(kv.map_or(Value::Nil, |kv| parse_scalar(&kv.value))),
                Err(e) => Completion::Fail(e.to_string()),
            },
            "write" => match self.client.put(&k, &scalar_bytes(&op.value)).await {
                Ok(_) => Completion::Ok(op.value.clone()),
                Err(e) => write_error(e),
            },
            "cas" => {
                let Some([from, to]) = op.value.as_list() else {
                    return Completion::fail("cas value must be [old new]");
                };
                match self
                    .client
                    .cas(&k, &scalar_bytes(from), &scalar_bytes(to))
                    .await
                {
                    Ok(true) => Completion::Ok(op.value.clone()),
                    Ok(false) => Completion::fail("cas: value differs"),
                    Err(e) => write_error(e),
                }
            }
            f => Completion::fail(format!("unsupported register op {f:?}")),
        }
    }

    async fn set(&mut self, op: &OpRequest) -> Completion {
        match op.f {
            "add" => match self.client.put(&self.key("s", &op.value), b"").await {
                Ok(_) => Completion::Ok(op.value.clone()),
                Err(e) => write_error(e),
            },
            "read" => {
                let prefix = format!("{}s/", self.prefix).into_bytes();
                match self.client.get_prefix(&prefix, true).await {
                    Ok(kvs) => {
                        let mut elements: Vec<Value> = kvs
                            .iter()
                            .map(|kv| parse_scalar(&kv.key[prefix.len()..]))
                            .collect();
                        elements.sort();
                        Completion::Ok(Value::List(elements))
                    }
                    Err(e) => Completion::Fail(e.to_string()),
                }
            }
            f => Completion::fail(format!("unsupported set op {f:?}")),
        }
    }

    async fn txn(&mut self, op: &OpRequest) -> Completion {
        let Some(mops) = op.value.as_list() else {
            return Completion::fail("txn value must be a list of micro-ops");
        };
        // Parse: (is_append, key, value).
        let mut parsed = Vec::with_capacity(mops.len());
        for m in mops {
            match m.as_list() {
                Some([f, k, v]) if matches!(f.as_str(), Some("append" | "r")) => {
                    parsed.push((f.as_str() == Some("append"), k.clone(), v.clone()))
                }
                _ => return Completion::fail(format!("bad micro-op {m}")),
            }
        }
        let mut keys: Vec<Value> = Vec::new();
        for (_, k, _) in &parsed {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        let etcd_keys: Vec<Vec<u8>> = keys.iter().map(|k| self.key("l", k)).collect();
        // 1. Read every key at one revision (read-only txn: linearizable
        //    unless serializable reads were asked for).
        let gets: Vec<TxnOp> = etcd_keys.iter().cloned().map(TxnOp::Get).collect();
        let snapshot = match self.client.txn(&[], &gets, &[]).await {
            Ok(r) => r,
            Err(e) => return Completion::Fail(e.to_string()),
        };
        let mut lists = Vec::with_capacity(keys.len());
        let mut revisions = Vec::with_capacity(keys.len());
        for r in &snapshot.results {
            let kv = match r {
                TxnResult::Get(kv) => kv.as_ref(),
                TxnResult::Put => None,
            };
            revisions.push(kv.map_or(0, |kv| kv.mod_revision));
            match kv.map_or(Ok(Vec::new()), |kv| parse_list(&kv.value)) {
                Ok(l) => lists.push(l),
                Err(e) => return Completion::fail(e),
            }
        }
        if lists.len() != keys.len() {
            return Completion::fail("txn: etcd returned fewer ranges than asked");
        }
        // 2. Apply the micro-ops to the snapshot.
        let mut written = vec![false; keys.len()];
        let mut out = Vec::with_capacity(parsed.len());
        for (append, k, v) in parsed {
            let i = keys.iter().position(|x| *x == k).unwrap();
            if append {
                lists[i].push(v.clone());
                written[i] = true;
                out.push(Value::List(vec!["append".into(), k, v]));
            } else {
                out.push(Value::List(vec![
                    "r".into(),
                    k,
                    Value::List(lists[i].clone()),
                ]));
            }
        }
        if !written.contains(&true) {
            return Completion::Ok(Value::List(out));
        }
        // 3. Commit the appends if no key changed since the snapshot.
        let compare: Vec<Compare> = etcd_keys
            .iter()
            .zip(&revisions)
            .map(|(k, &rev)| Compare::ModRevision(k.clone(), rev))
            .collect();
        let puts: Vec<TxnOp> = (0..keys.len())
            .filter(|&i| written[i])
            .map(|i| {
                let ints: Vec<i64> = lists[i].iter().filter_map(Value::as_int).collect();
                TxnOp::Put(etcd_keys[i].clone(), serde_json::to_vec(&ints).unwrap())
            })
            .collect();
        match self.client.txn(&compare, &puts, &[]).await {
            Ok(r) if r.succeeded => Completion::Ok(Value::List(out)),
            Ok(_) => Completion::fail("txn: a key changed since it was read"),
            Err(e) => write_error(e),
        }
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
            (workload, _) => Completion::fail(format!(
                "etcd client opened for {workload} cannot perform {:?}",
                op.f
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)).unwrap(), all);
        assert!(base64_decode("Zm9v!").is_err());
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"s/"), b"s0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b""), vec![0]);
    }

    #[test]
    fn which_errors_are_definite() {
        let server = |code| EtcdError::Server {
            status: 400,
            code,
            message: String::new(),
        };
        assert!(EtcdError::NotSent("refused".into()).definitely_failed());
        assert!(!EtcdError::Unknown("timeout".into()).definitely_failed());
        assert!(server(3).definitely_failed());
        assert!(server(8).definitely_failed());
        assert!(!server(14).definitely_failed()); // unavailable: may commit later
        assert!(!server(4).definitely_failed());
    }
}
