//! Bank: transfers between a fixed set of accounts must keep the total.
//!
//! Jepsen's bank checker (`jepsen.tests.bank`): every successful read of all
//! balances must sum to the total, show only the known accounts, a balance
//! for each of them, and (unless negative balances are allowed) no negative
//! balance. Transfers themselves are not checked: whatever they did, a
//! snapshot-isolated database shows the invariant in every read.
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `transfer {"from":1,"to":2,"amount":5}` (the completion echoes it);
//! - `read nil -> {"0":10,"1":10,...}`: every account's balance;
//! - `init {"0":13,"1":12,...}` (optional): the accounts and their initial
//!   balances, created if absent. When the options do not name the
//!   accounts and the total, the first `init` does.
//!
//! Account names compare by their text: JSON's `"0"`, EDN's `0` and `:0`
//! are the same account.

use crate::verdict::Validity;
use history::{History, OpType, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The accounts every read must show. `None`: from the first `init`
    /// op, or else the set of accounts most reads show.
    pub accounts: Option<Vec<String>>,
    /// The invariant total. `None`: from the first `init` op, or else the
    /// total most reads show.
    pub total: Option<i64>,
    /// Whether a negative balance is allowed (Jepsen's `:negative-balances?`).
    pub negative_balances: bool,
}

/// Where the accounts or the total the reads are checked against came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Options,
    /// The first `init` op.
    Init,
    /// A read that completed before the first transfer was invoked: it
    /// shows the initial balances.
    FirstRead,
    /// What most reads show (no options, no `init`, no read before the
    /// transfers). Reads that all agree on a total prove only that they
    /// agree: a debit lost before the first read would go unseen, so such
    /// a history is `unknown`, not valid.
    Inferred,
}

impl Source {
    fn words(self) -> &'static str {
        match self {
            Source::Options => "as configured",
            Source::Init => "from the init op",
            Source::FirstRead => "from a read before any transfer",
            Source::Inferred => "inferred: what most reads show",
        }
    }
}

/// What is wrong with one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The read's value is not a map of balances.
    Malformed,
    /// The read shows an account that is not one of the accounts.
    UnexpectedAccount,
    /// An account is absent from the read, or its balance is nil.
    MissingBalance,
    /// The balances do not add up to the total.
    WrongTotal,
    NegativeBalance,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::UnexpectedAccount => "unexpected-account",
            ErrorKind::MissingBalance => "missing-balance",
            ErrorKind::WrongTotal => "wrong-total",
            ErrorKind::NegativeBalance => "negative-balance",
        }
    }
}

/// One error in one read.
#[derive(Clone, Debug, Serialize)]
pub struct BadRead {
    pub kind: ErrorKind,
    /// History index of the read's completion (which holds the balances).
    pub index: u64,
    /// The sum of the balances read (when they are all numbers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The accounts concerned (unexpected, missing or negative ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// The balances as read.
    pub balances: Value,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BankResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub accounts: Vec<String>,
    pub total: Option<i64>,
    pub accounts_from: Source,
    pub total_from: Source,
    pub read_count: usize,
    /// Reads that found no account, begun before any init was acknowledged
    /// (not checked: the accounts may not have existed yet).
    pub reads_before_init: usize,
    /// Transfers acknowledged / failed / of unknown outcome.
    pub transfers_ok: usize,
    pub transfers_failed: usize,
    pub transfers_unknown: usize,
    /// Reads with at least one error.
    pub bad_read_count: usize,
    /// Errors per kind.
    pub error_counts: BTreeMap<ErrorKind, usize>,
    /// The earliest error (by history index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<BadRead>,
    /// Wrong-total reads with the lowest and highest totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lowest_total: Option<BadRead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highest_total: Option<BadRead>,
    /// Up to 100 errors, in history order.
    pub errors: Vec<BadRead>,
    /// History indices of the reads that show an error (up to 100).
    pub blamed: Vec<u64>,
    pub summary: Vec<String>,
}

const MAX_LISTED: usize = 100;

