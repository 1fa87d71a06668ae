//! The data embedded in report.html: compact, columnar, computed once.
//!
//! The timeline is one entry per client call in parallel arrays (lane,
//! start delta, duration, f/outcome code, process, index deltas, value
//! references into a table of distinct value texts), so a 1,000,000-op
//! history is a few megabytes of numbers rather than a million objects.

use crate::stats::{self, value_text, Quantiles};
use crate::summary::RunSummary;
use checkers::linearizable::Failure;
use checkers::result::Block;
use history::{History, Op, OpType};
use serde::Serialize;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};

/// Longest value text kept per op in the timeline (the rest is in history.jsonl).
const VALUE_MAX: usize = 160;
/// Shortest, when the history is so big that values are cut to keep the
/// page small.
const VALUE_MIN: usize = 24;
/// Bytes of value text the timeline may embed, about: a million-op
/// transactional history has a long, distinct value per op.
const VALUE_BUDGET: usize = 8_000_000;
/// Calls drawn around a linearizability failure.
const LIN_WINDOW_MAX: usize = 60;
/// Prefix steps placed in the failure picture (all are in the table).
const LIN_STEPS_DRAWN: usize = 24;
/// Time buckets of the latency-quantile and throughput charts.
const BUCKETS: usize = 120;
/// Anomalous calls highlighted in the timeline.
const MARKS_MAX: usize = 20_000;

/// The time axis: op times (scaled to microseconds) when every op has
/// one, else history positions.
#[derive(Clone, Copy, PartialEq)]
pub enum Axis {
    /// Microseconds since `origin` (ns).
    Micros {
        origin: u64,
    },
    Index,
}

impl Axis {
    pub fn of(history: &History) -> Axis {
        let ops = history.ops();
        if !ops.is_empty() && ops.iter().all(|o| o.time.is_some()) {
            let origin = ops.iter().filter_map(|o| o.time).min().unwrap_or(0);
            Axis::Micros { origin }
        } else {
            Axis::Index
        }
    }

    /// The position of op `pos` on the axis.
    pub fn at(self, ops: &[Op], pos: usize) -> f64 {
        match self {
            Axis::Micros { origin } => {
                (ops[pos].time.unwrap_or(origin).saturating_sub(origin)) as f64 / 1e3
            }
            Axis::Index => pos as f64,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Axis::Micros { .. } => "us",
            Axis::Index => "index",
        }
    }
}

#[derive(Serialize, Default)]
struct Timeline {
    n: usize,
    /// Lane of each call.
    lane: Vec<u32>,
    /// Start: delta from the previous call's start (first: from 0), rounded.
    st: Vec<i64>,
    /// Duration, -1 when the call never completed.
    du: Vec<i64>,
    /// f index * 4 + outcome (0 ok, 1 fail, 2 info, 3 never completed).
    oc: Vec<u32>,
    fs: Vec<String>,
    /// Process of each call.
    pr: Vec<u64>,
    /// History index of the invocation: delta from the previous call's.
    ix: Vec<i64>,
    /// Completion index minus invocation index, 0 when none.
    cx: Vec<u64>,
    /// Distinct value texts in order of first use, and per call the
    /// invocation's and the completion's value: -1 none, 0 the next new
    /// text of `vs`, k > 0 the text `vs[k - 1]` (see `ValueTable::reference`).
    vs: Vec<String>,
    vi: Vec<i64>,
    vo: Vec<i64>,
    /// Per lane: the processes that ran in it, in order.
    lanes: Vec<Vec<u64>>,
}

struct ValueTable {
    texts: Vec<String>,
    ids: HashMap<String, i64>,
    max: usize,
}

impl ValueTable {
    /// A reference to the value's text, read in call order (invocation,
    /// then completion): `0` is the next new entry of the table, `k > 0`
    /// the existing entry `k - 1`. Distinct values, the bulk of a
    /// transactional history, then cost one digit each.
    fn reference(&mut self, v: &history::Value) -> i64 {
        let text = value_text(v, self.max);
        if let Some(&i) = self.ids.get(&text) {
            return i + 1;
        }
        let i = self.texts.len() as i64;
        self.texts.push(text.clone());
        self.ids.insert(text, i);
        0
    }
}

