//! Linearizability checking (Wing & Gong / Lowe search, P-compositional).
//!
//! [`check`] splits a history into independent partitions (one per `key`
//! when the model allows it), encodes each for its model, and searches them
//! in parallel, largest first. The first illegal partition cancels the rest.
//! A time and memory budget turns a search that would run too long into an
//! `unknown` verdict with the reason, never a hang or an out-of-memory kill.

mod findings;
pub mod generate;
pub mod independent;
pub mod models;
pub mod search;
pub mod spill;

use crate::verdict::{Validity, NO_CLIENT_OPERATION};
use history::{History, OpType, Value};
pub use models::NilReads;
use models::{CallView, Encoded, KeyValue, Model, MultiRegister, Mutex, Queue, Register, Set};
use rustc_hash::FxHashMap;
use search::{Budget, Evidence, Outcome, SearchCall};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Mutex as Lock;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Register,
    CasRegister,
    /// Key-value map with `get`, `put` and `append` (string append) on a `key`.
    KeyValue,
    /// Knossos's multi-register: `txn` calls of `[read k v]` / `[write k v]`
    /// micro-ops over several registers at once.
    MultiRegister,
    Mutex,
    Set,
    FifoQueue,
    UnorderedQueue,
}

impl ModelKind {
    pub const ALL: [ModelKind; 8] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::KeyValue,
        ModelKind::MultiRegister,
        ModelKind::Mutex,
        ModelKind::Set,
        ModelKind::FifoQueue,
        ModelKind::UnorderedQueue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::KeyValue => "key-value",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Mutex => "mutex",
            ModelKind::Set => "set",
            ModelKind::FifoQueue => "fifo-queue",
            ModelKind::UnorderedQueue => "unordered-queue",
        }
    }
}

