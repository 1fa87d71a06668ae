//! What each workload's operations do on an SQL server, written once over a
//! [`Session`]: the statements come from the [`Dialect`].
//!
//! Tables: `lists` for list-append (an append is one upsert concatenating
//! to the row), `registers (k, v)` for rw-register, register and long-fork
//! (whose transactions are rw-register's micro-ops: one write, or reads of
//! a key group), `accounts` for bank, `counters` for counter (an add is one
//! upsert adding to the row), `ids` for unique-ids (an id is a committed
//! insert's key, durable once acknowledged), `sets` for set, and `queue`
//! for queue and total-queue (PostgreSQL only: a dequeue deletes the
//! oldest row not locked by another dequeue, `FOR UPDATE SKIP LOCKED`).
//!
//! Outcomes. A transaction commits only when its `COMMIT` is processed, so
//! an error of any kind before `COMMIT` was sent means it did not happen
//! (`fail`; the server rolls back a transaction whose connection is gone).
//! At `COMMIT` (and for a single write in autocommit) an error the server
//! raises before doing anything ([`Dialect::certainly_not_applied`]:
//! serialization failures, deadlocks, lock wait timeouts, MariaDB's 1020,
//! constraint violations ...) is `fail`; a connection lost or a timeout
//! after the request left is `info`. A connection that cannot be opened
//! (refused, timed out) is `fail`: nothing was sent. Read-only transactions
//! have no effects: their errors are `fail`.

use super::dialect::{Dialect, Stmt};
use super::session::{DbError, Session};
use super::Isolation;
use harness::run::{Completion, OpRequest};
use history::Value;

/// How far an op got, to tell `fail` from `info` when it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Running,
    Committing,
}

/// Why an op broke, and where.
#[derive(Debug)]
pub struct Broke {
    pub phase: Phase,
    pub error: String,
    /// The server's code, when it answered with an error.
    pub code: Option<String>,
}

impl Broke {
    fn at(phase: Phase) -> impl Fn(DbError) -> Broke {
        move |e| Broke {
            phase,
            error: e.error,
            code: e.code,
        }
    }

    /// The op's completion: `info` only when it may have taken effect.
    pub fn completion(&self, dialect: Dialect, writes: bool) -> Completion {
        match self.phase {
            Phase::Connecting => Completion::fail(format!("connect: {}", self.error)),
            Phase::Running => Completion::fail(self.error.clone()),
            Phase::Committing
                if !writes
                    || self
                        .code
                        .as_deref()
                        .is_some_and(|c| dialect.certainly_not_applied(c)) =>
            {
                Completion::fail(self.error.clone())
            }
            Phase::Committing => Completion::info(self.error.clone()),
        }
    }
}

/// A micro-op: `["append", k, v]`, `["w", k, v]` or `["r", k, null]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mop {
    Append(i64, i64),
    Write(i64, i64),
    Read(i64),
}

/// What one op does on the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
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
    /// Counter: add to the one row, one statement in autocommit.
    CounterAdd(i64),
    /// Counter: the row's value (0 before the first add).
    CounterRead,
    /// Unique ids: a committed insert's generated key.
    Generate,
    /// Set: one insert in autocommit.
    SetAdd(i64),
    /// Set: every element, one statement in autocommit.
    SetRead,
    /// Queue: one statement each in autocommit.
    Enqueue(i64),
    Dequeue,
    /// Queue: every element left, oldest first, in one statement.
    Drain,
}

