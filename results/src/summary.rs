//! `results.json`: what a run was, what happened in it, and what each
//! checker concluded. The schema is documented in `results/SCHEMA.md`.

use crate::stats::{self, OpStats};
use history::History;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or disappears (adding fields does not).
pub const SCHEMA_VERSION: u32 = 1;

/// A verdict as stored in `results.json`: the checkers' own [`Validity`]
/// (`"valid"`, `"invalid"`, `"unknown"`; invalid beats unknown beats valid).
pub use checkers::verdict::Validity as Verdict;

/// One checker's conclusion. `result` is the checker's own result object,
/// verbatim (for `linearizable` a `LinResult`, for `txn` a `TxnResult`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckerOutput {
    /// A name for people: `linearizable`, `elle list-append`, `stats` ...
    pub name: String,
    /// What kind of result `result` is, which decides how the report
    /// draws it: `linearizable`, `txn`, or anything else (shown as JSON).
    pub kind: String,
    pub valid: Verdict,
    /// Why the verdict is unknown (or a short note), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub result: serde_json::Value,
}

impl CheckerOutput {
    /// Wraps any serializable checker result; its `valid` field (if any)
    /// gives the verdict, its `reason` field the reason.
    pub fn new(
        name: impl Into<String>,
        kind: impl Into<String>,
        result: &impl Serialize,
    ) -> CheckerOutput {
        let result = serde_json::to_value(result).unwrap_or_else(
            |e| serde_json::json!({ "valid": "unknown", "reason": format!("cannot encode result: {e}") }),
        );
        let valid = result
            .get("valid")
            .and_then(Verdict::from_json)
            .unwrap_or(Verdict::Unknown);
        let reason = result
            .get("reason")
            .and_then(|r| r.as_str())
            .map(str::to_string);
        CheckerOutput {
            name: name.into(),
            kind: kind.into(),
            valid,
            reason,
            result,
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
            result: serde_json::json!({ "valid": "unknown", "error": error }),
        }
    }
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
        }
    }
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
    fn checker_output_reads_the_verdict_of_any_result() {
        let c = CheckerOutput::new("x", "other", &serde_json::json!({"valid": false}));
        assert_eq!(c.valid, Verdict::Invalid);
        let c = CheckerOutput::new(
            "x",
            "other",
            &serde_json::json!({"valid": "unknown", "reason": "budget"}),
        );
        assert_eq!(
            (c.valid, c.reason.as_deref()),
            (Verdict::Unknown, Some("budget"))
        );
        let c = CheckerOutput::new("x", "other", &serde_json::json!({}));
        assert_eq!(c.valid, Verdict::Unknown);
    }
}
