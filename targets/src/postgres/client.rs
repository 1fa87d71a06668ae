//! The run-loop client: one per worker, on tokio-postgres.
//!
//! Writes (and every transaction that writes) go to the primary. Read-only
//! transactions and register reads go to the worker's own node when
//! `read-from: replicas` and that node is a replica (a hot standby), so the
//! `node` every op records names the server that answered; workers bound
//! to the primary's node read from the primary.
//!
//! Tables: `lists (k, v bigint[])` for list-append (an append is one
//! `INSERT ... ON CONFLICT DO UPDATE SET v = v || x`), `registers (k, v)`
//! for rw-register and register.
//!
//! Outcomes. A transaction commits only when its `COMMIT` is processed, so
//! an error of any kind before `COMMIT` was sent means it did not happen
//! (`fail`; the server rolls back a transaction whose connection is gone).
//! At `COMMIT` (and for a single write in autocommit) a serialization
//! failure (40001), a deadlock (40P01), a constraint violation (class 23)
//! and other errors the server reports before doing anything are `fail`;
//! a connection lost or a timeout after the request left is `info`. A
//! connection that cannot be opened (refused, timed out) is `fail`: nothing
//! was sent. Read-only transactions have no effects: their errors are
//! `fail`.

use super::db::{connect, describe};
use super::{Isolation, ReadFrom};
use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_postgres::Statement;

/// The workloads this client implements.
pub const WORKLOADS: &[&str] = &["list-append", "rw-register", "register", "bank"];

/// Opens clients; what every client shares.
#[derive(Clone, Debug)]
pub struct PgConnect {
    /// Node name -> connection settings.
    pub configs: BTreeMap<String, tokio_postgres::Config>,
    pub primary: String,
    pub isolation: Isolation,
    pub read_from: ReadFrom,
    pub workload: &'static str,
    /// Bank: whether a transfer may overdraw an account.
    pub negative_balances: bool,
    /// Each op gives up after this (a little under the run loop's timeout).
    pub timeout: Duration,
}

impl Connect for PgConnect {
    type Client = PgClient;

    /// Connections are opened on first use, so a refused one is a `fail`
    /// of the op that needed it.
    async fn open(&self, node: &str, _process: u64) -> Result<PgClient, String> {
        let config = |n: &str| {
            self.configs
                .get(n)
                .cloned()
                .ok_or_else(|| format!("node {n} is not one of the target's nodes"))
        };
        let primary = Conn::new(config(&self.primary)?, false, self.isolation);
        let replica = if self.read_from == ReadFrom::Replicas && node != self.primary {
            Some(Conn::new(config(node)?, true, self.isolation))
        } else {
            None
        };
        Ok(PgClient {
            primary,
            replica,
            negative_balances: self.negative_balances,
            workload: self.workload,
            timeout: self.timeout,
        })
    }
}

/// Statements prepared once per connection.
struct Prepared {
    append: Statement,
    read_list: Statement,
    write_register: Statement,
    read_register: Statement,
    cas_register: Statement,
    bank_init: Statement,
    bank_debit: Statement,
    bank_credit: Statement,
    bank_read: Statement,
}

/// One server, connected lazily and again after the connection broke.
struct Conn {
    config: tokio_postgres::Config,
    standby: bool,
    isolation: Isolation,
    live: Option<(tokio_postgres::Client, Prepared)>,
}

impl Conn {
    fn new(config: tokio_postgres::Config, standby: bool, isolation: Isolation) -> Conn {
        Conn {
            config,
            standby,
            isolation,
            live: None,
        }
    }

    /// The isolation level on this server: a hot standby cannot run
    /// SERIALIZABLE (PostgreSQL refuses it there), so its reads run at
    /// REPEATABLE READ, a snapshot as of the WAL it has replayed.
    fn level(&self) -> Isolation {
        match self.isolation {
            Isolation::Serializable if self.standby => Isolation::RepeatableRead,
            i => i,
        }
    }