impl Body {
    pub fn of(workload: &str, negative_ok: bool, op: &OpRequest) -> Result<Body, String> {
        match (workload, op.f) {
            ("list-append" | "rw-register" | "long-fork", "txn") => Ok(Body::Txn {
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
                    _ => Err(format!("the SQL register client has no op {f:?}")),
                }
            }
            ("counter", "add") => op
                .value
                .as_int()
                .map(Body::CounterAdd)
                .ok_or_else(|| format!("counter add: expected an integer, found {}", op.value)),
            ("counter", "read") => Ok(Body::CounterRead),
            ("unique-ids", "generate") => Ok(Body::Generate),
            ("set", "add") => op
                .value
                .as_int()
                .map(Body::SetAdd)
                .ok_or_else(|| format!("set add: expected an integer, found {}", op.value)),
            ("set", "read") => Ok(Body::SetRead),
            ("queue" | "total-queue", "enqueue") => op
                .value
                .as_int()
                .map(Body::Enqueue)
                .ok_or_else(|| format!("enqueue: expected an integer, found {}", op.value)),
            ("queue" | "total-queue", "dequeue") => Ok(Body::Dequeue),
            ("queue" | "total-queue", "drain") => Ok(Body::Drain),
            (w, f) => Err(format!("the SQL {w} client has no op {f:?}")),
        }
    }

    /// Whether the op can change anything.
    pub fn writes(&self) -> bool {
        match self {
            Body::Txn { mops, .. } => mops.iter().any(|m| !matches!(m, Mop::Read(_))),
            Body::Read(_) | Body::BankRead | Body::CounterRead | Body::SetRead => false,
            Body::Write(..)
            | Body::Cas(..)
            | Body::BankInit(_)
            | Body::BankTransfer { .. }
            | Body::CounterAdd(_)
            | Body::Generate
            | Body::SetAdd(_)
            | Body::Enqueue(_)
            | Body::Dequeue
            | Body::Drain => true,
        }
    }

    /// Whether the op runs in an explicit transaction (BEGIN ... COMMIT);
    /// the others are one statement in autocommit.
    pub fn in_txn(&self) -> bool {
        matches!(
            self,
            Body::Txn { .. } | Body::BankInit(_) | Body::BankTransfer { .. } | Body::BankRead
        )
    }
}

