//! A history: ops in order, each invocation paired with its completion.

use crate::op::{Op, OpType};
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
    pairing: Pairing<u32>,
}

/// The invocation/completion protocol, op by op, for readers that keep
/// the ops ([`HistoryBuilder`]) and for those that pass them on: client
/// processes must alternate invoke and completion, with the same `f`;
/// named processes (the nemesis) log standalone events. Each open
/// invocation carries the caller's `T` until its completion hands it back.
pub struct Pairing<T> {
    open: FxHashMap<u64, T>,
}

/// What an op is in the protocol.
pub enum Paired<T> {
    /// A client invocation, now open.
    Invoke,
    /// A client completion, with what its invocation carried.
    Completes(T),
    /// A named process's event: not paired.
    Event,
}

impl<T> Default for Pairing<T> {
    fn default() -> Self {
        Pairing {
            open: FxHashMap::default(),
        }
    }
}

impl<T> Pairing<T> {
    /// Takes an op of `process` (a client's number, `None` for a named
    /// process), `kind` and `f`; readers that build no [`Op`] pass its
    /// parts. An invocation keeps what `carry` makes open; `invoked` names
    /// an open invocation's `f` and index, for errors.
    pub fn push<'s>(
        &mut self,
        (process, kind, f): (Option<u64>, OpType, &str),
        carry: impl FnOnce() -> T,
        invoked: impl Fn(&T) -> (&'s str, u64),
    ) -> Result<Paired<T>, String> {
        let Some(p) = process else {
            return Ok(Paired::Event);
        };
        let open = self.open.get(&p);
        match (kind, open) {
            (OpType::Invoke, None) => {
                self.open.insert(p, carry());
                Ok(Paired::Invoke)
            }
            (OpType::Invoke, Some(open)) => {
                let (open_f, index) = invoked(open);
                Err(format!(
                    "process {p} invokes {f:?} while its {open_f:?} (index {index}) has not completed"
                ))
            }
            (_, None) => Err(format!(
                "process {p} completes {f:?} ({kind}) without a pending invocation"
            )),
            (_, Some(open)) => {
                let (open_f, index) = invoked(open);
                if open_f != f {
                    return Err(format!(
                        "process {p} completes {f:?} but invoked {open_f:?} (index {index})"
                    ));
                }
                Ok(Paired::Completes(self.open.remove(&p).expect("open")))
            }
        }
    }

    /// The invocations never completed, in no particular order.
    pub fn into_open(self) -> impl Iterator<Item = T> {
        self.open.into_values()
    }
}

/// Pairs `op`, the op at `pos` of a history whose earlier ops are `ops`:
/// returns its partner (`NONE` for an invocation or an event), and for a
/// completion records `pos` as its invocation's partner.
fn pair(
    pairing: &mut Pairing<u32>,
    ops: &[Op],
    partner: &mut [u32],
    op: &Op,
    pos: usize,
) -> Result<u32, String> {
    let invoked = |&open: &u32| {
        let inv = &ops[open as usize];
        (inv.f.as_str(), inv.index)
    };
    Ok(match pairing.push(op.parts(), || pos as u32, invoked)? {
        Paired::Invoke | Paired::Event => NONE,
        Paired::Completes(open) => {
            partner[open as usize] = pos as u32;
            open
        }
    })
}

impl HistoryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an op, checking the protocol ([`Pairing`]).
    pub fn push(&mut self, op: Op) -> Result<(), String> {
        let pos = self.ops.len();
        if pos >= NONE as usize {
            return Err(format!("history too long: more than {} ops", NONE - 1));
        }
        let partner = pair(&mut self.pairing, &self.ops, &mut self.partner, &op, pos)?;
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
        History::from_ops(ops.into_iter().collect())
    }

    /// [`History::new`] keeping `ops` where they are (no second copy of a
    /// large history while it is paired).
    pub fn from_ops(ops: Vec<Op>) -> Result<History, String> {
        if ops.len() >= NONE as usize {
            return Err(format!("history too long: more than {} ops", NONE - 1));
        }
        let mut pairing = Pairing::default();
        let mut partner = vec![NONE; ops.len()];
        for (pos, op) in ops.iter().enumerate() {
            partner[pos] = pair(&mut pairing, &ops, &mut partner, op, pos)
                .map_err(|e| format!("op {pos}: {e}"))?;
        }
        Ok(History { ops, partner })
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
