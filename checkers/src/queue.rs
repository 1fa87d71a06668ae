//! Queue: what goes in must come out, once (Jepsen's total-queue checker).
//!
//! Every acknowledged enqueue must be dequeued (or drained) by the end;
//! nothing may come out that was not put in; and nothing may come out more
//! often than it went in. Order is not checked. Found:
//!
//! - **lost**: acknowledged enqueues never dequeued, once the queue was
//!   drained (a successful drain, or a dequeue that found it empty, invoked
//!   after every enqueue had ended);
//! - **unexpected**: dequeued values no enqueue that did not fail put in;
//! - **premature**: values that came out before any enqueue of them began
//!   (not in Jepsen's total-queue; its linearizable `queue` check finds it);
//! - **duplicated**: values dequeued more often than they were enqueued.
//!   Jepsen reports them without failing the test (at-least-once queues
//!   redeliver); here they make the history invalid unless
//!   [`Options::allow_duplicates`] says the queue is at-least-once.
//!
//! Unlike Jepsen, which counts a dequeue of unknown outcome as nothing, a
//! loss that such dequeues (or a drain of unknown outcome) may explain is
//! `unknown`, not invalid: they may have taken the element.
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `enqueue 7` (any value; the generator uses unique integers);
//! - `dequeue nil -> 7`; an empty queue is a `fail` (or `ok` with nil);
//! - `drain nil -> [7, 8, ...]`: everything left, until the queue is empty.

use crate::verdict::Validity;
use history::{History, OpType, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// At-least-once delivery: duplicates are reported but allowed.
    pub allow_duplicates: bool,
}

/// A value and the history indices that show what is wrong with it.
#[derive(Clone, Debug, Serialize)]
pub struct Element {
    pub value: Value,
    /// How many copies are lost / unexpected / extra.
    pub count: usize,
    /// Lost: the acknowledged enqueues' completions. Unexpected and
    /// duplicated: the dequeues' (or drains') completions.
    pub indices: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct QueueResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Enqueues attempted (invoked), acknowledged, failed, of unknown outcome.
    pub attempt_count: usize,
    pub acknowledged_count: usize,
    pub failed_count: usize,
    pub unknown_count: usize,
    /// Values that came out (dequeues and drained elements).
    pub dequeued_count: usize,
    pub dequeues_unknown: usize,
    pub drains_ok: usize,
    pub drains_unknown: usize,
    /// Whether the queue was seen empty after every enqueue ended.
    pub drained: bool,
    pub lost_count: usize,
    pub unexpected_count: usize,
    pub duplicated_count: usize,
    /// Enqueues of unknown outcome that came out.
    pub recovered_count: usize,
    /// Up to 100 of each, by value.
    pub lost: Vec<Element>,
    pub unexpected: Vec<Element>,
    pub duplicated: Vec<Element>,
    /// Values that came out before any enqueue of them began.
    pub premature_count: usize,
    pub premature: Vec<Element>,
    /// History indices of the operations blamed (up to 100).
    pub blamed: Vec<u64>,
    pub summary: Vec<String>,
}

const MAX_LISTED: usize = 100;

/// Per value: enqueues by outcome and where the value came out.
#[derive(Default)]
struct Tally {
    acked: Vec<u64>,
    unknown: usize,
    failed: usize,
    dequeued: Vec<u64>,
    /// Position of the first enqueue's invocation, and the earliest
    /// position at which the value came out (with that op's index).
    first_in: Option<usize>,
    first_out: Option<(usize, u64)>,
}

impl Tally {
    fn came_out(&mut self, pos: usize, index: u64) {
        self.dequeued.push(index);
        if self.first_out.is_none_or(|(p, _)| pos < p) {
            self.first_out = Some((pos, index));
        }
    }
}

