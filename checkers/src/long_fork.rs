//! Long fork: Jepsen's test for parallel snapshot isolation
//! (`jepsen.tests.long-fork`).
//!
//! Each key is written once, by a transaction writing only that key. Reads
//! read a whole group of keys at once. Under snapshot isolation (or
//! anything stronger) every read sees a prefix of one order of the writes,
//! so any two reads of a group are ordered: one has seen every write the
//! other has. Two reads where one saw `x` but not `y` and the other `y` but
//! not `x` saw the two writes in opposite orders: a **long fork**, allowed
//! by parallel snapshot isolation, forbidden by snapshot isolation.
//!
//! Also reported (invalid): a read of a value no write wrote. A key
//! written more than once makes the history unfit for this check
//! (`unknown`), as in Jepsen.
//!
//! Operations (`f = "txn"`; micro-ops `[f, key, value]`, integer keys):
//!
//! - write: `txn [["w", 3, 1]]` (exactly one micro-op; completion echoes it);
//! - read: `txn [["r", 2, null], ["r", 3, null]] -> [["r", 2, null], ["r", 3, 1]]`:
//!   every key of one group (keys `g*n .. g*n+n-1` for group size `n`),
//!   null for a key not written yet.

use crate::verdict::Validity;
use history::{History, OpType, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keys every read must read; `None`: not checked (reads are grouped
    /// by the keys they read).
    pub group_size: Option<usize>,
}

/// Two reads of the same keys that saw two writes in opposite orders.
#[derive(Clone, Debug, Serialize)]
pub struct Fork {
    /// History indices of the two reads' completions.
    pub a_index: u64,
    pub b_index: u64,
    /// A key `a` saw written and `b` did not, and one the other way round.
    pub only_a: Value,
    pub only_b: Value,
    pub a_read: Value,
    pub b_read: Value,
    pub explanation: String,
}

/// A read of a value no write wrote.
#[derive(Clone, Debug, Serialize)]
pub struct BadValue {
    pub index: u64,
    pub key: Value,
    pub value: Value,
    /// What the key's write wrote, if it has one.
    pub written: Option<Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LongForkResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub write_count: usize,
    pub read_count: usize,
    /// Distinct groups of keys read, and those read at least twice.
    pub groups: usize,
    pub groups_compared: usize,
    pub fork_count: usize,
    /// Up to 100.
    pub forks: Vec<Fork>,
    pub bad_values: Vec<BadValue>,
    /// Keys written more than once (the check then does not apply).
    pub multiply_written: Vec<Value>,
    /// History indices of the reads blamed (up to 100).
    pub blamed: Vec<u64>,
    pub summary: Vec<String>,
}

const MAX_LISTED: usize = 100;

/// The micro-ops of a txn value as (f, key, value).
fn mops(v: &Value) -> Option<Vec<(&str, &Value, &Value)>> {
    v.as_list()?
        .iter()
        .map(|m| match m.as_list()? {
            [f, k, v] => Some((f.as_str()?, k, v)),
            _ => None,
        })
        .collect()
}

fn is_read(f: &str) -> bool {
    f == "r" || f == "read"
}

fn is_write(f: &str) -> bool {
    f == "w" || f == "write"
}

/// One successful read: the keys it read (sorted) and which it saw written.
struct Read<'a> {
    index: u64,
    value: &'a Value,
    /// (key, value read), sorted by key.
    seen: Vec<(&'a Value, &'a Value)>,
}

