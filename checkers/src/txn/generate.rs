//! List-append (or rw-register) histories from a simulated store, for
//! benchmarks and tests: 1-5 micro-ops per txn, 50 concurrent clients,
//! 1,000 active keys (Elle-style key rotation: a key retires after 32
//! appends and a fresh key takes its place, so reads stay short, as in
//! Jepsen's append workload), every txn applied atomically at its
//! completion, so the history is strict serializable unless reads are made
//! stale. Reproducible from the seed, op by op, so histories larger than
//! memory can be written to files (`examples/gen_txn_history.rs`).

use crate::linearizable::generate::Rng;
use history::{History, Op, Value};

const CLIENTS: usize = 50;
const ACTIVE_KEYS: u64 = 1_000;
const WRITES_PER_KEY: usize = 32;

#[derive(Clone, Debug)]
pub struct TxnGen {
    pub txns: usize,
    /// 0: valid; n > 0: reads miss up to n - 1 of the latest appends (an
    /// invalid history).
    pub stale: u64,
    pub seed: u64,
    /// `w` and single-value reads (rw-register) instead of `append` and
    /// list reads.
    pub registers: bool,
}

/// One op as the store gives it, its micro-ops borrowed from the store.
pub struct GenOp<'a> {
    pub index: u64,
    /// About one op per microsecond, in nanoseconds.
    pub time: u64,
    pub process: u64,
    /// The completion (`ok`), or the invocation.
    pub ok: bool,
    pub mops: &'a [GenMop<'a>],
}

#[derive(Clone, Copy, Debug)]
pub enum GenMop<'a> {
    Append {
        key: u64,
        value: i64,
    },
    /// What the read saw (`None` in the invocation): the key's list, or
    /// for registers the last value of it.
    Read {
        key: u64,
        seen: Option<&'a [i64]>,
    },
}

impl TxnGen {
    /// The history, held.
    pub fn history(&self) -> History {
        let append = Value::Str(if self.registers { "w" } else { "append" }.into());
        let read = Value::Str("r".into());
        let registers = self.registers;
        let mut ops = Vec::with_capacity(2 * self.txns);
        self.for_each(|op| {
            let mops = op
                .mops
                .iter()
                .map(|m| match *m {
                    GenMop::Append { key, value } => {
                        Value::List(vec![append.clone(), (key as i64).into(), value.into()])
                    }
                    GenMop::Read { key, seen } => {
                        let seen = match seen {
                            None => Value::Nil,
                            Some(list) if registers => {
                                list.last().map_or(Value::Nil, |&x| x.into())
                            }
                            Some(list) => Value::List(list.iter().map(|&x| x.into()).collect()),
                        };
                        Value::List(vec![read.clone(), (key as i64).into(), seen])
                    }
                })
                .collect();
            let value = Value::List(mops);
            let o = if op.ok {
                Op::ok(op.process, "txn", value)
            } else {
                Op::invoke(op.process, "txn", value)
            };
            ops.push(o.with_index(op.index).with_time(op.time));
        });
        History::new(ops).expect("generated histories pair every call")
    }

    /// The ops in order: `txns` invocations and their completions.
    pub fn for_each(&self, mut each: impl FnMut(GenOp<'_>)) {
        let mut rng = Rng::new(self.seed);
        let below = |rng: &mut Rng, n: u64| rng.next_u64() % n;
        // Every key's list, by key id; `active` holds the keys txns pick from.
        let mut lists: Vec<Vec<i64>> = vec![Vec::new(); ACTIVE_KEYS as usize];
        let mut active: Vec<usize> = (0..ACTIVE_KEYS as usize).collect();
        let mut running: Vec<Option<Vec<(bool, usize, i64)>>> = vec![None; CLIENTS];
        let (mut started, mut done, mut next_val, mut index) = (0, 0, 1i64, 0u64);
        while done < self.txns {
            let c = below(&mut rng, CLIENTS as u64) as usize;
            let time = index * 1_000 + below(&mut rng, 1_000);
            match running[c].take() {
                None if started < self.txns => {
                    started += 1;
                    let len = 1 + below(&mut rng, 5) as usize;
                    let mut plan = Vec::with_capacity(len);
                    for _ in 0..len {
                        let slot = below(&mut rng, ACTIVE_KEYS) as usize;
                        if lists[active[slot]].len() >= WRITES_PER_KEY {
                            active[slot] = lists.len();
                            lists.push(Vec::new());
                        }
                        let is_append = below(&mut rng, 2) == 0;
                        plan.push((is_append, active[slot], next_val));
                        next_val += is_append as i64;
                    }
                    let invoked: Vec<GenMop<'_>> = plan
                        .iter()
                        .map(|&(is_append, k, v)| {
                            let key = k as u64;
                            if is_append {
                                GenMop::Append { key, value: v }
                            } else {
                                GenMop::Read { key, seen: None }
                            }
                        })
                        .collect();
                    each(GenOp {
                        index,
                        time,
                        process: c as u64,
                        ok: false,
                        mops: &invoked,
                    });
                    running[c] = Some(plan);
                }
                None => continue,
                Some(plan) => {
                    // Apply atomically now, at completion, in plan order
                    // (a read sees the txn's own earlier appends). A read
                    // keeps its length: the list only grows after it.
                    let mut lens = Vec::with_capacity(plan.len());
                    for &(is_append, k, v) in &plan {
                        if is_append {
                            lists[k].push(v);
                            lens.push(0);
                            continue;
                        }
                        // Stale reads miss up to `stale - 1` of the latest appends.
                        let lag = match self.stale {
                            0 => 0,
                            stale => below(&mut rng, stale) as usize,
                        };
                        lens.push(lists[k].len().saturating_sub(lag));
                    }
                    let completed: Vec<GenMop<'_>> = plan
                        .iter()
                        .zip(&lens)
                        .map(|(&(is_append, k, v), &len)| {
                            let key = k as u64;
                            if is_append {
                                GenMop::Append { key, value: v }
                            } else {
                                GenMop::Read {
                                    key,
                                    seen: Some(&lists[k][..len]),
                                }
                            }
                        })
                        .collect();
                    each(GenOp {
                        index,
                        time,
                        process: c as u64,
                        ok: true,
                        mops: &completed,
                    });
                    done += 1;
                }
            }
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{check, Options, Workload};
    use crate::verdict::Validity;

    fn checked(stale: u64, registers: bool) -> crate::txn::TxnResult {
        let h = TxnGen {
            txns: 3_000,
            stale,
            seed: 42,
            registers,
        }
        .history();
        assert_eq!(h.len(), 6_000);
        let workload = if registers {
            Workload::RwRegister
        } else {
            Workload::ListAppend
        };
        check(
            &h,
            &Options {
                workload,
                ..Options::default()
            },
        )
    }

    #[test]
    fn the_store_is_serializable_and_stale_reads_are_caught() {
        assert_eq!(checked(0, false).valid, Validity::Valid);
        assert_eq!(checked(0, true).valid, Validity::Valid);
        let stale = checked(3, false);
        assert_eq!(stale.valid, Validity::Invalid);
        assert!(!stale.anomaly_types.is_empty());
    }
}
