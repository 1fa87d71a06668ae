//! Counter: increments and reads of one counter (Jepsen's counter checker).
//!
//! Every read must lie between
//!
//! - the **lower bound**: the increments acknowledged before the read was
//!   invoked (they certainly happened before it), and
//! - the **upper bound**: every increment invoked before the read completed
//!   and not known to have failed (ok, info or still pending: any of them
//!   may have happened by then).
//!
//! Jepsen assumes increments are non-negative; here a negative `add` (a
//! decrement) is allowed too: a possible one lowers the lower bound instead
//! of raising the upper one, so the bounds stay exact.
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `add 5` (an integer, the completion echoes it);
//! - `read nil -> 42`: the counter's value (the initial value, 0 unless
//!   configured, when nothing was added yet).

use crate::verdict::Validity;
use history::{History, OpType, Value};
use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The counter's value before the first add.
    pub initial: i64,
}

/// A read and its bounds.
#[derive(Clone, Debug, Serialize)]
pub struct BoundedRead {
    /// History index of the read's completion.
    pub index: u64,
    /// History index of its invocation.
    pub invoke_index: u64,
    pub lower: i64,
    /// What it read; `None` when the value is not an integer.
    pub value: Option<i64>,
    pub read: Value,
    pub upper: i64,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CounterResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub initial: i64,
    pub read_count: usize,
    /// Adds acknowledged / failed / of unknown outcome (info or pending).
    pub adds_ok: usize,
    pub adds_failed: usize,
    pub adds_unknown: usize,
    /// The counter's final bounds: every acknowledged add, and every add
    /// that may have happened.
    pub final_lower: i64,
    pub final_upper: i64,
    /// Reads outside their bounds.
    pub bad_read_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_read: Option<BoundedRead>,
    /// Up to 100, in history order.
    pub bad_reads: Vec<BoundedRead>,
    /// History indices of the bad reads' completions (up to 100).
    pub blamed: Vec<u64>,
    pub summary: Vec<String>,
}

const MAX_LISTED: usize = 100;

/// Running sums of add deltas, split by sign so the bounds stay exact with
/// decrements.
#[derive(Clone, Copy, Default)]
struct Sums {
    up: i64,
    down: i64,
}

impl Sums {
    fn add(&mut self, d: i64) {
        if d >= 0 {
            self.up = self.up.saturating_add(d);
        } else {
            self.down = self.down.saturating_add(d);
        }
    }
}