pub fn check(history: &History, opts: &Options) -> LongForkResult {
    let ops = history.ops();
    let mut writes: FxHashMap<&Value, Vec<&Value>> = FxHashMap::default();
    let mut write_count = 0;
    let mut reads: Vec<Read> = Vec::new();
    let mut malformed: Option<String> = None;
    for call in history.calls() {
        let inv = &ops[call.invoke];
        if inv.f != "txn" {
            continue;
        }
        let Some(m) = mops(&inv.value) else {
            malformed.get_or_insert(format!(
                "txn at index {} has value {}: expected a list of [f, key, value] micro-ops",
                inv.index, inv.value
            ));
            continue;
        };
        if let [(f, k, v)] = m[..] {
            if is_write(f) {
                write_count += 1;
                writes.entry(k).or_default().push(v);
                continue;
            }
        }
        if !m.iter().all(|(f, _, _)| is_read(f)) {
            malformed.get_or_insert(format!(
                "txn at index {} mixes reads and writes: long-fork txns either write one key or only read",
                inv.index
            ));
            continue;
        }
        let Some(done) = call.completion.map(|c| &ops[c]) else {
            continue;
        };
        if done.kind != OpType::Ok {
            continue;
        }
        let Some(seen) = mops(&done.value) else {
            malformed.get_or_insert(format!(
                "read at index {} completed with {}: expected a list of [\"r\", key, value]",
                done.index, done.value
            ));
            continue;
        };
        let mut seen: Vec<(&Value, &Value)> = seen.into_iter().map(|(_, k, v)| (k, v)).collect();
        seen.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(n) = opts.group_size {
            if seen.len() != n {
                malformed.get_or_insert(format!(
                    "read at index {} read {} keys; every read should read a group of {n}",
                    done.index,
                    seen.len()
                ));
            }
        }
        reads.push(Read {
            index: done.index,
            value: &done.value,
            seen,
        });
    }

    let mut multiply_written: Vec<Value> = writes
        .iter()
        .filter(|(_, vs)| vs.len() > 1)
        .map(|(k, _)| (*k).clone())
        .collect();
    multiply_written.sort();

    // Values no write wrote.
    let mut bad_values = Vec::new();
    for r in &reads {
        for &(k, v) in &r.seen {
            if v.is_nil() {
                continue;
            }
            let written = writes.get(k);
            if !written.is_some_and(|ws| ws.contains(&v)) && bad_values.len() < MAX_LISTED {
                bad_values.push(BadValue {
                    index: r.index,
                    key: k.clone(),
                    value: v.clone(),
                    written: written.and_then(|ws| ws.first()).map(|&w| w.clone()),
                });
            }
        }
    }

    // Group reads by the keys they read; within a group, compare each
    // distinct observation (which keys were seen written) once.
    // Per group: how many reads, and the first read of each observation.
    type Observations<'r, 'h> = (usize, BTreeMap<Vec<bool>, &'r Read<'h>>);
    let mut by_keys: FxHashMap<Vec<&Value>, Observations> = FxHashMap::default();
    for r in &reads {
        let keys: Vec<&Value> = r.seen.iter().map(|(k, _)| *k).collect();
        let state: Vec<bool> = r.seen.iter().map(|(_, v)| !v.is_nil()).collect();
        let (n, states) = by_keys.entry(keys).or_default();
        *n += 1;
        states.entry(state).or_insert(r);
    }
    let groups_compared = by_keys.values().filter(|(n, _)| *n > 1).count();
    let groups: BTreeMap<Vec<&Value>, BTreeMap<Vec<bool>, &Read>> = by_keys
        .into_iter()
        .map(|(keys, (_, states))| (keys, states))
        .collect();
    let mut forks = Vec::new();
    let mut fork_count = 0;
    for (keys, states) in &groups {
        let states: Vec<(&Vec<bool>, &&Read)> = states.iter().collect();
        for (i, (sa, a)) in states.iter().enumerate() {
            for (sb, b) in &states[i + 1..] {
                let only_a = (0..keys.len()).find(|&k| sa[k] && !sb[k]);
                let only_b = (0..keys.len()).find(|&k| sb[k] && !sa[k]);
                let (Some(x), Some(y)) = (only_a, only_b) else {
                    continue;
                };
                fork_count += 1;
                if forks.len() >= MAX_LISTED {
                    continue;
                }
                // Name the earlier read `a`.
                let (a, b, x, y) = if a.index <= b.index {
                    (a, b, x, y)
                } else {
                    (b, a, y, x)
                };
                forks.push(Fork {
                    a_index: a.index,
                    b_index: b.index,
                    only_a: keys[x].clone(),
                    only_b: keys[y].clone(),
                    a_read: a.value.clone(),
                    b_read: b.value.clone(),
                    explanation: format!(
                        "read at index {} saw key {} written but not key {}; read at index {} saw {} but not {}: \
                         they saw the two writes in opposite orders (long fork)",
                        a.index, keys[x], keys[y], b.index, keys[y], keys[x]
                    ),
                });
            }
        }
    }
    forks.sort_by_key(|f| (f.a_index, f.b_index));

    let mut blamed: Vec<u64> = forks
        .iter()
        .flat_map(|f| [f.a_index, f.b_index])
        .chain(bad_values.iter().map(|b| b.index))
        .collect();
    blamed.sort_unstable();
    blamed.dedup();
    blamed.truncate(MAX_LISTED);

    let mut summary = vec![format!(
        "{write_count} writes, {} reads of {} key groups ({} read more than once)",
        reads.len(),
        groups.len(),
        groups_compared
    )];
    let mut reason = None;
    let valid = if fork_count > 0 || !bad_values.is_empty() {
        if fork_count > 0 {
            summary.push(format!(
                "{fork_count} pairs of reads saw writes in opposite orders; first: {}",
                forks[0].explanation
            ));
        }
        if let Some(b) = bad_values.first() {
            summary.push(format!(
                "{} reads saw a value no write wrote, e.g. key {} = {} at index {}",
                bad_values.len(),
                b.key,
                b.value,
                b.index
            ));
        }
        Validity::Invalid
    } else if let Some(m) = malformed {
        reason = Some(m);
        Validity::Unknown
    } else if !multiply_written.is_empty() {
        reason = Some(format!(
            "{} keys were written more than once (e.g. {}): long-fork needs one write per key",
            multiply_written.len(),
            multiply_written[0]
        ));
        Validity::Unknown
    } else if groups_compared == 0 {
        reason = Some("no group of keys was read twice: nothing to compare".into());
        Validity::Unknown
    } else {
        summary.push("every two reads of a group agree on the order of its writes".into());
        Validity::Valid
    };
    if let Some(r) = &reason {
        summary.push(r.clone());
    }
    LongForkResult {
        valid,
        reason,
        write_count,
        read_count: reads.len(),
        groups: groups.len(),
        groups_compared,
        fork_count,
        forks,
        bad_values,
        multiply_written,
        blamed,
        summary,
    }
}
crate::simple_checker_result!(LongForkResult, "long fork");
