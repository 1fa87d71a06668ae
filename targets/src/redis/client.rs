//! The run-loop client for Redis, on the `redis` crate, and the small
//! questions the target asks servers and Sentinels (replication state,
//! quorum, who is primary).
//!
//! A client finds the primary through Sentinel, as applications do (the
//! crate's `SentinelClient`, asking its own node's Sentinel first), and
//! keeps that connection until it fails; without Sentinel the primary is the
//! first node. Outcomes:
//!
//! - an error reply (`READONLY` from a demoted primary, `NOREPLICAS` under
//!   `min-replicas-to-write`, a failed lookup) and a refused or failed
//!   connect are `fail`: the command was not executed;
//! - a connection lost or timed out after the command went out is `info`;
//! - with `wait: N`, a write whose `WAIT N` saw fewer than N replicas is
//!   `info`: it was applied on the primary but not confirmed as asked
//!   (adds, writes, cas, increments, enqueues; a dequeue or drain reports
//!   what it took).
//!
//! Keys, under a per-run prefix: `<prefix>:set` (`SADD`, `SMEMBERS`),
//! `<prefix>:r:<key>` (registers: `GET`, `SET`, compare-and-set by a Lua
//! script), `<prefix>:counter` (`INCRBY`, `GET`) and `<prefix>:queue`
//! (`RPUSH`, `LPOP`, and a drain by a Lua script, at the primary).
//!
//! Set and counter reads read the worker's own node (final reads are one
//! per node), after waiting until that node agrees with the rest: a
//! replica caught up with its primary's offset, or a primary that Sentinel
//! names. Register reads go to the primary, or to the worker's own node
//! with `read: serializable`.

use super::db::{MASTER_NAME, SENTINEL_PORT, SERVER_PORT};
use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{AsyncConnectionConfig, RedisError};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The workloads this client implements.
pub const WORKLOADS: &[&str] = &["set", "register", "counter", "queue", "total-queue"];

/// Drain in one step: every element of the list `KEYS[1]`, then delete it.
const DRAIN: &str =
    "local v = redis.call('LRANGE', KEYS[1], 0, -1) redis.call('DEL', KEYS[1]) return v";

/// Compare-and-set in one step on the server: set `KEYS[1]` to `ARGV[2]`
/// if it holds `ARGV[1]`.
const CAS: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                   redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

// ---- connections and questions -------------------------------------------

fn config(timeout: Duration) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

/// A connection to `host:port`, bounded by `timeout`.
pub async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<MultiplexedConnection, RedisError> {
    let client = redis::Client::open(format!("redis://{host}:{port}/"))?;
    client
        .get_multiplexed_async_connection_with_config(&config(timeout))
        .await
}

