//! What every checker's result tells the people reading it: its verdict,
//! the operations it blames, a few summary lines, and a report section.
//!
//! A result type implements [`CheckerResult`] once; `results` stores what
//! the trait returns beside the result itself in `results.json` and draws
//! the report and JUnit from that, never from the result's field names.
//! The section is plain data ([`Section`], a list of [`Block`]s: text,
//! facts, chips, lists, tables, a linearizability picture, a transactional
//! cycle), so a new checker gets a full report section by choosing blocks,
//! with no change to the report.

use crate::linearizable::Failure;
use crate::verdict::Validity;
use history::Value;
use serde::{Deserialize, Serialize};

/// A checker's result as people see it. Implemented by every checker's
/// result type (see the crate documentation for how a new one plugs in).
pub trait CheckerResult {
    fn valid(&self) -> Validity;
    /// Why the verdict is unknown (a budget ran out, nothing to check), or
    /// why the checker could not run.
    fn reason(&self) -> Option<String> {
        None
    }
    /// The history operations the verdict rests on, by history index, each
    /// with a few words on why: marked on the report's timeline.
    fn blamed(&self) -> Vec<Blame>;
    /// One to a few short lines, most important first: the report's checker
    /// table shows them on one line, JUnit as the failure's first lines.
    fn summary(&self) -> Vec<String>;
    /// The checker's part of the report.
    fn section(&self) -> Section;
    /// How long the check took, for JUnit's `time`.
    fn elapsed_ms(&self) -> Option<f64> {
        None
    }
    /// A few lines a terminal shows after the summary: one example per
    /// kind of problem found (the key, the op, what was lost). By default
    /// the first blamed operation, for a result that is not valid.
    /// Every anomaly found, one record each (`anomalies.jsonl`); empty for
    /// a checker that keeps only examples.
    fn every_anomaly(&self) -> Vec<AnomalyRecord> {
        Vec::new()
    }
    fn examples(&self) -> Vec<String> {
        if self.valid() == Validity::Valid {
            return Vec::new();
        }
        self.blamed()
            .first()
            .map(|b| vec![format!("e.g. op {}: {}", b.index, b.why)])
            .unwrap_or_default()
    }
}

/// One anomaly of however many a checker found: a line of the run
/// directory's `anomalies.jsonl`, which lists every one (the report and
/// `results.json` keep a few examples of each kind with their evidence).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRecord {
    /// `G-single`, `internal`, `lost-update` ...
    pub kind: String,
    /// Elle's name for it, where it differs (`G-single-item`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elle: Option<String>,
    /// Which form of `kind`, when one name covers several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// The history indexes of the operations it names (for transactions,
    /// each txn's completion), the one it is about first.
    pub ops: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// For a cycle: its edges' types in order (`ww`, `wr`, `rw`,
    /// `process`, `realtime`), the first from `ops[0]` to `ops[1]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<String>,
}

/// An operation a checker blames, by its history index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blame {
    pub index: u64,
    /// E.g. `cannot be linearized`, `G-single (T3)`, `stale read`.
    pub why: String,
}

/// A checker's section of the report: blocks drawn in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub blocks: Vec<Block>,
}

/// One piece of a section. Every variant is drawn by the report as it is;
/// text is always shown as text, never markup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Block {
    /// A paragraph in words; `alert` when it says what is wrong.
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        alert: bool,
    },
    /// Named numbers or short values, drawn as tiles.
    Facts { facts: Vec<Fact> },
    /// A labelled row of short tags (anomaly kinds, consistency models).
    /// `name` becomes a CSS class (`chips-<name>`) for tests and styles.
    Chips {
        name: String,
        label: String,
        items: Vec<String>,
        #[serde(default)]
        tone: Tone,
    },
    /// Values (as EDN text), some of `total`.
    List {
        title: String,
        items: Vec<String>,
        total: usize,
    },
    /// A table of text cells.
    Table {
        title: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A partition that is not linearizable: drawn as the calls around the
    /// blocked one, the longest linearizable prefix and the pending calls.
    Linearizability {
        model: String,
        failure: Box<Failure>,
    },
    /// A transactional anomaly: its transactions, and its cycle as a graph.
    Cycle(CycleAnomaly),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// How a row of chips reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tone {
    #[default]
    Neutral,
    /// Something found in the history (an anomaly kind).
    Finding,
    /// Ruled out by what was found (a consistency model), drawn struck out.
    RuledOut,
    /// Still holds (a consistency model not ruled out).
    Holds,
}

