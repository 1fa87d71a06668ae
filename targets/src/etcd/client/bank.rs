//! bank: one etcd key per account, `<prefix>b/<account>`, its value the
//! decimal balance.
//!
//! - `init {"0": 13, ...}`: one txn that puts every account if none of
//!   them exists yet (every mod revision 0). Accounts are only ever created
//!   together, so "none exists" and "some exists" are the only cases, and a
//!   second init changes nothing: it completes `ok` either way.
//! - `transfer {"from", "to", "amount"}`: read both accounts (one read-only
//!   txn: one revision), refuse a missing account or an overdraft (`fail`,
//!   unless `negative-balances`), then one txn: if both mod revisions are
//!   still those read, put both new balances. If either changed, the txn's
//!   failure branch reads both again and the transfer starts over from
//!   those, at most [`CAS_ATTEMPTS`] times; then it `fail`s (every compare
//!   failed, so nothing was written). An error of the guarded txn that may
//!   have applied is `info`, and the transfer is not tried again: a retry
//!   could apply it twice.
//! - `read`: one range over `<prefix>b/`: every balance at one revision.

use super::{
    backoff, parse_scalar, write_error, Compare, EtcdOps, KeyValue, TxnOp, TxnResult, CAS_ATTEMPTS,
};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn bank(&mut self, op: &OpRequest) -> Completion {
        match op.f {
            "init" => self.bank_init(op).await,
            "transfer" => self.bank_transfer(op).await,
            "read" => self.bank_read().await,
            f => Completion::fail(format!("the etcd bank client has no op {f:?}")),
        }
    }

    fn account_key(&self, account: &Value) -> Vec<u8> {
        self.key("b", account)
    }

    async fn bank_init(&mut self, op: &OpRequest) -> Completion {
        let Value::Map(accounts) = &op.value else {
            return Completion::fail(format!(
                "bank init: expected a map of balances, found {}",
                op.value
            ));
        };
        let mut compare = Vec::with_capacity(accounts.len());
        let mut puts = Vec::with_capacity(accounts.len());
        for (account, balance) in accounts {
            let Some(balance) = balance.as_int() else {
                return Completion::fail(format!(
                    "bank init: expected an integer balance for {account}, found {balance}"
                ));
            };
            let k = self.account_key(account);
            compare.push(Compare::ModRevision(k.clone(), 0));
            puts.push(TxnOp::Put(k, balance.to_string().into_bytes()));
        }
        match self.client.txn(&compare, &puts, &[]).await {
            // Created now, or they existed: either way the accounts are there.
            Ok(_) => Completion::Ok(op.value.clone()),
            Err(e) => write_error(e),
        }
    }

    async fn bank_transfer(&mut self, op: &OpRequest) -> Completion {
        let field = |name: &str| {
            op.value.get(name).and_then(Value::as_int).ok_or_else(|| {
                format!(
                    "bank transfer: expected an integer {name:?} in {}",
                    op.value
                )
            })
        };
        let (from, to, amount) = match (field("from"), field("to"), field("amount")) {
            (Ok(f), Ok(t), Ok(a)) => (f, t, a),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Completion::fail(e),
        };
        if from == to {
            return Completion::fail(format!(
                "bank transfer: from and to are the same account {from}"
            ));
        }
        let keys = [
            self.account_key(&Value::Int(from)),
            self.account_key(&Value::Int(to)),
        ];
        let gets = || keys.iter().cloned().map(TxnOp::Get).collect::<Vec<_>>();
        // Nothing is written before the guarded txn: an error here is a fail.
        let mut seen = match self.client.txn(&[], &gets(), &[]).await {
            Ok(r) => r.results,
            Err(e) => return Completion::Fail(e.to_string()),
        };
        for attempt in 0..CAS_ATTEMPTS {
            let (from_kv, to_kv) = match accounts_read(&seen) {
                Ok(kvs) => kvs,
                Err(e) => return Completion::fail(e),
            };
            let (Some(from_kv), Some(to_kv)) = (from_kv, to_kv) else {
                return Completion::fail(format!(
                    "bank transfer: account {} does not exist",
                    if from_kv.is_none() { from } else { to }
                ));
            };
            let (from_balance, to_balance) = match (balance(from_kv), balance(to_kv)) {
                (Ok(f), Ok(t)) => (f, t),
                (Err(e), _) | (_, Err(e)) => return Completion::fail(e),
            };
            if from_balance < amount && !self.negative_balances {
                return Completion::fail(format!(
                    "bank transfer: account {from} holds {from_balance}, less than {amount}"
                ));
            }
            let (Some(new_from), Some(new_to)) = (
                from_balance.checked_sub(amount),
                to_balance.checked_add(amount),
            ) else {
                return Completion::fail("bank transfer: a balance would overflow");
            };
            let compare = [
                Compare::ModRevision(keys[0].clone(), from_kv.mod_revision),
                Compare::ModRevision(keys[1].clone(), to_kv.mod_revision),
            ];
            let puts = [
                TxnOp::Put(keys[0].clone(), new_from.to_string().into_bytes()),
                TxnOp::Put(keys[1].clone(), new_to.to_string().into_bytes()),
            ];
            match self.client.txn(&compare, &puts, &gets()).await {
                Ok(r) if r.succeeded => return Completion::Ok(op.value.clone()),
                // Someone else moved money in between: start over from
                // what the failure branch read.
                Ok(r) => {
                    seen = r.results;
                    backoff(attempt).await;
                }
                Err(e) => return write_error(e),
            }
        }
        Completion::fail(format!(
            "bank transfer: accounts {from} and {to} changed under each of {CAS_ATTEMPTS} attempts"
        ))
    }

    async fn bank_read(&mut self) -> Completion {
        let prefix = format!("{}b/", self.prefix).into_bytes();
        match self.client.get_prefix(&prefix, false).await {
            Ok(kvs) => {
                let mut balances: Vec<(Value, Value)> = kvs
                    .iter()
                    .map(|kv| {
                        let account = String::from_utf8_lossy(&kv.key[prefix.len()..]);
                        (Value::Str(account.into_owned()), parse_scalar(&kv.value))
                    })
                    .collect();
                // Numeric account order (etcd's is bytewise: "10" < "2").
                balances.sort_by_key(|(a, _)| {
                    let a = a.as_str().unwrap_or_default();
                    (a.len(), a.to_string())
                });
                Completion::Ok(Value::Map(balances))
            }
            Err(e) => Completion::Fail(e.to_string()),
        }
    }
}

/// The two accounts of a transfer, as read by a txn of two gets.
fn accounts_read(results: &[TxnResult]) -> Result<(Option<&KeyValue>, Option<&KeyValue>), String> {
    match results {
        [TxnResult::Get(a), TxnResult::Get(b)] => Ok((a.as_ref(), b.as_ref())),
        other => Err(format!(
            "bank transfer: expected two ranges from etcd, found {other:?}"
        )),
    }
}

fn balance(kv: &KeyValue) -> Result<i64, String> {
    let text = String::from_utf8_lossy(&kv.value);
    text.parse().map_err(|_| {
        format!(
            "bank: account key {} holds {text:?}, not an integer balance",
            String::from_utf8_lossy(&kv.key)
        )
    })
}
