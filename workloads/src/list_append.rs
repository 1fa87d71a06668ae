//! List-append: transactions of appends and reads over a few keys, values
//! unique per key, so every read reveals the order of the appends before
//! it (Elle). Checked by the transactional checker, strict-serializable
//! unless the options say otherwise.
//!
//! An op is `f = "txn"`, value `[["append", k, v], ["r", k, null], ...]`;
//! the client fills each read with the list it saw.

use crate::keys::{KeyChooser, KeyDistribution};
use crate::ReadMode;
use checkers::txn::{self, ConsistencyModel, TxnResult, Workload};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;
use std::collections::HashMap;

/// Transactions over lists of integers, one list per key, empty at first.
pub const OPS: &[crate::OpSpec] = &[crate::OpSpec {
    f: "txn",
    keyed: false,
    request: "micro-ops [[\"append\", key, value], [\"r\", key, null], ...], applied in order as one transaction",
    ok: "the micro-ops with each read's null replaced by the list read (appends as sent)",
}];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "ListAppendOptions",
    example = serde_json::json!({"name": "list-append", "keys": 8, "max-txn-len": 4, "consistency": ["serializable", "strong-session-snapshot-isolation"]})
)]
pub struct Options {
    /// Keys in use at any one time.
    #[schemars(range(min = 1))]
    pub keys: u64,
    #[serde(alias = "min_txn_len")]
    #[schemars(extend("x-alias" = "min_txn_len"))]
    /// Fewest micro-ops in a transaction (at least 1).
    #[schemars(range(min = 1))]
    pub min_txn_len: u64,
    #[serde(alias = "max_txn_len")]
    #[schemars(extend("x-alias" = "max_txn_len"))]
    /// Most micro-ops in a transaction (at least `min-txn-len`).
    #[schemars(range(min = 1))]
    pub max_txn_len: u64,
    /// Appends to a key before it is retired for a fresh one (keeps lists
    /// and reads short).
    #[serde(alias = "max_writes_per_key")]
    #[schemars(extend("x-alias" = "max_writes_per_key"))]
    #[schemars(range(min = 1))]
    pub max_writes_per_key: u64,
    /// Probability that a micro-op is a read.
    #[serde(alias = "read_fraction")]
    #[schemars(extend("x-alias" = "read_fraction"))]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub read_fraction: f64,
    /// How clients read.
    pub read: ReadMode,
    /// The consistency models the history must satisfy (every one).
    #[schemars(schema_with = "crate::consistency_schema")]
    pub consistency: Vec<String>,
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
            key_distribution: KeyDistribution::Uniform,
            zipf_exponent: crate::keys::DEFAULT_ZIPF_EXPONENT,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        self.validate_shape("list-append")?;
        self.models().map(|_| ())
    }

    /// The checks of the transactions' shape, shared with rw-register
    /// (errors start with `workload`).
    pub(crate) fn validate_shape(&self, workload: &str) -> Result<(), String> {
        if self.keys == 0 || self.max_writes_per_key == 0 {
            return Err(format!(
                "{workload}: keys and max-writes-per-key must be at least 1"
            ));
        }
        if self.min_txn_len == 0 || self.min_txn_len > self.max_txn_len {
            return Err(format!(
                "{workload}: need 1 <= min-txn-len <= max-txn-len, found {} and {}",
                self.min_txn_len, self.max_txn_len
            ));
        }
        if !(0.0..=1.0).contains(&self.read_fraction) {
            return Err(format!("{workload}: read-fraction must be between 0 and 1"));
        }
        crate::keys::validate(workload, self.zipf_exponent)?;
        Ok(())
    }

    pub fn models(&self) -> Result<Vec<ConsistencyModel>, String> {
        self.consistency
            .iter()
            .map(|s| {
                s.parse::<ConsistencyModel>()
                    .map_err(|e| format!("list-append: {e}"))
            })
            .collect()
    }
}