impl ModelKind {
    /// The models whose reads [`NilReads`] applies to.
    pub fn has_nil_rule(self) -> bool {
        matches!(
            self,
            ModelKind::Register | ModelKind::CasRegister | ModelKind::MultiRegister
        )
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ModelKind, String> {
        match s {
            "kv" => Ok(ModelKind::KeyValue),
            "queue" => Ok(ModelKind::FifoQueue),
            _ => ModelKind::ALL
                .into_iter()
                .find(|m| m.name() == s)
                .ok_or_else(|| {
                    let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
                    format!("unknown model {s:?}: expected one of {}", names.join(", "))
                }),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub model: ModelKind,
    /// The initial state: nil (absent), a value, or for sets the initial elements.
    pub initial: Value,
    /// Check each `key` independently (P-compositionality). Turning it off
    /// checks the whole history as one object: slower, same verdict.
    pub partition_by_key: bool,
    /// What a read that returned nil tells (register models).
    pub nil_reads: NilReads,
    /// Jepsen `independent` histories: every client op's value is a
    /// `[key value]` tuple; split it into the `key` field and the value
    /// (see [`independent::split`]) before checking each key on its own.
    pub independent: bool,
    pub time_limit: Option<Duration>,
    /// Bytes of search cache across all partitions.
    pub memory_limit: usize,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
}

impl Options {
    pub fn new(model: ModelKind) -> Options {
        Options {
            model,
            initial: Value::Nil,
            partition_by_key: true,
            nil_reads: NilReads::Strict,
            independent: false,
            time_limit: None,
            memory_limit: 4 << 30,
            threads: 0,
        }
    }
}

/// The verdict and its evidence, in a form `results.json` and the report use.
#[derive(Clone, Debug, Serialize)]
pub struct LinResult {
    pub valid: Validity,
    pub model: ModelKind,
    /// The rule the register models applied to reads of nil.
    pub nil_reads: NilReads,
    /// Whether values were split from Jepsen `[key value]` tuples.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub independent: bool,
    /// Why the verdict is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Client calls considered (failed calls are dropped).
    pub calls: usize,
    /// Partitions (keys) searched; for a history checked by key groups,
    /// those of the groups read before the verdict was known.
    pub partitions: usize,
    /// The partitions found not linearizable (usually one: the first found
    /// stops the others).
    pub failures: Vec<Failure>,
    /// Keys whose partitions ran out of budget.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_keys: Vec<Value>,
    pub search_steps: u64,
    pub cache_entries: usize,
    pub elapsed_ms: f64,
    /// Set when the history was checked key group by key group from spill
    /// files ([`spill`]), being too large to hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spilled: Option<spill::Spilled>,
}

/// Evidence that one partition is not linearizable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The call that cannot be linearized after the longest prefix.
    pub op: CallRef,
    /// The longest linearizable prefixes found (each a linearization order
    /// of calls with the model state after each), up to three.
    pub prefixes: Vec<PrefixEvidence>,
    /// The model state at the end of the first longest prefix.
    pub state: Value,
    /// Calls that were pending (invoked, not linearized) when `op`
    /// completed, and whether the model accepts each in `state`.
    pub pending: Vec<PendingCall>,
    pub explanation: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrefixEvidence {
    /// Calls of the prefix left out at its start to keep the evidence small.
    pub omitted: usize,
    pub steps: Vec<Step>,
    /// The call that could not be placed after this prefix.
    pub blocked: CallRef,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub op: CallRef,
    pub state: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingCall {
    pub op: CallRef,
    pub legal: bool,
}

/// A call, by the history indexes of its invocation and completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRef {
    pub index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_index: Option<u64>,
    pub process: String,
    pub f: String,
    /// The `key` field of the invocation (or completion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    pub value: Value,
    /// The completion's value for `ok` calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// `ok`, or `info` when the outcome is unknown.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<u64>,
    /// The node that served the call (the completion's `node`, else the
    /// invocation's), when the history records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// What the call did, returned and where, as a reader needs it to find
/// the call in the history: `process 10 read key 11 -> nil from n1
/// (index 5243)`. The output is shown when it says something the input
/// does not (a read's value; not a write echoing what it wrote).
impl std::fmt::Display for CallRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} {}", self.process, self.f)?;
        if let Some(k) = &self.key {
            write!(f, " key {k}")?;
        }
        if !self.value.is_nil() {
            write!(f, " {}", self.value)?;
        }
        match &self.output {
            Some(out) if out != &self.value || self.value.is_nil() => write!(f, " -> {out}")?,
            Some(_) => {}
            None => f.write_str(" (unknown outcome)")?,
        }
        if let Some(node) = &self.node {
            write!(f, " from {node}")?;
        }
        write!(f, " (index {})", self.index)
    }
}

/// A client call prepared for partitioning: positions of its invocation and
/// (successful) completion in the history.
struct Prepared {
    invoke: usize,
    completion: Option<usize>,
    ok: bool,
}

/// Checks a history for linearizability. Errors are malformed input (an
/// operation the model does not know, a value of the wrong shape), named by
/// history index.
pub fn check(history: &History, opts: &Options) -> Result<LinResult, String> {
    let started = Instant::now();
    let budget = Budget::new(opts.time_limit.map(|t| started + t), opts.memory_limit);
    let part = check_part(history, opts, &budget)?;
    Ok(part.finish(opts, started))
}

/// What checking a history, or one group of keys of a larger one
/// ([`spill`]), found: the verdicts of its partitions and the counts the
/// result reports. Parts add up; [`Part::finish`] makes the result.
#[derive(Default)]
struct Part {
    /// Client calls, and those of them not failed.
    invoked: usize,
    calls: usize,
    /// Calls the model searched (not set aside).
    searched: usize,
    /// Searched calls that completed `ok` and could have been illegal
    /// ([`Model::can_fail`]): the observations. None: nothing was tested.
    observed: usize,
    partitions: usize,
    verdicts: Vec<PartitionVerdict>,
    search_steps: u64,
    cache_entries: usize,
}

impl Part {
    fn absorb(&mut self, other: Part) {
        self.invoked += other.invoked;
        self.calls += other.calls;
        self.searched += other.searched;
        self.observed += other.observed;
        self.partitions += other.partitions;
        self.verdicts.extend(other.verdicts);
        self.search_steps += other.search_steps;
        self.cache_entries += other.cache_entries;
    }

    fn invalid(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| matches!(v, PartitionVerdict::Invalid(_)))
    }

    fn finish(self, opts: &Options, started: Instant) -> LinResult {
        let mut result = LinResult {
            valid: Validity::Valid,
            model: opts.model,
            nil_reads: opts.nil_reads,
            independent: opts.independent,
            reason: None,
            calls: self.calls,
            partitions: self.partitions,
            failures: Vec::new(),
            unknown_keys: Vec::new(),
            search_steps: self.search_steps,
            cache_entries: self.cache_entries,
            elapsed_ms: 0.0,
            spilled: None,
        };
        let nothing_checked = self.nothing_checked();
        for v in self.verdicts {
            match v {
                PartitionVerdict::Valid | PartitionVerdict::Cancelled => {}
                PartitionVerdict::Invalid(f) => {
                    result.valid = Validity::Invalid;
                    result.failures.push(*f);
                }
                PartitionVerdict::Unknown(reason) => {
                    if result.valid == Validity::Valid {
                        result.valid = Validity::Unknown;
                    }
                    result.reason.get_or_insert(reason);
                }
            }
        }
        if result.reason.is_none() {
            result.reason = nothing_checked;
        }
        if result.reason.is_some() && result.valid == Validity::Valid {
            // Nothing was searched: that is not a pass.
            result.valid = Validity::Unknown;
        }
        if result.valid == Validity::Invalid {
            result.reason = None;
        }
        result.failures.sort_by_key(|f| f.op.index);
        result.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        result
    }

