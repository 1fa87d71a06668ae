//! Facts computed from a history alone: op counts per function and outcome,
//! latency quantiles, and the faults the nemesis injected.

use crate::summary::Fault;
use history::{History, Op, OpType, Process, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Op counts of a history. A call that never completed counts as `info`
/// (its outcome is unknown, exactly as if it had completed with `info`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    /// History entries (invocations, completions and nemesis events).
    pub ops: usize,
    /// Client calls (invocations).
    pub calls: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Ops of the nemesis.
    pub nemesis_ops: usize,
    /// Distinct client processes.
    pub processes: usize,
    /// From the first to the last op time, when ops carry times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_span_ns: Option<u64>,
    pub by_f: BTreeMap<String, FStats>,
    /// Distinct keys the client calls touched: an op's `key`, or the keys
    /// of a transaction's micro-ops (`f = "txn"`, `[[f, key, value] ...]`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keys: usize,
    /// Calls per key, the hottest first (ties by key), at most
    /// [`BY_KEY_MAX`] keys: how skewed the key choice was. A transaction
    /// counts once for each key it touches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_key: Vec<KeyStats>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How many keys `by_key` lists.
pub const BY_KEY_MAX: usize = 100;

/// Calls on one key and their outcomes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStats {
    /// The key: a string (or EDN keyword) as is, any other as EDN (`5`,
    /// `[1 2]`).
    pub key: String,
    pub calls: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
}

