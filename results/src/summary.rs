//! `results.json`: what a run was, what happened in it, and what each
//! checker concluded. The schema is documented in `results/SCHEMA.md`.

use crate::stats::{self, OpStats};
use checkers::result::{Blame, Block, CheckerResult, Section};
use history::History;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or disappears (adding fields does not).
pub const SCHEMA_VERSION: u32 = 1;

/// A verdict as stored in `results.json`: the checkers' own [`Validity`]
/// (`"valid"`, `"invalid"`, `"unknown"`; invalid beats unknown beats valid).
pub use checkers::verdict::Validity as Verdict;

/// One checker's conclusion: what its result type says through
/// [`CheckerResult`] (verdict, reason, summary lines, blamed operations,
/// report section), computed once when the output is made, and the result
/// itself, verbatim, for people and tools that want every detail. The
/// report and JUnit are drawn from the first part only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckerOutput {
    /// A name for people: `linearizable`, `elle list-append`, `stats` ...
    pub name: String,
    /// What kind of result `result` is: `linearizable` (a `LinResult`),
    /// `txn` (a `TxnResult`), `set` ... `shakedown check RUN_DIR` uses it
    /// to check the history again the same way.
    pub kind: String,
    pub valid: Verdict,
    /// Why the verdict is unknown (or a short note), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long the check took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
    // Absent when empty, so that a results.json written before these
    // fields existed reads back and is rewritten byte for byte.
    /// A few lines in words, most important first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
    /// The operations the verdict rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blamed: Vec<Blame>,
    /// The checker's section of the report.
    #[serde(default, skip_serializing_if = "Section::is_empty")]
    pub section: Section,
    /// A few lines for a terminal after the summary: one example per kind
    /// of problem found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    #[serde(default)]
    pub result: serde_json::Value,
    /// Every anomaly found (for checkers that list them): written to the
    /// run directory's `anomalies.jsonl` by [`crate::write_run`], not to
    /// `results.json`, which keeps examples.
    #[serde(skip)]
    pub every_anomaly: Vec<checkers::result::AnomalyRecord>,
}

impl CheckerOutput {
    /// Any checker's result: the trait gives what the report shows, and
    /// the result is kept verbatim beside it.
    pub fn new<R: CheckerResult + Serialize + ?Sized>(
        name: impl Into<String>,
        kind: impl Into<String>,
        result: &R,
    ) -> CheckerOutput {
        let json = serde_json::to_value(result).unwrap_or_else(
            |e| serde_json::json!({ "error": format!("cannot encode result: {e}") }),
        );
        CheckerOutput {
            name: name.into(),
            kind: kind.into(),
            valid: result.valid(),
            reason: result.reason(),
            elapsed_ms: result.elapsed_ms(),
            summary: result.summary(),
            blamed: result.blamed(),
            section: result.section(),
            examples: result.examples(),
            result: json,
            every_anomaly: result.every_anomaly(),
        }
    }

    /// A linearizability result.
    pub fn linearizable(result: &checkers::linearizable::LinResult) -> CheckerOutput {
        CheckerOutput::new("linearizable", "linearizable", result)
    }

    /// A transactional (Elle-style) result; `name` says which workload,
    /// e.g. `elle list-append`.
    pub fn txn(name: impl Into<String>, result: &checkers::txn::TxnResult) -> CheckerOutput {
        CheckerOutput::new(name, "txn", result)
    }

    /// A checker that could not run at all (bad input, crashed): `unknown`.
    pub fn error(name: impl Into<String>, kind: impl Into<String>, error: &str) -> CheckerOutput {
        CheckerOutput {
            name: name.into(),
            kind: kind.into(),
            valid: Verdict::Unknown,
            reason: Some(error.to_string()),
            elapsed_ms: None,
            summary: Vec::new(),
            blamed: Vec::new(),
            section: Section::new(vec![Block::alert(error)]),
            examples: Vec::new(),
            result: serde_json::json!({ "valid": "unknown", "error": error }),
            every_anomaly: Vec::new(),
        }
    }
}