    /// Why the search had nothing to check, if it had not: no client
    /// operation, or none left once failed calls and reads of unknown
    /// result are set aside. Such a history tested nothing: `unknown`.
    fn nothing_checked(&self) -> Option<String> {
        if self.invoked == 0 {
            return Some(NO_CLIENT_OPERATION.to_string());
        }
        if self.searched == 0 {
            return Some(format!(
                "no client operation to check: of {} client operations, {} failed and the rest have unknown results",
                self.invoked,
                self.invoked - self.calls
            ));
        }
        (self.observed == 0).then(|| {
            format!(
                "nothing observed: of {} client operations none that completed ok could have shown an anomaly (no read completed ok)",
                self.invoked
            )
        })
    }
}

/// Partitions `history` and searches each partition within `budget`.
fn check_part(history: &History, opts: &Options, budget: &Budget) -> Result<Part, String> {
    let split;
    let history = if opts.independent {
        split = independent::split(history)?;
        &split
    } else {
        history
    };
    let ops = history.ops();

    // Failed calls certainly did not happen: drop them. Partition by key.
    let mut partitions: Vec<(Option<Value>, Vec<Prepared>)> = Vec::new();
    let mut by_key: FxHashMap<Option<&Value>, usize> = FxHashMap::default();
    let mut calls = 0;
    let mut invoked = 0;
    for call in history.calls() {
        invoked += 1;
        let completion = call.completion.map(|c| &ops[c]);
        let kind = completion.map_or(OpType::Info, |c| c.kind);
        if kind == OpType::Fail {
            continue;
        }
        calls += 1;
        let invoke = &ops[call.invoke];
        let key = invoke
            .key
            .as_ref()
            .or(completion.and_then(|c| c.key.as_ref()));
        let slot = if opts.partition_by_key {
            *by_key.entry(key).or_insert_with(|| {
                partitions.push((key.cloned(), Vec::new()));
                partitions.len() - 1
            })
        } else {
            if partitions.is_empty() {
                partitions.push((None, Vec::new()));
            }
            0
        };
        partitions[slot].1.push(Prepared {
            invoke: call.invoke,
            completion: call.completion,
            ok: kind == OpType::Ok,
        });
    }

    let initial = &opts.initial;
    let run = Run {
        history,
        opts,
        budget,
    };
    let mut part = match opts.model {
        ModelKind::Register => run.all(partitions, || {
            Ok(Register::new(false, initial, opts.nil_reads))
        }),
        ModelKind::CasRegister => run.all(partitions, || {
            Ok(Register::new(true, initial, opts.nil_reads))
        }),
        ModelKind::KeyValue => run.all(partitions, || KeyValue::new(initial)),
        ModelKind::MultiRegister => {
            run.all(partitions, || MultiRegister::new(initial, opts.nil_reads))
        }
        ModelKind::Mutex => run.all(partitions, || {
            Ok(Mutex {
                initially_held: matches!(initial, Value::Bool(true)),
            })
        }),
        ModelKind::Set => run.all(partitions, || Set::new(initial)),
        ModelKind::FifoQueue | ModelKind::UnorderedQueue => run.all(partitions, || {
            Ok(Queue {
                fifo: opts.model == ModelKind::FifoQueue,
                values: Default::default(),
            })
        }),
    }?;
    part.invoked = invoked;
    part.calls = calls;
    Ok(part)
}

struct Run<'a> {
    history: &'a History,
    opts: &'a Options,
    budget: &'a Budget,
}

/// One partition, encoded for model `M`.
struct Partition<M: Model> {
    key: Option<Value>,
    model: M,
    calls: Vec<SearchCall<M::Op>>,
    /// History position of each call's invocation (parallel to `calls`).
    origin: Vec<usize>,
}

enum PartitionVerdict {
    Valid,
    Invalid(Box<Failure>),
    Unknown(String),
    Cancelled,
}