/// The keys a client call touches, each once.
fn call_keys<'a>(op: &'a Op, out: &mut Vec<&'a Value>) {
    out.clear();
    if let Some(k) = &op.key {
        out.push(k);
        return;
    }
    if op.f != "txn" {
        return;
    }
    if let Value::List(mops) = &op.value {
        for m in mops {
            if let Value::List(parts) = m {
                // `["append", k, v]`, or `[:append k v]` read from EDN.
                if let (Some(Value::Str(_) | Value::Keyword(_)), Some(k)) =
                    (parts.first(), parts.get(1))
                {
                    if !out.contains(&k) {
                        out.push(k);
                    }
                }
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FStats {
    pub calls: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Latency of the `ok` calls, when ops carry times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Quantiles>,
}

/// Nearest-rank quantiles, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    /// From latencies in nanoseconds (sorted in place).
    pub fn of(ns: &mut [u64]) -> Option<Quantiles> {
        if ns.is_empty() {
            return None;
        }
        ns.sort_unstable();
        let q = |p: f64| {
            let rank = ((p * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
            ns[rank - 1] as f64 / 1e6
        };
        Some(Quantiles {
            count: ns.len(),
            p50: q(0.50),
            p95: q(0.95),
            p99: q(0.99),
            max: ns[ns.len() - 1] as f64 / 1e6,
        })
    }
}

/// The outcome of a call: its completion's type, or `Info` if it never completed.
pub fn outcome(history: &History, invoke_pos: usize) -> (OpType, Option<usize>) {
    match history.partner(invoke_pos) {
        Some(c) => (history.ops()[c].kind, Some(c)),
        None => (OpType::Info, None),
    }
}

pub fn op_stats(history: &History) -> OpStats {
    let ops = history.ops();
    let mut s = OpStats {
        ops: ops.len(),
        ..OpStats::default()
    };
    let mut latencies: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut processes = std::collections::HashSet::new();
    // Per key: [calls, ok, fail, info].
    let mut by_key: rustc_hash::FxHashMap<&Value, [usize; 4]> = Default::default();
    let mut keys = Vec::new();
    for (pos, op) in ops.iter().enumerate() {
        if op.process.is_nemesis() {
            s.nemesis_ops += 1;
            continue;
        }
        if op.kind != OpType::Invoke || !op.process.is_client() {
            continue;
        }
        processes.insert(&op.process);
        s.calls += 1;
        let (kind, completion) = outcome(history, pos);
        call_keys(op, &mut keys);
        let slot = match kind {
            OpType::Ok => 1,
            OpType::Fail => 2,
            _ => 3,
        };
        for &k in &keys {
            let c = by_key.entry(k).or_default();
            c[0] += 1;
            c[slot] += 1;
        }
        let f = s.by_f.entry(op.f.clone()).or_default();
        f.calls += 1;
        match kind {
            OpType::Ok => {
                f.ok += 1;
                s.ok += 1;
                let end = completion.and_then(|c| ops[c].time);
                if let (Some(a), Some(b)) = (op.time, end) {
                    latencies
                        .entry(&op.f)
                        .or_default()
                        .push(b.saturating_sub(a));
                }
            }
            OpType::Fail => {
                f.fail += 1;
                s.fail += 1;
            }
            _ => {
                f.info += 1;
                s.info += 1;
            }
        }
    }
    for (f, mut l) in latencies {
        if let Some(st) = s.by_f.get_mut(f) {
            st.latency_ms = Quantiles::of(&mut l);
        }
    }
    s.processes = processes.len();
    s.keys = by_key.len();
    let mut hot: Vec<(&Value, [usize; 4])> = by_key.into_iter().collect();
    let hottest = |a: &(&Value, [usize; 4]), b: &(&Value, [usize; 4])| {
        b.1[0].cmp(&a.1[0]).then_with(|| a.0.cmp(b.0))
    };
    // The hottest only, not every key sorted (list-append makes a key
    // every few dozen appends).
    if hot.len() > BY_KEY_MAX {
        hot.select_nth_unstable_by(BY_KEY_MAX, hottest);
        hot.truncate(BY_KEY_MAX);
    }
    hot.sort_unstable_by(hottest);
    s.by_key = hot
        .into_iter()
        .map(|(k, [calls, ok, fail, info])| KeyStats {
            key: match k.as_str() {
                Some(s) => s.to_string(),
                None => k.to_string(),
            },
            calls,
            ok,
            fail,
            info,
        })
        .collect();
    let mut times = ops.iter().filter_map(|o| o.time);
    if let Some(first) = times.next() {
        let (lo, hi) = times.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t)));
        s.time_span_ns = Some(hi - lo);
    }
    s
}

/// What a nemesis op does to the fault bands.
#[derive(Debug, PartialEq)]
enum NemesisStep {
    Open(String),
    Close(String),
    /// `start` after a `kill` restarts it; otherwise it opens a generic fault.
    Start,
    Instant,
}

fn classify(f: &str) -> NemesisStep {
    use NemesisStep::*;
    if let Some(rest) = f.strip_prefix("start-").or(f.strip_prefix("start_")) {
        return Open(rest.to_string());
    }
    if let Some(rest) = f.strip_prefix("stop-").or(f.strip_prefix("stop_")) {
        return Close(rest.to_string());
    }
    match f {
        "start" => Start,
        "stop" => Close("fault".into()),
        "kill" | "crash" => Open("kill".into()),
        "restart" | "recover" => Close("kill".into()),
        "pause" => Open("pause".into()),
        "power-loss" => Open("power-loss".into()),
        "power-on" => Close("power-loss".into()),
        "resume" | "unpause" | "continue" => Close("pause".into()),
        "bump-clock" | "bump" | "strobe-clock" | "strobe" | "skew-clock" | "skew" => {
            Open("clock".into())
        }
        "reset-clock" | "reset" => Close("clock".into()),
        "partition" => Open("partition".into()),
        "heal" | "heal-partition" => Close("partition".into()),
        _ => Instant,
    }
}

/// A nemesis op that is not part of a band.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NemesisInstant {
    pub index: u64,
    pub time_ns: Option<u64>,
    pub f: String,
    pub value: String,
}