/// What a terminal shows of a checker's result, a few lines a CI log
/// reader can act on: the verdict, the summary (for transactions: the
/// anomalies with counts, the models ruled out, the models checked), the
/// reason for an unknown verdict, and one example per kind of problem.
/// Each line is indented by two spaces.
pub fn terminal_lines(c: &CheckerOutput) -> Vec<String> {
    let verdict = match c.valid {
        Verdict::Valid => "valid",
        Verdict::Invalid => "INVALID",
        Verdict::Unknown => "unknown",
    };
    let mut lines = vec![format!("  {}: {verdict}", c.name)];
    for l in &c.summary {
        lines.push(format!("    {l}"));
    }
    if let Some(r) = c.reason.as_ref().filter(|r| !c.summary.contains(r)) {
        lines.push(format!("    {r}"));
    }
    for l in &c.examples {
        lines.push(format!("    {l}"));
    }
    lines
}

/// What the caller knows about a run that the history does not say.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// The test's name (from the test file), e.g. `etcd-register`.
    pub test: String,
    /// The database under test, e.g. `etcd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Wall-clock start and end, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_unix_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix_ms: Option<u64>,
    /// Where the history came from, when it was not recorded by a run
    /// (`shakedown check --out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The run was cut short (Ctrl-C, SIGTERM, SIGHUP): clients stopped
    /// early, faults healed, recovery and final reads skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// What the online checkers found while the run went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<checkers::online::OnlineSummary>,
}

/// A fault the nemesis injected: a `start-*` / `stop-*` (or `kill` /
/// `start`, `pause` / `resume`, ...) pair of nemesis ops, or a start with
/// no stop (`end_*` absent: it lasted until the history ended).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// The family: `partition`, `kill`, `pause`, `clock`, ...
    pub name: String,
    pub start_f: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_f: Option<String>,
    /// History indexes of the first start op and the last stop op.
    pub start_index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_index: Option<u64>,
    /// Nanoseconds since the run started, when the ops have times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_ns: Option<u64>,
    /// The start op's value in EDN (e.g. the partition's grudge).
    pub value: String,
}

/// The whole of `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub shakedown_version: String,
    pub test: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default)]
    pub nodes: Vec<String>,
    /// RFC 3339 UTC wall-clock times, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_unix_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix_ms: Option<u64>,
    /// Wall-clock duration when known, else the span of the history's op times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The run was cut short (see [`RunInfo::interrupted`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Why the main phase ended before its time limit (`stop-on: invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
    /// What the online checkers found while the run went, and when the
    /// first anomaly was seen (`online.first`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<checkers::online::OnlineSummary>,
    /// The overall verdict: invalid beats unknown beats valid; unknown
    /// when no checker ran.
    pub valid: Verdict,
    pub checkers: Vec<CheckerOutput>,
    pub faults: Vec<Fault>,
    pub ops: OpStats,
}

impl RunSummary {
    /// Computes the summary of a run from its history and checker results.
    pub fn new(info: &RunInfo, history: &History, checkers: Vec<CheckerOutput>) -> RunSummary {
        let ops = stats::op_stats(history);
        let faults = stats::faults(history);
        let wall = match (info.start_unix_ms, info.end_unix_ms) {
            (Some(s), Some(e)) if e >= s => Some((e - s) as f64 / 1e3),
            _ => None,
        };
        let duration_s = wall.or(ops.time_span_ns.map(|ns| ns as f64 / 1e9));
        RunSummary {
            schema_version: SCHEMA_VERSION,
            shakedown_version: env!("CARGO_PKG_VERSION").to_string(),
            test: info.test.clone(),
            target: info.target.clone(),
            workload: info.workload.clone(),
            nodes: info.nodes.clone(),
            start_time: info.start_unix_ms.map(crate::time::rfc3339),
            end_time: info.end_unix_ms.map(crate::time::rfc3339),
            start_unix_ms: info.start_unix_ms,
            end_unix_ms: info.end_unix_ms,
            duration_s,
            source: info.source.clone(),
            interrupted: info.interrupted,
            stopped_early: info.online.as_ref().and_then(|o| o.stopped_early.clone()),
            online: info.online.clone().map(|mut o| {
                o.first = first_seen(&o, &faults, history);
                o
            }),
            valid: Verdict::all(checkers.iter().map(|c| c.valid)),
            checkers,
            faults,
            ops,
        }
    }

    /// The caller-supplied part, to rebuild the summary from a new history.
    pub fn info(&self) -> RunInfo {
        RunInfo {
            test: self.test.clone(),
            target: self.target.clone(),
            workload: self.workload.clone(),
            nodes: self.nodes.clone(),
            start_unix_ms: self.start_unix_ms,
            end_unix_ms: self.end_unix_ms,
            source: self.source.clone(),
            interrupted: self.interrupted,
            online: self.online.clone(),
        }
    }
}

