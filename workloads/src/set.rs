//! Set: clients add unique elements; at the end every node is read. The
//! checker looks for
//!
//! - **lost** elements: an add acknowledged (`ok`) but missing from a final
//!   read;
//! - **unexpected** elements: read but never added (or whose add failed);
//! - **stale** reads: a read (during the run) missing an element whose add
//!   had completed before the read began: fine for serializable reads, not
//!   for linearizable ones.
//!
//! Final reads are the successful reads invoked after every add had
//! completed. Adds of unknown outcome (`info`) may or may not show up; those
//! that do are counted as recovered.

use crate::ReadMode;
use checkers::result::{Blame, Block, Section};
use checkers::verdict::Validity;
use harness::run::{GenCtx, OpRequest, Rng};
use history::{History, OpType, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// One set per run, elements unique integers.
pub const OPS: &[crate::OpSpec] = &[
    crate::OpSpec {
        f: "add",
        keyed: false,
        request: "an integer, never added before",
        ok: "the request's value",
    },
    crate::OpSpec {
        f: "read",
        keyed: false,
        request: "null",
        ok: "every element in the set: a list of integers",
    },
];

#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "SetOptions")]
pub struct Options {
    /// Relative weight of reads of the whole set during the run (adds
    /// weigh 1); 0, the default, reads only at the end.
    pub reads: u32,
    /// How clients read.
    pub read: ReadMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reads: 0,
            read: ReadMode::Linearizable,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    pub fn checker(&self) -> CheckOptions {
        CheckOptions {
            allow_stale: self.read == ReadMode::Serializable,
        }
    }
}

/// Unique adds (0, 1, 2 ...), optional reads; one final read per node.
pub struct Gen {
    opts: Options,
    next: i64,
}

impl Gen {
    pub fn new(opts: Options) -> Gen {
        Gen { opts, next: 0 }
    }

    pub fn next(&mut self, _ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        if self.opts.reads > 0 && rng.weighted(&[1, self.opts.reads]) == 1 {
            return Some(OpRequest::new("read", Value::Nil));
        }
        let e = self.next;
        self.next += 1;
        Some(OpRequest::new("add", e))
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

#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Stale reads do not make the history invalid (serializable reads).
    pub allow_stale: bool,
}

/// Elements listed in evidence, per kind.
const MAX_LISTED: usize = 100;

#[derive(Clone, Debug, Serialize)]
pub struct StaleRead {
    /// History index of the read's invocation.
    pub read_index: u64,
    /// Elements acknowledged before the read began and missing from it
    /// (up to ten).
    pub missing: Vec<Value>,
    pub missing_count: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct SetResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Adds invoked / acknowledged / failed / of unknown outcome.
    pub attempted: usize,
    pub acknowledged: usize,
    pub failed: usize,
    pub unknown: usize,
    pub final_reads: usize,
    pub lost_count: usize,
    /// Up to 100, in order.
    pub lost: Vec<Value>,
    pub unexpected_count: usize,
    pub unexpected: Vec<Value>,
    pub stale_count: usize,
    pub stale: Vec<StaleRead>,
    /// Unknown-outcome adds present in the final reads.
    pub recovered: usize,
    pub explanation: String,
}

/// Checks a set history (`add e` and `read` -> list of elements).
pub fn check(history: &History, opts: &CheckOptions) -> SetResult {
    let ops = history.ops();
    let mut attempted: HashMap<Value, OpType> = HashMap::new();
    // Completion index of each acknowledged add.
    let mut acked_at: Vec<(usize, Value)> = Vec::new();
    let mut last_add = None;
    let mut reads: Vec<(usize, HashSet<Value>)> = Vec::new();
    for call in history.calls() {
        let inv = &ops[call.invoke];
        let done = call.completion.map(|c| &ops[c]);
        let kind = done.map_or(OpType::Info, |d| d.kind);
        match inv.f.as_str() {
            "add" => {
                attempted.insert(inv.value.clone(), kind);
                // A pending add (no completion) ends, for this purpose, at
                // its invocation: like an info, it may show up or not.
                let end = call.completion.unwrap_or(call.invoke);
                last_add = last_add.max(Some(end));
                if kind == OpType::Ok {
                    acked_at.push((call.completion.unwrap(), inv.value.clone()));
                }
            }
            "read" if kind == OpType::Ok => {
                let elements = done
                    .and_then(|d| d.value.as_list())
                    .map(|l| l.iter().cloned().collect())
                    .unwrap_or_default();
                reads.push((call.invoke, elements));
            }
            _ => {}
        }
    }
    acked_at.sort_by_key(|(i, _)| *i);
    let count = |k: OpType| attempted.values().filter(|&&v| v == k).count();
    let mut r = SetResult {
        valid: Validity::Valid,
        reason: None,
        attempted: attempted.len(),
        acknowledged: count(OpType::Ok),
        failed: count(OpType::Fail),
        unknown: count(OpType::Info),
        final_reads: 0,
        lost_count: 0,
        lost: Vec::new(),
        unexpected_count: 0,
        unexpected: Vec::new(),
        stale_count: 0,
        stale: Vec::new(),
        recovered: 0,
        explanation: String::new(),
    };

    let is_final = |invoke: usize| last_add.is_none_or(|l| invoke > l);
    let mut lost = BTreeSet::new();
    let mut unexpected = BTreeSet::new();
    let mut recovered = HashSet::new();
    for (invoke, elements) in &reads {
        for e in elements {
            match attempted.get(e) {
                None | Some(OpType::Fail) => {
                    unexpected.insert(e.clone());
                }
                Some(OpType::Info) if is_final(*invoke) => {
                    recovered.insert(e.clone());
                }
                _ => {}
            }
        }
        if is_final(*invoke) {
            r.final_reads += 1;
            for (_, e) in &acked_at {
                if !elements.contains(e) {
                    lost.insert(e.clone());
                }
            }
        } else {
            // Acknowledged before this read began, yet missing.
            let before = acked_at.partition_point(|(i, _)| *i < *invoke);
            let missing: Vec<&Value> = acked_at[..before]
                .iter()
                .map(|(_, e)| e)
                .filter(|e| !elements.contains(*e))
                .collect();
            if !missing.is_empty() {
                r.stale_count += 1;
                if r.stale.len() < MAX_LISTED {
                    r.stale.push(StaleRead {
                        read_index: ops[*invoke].index,
                        missing: missing.iter().take(10).map(|&e| e.clone()).collect(),
                        missing_count: missing.len(),
                    });
                }
            }
        }
    }
    r.recovered = recovered.len();
    r.lost_count = lost.len();
    r.lost = lost.into_iter().take(MAX_LISTED).collect();
    r.unexpected_count = unexpected.len();
    r.unexpected = unexpected.into_iter().take(MAX_LISTED).collect();

    let mut problems = Vec::new();
    if r.lost_count > 0 {
        problems.push(format!(
            "{} acknowledged elements are missing from the final reads (lost), e.g. {}",
            r.lost_count, r.lost[0]
        ));
    }
    if r.unexpected_count > 0 {
        problems.push(format!(
            "{} elements were read that no successful or pending add wrote (unexpected), e.g. {}",
            r.unexpected_count, r.unexpected[0]
        ));
    }
    if r.stale_count > 0 && !opts.allow_stale {
        problems.push(format!(
            "{} reads missed elements whose adds had completed before the read began (stale)",
            r.stale_count
        ));
    }
    if !problems.is_empty() {
        r.valid = Validity::Invalid;
        r.explanation = problems.join("; ");
    } else if !checkers::verdict::has_client_operation(history) {
        r.valid = Validity::Unknown;
        r.reason = Some(checkers::verdict::NO_CLIENT_OPERATION.into());
        r.explanation = r.reason.clone().unwrap();
    } else if r.attempted == 0 {
        r.valid = Validity::Unknown;
        r.reason = Some("no add in the history: nothing could be lost".into());
        r.explanation = r.reason.clone().unwrap();
    } else if r.final_reads == 0 {
        r.valid = Validity::Unknown;
        r.reason = Some("no successful read after the last add: nothing to compare with".into());
        r.explanation = r.reason.clone().unwrap();
    } else {
        r.explanation = format!(
            "all {} acknowledged elements are in each of {} final reads ({} of {} unknown adds recovered){}",
            r.acknowledged,
            r.final_reads,
            r.recovered,
            r.unknown,
            if r.stale_count > 0 {
                format!("; {} stale reads allowed (serializable reads)", r.stale_count)
            } else {
                String::new()
            }
        );
    }
    r
}

impl checkers::CheckerResult for SetResult {
    fn valid(&self) -> Validity {
        self.valid
    }

    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }

    /// The stale reads, when they count against the history (with
    /// serializable reads they are allowed and blame nothing).
    fn blamed(&self) -> Vec<Blame> {
        if self.valid == Validity::Valid {
            return Vec::new();
        }
        self.stale
            .iter()
            .map(|s| Blame {
                index: s.read_index,
                why: format!(
                    "stale read: missed {} acknowledged element(s)",
                    s.missing_count
                ),
            })
            .collect()
    }

    fn summary(&self) -> Vec<String> {
        vec![self.explanation.clone()]
    }

    fn section(&self) -> Section {
        let mut blocks = vec![
            if self.valid == Validity::Valid {
                Block::text(self.explanation.clone())
            } else {
                Block::alert(self.explanation.clone())
            },
            Block::facts([
                ("adds attempted", self.attempted),
                ("acknowledged", self.acknowledged),
                ("failed", self.failed),
                ("unknown", self.unknown),
                ("final reads", self.final_reads),
                ("unknown adds recovered", self.recovered),
            ]),
        ];
        if self.lost_count > 0 {
            blocks.push(Block::values("lost", &self.lost, self.lost_count));
        }
        if self.unexpected_count > 0 {
            blocks.push(Block::values(
                "unexpected",
                &self.unexpected,
                self.unexpected_count,
            ));
        }
        if self.stale_count > 0 {
            blocks.push(Block::Table {
                title: format!("stale reads ({} of {})", self.stale.len(), self.stale_count),
                columns: vec!["read (history index)".into(), "missing".into()],
                rows: self
                    .stale
                    .iter()
                    .map(|s| {
                        let missing: Vec<String> =
                            s.missing.iter().map(|v| v.to_string()).collect();
                        vec![
                            s.read_index.to_string(),
                            format!("{} ({} in all)", missing.join(" "), s.missing_count),
                        ]
                    })
                    .collect(),
            });
        }
        Section::new(blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Op;

    fn read(p: u64, elements: &[i64]) -> [Op; 2] {
        [
            Op::invoke(p, "read", Value::Nil),
            Op::ok(
                p,
                "read",
                elements.iter().map(|&e| Value::Int(e)).collect::<Vec<_>>(),
            ),
        ]
    }

    fn h(ops: Vec<Op>) -> History {
        History::indexed(ops).unwrap()
    }

    #[test]
    fn everything_acknowledged_is_read_back() {
        let mut ops = vec![
            Op::invoke(0, "add", 1),
            Op::invoke(1, "add", 2),
            Op::ok(0, "add", 1),
            Op::info(1, "add", 2),
            Op::invoke(0, "add", 3),
            Op::fail(0, "add", 3),
        ];
        ops.extend(read(0, &[1, 2]));
        ops.extend(read(3, &[1]));
        let r = check(&h(ops), &CheckOptions::default());
        assert_eq!(r.valid, Validity::Valid, "{}", r.explanation);
        assert_eq!(
            (r.attempted, r.acknowledged, r.failed, r.unknown),
            (3, 1, 1, 1)
        );
        assert_eq!((r.final_reads, r.recovered), (2, 1));
    }

    #[test]
    fn lost_and_unexpected_elements_are_invalid() {
        let mut ops = vec![
            Op::invoke(0, "add", 1),
            Op::ok(0, "add", 1),
            Op::invoke(0, "add", 2),
            Op::ok(0, "add", 2),
            Op::invoke(0, "add", 3),
            Op::fail(0, "add", 3),
        ];
        ops.extend(read(0, &[1, 2]));
        ops.extend(read(1, &[2, 3, 9]));
        let r = check(&h(ops), &CheckOptions::default());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.lost, vec![Value::Int(1)]);
        assert_eq!(r.unexpected, vec![Value::Int(3), Value::Int(9)]);
        assert!(r.explanation.contains("lost"), "{}", r.explanation);
    }

    #[test]
    fn stale_reads_depend_on_the_read_mode() {
        let mut ops = vec![Op::invoke(0, "add", 1), Op::ok(0, "add", 1)];
        ops.extend(read(1, &[])); // stale: 1 was acknowledged before
        ops.push(Op::invoke(1, "add", 2)); // keeps the read above non-final
        ops.push(Op::ok(1, "add", 2));
        ops.extend(read(0, &[1, 2]));
        let history = h(ops);
        let strict = check(&history, &CheckOptions { allow_stale: false });
        assert_eq!(strict.valid, Validity::Invalid);
        assert_eq!(strict.stale_count, 1);
        assert_eq!(strict.stale[0].missing, vec![Value::Int(1)]);
        assert_eq!(strict.stale[0].read_index, 2);
        let relaxed = check(&history, &CheckOptions { allow_stale: true });
        assert_eq!(relaxed.valid, Validity::Valid, "{}", relaxed.explanation);

        // As the report sees it: the stale read is blamed and tabled when it
        // counts, and blames nothing when serializable reads allow it.
        use checkers::CheckerResult;
        let blamed = strict.blamed();
        assert_eq!(blamed.len(), 1);
        assert_eq!(blamed[0].index, 2);
        assert!(blamed[0].why.starts_with("stale read"), "{}", blamed[0].why);
        assert_eq!(strict.summary(), vec![strict.explanation.clone()]);
        let section = strict.section();
        assert!(matches!(
            &section.blocks[0],
            Block::Text { alert: true, .. }
        ));
        assert!(section.blocks.iter().any(|b| matches!(b,
            Block::Table { title, rows, .. } if title == "stale reads (1 of 1)" && rows[0][0] == "2")));
        assert!(relaxed.blamed().is_empty());
    }

    #[test]
    fn a_concurrent_add_is_not_stale_and_no_final_read_is_unknown() {
        // The read overlaps the add: missing it is fine.
        let ops = vec![
            Op::invoke(0, "add", 1),
            Op::invoke(1, "read", Value::Nil),
            Op::ok(0, "add", 1),
            Op::ok(1, "read", Vec::<i64>::new()),
            Op::invoke(0, "add", 2),
            Op::info(0, "add", 2),
        ];
        let r = check(&h(ops), &CheckOptions::default());
        assert_eq!(r.stale_count, 0);
        assert_eq!(r.valid, Validity::Unknown);
        assert_eq!(r.final_reads, 0);
    }

    #[test]
    fn a_history_that_tested_nothing_is_unknown_not_valid() {
        let nemesis_only = vec![Op::new(
            OpType::Info,
            history::Process::nemesis(),
            "start-partition",
            Value::Nil,
        )];
        for (ops, reason) in [
            (Vec::new(), "no client operation in the history"),
            (nemesis_only, "no client operation in the history"),
            (
                read(0, &[]).to_vec(),
                "no add in the history: nothing could be lost",
            ),
        ] {
            let r = check(&h(ops), &CheckOptions::default());
            assert_eq!(r.valid, Validity::Unknown);
            assert_eq!(r.reason.as_deref(), Some(reason));
        }
    }

    #[test]
    fn final_reads_on_every_node() {
        let mut g = Gen::new(Options::default());
        let ctx = |worker| GenCtx {
            worker,
            process: worker as u64,
            node: worker % 3,
            nodes: 3,
            concurrency: 5,
            elapsed: std::time::Duration::ZERO,
        };
        let finals: usize = (0..5).map(|w| g.final_ops(&ctx(w)).len()).sum();
        assert_eq!(finals, 3);
        let mut rng = Rng::seed(0);
        let adds: Vec<_> = (0..3)
            .map(|_| g.next(&ctx(0), &mut rng).unwrap().value)
            .collect();
        assert_eq!(adds, vec![Value::Int(0), Value::Int(1), Value::Int(2)]);
    }
}