    /// The connection, opened (and statements prepared) if there is none
    /// or it broke. An error here means nothing of the op was sent.
    async fn get(&mut self) -> Result<&(tokio_postgres::Client, Prepared), String> {
        if self.live.as_ref().is_some_and(|(c, _)| c.is_closed()) {
            self.live = None;
        }
        if self.live.is_none() {
            let client = connect(&self.config).await?;
            let setup = format!(
                "SET default_transaction_isolation = '{}'",
                self.level().sql().to_lowercase()
            );
            client
                .batch_execute(&setup)
                .await
                .map_err(|e| describe(&e))?;
            let prepare = |sql: &'static str| {
                let c = &client;
                async move { c.prepare(sql).await.map_err(|e| describe(&e)) }
            };
            let prepared = Prepared {
                append: prepare(
                    "INSERT INTO lists AS l (k, v) VALUES ($1, ARRAY[$2::bigint]) \
                     ON CONFLICT (k) DO UPDATE SET v = l.v || $2::bigint",
                )
                .await?,
                read_list: prepare("SELECT v FROM lists WHERE k = $1").await?,
                write_register: prepare(
                    "INSERT INTO registers AS r (k, v) VALUES ($1, $2) \
                     ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                )
                .await?,
                read_register: prepare("SELECT v FROM registers WHERE k = $1").await?,
                cas_register: prepare("UPDATE registers SET v = $3 WHERE k = $1 AND v = $2")
                    .await?,
                bank_init: prepare(
                    "INSERT INTO accounts (id, balance) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                )
                .await?,
                bank_debit: prepare(
                    "UPDATE accounts SET balance = balance - $2 \
                     WHERE id = $1 AND (balance >= $2 OR $3::boolean)",
                )
                .await?,
                bank_credit: prepare("UPDATE accounts SET balance = balance + $2 WHERE id = $1")
                    .await?,
                bank_read: prepare("SELECT id, balance FROM accounts ORDER BY id").await?,
            };
            self.live = Some((client, prepared));
        }
        Ok(self.live.as_ref().expect("connected above"))
    }

    fn drop_connection(&mut self) {
        self.live = None;
    }
}

/// A worker's client: the primary, and its own node's replica if it reads
/// from replicas.
pub struct PgClient {
    primary: Conn,
    replica: Option<Conn>,
    /// Bank: whether a transfer may overdraw an account.
    negative_balances: bool,
    workload: &'static str,
    timeout: Duration,
}

/// How far a transaction got, to tell `fail` from `info` when it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Running,
    Committing,
}

/// Why an op broke, and where.
struct Broke {
    phase: Phase,
    error: String,
    /// The server's SQLSTATE, when it answered with an error.
    code: Option<String>,
}

impl Broke {
    fn pg(phase: Phase, e: &tokio_postgres::Error) -> Broke {
        Broke {
            phase,
            error: describe(e),
            code: e.as_db_error().map(|d| d.code().code().to_string()),
        }
    }

    /// Whether the server certainly did not apply the request: it said so
    /// with an error that is raised before anything is done.
    fn definitely_not_applied(&self) -> bool {
        let Some(code) = &self.code else {
            return false;
        };
        // 40: serialization failure, deadlock (the txn rolled back);
        // 23: constraint violation; 22: data exception; 25: invalid
        // transaction state (e.g. a write on a standby); 42: syntax or
        // access; 53: insufficient resources; 57P03: cannot connect now.
        ["40", "23", "22", "25", "42", "53"]
            .iter()
            .any(|class| code.starts_with(class))
            || code == "57P03"
    }
}

