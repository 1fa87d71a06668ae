//! Per-key linearizability on prefixes: the existing search
//! ([`crate::linearizable::check`]) re-run on a key's ops so far.
//!
//! Why a prefix's verdict holds for the whole history: take a prefix of
//! the history and treat its pending calls (invoked, not completed yet) as
//! calls of unknown outcome. A linearization of the whole history, cut to
//! the calls of the prefix, is one of the prefix: a completed call keeps
//! its place; a pending call that later completed ok or took effect is
//! allowed anywhere after its invocation, or not at all; one that later
//! failed is allowed not to happen. So a prefix that is not linearizable
//! proves the whole is not. (Keys are independent, so this holds per key.)
//!
//! A key is re-checked when it has new completions and no call in flight
//! (a closed prefix, where the search is most telling), or after a few
//! ticks with calls in flight. Memory: a key's ops are dropped once the key
//! is retired (the workload's `ops-per-key` invocations issued and
//! completed: it gets no more ops), once it is found not linearizable, or
//! when it grows past a cap (it is then left to the offline check, and the
//! summary says so).

use super::{op_bytes, Anomaly, Check};
use crate::linearizable::{self, Options};
use crate::verdict::Validity;
use history::{History, Op, OpType, Process, Value};
use rustc_hash::{FxHashMap, FxHashSet};
use std::time::Duration;

/// Ticks a key with calls in flight waits before it is checked anyway.
const OPEN_WAIT_TICKS: u32 = 4;

pub struct PerKey {
    opts: Options,
    keys: FxHashMap<Value, KeyState>,
    /// The key of each process's call in flight.
    open_calls: FxHashMap<Process, Value>,
    /// Keys whose later ops are ignored: retired, not linearizable, or too
    /// large.
    done: FxHashSet<Value>,
    retire_after: Option<u64>,
    max_ops: usize,
    too_large: Vec<String>,
    errors: Vec<String>,
    unknown_checks: usize,
    pub checks: u64,
}

#[derive(Default)]
struct KeyState {
    ops: Vec<Op>,
    open: usize,
    invokes: u64,
    dirty: bool,
    waited: u32,
}

impl PerKey {
    /// `opts` as for the offline check (model, initial state, nil reads,
    /// independent tuples); each prefix search gets `per_check` at most.
    pub fn new(mut opts: Options, per_check: Duration) -> PerKey {
        opts.threads = 1;
        opts.time_limit = Some(per_check);
        opts.memory_limit = opts.memory_limit.min(256 << 20);
        PerKey {
            opts,
            keys: FxHashMap::default(),
            open_calls: FxHashMap::default(),
            done: FxHashSet::default(),
            retire_after: None,
            max_ops: 100_000,
            too_large: Vec::new(),
            errors: Vec::new(),
            unknown_checks: 0,
            checks: 0,
        }
    }

    /// A key gets no ops after its `n`th invocation (the register
    /// workload's `ops-per-key`): once those completed it is checked a last
    /// time and dropped.
    pub fn retire_after(mut self, n: u64) -> PerKey {
        self.retire_after = Some(n);
        self
    }

    /// Ops of one key kept at most (default 100,000).
    pub fn max_ops(mut self, n: usize) -> PerKey {
        self.max_ops = n;
        self
    }

    /// Keys held now.
    pub fn live_keys(&self) -> usize {
        self.keys.len()
    }

    fn key_of(&self, op: &Op) -> Result<(Value, Op), String> {
        let op = if self.opts.independent {
            crate::linearizable::independent::split_op(op)?
        } else {
            op.clone()
        };
        let key = if self.opts.partition_by_key {
            op.key.clone().unwrap_or(Value::Nil)
        } else {
            Value::Nil
        };
        Ok((key, op))
    }

