//! The simple online checkers, each incremental and exact: it reports an
//! anomaly only when no later op can make the offline checker disagree.
//! What a later op could still undo (an element read before any add wrote
//! it: the add may yet be invoked) waits for the end of the history.

use super::{Anomaly, Check};
use history::{Op, OpType, Process, Value};
use rustc_hash::{FxHashMap, FxHashSet};

fn anomaly(checker: &str, op: &Op, what: String) -> Anomaly {
    Anomaly {
        checker: checker.into(),
        index: op.index,
        time_ns: op.time,
        seen_at_index: 0,
        what,
    }
}

/// What is known of one add / enqueue so far.
#[derive(Clone, Copy, Default)]
struct Tally {
    invoked: u32,
    failed: u32,
    acked: u32,
}

impl Tally {
    /// Calls that may have put the value in (not failed).
    fn may(&self) -> u32 {
        self.invoked - self.failed
    }
}

/// Set: a read that misses an element whose add was acknowledged before
/// the read began (stale, or lost if the read is a final one: invalid
/// either way, unless stale reads are allowed, when only the end can
/// tell), and elements read that no add wrote (unexpected).
pub struct Set {
    allow_stale: bool,
    adds: FxHashMap<Value, Tally>,
    /// Acknowledged elements in the order of their acknowledgement.
    acked: Vec<Value>,
    /// Per process: the invoked op, and for a read, `acked.len()` then.
    open: FxHashMap<Process, (Value, Option<usize>)>,
    /// Read elements no add had been invoked for yet: (element, the read's
    /// index and time).
    suspects: Vec<(Value, u64, Option<u64>)>,
    reported_unexpected: FxHashSet<Value>,
}

impl Set {
    pub fn new(allow_stale: bool) -> Set {
        Set {
            allow_stale,
            adds: FxHashMap::default(),
            acked: Vec::new(),
            open: FxHashMap::default(),
            suspects: Vec::new(),
            reported_unexpected: FxHashSet::default(),
        }
    }
}

