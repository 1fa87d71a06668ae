//! Transactional consistency checking, Elle-style.
//!
//! A history of transactions (ops with `f = txn` whose value is a list of
//! micro-ops `[append k v]`, `[r k v]`, `[w k v]`) is turned into a
//! dependency graph between txns: ww, wr and rw edges inferred from the
//! values (see [`list_append`] and [`rw_register`]), plus process and
//! real-time order ([`order`]). Every cycle is an anomaly: the strongly
//! connected components of the graph ([`graph`]) are searched for the
//! shortest cycle of each class ([`cycles`]): G0, G1c, G-single,
//! G-nonadjacent, G2-item, and their `-process` / `-realtime` variants.
//! Non-cycle anomalies (aborted and intermediate reads, garbage, duplicates,
//! incompatible orders, internal inconsistencies (Elle's `internal`: a
//! read not showing the txn's own write, or a non-repeatable read), future
//! reads, dirty and lost updates) come straight out of the analyses. Each anomaly rules out a set of
//! consistency models ([`models`]); the history is invalid when one of the
//! models asked for is ruled out. Every anomaly carries a step-by-step
//! explanation in plain words ([`explain`]).
//!
//! Txns are named by history index: `T12` is the txn whose completion (or,
//! if it never completed, invocation) has index 12.
//!
//! Outcomes: ok txns use their completion's micro-ops; info txns (and
//! txns that never completed) may or may not have committed: their reads
//! are unknown, their writes count once some read shows one of them;
//! failed txns never happened, so reading their writes is G1a.
//!
//! Cost: about three real-time edges per txn (through time points, see
//! [`order`]), one ww/wr/rw edge per element and read; cycle searches run
//! only inside strongly connected components, under a budget of edge
//! visits ([`Options::cycle_search_budget`]). `cargo bench -p checkers
//! --bench txn` checks a 1M-txn list-append history in about 3.5 s.

pub mod anomalies;
pub mod cycles;
pub mod explain;
mod findings;
pub mod generate;
pub mod graph;
pub mod list_append;
pub mod models;
pub mod order;
pub mod rw_register;
pub mod txns;

pub use models::ConsistencyModel;

use crate::result::AnomalyRecord;
use crate::verdict::Validity;
use anomalies::{tname, Findings};
use cycles::{classify, simple_cycles, Class, Cycle, Search};
use explain::Analysis;
use graph::{Graph, DATA, PROCESS, REALTIME};
use history::{History, Op, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Instant;
use txns::{Status, Txns};

pub use txns::Builder;

/// Ops fetched back by position (the n-th op of the history, from 0) for
/// the evidence: the caller holds them in memory or re-reads the file.
pub type Fetched = FxHashMap<u32, Op>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    ListAppend,
    RwRegister,
}

impl FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Workload, String> {
        match s {
            "list-append" | "append" => Ok(Workload::ListAppend),
            "rw-register" | "register" => Ok(Workload::RwRegister),
            other => Err(format!(
                "unknown transactional workload {other:?}: expected list-append or rw-register"
            )),
        }
    }
}

/// Opt-in assumptions for rw-register, which cannot infer version orders
/// on its own (beyond "nil comes first").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RwAssume {
    /// Every key is linearizable: versions follow real time.
    pub linearizable_keys: bool,
    /// Every key is sequentially consistent: each process sees a key's
    /// versions in order, and a txn's write follows what it read.
    pub sequential_keys: bool,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub workload: Workload,
    /// The models the history must satisfy (default, and when empty:
    /// serializable).
    pub consistency: Vec<ConsistencyModel>,
    pub rw_assume: RwAssume,
    /// Edge visits allowed per cycle search (one search per strongly
    /// connected component, class and variant). When it runs out the
    /// search reports what it found; if it found nothing and its class
    /// could rule out a requested model, the verdict is `unknown`.
    pub cycle_search_budget: u64,
    /// Examples kept (with explanations) per anomaly kind; all are counted.
    pub max_reported_per_kind: usize,
    /// Add process-order edges (for the `-process` variants).
    pub process_order: bool,
    /// Add real-time-order edges (for the `-realtime` variants).
    pub realtime_order: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            workload: Workload::ListAppend,
            consistency: vec![ConsistencyModel::Serializable],
            rw_assume: RwAssume::default(),
            cycle_search_budget: 2_000_000,
            max_reported_per_kind: 32,
            process_order: true,
            realtime_order: true,
        }
    }
}