/// A partition's grudge (node -> the nodes it drops) as its sides:
/// `n1 x {n2 n3}`. Nodes that drop the same set are one side; a node that
/// drops none is left out. `None` for anything else.
fn grudge_text(v: &history::Value) -> Option<String> {
    let history::Value::Map(entries) = v else {
        return None;
    };
    let mut sides: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (node, dropped) in entries {
        let node = node.as_str()?.to_string();
        let mut dropped: Vec<String> = dropped
            .as_list()?
            .iter()
            .map(|d| d.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        dropped.sort();
        match sides.iter_mut().find(|(_, d)| *d == dropped) {
            Some((nodes, _)) => nodes.push(node),
            None => sides.push((vec![node], dropped)),
        }
    }
    let shown: Vec<String> = sides
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(nodes, _)| match nodes.as_slice() {
            [one] => one.clone(),
            many => format!("{{{}}}", many.join(" ")),
        })
        .collect();
    (shown.len() >= 2).then(|| shown.join(" x "))
}

/// The first online anomaly placed in the run: `found at 00:23, 4 s after
/// partition {...} began` (or `..., no fault active`).
pub fn first_seen(
    online: &checkers::online::OnlineSummary,
    faults: &[Fault],
    history: &History,
) -> Option<checkers::online::FirstSeen> {
    use checkers::online::{ActiveFault, FirstSeen};
    let a = online.anomalies.first()?;
    let t = a.time_ns;
    let active: Vec<ActiveFault> = match t {
        Some(t) => faults
            .iter()
            .filter(|f| {
                f.start_time_ns.is_some_and(|s| s <= t) && f.end_time_ns.is_none_or(|e| e > t)
            })
            .map(|f| ActiveFault {
                name: f.name.clone(),
                value: history
                    .ops()
                    .get(f.start_index as usize)
                    .filter(|op| op.index == f.start_index)
                    .and_then(|op| grudge_text(&op.value))
                    .unwrap_or_else(|| f.value.clone()),
                since_s: (t - f.start_time_ns.unwrap_or(0)) as f64 / 1e9,
            })
            .collect(),
        None => Vec::new(),
    };
    let at = match t {
        Some(t) => {
            let s = t / 1_000_000_000;
            format!("found at {:02}:{:02}", s / 60, s % 60)
        }
        None => format!("found at op {}", a.index),
    };
    let context = if active.is_empty() {
        if t.is_some() {
            ", no fault active".to_string()
        } else {
            String::new()
        }
    } else {
        let each: Vec<String> = active
            .iter()
            .map(|f| {
                let v = if f.value == "nil" || f.value.is_empty() {
                    String::new()
                } else {
                    format!(" {}", f.value)
                };
                format!("{:.0} s after {}{v} began", f.since_s.floor(), f.name)
            })
            .collect();
        format!(", {}", each.join(", "))
    };
    Some(FirstSeen {
        checker: a.checker.clone(),
        index: a.index,
        time_s: t.map(|t| t as f64 / 1e9),
        faults: active,
        text: format!("{at}{context} ({}: {})", a.checker, a.what),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_beats_unknown_beats_valid() {
        use Verdict::*;
        assert_eq!(Verdict::all([Valid, Unknown, Valid]), Unknown);
        assert_eq!(Verdict::all([Valid, Unknown, Invalid]), Invalid);
        assert_eq!(Verdict::all([Valid, Valid]), Valid);
        assert_eq!(Verdict::all([]), Unknown);
    }

    #[test]
    fn checker_output_takes_what_the_result_type_says() {
        use checkers::result::Findings;
        let mut f = Findings::verdict(Verdict::Unknown, "nothing to check");
        f.reason = Some("budget".into());
        f.blamed = vec![Blame {
            index: 7,
            why: "stale read".into(),
        }];
        f.elapsed_ms = Some(2.5);
        let c = CheckerOutput::new("x", "other", &f);
        assert_eq!(
            (c.valid, c.reason.as_deref(), c.elapsed_ms),
            (Verdict::Unknown, Some("budget"), Some(2.5))
        );
        assert_eq!(c.summary, ["nothing to check"]);
        assert_eq!(c.blamed[0].index, 7);
        // The result itself is kept verbatim.
        assert_eq!(c.result["summary"][0], "nothing to check");
        let e = CheckerOutput::error("x", "error", "bad input");
        assert_eq!(e.valid, Verdict::Unknown);
        assert_eq!(e.section.texts(), ["bad input"]);
    }
}