/// History index -> position, for histories whose indexes are not positions.
pub struct Positions {
    dense: bool,
    map: HashMap<u64, usize>,
}

impl Positions {
    pub fn new(history: &History) -> Positions {
        let ops = history.ops();
        let dense = ops.iter().enumerate().all(|(i, o)| o.index == i as u64);
        let map = if dense {
            HashMap::new()
        } else {
            ops.iter().enumerate().map(|(i, o)| (o.index, i)).collect()
        };
        Positions { dense, map }
    }

    pub fn get(&self, index: u64, len: usize) -> Option<usize> {
        if self.dense {
            ((index as usize) < len).then_some(index as usize)
        } else {
            self.map.get(&index).copied()
        }
    }
}

/// Calls of the history in invocation order: (invoke pos, completion pos).
fn client_calls(history: &History) -> Vec<(usize, Option<usize>)> {
    history
        .ops()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == OpType::Invoke && o.process.is_client())
        .map(|(i, _)| (i, history.partner(i)))
        .collect()
}

fn outcome_code(history: &History, completion: Option<usize>) -> u32 {
    match completion.map(|c| history.ops()[c].kind) {
        Some(OpType::Ok) => 0,
        Some(OpType::Fail) => 1,
        Some(_) => 2,
        None => 3,
    }
}

fn timeline(history: &History, axis: Axis, calls: &[(usize, Option<usize>)]) -> Timeline {
    let ops = history.ops();
    let mut t = Timeline {
        n: calls.len(),
        ..Timeline::default()
    };
    let mut values = ValueTable {
        texts: Vec::new(),
        ids: HashMap::new(),
        max: (VALUE_BUDGET / (2 * calls.len()).max(1)).clamp(VALUE_MIN, VALUE_MAX),
    };
    let mut fs: HashMap<&str, u32> = HashMap::new();
    // Lanes: a process keeps its lane; a new process takes the first lane
    // whose process crashed (ended in info) before this invocation, so a
    // worker's successive processes share one lane, as in Jepsen.
    let mut lane_of: HashMap<u64, u32> = HashMap::new();
    // Per lane: position after which it is free (usize::MAX: busy).
    let mut free_after: Vec<usize> = Vec::new();
    let (mut prev_start, mut prev_index) = (0i64, 0i64);
    for &(inv, comp) in calls {
        let op = &ops[inv];
        let Some(p) = op.process.client() else {
            continue;
        };
        let code = outcome_code(history, comp);
        let lane = match lane_of.get(&p) {
            Some(&l) => l,
            None => {
                let l = match free_after.iter().position(|&f| f < inv) {
                    Some(l) => l,
                    None => {
                        free_after.push(usize::MAX);
                        t.lanes.push(Vec::new());
                        free_after.len() - 1
                    }
                };
                free_after[l] = usize::MAX;
                t.lanes[l].push(p);
                lane_of.insert(p, l as u32);
                l as u32
            }
        };
        if code >= 2 {
            free_after[lane as usize] = comp.unwrap_or(usize::MAX);
        }
        let start = axis.at(ops, inv).round() as i64;
        t.st.push(start - prev_start);
        prev_start = start;
        t.du.push(match comp {
            Some(c) => (axis.at(ops, c).round() as i64 - start).max(0),
            None => -1,
        });
        let n = fs.len() as u32;
        let fi = *fs.entry(op.f.as_str()).or_insert_with(|| {
            t.fs.push(op.f.clone());
            n
        });
        t.oc.push(fi * 4 + code);
        t.lane.push(lane);
        t.pr.push(p);
        t.ix.push(op.index as i64 - prev_index);
        prev_index = op.index as i64;
        t.cx.push(comp.map_or(0, |c| ops[c].index.saturating_sub(op.index)));
        // A completed txn's value is its invocation's with the reads
        // filled in: the invocation's adds nothing.
        let ok = code == 0;
        t.vi.push(if ok && op.f == "txn" {
            -1
        } else {
            values.reference(&op.value)
        });
        t.vo.push(match comp {
            Some(c) => values.reference(&ops[c].value),
            None => -1,
        });
    }
    t.vs = values.texts;
    t
}