/// A transactional anomaly as the report draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleAnomaly {
    /// `G-single`, `G1a`, `internal` ...
    pub kind: String,
    pub explanation: String,
    /// Consistency models this anomaly rules out.
    pub ruled_out: Vec<String>,
    pub txns: Vec<CycleTxn>,
    /// The cycle's edges; empty for anomalies that are not cycles.
    pub cycle: Vec<CycleEdge>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleTxn {
    /// `T12`
    pub name: String,
    /// History index of the txn's completion (or invocation if none).
    pub index: u64,
    pub process: String,
    /// `ok`, `info` or `fail`.
    pub status: String,
    /// Its micro-ops.
    pub ops: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleEdge {
    pub from: String,
    pub to: String,
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub why: String,
}

impl Block {
    pub fn text(text: impl Into<String>) -> Block {
        Block::Text {
            text: text.into(),
            alert: false,
        }
    }

    pub fn alert(text: impl Into<String>) -> Block {
        Block::Text {
            text: text.into(),
            alert: true,
        }
    }

    /// A list of values shown as EDN, `total` of them in all.
    pub fn values(title: impl Into<String>, items: &[Value], total: usize) -> Block {
        Block::List {
            title: title.into(),
            items: items.iter().map(|v| v.to_string()).collect(),
            total,
        }
    }

    pub fn facts<L: Into<String>, V: ToString>(facts: impl IntoIterator<Item = (L, V)>) -> Block {
        Block::Facts {
            facts: facts
                .into_iter()
                .map(|(l, v)| Fact {
                    label: l.into(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }
}

impl Section {
    pub fn new(blocks: Vec<Block>) -> Section {
        Section { blocks }
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The section's words for plain-text outputs (JUnit): its paragraphs,
    /// failure explanations and anomaly explanations, in order.
    pub fn texts(&self) -> Vec<String> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, .. } => Some(text.clone()),
                Block::Linearizability { failure, .. } => Some(match &failure.key {
                    Some(k) => format!("key {k}: {}", failure.explanation),
                    None => failure.explanation.clone(),
                }),
                Block::Cycle(a) => Some(format!("{}: {}", a.kind, a.explanation)),
                _ => None,
            })
            .collect()
    }
}

/// A result given as its parts: for checkers simple enough to state their
/// findings directly, and for tests of what the report draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub valid: Validity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub summary: Vec<String>,
    #[serde(default)]
    pub blamed: Vec<Blame>,
    #[serde(default)]
    pub section: Section,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
}

impl Findings {
    /// Only a verdict and a line saying it.
    pub fn verdict(valid: Validity, summary: impl Into<String>) -> Findings {
        Findings {
            valid,
            summary: vec![summary.into()],
            ..Findings::default()
        }
    }
}

impl CheckerResult for Findings {
    fn valid(&self) -> Validity {
        self.valid
    }
    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }
    fn blamed(&self) -> Vec<Blame> {
        self.blamed.clone()
    }
    fn summary(&self) -> Vec<String> {
        self.summary.clone()
    }
    fn section(&self) -> Section {
        self.section.clone()
    }
    fn elapsed_ms(&self) -> Option<f64> {
        self.elapsed_ms
    }
}

/// [`CheckerResult`] for a result that states its verdict, reason, blamed
/// indices and summary lines as fields of those names (the simple
/// checkers: bank, counter, queue, unique-ids, long-fork). Its section is
/// the summary in words and the blamed operations; `what` names the
/// blame ("wrong total", "read out of bounds" ...).
#[macro_export]
macro_rules! simple_checker_result {
    ($ty:ty, $what:expr) => {
        impl $crate::result::CheckerResult for $ty {
            fn valid(&self) -> $crate::verdict::Validity {
                self.valid
            }
            fn reason(&self) -> Option<String> {
                self.reason.clone()
            }
            fn blamed(&self) -> Vec<$crate::result::Blame> {
                self.blamed
                    .iter()
                    .map(|&index| $crate::result::Blame {
                        index,
                        why: $what.to_string(),
                    })
                    .collect()
            }
            fn summary(&self) -> Vec<String> {
                self.summary.clone()
            }
            fn section(&self) -> $crate::result::Section {
                let alert = self.valid == $crate::verdict::Validity::Invalid;
                let mut blocks: Vec<$crate::result::Block> = self
                    .summary
                    .iter()
                    .map(|line| $crate::result::Block::Text {
                        text: line.clone(),
                        alert,
                    })
                    .collect();
                if !self.blamed.is_empty() {
                    blocks.push($crate::result::Block::List {
                        title: format!("{} (history indices)", $what),
                        items: self.blamed.iter().map(|i| i.to_string()).collect(),
                        total: self.blamed.len(),
                    });
                }
                $crate::result::Section { blocks }
            }
        }
    };
}