/// `INFO replication` of the server on `host`, as a map.
pub async fn info_replication(
    host: &str,
    timeout: Duration,
) -> Result<HashMap<String, String>, String> {
    let mut c = connect(host, SERVER_PORT, timeout)
        .await
        .map_err(|e| format!("{host}:{SERVER_PORT}: {e}"))?;
    let text: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut c)
        .await
        .map_err(|e| format!("{host}:{SERVER_PORT}: INFO: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// Whether the Sentinel on `host` can take part in a failover: `SENTINEL
/// CKQUORUM` (enough Sentinels not known to be down to reach the quorum and
/// a majority), and a live link to each of the `others` Sentinels (no
/// command left unanswered). CKQUORUM
/// alone passes for a while after discovery (Sentinels learn of each other
/// through the primary) even when they cannot reach each other: a Sentinel
/// counts as usable until it is marked down, `down-after` later. Errors in
/// Sentinel's own words (`NOQUORUM ...`).
pub async fn sentinel_ready(host: &str, others: usize, timeout: Duration) -> Result<(), String> {
    let at = format!("Sentinel {host}:{SENTINEL_PORT}");
    let mut c = connect(host, SENTINEL_PORT, timeout)
        .await
        .map_err(|e| format!("{at}: {e}"))?;
    redis::cmd("SENTINEL")
        .arg("CKQUORUM")
        .arg(MASTER_NAME)
        .query_async::<String>(&mut c)
        .await
        .map_err(|e| format!("{at}: {e}"))?;
    let peers: Vec<HashMap<String, String>> = redis::cmd("SENTINEL")
        .arg("SENTINELS")
        .arg(MASTER_NAME)
        .query_async(&mut c)
        .await
        .map_err(|e| format!("{at}: SENTINEL SENTINELS: {e}"))?;
    let linked = peers
        .iter()
        .filter(|p| {
            // A link whose connect never completes still shows clean flags
            // until the peer is marked down, but its PINGs pile up.
            p.get("flags").map(String::as_str) == Some("sentinel")
                && p.get("link-pending-commands").map(String::as_str) == Some("0")
        })
        .count();
    if linked < others {
        let states: Vec<String> = peers
            .iter()
            .map(|p| {
                format!(
                    "{}: flags {}, {} command(s) unanswered",
                    p.get("ip").map_or("?", String::as_str),
                    p.get("flags").map_or("?", String::as_str),
                    p.get("link-pending-commands").map_or("?", String::as_str)
                )
            })
            .collect();
        return Err(format!(
            "{at} has a working link to {linked} of the {others} other Sentinels ({})",
            if states.is_empty() {
                "it knows of none".to_string()
            } else {
                states.join("; ")
            }
        ));
    }
    Ok(())
}

/// What one Sentinel says about the primary: its address and the
/// configuration epoch of that answer (each failover raises it).
async fn sentinel_view(host: &str, timeout: Duration) -> Result<(String, u64), String> {
    let mut c = connect(host, SENTINEL_PORT, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let fields: Vec<String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER_NAME)
        .query_async(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    let get = |k: &str| {
        fields
            .chunks(2)
            .find(|kv| kv[0] == k)
            .and_then(|kv| kv.get(1).cloned())
    };
    let ip = get("ip").ok_or("no ip in SENTINEL MASTER")?;
    let epoch = get("config-epoch")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    Ok((ip, epoch))
}

/// The primary as the Sentinels say, by node name: of the Sentinels that
/// answer, the answer with the newest configuration epoch (a Sentinel cut
/// off from the others still names the primary it knew).
pub async fn sentinel_primary(
    hosts: &[(String, String)],
    timeout: Duration,
) -> Result<String, String> {
    let asks = hosts.iter().map(|(_, h)| {
        let h = h.clone();
        async move { sentinel_view(&h, timeout).await }
    });
    let answers = futures_join_all(asks).await;
    let mut best: Option<(String, u64)> = None;
    let mut errors = Vec::new();
    for ((name, _), a) in hosts.iter().zip(answers) {
        match a {
            Ok((ip, epoch)) if best.as_ref().is_none_or(|(_, e)| epoch > *e) => {
                best = Some((ip, epoch))
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    let Some((ip, _)) = best else {
        return Err(format!("no Sentinel answered ({})", errors.join("; ")));
    };
    hosts
        .iter()
        .find(|(_, h)| *h == ip)
        .map(|(n, _)| n.clone())
        .ok_or_else(|| format!("Sentinel names {ip} as primary, which is no node of the run"))
}

/// The nodes whose server says it is a primary (`role:master`), of those
/// that answer: two during a split brain.
pub async fn self_declared_primaries(hosts: &[(String, String)], timeout: Duration) -> Vec<String> {
    let asks = hosts.iter().map(|(_, h)| {
        let h = h.clone();
        async move { info_replication(&h, timeout).await }
    });
    let answers = futures_join_all(asks).await;
    hosts
        .iter()
        .zip(answers)
        .filter(|(_, a)| matches!(a, Ok(i) if i.get("role").map(String::as_str) == Some("master")))
        .map(|((n, _), _)| n.clone())
        .collect()
}

/// Runs futures concurrently and collects their outputs in order (tokio
/// has no `join_all`; the futures are few).
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("a lookup task panicked"));
    }
    out
}

// ---- the run-loop client ---------------------------------------------------

/// Opens one [`RedisClient`] per worker.
#[derive(Clone, Debug)]
pub struct RedisConnect {
    /// `(node, host)` of every node, in order (the first is the initial
    /// primary).
    pub hosts: Vec<(String, String)>,
    pub sentinel: bool,
    /// `WAIT` for this many replicas after every write (0: do not).
    pub wait: u32,
    pub prefix: String,
    /// `set` or `register`.
    pub workload: &'static str,
    /// Register reads at the worker's own node rather than the primary.
    pub local_reads: bool,
    /// Each request's bound (a little under the run loop's op timeout).
    pub timeout: Duration,
}

impl Connect for RedisConnect {
    type Client = RedisClient;

    async fn open(&self, node: &str, _process: u64) -> Result<RedisClient, String> {
        let at = self
            .hosts
            .iter()
            .position(|(n, _)| n == node)
            .ok_or_else(|| format!("{node} is not a node of this run"))?;
        // This node's Sentinel first, then the others in order.
        let mut sentinels: Vec<String> = self.hosts[at..]
            .iter()
            .chain(&self.hosts[..at])
            .map(|(_, h)| format!("redis://{h}:{SENTINEL_PORT}/"))
            .collect();
        sentinels.dedup();
        Ok(RedisClient {
            connect: self.clone(),
            node: node.to_string(),
            host: self.hosts[at].1.clone(),
            sentinels,
            primary: None,
            local: None,
        })
    }
}

/// One worker's client: a connection to the primary (found when first
/// needed, kept until it fails) and one to its own node (for reads there).
pub struct RedisClient {
    connect: RedisConnect,
    node: String,
    host: String,
    sentinels: Vec<String>,
    primary: Option<MultiplexedConnection>,
    local: Option<MultiplexedConnection>,
}

/// An error reply means the command was not executed; a lost or timed-out
/// connection after sending leaves it unknown; a refused connect is
/// certain.
fn outcome(e: &RedisError) -> Completion {
    if e.is_io_error() || e.is_timeout() {
        if e.is_connection_refusal() {
            Completion::fail(e.to_string())
        } else {
            Completion::info(e.to_string())
        }
    } else if matches!(
        e.kind(),
        redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
    ) {
        Completion::fail(e.to_string())
    } else {
        Completion::info(e.to_string())
    }
}

impl RedisClient {
    /// The connection to the primary, looked up through Sentinel when there
    /// is none. An error here means nothing was sent.
    async fn primary(&mut self) -> Result<&mut MultiplexedConnection, String> {
        if self.primary.is_none() {
            let timeout = self.connect.timeout;
            let conn = if self.connect.sentinel {
                let lookup = async {
                    let mut sc = SentinelClient::build(
                        self.sentinels.clone(),
                        MASTER_NAME.to_string(),
                        None,
                        SentinelServerType::Master,
                    )?;
                    sc.async_get_client()
                        .await?
                        .get_multiplexed_async_connection_with_config(&config(timeout))
                        .await
                };
                tokio::time::timeout(timeout, lookup)
                    .await
                    .map_err(|_| {
                        format!("finding the primary through Sentinel took over {timeout:?}")
                    })?
                    .map_err(|e| format!("finding the primary through Sentinel: {e}"))?
            } else {
                let (name, host) = &self.connect.hosts[0];
                connect(host, SERVER_PORT, timeout)
                    .await
                    .map_err(|e| format!("connecting to the primary {name}: {e}"))?
            };
            self.primary = Some(conn);
        }
        Ok(self.primary.as_mut().expect("just set"))
    }

    async fn local(&mut self) -> Result<&mut MultiplexedConnection, String> {
        if self.local.is_none() {
            let c = connect(&self.host, SERVER_PORT, self.connect.timeout)
                .await
                .map_err(|e| format!("connecting to {}: {e}", self.node))?;
            self.local = Some(c);
        }
        Ok(self.local.as_mut().expect("just set"))
    }

    /// Runs a command on the primary; on a connection error or `READONLY`
    /// (the primary was demoted) the connection is dropped, so the next
    /// operation looks the primary up again.
    async fn on_primary<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> Result<T, Completion> {
        let conn = self.primary().await.map_err(Completion::fail)?;
        let r = cmd.query_async::<T>(conn).await;
        if let Err(e) = &r {
            if e.is_io_error() || e.is_timeout() || e.code() == Some("READONLY") {
                self.primary = None;
            }
        }
        r.map_err(|e| outcome(&e))
    }

    /// Runs a Lua script on the primary (same connection handling as
    /// [`Self::on_primary`]).
    async fn script_on_primary<T: redis::FromRedisValue>(
        &mut self,
        script: &str,
        key: &str,
        args: &[i64],
    ) -> Result<T, Completion> {
        let conn = self.primary().await.map_err(Completion::fail)?;
        let script = redis::Script::new(script);
        let mut call = script.key(key);
        for a in args {
            call.arg(*a);
        }
        let r = call.invoke_async::<T>(conn).await;
        if let Err(e) = &r {
            if e.is_io_error() || e.is_timeout() || e.code() == Some("READONLY") {
                self.primary = None;
            }
        }
        r.map_err(|e| outcome(&e))
    }

    /// After a write that succeeded: `WAIT N`, when asked for. Fewer
    /// replicas than asked leaves the write applied on the primary but
    /// unconfirmed: `info`.
    async fn confirm(&mut self, value: Value) -> Completion {
        let n = self.connect.wait;
        if n == 0 {
            return Completion::Ok(value);
        }
        let ms = (self.connect.timeout / 2).as_millis().clamp(100, 2_000) as u64;
        let mut wait = redis::cmd("WAIT");
        wait.arg(n).arg(ms);
        match self.on_primary::<i64>(&wait).await {
            Ok(acks) if acks >= n as i64 => Completion::Ok(value),
            Ok(acks) => Completion::info(format!(
                "WAIT {n}: {acks} replica(s) acknowledged within {ms} ms"
            )),
            // The write itself succeeded: whatever WAIT says, unknown.
            Err(Completion::Fail(e) | Completion::Info(e)) => {
                Completion::info(format!("WAIT: {e}"))
            }
            Err(Completion::Ok(_)) => unreachable!("errors are fail or info"),
        }
    }

    async fn set(&mut self, op: &OpRequest) -> Completion {
        let key = format!("{}:set", self.connect.prefix);
        match op.f {
            "add" => {
                let Some(e) = op.value.as_int() else {
                    return Completion::fail("add: expected an integer");
                };
                let mut sadd = redis::cmd("SADD");
                sadd.arg(&key).arg(e);
                match self.on_primary::<i64>(&sadd).await {
                    Ok(_) => self.confirm(op.value.clone()).await,
                    Err(c) => c,
                }
            }
            "read" => {
                let mut smembers = redis::cmd("SMEMBERS");
                smembers.arg(&key);
                match self.read_here::<Vec<i64>>(&smembers).await {
                    Ok(mut es) => {
                        es.sort_unstable();
                        Completion::Ok(Value::List(es.into_iter().map(Value::Int).collect()))
                    }
                    Err(c) => c,
                }
            }
            f => Completion::fail(format!("the set workload has no {f:?}")),
        }
    }

    /// A read at the worker's own node, once it is consistent with the
    /// primary. A read has no effect: an unknown outcome is a fail.
    async fn read_here<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> Result<T, Completion> {
        self.wait_until_consistent()
            .await
            .map_err(Completion::fail)?;
        let conn = self.local().await.map_err(Completion::fail)?;
        let r = cmd.query_async::<T>(conn).await;
        if r.is_err() {
            self.local = None;
        }
        r.map_err(|e| Completion::fail(e.to_string()))
    }

    async fn counter(&mut self, op: &OpRequest) -> Completion {
        let key = format!("{}:counter", self.connect.prefix);
        match op.f {
            "add" => {
                let Some(n) = op.value.as_int() else {
                    return Completion::fail("add: expected an integer");
                };
                let mut incr = redis::cmd("INCRBY");
                incr.arg(&key).arg(n);
                match self.on_primary::<i64>(&incr).await {
                    Ok(_) => self.confirm(op.value.clone()).await,
                    Err(c) => c,
                }
            }
            "read" => {
                let mut get = redis::cmd("GET");
                get.arg(&key);
                match self.read_here::<Option<i64>>(&get).await {
                    Ok(v) => Completion::Ok(Value::Int(v.unwrap_or(0))),
                    Err(c) => c,
                }
            }
            f => Completion::fail(format!("the counter workload has no {f:?}")),
        }
    }

    async fn queue(&mut self, op: &OpRequest) -> Completion {
        let key = format!("{}:queue", self.connect.prefix);
        match op.f {
            "enqueue" => {
                let Some(e) = op.value.as_int() else {
                    return Completion::fail("enqueue: expected an integer");
                };
                let mut push = redis::cmd("RPUSH");
                push.arg(&key).arg(e);
                match self.on_primary::<i64>(&push).await {
                    Ok(_) => self.confirm(op.value.clone()).await,
                    Err(c) => c,
                }
            }
            "dequeue" => {
                let mut pop = redis::cmd("LPOP");
                pop.arg(&key);
                match self.on_primary::<Option<i64>>(&pop).await {
                    // What it took, WAIT or not: an unknown outcome would
                    // hide which element came out.
                    Ok(Some(e)) => Completion::Ok(Value::Int(e)),
                    Ok(None) => Completion::fail("the queue is empty"),
                    Err(c) => c,
                }
            }
            // The final reckoning: at the primary Sentinel names now (not
            // through a connection kept from before, which a demotion may
            // have closed), and atomically: a drain that broke half-way
            // would have taken elements it cannot report.
            "drain" => {
                self.primary = None;
                match self.script_on_primary::<Vec<i64>>(DRAIN, &key, &[]).await {
                    Ok(es) => Completion::Ok(Value::List(es.into_iter().map(Value::Int).collect())),
                    Err(c) => c,
                }
            }
            f => Completion::fail(format!("the queue workload has no {f:?}")),
        }
    }

    /// Waits (within the op timeout) until this node agrees with the rest:
    /// a replica whose link is up and whose offset has reached its
    /// primary's, or a primary that is the primary (Sentinel names it, or
    /// the first node without Sentinel). A demoted primary not yet told, or
    /// a replica still syncing, would report writes as lost that are not.
    async fn wait_until_consistent(&mut self) -> Result<(), String> {
        let timeout = self.connect.timeout;
        let deadline = Instant::now() + timeout.saturating_sub(Duration::from_millis(500));
        let step = Duration::from_secs(1).min(timeout);
        let mut why;
        loop {
            why = match self.consistent(step).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} is not consistent with the primary: {why}",
                    self.node
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn consistent(&self, step: Duration) -> Result<(), String> {
        let info = info_replication(&self.host, step).await?;
        match info.get("role").map(String::as_str) {
            Some("master") => {
                let primary = if self.connect.sentinel {
                    sentinel_primary(&self.connect.hosts, step).await?
                } else {
                    self.connect.hosts[0].0.clone()
                };
                if primary == self.node {
                    Ok(())
                } else {
                    Err(format!("it is a primary, but the primary is {primary}"))
                }
            }
            Some("slave") => {
                let link = info.get("master_link_status").map(String::as_str);
                let syncing = info.get("master_sync_in_progress").map(String::as_str);
                if link != Some("up") || syncing != Some("0") {
                    return Err(format!(
                        "its replication link is {} (sync in progress: {})",
                        link.unwrap_or("absent"),
                        syncing.unwrap_or("?")
                    ));
                }
                let master = info.get("master_host").cloned().unwrap_or_default();
                let mine: u64 = info
                    .get("slave_repl_offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0);
                let theirs = info_replication(&master, step).await?;
                if theirs.get("role").map(String::as_str) != Some("master") {
                    return Err(format!("its primary {master} is not a primary"));
                }
                let target: u64 = theirs
                    .get("master_repl_offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(u64::MAX);
                if mine >= target {
                    Ok(())
                } else {
                    Err(format!(
                        "its offset {mine} is behind its primary's {target}"
                    ))
                }
            }
            other => Err(format!("unexpected role {other:?}")),
        }
    }

    async fn register(&mut self, op: &OpRequest) -> Completion {
        let Some(k) = &op.key else {
            return Completion::fail("register op without a key");
        };
        let key = format!("{}:r:{}", self.connect.prefix, key_text(k));
        match op.f {
            "read" => {
                let mut get = redis::cmd("GET");
                get.arg(&key);
                let r: Result<Option<i64>, Completion> = if self.connect.local_reads {
                    match self.local().await {
                        Ok(conn) => {
                            let r = get.query_async(conn).await;
                            if r.is_err() {
                                self.local = None;
                            }
                            r.map_err(|e| outcome(&e))
                        }
                        Err(e) => Err(Completion::fail(e)),
                    }
                } else {
                    self.on_primary(&get).await
                };
                match r {
                    Ok(v) => Completion::Ok(v.map_or(Value::Nil, Value::Int)),
                    // A read has no effect: unknown is as good as failed.
                    Err(Completion::Info(e)) => Completion::fail(e),
                    Err(c) => c,
                }
            }
            "write" => {
                let Some(v) = op.value.as_int() else {
                    return Completion::fail("write: expected an integer");
                };
                let mut set = redis::cmd("SET");
                set.arg(&key).arg(v);
                match self.on_primary::<()>(&set).await {
                    Ok(()) => self.confirm(op.value.clone()).await,
                    Err(c) => c,
                }
            }
            "cas" => {
                let pair = op.value.as_list().and_then(|l| match l {
                    [a, b] => Some((a.as_int()?, b.as_int()?)),
                    _ => None,
                });
                let Some((old, new)) = pair else {
                    return Completion::fail("cas: expected [old, new] integers");
                };
                match self.script_on_primary::<i64>(CAS, &key, &[old, new]).await {
                    Ok(1) => self.confirm(op.value.clone()).await,
                    Ok(_) => Completion::fail(format!("the value is not {old}")),
                    Err(c) => c,
                }
            }
            f => Completion::fail(format!("the register workload has no {f:?}")),
        }
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

impl Client for RedisClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        match self.connect.workload {
            "set" => self.set(op).await,
            "register" => self.register(op).await,
            "counter" => self.counter(op).await,
            "queue" | "total-queue" => self.queue(op).await,
            w => Completion::fail(format!("the Redis client has no {w} workload")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_fail_and_lost_connections_are_unknown() {
        let readonly = RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
            "READONLY You can't write against a read only replica.",
        ));
        assert!(matches!(outcome(&readonly), Completion::Fail(_)));
        let reset = RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        assert!(matches!(outcome(&reset), Completion::Info(_)));
        let refused = RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert!(matches!(outcome(&refused), Completion::Fail(_)));
    }
}