    fn check_key(&mut self, key: &Value, out: &mut Vec<Anomaly>) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        state.dirty = false;
        state.waited = 0;
        self.checks += 1;
        let h = match History::from_ops(state.ops.clone()) {
            Ok(h) => h,
            Err(e) => {
                self.errors.push(format!("key {key}: {e}"));
                self.drop_key(key);
                return;
            }
        };
        match linearizable::check(&h, &self.opts) {
            Ok(r) if r.valid == Validity::Invalid => {
                if let Some(f) = r.failures.first() {
                    out.push(Anomaly {
                        checker: "linearizable".into(),
                        index: f.op.completion_index.unwrap_or(f.op.index),
                        time_ns: f.op.complete_time.or(f.op.invoke_time),
                        seen_at_index: 0,
                        what: match key {
                            Value::Nil => f.explanation.clone(),
                            k => format!("key {k}: {}", f.explanation),
                        },
                    });
                }
                self.drop_key(key);
            }
            Ok(r) if r.valid == Validity::Unknown && r.reason.is_some() => {
                self.unknown_checks += 1;
            }
            Ok(_) => {}
            Err(e) => {
                self.errors.push(format!("key {key}: {e}"));
                self.drop_key(key);
            }
        }
    }

    fn drop_key(&mut self, key: &Value) {
        self.keys.remove(key);
        self.done.insert(key.clone());
    }
}

impl Check for PerKey {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>) {
        if !op.process.is_client() {
            return;
        }
        let key = if op.kind == OpType::Invoke {
            let (key, split) = match self.key_of(op) {
                Ok(k) => k,
                Err(e) => {
                    if self.errors.len() < 10 {
                        self.errors.push(e);
                    }
                    return;
                }
            };
            self.open_calls.insert(op.process.clone(), key.clone());
            if self.done.contains(&key) {
                return;
            }
            let s = self.keys.entry(key.clone()).or_default();
            s.open += 1;
            s.invokes += 1;
            s.ops.push(split);
            key
        } else {
            let Some(key) = self.open_calls.remove(&op.process) else {
                return;
            };
            if !self.keys.contains_key(&key) {
                return;
            }
            let split = self.key_of(op);
            let s = self.keys.get_mut(&key).expect("a live key");
            let split = match split {
                Ok((_, split)) => split,
                Err(_) => {
                    // A completion whose value is no tuple: keep its
                    // invocation's.
                    let mut c = op.clone();
                    if let Some(inv) = s.ops.iter().rev().find(|o| o.process == op.process) {
                        c.value = inv.value.clone();
                        c.key = inv.key.clone();
                    }
                    c
                }
            };
            s.open -= 1;
            s.dirty |= op.kind != OpType::Fail;
            s.ops.push(split);
            key
        };
        let s = &self.keys[&key];
        let retired = self.retire_after.is_some_and(|n| s.invokes >= n) && s.open == 0;
        let (dirty, len) = (s.dirty, s.ops.len());
        if retired {
            if dirty {
                self.check_key(&key, out);
            }
            self.drop_key(&key);
        } else if len > self.max_ops {
            self.check_key(&key, out);
            if self.keys.contains_key(&key) {
                self.too_large.push(format!("{key}"));
                self.drop_key(&key);
            }
        }
    }

    fn tick(&mut self, out: &mut Vec<Anomaly>) {
        let mut due = Vec::new();
        for (k, s) in &mut self.keys {
            if !s.dirty {
                continue;
            }
            if s.open == 0 || s.waited >= OPEN_WAIT_TICKS {
                due.push(k.clone());
            } else {
                s.waited += 1;
            }
        }
        for k in due {
            self.check_key(&k, out);
        }
    }

    fn finish(&mut self, out: &mut Vec<Anomaly>) {
        let due: Vec<Value> = self
            .keys
            .iter()
            .filter(|(_, s)| s.dirty)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.check_key(&k, out);
        }
    }

    fn retained_bytes(&self) -> usize {
        let ops: usize = self
            .keys
            .values()
            .map(|s| s.ops.iter().map(op_bytes).sum::<usize>())
            .sum();
        ops + self.done.len() * (std::mem::size_of::<Value>() + 8) + self.open_calls.len() * 64
    }

    fn incomplete(&self) -> Option<String> {
        let mut why = Vec::new();
        if !self.too_large.is_empty() {
            why.push(format!(
                "{} key(s) grew past {} ops and were left to the offline check after that (e.g. {})",
                self.too_large.len(),
                self.max_ops,
                self.too_large[0]
            ));
        }
        if self.unknown_checks > 0 {
            why.push(format!(
                "{} prefix search(es) ran out of their time budget",
                self.unknown_checks
            ));
        }
        if let Some(e) = self.errors.first() {
            why.push(format!(
                "{} key(s) could not be checked online: {e}",
                self.errors.len()
            ));
        }
        (!why.is_empty()).then(|| format!("linearizable: {}", why.join("; ")))
    }
}
