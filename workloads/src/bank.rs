//! Bank: transfers between a fixed set of accounts and reads of every
//! balance; the total must never change ([`checkers::bank`]).
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `init {"0":13,"1":12,"2":12,...}` -> echoed: create every account
//!   with this balance **if it does not exist yet**, all in one
//!   transaction (each worker sends it once, as its first op; it must be
//!   idempotent: later ones change nothing). Account names are the decimal
//!   account numbers.
//! - `transfer {"from":1,"to":2,"amount":5}` -> echoed: in one transaction,
//!   take `amount` from `from` and add it to `to`. A transfer that would
//!   make `from` negative must `fail` (unless `negative-balances: true`);
//!   so must one that finds an account missing.
//! - `read null` -> `{"0":10,"1":15,...}`: every account's balance, read in
//!   one transaction (a snapshot).
//!
//! Final ops: one read on every node.

use crate::keys::{KeyChooser, KeyDistribution};
use crate::ReadMode;
use checkers::bank::{self, BankResult};
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, Value};
use serde::Deserialize;
use std::collections::HashSet;

/// Accounts `"0"`, `"1"` ... holding a fixed total.
pub const OPS: &[crate::OpSpec] = &[
    crate::OpSpec {
        f: "init",
        keyed: false,
        request: "{\"0\": 13, \"1\": 12, ...}: create every account with this balance if it does not exist yet, in one transaction (each worker sends it once, first)",
        ok: "the request's value",
    },
    crate::OpSpec {
        f: "transfer",
        keyed: false,
        request: "{\"from\": 1, \"to\": 2, \"amount\": 5}: move amount from one account to the other in one transaction",
        ok: "the request's value; an overdraft or a missing account is a fail",
    },
    crate::OpSpec {
        f: "read",
        keyed: false,
        request: "null",
        ok: "every account's balance, read in one transaction: {\"0\": 10, \"1\": 15, ...}",
    },
];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "BankOptions",
    example = serde_json::json!({"name": "bank", "accounts": 5, "total": 100, "max-transfer": 5})
)]
pub struct Options {
    /// Accounts `0..accounts`.
    #[schemars(range(min = 2))]
    pub accounts: u64,
    /// The money in the bank, spread evenly over the accounts at init.
    #[schemars(range(min = 0))]
    pub total: i64,
    /// Transfers move `1..=max-transfer`.
    #[schemars(range(min = 1))]
    pub max_transfer: i64,
    /// Relative weights of reads and transfers.
    #[schemars(range(min = 1))]
    pub reads: u32,
    /// Relative weight of transfers.
    pub transfers: u32,
    /// Whether balances may go negative (the client then need not refuse
    /// overdrafts).
    pub negative_balances: bool,
    /// How clients read.
    pub read: ReadMode,
    /// How a transfer picks the account it takes from: uniform, zipf or
    /// exponential (README, "Hot keys: key distributions"); the account it pays into is any
    /// other, uniformly.
    pub key_distribution: KeyDistribution,
    /// Zipf's exponent (above 0), for `key-distribution: zipf`.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub zipf_exponent: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            accounts: 8,
            total: 100,
            max_transfer: 5,
            reads: 1,
            transfers: 1,
            negative_balances: false,
            read: ReadMode::Linearizable,
            key_distribution: KeyDistribution::Uniform,
            zipf_exponent: crate::keys::DEFAULT_ZIPF_EXPONENT,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.accounts < 2 {
            return Err("bank: accounts must be at least 2 (transfers need two)".into());
        }
        if self.total < 0 || self.max_transfer < 1 {
            return Err("bank: total must be >= 0 and max-transfer >= 1".into());
        }
        if self.reads == 0 {
            return Err("bank: reads must be > 0 (reads are what is checked)".into());
        }
        crate::keys::validate("bank", self.zipf_exponent)?;
        Ok(())
    }

    /// Each account's initial balance: the total split evenly, the
    /// remainder in account 0.
    pub fn initial_balances(&self) -> Value {
        let n = self.accounts as i64;
        Value::Map(
            (0..n)
                .map(|a| {
                    let extra = if a == 0 { self.total % n } else { 0 };
                    (
                        Value::Str(a.to_string()),
                        Value::Int(self.total / n + extra),
                    )
                })
                .collect(),
        )
    }

    pub fn checker(&self) -> bank::Options {
        bank::Options {
            accounts: Some((0..self.accounts).map(|a| a.to_string()).collect()),
            total: Some(self.total),
            negative_balances: self.negative_balances,
        }
    }
}

