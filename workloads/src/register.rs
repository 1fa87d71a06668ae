//! Register: read / write / cas on many independent keys, small integer
//! values so operations collide; checked per key as a cas-register.
//!
//! A key is used for `ops-per-key` operations and then replaced by a fresh
//! one (Jepsen's independent keys): each key's history stays short enough
//! for the linearizability search, however long the run.

use crate::keys::{KeyChooser, KeyDistribution};
use crate::ReadMode;
use checkers::linearizable::{self, LinResult, ModelKind};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;
use std::time::Duration;

/// A register per key, values small integers, `nil` before the first write.
pub const OPS: &[crate::OpSpec] = &[
    crate::OpSpec {
        f: "read",
        keyed: true,
        request: "null",
        ok: "the value read: an integer, or null if never written",
    },
    crate::OpSpec {
        f: "write",
        keyed: true,
        request: "an integer",
        ok: "the request's value",
    },
    crate::OpSpec {
        f: "cas",
        keyed: true,
        request: "[old, new]: set to new if the value is old",
        ok: "the request's value; a different value is a fail",
    },
];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "RegisterOptions",
    example = serde_json::json!({"name": "register", "keys": 10, "values": 5, "read": "serializable"})
)]
pub struct Options {
    /// Keys in use at any one time.
    #[schemars(range(min = 1))]
    pub keys: u64,
    /// Operations on a key before it is retired for a fresh one.
    #[serde(alias = "ops_per_key")]
    #[schemars(extend("x-alias" = "ops_per_key"))]
    #[schemars(range(min = 1))]
    pub ops_per_key: u64,
    /// Values written and compared are `0..values`.
    #[schemars(range(min = 1))]
    pub values: i64,
    /// Relative weights of reads, writes and cas.
    pub reads: u32,
    /// Relative weight of writes.
    pub writes: u32,
    /// Relative weight of compare-and-sets.
    pub cas: u32,
    /// How clients read.
    pub read: ReadMode,
    /// Seconds the linearizability search may take before answering unknown.
    #[serde(alias = "check_time_limit")]
    #[schemars(extend("x-alias" = "check_time_limit"))]
    pub check_time_limit: u64,
    /// How operations pick among the keys: uniform, zipf or exponential
    /// (README, "Hot keys: key distributions").
    #[serde(alias = "key_distribution")]
    #[schemars(extend("x-alias" = "key_distribution"))]
    pub key_distribution: KeyDistribution,
    /// Zipf's exponent (above 0), for `key-distribution: zipf`.
    #[serde(alias = "zipf_exponent")]
    #[schemars(extend("x-alias" = "zipf_exponent", "exclusiveMinimum" = 0))]
    pub zipf_exponent: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keys: 10,
            ops_per_key: 200,
            values: 5,
            reads: 2,
            writes: 1,
            cas: 1,
            read: ReadMode::Linearizable,
            check_time_limit: 600,
            key_distribution: KeyDistribution::Uniform,
            zipf_exponent: crate::keys::DEFAULT_ZIPF_EXPONENT,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.keys == 0 || self.ops_per_key == 0 || self.values <= 0 {
            return Err("register: keys, ops-per-key and values must be at least 1".into());
        }
        if self.reads + self.writes + self.cas == 0 {
            return Err("register: at least one of reads, writes and cas must be > 0".into());
        }
        crate::keys::validate("register", self.zipf_exponent)?;
        Ok(())
    }
}

/// The generator: a pool of `keys` live keys, each retired after
/// `ops_per_key` ops.
pub struct Gen {
    opts: Options,
    /// (key, ops issued on it)
    live: Vec<(i64, u64)>,
    next_key: i64,
    /// Picks a slot of `live`.
    keys: KeyChooser,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        let live = (0..opts.keys as i64).map(|k| (k, 0)).collect();
        Gen {
            next_key: opts.keys as i64,
            keys: KeyChooser::new(opts.keys, opts.key_distribution, opts.zipf_exponent),
            live,
            opts,
        }
    }

    pub fn next(&mut self, _ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        let o = &self.opts;
        let slot = self.keys.pick(rng) as usize;
        let key = self.live[slot].0;
        let op = match rng.weighted(&[o.reads, o.writes, o.cas]) {
            0 => OpRequest::new("read", Value::Nil),
            1 => OpRequest::new("write", rng.below(o.values as u64) as i64),
            _ => OpRequest::new(
                "cas",
                vec![
                    rng.below(o.values as u64) as i64,
                    rng.below(o.values as u64) as i64,
                ],
            ),
        };
        self.live[slot].1 += 1;
        if self.live[slot].1 >= o.ops_per_key {
            self.live[slot] = (self.next_key, 0);
            self.next_key += 1;
        }
        Some(op.with_key(key))
    }

    pub fn final_ops(&mut self, _ctx: &GenCtx) -> Vec<OpRequest> {
        Vec::new()
    }
}

/// Linearizability per key, as a cas-register starting at nil.
pub fn check(history: &History, opts: &Options) -> Result<LinResult, String> {
    let mut o = linearizable::Options::new(ModelKind::CasRegister);
    o.time_limit = Some(Duration::from_secs(opts.check_time_limit));
    linearizable::check(history, &o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ctx() -> GenCtx {
        GenCtx {
            worker: 0,
            process: 0,
            node: 0,
            nodes: 1,
            concurrency: 1,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn keys_rotate_and_the_mix_follows_the_weights() {
        let mut g = Gen::new(Options {
            keys: 3,
            ops_per_key: 10,
            ..Options::default()
        });
        let mut rng = Rng::seed(1);
        let mut per_key: HashMap<i64, u64> = HashMap::new();
        let mut per_f: HashMap<&str, u64> = HashMap::new();
        for _ in 0..3000 {
            let op = g.next(&ctx(), &mut rng).unwrap();
            *per_key
                .entry(op.key.unwrap().as_int().unwrap())
                .or_default() += 1;
            *per_f.entry(op.f).or_default() += 1;
            match op.f {
                "write" => assert!((0..5).contains(&op.value.as_int().unwrap())),
                "cas" => assert_eq!(op.value.as_list().unwrap().len(), 2),
                "read" => assert!(op.value.is_nil()),
                f => panic!("{f}"),
            }
        }
        // Retired keys got exactly 10 ops; the 3 live ones fewer.
        assert!((300..=303).contains(&per_key.len()), "{}", per_key.len());
        assert!(per_key.values().filter(|&&n| n != 10).count() <= 3);
        assert!(per_key.values().all(|&n| n <= 10));
        assert!((1300..1700).contains(&per_f["read"]), "{per_f:?}");
        // Same seed, same ops.
        let mut a = Gen::new(Options::default());
        let mut b = Gen::new(Options::default());
        let (mut ra, mut rb) = (Rng::seed(9), Rng::seed(9));
        for _ in 0..100 {
            assert_eq!(a.next(&ctx(), &mut ra), b.next(&ctx(), &mut rb));
        }
    }
}
