//! unique-ids: `generate` is one txn that puts `<prefix>ids` and reads it
//! back; the id is the key's mod revision after the put.
//!
//! Why that is unique: etcd's revision is one counter for the whole
//! cluster's key space, advanced by exactly one for every transaction that
//! writes, in the order the transactions are applied from the raft log;
//! every member applies the same log, so a revision names one write
//! transaction cluster-wide, and it never goes back (compaction drops old
//! versions, not the counter). A txn's writes all carry its revision, and
//! its ranges see its own writes, so the get after the put returns the
//! revision of this very txn. Two acknowledged `generate`s are two write
//! txns: two different revisions. One whose outcome is unknown (`info`)
//! reports no id, so it cannot repeat one either.

use super::{write_error, EtcdOps, TxnOp, TxnResult};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn unique_id(&mut self, op: &OpRequest) -> Completion {
        if op.f != "generate" {
            return Completion::fail(format!("the etcd unique-ids client has no op {:?}", op.f));
        }
        let key = format!("{}ids", self.prefix).into_bytes();
        let txn = self
            .client
            .txn(
                &[],
                &[TxnOp::Put(key.clone(), Vec::new()), TxnOp::Get(key)],
                &[],
            )
            .await;
        match txn {
            Ok(r) => match r.results.as_slice() {
                [TxnResult::Put, TxnResult::Get(Some(kv))] => {
                    Completion::Ok(Value::Int(kv.mod_revision))
                }
                // The put happened (the txn succeeded) but we cannot say
                // which id it made: unknown, not a fail.
                other => Completion::info(format!(
                    "generate: expected a put and the key read back, found {other:?}"
                )),
            },
            Err(e) => write_error(e),
        }
    }
}