/// A txn as shown in an anomaly.
#[derive(Clone, Debug, Serialize)]
pub struct TxnView {
    /// `T12`
    pub name: String,
    /// History index of its completion (or invocation if none).
    pub index: u64,
    pub process: String,
    /// `ok`, `info` or `fail`.
    pub status: &'static str,
    /// The micro-ops as recorded (the completion's for ok txns).
    pub ops: Value,
    /// The node that served it, when the history records one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl TxnView {
    /// `T12 = [append x 1] [r y [1 2]] (process 3, ok, from n1)`: what the
    /// txn did and read, by whom and where.
    fn line(&self) -> String {
        let from = self
            .node
            .as_ref()
            .map_or(String::new(), |n| format!(", from {n}"));
        format!(
            "{} = {} (process {}, {}{from})",
            self.name,
            anomalies::show_mops(&self.ops),
            self.process,
            self.status
        )
    }
}

/// One edge of a cycle, with what justifies it.
#[derive(Clone, Debug, Serialize)]
pub struct CycleStep {
    pub from: String,
    pub to: String,
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    /// `G-single-realtime`, `G1a`, `internal` ...
    pub kind: String,
    /// Elle's name for it, where it differs: shakedown's cycles are over
    /// items, so its `G-single` is Elle's `G-single-item`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elle: Option<String>,
    /// Which form of `kind`, when one name covers several: `internal` is a
    /// `non-repeatable-read` or an `own-write-not-seen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<&'static str>,
    pub txns: Vec<TxnView>,
    /// The cycle, for cycle anomalies (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub ruled_out: Vec<ConsistencyModel>,
    /// The cycle was found by the fallback search after the class searches
    /// ran out of budget: it proves at least this class.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub search_exhausted: bool,
    pub explanation: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct GraphStats {
    pub vertices: usize,
    pub time_points: usize,
    pub edges: usize,
    pub sccs: usize,
    pub largest_scc: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct TxnResult {
    pub valid: Validity,
    /// Why the verdict is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub workload: Workload,
    pub consistency: Vec<ConsistencyModel>,
    /// Every anomaly kind found, sorted.
    pub anomaly_types: Vec<String>,
    /// How many of each were found (cycles: one per component and kind).
    pub anomaly_counts: BTreeMap<String, usize>,
    /// Examples, up to `max_reported_per_kind` per kind: the earliest, and
    /// a spread over the run.
    pub anomalies: Vec<Anomaly>,
    /// Every anomaly counted, a record each, earliest first: written to
    /// the run directory's `anomalies.jsonl`, not to `results.json`.
    #[serde(skip)]
    pub every_anomaly: Vec<AnomalyRecord>,
    pub ruled_out: Vec<ConsistencyModel>,
    pub not_ruled_out: Vec<ConsistencyModel>,
    /// Cycle searches that ran out of budget without finding their class.
    pub incomplete_searches: Vec<String>,
    pub txn_count: usize,
    pub ok_count: usize,
    pub info_count: usize,
    pub fail_count: usize,
    pub graph: GraphStats,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
    /// Milliseconds per phase: read, infer, order, graph, scc, cycles, report.
    pub phase_ms: BTreeMap<&'static str, u64>,
}

impl TxnResult {
    /// A plain-text report for a terminal: the verdict, what was checked,
    /// the anomalies found, the models ruled out, then every reported
    /// anomaly's explanation.
    pub fn to_text(&self) -> String {
        let names = |ms: &[ConsistencyModel]| {
            let v: Vec<&str> = ms.iter().map(|m| m.name()).collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut s = format!(
            "{}: {} txns ({} ok, {} info, {} fail) checked for {}\n",
            self.valid.name(),
            self.txn_count,
            self.ok_count,
            self.info_count,
            self.fail_count,
            names(&self.consistency)
        );
        if let Some(r) = &self.reason {
            s.push_str(&format!("unknown because {r}\n"));
        }
        if self.anomaly_counts.is_empty() {
            s.push_str("no anomalies\n");
        } else {
            let counts: Vec<String> = self
                .anomaly_counts
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            s.push_str(&format!("anomalies: {}\n", counts.join(", ")));
        }
        s.push_str(&format!("ruled out: {}\n", self.ruled_out_line()));
        s.push_str(&format!(
            "not ruled out: {}\n",
            names(&self.strongest_possible())
        ));
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        for a in &self.anomalies {
            s.push_str(&format!("\n{}\n{}\n", a.kind, a.explanation.trim_end()));
        }
        s
    }
}

impl TxnResult {
    /// The weakest models ruled out: every other ruled-out model is
    /// stronger than one of them (Elle's boundary `:not`).
    pub fn weakest_ruled_out(&self) -> Vec<ConsistencyModel> {
        models::weakest(&self.ruled_out)
    }

    /// The strongest models not ruled out: every other one is implied by
    /// one of them.
    pub fn strongest_possible(&self) -> Vec<ConsistencyModel> {
        models::strongest(&self.not_ruled_out)
    }

    /// `consistent-view, repeatable-read and every model stronger (10 in
    /// all)`, or `none`.
    pub fn ruled_out_line(&self) -> String {
        let weakest = self.weakest_ruled_out();
        let shown: Vec<&str> = weakest.iter().map(|m| m.name()).collect();
        match self.ruled_out.len() {
            0 => "none".to_string(),
            n if n == weakest.len() => shown.join(", "),
            n => format!("{} and every model stronger ({n} in all)", shown.join(", ")),
        }
    }

    /// `G-single ×2 (Elle: G-single-item), internal ×1
    /// (non-repeatable-read)`: each kind found, how many, the forms of it
    /// among the examples kept, and Elle's name where it differs.
    pub fn anomaly_counts_line(&self) -> String {
        let parts: Vec<String> = self
            .anomaly_counts
            .iter()
            .map(|(k, n)| {
                let mut forms: Vec<&str> = Vec::new();
                for f in self.anomalies.iter().filter(|a| &a.kind == k) {
                    if let Some(f) = f.form.filter(|f| !forms.contains(f)) {
                        forms.push(f);
                    }
                }
                let mut notes: Vec<String> = Vec::new();
                if !forms.is_empty() {
                    notes.push(forms.join(", "));
                }
                if let Some(e) = elle_alias(k) {
                    notes.push(format!("Elle: {e}"));
                }
                if notes.is_empty() {
                    format!("{k} ×{n}")
                } else {
                    format!("{k} ×{n} ({})", notes.join("; "))
                }
            })
            .collect();
        parts.join(", ")
    }
}

impl TxnResult {
    /// No verdict: the check could not run to the end (e.g. the history
    /// did not fit the memory limit while being read).
    pub fn unknown(opts: &Options, reason: String) -> TxnResult {
        let consistency = if opts.consistency.is_empty() {
            vec![ConsistencyModel::Serializable]
        } else {
            opts.consistency.clone()
        };
        TxnResult {
            valid: Validity::Unknown,
            reason: Some(reason),
            workload: opts.workload,
            consistency,
            anomaly_types: Vec::new(),
            anomaly_counts: BTreeMap::new(),
            anomalies: Vec::new(),
            every_anomaly: Vec::new(),
            ruled_out: Vec::new(),
            not_ruled_out: ConsistencyModel::ALL.to_vec(),
            incomplete_searches: Vec::new(),
            txn_count: 0,
            ok_count: 0,
            info_count: 0,
            fail_count: 0,
            graph: GraphStats::default(),
            warnings: Vec::new(),
            elapsed_ms: 0,
            phase_ms: BTreeMap::new(),
        }
    }
}

struct CycleFound {
    kind: String,
    cycle: Cycle,
    exhausted: bool,
}

/// Why a history cannot be checked as `workload`, if it cannot: a
/// micro-op of the other workload (`[append k v]` in an rw-register
/// history, `[w k v]` in a list-append one), or client operations none of
/// which is a txn. Checked anyway, such a history would be misread and
/// prove nothing: [`check`] says `unknown` with this reason, and
/// `shakedown check` refuses the file.
pub fn wrong_workload(history: &History, workload: Workload) -> Option<String> {
    let ops = history.ops();
    let mut calls = 0usize;
    let mut txns = 0usize;
    let mut others: Vec<&str> = Vec::new();
    for call in history.calls() {
        calls += 1;
        let inv = &ops[call.invoke];
        if inv.f != "txn" {
            if others.len() < 4 && !others.contains(&inv.f.as_str()) {
                others.push(&inv.f);
            }
            continue;
        }
        txns += 1;
        for op in std::iter::once(inv).chain(call.completion.map(|c| &ops[c])) {
            if let Some(m) = foreign_mop(&op.value, workload) {
                return Some(foreign_reason(op.index, m, workload));
            }
        }
    }
    (calls > 0 && txns == 0).then(|| no_txn_reason(calls, &others))
}

/// The first micro-op in a txn's value that belongs to the other workload
/// (`[append k v]` in rw-register, `[w k v]` in list-append).
pub(crate) fn foreign_mop(value: &Value, workload: Workload) -> Option<&Value> {
    value.as_list().into_iter().flatten().find(|m| {
        let name = m.as_list().and_then(|p| p.first()).and_then(Value::as_str);
        match workload {
            Workload::RwRegister => name == Some("append"),
            Workload::ListAppend => matches!(name, Some("w" | "write")),
        }
    })
}

/// Why a history with micro-op `m` (in op `index`) is not of `workload`.
pub(crate) fn foreign_reason(index: u64, m: &Value, workload: Workload) -> String {
    let (not, like) = match workload {
        Workload::RwRegister => ("an rw-register op (r/w)", "a list-append"),
        Workload::ListAppend => ("a list-append op (append/r)", "an rw-register"),
    };
    format!(
        "op {index}: txn micro-op {} is not {not}: is this {like} history?",
        anomalies::show_mops(&Value::List(vec![m.clone()]))
    )
}

/// Why a history of `calls` client operations, none a txn, is not checked.
pub(crate) fn no_txn_reason<S: AsRef<str>>(calls: usize, others: &[S]) -> String {
    let others: Vec<&str> = others.iter().map(AsRef::as_ref).collect();
    format!(
        "none of the {calls} client operations is a transaction (f = txn; found f = {}): is this a single-object (linearizability) history?",
        others.join(", ")
    )
}

/// Why `t` cannot expose any anomaly, if it cannot: every dependency
/// Elle infers (version orders, write-read, read-write edges) and every
/// non-cycle anomaly (aborted, intermediate or internal reads) rests on a
/// read that some committed txn returned. Without one, only appends or
/// writes of unknown effect remain: nothing was observed, so `unknown`.
fn nothing_observed(t: &Txns) -> Option<String> {
    let observed = t.txns.iter().any(|x| {
        x.status == txns::Status::Ok
            && t.mops[x.start as usize..x.end as usize]
                .iter()
                .any(|m| m.kind == txns::MopKind::Read && m.known)
    });
    (!observed).then(|| {
        let count = |s: txns::Status| t.txns.iter().filter(|x| x.status == s).count();
        format!(
            "nothing observed: of {} transactions ({} ok, {} unknown, {} failed) none completed ok with a read",
            t.txns.len(),
            count(txns::Status::Ok),
            count(txns::Status::Info),
            count(txns::Status::Fail)
        )
    })
}

/// A result for a history that was not checked, and why.
fn unchecked(opts: &Options, reason: String) -> TxnResult {
    TxnResult {
        valid: Validity::Unknown,
        reason: Some(reason),
        workload: opts.workload,
        consistency: if opts.consistency.is_empty() {
            vec![ConsistencyModel::Serializable]
        } else {
            opts.consistency.clone()
        },
        anomaly_types: Vec::new(),
        anomaly_counts: BTreeMap::new(),
        anomalies: Vec::new(),
        every_anomaly: Vec::new(),
        ruled_out: Vec::new(),
        not_ruled_out: Vec::new(),
        incomplete_searches: Vec::new(),
        txn_count: 0,
        ok_count: 0,
        info_count: 0,
        fail_count: 0,
        graph: GraphStats::default(),
        warnings: Vec::new(),
        elapsed_ms: 0,
        phase_ms: BTreeMap::new(),
    }
}

/// Checks a history of transactions. A history without client operations,
/// or one of the other workload ([`wrong_workload`]), is `unknown`: it
/// tested nothing this checker can judge. The history is held in memory;
/// [`check_txns`] checks txns read some other way.
pub fn check(history: &History, opts: &Options) -> TxnResult {
    if !crate::verdict::has_client_operation(history) {
        return unchecked(opts, crate::verdict::NO_CLIENT_OPERATION.to_string());
    }
    if let Some(why) = wrong_workload(history, opts.workload) {
        return unchecked(opts, why);
    }
    let started = Instant::now();
    let t = txns::collect(history, opts.workload == Workload::ListAppend);
    let read = started.elapsed();
    let mut r = check_txns(t, opts, |positions| {
        positions
            .iter()
            .map(|&p| (p, history.ops()[p as usize].clone()))
            .collect()
    });
    r.phase_ms.insert("read", read.as_millis() as u64);
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    r
}

/// The dependency graph the checker builds for `history` (every inferred
/// data edge, plus process and real-time order when `opts` asks), as
/// [`check`] builds it before its SCC pass. For the SCC benchmark
/// (`benches/scc.rs`), which compares [`graph::sccs`] with petgraph's on
/// real graphs.
pub fn dependency_graph(history: &History, opts: &Options) -> Graph {
    let t = txns::collect(history, opts.workload == Workload::ListAppend);
    let span = t.txns.iter().map(|x| x.index + 1).max().unwrap_or(1);
    let mut found = Findings::new(opts.max_reported_per_kind, span);
    let mut edges = Vec::new();
    match opts.workload {
        Workload::ListAppend => {
            list_append::analyze(&t, &mut found, &mut edges);
        }
        Workload::RwRegister => {
            rw_register::analyze(&t, &opts.rw_assume, &mut found, &mut edges);
        }
    }
    if opts.process_order {
        order::process_edges(&t, &mut edges);
    }
    let time_points = if opts.realtime_order {
        order::realtime_edges(&t, t.txns.len() as u32, &mut edges)
    } else {
        0
    };
    Graph::build(t.txns.len() + time_points as usize, edges)
}

/// Checks compact txns (from [`Builder`], e.g. read straight from a
/// file). `fetch` returns the ops at the given positions: only those the
/// reported anomalies show, so re-reading a file for them is cheap.
pub fn check_txns(mut t: Txns, opts: &Options, fetch: impl FnOnce(&[u32]) -> Fetched) -> TxnResult {
    if t.calls == 0 {
        return unchecked(opts, crate::verdict::NO_CLIENT_OPERATION.to_string());
    }
    if let Some(why) = nothing_observed(&t) {
        let mut r = unchecked(opts, why);
        r.warnings = std::mem::take(&mut t.malformed);
        return r;
    }
    let started = Instant::now();
    let mut phase_ms: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut mark = Instant::now();
    let mut phase = |name: &'static str| {
        phase_ms.insert(name, mark.elapsed().as_millis() as u64);
        mark = Instant::now();
    };
    let span = t.txns.iter().map(|x| x.index + 1).max().unwrap_or(1);
    let mut found = Findings::new(opts.max_reported_per_kind, span);
    let mut edges = Vec::new();
    let malformed = t.malformed.len();
    let mut warnings = std::mem::take(&mut t.malformed);
    let analysis = match opts.workload {
        Workload::ListAppend => {
            let info = list_append::analyze(&t, &mut found, &mut edges);
            if info.duplicate_appends > 0 {
                warnings.push(format!(
                    "{} appends repeat a value already appended to the same key; values must be unique per key, so those appends were ignored",
                    info.duplicate_appends
                ));
            }
            Analysis::List(info)
        }
        Workload::RwRegister => {
            let info = rw_register::analyze(&t, &opts.rw_assume, &mut found, &mut edges);
            if info.duplicate_writes > 0 {
                warnings.push(format!(
                    "{} writes repeat a value already written to the same key; values must be unique per key, so those writes were ignored",
                    info.duplicate_writes
                ));
            }
            Analysis::Register(info)
        }
    };
    phase("infer");
    let n = t.txns.len();
    if n == 0 {
        warnings.push("no transactions (ops with f = txn) in the history".to_string());
    }
    if opts.process_order {
        order::process_edges(&t, &mut edges);
    }
    let time_points = if opts.realtime_order {
        order::realtime_edges(&t, n as u32, &mut edges)
    } else {
        0
    };
    phase("order");
    let g = Graph::build(n + time_points as usize, edges);
    phase("graph");

    // Strongly connected components, then the cycle searches in each.
    let mut search = Search::new(&g, n);
    let all: Vec<u32> = (0..g.vertex_count() as u32).collect();
    search.map().set(&all);
    let comps = graph::sccs(&g, &all, search.map(), graph::ALL);
    search.map().clear(&all);
    drop(all);
    phase("scc");
    let mut extras = vec![0u8];
    if opts.process_order {
        extras.push(PROCESS);
    }
    if opts.realtime_order {
        extras.push(PROCESS | REALTIME);
    }
    let mut cycles: Vec<CycleFound> = Vec::new();
    let mut incomplete: Vec<(String, usize)> = Vec::new();
    for comp in &comps {
        search_component(
            &g,
            &mut search,
            comp,
            n,
            &extras,
            opts,
            &mut cycles,
            &mut incomplete,
        );
    }

    phase("cycles");
    // The earliest cycles first; of each kind the earliest and a spread
    // over the run are kept as examples, as for the other anomalies.
    let earliest = |c: &CycleFound| {
        c.cycle
            .iter()
            .map(|&(a, _, _)| t.txns[a as usize].index)
            .min()
            .unwrap_or(u64::MAX)
    };
    cycles.sort_by_key(earliest);
    let mut keep_cycle = vec![false; cycles.len()];
    let mut by_kind: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in cycles.iter().enumerate() {
        by_kind.entry(&c.kind).or_default().push(i);
    }
    for of_kind in by_kind.values() {
        let orders: Vec<u64> = of_kind.iter().map(|&i| earliest(&cycles[i])).collect();
        for j in anomalies::pick(&orders, opts.max_reported_per_kind, span) {
            keep_cycle[of_kind[j]] = true;
        }
    }
    drop(by_kind);

    // Assemble the result.
    let mut counts: BTreeMap<String, usize> = found
        .counts
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    // The ops the evidence shows, fetched back in one go.
    let kept = found.items();
    let mut shown: Vec<u32> = kept.iter().flat_map(|f| f.txns.clone()).collect();
    for (c, _) in cycles.iter().zip(&keep_cycle).filter(|(_, &k)| k) {
        shown.extend(c.cycle.iter().flat_map(|&(a, b, _)| [a, b]));
    }
    // Invocation and completion: the micro-ops come from one, the node
    // from either.
    let mut positions: Vec<u32> = shown
        .iter()
        .flat_map(|&x| [t.txns[x as usize].invoke, t.txns[x as usize].completion])
        .filter(|&p| p != txns::NO_OP)
        .collect();
    positions.sort_unstable();
    positions.dedup();
    let ops = fetch(&positions);
    let mut anomalies = Vec::new();
    for f in &kept {
        let txns: Vec<TxnView> = f.txns.iter().map(|&x| view(&ops, &t, x)).collect();
        // The sentence, then each txn it names: what it did and where.
        let mut explanation = f.explanation.clone();
        for v in &txns {
            explanation.push_str(&format!("\n  {}", v.line()));
        }
        anomalies.push(Anomaly {
            kind: f.kind.to_string(),
            elle: elle_alias(f.kind),
            form: f.form,
            txns,
            cycle: Vec::new(),
            key: f.key.map(|k| t.names.key_value(k).clone()),
            value: f.value.map(|v| t.names.elem_value(v)),
            ruled_out: models::ruled_out_by(f.kind),
            search_exhausted: false,
            explanation,
        });
    }
    for (c, &keep) in cycles.iter().zip(&keep_cycle) {
        *counts.entry(c.kind.clone()).or_insert(0) += 1;
        if keep {
            anomalies.push(explain_cycle(&ops, &t, &analysis, c));
        }
    }
    // Every anomaly, a compact record each, for `anomalies.jsonl`.
    let op_index = |x: u32| t.txns[x as usize].index;
    let mut every_anomaly: Vec<AnomalyRecord> = found
        .counted()
        .map(|(c, txns)| AnomalyRecord {
            kind: c.kind.to_string(),
            elle: elle_alias(c.kind),
            form: c.form.map(str::to_string),
            ops: txns.iter().map(|&x| op_index(x)).collect(),
            key: c.key.map(|k| t.names.key_value(k).clone()),
            cycle: Vec::new(),
        })
        .collect();
    every_anomaly.extend(cycles.iter().map(|c| {
        AnomalyRecord {
            kind: c.kind.clone(),
            elle: elle_alias(&c.kind),
            form: None,
            ops: c.cycle.iter().map(|&(a, _, _)| op_index(a)).collect(),
            key: None,
            cycle: c
                .cycle
                .iter()
                .map(|&(_, _, ty)| graph::type_name(ty).to_string())
                .collect(),
        }
    }));
    every_anomaly.sort_by_key(|r| r.ops.iter().min().copied().unwrap_or(u64::MAX));
    // Earliest first (by the first txn each names), whatever the kind: the
    // report and the terminal show them in this order.
    anomalies.sort_by_key(|a: &Anomaly| a.txns.iter().map(|v| v.index).min().unwrap_or(u64::MAX));
    let anomaly_types: Vec<String> = counts.keys().cloned().collect();
    let ruled_out: Vec<ConsistencyModel> = ConsistencyModel::ALL
        .into_iter()
        .filter(|m| {
            anomaly_types
                .iter()
                .any(|k| models::ruled_out_by(k).contains(m))
        })
        .collect();
    let not_ruled_out = ConsistencyModel::ALL
        .into_iter()
        .filter(|m| !ruled_out.contains(m))
        .collect();
    let requested: Vec<ConsistencyModel> = if opts.consistency.is_empty() {
        vec![ConsistencyModel::Serializable]
    } else {
        opts.consistency.clone()
    };
    let violated = requested.iter().any(|m| ruled_out.contains(m));
    let incomplete_relevant: Vec<&(String, usize)> = incomplete
        .iter()
        .filter(|(kind, _)| {
            models::ruled_out_by(kind)
                .iter()
                .any(|m| requested.contains(m))
        })
        .collect();
    let (valid, reason) = if violated {
        (Validity::Invalid, None)
    } else if !incomplete_relevant.is_empty() {
        let (kind, size) = incomplete_relevant[0];
        (
            Validity::Unknown,
            Some(format!(
                "the search for {kind} cycles in a component of {size} txns ran out of budget ({} edge visits); raise the cycle search budget",
                opts.cycle_search_budget
            )),
        )
    } else if malformed > 0 {
        (
            Validity::Unknown,
            Some(format!(
                "{malformed} txns could not be read and were left out (see warnings)"
            )),
        )
    } else {
        (Validity::Valid, None)
    };
    phase("report");
    let count = |s: Status| t.txns.iter().filter(|x| x.status == s).count();
    TxnResult {
        valid,
        reason,
        workload: opts.workload,
        consistency: requested,
        anomaly_types,
        anomaly_counts: counts,
        anomalies,
        every_anomaly,
        ruled_out,
        not_ruled_out,
        incomplete_searches: incomplete
            .iter()
            .map(|(k, s)| format!("{k} in a component of {s} txns"))
            .collect(),
        txn_count: n,
        ok_count: count(Status::Ok),
        info_count: count(Status::Info),
        fail_count: count(Status::Fail),
        graph: GraphStats {
            vertices: n,
            time_points: time_points as usize,
            edges: g.edge_count(),
            sccs: comps.len(),
            largest_scc: comps
                .iter()
                .map(|c| c.iter().filter(|&&v| (v as usize) < n).count())
                .max()
                .unwrap_or(0),
        },
        warnings,
        elapsed_ms: started.elapsed().as_millis() as u64,
        phase_ms,
    }
}

fn suffix(extra: u8) -> &'static str {
    if extra & REALTIME != 0 {
        "-realtime"
    } else if extra & PROCESS != 0 {
        "-process"
    } else {
        ""
    }
}

/// The strongly connected components of `comp` restricted to the edge
/// types in `mask`, computed once per mask.
struct SubComponents<'c> {
    comp: &'c [u32],
    cache: Vec<(u8, Vec<Vec<u32>>)>,
}

