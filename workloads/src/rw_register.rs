//! Read-write register: transactions of reads and blind writes over a few
//! keys, every written value unique per key, so a read names the one write
//! it saw (Elle's rw-register). Checked by the transactional checker,
//! strict-serializable unless the options say otherwise.
//!
//! An op is `f = "txn"`, value `[["r", k, null], ["w", k, v], ...]`; the
//! client fills each read with the value it saw (`null`: never written).
//!
//! Unlike list-append, a read reveals only the last write, not the order
//! of the ones before it: without `linearizable-keys` (or
//! `sequential-keys`) the checker infers versions only from what
//! transactions read and wrote, and finds fewer anomalies.

use crate::keys::KeyDistribution;
use crate::{list_append, ReadMode};
use checkers::txn::{self, ConsistencyModel, RwAssume, TxnResult, Workload};
use harness::run::{GenCtx, OpRequest, Rng};
use history::History;
use serde::Deserialize;

/// Transactions over registers of integers, one per key, null at first.
pub const OPS: &[crate::OpSpec] = &[crate::OpSpec {
    f: "txn",
    keyed: false,
    request: "micro-ops [[\"r\", key, null], [\"w\", key, value], ...], applied in order as one transaction",
    ok: "the micro-ops with each read's null replaced by the value read (null if never written; writes as sent)",
}];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "RwRegisterOptions",
    example = serde_json::json!({"name": "rw-register", "consistency": ["snapshot-isolation"], "linearizable-keys": true})
)]
pub struct Options {
    /// Keys in use at any one time.
    #[schemars(range(min = 1))]
    pub keys: u64,
    /// Fewest micro-ops in a transaction (at least 1).
    #[schemars(range(min = 1))]
    pub min_txn_len: u64,
    /// Most micro-ops in a transaction (at least `min-txn-len`).
    #[schemars(range(min = 1))]
    pub max_txn_len: u64,
    /// Writes to a key before it is retired for a fresh one.
    #[schemars(range(min = 1))]
    pub max_writes_per_key: u64,
    /// Probability that a micro-op is a read.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub read_fraction: f64,
    /// How clients read.
    pub read: ReadMode,
    /// The consistency models the history must satisfy (every one).
    #[schemars(schema_with = "crate::consistency_schema")]
    pub consistency: Vec<String>,
    /// Assume every key is linearizable (versions follow real time): only
    /// for databases that promise it, or the checker may blame them for
    /// what it assumed.
    pub linearizable_keys: bool,
    /// Assume every key is sequentially consistent.
    pub sequential_keys: bool,
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
            keys: 8,
            min_txn_len: 1,
            max_txn_len: 4,
            max_writes_per_key: 32,
            read_fraction: 0.5,
            read: ReadMode::Linearizable,
            consistency: vec!["strict-serializable".into()],
            linearizable_keys: false,
            sequential_keys: false,
            key_distribution: KeyDistribution::Uniform,
            zipf_exponent: crate::keys::DEFAULT_ZIPF_EXPONENT,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        self.shape().validate_shape("rw-register")?;
        self.models().map(|_| ())
    }

    pub fn models(&self) -> Result<Vec<ConsistencyModel>, String> {
        self.consistency
            .iter()
            .map(|s| {
                s.parse::<ConsistencyModel>()
                    .map_err(|e| format!("rw-register: {e}"))
            })
            .collect()
    }

    /// The transactions' shape, which list-append's generator makes.
    fn shape(&self) -> list_append::Options {
        list_append::Options {
            keys: self.keys,
            min_txn_len: self.min_txn_len,
            max_txn_len: self.max_txn_len,
            max_writes_per_key: self.max_writes_per_key,
            read_fraction: self.read_fraction,
            read: self.read,
            consistency: self.consistency.clone(),
            key_distribution: self.key_distribution,
            zipf_exponent: self.zipf_exponent,
        }
    }
}

/// List-append's generator with blind writes `[w k v]` for appends: values
/// are unique per key, so every read names the write it saw.
pub struct Gen(list_append::Gen);

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen(list_append::Gen::writing(opts.shape(), "w"))
    }

    pub fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        self.0.next(ctx, rng)
    }

    pub fn final_ops(&mut self, ctx: &GenCtx) -> Vec<OpRequest> {
        self.0.final_ops(ctx)
    }
}

