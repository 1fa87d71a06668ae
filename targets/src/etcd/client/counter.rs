//! counter: one key, `<prefix>counter`, its value the decimal count (a
//! missing key counts 0).
//!
//! etcd has no atomic add, so `add n` is a compare-and-swap loop: read the
//! value and its mod revision, then one txn that puts value + n if the mod
//! revision is still the one read (0: the key does not exist yet). If it
//! changed, the txn's failure branch reads the key again and the add starts
//! over from that, at most [`CAS_ATTEMPTS`] times; then it `fail`s (every
//! compare failed, so nothing was added). An error of the guarded txn that
//! may have applied is `info` and is not retried: a retry could add twice.
//! `read` is one get (linearizable unless `read: serializable`).

use super::{backoff, write_error, Compare, EtcdOps, KeyValue, TxnOp, TxnResult, CAS_ATTEMPTS};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn counter(&mut self, op: &OpRequest) -> Completion {
        let key = format!("{}counter", self.prefix).into_bytes();
        match op.f {
            "read" => match self.client.get(&key).await {
                Ok(kv) => match count(kv.as_ref()) {
                    Ok(n) => Completion::Ok(Value::Int(n)),
                    Err(e) => Completion::fail(e),
                },
                Err(e) => Completion::Fail(e.to_string()),
            },
            "add" => {
                let Some(delta) = op.value.as_int() else {
                    return Completion::fail(format!(
                        "counter add: expected an integer, found {}",
                        op.value
                    ));
                };
                self.counter_add(key, delta, op).await
            }
            f => Completion::fail(format!("the etcd counter client has no op {f:?}")),
        }
    }

    async fn counter_add(&mut self, key: Vec<u8>, delta: i64, op: &OpRequest) -> Completion {
        // Nothing is written before the guarded txn: an error here is a fail.
        let mut seen = match self.client.get(&key).await {
            Ok(kv) => kv,
            Err(e) => return Completion::Fail(e.to_string()),
        };
        for attempt in 0..CAS_ATTEMPTS {
            let value = match count(seen.as_ref()) {
                Ok(n) => n,
                Err(e) => return Completion::fail(e),
            };
            let Some(new) = value.checked_add(delta) else {
                return Completion::fail(format!("counter add: {value} + {delta} overflows"));
            };
            let revision = seen.as_ref().map_or(0, |kv| kv.mod_revision);
            let r = self
                .client
                .txn(
                    &[Compare::ModRevision(key.clone(), revision)],
                    &[TxnOp::Put(key.clone(), new.to_string().into_bytes())],
                    &[TxnOp::Get(key.clone())],
                )
                .await;
            match r {
                Ok(r) if r.succeeded => return Completion::Ok(op.value.clone()),
                // Another add came first: start over from what the failure
                // branch read.
                Ok(r) => match r.results.as_slice() {
                    [TxnResult::Get(kv)] => {
                        seen = kv.clone();
                        backoff(attempt).await;
                    }
                    other => {
                        return Completion::fail(format!(
                            "counter add: expected one range from etcd, found {other:?}"
                        ))
                    }
                },
                Err(e) => return write_error(e),
            }
        }
        Completion::fail(format!(
            "counter add: the counter changed under each of {CAS_ATTEMPTS} attempts"
        ))
    }
}

/// The counter's value: 0 when the key does not exist.
fn count(kv: Option<&KeyValue>) -> Result<i64, String> {
    let Some(kv) = kv else {
        return Ok(0);
    };
    let text = String::from_utf8_lossy(&kv.value);
    text.parse()
        .map_err(|_| format!("counter: the key holds {text:?}, not an integer"))
}