impl<'c> SubComponents<'c> {
    fn get(&mut self, g: &Graph, search: &mut Search, mask: u8) -> &[Vec<u32>] {
        let i = match self.cache.iter().position(|(m, _)| *m == mask) {
            Some(i) => i,
            None => {
                search.map().set(self.comp);
                let subs = graph::sccs(g, self.comp, search.map(), mask);
                search.map().clear(self.comp);
                self.cache.push((mask, subs));
                self.cache.len() - 1
            }
        };
        &self.cache[i].1
    }
}

/// The shortest cycle of `class` in any of `subs` (each strongly connected
/// under the edge types searched), and whether the budget ran out.
fn shortest_in(
    search: &mut Search,
    subs: &[Vec<u32>],
    class: Class,
    extra: u8,
    n: usize,
    budget: &mut u64,
) -> (Option<Cycle>, bool) {
    let mut best: Option<Cycle> = None;
    let mut exhausted = false;
    for sub in subs {
        search.map().set(sub);
        let f = search.shortest(sub, class, extra, budget);
        search.map().clear(sub);
        exhausted |= f.exhausted;
        if let Some(c) = f.cycle {
            let w = cycles::weight(&c, n as u32);
            if best
                .as_ref()
                .is_none_or(|b| w < cycles::weight(b, n as u32))
            {
                best = Some(c);
            }
        }
    }
    (best, exhausted)
}