/// An account's name: the text of a string or keyword, else its EDN form.
pub fn account_name(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// A read's balances as (account, balance) pairs; a balance that is not an
/// integer is `None`.
type Balances = Vec<(String, Option<i64>)>;

/// The balances of a read, or `None` when its value is not a map.
fn balances(v: &Value) -> Option<Balances> {
    match v {
        Value::Map(entries) => Some(
            entries
                .iter()
                .map(|(k, v)| (account_name(k), v.as_int()))
                .collect(),
        ),
        _ => None,
    }
}

/// The most frequent item (the smallest among equals, so the choice is
/// deterministic).
fn most_common<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|&(_, n)| n == best).map(|(t, _)| t)
}

pub fn check(history: &History, opts: &Options) -> BankResult {
    let ops = history.ops();
    // Successful reads as (invocation, completion) positions.
    let mut reads: Vec<(usize, usize)> = Vec::new();
    let mut first_transfer = None;
    let mut init: Option<&Value> = None;
    // Where the first acknowledged init completed.
    let mut init_acked: Option<usize> = None;
    let (mut t_ok, mut t_fail, mut t_info) = (0, 0, 0);
    for call in history.calls() {
        let done = call.completion.map(|c| &ops[c]);
        let kind = done.map_or(OpType::Info, |d| d.kind);
        match ops[call.invoke].f.as_str() {
            "read" if kind == OpType::Ok => reads.push((call.invoke, call.completion.unwrap())),
            "transfer" => {
                first_transfer.get_or_insert(call.invoke);
                match kind {
                    OpType::Ok => t_ok += 1,
                    OpType::Fail => t_fail += 1,
                    _ => t_info += 1,
                }
            }
            "init" => {
                init.get_or_insert(&ops[call.invoke].value);
                if let (OpType::Ok, Some(c)) = (kind, call.completion) {
                    init_acked = Some(init_acked.map_or(c, |a| a.min(c)));
                }
            }
            _ => {}
        }
    }
    // A read that found no account at all, begun before any init was
    // acknowledged, may have run before the accounts existed: it says
    // nothing about the invariant.
    let mut reads_before_init = 0;
    if init.is_some() {
        reads.retain(|&(invoke, completion)| {
            let empty = matches!(&ops[completion].value, Value::Map(m) if m.is_empty());
            let early = empty && init_acked.is_none_or(|a| invoke < a);
            reads_before_init += early as usize;
            !early
        });
    }
    let reads: Vec<usize> = reads.into_iter().map(|(_, c)| c).collect();
    let parsed: Vec<Option<Balances>> = reads.iter().map(|&i| balances(&ops[i].value)).collect();

    // What every read must show: from the options, else the first init,
    // else what most reads show.
    let init_balances = init.and_then(balances);
    let sum = |b: &[(String, Option<i64>)]| -> Option<i64> {
        b.iter().map(|(_, v)| *v).sum::<Option<i64>>()
    };
    let (accounts, accounts_from): (BTreeSet<String>, _) = match (&opts.accounts, &init_balances) {
        (Some(a), _) => (a.iter().cloned().collect(), Source::Options),
        (None, Some(b)) => (b.iter().map(|(a, _)| a.clone()).collect(), Source::Init),
        (None, None) => (
            most_common(
                parsed
                    .iter()
                    .flatten()
                    .map(|b| b.iter().map(|(a, _)| a.clone()).collect::<BTreeSet<_>>()),
            )
            .unwrap_or_default(),
            Source::Inferred,
        ),
    };
    let (total, total_from) = match (opts.total, init_balances.as_deref().and_then(sum)) {
        (Some(t), _) => (Some(t), Source::Options),
        (None, Some(t)) => (Some(t), Source::Init),
        (None, None) => {
            let before_transfers = reads
                .iter()
                .zip(&parsed)
                .filter(|(&pos, _)| first_transfer.is_none_or(|t| pos < t))
                .find_map(|(_, b)| b.as_deref().and_then(sum));
            match before_transfers {
                Some(t) => (Some(t), Source::FirstRead),
                None => (
                    most_common(parsed.iter().flatten().filter_map(|b| sum(b))),
                    Source::Inferred,
                ),
            }
        }
    };

    let mut r = BankResult {
        valid: Validity::Valid,
        reason: None,
        accounts: accounts.iter().cloned().collect(),
        total,
        accounts_from,
        total_from,
        read_count: reads.len(),
        reads_before_init,
        transfers_ok: t_ok,
        transfers_failed: t_fail,
        transfers_unknown: t_info,
        bad_read_count: 0,
        error_counts: BTreeMap::new(),
        first_error: None,
        lowest_total: None,
        highest_total: None,
        errors: Vec::new(),
        blamed: Vec::new(),
        summary: Vec::new(),
    };

    for (&pos, b) in reads.iter().zip(&parsed) {
        let op = &ops[pos];
        let mut found = Vec::new();
        let mut bad = |kind: ErrorKind, total, accounts: Vec<String>, explanation: String| {
            found.push(BadRead {
                kind,
                index: op.index,
                total,
                accounts,
                balances: op.value.clone(),
                explanation,
            })
        };
        let Some(b) = b else {
            bad(
                ErrorKind::Malformed,
                None,
                Vec::new(),
                format!(
                    "read at index {} returned {} instead of a map of balances",
                    op.index, op.value
                ),
            );
            record(&mut r, found);
            continue;
        };
        let read_total = sum(b);
        let unexpected: Vec<String> = b
            .iter()
            .map(|(a, _)| a)
            .filter(|a| !accounts.contains(*a))
            .cloned()
            .collect();
        if !unexpected.is_empty() {
            bad(
                ErrorKind::UnexpectedAccount,
                read_total,
                unexpected.clone(),
                format!(
                    "read at index {} shows accounts {} that are not among the {} accounts",
                    op.index,
                    unexpected.join(", "),
                    accounts.len()
                ),
            );
        }
        let present: BTreeSet<&String> = b
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(a, _)| a)
            .collect();
        let missing: Vec<String> = accounts
            .iter()
            .filter(|a| !present.contains(a))
            .cloned()
            .collect();
        if !missing.is_empty() {
            bad(
                ErrorKind::MissingBalance,
                read_total,
                missing.clone(),
                format!(
                    "read at index {} has no balance for account {}",
                    op.index,
                    missing.join(", ")
                ),
            );
        }
        if let (Some(t), Some(expected)) = (read_total, total) {
            if t != expected {
                bad(
                    ErrorKind::WrongTotal,
                    Some(t),
                    Vec::new(),
                    format!(
                        "read at index {} sums to {t} instead of {expected} ({:+}): {}",
                        op.index,
                        t - expected,
                        op.value
                    ),
                );
            }
        }
        let negative: Vec<String> = b
            .iter()
            .filter(|(_, v)| v.is_some_and(|v| v < 0))
            .map(|(a, v)| format!("{a}={}", v.unwrap()))
            .collect();
        if !negative.is_empty() && !opts.negative_balances {
            bad(
                ErrorKind::NegativeBalance,
                read_total,
                negative.clone(),
                format!(
                    "read at index {} shows negative balances {}",
                    op.index,
                    negative.join(", ")
                ),
            );
        }
        record(&mut r, found);
    }

    r.summary = summarize(&r, opts);
    if r.bad_read_count > 0 {
        r.valid = Validity::Invalid;
    } else if r.read_count == 0 {
        r.valid = Validity::Unknown;
        r.reason = Some("no successful read: nothing shows the balances".into());
    } else if r.total.is_none() {
        r.valid = Validity::Unknown;
        r.reason = Some("no total to compare the reads with".into());
    } else if r.total_from == Source::Inferred {
        r.valid = Validity::Unknown;
        r.reason = Some(format!(
            "every read agrees on the total {}, but the initial total is not known \
             (no init op, no read before the transfers): give the initial balances \
             (shakedown check --initial) to check it",
            r.total.unwrap_or_default()
        ));
    }
    if let Some(reason) = &r.reason {
        r.summary.push(reason.clone());
    }
    r
}