fn nemesis(history: &History, axis: Axis, pos: &Positions) -> Json {
    let ops = history.ops();
    let (faults, instants) = stats::nemesis_events(history);
    let at = |index: u64| pos.get(index, ops.len()).map(|p| axis.at(ops, p));
    let bands: Vec<Json> = faults
        .iter()
        .map(|f| {
            json!({
                "name": f.name, "sf": f.start_f, "ef": f.stop_f, "v": f.value,
                "si": f.start_index, "ei": f.end_index,
                "s": at(f.start_index), "e": f.end_index.and_then(at),
            })
        })
        .collect();
    let events: Vec<Json> = instants
        .iter()
        .map(|e| json!({ "f": e.f, "v": e.value, "i": e.index, "t": at(e.index) }))
        .collect();
    json!({ "bands": bands, "events": events, "prim": primaries(history, axis, pos) })
}

/// Which nodes were primary when, from the `info` ops of process
/// `primaries` (a target that watches its primaries records one per
/// change): one band per observation, until the next. Drawn in the
/// timeline's band rows only, without shading the lanes.
fn primaries(history: &History, axis: Axis, pos: &Positions) -> Vec<Json> {
    let ops = history.ops();
    let at = |index: u64| pos.get(index, ops.len()).map(|p| axis.at(ops, p));
    let seen: Vec<&history::Op> = ops
        .iter()
        .filter(|o| o.process == history::Process::Named("primaries".into()))
        .collect();
    seen.iter()
        .enumerate()
        .map(|(i, o)| {
            let names: Vec<String> = o
                .value
                .as_list()
                .unwrap_or(&[])
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            let name = match names.len() {
                0 => "no primary".to_string(),
                1 => format!("primary {}", names[0]),
                _ => format!("primaries {}", names.join(", ")),
            };
            let end = seen.get(i + 1).map(|n| n.index);
            json!({
                "name": name, "sf": "primaries", "ef": end.map(|_| "primaries"),
                "v": "as the servers said (split brain when two)",
                "si": o.index, "ei": end, "s": at(o.index), "e": end.and_then(at),
                "p": names.len(),
            })
        })
        .collect()
}

/// Latency quantiles and throughput per f over time buckets (times only).
fn charts(history: &History, axis: Axis, calls: &[(usize, Option<usize>)], span: f64) -> Json {
    let Axis::Micros { .. } = axis else {
        return Json::Null;
    };
    let ops = history.ops();
    let width = (span / BUCKETS as f64).max(1.0);
    let bucket = |t: f64| ((t / width) as usize).min(BUCKETS - 1);
    let mut lat: BTreeMap<&str, Vec<Vec<u64>>> = BTreeMap::new();
    let mut thr: BTreeMap<&str, [Vec<u32>; 3]> = BTreeMap::new();
    for &(inv, comp) in calls {
        let Some(c) = comp else { continue };
        let f = ops[inv].f.as_str();
        let code = outcome_code(history, comp) as usize;
        let (s, e) = (axis.at(ops, inv), axis.at(ops, c));
        let counts = thr
            .entry(f)
            .or_insert_with(|| std::array::from_fn(|_| vec![0; BUCKETS]));
        counts[code.min(2)][bucket(e)] += 1;
        if code == 0 {
            let l = ops[c]
                .time
                .unwrap_or(0)
                .saturating_sub(ops[inv].time.unwrap_or(0));
            lat.entry(f).or_insert_with(|| vec![Vec::new(); BUCKETS])[bucket(s)].push(l);
        }
    }
    let lat: BTreeMap<&str, Json> = lat
        .into_iter()
        .map(|(f, buckets)| {
            let mut q: [Vec<Option<f64>>; 4] = Default::default();
            for mut b in buckets {
                let x = Quantiles::of(&mut b);
                q[0].push(x.as_ref().map(|x| x.p50));
                q[1].push(x.as_ref().map(|x| x.p95));
                q[2].push(x.as_ref().map(|x| x.p99));
                q[3].push(x.as_ref().map(|x| x.max));
            }
            let [p50, p95, p99, max] = q;
            (f, json!({ "p50": p50, "p95": p95, "p99": p99, "max": max }))
        })
        .collect();
    let thr: BTreeMap<&str, Json> = thr
        .into_iter()
        .map(|(f, [ok, fail, info])| (f, json!({ "ok": ok, "fail": fail, "info": info })))
        .collect();
    json!({ "buckets": BUCKETS, "width": width, "lat": lat, "thr": thr })
}