/// Searches one component for each class (data edges first, then with
/// process order, then with real time), keeping one cycle per kind.
///
/// A cycle using only some edge types lies inside one strongly connected
/// component of the subgraph of those types, so each search runs only
/// there. (A serializable history that is not strict has big components
/// only through real-time edges: the data-only searches then have nothing
/// to search and cannot run out of budget.)
#[allow(clippy::too_many_arguments)]
fn search_component(
    g: &Graph,
    search: &mut Search,
    comp: &[u32],
    n: usize,
    extras: &[u8],
    opts: &Options,
    out: &mut Vec<CycleFound>,
    incomplete: &mut Vec<(String, usize)>,
) {
    let size = comp.iter().filter(|&&v| (v as usize) < n).count();
    let mut kinds: Vec<String> = Vec::new();
    let mut subs = SubComponents {
        comp,
        cache: Vec::new(),
    };
    for class in Class::SEARCHED {
        for &extra in extras {
            let allowed = class.data_types() | extra;
            let mut budget = opts.cycle_search_budget;
            let list = subs.get(g, search, allowed);
            let (best, exhausted) = shortest_in(search, list, class, extra, n, &mut budget);
            match best {
                Some(walk) => {
                    for c in simple_cycles(&walk) {
                        let c = collapse(&c, n);
                        let (kind, c) = classify(g, &c, allowed);
                        if !kinds.contains(&kind) {
                            kinds.push(kind.clone());
                            out.push(CycleFound {
                                kind,
                                cycle: c,
                                exhausted: false,
                            });
                        }
                    }
                    break;
                }
                None if exhausted => {
                    incomplete.push((format!("{}{}", class.name(), suffix(extra)), size));
                }
                None => {}
            }
        }
    }
    if kinds.is_empty() {
        // Every search ran out: any cycle still proves something.
        let start = comp.iter().position(|&v| (v as usize) < n).unwrap_or(0);
        let members: Vec<u32> = comp[start..]
            .iter()
            .chain(&comp[..start])
            .copied()
            .collect();
        let mut budget = u64::MAX;
        search.map().set(&members);
        let f = search.shortest(&members[..], Class::Any, PROCESS | REALTIME, &mut budget);
        search.map().clear(&members);
        for c in f.cycle.iter().flat_map(simple_cycles) {
            let c = collapse(&c, n);
            let (kind, c) = classify(g, &c, DATA | PROCESS | REALTIME);
            if !kinds.contains(&kind) {
                kinds.push(kind.clone());
                out.push(CycleFound {
                    kind,
                    cycle: c,
                    exhausted: true,
                });
            }
        }
    }
}

