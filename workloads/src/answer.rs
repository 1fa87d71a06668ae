//! What a client may answer: every `ok` completion is checked against its
//! request and the workload's [`OpSpec`](crate::OpSpec)s before it is
//! recorded, whichever client gave it (an exec client in any language or a
//! built-in one).
//!
//! A checker believes what it is shown: a txn whose answer lost a
//! micro-op, a read the client left `null` (list-append reads it as the
//! empty list) or an append whose value changed on the way back is a
//! database anomaly to it, and a dropped micro-op is no anomaly at all.
//! Such an answer says nothing about the database, only that the client
//! is wrong, so [`Validated`] records the op as `info` (it may or may not
//! have happened), warns naming the client, the op and (for exec clients)
//! its stderr file, and the run loop replaces the client as after any
//! `info`.

use crate::Workload;
use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use std::sync::{Arc, Mutex};

/// Warnings kept; the rest are counted.
const MAX_WARNINGS: usize = 10;

/// Why `value` cannot be the `ok` answer to `req` under `workload`.
pub fn check_ok(workload: &Workload, req: &OpRequest, value: &Value) -> Result<(), String> {
    use Workload as W;
    match (workload, req.f) {
        (W::Register(_), "read") => int_or_nil(value, "the value read"),
        (W::Set(_), "read") => ints(value, "the set read"),
        (W::ListAppend(_), "txn") => txn(req, value, Reads::Lists),
        (W::RwRegister(_) | W::LongFork(_), "txn") => txn(req, value, Reads::Registers),
        (W::Bank(_), "read") => balances(value),
        (W::Counter(_), "read") => int(value, "the counter read"),
        (W::Queue(_) | W::TotalQueue(_), "dequeue") => int(value, "the element taken"),
        (W::Queue(_) | W::TotalQueue(_), "drain") => ints(value, "the elements drained"),
        (W::UniqueIds(_), "generate") => match value {
            Value::Int(_) | Value::Str(_) => Ok(()),
            other => Err(format!(
                "expected an id (an integer or a string), got {}",
                short(other)
            )),
        },
        // Every other op's `ok` is the request's value: a write, a cas, an
        // add, an enqueue, a transfer. Anything else is a value where none
        // belongs (or the client answered another request).
        (w, f) if w.has_op(f) => {
            if *value == req.value {
                Ok(())
            } else {
                Err(format!(
                    "an ok to {f:?} carries no value of its own (the request's, {}), got {}",
                    short(&req.value),
                    short(value)
                ))
            }
        }
        (w, f) => Err(format!("{f:?} is not an operation of {}", w.name())),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Reads {
    /// list-append: a read is the list read.
    Lists,
    /// rw-register, long-fork: a read is an integer, or null if not written.
    Registers,
}

/// A txn's answer: the request's micro-ops in the same order, writes as
/// sent, each read's null replaced by what was read.
fn txn(req: &OpRequest, value: &Value, reads: Reads) -> Result<(), String> {
    let Some(asked) = req.value.as_list() else {
        return Err("the request is not a list of micro-ops".into());
    };
    let Some(got) = value.as_list() else {
        return Err(format!(
            "expected the list of micro-ops, got {}",
            short(value)
        ));
    };
    if got.len() != asked.len() {
        return Err(format!(
            "{} micro-op(s) asked, {} answered: {}",
            asked.len(),
            got.len(),
            short(value)
        ));
    }
    for (i, (a, g)) in asked.iter().zip(got).enumerate() {
        let (Some([af, ak, av]), Some([gf, gk, gv])) = (triple(a), triple(g)) else {
            return Err(format!(
                "micro-op {i}: expected [f, key, value], got {}",
                short(g)
            ));
        };
        if af != gf || ak != gk {
            return Err(format!(
                "micro-op {i}: {} asked, {} answered (micro-ops missing, extra or reordered)",
                short(a),
                short(g)
            ));
        }
        if af.as_str() == Some("r") {
            match reads {
                Reads::Lists => match gv {
                    Value::List(items) if items.iter().all(|x| matches!(x, Value::Int(_))) => {}
                    Value::Nil => {
                        return Err(format!(
                            "micro-op {i}: a read without a value ({}): a list read is a list, [] when empty",
                            short(g)
                        ))
                    }
                    other => {
                        return Err(format!(
                            "micro-op {i}: expected the list read (of integers), got {}",
                            short(other)
                        ))
                    }
                },
                Reads::Registers => int_or_nil(gv, &format!("micro-op {i}'s read"))?,
            }
        } else if av != gv {
            return Err(format!(
                "micro-op {i}: {} asked, {} answered (a write is answered as sent, in the order asked)",
                short(a),
                short(g)
            ));
        }
    }
    Ok(())
}

fn triple(v: &Value) -> Option<&[Value; 3]> {
    v.as_list()?.try_into().ok()
}

fn int(v: &Value, what: &str) -> Result<(), String> {
    match v {
        Value::Int(_) => Ok(()),
        other => Err(format!("expected {what}: an integer, got {}", short(other))),
    }
}

fn int_or_nil(v: &Value, what: &str) -> Result<(), String> {
    match v {
        Value::Int(_) | Value::Nil => Ok(()),
        other => Err(format!(
            "expected {what}: an integer or null, got {}",
            short(other)
        )),
    }
}

fn ints(v: &Value, what: &str) -> Result<(), String> {
    match v {
        Value::List(xs) | Value::Set(xs) if xs.iter().all(|x| matches!(x, Value::Int(_))) => Ok(()),
        other => Err(format!(
            "expected {what}: a list of integers, got {}",
            short(other)
        )),
    }
}

fn balances(v: &Value) -> Result<(), String> {
    match v {
        Value::Map(kvs)
            if kvs.iter().all(|(k, b)| {
                matches!(k, Value::Int(_) | Value::Str(_)) && matches!(b, Value::Int(_))
            }) =>
        {
            Ok(())
        }
        other => Err(format!(
            "expected every balance, {{\"0\": 10, ...}}, got {}",
            short(other)
        )),
    }
}

/// A value for a message: at most 160 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 160 {
        s
    } else {
        let cut: String = s.chars().take(157).collect();
        format!("{cut}...")
    }
}

