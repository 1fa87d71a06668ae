//! Unique ids: clients ask for ids; no two may be the same
//! ([`checkers::unique_ids`]).
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `generate null` -> `17`: a fresh id (an integer or a string; any JSON
//!   value compares by equality).
//!
//! No final ops.

use checkers::unique_ids::{self, UniqueIdsResult};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;

pub const OPS: &[crate::OpSpec] = &[crate::OpSpec {
    f: "generate",
    keyed: false,
    request: "null",
    ok: "a new id (an integer or a string), never returned before",
}];

/// No options yet; unknown keys are still errors.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "UniqueIdsOptions")]
pub struct Options {}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

pub struct Gen;

impl Gen {
    pub fn new(_opts: Options) -> Gen {
        Gen
    }

    pub fn next(&mut self, _ctx: &GenCtx, _rng: &mut Rng) -> Option<OpRequest> {
        Some(OpRequest::new("generate", Value::Nil))
    }

    pub fn final_ops(&mut self, _ctx: &GenCtx) -> Vec<OpRequest> {
        Vec::new()
    }
}

pub fn check(history: &History, _opts: &Options) -> UniqueIdsResult {
    unique_ids::check(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_serially;
    use crate::Workload;
    use checkers::verdict::Validity;

    #[test]
    fn a_sequence_checks_valid_and_a_restarted_one_does_not() {
        let mut next = 0;
        let h = run_serially(Workload::UniqueIds(Options::default()), 100, |op| {
            assert_eq!(op.f, "generate");
            next += 1;
            Ok(next.into())
        });
        let r = check(&h, &Options::default());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        assert_eq!(r.acknowledged_count, 100);

        // After 50 ids the generator restarts 10 back: 41..=50 come twice.
        let mut n = 0;
        let h = run_serially(Workload::UniqueIds(Options::default()), 100, |_| {
            n += 1;
            Ok(if n > 50 { n - 10 } else { n }.into())
        });
        let r = check(&h, &Options::default());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.duplicated_count, 10);
    }
}