pub fn check(history: &History, opts: &Options) -> Result<TxnResult, String> {
    let o = txn::Options {
        workload: Workload::RwRegister,
        consistency: opts.models()?,
        rw_assume: RwAssume {
            linearizable_keys: opts.linearizable_keys,
            sequential_keys: opts.sequential_keys,
        },
        ..txn::Options::default()
    };
    Ok(txn::check(history, &o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::verdict::Validity;
    use history::{Op, Value};
    use std::collections::HashMap;
    use std::collections::HashSet;

    fn ctx() -> GenCtx {
        GenCtx {
            worker: 0,
            process: 0,
            node: 0,
            nodes: 1,
            concurrency: 1,
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn writes_are_unique_per_key_and_txns_within_bounds() {
        let mut g = Gen::new(Options {
            keys: 2,
            min_txn_len: 2,
            max_txn_len: 3,
            max_writes_per_key: 5,
            ..Options::default()
        });
        let mut rng = Rng::seed(3);
        let mut seen = HashSet::new();
        let mut per_key: HashMap<i64, u64> = HashMap::new();
        for _ in 0..500 {
            let op = g.next(&ctx(), &mut rng).unwrap();
            assert_eq!(op.f, "txn");
            let mops = op.value.as_list().unwrap();
            assert!((2..=3).contains(&mops.len()));
            for m in mops {
                let [f, k, v] = m.as_list().unwrap() else {
                    panic!()
                };
                match f.as_str() {
                    Some("w") => {
                        assert!(seen.insert((k.clone(), v.clone())), "duplicate write {m}");
                        *per_key.entry(k.as_int().unwrap()).or_default() += 1;
                    }
                    Some("r") => assert!(v.is_nil()),
                    other => panic!("unexpected micro-op {other:?}"),
                }
            }
        }
        assert!(per_key.values().all(|&n| n <= 5));
        assert!(per_key.len() > 50);
    }

    fn txn(mops: &[(&str, i64, Option<i64>)]) -> Value {
        Value::List(
            mops.iter()
                .map(|(f, k, v)| {
                    Value::List(vec![
                        (*f).into(),
                        Value::Int(*k),
                        v.map(Value::Int).unwrap_or(Value::Nil),
                    ])
                })
                .collect(),
        )
    }

    /// A serial execution of generated txns is strict-serializable; write
    /// skew (each txn reads the key the other writes, neither sees the
    /// other's write) is G2-item and not serializable.
    #[test]
    fn serial_histories_check_valid_and_write_skew_does_not() {
        let opts = Options::default();
        let mut g = Gen::new(opts.clone());
        let mut rng = Rng::seed(5);
        let mut db: HashMap<Value, Value> = HashMap::new();
        let mut ops = Vec::new();
        for p in 0..200u64 {
            let op = g.next(&ctx(), &mut rng).unwrap();
            let mut out = Vec::new();
            for m in op.value.as_list().unwrap() {
                let [f, k, v] = m.as_list().unwrap() else {
                    panic!()
                };
                if f.as_str() == Some("w") {
                    db.insert(k.clone(), v.clone());
                    out.push(m.clone());
                } else {
                    let seen = db.get(k).cloned().unwrap_or(Value::Nil);
                    out.push(Value::List(vec!["r".into(), k.clone(), seen]));
                }
            }
            ops.push(Op::invoke(p % 5, "txn", op.value.clone()));
            ops.push(Op::ok(p % 5, "txn", Value::List(out)));
        }
        let r = check(&History::indexed(ops).unwrap(), &opts).unwrap();
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomaly_types);
        assert_eq!(r.ok_count, 200);

        // T1 reads x (nil) and writes y=1, T2 reads y (nil) and writes x=1,
        // concurrently: each missed the other's write (nil comes before
        // every version, so no assumption is needed to order them).
        let skew = vec![
            Op::invoke(1, "txn", txn(&[("r", 1, None), ("w", 2, Some(1))])),
            Op::invoke(2, "txn", txn(&[("r", 2, None), ("w", 1, Some(1))])),
            Op::ok(1, "txn", txn(&[("r", 1, None), ("w", 2, Some(1))])),
            Op::ok(2, "txn", txn(&[("r", 2, None), ("w", 1, Some(1))])),
        ];
        let r = check(&History::indexed(skew).unwrap(), &opts).unwrap();
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.anomaly_types);
        assert!(
            r.anomaly_types.iter().any(|a| a.starts_with("G2-item")),
            "{:?}",
            r.anomaly_types
        );
    }
}