impl Run<'_> {
    /// Searches the partitions (encoded for the model `new_model` makes) on
    /// the worker threads; the first illegal one cancels the others.
    fn all<M: Model>(
        &self,
        partitions: Vec<(Option<Value>, Vec<Prepared>)>,
        new_model: impl Fn() -> Result<M, String>,
    ) -> Result<Part, String> {
        let mut encoded = Vec::with_capacity(partitions.len());
        for (key, prepared) in partitions {
            encoded.push(self.encode(key, prepared, new_model()?)?);
        }
        // Largest first, so the longest search starts earliest.
        encoded.sort_by_key(|p| std::cmp::Reverse(p.calls.len()));
        let partition_count = encoded.len();
        let searched = encoded.iter().map(|p| p.calls.len()).sum();
        let observed = encoded
            .iter()
            .map(|p| {
                p.calls
                    .iter()
                    .filter(|c| c.complete.is_some() && p.model.can_fail(&c.op))
                    .count()
            })
            .sum();
        // Each partition is searched by exactly one worker; the lock only
        // hands it over (models may keep single-threaded memo tables).
        let encoded: Vec<Lock<Partition<M>>> = encoded.into_iter().map(Lock::new).collect();

        let budget = self.budget;
        let threads = match self.opts.threads {
            0 => cores(),
            n => n,
        }
        .min(partition_count.max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let verdicts: Lock<Vec<PartitionVerdict>> = Lock::new(Vec::new());
        let totals: Lock<(u64, usize)> = Lock::new((0, 0));
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(p) = encoded.get(i) else { break };
            let p = p.lock().unwrap();
            let (verdict, stats) = self.search(&p, budget);
            if matches!(verdict, PartitionVerdict::Invalid(_)) {
                budget.cancel.store(true, Ordering::Relaxed);
            }
            let mut t = totals.lock().unwrap();
            t.0 += stats.steps;
            t.1 += stats.cache_entries;
            drop(t);
            verdicts.lock().unwrap().push(verdict);
        };
        if threads == 1 {
            // One partition (or one thread asked for): no thread to start,
            // which costs more than searching a short history.
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(work);
                }
            });
        }

        let (search_steps, cache_entries) = totals.into_inner().unwrap();
        Ok(Part {
            searched,
            observed,
            partitions: partition_count,
            verdicts: verdicts.into_inner().unwrap(),
            search_steps,
            cache_entries,
            ..Part::default()
        })
    }

    fn encode<M: Model>(
        &self,
        key: Option<Value>,
        prepared: Vec<Prepared>,
        mut model: M,
    ) -> Result<Partition<M>, String> {
        let ops = self.history.ops();
        let mut calls = Vec::with_capacity(prepared.len());
        let mut origin = Vec::with_capacity(prepared.len());
        for p in prepared {
            let invoke = &ops[p.invoke];
            let completion = p.completion.map(|c| &ops[c]);
            let view = CallView {
                f: &invoke.f,
                input: &invoke.value,
                output: if p.ok {
                    completion.map(|c| &c.value)
                } else {
                    None
                },
                key: invoke
                    .key
                    .as_ref()
                    .or(completion.and_then(|c| c.key.as_ref())),
            };
            let encoded = model.encode(&view).map_err(|e| {
                format!(
                    "op index {} (process {}): {e}",
                    invoke.index, invoke.process
                )
            })?;
            if let Encoded::Op(op) = encoded {
                calls.push(SearchCall {
                    op,
                    invoke: p.invoke,
                    complete: if p.ok { p.completion } else { None },
                });
                origin.push(p.invoke);
            }
        }
        Ok(Partition {
            key,
            model,
            calls,
            origin,
        })
    }

    fn search<M: Model>(
        &self,
        p: &Partition<M>,
        budget: &Budget,
    ) -> (PartitionVerdict, search::Stats) {
        let (outcome, stats) = search::search(&p.model, &p.calls, budget, Evidence::Deepest);
        let verdict = match outcome {
            Outcome::Linearizable => PartitionVerdict::Valid,
            Outcome::Cancelled => PartitionVerdict::Cancelled,
            Outcome::Unknown(reason) => PartitionVerdict::Unknown(match &p.key {
                Some(k) => format!("key {k}: {reason}"),
                None => reason,
            }),
            Outcome::NotLinearizable(stuck) if !stuck.prefixes.is_empty() => {
                PartitionVerdict::Invalid(Box::new(self.failure(p, stuck)))
            }
            Outcome::NotLinearizable(_) => {
                // Stuck too deep to snapshot on the way: search again, now
                // collecting the prefixes at that depth.
                let depth = Evidence::AtDepth(stats.stuck_depth);
                let (again, _) = search::search(&p.model, &p.calls, budget, depth);
                match again {
                    Outcome::NotLinearizable(stuck) => {
                        PartitionVerdict::Invalid(Box::new(self.failure(p, stuck)))
                    }
                    // Cancelled or out of budget during the evidence pass:
                    // the verdict stands, with the evidence we have.
                    _ => PartitionVerdict::Invalid(Box::new(self.failure(
                        p,
                        search::Stuck {
                            prefixes: Vec::new(),
                        },
                    ))),
                }
            }
        };
        (verdict, stats)
    }

    fn call_ref<M: Model>(&self, p: &Partition<M>, call: usize) -> CallRef {
        let ops = self.history.ops();
        let invoke = &ops[p.origin[call]];
        let completion = self.history.partner(p.origin[call]).map(|c| &ops[c]);
        let ok = completion.is_some_and(|c| c.kind == OpType::Ok);
        CallRef {
            index: invoke.index,
            completion_index: completion.map(|c| c.index),
            process: invoke.process.to_string(),
            f: invoke.f.clone(),
            key: invoke
                .key
                .clone()
                .or_else(|| completion.and_then(|c| c.key.clone())),
            value: invoke.value.clone(),
            output: if ok {
                completion.map(|c| c.value.clone())
            } else {
                None
            },
            outcome: if ok { "ok" } else { "info" }.to_string(),
            invoke_time: invoke.time,
            complete_time: completion.and_then(|c| c.time),
            node: completion
                .and_then(|c| c.node.clone())
                .or_else(|| invoke.node.clone()),
        }
    }

    fn failure<M: Model>(&self, p: &Partition<M>, stuck: search::Stuck<M::State>) -> Failure {
        /// Steps kept at the end of each prefix: the part a reader needs.
        const STEPS_KEPT: usize = 200;
        let prefixes: Vec<PrefixEvidence> = stuck
            .prefixes
            .iter()
            .map(|prefix| {
                let omitted = prefix.steps.len().saturating_sub(STEPS_KEPT);
                PrefixEvidence {
                    omitted,
                    steps: prefix.steps[omitted..]
                        .iter()
                        .map(|(call, state)| Step {
                            op: self.call_ref(p, *call),
                            state: p.model.describe(state),
                        })
                        .collect(),
                    blocked: self.call_ref(p, prefix.blocked),
                }
            })
            .collect();
        let first = stuck.prefixes.first();
        let end_state = first
            .and_then(|pr| pr.steps.last())
            .map_or_else(|| p.model.init(), |(_, s)| s.clone());
        let blocked = first.map_or(0, |pr| pr.blocked);
        let op = self.call_ref(p, blocked);

        // Calls invoked before the blocked one completed and not in the prefix.
        let done: rustc_hash::FxHashSet<usize> = first
            .map(|pr| pr.steps.iter().map(|(c, _)| *c).collect())
            .unwrap_or_default();
        let deadline = p.calls[blocked].complete.unwrap_or(usize::MAX);
        let pending: Vec<PendingCall> = (0..p.calls.len())
            .filter(|&c| !done.contains(&c) && p.calls[c].invoke < deadline)
            .take(50)
            .map(|c| PendingCall {
                op: self.call_ref(p, c),
                legal: p.model.step(&end_state, &p.calls[c].op).is_some(),
            })
            .collect();

        let state = p.model.describe(&end_state);
        let explanation = explain(&op, first.map_or(0, |pr| pr.steps.len()), &state, &pending);
        Failure {
            key: p.key.clone(),
            op,
            prefixes,
            state,
            pending,
            explanation,
        }
    }
}

fn explain(op: &CallRef, prefix_len: usize, state: &Value, pending: &[PendingCall]) -> String {
    let mut s = format!(
        "{op} cannot be linearized. The longest linearizable prefix orders {prefix_len} operation(s) and leaves the object in state {state}; "
    );
    let legal: Vec<String> = pending
        .iter()
        .filter(|p| p.legal && p.op.index != op.index)
        .map(|p| p.op.to_string())
        .collect();
    if legal.is_empty() {
        s.push_str(&format!(
            "in that state the operation is illegal, and no other pending operation can take effect before it completes (at index {}).",
            op.completion_index.map_or("-".into(), |i| i.to_string())
        ));
    } else {
        s.push_str(&format!(
            "it is illegal there, and every way of first applying the other pending operations ({}) was tried and also fails before it completes (at index {}).",
            legal.join("; "),
            op.completion_index.map_or("-".into(), |i| i.to_string())
        ));
    }
    s
}

/// The cores this process may use, asked once (two system calls each time
/// otherwise, for every history of a batch).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