pub fn check(history: &History, opts: &Options) -> QueueResult {
    let ops = history.ops();
    // Sized for one value per call, so it never rehashes.
    let mut values: FxHashMap<&Value, Tally> =
        FxHashMap::with_capacity_and_hasher(history.len() / 2, Default::default());
    let (mut dequeues_unknown, mut drains_ok, mut drains_unknown) = (0, 0, 0);
    // Where the last enqueue ended (its invocation if it never completed),
    // and the invocations of the ops that saw the queue empty.
    let mut last_enqueue_end = None;
    let mut saw_empty: Vec<usize> = Vec::new();
    for call in history.calls() {
        let inv = &ops[call.invoke];
        let done = call.completion.map(|c| &ops[c]);
        let kind = done.map_or(OpType::Info, |d| d.kind);
        match inv.f.as_str() {
            "enqueue" => {
                let t = values.entry(&inv.value).or_default();
                t.first_in.get_or_insert(call.invoke);
                match kind {
                    OpType::Ok => t.acked.push(done.unwrap().index),
                    OpType::Fail => t.failed += 1,
                    _ => t.unknown += 1,
                }
                last_enqueue_end =
                    last_enqueue_end.max(Some(call.completion.unwrap_or(call.invoke)));
            }
            "dequeue" => match (kind, done) {
                (OpType::Ok, Some(d)) if !d.value.is_nil() => {
                    let t = values.entry(&d.value).or_default();
                    t.came_out(call.completion.unwrap(), d.index);
                }
                (OpType::Ok | OpType::Fail, _) => saw_empty.push(call.invoke),
                _ => dequeues_unknown += 1,
            },
            "drain" => match (kind, done) {
                (OpType::Ok, Some(d)) => {
                    drains_ok += 1;
                    saw_empty.push(call.invoke);
                    for e in d.value.as_list().unwrap_or_default() {
                        let t = values.entry(e).or_default();
                        t.came_out(call.completion.unwrap(), d.index);
                    }
                }
                (OpType::Fail, _) => {}
                _ => drains_unknown += 1,
            },
            _ => {}
        }
    }
    let drained = saw_empty
        .iter()
        .any(|&i| last_enqueue_end.is_none_or(|end| i > end));

    let mut r = QueueResult {
        valid: Validity::Valid,
        reason: None,
        attempt_count: 0,
        acknowledged_count: 0,
        failed_count: 0,
        unknown_count: 0,
        dequeued_count: 0,
        dequeues_unknown,
        drains_ok,
        drains_unknown,
        drained,
        lost_count: 0,
        unexpected_count: 0,
        duplicated_count: 0,
        recovered_count: 0,
        lost: Vec::new(),
        unexpected: Vec::new(),
        duplicated: Vec::new(),
        premature_count: 0,
        premature: Vec::new(),
        blamed: Vec::new(),
        summary: Vec::new(),
    };
    // Every problem is collected, then each list is sorted by value and
    // cut to MAX_LISTED, so the examples do not depend on hashing.
    let listed = |list: &mut Vec<Element>, value: &Value, count: usize, indices: &[u64]| {
        list.push(Element {
            value: value.clone(),
            count,
            indices: indices.iter().take(10).copied().collect(),
        });
    };
    for (value, t) in &values {
        r.acknowledged_count += t.acked.len();
        r.failed_count += t.failed;
        r.unknown_count += t.unknown;
        r.attempt_count += t.acked.len() + t.failed + t.unknown;
        r.dequeued_count += t.dequeued.len();
        // Enqueues that may have put the value in.
        let may = t.acked.len() + t.unknown;
        let out = t.dequeued.len();
        if may == 0 && out > 0 {
            r.unexpected_count += out;
            listed(&mut r.unexpected, value, out, &t.dequeued);
        } else if out > may {
            r.duplicated_count += out - may;
            listed(&mut r.duplicated, value, out - may, &t.dequeued);
        }
        if t.acked.len() > out {
            let lost = t.acked.len() - out;
            r.lost_count += lost;
            listed(&mut r.lost, value, lost, &t.acked[out..]);
        }
        r.recovered_count += out.min(may).saturating_sub(t.acked.len());
        if let (Some(first_in), Some((out_pos, out_index))) = (t.first_in, t.first_out) {
            if out_pos < first_in {
                r.premature_count += 1;
                listed(&mut r.premature, value, 1, &[out_index]);
            }
        }
    }

    for list in [
        &mut r.lost,
        &mut r.unexpected,
        &mut r.duplicated,
        &mut r.premature,
    ] {
        list.sort_unstable_by(|a, b| a.value.cmp(&b.value));
        list.truncate(MAX_LISTED);
    }

    // The verdict: what is certainly wrong first, then what may be.
    let mut problems = Vec::new();
    let mut doubts = Vec::new();
    let mut lost_is_certain = false;
    if r.unexpected_count > 0 {
        problems.push(format!(
            "{} dequeued values were never enqueued (or only by enqueues that failed), e.g. {}",
            r.unexpected_count, r.unexpected[0].value
        ));
    }
    if r.premature_count > 0 {
        let e = &r.premature[0];
        problems.push(format!(
            "{} values came out before any enqueue of them began, e.g. {} at index {}",
            r.premature_count, e.value, e.indices[0]
        ));
    }
    if r.duplicated_count > 0 {
        let line = format!(
            "{} values came out more often than they went in (duplicated), e.g. {} at indices {:?}",
            r.duplicated_count, r.duplicated[0].value, r.duplicated[0].indices
        );
        if opts.allow_duplicates {
            r.summary
                .push(format!("{line}: allowed (at-least-once queue)"));
        } else {
            problems.push(line);
        }
    }
    if r.lost_count > 0 {
        let line = format!(
            "{} acknowledged enqueues never came out (lost), e.g. {} enqueued at index {}",
            r.lost_count, r.lost[0].value, r.lost[0].indices[0]
        );
        if !drained {
            doubts.push(format!(
                "{line}; but the queue was not drained after the last enqueue, so they may still be in it"
            ));
        } else if drains_unknown > 0 {
            doubts.push(format!(
                "{line}; but {drains_unknown} drains of unknown outcome may have taken them"
            ));
        } else if r.lost_count <= dequeues_unknown {
            doubts.push(format!(
                "{line}; but {dequeues_unknown} dequeues of unknown outcome may have taken them"
            ));
        } else {
            lost_is_certain = true;
            problems.push(if dequeues_unknown > 0 {
                format!("{line} ({dequeues_unknown} dequeues of unknown outcome explain at most that many)")
            } else {
                line
            });
        }
    }
    r.summary.insert(
        0,
        format!(
            "{} enqueues ({} ok, {} failed, {} unknown), {} values out ({} drains), {} recovered",
            r.attempt_count,
            r.acknowledged_count,
            r.failed_count,
            r.unknown_count,
            r.dequeued_count,
            r.drains_ok,
            r.recovered_count
        ),
    );
    if !problems.is_empty() {
        r.valid = Validity::Invalid;
        let lost: &[Element] = if lost_is_certain { &r.lost } else { &[] };
        let duplicated: &[Element] = if opts.allow_duplicates {
            &[]
        } else {
            &r.duplicated
        };
        for list in [&r.unexpected[..], &r.premature[..], duplicated, lost] {
            for e in list {
                for &i in &e.indices {
                    if r.blamed.len() < MAX_LISTED {
                        r.blamed.push(i);
                    }
                }
            }
        }
        r.blamed.sort_unstable();
        r.blamed.dedup();
        r.summary.extend(problems);
        r.summary.extend(doubts);
    } else if !doubts.is_empty() {
        r.valid = Validity::Unknown;
        r.reason = Some(doubts.join("; "));
        r.summary.extend(doubts);
    } else if r.acknowledged_count == 0 && r.dequeued_count == 0 {
        r.valid = Validity::Unknown;
        let reason = "no enqueue was acknowledged and nothing came out: nothing was tested";
        r.reason = Some(reason.into());
        r.summary.push(reason.into());
    } else {
        r.summary.push(format!(
            "every acknowledged enqueue came out{}, nothing unexpected{}",
            if drained {
                ""
            } else {
                " (the queue was not drained at the end)"
            },
            if opts.allow_duplicates {
                ""
            } else {
                ", nothing twice"
            }
        ));
    }
    r
}
crate::simple_checker_result!(QueueResult, "lost, duplicated or unexpected element");