/// The faults of a history (nemesis intervals), leniently paired: repeated
/// starts of an open fault are one fault (Jepsen logs an invocation and a
/// completion for each); a repeated stop extends the fault just closed; a
/// fault never stopped lasts to the end.
pub fn nemesis_events(history: &History) -> (Vec<Fault>, Vec<NemesisInstant>) {
    let mut faults: Vec<Fault> = Vec::new();
    let mut instants = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    // Faults closed with no start of that family since: a further stop extends them.
    let mut just_closed: BTreeMap<String, usize> = BTreeMap::new();
    for op in history.ops().iter().filter(|o| is_nemesis(&o.process)) {
        let step = match classify(&op.f) {
            NemesisStep::Start if open.contains_key("kill") => NemesisStep::Close("kill".into()),
            NemesisStep::Start
                if just_closed.contains_key("kill") && !open.contains_key("fault") =>
            {
                NemesisStep::Close("kill".into())
            }
            NemesisStep::Start => NemesisStep::Open("fault".into()),
            other => other,
        };
        match step {
            NemesisStep::Open(name) => {
                if let Some(&i) = open.get(&name) {
                    if faults[i].value == "nil" && !op.value.is_nil() {
                        faults[i].value = value_text(&op.value, 300);
                    }
                } else {
                    just_closed.remove(&name);
                    open.insert(name.clone(), faults.len());
                    faults.push(Fault {
                        name,
                        start_f: op.f.clone(),
                        stop_f: None,
                        start_index: op.index,
                        end_index: None,
                        start_time_ns: op.time,
                        end_time_ns: None,
                        value: value_text(&op.value, 300),
                    });
                }
            }
            NemesisStep::Close(name) => {
                let target = open
                    .remove(&name)
                    .or_else(|| just_closed.get(&name).copied());
                match target {
                    Some(i) => {
                        let fault = &mut faults[i];
                        fault.stop_f = Some(op.f.clone());
                        fault.end_index = Some(op.index);
                        fault.end_time_ns = op.time.or(fault.end_time_ns);
                        just_closed.insert(name, i);
                    }
                    None => instants.push(instant(op)),
                }
            }
            NemesisStep::Start | NemesisStep::Instant => instants.push(instant(op)),
        }
    }
    (faults, instants)
}

fn instant(op: &Op) -> NemesisInstant {
    NemesisInstant {
        index: op.index,
        time_ns: op.time,
        f: op.f.clone(),
        value: value_text(&op.value, 300),
    }
}

pub fn is_nemesis(p: &Process) -> bool {
    p.is_nemesis()
}

pub fn faults(history: &History) -> Vec<Fault> {
    nemesis_events(history).0
}