impl PgClient {
    /// Runs one op on `conn` within the client's timeout and maps how it
    /// ended.
    async fn run(conn: &mut Conn, timeout: Duration, body: &Body) -> Completion {
        let level = conn.level();
        let mut phase = Phase::Connecting;
        let outcome = tokio::time::timeout(timeout, async {
            let (client, prepared) = conn.get().await.map_err(|error| Broke {
                phase: Phase::Connecting,
                error,
                code: None,
            })?;
            phase = Phase::Running;
            body.exec(client, prepared, level, &mut phase).await
        })
        .await;
        let broke = match outcome {
            Ok(Ok(value)) => return Completion::Ok(value),
            Ok(Err(b)) => b,
            Err(_) => Broke {
                phase,
                error: format!("timed out after {timeout:?}"),
                code: None,
            },
        };
        // A connection in an unknown state is not reused: the next op
        // opens a fresh one.
        if broke.code.is_none() || broke.phase == Phase::Committing {
            conn.drop_connection();
        } else if let (true, Some((c, _))) = (body.in_txn(), &conn.live) {
            // The server rolled the transaction back; leave the aborted
            // block (a no-op outside one) so the next op can begin.
            if c.batch_execute("ROLLBACK").await.is_err() {
                conn.drop_connection();
            }
        }
        match broke.phase {
            Phase::Connecting => {
                // Refused or unreachable: give the server a moment rather
                // than spin through fails.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Completion::fail(format!("connect: {}", broke.error))
            }
            Phase::Running => Completion::fail(broke.error),
            Phase::Committing if !body.writes() || broke.definitely_not_applied() => {
                Completion::fail(broke.error)
            }
            Phase::Committing => Completion::info(broke.error),
        }
    }

    /// The connection an op goes to: a read-only one to the replica, if
    /// this client reads from one.
    fn conn_for(&mut self, body: &Body) -> &mut Conn {
        match &mut self.replica {
            Some(r) if !body.writes() => r,
            _ => &mut self.primary,
        }
    }

    async fn perform(&mut self, body: Body) -> Completion {
        let timeout = self.timeout;
        let conn = self.conn_for(&body);
        Self::run(conn, timeout, &body).await
    }
}

impl Client for PgClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        let body = match Body::of(self.workload, self.negative_balances, op) {
            Ok(b) => b,
            Err(e) => return Completion::fail(e),
        };
        match self.perform(body).await {
            // Writes complete with the request's value.
            Completion::Ok(_) if matches!(op.f, "write" | "cas" | "init" | "transfer") => {
                Completion::Ok(op.value.clone())
            }
            c => c,
        }
    }
}

// ---- op bodies --------------------------------------------------------------

/// A micro-op: `["append", k, v]`, `["w", k, v]` or `["r", k, null]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mop {
    Append(i64, i64),
    Write(i64, i64),
    Read(i64),
}

/// What one op does on the server.
#[derive(Clone, Debug, PartialEq)]
enum Body {
    /// BEGIN, the micro-ops in order, COMMIT; reads of `lists` (list-append)
    /// or `registers` (rw-register).
    Txn {
        mops: Vec<Mop>,
        lists: bool,
    },
    /// Register ops, one statement each in autocommit (at the session's
    /// default isolation level).
    Read(i64),
    Write(i64, i64),
    Cas(i64, i64, i64),
    /// Bank: create the accounts that do not exist yet, in one txn.
    BankInit(Vec<(i64, i64)>),
    /// Bank: debit `from` (refused below zero unless `negative_ok`),
    /// credit `to`, in one txn.
    BankTransfer {
        from: i64,
        to: i64,
        amount: i64,
        negative_ok: bool,
    },
    /// Bank: every balance, in one txn.
    BankRead,
}

/// `BEGIN ISOLATION LEVEL ...`.
fn begin(level: Isolation, read_only: bool) -> String {
    format!(
        "BEGIN ISOLATION LEVEL {}{}",
        level.sql(),
        if read_only { " READ ONLY" } else { "" }
    )
}