fn record(r: &mut BankResult, found: Vec<BadRead>) {
    if found.is_empty() {
        return;
    }
    r.bad_read_count += 1;
    if r.blamed.len() < MAX_LISTED {
        r.blamed.push(found[0].index);
    }
    for e in found {
        *r.error_counts.entry(e.kind).or_default() += 1;
        if r.first_error.is_none() {
            r.first_error = Some(e.clone());
        }
        if e.kind == ErrorKind::WrongTotal {
            if r.lowest_total.as_ref().is_none_or(|l| e.total < l.total) {
                r.lowest_total = Some(e.clone());
            }
            if r.highest_total.as_ref().is_none_or(|h| e.total > h.total) {
                r.highest_total = Some(e.clone());
            }
        }
        if r.errors.len() < MAX_LISTED {
            r.errors.push(e);
        }
    }
}

fn summarize(r: &BankResult, opts: &Options) -> Vec<String> {
    let mut lines = Vec::new();
    let expected = match r.total {
        Some(t) => format!("{} accounts totalling {t}", r.accounts.len()),
        None => format!("{} accounts, no known total", r.accounts.len()),
    };
    let from = if r.accounts_from == r.total_from {
        r.total_from.words().to_string()
    } else {
        format!(
            "accounts {}, total {}",
            r.accounts_from.words(),
            r.total_from.words()
        )
    };
    lines.push(format!(
        "{} reads checked against {expected} ({from}); transfers: {} ok, {} failed, {} unknown",
        r.read_count, r.transfers_ok, r.transfers_failed, r.transfers_unknown
    ));
    if r.reads_before_init > 0 {
        lines.push(format!(
            "{} reads that found no account, begun before any init was acknowledged, were not checked",
            r.reads_before_init
        ));
    }
    if r.bad_read_count == 0 {
        if r.read_count > 0 {
            lines.push(format!(
                "every read shows each account once and the same total{}",
                if opts.negative_balances {
                    ""
                } else {
                    ", and no negative balance"
                }
            ));
        }
        return lines;
    }
    lines.push(format!(
        "{} of {} reads are wrong: {}",
        r.bad_read_count,
        r.read_count,
        r.error_counts
            .iter()
            .map(|(k, n)| format!("{n} {}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(e) = &r.first_error {
        lines.push(format!("first: {}", e.explanation));
    }
    if let (Some(lo), Some(hi)) = (&r.lowest_total, &r.highest_total) {
        if lo.index != hi.index {
            lines.push(format!(
                "totals read range from {} (index {}) to {} (index {})",
                lo.total.unwrap_or_default(),
                lo.index,
                hi.total.unwrap_or_default(),
                hi.index
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Op;

    fn bal(pairs: &[(i64, i64)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|&(a, b)| (Value::Int(a), Value::Int(b)))
                .collect(),
        )
    }

    #[test]
    fn most_common_is_deterministic() {
        assert_eq!(most_common([3, 1, 3, 1, 2]), Some(1));
        assert_eq!(most_common(Vec::<i64>::new()), None);
    }

    fn read(b: &[(i64, i64)]) -> [Op; 2] {
        [Op::invoke(0, "read", Value::Nil), Op::ok(0, "read", bal(b))]
    }

    fn transfer() -> [Op; 2] {
        let t = Value::Map(vec![
            ("from".into(), 0.into()),
            ("to".into(), 1.into()),
            ("amount".into(), 1.into()),
        ]);
        [
            Op::invoke(1, "transfer", t.clone()),
            Op::ok(1, "transfer", t),
        ]
    }

    #[test]
    fn an_inferred_total_blames_the_minority_and_never_passes() {
        let mut ops = transfer().to_vec();
        ops.extend(read(&[(0, 5), (1, 5)]));
        ops.extend(read(&[(0, 5), (1, 5)]));
        let agreeing = ops.clone();
        ops.extend(read(&[(0, 4), (1, 5)]));
        let r = check(&History::indexed(ops).unwrap(), &Options::default());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.total, Some(10));
        assert_eq!(r.total_from, Source::Inferred);
        assert_eq!(r.blamed, vec![7]);

        // Reads that agree, with nothing to say the total was right.
        let r = check(&History::indexed(agreeing).unwrap(), &Options::default());
        assert_eq!(r.valid, Validity::Unknown);
        assert!(r.reason.unwrap().contains("--initial"));
    }

    #[test]
    fn a_read_before_the_first_transfer_gives_the_total() {
        let mut ops = read(&[(0, 5), (1, 5)]).to_vec();
        ops.extend(transfer());
        ops.extend(read(&[(0, 4), (1, 7)]));
        ops.extend(read(&[(0, 4), (1, 7)]));
        let r = check(&History::indexed(ops).unwrap(), &Options::default());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!((r.total, r.total_from), (Some(10), Source::FirstRead));
        assert_eq!(r.blamed, vec![5, 7]);
    }
}
crate::simple_checker_result!(BankResult, "shows a wrong total or balance");
