//! Counter: increments and reads of one counter; every read must lie
//! within what the increments allow ([`checkers::counter`]).
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `add 3` -> echoed: add the integer (`1..=max-add`) to the counter.
//! - `read null` -> `42`: the counter's value; `0` before anything was
//!   added (a missing counter reads as 0).
//!
//! Final ops: one read on every node.

use crate::ReadMode;
use checkers::counter::{self, CounterResult};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;

/// One counter, 0 at first.
pub const OPS: &[crate::OpSpec] = &[
    crate::OpSpec {
        f: "add",
        keyed: false,
        request: "a positive integer to add",
        ok: "the request's value",
    },
    crate::OpSpec {
        f: "read",
        keyed: false,
        request: "null",
        ok: "the counter's value: an integer (0 if nothing was added yet)",
    },
];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "CounterOptions")]
pub struct Options {
    /// Adds add `1..=max-add`.
    #[schemars(range(min = 1))]
    pub max_add: i64,
    /// Relative weights of reads and adds.
    #[schemars(range(min = 1))]
    pub reads: u32,
    /// Relative weight of adds.
    #[schemars(range(min = 1))]
    pub adds: u32,
    /// How clients read.
    pub read: ReadMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_add: 5,
            reads: 1,
            adds: 1,
            read: ReadMode::Linearizable,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_add < 1 {
            return Err("counter: max-add must be at least 1".into());
        }
        if self.reads == 0 || self.adds == 0 {
            return Err("counter: reads and adds must both be > 0".into());
        }
        Ok(())
    }
}

pub struct Gen {
    opts: Options,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen { opts }
    }

    pub fn next(&mut self, _ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        let o = &self.opts;
        Some(if rng.weighted(&[o.reads, o.adds]) == 0 {
            OpRequest::new("read", Value::Nil)
        } else {
            OpRequest::new("add", rng.between(1, o.max_add))
        })
    }

    /// Workers `0..nodes` are bound to nodes `0..nodes`: one read each.
    pub fn final_ops(&mut self, ctx: &GenCtx) -> Vec<OpRequest> {
        if ctx.worker < ctx.nodes {
            vec![OpRequest::new("read", Value::Nil)]
        } else {
            Vec::new()
        }
    }
}

pub fn check(history: &History, _opts: &Options) -> CounterResult {
    counter::check(history, &counter::Options::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_serially;
    use crate::Workload;
    use checkers::verdict::Validity;

    #[test]
    fn a_serial_counter_checks_valid_and_dropped_increments_do_not() {
        let opts = Options::default();
        let mut value = 0;
        let h = run_serially(Workload::Counter(opts.clone()), 200, |op| match op.f {
            "add" => {
                let d = op.value.as_int().unwrap();
                assert!((1..=5).contains(&d));
                value += d;
                Ok(op.value.clone())
            }
            _ => Ok(value.into()),
        });
        let r = check(&h, &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        assert!(r.read_count > 50 && r.adds_ok > 50, "{:?}", r.summary);

        // Every tenth add is acknowledged but not applied.
        let (mut value, mut n) = (0, 0);
        let h = run_serially(Workload::Counter(opts.clone()), 200, |op| match op.f {
            "add" => {
                n += 1;
                if n % 10 != 0 {
                    value += op.value.as_int().unwrap();
                }
                Ok(op.value.clone())
            }
            _ => Ok(value.into()),
        });
        let r = check(&h, &opts);
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
        // The first read after the tenth add is the first one out of bounds.
        let first = r.first_bad_read.unwrap();
        assert!(first.value.unwrap() < first.lower);
    }
}
