//! An offline checker re-run on the history so far: for checkers whose
//! verdict on a prefix holds for the whole (bank totals against a known
//! total, transactional cycles: edges only grow), where an incremental
//! version would be a second implementation to keep in step.
//!
//! The judge says what the prefix proves: it returns an anomaly only for
//! what no later op can undo. Re-runs are spaced so that checking takes at
//! most about a quarter of one core: the next run waits four times as long
//! as the last one took (and at least the tick interval).

use super::{op_bytes, Anomaly, Check};
use history::{History, Op};
use std::time::Instant;

/// Client ops up to which the end of the history is re-checked too.
const FINISH_MAX_OPS: usize = 100_000;

/// What a prefix proves: the anomaly's op index and what it is.
pub type Judge = Box<dyn FnMut(&History) -> Option<(u64, String)> + Send>;

pub struct Recheck {
    name: &'static str,
    judge: Judge,
    ops: Vec<Op>,
    checked_len: usize,
    next_run: Instant,
    found: bool,
    max_ops: usize,
    stopped: Option<String>,
}

impl Recheck {
    pub fn new(name: &'static str, judge: Judge) -> Recheck {
        Recheck {
            name,
            judge,
            ops: Vec::new(),
            checked_len: 0,
            next_run: Instant::now(),
            found: false,
            max_ops: 500_000,
            stopped: None,
        }
    }

    /// Ops held at most (default 500,000 client ops); past them the online
    /// check stops (the offline check covers the rest).
    pub fn max_ops(mut self, n: usize) -> Recheck {
        self.max_ops = n;
        self
    }

    fn run(&mut self, out: &mut Vec<Anomaly>) {
        if self.found || self.stopped.is_some() || self.ops.len() == self.checked_len {
            return;
        }
        let started = Instant::now();
        self.checked_len = self.ops.len();
        let h = match History::new(self.ops.iter().cloned()) {
            Ok(h) => h,
            Err(e) => {
                self.stopped = Some(format!("{}: {e}", self.name));
                self.ops = Vec::new();
                return;
            }
        };
        if let Some((index, what)) = (self.judge)(&h) {
            let time_ns = h
                .ops()
                .iter()
                .find(|o| o.index == index)
                .and_then(|o| o.time);
            out.push(Anomaly {
                checker: self.name.into(),
                index,
                time_ns,
                seen_at_index: 0,
                what,
            });
            self.found = true;
            self.ops = Vec::new();
        }
        let took = started.elapsed();
        self.next_run = Instant::now() + took * 4;
    }
}

impl Check for Recheck {
    fn name(&self) -> &'static str {
        self.name
    }

    fn push(&mut self, op: &Op, _out: &mut Vec<Anomaly>) {
        if self.found || self.stopped.is_some() || !op.process.is_client() {
            return;
        }
        if self.ops.len() >= self.max_ops {
            self.stopped = Some(format!(
                "{}: checked online up to {} client ops, the rest offline only",
                self.name, self.max_ops
            ));
            self.ops = Vec::new();
            return;
        }
        self.ops.push(op.clone());
    }

    fn tick(&mut self, out: &mut Vec<Anomaly>) {
        if Instant::now() >= self.next_run {
            self.run(out);
        }
    }

    /// The last prefix is the whole history, which the offline check reads
    /// next: re-run here only while that is cheap.
    fn finish(&mut self, out: &mut Vec<Anomaly>) {
        if self.ops.len() <= FINISH_MAX_OPS {
            self.run(out);
        }
    }

    fn retained_bytes(&self) -> usize {
        self.ops.iter().map(op_bytes).sum()
    }

    fn incomplete(&self) -> Option<String> {
        self.stopped.clone()
    }
}