pub struct Gen {
    opts: Options,
    /// Workers that have sent their `init`.
    initialized: HashSet<usize>,
    /// Picks the account a transfer takes from.
    accounts: KeyChooser,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen {
            accounts: KeyChooser::new(opts.accounts, opts.key_distribution, opts.zipf_exponent),
            opts,
            initialized: HashSet::new(),
        }
    }

    pub fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        let o = &self.opts;
        if self.initialized.insert(ctx.worker) {
            return Some(OpRequest::new("init", o.initial_balances()));
        }
        if rng.weighted(&[o.reads, o.transfers]) == 0 {
            return Some(OpRequest::new("read", Value::Nil));
        }
        let from = self.accounts.pick(rng) as i64;
        // Any other account.
        let to = (from + 1 + rng.below(o.accounts - 1) as i64) % o.accounts as i64;
        let amount = rng.between(1, o.max_transfer);
        Some(OpRequest::new(
            "transfer",
            Value::Map(vec![
                ("from".into(), from.into()),
                ("to".into(), to.into()),
                ("amount".into(), amount.into()),
            ]),
        ))
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

pub fn check(history: &History, opts: &Options) -> BankResult {
    bank::check(history, &opts.checker())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, run_serially};
    use crate::Workload;
    use checkers::verdict::Validity;

    /// A sequential bank: what a correct database does.
    fn apply(balances: &mut Vec<i64>, op: &OpRequest) -> Result<Value, ()> {
        let get = |k| op.value.get(k).and_then(Value::as_int).unwrap();
        match op.f {
            "init" => {
                if balances.is_empty() {
                    for (_, b) in match &op.value {
                        Value::Map(m) => m.clone(),
                        _ => panic!(),
                    } {
                        balances.push(b.as_int().unwrap());
                    }
                }
                Ok(op.value.clone())
            }
            "transfer" => {
                let (from, to, amount) = (get("from") as usize, get("to") as usize, get("amount"));
                if balances[from] < amount {
                    return Err(());
                }
                balances[from] -= amount;
                balances[to] += amount;
                Ok(op.value.clone())
            }
            "read" => Ok(Value::Map(
                balances
                    .iter()
                    .enumerate()
                    .map(|(a, &b)| (Value::Str(a.to_string()), Value::Int(b)))
                    .collect(),
            )),
            f => panic!("{f}"),
        }
    }

    #[test]
    fn every_worker_inits_first_then_reads_and_transfers_between_two_accounts() {
        let opts = Options {
            accounts: 3,
            total: 10,
            ..Options::default()
        };
        assert_eq!(
            opts.initial_balances(),
            Value::Map(vec![
                ("0".into(), 4.into()),
                ("1".into(), 3.into()),
                ("2".into(), 3.into())
            ])
        );
        let mut g = Gen::new(opts);
        let mut rng = Rng::seed(2);
        for w in 0..3 {
            assert_eq!(g.next(&ctx(w, 2), &mut rng).unwrap().f, "init");
        }
        let mut reads = 0;
        for _ in 0..1000 {
            let op = g.next(&ctx(1, 2), &mut rng).unwrap();
            match op.f {
                "read" => reads += 1,
                "transfer" => {
                    let get = |k| op.value.get(k).unwrap().as_int().unwrap();
                    assert_ne!(get("from"), get("to"));
                    assert!((0..3).contains(&get("from")) && (0..3).contains(&get("to")));
                    assert!((1..=5).contains(&get("amount")));
                }
                f => panic!("{f}"),
            }
        }
        assert!((400..600).contains(&reads), "{reads}");
        let finals: usize = (0..5).map(|w| g.final_ops(&ctx(w, 2)).len()).sum();
        assert_eq!(finals, 2);
    }

    #[test]
    fn a_serial_bank_checks_valid_and_a_lost_debit_does_not() {
        let opts = Options::default();
        let mut balances = Vec::new();
        let h = run_serially(Workload::Bank(opts.clone()), 300, |op| {
            apply(&mut balances, op)
        });
        let r = check(&h, &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        assert!(r.read_count > 100 && r.transfers_ok > 50, "{:?}", r.summary);

        let mut balances = Vec::new();
        let (mut n, mut bugged) = (0, false);
        let h = run_serially(Workload::Bank(opts.clone()), 300, |op| {
            n += 1;
            if op.f == "transfer" && n >= 100 && !bugged {
                bugged = true;
                // Credit without the debit.
                let to = op.value.get("to").unwrap().as_int().unwrap() as usize;
                balances[to] += op.value.get("amount").unwrap().as_int().unwrap();
                return Ok(op.value.clone());
            }
            apply(&mut balances, op)
        });
        let r = check(&h, &opts);
        assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
        assert!(r
            .error_counts
            .contains_key(&checkers::bank::ErrorKind::WrongTotal));
    }
}