pub fn check(history: &History, opts: &Options) -> CounterResult {
    let ops = history.ops();
    let mut r = CounterResult {
        valid: Validity::Valid,
        reason: None,
        initial: opts.initial,
        read_count: 0,
        adds_ok: 0,
        adds_failed: 0,
        adds_unknown: 0,
        final_lower: opts.initial,
        final_upper: opts.initial,
        bad_read_count: 0,
        first_bad_read: None,
        bad_reads: Vec::new(),
        blamed: Vec::new(),
        summary: Vec::new(),
    };
    // Adds acknowledged so far, and adds invoked so far that did not fail.
    let mut acked = Sums::default();
    let mut invoked = Sums::default();
    // Per read invocation position: the acknowledged sums when it began.
    let mut read_started: Vec<Option<Sums>> = vec![None; ops.len()];
    let mut malformed_add = None;
    for (pos, op) in ops.iter().enumerate() {
        if !op.process.is_client() {
            continue;
        }
        match (op.f.as_str(), op.kind) {
            ("add", OpType::Invoke) => {
                let completion = history.partner(pos).map(|c| ops[c].kind);
                match completion {
                    Some(OpType::Fail) => r.adds_failed += 1,
                    Some(OpType::Ok) => r.adds_ok += 1,
                    _ => r.adds_unknown += 1,
                }
                if completion == Some(OpType::Fail) {
                    continue;
                }
                match op.value.as_int() {
                    Some(d) => invoked.add(d),
                    None => {
                        malformed_add.get_or_insert(op.index);
                    }
                }
            }
            ("add", OpType::Ok) => {
                // The invocation's value is what was asked for.
                let inv = history.partner(pos).map_or(&op.value, |i| &ops[i].value);
                if let Some(d) = inv.as_int() {
                    acked.add(d);
                }
            }
            ("read", OpType::Invoke) => read_started[pos] = Some(acked),
            ("read", OpType::Ok) => {
                let Some(began) = history.partner(pos).and_then(|i| read_started[i]) else {
                    continue;
                };
                r.read_count += 1;
                let lower = opts.initial + began.up + invoked.down;
                let upper = opts.initial + began.down + invoked.up;
                let value = op.value.as_int();
                let explanation = match value {
                    None => format!(
                        "read at index {} returned {}, not an integer",
                        op.index, op.value
                    ),
                    Some(v) if v < lower => format!(
                        "read at index {} returned {v}, but adds acknowledged before it began \
                         bring the counter to at least {lower} (it may be at most {upper})",
                        op.index
                    ),
                    Some(v) if v > upper => format!(
                        "read at index {} returned {v}, but every add that may have happened \
                         by its completion brings the counter to at most {upper} \
                         (at least {lower})",
                        op.index
                    ),
                    Some(_) => continue,
                };
                let bad = BoundedRead {
                    index: op.index,
                    invoke_index: history.partner(pos).map_or(op.index, |i| ops[i].index),
                    lower,
                    value,
                    read: op.value.clone(),
                    upper,
                    explanation,
                };
                r.bad_read_count += 1;
                if r.first_bad_read.is_none() {
                    r.first_bad_read = Some(bad.clone());
                }
                if r.bad_reads.len() < MAX_LISTED {
                    r.blamed.push(bad.index);
                    r.bad_reads.push(bad);
                }
            }
            _ => {}
        }
    }
    r.final_lower = opts.initial + acked.up + invoked.down;
    r.final_upper = opts.initial + acked.down + invoked.up;

    r.summary.push(format!(
        "{} reads checked; adds: {} ok, {} failed, {} unknown; the counter ends between {} and {}",
        r.read_count, r.adds_ok, r.adds_failed, r.adds_unknown, r.final_lower, r.final_upper
    ));
    if let Some(index) = malformed_add {
        r.valid = Validity::Unknown;
        r.reason = Some(format!(
            "add at index {index} has a value that is not an integer: the bounds are unknown"
        ));
    } else if r.bad_read_count > 0 {
        r.valid = Validity::Invalid;
        r.summary.push(format!(
            "{} of {} reads lie outside what the adds allow",
            r.bad_read_count, r.read_count
        ));
        if let Some(b) = &r.first_bad_read {
            r.summary.push(format!("first: {}", b.explanation));
        }
    } else if r.read_count == 0 {
        r.valid = Validity::Unknown;
        r.reason = Some("no successful read: nothing shows the counter".into());
    } else {
        r.summary.push(
            "every read lies between the adds acknowledged before it and those that may have happened by its end"
                .into(),
        );
    }
    if let Some(reason) = &r.reason {
        r.summary.push(reason.clone());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Op;

    #[test]
    fn decrements_widen_the_lower_bound() {
        // add -3 is pending while the read runs: the read may see 7 or 10.
        let h = History::indexed(vec![
            Op::invoke(0, "add", 10),
            Op::ok(0, "add", 10),
            Op::invoke(1, "add", -3),
            Op::invoke(0, "read", Value::Nil),
            Op::ok(0, "read", 7),
            Op::invoke(0, "read", Value::Nil),
            Op::ok(0, "read", 6),
        ])
        .unwrap();
        let r = check(&h, &Options::default());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.bad_read_count, 1);
        let b = r.first_bad_read.unwrap();
        assert_eq!((b.lower, b.value, b.upper, b.index), (7, Some(6), 10, 6));
    }
}
crate::simple_checker_result!(CounterResult, "read out of bounds");