/// Collapses runs of time points (vertices >= n) into single realtime edges.
fn collapse(cycle: &Cycle, n: usize) -> Cycle {
    let real = |v: u32| (v as usize) < n;
    let Some(start) = cycle.iter().position(|e| real(e.0)) else {
        return cycle.clone();
    };
    let mut out: Cycle = Vec::new();
    let rotated = cycle[start..].iter().chain(&cycle[..start]);
    let (mut from, mut run) = (0, 0);
    for &(a, b, t) in rotated {
        if real(a) {
            (from, run) = (a, 0);
        }
        run += 1;
        if real(b) {
            out.push((from, b, if run == 1 { t } else { REALTIME }));
        }
    }
    out
}

/// Elle's name for `kind`, if it is not `kind` itself.
pub fn elle_alias(kind: &str) -> Option<String> {
    let elle = models::elle_name(kind);
    (elle != kind).then_some(elle)
}

fn view(ops: &Fetched, t: &Txns, txn: u32) -> TxnView {
    let x = &t.txns[txn as usize];
    TxnView {
        name: tname(t, txn),
        index: x.index,
        process: x.process.to_string(),
        status: match x.status {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Fail => "fail",
        },
        // Missing only if the file changed under us since it was read.
        ops: ops
            .get(&x.source())
            .map_or(Value::Nil, |op| op.value.clone()),
        node: x
            .completion()
            .and_then(|c| ops.get(&c)?.node.clone())
            .or_else(|| ops.get(&x.invoke)?.node.clone()),
    }
}