impl Body {
    /// Runs the op; advances `phase` to `Committing` just before the
    /// request that can make it take effect leaves.
    pub async fn exec(
        &self,
        c: &mut Session,
        dialect: Dialect,
        level: Option<Isolation>,
        phase: &mut Phase,
    ) -> Result<Value, Broke> {
        let running = Broke::at(Phase::Running);
        let committing = Broke::at(Phase::Committing);
        if self.in_txn() {
            c.batch(&dialect.begin(level, !self.writes()))
                .await
                .map_err(&running)?;
        }
        let value = match self {
            Body::Txn { mops, lists } => {
                let mut out = Vec::with_capacity(mops.len());
                for m in mops {
                    out.push(match *m {
                        Mop::Append(k, v) => {
                            c.execute(Stmt::Append, &[k, v]).await.map_err(&running)?;
                            mop("append", k, Value::Int(v))
                        }
                        Mop::Write(k, v) => {
                            c.execute(Stmt::WriteRegister, &[k, v])
                                .await
                                .map_err(&running)?;
                            mop("w", k, Value::Int(v))
                        }
                        Mop::Read(k) if *lists => {
                            let list = c.list(Stmt::ReadList, &[k]).await.map_err(&running)?;
                            let list = list.unwrap_or_default();
                            mop(
                                "r",
                                k,
                                Value::List(list.into_iter().map(Value::Int).collect()),
                            )
                        }
                        Mop::Read(k) => {
                            let rows = c.ints(Stmt::ReadRegister, &[k]).await.map_err(&running)?;
                            mop("r", k, register_value(&rows))
                        }
                    });
                }
                Value::List(out)
            }
            Body::BankInit(accounts) => {
                for (id, balance) in accounts {
                    c.execute(Stmt::BankInit, &[*id, *balance])
                        .await
                        .map_err(&running)?;
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
                let debit = if *negative_ok {
                    Stmt::BankDebitAny
                } else {
                    Stmt::BankDebit
                };
                let debited = c
                    .execute(debit, &[*from, *amount])
                    .await
                    .map_err(&running)?;
                if debited != 1 {
                    return Err(refused(format!(
                        "account {from} is missing or holds less than {amount}"
                    )));
                }
                let credited = c
                    .execute(Stmt::BankCredit, &[*to, *amount])
                    .await
                    .map_err(&running)?;
                if credited != 1 {
                    return Err(refused(format!("account {to} is missing")));
                }
                Value::Nil
            }
            Body::BankRead => {
                let rows = c.ints(Stmt::BankRead, &[]).await.map_err(&running)?;
                let mut balances = Vec::with_capacity(rows.len());
                for r in rows {
                    match r.as_slice() {
                        [Some(id), Some(balance)] => {
                            balances.push((Value::Str(id.to_string()), Value::Int(*balance)))
                        }
                        _ => {
                            return Err(running(DbError {
                                error: format!("bank read: expected (id, balance), found {r:?}"),
                                code: None,
                            }))
                        }
                    }
                }
                Value::Map(balances)
            }
            Body::Read(k) => {
                let rows = c.ints(Stmt::ReadRegister, &[*k]).await.map_err(&running)?;
                return Ok(register_value(&rows));
            }
            Body::Write(k, v) => {
                *phase = Phase::Committing;
                c.execute(Stmt::WriteRegister, &[*k, *v])
                    .await
                    .map_err(&committing)?;
                return Ok(Value::Int(*v));
            }
            Body::CounterRead => {
                let rows = c.ints(Stmt::CounterRead, &[]).await.map_err(&running)?;
                return one_int(&rows).map(Value::Int).map_err(running);
            }
            Body::CounterAdd(delta) => {
                *phase = Phase::Committing;
                c.execute(Stmt::CounterAdd, &[*delta])
                    .await
                    .map_err(&committing)?;
                return Ok(Value::Int(*delta));
            }
            Body::Generate => {
                *phase = Phase::Committing;
                let rows = c.ints(Stmt::GenerateId, &[]).await.map_err(&committing)?;
                return one_int(&rows).map(Value::Int).map_err(committing);
            }
            Body::SetAdd(v) => {
                *phase = Phase::Committing;
                c.execute(Stmt::SetAdd, &[*v]).await.map_err(&committing)?;
                return Ok(Value::Int(*v));
            }
            Body::SetRead => {
                let rows = c.ints(Stmt::SetRead, &[]).await.map_err(&running)?;
                return Ok(Value::List(
                    rows.iter()
                        .filter_map(|r| r.first().copied().flatten())
                        .map(Value::Int)
                        .collect(),
                ));
            }
            Body::Enqueue(v) => {
                *phase = Phase::Committing;
                c.execute(Stmt::Enqueue, &[*v]).await.map_err(&committing)?;
                return Ok(Value::Int(*v));
            }
            Body::Dequeue => {
                *phase = Phase::Committing;
                let rows = c.ints(Stmt::Dequeue, &[]).await.map_err(&committing)?;
                return match rows.first() {
                    Some(_) => one_int(&rows).map(Value::Int).map_err(committing),
                    None => Err(Broke {
                        // Nothing was taken: certainly no effect.
                        phase: Phase::Running,
                        error: "the queue is empty".into(),
                        code: Some("empty".into()),
                    }),
                };
            }
            Body::Drain => {
                *phase = Phase::Committing;
                let rows = c.ints(Stmt::Drain, &[]).await.map_err(&committing)?;
                let mut taken = Vec::with_capacity(rows.len());
                for r in &rows {
                    match r.first() {
                        Some(Some(v)) => taken.push(Value::Int(*v)),
                        _ => {
                            return Err(committing(DbError {
                                error: format!("drain: expected a value, found {r:?}"),
                                code: None,
                            }))
                        }
                    }
                }
                return Ok(Value::List(taken));
            }
            Body::Cas(k, old, new) => {
                *phase = Phase::Committing;
                let n = c
                    .execute(Stmt::Cas, &[*k, *old, *new])
                    .await
                    .map_err(&committing)?;
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
        c.batch("COMMIT").await.map_err(&committing)?;
        Ok(value)
    }
}

/// A register row's value: null when the key was never written.
fn register_value(rows: &[Vec<Option<i64>>]) -> Value {
    match rows.first().and_then(|r| r.first().copied().flatten()) {
        Some(v) => Value::Int(v),
        None => Value::Nil,
    }
}

/// The one integer a statement returns.
fn one_int(rows: &[Vec<Option<i64>>]) -> Result<i64, DbError> {
    match rows {
        [r] => match r.as_slice() {
            [Some(v)] => Ok(*v),
            _ => Err(DbError {
                error: format!("expected one integer, found {r:?}"),
                code: None,
            }),
        },
        _ => Err(DbError {
            error: format!("expected one row, found {}", rows.len()),
            code: None,
        }),
    }
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
        let ro = txn(Value::List(vec![m("r", 1, None), m("r", 2, None)]));
        let b = Body::of("rw-register", false, &ro).unwrap();
        assert!(!b.writes());
        assert!(matches!(b, Body::Txn { lists: false, .. }));
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

    /// Counter, unique-ids and queue ops are single autocommit statements
    /// that write, except the counter's read; long-fork's transactions are
    /// rw-register's.
    #[test]
    fn the_other_workloads_ops_map_to_one_statement_each() {
        let op = |f: &'static str, v: Value| OpRequest::new(f, v);
        let add = Body::of("counter", false, &op("add", 3.into())).unwrap();
        assert_eq!(add, Body::CounterAdd(3));
        assert!(add.writes() && !add.in_txn());
        let read = Body::of("counter", false, &op("read", Value::Nil)).unwrap();
        assert!(!read.writes() && !read.in_txn());
        assert_eq!(
            Body::of("unique-ids", false, &op("generate", Value::Nil)).unwrap(),
            Body::Generate
        );
        for w in ["queue", "total-queue"] {
            assert_eq!(
                Body::of(w, false, &op("enqueue", 7.into())).unwrap(),
                Body::Enqueue(7)
            );
            assert_eq!(
                Body::of(w, false, &op("dequeue", Value::Nil)).unwrap(),
                Body::Dequeue
            );
            let drain = Body::of(w, false, &op("drain", Value::Nil)).unwrap();
            assert!(drain.writes() && !drain.in_txn());
        }
        let fork = txn(Value::List(vec![m("r", 1, None), m("r", 2, None)]));
        let b = Body::of("long-fork", false, &fork).unwrap();
        assert!(matches!(b, Body::Txn { lists: false, .. }) && !b.writes());
        let e = Body::of("counter", false, &op("add", "x".into())).unwrap_err();
        assert!(e.contains("expected an integer"), "{e}");
        assert_eq!(
            Body::of("set", false, &op("add", 4.into())).unwrap(),
            Body::SetAdd(4)
        );
        let read = Body::of("set", false, &op("read", Value::Nil)).unwrap();
        assert!(!read.writes() && !read.in_txn());
        let e = Body::of("queue", false, &op("peek", Value::Nil)).unwrap_err();
        assert!(e.contains("no op \"peek\""), "{e}");
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

    #[test]
    fn a_failure_at_commit_is_info_unless_the_server_certainly_refused() {
        let broke = |phase, code: Option<&str>| Broke {
            phase,
            error: "e".into(),
            code: code.map(String::from),
        };
        let pg = Dialect::Postgres;
        let my = Dialect::Mysql;
        assert!(matches!(
            broke(Phase::Committing, None).completion(my, true),
            Completion::Info(_)
        ));
        assert!(matches!(
            broke(Phase::Committing, Some("1180")).completion(my, true),
            Completion::Info(_)
        ));
        assert!(matches!(
            broke(Phase::Committing, Some("1020")).completion(my, true),
            Completion::Fail(_)
        ));
        assert!(matches!(
            broke(Phase::Committing, Some("1213")).completion(my, true),
            Completion::Fail(_)
        ));
        assert!(matches!(
            broke(Phase::Committing, Some("40001")).completion(pg, true),
            Completion::Fail(_)
        ));
        assert!(
            matches!(
                broke(Phase::Committing, None).completion(pg, false),
                Completion::Fail(_)
            ),
            "reads have no effect"
        );
        assert!(matches!(
            broke(Phase::Running, None).completion(pg, true),
            Completion::Fail(_)
        ));
        assert!(matches!(
            broke(Phase::Connecting, None).completion(my, true),
            Completion::Fail(_)
        ));
    }
}