/// The op for a message: `write 3 (key 1)`.
fn show_op(op: &OpRequest) -> String {
    match &op.key {
        Some(k) => format!("{} {} (key {})", op.f, short(&op.value), short(k)),
        None => format!("{} {}", op.f, short(&op.value)),
    }
}

/// Wraps every client a [`Connect`] opens so that each `ok` is checked
/// with [`check_ok`] before the run loop records it.
pub struct Validated<C> {
    inner: C,
    workload: Arc<Workload>,
    warnings: Warnings,
}

impl<C: Connect> Validated<C> {
    pub fn new(inner: C, workload: Workload) -> Validated<C> {
        Validated {
            inner,
            workload: Arc::new(workload),
            warnings: Warnings::default(),
        }
    }
}

#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<(Vec<String>, usize)>>);

impl Warnings {
    fn push(&self, msg: String) {
        tracing::warn!("{msg}");
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if w.0.len() < MAX_WARNINGS {
            w.0.push(msg);
        } else {
            w.1 += 1;
        }
    }

    fn take(&self) -> Vec<String> {
        let w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = w.0.clone();
        if w.1 > 0 {
            out.push(format!("... and {} more protocol error(s)", w.1));
        }
        out
    }
}

impl<C: Connect> Connect for Validated<C> {
    type Client = ValidatedClient<C::Client>;

    async fn open(&self, node: &str, process: u64) -> Result<Self::Client, String> {
        let inner = self.inner.open(node, process).await?;
        Ok(ValidatedClient {
            inner,
            workload: self.workload.clone(),
            fallback_name: format!(
                "the {} client of process {process} on {node}",
                self.workload.name()
            ),
            warnings: self.warnings.clone(),
        })
    }

    fn warnings(&self) -> Vec<String> {
        let mut all = self.inner.warnings();
        all.extend(self.warnings.take());
        all
    }
}

/// A client whose `ok` answers are checked.
pub struct ValidatedClient<C> {
    inner: C,
    workload: Arc<Workload>,
    /// How a client that does not describe itself is named.
    fallback_name: String,
    warnings: Warnings,
}