/// A value in EDN, cut to about `max` bytes (on a character boundary) with `…`.
pub fn value_text(v: &Value, max: usize) -> String {
    let mut s = v.to_string();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nem(f: &str, value: Value) -> Op {
        Op::new(OpType::Info, Process::nemesis(), f, value)
    }

    #[test]
    fn pairs_jepsen_style_nemesis_ops_into_bands() {
        let h = History::indexed([
            nem("start-partition", Value::Nil),
            nem("start-partition", Value::from("majority")),
            Op::invoke(0, "read", Value::Nil),
            Op::ok(0, "read", 1),
            nem("stop-partition", Value::Nil),
            nem("stop-partition", Value::from("healed")),
            nem("kill", Value::Nil),
            nem("start", Value::Nil),
            nem("pause", Value::Nil),
            nem("check-offsets", Value::Nil),
        ])
        .unwrap();
        let (faults, instants) = nemesis_events(&h);
        let brief: Vec<(&str, u64, Option<u64>, &str)> = faults
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.start_index,
                    f.end_index,
                    f.value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            brief,
            vec![
                ("partition", 0, Some(5), "\"majority\""),
                ("kill", 6, Some(7), "nil"),
                ("pause", 8, None, "nil"),
            ]
        );
        assert_eq!(instants.len(), 1);
        assert_eq!(instants[0].f, "check-offsets");
    }

    /// Keyed calls count on their key, transactions once on each key
    /// they touch; the hottest key comes first.
    #[test]
    fn counts_calls_per_key_hottest_first() {
        let txn = |p: u64| {
            Op::invoke(
                p,
                "txn",
                Value::List(vec![
                    Value::List(vec!["append".into(), 7.into(), 1.into()]),
                    Value::List(vec!["r".into(), 7.into(), Value::Nil]),
                    Value::List(vec!["r".into(), 8.into(), Value::Nil]),
                ]),
            )
        };
        let h = History::indexed([
            Op::invoke(0, "read", Value::Nil).with_key(3),
            Op::ok(0, "read", 1).with_key(3),
            Op::invoke(0, "write", 2).with_key(3),
            Op::fail(0, "write", 2).with_key(3),
            Op::invoke(1, "write", 1).with_key(4),
            Op::invoke(2, "read", Value::Nil).with_key("k"),
            Op::ok(2, "read", Value::Nil).with_key("k"),
            txn(3),
        ])
        .unwrap();
        let s = op_stats(&h);
        assert_eq!(s.keys, 5);
        let got: Vec<(&str, usize, usize, usize, usize)> = s
            .by_key
            .iter()
            .map(|k| (k.key.as_str(), k.calls, k.ok, k.fail, k.info))
            .collect();
        assert_eq!(
            got,
            [
                ("3", 2, 1, 1, 0),
                ("4", 1, 0, 0, 1),
                ("7", 1, 0, 0, 1),
                ("8", 1, 0, 0, 1),
                ("k", 1, 1, 0, 0),
            ]
        );
        // More keys than are listed: the hottest, in order.
        let mut ops = Vec::new();
        for k in 0..300i64 {
            for _ in 0..(1 + k % 7) {
                ops.push(Op::invoke(0, "read", Value::Nil).with_key(k));
                ops.push(Op::ok(0, "read", 1).with_key(k));
            }
        }
        let s = op_stats(&History::indexed(ops).unwrap());
        assert_eq!((s.keys, s.by_key.len()), (300, BY_KEY_MAX));
        // 42 keys (6, 13 ... 293) have 7 calls, 43 (5, 12 ... 299) 6, then 5.
        let calls: Vec<usize> = s.by_key.iter().map(|k| k.calls).collect();
        assert_eq!(calls, [vec![7; 42], vec![6; 43], vec![5; 15]].concat());
        assert_eq!(
            (s.by_key[0].key.as_str(), s.by_key[1].key.as_str()),
            ("6", "13")
        );
        assert_eq!(s.by_key[42].key, "5");
        // Unkeyed histories say nothing about keys in results.json.
        let h = History::indexed([Op::invoke(0, "add", 1), Op::ok(0, "add", 1)]).unwrap();
        let s = op_stats(&h);
        assert_eq!((s.keys, s.by_key.len()), (0, 0));
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("by_key"), "{json}");
    }

    #[test]
    fn counts_outcomes_per_f_and_unfinished_calls_as_info() {
        let h = History::indexed([
            Op::invoke(0, "read", Value::Nil).with_time(0),
            Op::invoke(1, "write", 1).with_time(10),
            Op::ok(0, "read", 1).with_time(2_000_000),
            Op::fail(1, "write", 1).with_time(3_000_000),
            Op::invoke(2, "write", 2).with_time(4_000_000),
        ])
        .unwrap();
        let s = op_stats(&h);
        assert_eq!(
            (s.calls, s.ok, s.fail, s.info, s.processes),
            (3, 1, 1, 1, 3)
        );
        assert_eq!(s.by_f["write"].info, 1);
        assert_eq!(s.by_f["read"].latency_ms.as_ref().unwrap().p50, 2.0);
        assert_eq!(s.time_span_ns, Some(4_000_000));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        let q = Quantiles::of(&mut v).unwrap();
        assert_eq!((q.p50, q.p95, q.p99, q.max), (50.0, 95.0, 99.0, 100.0));
    }
}