impl Check for Set {
    fn name(&self) -> &'static str {
        "set"
    }

    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>) {
        if !op.process.is_client() {
            return;
        }
        if op.kind == OpType::Invoke {
            let began = match op.f.as_str() {
                "add" => {
                    self.adds.entry(op.value.clone()).or_default().invoked += 1;
                    None
                }
                _ => Some(self.acked.len()),
            };
            self.open
                .insert(op.process.clone(), (op.value.clone(), began));
            return;
        }
        let Some((asked, began)) = self.open.remove(&op.process) else {
            return;
        };
        match (op.f.as_str(), op.kind) {
            ("add", OpType::Ok) => {
                self.adds.entry(asked.clone()).or_default().acked += 1;
                self.acked.push(asked);
            }
            ("add", OpType::Fail) => {
                let t = self.adds.entry(asked).or_default();
                t.failed += 1;
            }
            ("read", OpType::Ok) => {
                let elements: FxHashSet<&Value> =
                    op.value.as_list().unwrap_or_default().iter().collect();
                if let Some(n) = began.filter(|_| !self.allow_stale) {
                    let missing: Vec<&Value> = self.acked[..n]
                        .iter()
                        .filter(|e| !elements.contains(e))
                        .collect();
                    if !missing.is_empty() {
                        out.push(anomaly(
                            "set",
                            op,
                            format!(
                                "stale read (index {}): {} element(s) acknowledged before the read began are missing from it, e.g. {}",
                                op.index,
                                missing.len(),
                                missing[0]
                            ),
                        ));
                    }
                }
                for e in elements {
                    let t = self.adds.get(e);
                    if t.is_none() {
                        self.suspects.push((e.clone(), op.index, op.time));
                    } else if t.is_some_and(|t| t.may() == 0 && t.invoked > 0)
                        && self.reported_unexpected.insert(e.clone())
                    {
                        // Every add of it failed: certainly not written.
                        out.push(anomaly(
                            "set",
                            op,
                            format!(
                                "unexpected element {e} read (index {}): its add failed",
                                op.index
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<Anomaly>) {
        for (e, index, time_ns) in std::mem::take(&mut self.suspects) {
            let written = self.adds.get(&e).is_some_and(|t| t.may() > 0);
            if !written && self.reported_unexpected.insert(e.clone()) {
                out.push(Anomaly {
                    checker: "set".into(),
                    index,
                    time_ns,
                    seen_at_index: 0,
                    what: format!("unexpected element {e} read (index {index}): no add wrote it"),
                });
            }
        }
    }

    fn retained_bytes(&self) -> usize {
        (self.adds.len() + self.acked.len()) * 48
    }
}

/// Counter: each read between the adds acknowledged before it began and
/// the adds that may have happened by its completion (as the offline
/// checker bounds it; adds still in flight count as possible, which only
/// widens the bounds).
#[derive(Default)]
pub struct Counter {
    initial: i64,
    acked: (i64, i64),
    /// Adds invoked and not failed: (up, down).
    invoked: (i64, i64),
    /// Per process: the add's delta, or the acked sums when a read began.
    open: FxHashMap<Process, Open>,
}

enum Open {
    Add(Option<i64>),
    Read((i64, i64)),
}

impl Counter {
    pub fn new(initial: i64) -> Counter {
        Counter {
            initial,
            ..Counter::default()
        }
    }
}

fn add_to(sums: &mut (i64, i64), d: i64, sign: i64) {
    if d >= 0 {
        sums.0 = sums.0.saturating_add(sign * d);
    } else {
        sums.1 = sums.1.saturating_add(sign * d);
    }
}

impl Check for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>) {
        if !op.process.is_client() {
            return;
        }
        if op.kind == OpType::Invoke {
            let o = match op.f.as_str() {
                "add" => {
                    let d = op.value.as_int();
                    if let Some(d) = d {
                        add_to(&mut self.invoked, d, 1);
                    }
                    Open::Add(d)
                }
                _ => Open::Read(self.acked),
            };
            self.open.insert(op.process.clone(), o);
            return;
        }
        match (self.open.remove(&op.process), op.kind) {
            (Some(Open::Add(Some(d))), OpType::Ok) => add_to(&mut self.acked, d, 1),
            (Some(Open::Add(Some(d))), OpType::Fail) => add_to(&mut self.invoked, d, -1),
            (Some(Open::Read(began)), OpType::Ok) if op.f == "read" => {
                let lower = self.initial + began.0 + self.invoked.1;
                let upper = self.initial + began.1 + self.invoked.0;
                let Some(v) = op.value.as_int() else {
                    return;
                };
                if v < lower || v > upper {
                    out.push(anomaly(
                        "counter",
                        op,
                        format!(
                            "read (index {}) returned {v}, outside the bounds [{lower}, {upper}] of the adds before it",
                            op.index
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Unique ids: an id returned by two successful `generate` calls.
#[derive(Default)]
pub struct UniqueIds {
    seen: FxHashSet<Value>,
    reported: FxHashSet<Value>,
}

impl Check for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>) {
        if op.kind != OpType::Ok || op.f != "generate" || !op.process.is_client() {
            return;
        }
        if !self.seen.insert(op.value.clone()) && self.reported.insert(op.value.clone()) {
            out.push(anomaly(
                "unique-ids",
                op,
                format!(
                    "id {} returned a second time (index {})",
                    op.value, op.index
                ),
            ));
        }
    }

    fn retained_bytes(&self) -> usize {
        self.seen.len() * 40
    }
}

/// Queue: a value dequeued more often than it may have been enqueued.
/// With `unique_values` (the workload's generator enqueues each value
/// once) a value dequeued twice, or dequeued after its enqueue failed, is
/// reported at once; otherwise a later enqueue of the same value could
/// still account for it, and the end decides.
pub struct Queue {
    unique_values: bool,
    enqueues: FxHashMap<Value, Tally>,
    dequeued: FxHashMap<Value, (u32, Option<Op>)>,
    open: FxHashMap<Process, Value>,
    reported: FxHashSet<Value>,
}

impl Queue {
    pub fn new(unique_values: bool) -> Queue {
        Queue {
            unique_values,
            enqueues: FxHashMap::default(),
            dequeued: FxHashMap::default(),
            open: FxHashMap::default(),
            reported: FxHashSet::default(),
        }
    }

    fn judge(&mut self, v: &Value, op: &Op, out: &mut Vec<Anomaly>) {
        let t = self.enqueues.get(v).copied().unwrap_or_default();
        let n = self.dequeued.get(v).map_or(0, |d| d.0);
        if t.invoked > 0 && n > t.may() && self.reported.insert(v.clone()) {
            out.push(anomaly(
                "queue",
                op,
                format!(
                    "value {v} dequeued {n} time(s) but enqueued at most {} time(s) (index {})",
                    t.may(),
                    op.index
                ),
            ));
        }
    }

    fn came_out(&mut self, v: &Value, op: &Op, out: &mut Vec<Anomaly>) {
        let d = self.dequeued.entry(v.clone()).or_default();
        d.0 += 1;
        if d.1.is_none() || d.0 > 1 {
            d.1 = Some(op.clone());
        }
        if self.unique_values {
            self.judge(v, op, out);
        }
    }
}

impl Check for Queue {
    fn name(&self) -> &'static str {
        "queue"
    }

    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>) {
        if !op.process.is_client() {
            return;
        }
        if op.kind == OpType::Invoke {
            if op.f == "enqueue" {
                self.enqueues.entry(op.value.clone()).or_default().invoked += 1;
            }
            self.open.insert(op.process.clone(), op.value.clone());
            return;
        }
        let Some(asked) = self.open.remove(&op.process) else {
            return;
        };
        match (op.f.as_str(), op.kind) {
            ("enqueue", OpType::Fail) => {
                self.enqueues.entry(asked.clone()).or_default().failed += 1;
                if self.unique_values && self.dequeued.contains_key(&asked) {
                    self.judge(&asked, op, out);
                }
            }
            ("enqueue", OpType::Ok) => self.enqueues.entry(asked).or_default().acked += 1,
            ("dequeue", OpType::Ok) if !op.value.is_nil() => {
                let v = op.value.clone();
                self.came_out(&v, op, out);
            }
            ("drain", OpType::Ok) => {
                for v in op.value.as_list().unwrap_or_default().to_vec() {
                    self.came_out(&v, op, out);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<Anomaly>) {
        let values: Vec<(Value, Op)> = self
            .dequeued
            .iter()
            .filter_map(|(v, (_, op))| op.clone().map(|o| (v.clone(), o)))
            .collect();
        for (v, op) in values {
            self.judge(&v, &op, out);
        }
    }

    fn retained_bytes(&self) -> usize {
        (self.enqueues.len() + self.dequeued.len()) * 64
    }
}