/// "T1, T2 and T3"
fn join_and(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn class_gloss(kind: &str) -> String {
    let base = kind
        .trim_end_matches("-realtime")
        .trim_end_matches("-process");
    let gloss = match base {
        "G0" => "write cycle: only ww edges",
        "G1c" => "circular information flow: ww and wr edges only",
        "G-single" => "read skew: exactly one rw edge",
        "G-nonadjacent" => "two or more rw edges, none adjacent",
        "G2-item" => "anti-dependency cycle: two or more rw edges",
        _ => "a cycle",
    };
    let with = if kind.ends_with("-realtime") {
        ", with real-time order"
    } else if kind.ends_with("-process") {
        ", with process order"
    } else {
        ""
    };
    format!("{gloss}{with}")
}

fn explain_cycle(ops: &Fetched, t: &Txns, an: &Analysis, c: &CycleFound) -> Anomaly {
    let mut txns: Vec<u32> = Vec::new();
    for &(a, _, _) in &c.cycle {
        if !txns.contains(&a) {
            txns.push(a);
        }
    }
    let views: Vec<TxnView> = txns.iter().map(|&x| view(ops, t, x)).collect();
    // One summary line first (it reads well after "G-single: "), then the
    // txns, then one line per edge.
    let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    let mut text = format!(
        "{} form a cycle, so no serial order of them exists ({}: {}).\n",
        join_and(&names),
        c.kind,
        class_gloss(&c.kind)
    );
    for v in &views {
        text.push_str(&format!("  {}\n", v.line()));
    }
    let mut steps = Vec::new();
    for &(a, b, ty) in &c.cycle {
        let w = explain::why(ops, t, an, a, b, ty);
        text.push_str(&format!("  - {}\n", w.text));
        steps.push(CycleStep {
            from: tname(t, a),
            to: tname(t, b),
            kind: graph::type_name(ty),
            key: w.key.map(|k| t.names.key_value(k).clone()),
            value: w.value.map(|v| t.names.elem_value(v)),
            why: w.text,
        });
    }
    let first = tname(t, c.cycle[0].0);
    text.push_str(&format!("  So {first} precedes itself: a cycle."));
    if c.exhausted {
        text.push_str(" (The shortest-cycle searches ran out of budget; a plain search found this cycle, which proves at least this class.)");
    }
    Anomaly {
        kind: c.kind.clone(),
        elle: elle_alias(&c.kind),
        form: None,
        txns: views,
        cycle: steps,
        key: None,
        value: None,
        ruled_out: models::ruled_out_by(&c.kind),
        search_exhausted: c.exhausted,
        explanation: text,
    }
}
