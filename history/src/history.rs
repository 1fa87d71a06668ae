//! A history: ops in order, each invocation paired with its completion.

use crate::op::{Op, OpType, Process};
use rustc_hash::FxHashMap;

const NONE: u32 = u32::MAX;

/// An invocation and its completion (if it has one), as positions in the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub invoke: usize,
    /// `None` when the history ends before the operation completed: its
    /// outcome is unknown, exactly as if it had completed with `info`.
    pub completion: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct History {
    ops: Vec<Op>,
    /// For each op, the position of its partner (invocation <-> completion).
    partner: Vec<u32>,
}

/// Builds a history op by op, checking the invocation/completion protocol
/// as it goes so a reader can name the line of the first violation.
#[derive(Default)]
pub struct HistoryBuilder {
    ops: Vec<Op>,
    partner: Vec<u32>,
    pending: FxHashMap<u64, u32>,
}

impl HistoryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an op. Client processes must alternate invoke / completion;
    /// named processes (the nemesis) log standalone events and are not paired.
    pub fn push(&mut self, op: Op) -> Result<(), String> {
        let pos = self.ops.len();
        if pos >= NONE as usize {
            return Err(format!("history too long: more than {} ops", NONE - 1));
        }
        let mut partner = NONE;
        if let Process::Client(p) = op.process {
            match (op.kind, self.pending.get(&p).copied()) {
                (OpType::Invoke, None) => {
                    self.pending.insert(p, pos as u32);
                }
                (OpType::Invoke, Some(open)) => {
                    let open = &self.ops[open as usize];
                    return Err(format!(
                        "process {p} invokes {:?} while its {:?} (index {}) has not completed",
                        op.f, open.f, open.index
                    ));
                }
                (_, None) => {
                    return Err(format!(
                        "process {p} completes {:?} ({}) without a pending invocation",
                        op.f, op.kind
                    ));
                }
                (_, Some(open)) => {
                    let inv = &self.ops[open as usize];
                    if inv.f != op.f {
                        return Err(format!(
                            "process {p} completes {:?} but invoked {:?} (index {})",
                            op.f, inv.f, inv.index
                        ));
                    }
                    self.pending.remove(&p);
                    self.partner[open as usize] = pos as u32;
                    partner = open;
                }
            }
        }
        self.ops.push(op);
        self.partner.push(partner);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn finish(self) -> History {
        History {
            ops: self.ops,
            partner: self.partner,
        }
    }
}

impl History {
    /// Builds a history from ops in order, checking that every client
    /// process alternates invocation and completion.
    pub fn new(ops: impl IntoIterator<Item = Op>) -> Result<History, String> {
        let mut b = HistoryBuilder::new();
        for (i, op) in ops.into_iter().enumerate() {
            b.push(op).map_err(|e| format!("op {i}: {e}"))?;
        }
        Ok(b.finish())
    }

    /// Like `new`, but first numbers the ops 0, 1, 2 ... (handy in tests).
    pub fn indexed(ops: impl IntoIterator<Item = Op>) -> Result<History, String> {
        History::new(
            ops.into_iter()
                .enumerate()
                .map(|(i, op)| op.with_index(i as u64)),
        )
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// The completion of the invocation at `pos`, or the invocation of the
    /// completion at `pos`.
    pub fn partner(&self, pos: usize) -> Option<usize> {
        match self.partner.get(pos) {
            Some(&p) if p != NONE => Some(p as usize),
            _ => None,
        }
    }

    /// Every client operation, in invocation order.
    pub fn calls(&self) -> impl Iterator<Item = Call> + '_ {
        self.ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.kind == OpType::Invoke && op.process.is_client())
            .map(move |(i, _)| Call {
                invoke: i,
                completion: self.partner(i),
            })
    }

    /// The interval an op occupies in history order: from its invocation to
    /// its completion, open-ended if it never completed or ended in `info`
    /// (it may take effect at any later time).
    pub fn interval(&self, pos: usize) -> (usize, usize) {
        let op = &self.ops[pos];
        let (inv, comp) = if op.kind == OpType::Invoke {
            (pos, self.partner(pos))
        } else {
            (self.partner(pos).unwrap_or(pos), Some(pos))
        };
        let end = match comp {
            Some(c) if self.ops[c].kind != OpType::Info => c,
            _ => usize::MAX,
        };
        (inv, end)
    }

    /// Two operations are concurrent when neither completed before the other
    /// was invoked.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        let (a0, a1) = self.interval(a);
        let (b0, b1) = self.interval(b);
        a0 < b1 && b0 < a1
    }
}