impl<C: Client> Client for ValidatedClient<C> {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        let done = self.inner.invoke(op).await;
        let Completion::Ok(value) = &done else {
            return done;
        };
        match check_ok(&self.workload, op, value) {
            Ok(()) => done,
            Err(why) => {
                let who = self
                    .inner
                    .describe()
                    .unwrap_or_else(|| self.fallback_name.clone());
                self.warnings.push(format!(
                    "{who}: protocol error in the answer to {}: {why}; recorded as info, the client is restarted",
                    show_op(op)
                ));
                Completion::Info(format!("protocol error: {why}"))
            }
        }
    }

    fn describe(&self) -> Option<String> {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mop(f: &str, k: i64, v: Value) -> Value {
        Value::List(vec![f.into(), k.into(), v])
    }

    fn la() -> Workload {
        Workload::by_name("list-append").unwrap()
    }

    #[test]
    fn txn_answers_must_follow_the_request() {
        let req = OpRequest::new(
            "txn",
            Value::List(vec![mop("append", 1, 5.into()), mop("r", 2, Value::Nil)]),
        );
        let ok = Value::List(vec![
            mop("append", 1, 5.into()),
            mop("r", 2, Value::List(vec![1.into()])),
        ]);
        check_ok(&la(), &req, &ok).unwrap();
        for (bad, expect) in [
            (
                Value::List(vec![mop("append", 1, 5.into())]),
                "2 micro-op(s) asked, 1",
            ),
            (
                Value::List(vec![
                    mop("r", 2, Value::List(vec![])),
                    mop("append", 1, 5.into()),
                ]),
                "reordered",
            ),
            (
                Value::List(vec![mop("append", 1, 5.into()), mop("r", 2, Value::Nil)]),
                "a read without a value",
            ),
            (
                Value::List(vec![
                    mop("append", 1, 6.into()),
                    mop("r", 2, Value::List(vec![])),
                ]),
                "answered as sent",
            ),
            (
                Value::List(vec![mop("append", 1, 5.into()), mop("r", 2, "x".into())]),
                "expected the list read",
            ),
            (Value::Nil, "expected the list of micro-ops"),
        ] {
            let e = check_ok(&la(), &req, &bad).unwrap_err();
            assert!(e.contains(expect), "{bad}: {e}");
        }
        // rw-register reads are registers: null is a value (never written).
        let rw = Workload::by_name("rw-register").unwrap();
        let req = OpRequest::new("txn", Value::List(vec![mop("r", 2, Value::Nil)]));
        check_ok(&rw, &req, &Value::List(vec![mop("r", 2, Value::Nil)])).unwrap();
        check_ok(&rw, &req, &Value::List(vec![mop("r", 2, 3.into())])).unwrap();
        assert!(check_ok(
            &rw,
            &req,
            &Value::List(vec![mop("r", 2, Value::List(vec![]))])
        )
        .is_err());
    }

    #[test]
    fn plain_ops_are_typed_or_echo_the_request() {
        let reg = Workload::by_name("register").unwrap();
        let read = OpRequest::new("read", Value::Nil).with_key(1);
        check_ok(&reg, &read, &Value::Nil).unwrap();
        check_ok(&reg, &read, &3.into()).unwrap();
        assert!(check_ok(&reg, &read, &"x".into()).is_err());
        let write = OpRequest::new("write", 3).with_key(1);
        check_ok(&reg, &write, &3.into()).unwrap();
        let e = check_ok(&reg, &write, &999.into()).unwrap_err();
        assert!(e.contains("no value of its own"), "{e}");
        let set = Workload::by_name("set").unwrap();
        let r = OpRequest::new("read", Value::Nil);
        check_ok(&set, &r, &Value::List(vec![1.into(), 2.into()])).unwrap();
        assert!(check_ok(&set, &r, &Value::List(vec!["1".into()])).is_err());
        assert!(check_ok(&set, &r, &Value::Nil).is_err());
        let bank = Workload::by_name("bank").unwrap();
        let r = OpRequest::new("read", Value::Nil);
        check_ok(&bank, &r, &Value::Map(vec![("0".into(), 10.into())])).unwrap();
        assert!(check_ok(&bank, &r, &Value::Map(vec![("0".into(), "10".into())])).is_err());
        let q = Workload::by_name("queue").unwrap();
        check_ok(&q, &OpRequest::new("dequeue", Value::Nil), &4.into()).unwrap();
        assert!(check_ok(&q, &OpRequest::new("dequeue", Value::Nil), &Value::Nil).is_err());
        let ids = Workload::by_name("unique-ids").unwrap();
        check_ok(&ids, &OpRequest::new("generate", Value::Nil), &"a".into()).unwrap();
        assert!(check_ok(&ids, &OpRequest::new("generate", Value::Nil), &Value::Nil).is_err());
    }
}
