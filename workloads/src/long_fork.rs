//! Long fork: Jepsen's test for parallel snapshot isolation
//! ([`checkers::long_fork`]). Each key is written once; keys form groups
//! of `group-size` (`0,1`, `2,3` ... for 2); a worker that wrote a key next
//! reads that key's whole group in one transaction, and otherwise reads
//! another recently written group or writes a fresh key. Two reads of a
//! group that saw its writes in opposite orders are a long fork.
//!
//! Operations (`f = "txn"`, micro-ops `[f, key, value]`, integer keys):
//!
//! - write: `txn [["w", 3, 1]]` -> echoed: set key 3 to 1.
//! - read: `txn [["r", 3, null], ["r", 2, null]]` ->
//!   `[["r", 3, 1], ["r", 2, null]]`: read every key of the group in one
//!   transaction (a snapshot), `null` for a key not written.
//!
//! No final ops.

use checkers::long_fork::{self, LongForkResult};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;
use std::collections::HashMap;

/// Registers with integer keys, written once each, read a group at a time.
pub const OPS: &[crate::OpSpec] = &[crate::OpSpec {
    f: "txn",
    keyed: false,
    request: "either one write [[\"w\", key, 1]] or reads of a whole key group [[\"r\", key, null], ...], as one transaction",
    ok: "the micro-ops with each read's null replaced by the value read (null if not written)",
}];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "LongForkOptions")]
pub struct Options {
    /// Keys per group (read together).
    #[schemars(range(min = 2))]
    pub group_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { group_size: 2 }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.group_size < 2 {
            return Err("long-fork: group-size must be at least 2".into());
        }
        Ok(())
    }
}

pub struct Gen {
    opts: Options,
    next_key: i64,
    /// The key each worker wrote last and has not read back yet.
    written: HashMap<usize, i64>,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen {
            opts,
            next_key: 0,
            written: HashMap::new(),
        }
    }

    /// A read of the group holding `key`, in shuffled order.
    fn read_group(&self, key: i64, rng: &mut Rng) -> OpRequest {
        let n = self.opts.group_size as i64;
        let mut keys: Vec<i64> = (key - key % n..key - key % n + n).collect();
        rng.shuffle(&mut keys);
        let mops: Vec<Value> = keys
            .into_iter()
            .map(|k| Value::List(vec!["r".into(), k.into(), Value::Nil]))
            .collect();
        OpRequest::new("txn", Value::List(mops))
    }

    pub fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        if let Some(k) = self.written.remove(&ctx.worker) {
            return Some(self.read_group(k, rng));
        }
        if !self.written.is_empty() && rng.chance(0.5) {
            let mut others: Vec<i64> = self.written.values().copied().collect();
            others.sort_unstable(); // the map's order is not seeded
            let k = *rng.pick(&others);
            return Some(self.read_group(k, rng));
        }
        let k = self.next_key;
        self.next_key += 1;
        self.written.insert(ctx.worker, k);
        Some(OpRequest::new(
            "txn",
            Value::List(vec![Value::List(vec!["w".into(), k.into(), 1.into()])]),
        ))
    }

    pub fn final_ops(&mut self, _ctx: &GenCtx) -> Vec<OpRequest> {
        Vec::new()
    }
}

pub fn check(history: &History, opts: &Options) -> LongForkResult {
    long_fork::check(
        history,
        &long_fork::Options {
            group_size: Some(opts.group_size as usize),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_serially;
    use crate::Workload;
    use checkers::verdict::Validity;
    use std::collections::HashSet;

    /// A store with two replicas: writes go to the replica of the worker
    /// (alternating) and, if `replicate`, to the other one at once.
    fn run(opts: &Options, replicate: bool) -> History {
        let mut replicas = [HashSet::new(), HashSet::new()];
        let mut n = 0;
        run_serially(Workload::LongFork(opts.clone()), 300, |op| {
            n += 1;
            let at = n % 2;
            let mops = op.value.as_list().unwrap();
            let first = mops[0].as_list().unwrap();
            if first[0].as_str() == Some("w") {
                let k = first[1].as_int().unwrap();
                replicas[at].insert(k);
                if replicate {
                    replicas[1 - at].insert(k);
                }
                return Ok(op.value.clone());
            }
            let read = mops
                .iter()
                .map(|m| {
                    let k = m.as_list().unwrap()[1].as_int().unwrap();
                    let v = if replicas[at].contains(&k) {
                        Value::Int(1)
                    } else {
                        Value::Nil
                    };
                    Value::List(vec!["r".into(), k.into(), v])
                })
                .collect();
            Ok(Value::List(read))
        })
    }

    #[test]
    fn writes_once_then_reads_the_group_and_forks_are_caught() {
        let opts = Options::default();
        let h = run(&opts, true);
        let mut written = HashSet::new();
        for op in h.ops().iter().filter(|o| o.kind == history::OpType::Invoke) {
            let mops = op.value.as_list().unwrap();
            if mops.len() == 1 {
                assert!(
                    written.insert(mops[0].clone()),
                    "written twice: {}",
                    mops[0]
                );
            } else {
                assert_eq!(mops.len(), 2);
            }
        }
        let r = check(&h, &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        assert!(r.groups_compared > 10, "{:?}", r.summary);

        // Without replication, the replicas see different writes.
        let r = check(&run(&opts, false), &opts);
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
    }
}