impl Body {
    fn of(workload: &str, negative_ok: bool, op: &OpRequest) -> Result<Body, String> {
        match (workload, op.f) {
            ("list-append" | "rw-register", "txn") => Ok(Body::Txn {
                mops: parse_txn(&op.value)?,
                lists: workload == "list-append",
            }),
            ("bank", "read") => Ok(Body::BankRead),
            ("bank", "transfer") => {
                let field = |name: &str| {
                    op.value.get(name).and_then(Value::as_int).ok_or_else(|| {
                        format!(
                            "bank transfer: expected an integer {name:?} in {}",
                            op.value
                        )
                    })
                };
                Ok(Body::BankTransfer {
                    from: field("from")?,
                    to: field("to")?,
                    amount: field("amount")?,
                    negative_ok,
                })
            }
            ("bank", "init") => {
                let Value::Map(accounts) = &op.value else {
                    return Err(format!(
                        "bank init: expected a map of balances, found {}",
                        op.value
                    ));
                };
                accounts
                    .iter()
                    .map(|(k, v)| {
                        let id = k.as_str().and_then(|k| k.parse().ok()).or(k.as_int());
                        match (id, v.as_int()) {
                            (Some(id), Some(b)) => Ok((id, b)),
                            _ => Err(format!(
                                "bank init: expected \"account\": balance, found {k}: {v}"
                            )),
                        }
                    })
                    .collect::<Result<_, _>>()
                    .map(Body::BankInit)
            }
            ("register", f) => {
                let key = op.key.as_ref().and_then(Value::as_int).ok_or_else(|| {
                    format!("register {f}: expected an integer key, found {:?}", op.key)
                })?;
                let int = |v: &Value| {
                    v.as_int()
                        .ok_or_else(|| format!("register {f}: expected an integer, found {v}"))
                };
                match f {
                    "read" => Ok(Body::Read(key)),
                    "write" => Ok(Body::Write(key, int(&op.value)?)),
                    "cas" => match op.value.as_list() {
                        Some([old, new]) => Ok(Body::Cas(key, int(old)?, int(new)?)),
                        _ => Err(format!(
                            "register cas: expected [old, new], found {}",
                            op.value
                        )),
                    },
                    _ => Err(format!("the postgres register client has no op {f:?}")),
                }
            }
            (w, f) => Err(format!("the postgres {w} client has no op {f:?}")),
        }
    }

    /// Whether the op can change anything.
    fn writes(&self) -> bool {
        match self {
            Body::Txn { mops, .. } => mops.iter().any(|m| !matches!(m, Mop::Read(_))),
            Body::Read(_) | Body::BankRead => false,
            Body::Write(..) | Body::Cas(..) | Body::BankInit(_) | Body::BankTransfer { .. } => true,
        }
    }

    /// Whether the op runs in an explicit transaction (BEGIN ... COMMIT).
    fn in_txn(&self) -> bool {
        !matches!(self, Body::Read(_) | Body::Write(..) | Body::Cas(..))
    }

