//! The etcd v3 API over the HTTP/JSON gateway: range, put, txn, status.

use super::base64::{base64_decode, base64_encode};
use super::error::{unknown, EtcdError};
use super::http::Conn;
use serde_json::{json, Value as Json};
use std::time::Duration;

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
        conn.send(&request).await?;
        let (status, body, keep_alive) = conn.response().await?;
        if keep_alive && conn.drained() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"s/"), b"s0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b""), vec![0]);
    }
}
