//! Unique ids: every id a generator hands out must be distinct (Jepsen's
//! unique-ids checker).
//!
//! Operations (`f`, invocation value -> completion value):
//!
//! - `generate nil -> 17`: a fresh id (any value: integer, string, list).

use crate::verdict::Validity;
use history::{History, OpType, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// An id handed out more than once.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub id: Value,
    pub count: usize,
    /// History indices of the completions that returned it (up to 10).
    pub indices: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UniqueIdsResult {
    pub valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub attempted_count: usize,
    pub acknowledged_count: usize,
    /// Ids returned more than once.
    pub duplicated_count: usize,
    /// Up to 100, the most repeated first.
    pub duplicated: Vec<Duplicate>,
    /// The lowest and highest id returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(Value, Value)>,
    /// History indices of the completions that repeated an earlier id (up
    /// to 100).
    pub blamed: Vec<u64>,
    pub summary: Vec<String>,
}

const MAX_LISTED: usize = 100;

pub fn check(history: &History) -> UniqueIdsResult {
    let ops = history.ops();
    let mut attempted = 0;
    // How often each id was returned; the indices are collected only for
    // the duplicates, in a second pass.
    let mut seen: FxHashMap<&Value, u32> = FxHashMap::default();
    let mut acknowledged = 0;
    let mut range: Option<(&Value, &Value)> = None;
    for call in history.calls() {
        if ops[call.invoke].f != "generate" {
            continue;
        }
        attempted += 1;
        let Some(done) = call.completion.map(|c| &ops[c]) else {
            continue;
        };
        if done.kind != OpType::Ok {
            continue;
        }
        acknowledged += 1;
        let id = &done.value;
        *seen.entry(id).or_default() += 1;
        range = Some(match range {
            None => (id, id),
            Some((lo, hi)) => (lo.min(id), hi.max(id)),
        });
    }
    let mut repeated: FxHashMap<&Value, Vec<u64>> = seen
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(id, _)| (id, Vec::new()))
        .collect();
    if !repeated.is_empty() {
        for call in history.calls() {
            let Some(done) = call.completion.map(|c| &ops[c]) else {
                continue;
            };
            if ops[call.invoke].f == "generate" && done.kind == OpType::Ok {
                if let Some(at) = repeated.get_mut(&done.value) {
                    at.push(done.index);
                }
            }
        }
    }
    let mut dups: Vec<Duplicate> = repeated
        .into_iter()
        .map(|(id, at)| Duplicate {
            id: id.clone(),
            count: at.len(),
            indices: at,
        })
        .collect();
    dups.sort_by(|a, b| b.count.cmp(&a.count).then(a.indices.cmp(&b.indices)));
    let mut blamed: Vec<u64> = dups.iter().flat_map(|d| d.indices[1..].to_vec()).collect();
    blamed.sort_unstable();
    blamed.truncate(MAX_LISTED);
    let duplicated_count = dups.len();
    dups.truncate(MAX_LISTED);
    for d in &mut dups {
        d.indices.truncate(10);
    }

    let mut summary = vec![format!(
        "{attempted} ids requested, {acknowledged} returned{}",
        range.map_or(String::new(), |(lo, hi)| format!(", from {lo} to {hi}"))
    )];
    let (valid, reason) = if duplicated_count > 0 {
        let d = &dups[0];
        summary.push(format!(
            "{duplicated_count} ids were returned more than once, e.g. {} {} times (indices {:?})",
            d.id, d.count, d.indices
        ));
        (Validity::Invalid, None)
    } else if acknowledged == 0 {
        let reason = "no id was returned: nothing was tested".to_string();
        summary.push(reason.clone());
        (Validity::Unknown, Some(reason))
    } else {
        summary.push("every id returned is distinct".into());
        (Validity::Valid, None)
    };
    UniqueIdsResult {
        valid,
        reason,
        attempted_count: attempted,
        acknowledged_count: acknowledged,
        duplicated_count,
        duplicated: dups,
        range: range.map(|(lo, hi)| (lo.clone(), hi.clone())),
        blamed,
        summary,
    }
}
crate::simple_checker_result!(UniqueIdsResult, "duplicate id");