    /// Runs the op; advances `phase` to `Committing` just before the
    /// request that can make it take effect leaves.
    async fn exec(
        &self,
        c: &tokio_postgres::Client,
        s: &Prepared,
        level: Isolation,
        phase: &mut Phase,
    ) -> Result<Value, Broke> {
        let running = |e: tokio_postgres::Error| Broke::pg(Phase::Running, &e);
        let committing = |e: tokio_postgres::Error| Broke::pg(Phase::Committing, &e);
        if self.in_txn() {
            c.batch_execute(&begin(level, !self.writes()))
                .await
                .map_err(running)?;
        }
        let value = match self {
            Body::Txn { mops, lists } => {
                let mut out = Vec::with_capacity(mops.len());
                for m in mops {
                    out.push(match *m {
                        Mop::Append(k, v) => {
                            c.execute(&s.append, &[&k, &v]).await.map_err(running)?;
                            mop("append", k, Value::Int(v))
                        }
                        Mop::Write(k, v) => {
                            c.execute(&s.write_register, &[&k, &v])
                                .await
                                .map_err(running)?;
                            mop("w", k, Value::Int(v))
                        }
                        Mop::Read(k) if *lists => {
                            let row = c.query_opt(&s.read_list, &[&k]).await.map_err(running)?;
                            let list: Vec<i64> = match row {
                                Some(r) => r.try_get(0).map_err(running)?,
                                None => Vec::new(),
                            };
                            mop(
                                "r",
                                k,
                                Value::List(list.into_iter().map(Value::Int).collect()),
                            )
                        }
                        Mop::Read(k) => {
                            let row = c
                                .query_opt(&s.read_register, &[&k])
                                .await
                                .map_err(running)?;
                            mop("r", k, register_value(row).map_err(running)?)
                        }
                    });
                }
                Value::List(out)
            }
            Body::BankInit(accounts) => {
                for (id, balance) in accounts {
                    c.execute(&s.bank_init, &[id, balance])
                        .await
                        .map_err(running)?;
                }
                Value::Nil
            }
            Body::BankTransfer {
                from,
                to,
                amount,
                negative_ok,
            } => {
                let refused = |error: String| Broke {
                    phase: Phase::Running,
                    error,
                    code: Some("refused".into()),
                };
                let debited = c
                    .execute(&s.bank_debit, &[from, amount, negative_ok])
                    .await
                    .map_err(running)?;
                if debited != 1 {
                    return Err(refused(format!(
                        "account {from} is missing or holds less than {amount}"
                    )));
                }
                let credited = c
                    .execute(&s.bank_credit, &[to, amount])
                    .await
                    .map_err(running)?;
                if credited != 1 {
                    return Err(refused(format!("account {to} is missing")));
                }
                Value::Nil
            }
            Body::BankRead => {
                let rows = c.query(&s.bank_read, &[]).await.map_err(running)?;
                let mut balances = Vec::with_capacity(rows.len());
                for r in rows {
                    let id: i64 = r.try_get(0).map_err(running)?;
                    let balance: i64 = r.try_get(1).map_err(running)?;
                    balances.push((Value::Str(id.to_string()), Value::Int(balance)));
                }
                Value::Map(balances)
            }
            Body::Read(k) => {
                let row = c.query_opt(&s.read_register, &[k]).await.map_err(running)?;
                return register_value(row).map_err(running);
            }
            Body::Write(k, v) => {
                *phase = Phase::Committing;
                c.execute(&s.write_register, &[k, v])
                    .await
                    .map_err(committing)?;
                return Ok(Value::Int(*v));
            }
            Body::Cas(k, old, new) => {
                *phase = Phase::Committing;
                let n = c
                    .execute(&s.cas_register, &[k, old, new])
                    .await
                    .map_err(committing)?;
                if n == 1 {
                    return Ok(Value::Nil);
                }
                return Err(Broke {
                    // The compare failed: certainly nothing changed.
                    phase: Phase::Running,
                    error: format!("cas: the value was not {old}"),
                    code: Some("cas".into()),
                });
            }
        };
        *phase = Phase::Committing;
        c.batch_execute("COMMIT").await.map_err(committing)?;
        Ok(value)
    }
}

/// A register row's value: null when the key was never written.
fn register_value(row: Option<tokio_postgres::Row>) -> Result<Value, tokio_postgres::Error> {
    Ok(match row {
        Some(r) => r
            .try_get::<_, Option<i64>>(0)?
            .map(Value::Int)
            .unwrap_or(Value::Nil),
        None => Value::Nil,
    })
}

fn parse_txn(value: &Value) -> Result<Vec<Mop>, String> {
    let mops = value
        .as_list()
        .ok_or_else(|| format!("a txn's value must be a list of micro-ops, found {value}"))?;
    mops.iter()
        .map(|m| match m.as_list() {
            Some([f, k, v]) => match (f.as_str(), k.as_int(), v.as_int()) {
                (Some("append"), Some(k), Some(v)) => Ok(Mop::Append(k, v)),
                (Some("w"), Some(k), Some(v)) => Ok(Mop::Write(k, v)),
                (Some("r"), Some(k), _) => Ok(Mop::Read(k)),
                _ => Err(format!("unsupported micro-op {m}")),
            },
            _ => Err(format!("unsupported micro-op {m}")),
        })
        .collect()
}