fn key_json(op: &Op) -> Json {
    op.key.as_ref().map_or(Json::Null, |k| {
        serde_json::to_value(k).unwrap_or(Json::Null)
    })
}

/// The calls drawn around one linearizability failure: the last steps of
/// the first longest prefix, the op that could not be placed, the pending
/// calls, and the other calls on the same key overlapping them.
fn lin_window(history: &History, axis: Axis, pos: &Positions, failure: &Failure) -> Json {
    let ops = history.ops();
    let key = failure.key.as_ref().map_or(Json::Null, |k| {
        serde_json::to_value(k).unwrap_or(Json::Null)
    });
    let mut wanted: Vec<u64> = vec![failure.op.index];
    if let Some(prefix) = failure.prefixes.first() {
        let skip = prefix.steps.len().saturating_sub(LIN_STEPS_DRAWN);
        wanted.extend(prefix.steps[skip..].iter().map(|s| s.op.index));
    }
    wanted.extend(failure.pending.iter().map(|p| p.op.index));
    let wanted: Vec<usize> = wanted
        .into_iter()
        .filter_map(|i| pos.get(i, ops.len()))
        .filter(|&p| ops[p].kind == OpType::Invoke)
        .collect();
    if wanted.is_empty() {
        return json!({ "calls": [] });
    }
    let end_of = |p: usize| history.partner(p).map(|c| axis.at(ops, c));
    let lo = wanted
        .iter()
        .map(|&p| axis.at(ops, p))
        .fold(f64::INFINITY, f64::min);
    let blocked_end = end_of(wanted[0]).unwrap_or_else(|| axis.at(ops, wanted[0]));
    let hi = wanted
        .iter()
        .filter_map(|&p| end_of(p))
        .fold(blocked_end, f64::max);
    let mut chosen: Vec<usize> = wanted.clone();
    // Other calls on the same key overlapping [lo, hi], nearest the blocked op first.
    let blocked_at = axis.at(ops, wanted[0]);
    let mut others: Vec<(f64, usize)> = client_calls(history)
        .into_iter()
        .filter(|&(inv, comp)| {
            let s = axis.at(ops, inv);
            let e = comp.map_or(f64::INFINITY, |c| axis.at(ops, c));
            s <= hi && e >= lo && !wanted.contains(&inv) && outcome_code(history, comp) != 1
        })
        .filter(|&(inv, comp)| {
            let k = key_json(&ops[inv]);
            let k = if k.is_null() {
                comp.map_or(Json::Null, |c| key_json(&ops[c]))
            } else {
                k
            };
            k == key
        })
        .map(|(inv, _)| ((axis.at(ops, inv) - blocked_at).abs(), inv))
        .collect();
    others.sort_by(|a, b| a.0.total_cmp(&b.0));
    chosen.extend(
        others
            .into_iter()
            .take(LIN_WINDOW_MAX.saturating_sub(chosen.len()))
            .map(|(_, p)| p),
    );
    chosen.sort_unstable();
    chosen.dedup();
    let calls: Vec<Json> = chosen
        .iter()
        .map(|&p| {
            let op = &ops[p];
            let comp = history.partner(p);
            let c = comp.map(|c| &ops[c]);
            let outcome = c.map_or("info", |c| c.kind.name());
            json!({
                "i": op.index, "ci": c.map(|c| c.index), "p": op.process.to_string(), "f": op.f,
                "v": value_text(&op.value, VALUE_MAX),
                "o": c.filter(|c| c.kind == OpType::Ok).map(|c| value_text(&c.value, VALUE_MAX)),
                "oc": outcome, "s": axis.at(ops, p), "e": comp.map(|c| axis.at(ops, c)),
            })
        })
        .collect();
    json!({ "lo": lo, "hi": hi, "calls": calls })
}