pub struct Gen {
    opts: Options,
    /// The write micro-op: `append` here, `w` for rw-register, which
    /// generates the same transactions.
    write: &'static str,
    /// (key, appends issued to it)
    live: Vec<(i64, u64)>,
    next_key: i64,
    /// Last value appended per key (values are 1, 2, 3 ... per key).
    last: HashMap<i64, i64>,
    /// Picks a slot of `live`.
    keys: KeyChooser,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen::writing(opts, "append")
    }

    /// A generator whose writes are `[write, k, v]`, values 1, 2, 3 ... per key.
    pub(crate) fn writing(opts: Options, write: &'static str) -> Gen {
        Gen {
            write,
            live: (0..opts.keys as i64).map(|k| (k, 0)).collect(),
            next_key: opts.keys as i64,
            last: HashMap::new(),
            keys: KeyChooser::new(opts.keys, opts.key_distribution, opts.zipf_exponent),
            opts,
        }
    }

    pub fn next(&mut self, _ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        let o = &self.opts;
        let len = rng.between(o.min_txn_len as i64, o.max_txn_len as i64);
        let mut mops = Vec::with_capacity(len as usize);
        for _ in 0..len {
            let slot = self.keys.pick(rng) as usize;
            let key = self.live[slot].0;
            if rng.chance(o.read_fraction) {
                mops.push(Value::List(vec!["r".into(), Value::Int(key), Value::Nil]));
            } else {
                let v = self.last.entry(key).or_insert(0);
                *v += 1;
                mops.push(Value::List(vec![
                    self.write.into(),
                    Value::Int(key),
                    Value::Int(*v),
                ]));
                self.live[slot].1 += 1;
                if self.live[slot].1 >= o.max_writes_per_key {
                    self.last.remove(&key);
                    self.live[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
            }
        }
        Some(OpRequest::new("txn", Value::List(mops)))
    }

    pub fn final_ops(&mut self, _ctx: &GenCtx) -> Vec<OpRequest> {
        Vec::new()
    }
}

pub fn check(history: &History, opts: &Options) -> Result<TxnResult, String> {
    let o = txn::Options {
        workload: Workload::ListAppend,
        consistency: opts.models()?,
        ..txn::Options::default()
    };
    Ok(txn::check(history, &o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::verdict::Validity;
    use history::Op;
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
    fn appends_are_unique_per_key_and_txns_within_bounds() {
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
                if f.as_str() == Some("append") {
                    assert!(seen.insert((k.clone(), v.clone())), "duplicate append {m}");
                    *per_key.entry(k.as_int().unwrap()).or_default() += 1;
                } else {
                    assert!(v.is_nil());
                }
            }
        }
        assert!(per_key.values().all(|&n| n <= 5));
        assert!(per_key.len() > 50);
    }

    /// A serial execution of generated txns is strict-serializable; a read
    /// that misses an append acknowledged before it began is not.
    #[test]
    fn generated_serial_histories_check_valid_and_a_stale_read_does_not() {
        let opts = Options::default();
        let mut g = Gen::new(opts.clone());
        let mut rng = Rng::seed(5);
        let mut db: HashMap<Value, Vec<Value>> = HashMap::new();
        let mut ops = Vec::new();
        for p in 0..200u64 {
            let op = g.next(&ctx(), &mut rng).unwrap();
            let mut out = Vec::new();
            for m in op.value.as_list().unwrap() {
                let [f, k, v] = m.as_list().unwrap() else {
                    panic!()
                };
                let list = db.entry(k.clone()).or_default();
                if f.as_str() == Some("append") {
                    list.push(v.clone());
                    out.push(m.clone());
                } else {
                    out.push(Value::List(vec![
                        "r".into(),
                        k.clone(),
                        Value::List(list.clone()),
                    ]));
                }
            }
            ops.push(Op::invoke(p % 5, "txn", op.value.clone()));
            ops.push(Op::ok(p % 5, "txn", Value::List(out)));
        }
        let history = History::indexed(ops.clone()).unwrap();
        let r = check(&history, &opts).unwrap();
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomaly_types);
        assert!(r.ok_count == 200);

        // Append x=1, then (after it completed) a read of x that misses it.
        let stale = vec![
            Op::invoke(
                0,
                "txn",
                Value::List(vec![Value::List(vec![
                    "append".into(),
                    "x".into(),
                    1.into(),
                ])]),
            ),
            Op::ok(
                0,
                "txn",
                Value::List(vec![Value::List(vec![
                    "append".into(),
                    "x".into(),
                    1.into(),
                ])]),
            ),
            Op::invoke(
                1,
                "txn",
                Value::List(vec![Value::List(vec!["r".into(), "x".into(), Value::Nil])]),
            ),
            Op::ok(
                1,
                "txn",
                Value::List(vec![Value::List(vec![
                    "r".into(),
                    "x".into(),
                    Value::List(vec![]),
                ])]),
            ),
        ];
        let r = check(&History::indexed(stale).unwrap(), &opts).unwrap();
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.anomaly_types);
    }
}