fn mop(f: &str, k: i64, v: Value) -> Value {
    Value::List(vec![f.into(), Value::Int(k), v])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(mops: Value) -> OpRequest {
        OpRequest::new("txn", mops)
    }

    fn m(f: &str, k: i64, v: Option<i64>) -> Value {
        mop(f, k, v.map(Value::Int).unwrap_or(Value::Nil))
    }

    #[test]
    fn bodies_begin_at_the_isolation_level_and_know_whether_they_write() {
        let rw = txn(Value::List(vec![m("r", 1, None), m("append", 2, Some(3))]));
        let b = Body::of("list-append", false, &rw).unwrap();
        assert!(b.writes() && b.in_txn());
        assert!(matches!(b, Body::Txn { lists: true, .. }));
        assert_eq!(
            begin(Isolation::RepeatableRead, !b.writes()),
            "BEGIN ISOLATION LEVEL REPEATABLE READ"
        );
        let ro = txn(Value::List(vec![m("r", 1, None), m("r", 2, None)]));
        let b = Body::of("rw-register", false, &ro).unwrap();
        assert!(!b.writes());
        assert!(matches!(b, Body::Txn { lists: false, .. }));
        assert_eq!(
            begin(Isolation::Serializable, !b.writes()),
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
        );
        let cas = OpRequest::new("cas", Value::List(vec![1.into(), 2.into()])).with_key(7);
        let b = Body::of("register", false, &cas).unwrap();
        assert_eq!(b, Body::Cas(7, 1, 2));
        assert!(b.writes() && !b.in_txn());
        let read = OpRequest::new("read", Value::Nil).with_key(7);
        assert!(!Body::of("register", false, &read).unwrap().writes());

        let init = OpRequest::new(
            "init",
            Value::Map(vec![("0".into(), 13.into()), ("1".into(), 12.into())]),
        );
        assert_eq!(
            Body::of("bank", false, &init).unwrap(),
            Body::BankInit(vec![(0, 13), (1, 12)])
        );
        let t = OpRequest::new(
            "transfer",
            Value::Map(vec![
                ("from".into(), 1.into()),
                ("to".into(), 2.into()),
                ("amount".into(), 5.into()),
            ]),
        );
        let b = Body::of("bank", true, &t).unwrap();
        assert_eq!(
            b,
            Body::BankTransfer {
                from: 1,
                to: 2,
                amount: 5,
                negative_ok: true
            }
        );
        assert!(b.writes() && b.in_txn());
        let r = Body::of("bank", false, &OpRequest::new("read", Value::Nil)).unwrap();
        assert!(!r.writes() && r.in_txn());
    }

    #[test]
    fn malformed_ops_are_refused_with_what_was_expected() {
        let bad = txn(Value::List(vec![mop("inc", 1, Value::Int(1))]));
        let e = Body::of("list-append", false, &bad).unwrap_err();
        assert!(e.contains("unsupported micro-op"), "{e}");
        let e = Body::of("register", false, &OpRequest::new("read", Value::Nil)).unwrap_err();
        assert!(e.contains("integer key"), "{e}");
        let e = Body::of("register", false, &txn(Value::Nil).with_key(1)).unwrap_err();
        assert!(e.contains("no op"), "{e}");
    }

    fn broke(code: Option<&str>) -> Broke {
        Broke {
            phase: Phase::Committing,
            error: String::new(),
            code: code.map(String::from),
        }
    }

    #[test]
    fn only_errors_raised_before_anything_is_done_are_certain() {
        assert!(broke(Some("40001")).definitely_not_applied());
        assert!(broke(Some("40P01")).definitely_not_applied());
        assert!(broke(Some("23505")).definitely_not_applied());
        assert!(broke(Some("25006")).definitely_not_applied());
        assert!(
            !broke(Some("57P01")).definitely_not_applied(),
            "admin shutdown"
        );
        assert!(!broke(Some("08006")).definitely_not_applied());
        assert!(!broke(None).definitely_not_applied(), "connection lost");
    }
}