/// History indexes of the ops the checkers blame, with why.
fn marks(summary: &RunSummary) -> Vec<(u64, String)> {
    summary
        .checkers
        .iter()
        .flat_map(|c| {
            c.blamed
                .iter()
                .map(|b| (b.index, format!("{}: {}", c.name, b.why)))
        })
        .take(MARKS_MAX)
        .collect()
}

/// Everything the page's script draws, as one JSON value.
pub fn build(summary: &RunSummary, history: &History) -> Json {
    let ops = history.ops();
    let axis = Axis::of(history);
    let pos = Positions::new(history);
    let calls = client_calls(history);
    let span = (0..ops.len())
        .map(|p| axis.at(ops, p))
        .fold(0.0f64, f64::max);
    let tl = timeline(history, axis, &calls);

    // Marks refer to timeline calls: map op positions to call numbers.
    let mut call_of: HashMap<usize, usize> = HashMap::new();
    for (n, &(inv, comp)) in calls.iter().enumerate() {
        call_of.insert(inv, n);
        if let Some(c) = comp {
            call_of.insert(c, n);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let marks: Vec<Json> = marks(summary)
        .into_iter()
        .filter_map(|(i, why)| {
            let call = *call_of.get(&pos.get(i, ops.len())?)?;
            seen.insert((call, why.clone()))
                .then(|| json!({ "c": call, "why": why }))
        })
        .collect();

    // The calls around each linearizability failure a section shows,
    // by checker and block.
    let mut lin = Vec::new();
    for (ci, c) in summary.checkers.iter().enumerate() {
        for (bi, block) in c.section.blocks.iter().enumerate() {
            if let Block::Linearizability { failure, .. } = block {
                let mut w = lin_window(history, axis, &pos, failure);
                w["checker"] = json!(ci);
                w["block"] = json!(bi);
                lin.push(w);
            }
        }
    }

    json!({
        "summary": summary,
        "unit": axis.unit(),
        "span": span,
        "tl": tl,
        "nem": nemesis(history, axis, &pos),
        "marks": marks,
        "lin": lin,
        "charts": charts(history, axis, &calls, span),
    })
}

#[cfg(test)]
mod primaries_tests {
    use super::*;
    use history::{Op, OpType, Process, Value};

    fn seen(names: &[&str], index: u64) -> Op {
        let mut op = Op::new(
            OpType::Info,
            Process::Named("primaries".into()),
            "primaries",
            Value::List(names.iter().map(|n| Value::from(*n)).collect()),
        );
        op.index = index;
        op
    }

    /// Each observation is a band until the next; two primaries are a
    /// split brain (`p: 2`); the last band runs to the end.
    #[test]
    fn primaries_become_bands_from_one_observation_to_the_next() {
        let mut add = Op::new(OpType::Invoke, Process::Client(0), "add", Value::Int(1));
        add.index = 1;
        let mut ok = Op::new(OpType::Ok, Process::Client(0), "add", Value::Int(1));
        ok.index = 2;
        let h = History::new(vec![
            seen(&["n1"], 0),
            add,
            ok,
            seen(&["n1", "n2"], 3),
            seen(&["n2"], 4),
        ])
        .unwrap();
        let bands = primaries(&h, Axis::Index, &Positions::new(&h));
        let names: Vec<&str> = bands.iter().map(|b| b["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["primary n1", "primaries n1, n2", "primary n2"]);
        assert_eq!(bands[1]["p"], 2);
        assert_eq!(
            (bands[0]["si"].as_u64(), bands[0]["ei"].as_u64()),
            (Some(0), Some(3))
        );
        assert!(bands[2]["e"].is_null(), "the last runs to the end");
    }
}
