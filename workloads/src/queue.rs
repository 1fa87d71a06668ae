//! Queue (`queue` and `total-queue`): clients enqueue unique integers and
//! dequeue; at the end the queue is drained. Everything acknowledged must
//! come out, once; nothing else may ([`checkers::queue`], Jepsen's
//! total-queue). Order is not checked.
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `enqueue 7` -> echoed: put the integer in the queue.
//! - `dequeue null` -> `7`: take one element; `fail` when the queue is
//!   empty (an `ok` with `null` is read the same way).
//! - `drain null` -> `[7, 8, ...]`: take every element left, until the
//!   queue is empty.
//!
//! Final ops: one drain on every node (the first takes everything).

use checkers::queue::{self, QueueResult};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;

/// One queue of integers, empty at first.
pub const OPS: &[crate::OpSpec] = &[
    crate::OpSpec {
        f: "enqueue",
        keyed: false,
        request: "an integer, never enqueued before",
        ok: "the request's value",
    },
    crate::OpSpec {
        f: "dequeue",
        keyed: false,
        request: "null",
        ok: "the integer taken; an empty queue is a fail",
    },
    crate::OpSpec {
        f: "drain",
        keyed: false,
        request: "null",
        ok: "every integer left, taken until the queue is empty: a list",
    },
];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "QueueOptions")]
pub struct Options {
    /// Relative weights of enqueues and dequeues.
    #[schemars(range(min = 1))]
    pub enqueues: u32,
    /// Relative weight of dequeues.
    pub dequeues: u32,
    /// The queue delivers at least once: duplicates are reported but do
    /// not make the history invalid.
    pub at_least_once: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enqueues: 1,
            dequeues: 1,
            at_least_once: false,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.enqueues == 0 {
            return Err("queue: enqueues must be > 0".into());
        }
        Ok(())
    }

    pub fn checker(&self) -> queue::Options {
        queue::Options {
            allow_duplicates: self.at_least_once,
        }
    }
}

pub struct Gen {
    opts: Options,
    next: i64,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen { opts, next: 0 }
    }

    pub fn next(&mut self, _ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        if rng.weighted(&[self.opts.enqueues, self.opts.dequeues]) == 1 {
            return Some(OpRequest::new("dequeue", Value::Nil));
        }
        let e = self.next;
        self.next += 1;
        Some(OpRequest::new("enqueue", e))
    }

    /// Workers `0..nodes` are bound to nodes `0..nodes`: one drain each.
    pub fn final_ops(&mut self, ctx: &GenCtx) -> Vec<OpRequest> {
        if ctx.worker < ctx.nodes {
            vec![OpRequest::new("drain", Value::Nil)]
        } else {
            Vec::new()
        }
    }
}

pub fn check(history: &History, opts: &Options) -> QueueResult {
    queue::check(history, &opts.checker())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_serially;
    use crate::Workload;
    use checkers::verdict::Validity;
    use std::collections::VecDeque;

    /// A FIFO queue; `redeliver_every`: every n-th dequeue also stays in
    /// the queue (its acknowledgement was lost).
    fn run(opts: &Options, redeliver_every: usize) -> History {
        let mut q = VecDeque::new();
        let mut dequeues = 0;
        run_serially(Workload::TotalQueue(opts.clone()), 300, |op| match op.f {
            "enqueue" => {
                q.push_back(op.value.as_int().unwrap());
                Ok(op.value.clone())
            }
            "dequeue" => {
                let e = q.pop_front().ok_or(())?;
                dequeues += 1;
                if redeliver_every > 0 && dequeues % redeliver_every == 0 {
                    q.push_back(e);
                }
                Ok(e.into())
            }
            "drain" => Ok(q.drain(..).collect::<Vec<_>>().into()),
            f => panic!("{f}"),
        })
    }

    #[test]
    fn a_fifo_checks_valid_and_one_that_redelivers_does_not() {
        let opts = Options::default();
        let r = check(&run(&opts, 0), &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        assert!(r.drained && r.acknowledged_count > 100 && r.drains_ok == 2);

        let r = check(&run(&opts, 10), &opts);
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
        assert!(r.duplicated_count > 5, "{:?}", r.summary);
        let at_least_once = Options {
            at_least_once: true,
            ..Options::default()
        };
        let r = check(&run(&at_least_once, 10), &at_least_once);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    }
}
