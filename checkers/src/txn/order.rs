//! Process order and real-time order between txns, with O(n) edges (never
//! all O(n^2) pairs): a txn gets an edge from the previous txn of its
//! process, and real time goes through a chain of time points (below).

use super::graph::{Edge, PROCESS, REALTIME};
use super::txns::{Status, Txns};
use rustc_hash::FxHashMap;

/// Process edges: from each ok txn to the next txn of its process. Failed
/// txns are not in the graph; an info txn may take effect at any later
/// time, so it precedes nothing (in Jepsen it ends its process anyway).
pub fn process_edges(t: &Txns, edges: &mut Vec<Edge>) {
    let mut last_ok: FxHashMap<u64, u32> = FxHashMap::default();
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.status == Status::Fail {
            continue;
        }
        if let Some(&prev) = last_ok.get(&txn.process) {
            edges.push(Edge {
                from: prev,
                to: i as u32,
                ty: PROCESS,
            });
        }
        if txn.status == Status::Ok {
            last_ok.insert(txn.process, i as u32);
        }
    }
}

/// Real-time edges: `a` precedes `b` when `a` completed (ok) before `b`
/// was invoked. Instead of the O(n * concurrency) edges of the reduced
/// interval order, real time goes through a chain of *time points*
/// (virtual vertices numbered from `first_virtual`): each invocation that
/// follows some completions starts a new time point, every txn completed
/// since the previous one points to it, each time point points to the
/// next, and every invocation hangs off the latest time point. Then `a`
/// reaches `b` through time points exactly when `a` completed before `b`
/// was invoked, with about three edges per txn. Cycles are reported with
/// each run of time points collapsed into one realtime edge.
///
/// Returns the number of time points created.
pub fn realtime_edges(t: &Txns, first_virtual: u32, edges: &mut Vec<Edge>) -> u32 {
    // Events in history order: invocations and ok completions.
    let mut at: Vec<(u32, u32, bool)> = Vec::with_capacity(t.txns.len() * 2);
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.status == Status::Fail {
            continue;
        }
        at.push((txn.invoke, i as u32, false));
        if let (Status::Ok, Some(c)) = (txn.status, txn.completion()) {
            at.push((c, i as u32, true));
        }
    }
    at.sort_unstable_by_key(|e| e.0);
    let mut completed: Vec<u32> = Vec::new();
    let mut current: Option<u32> = None;
    let mut count = 0u32;
    for (_, txn, done) in at {
        if done {
            completed.push(txn);
            continue;
        }
        if !completed.is_empty() {
            let point = first_virtual + count;
            count += 1;
            for p in completed.drain(..) {
                edges.push(Edge {
                    from: p,
                    to: point,
                    ty: REALTIME,
                });
            }
            if let Some(c) = current {
                edges.push(Edge {
                    from: c,
                    to: point,
                    ty: REALTIME,
                });
            }
            current = Some(point);
        }
        if let Some(c) = current {
            edges.push(Edge {
                from: c,
                to: txn,
                ty: REALTIME,
            });
        }
    }
    count
}
