//! list-append: `txn [[append k v] [r k nil] ...]` on keys `<prefix>l/<key>`,
//! each a JSON array of integers. A read of every key involved at one
//! revision, then (if the txn appends) one etcd txn that writes the new
//! lists only if no key changed since that read: strict serializable.

use super::{parse_list, write_error, Compare, EtcdOps, TxnOp, TxnResult};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn txn(&mut self, op: &OpRequest) -> Completion {
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
