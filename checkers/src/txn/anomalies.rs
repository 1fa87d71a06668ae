//! Non-cycle anomalies as the analyses find them, counted per kind and
//! kept (with their explanation) up to a cap per kind.

use super::txns::{Elem, Names, Txns};
use history::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One anomaly found directly (not as a cycle).
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: &'static str,
    /// What kind of `kind` it is, when one name covers several: Elle's
    /// `internal` is a `non-repeatable-read` or an `own-write-not-seen`.
    pub form: Option<&'static str>,
    /// The txns involved (txn ids, not history indexes).
    pub txns: Vec<u32>,
    pub key: Option<u32>,
    pub value: Option<Elem>,
    pub explanation: String,
}

/// Of each kind, how many kept examples are spread over the run (the
/// earliest of each of this many equal stretches of the history), the rest
/// of the cap going to the earliest of all.
pub const SPREAD: usize = 8;

/// Which of a kind's anomalies to keep, given their orders (history
/// indexes): the `cap - SPREAD` earliest, and the earliest in each of
/// `SPREAD` equal stretches of `0..span`, so the examples start where the
/// anomalies start and still show how they went on. (With a cap under
/// `2 * SPREAD`, a quarter of it is spread.) Returns the positions kept.
pub fn pick(orders: &[u64], cap: usize, span: u64) -> Vec<usize> {
    if orders.len() <= cap {
        return (0..orders.len()).collect();
    }
    let spread = if cap >= 2 * SPREAD { SPREAD } else { cap / 4 };
    let mut by_order: Vec<usize> = (0..orders.len()).collect();
    by_order.sort_by_key(|&i| (orders[i], i));
    let mut keep: Vec<usize> = by_order[..cap - spread].to_vec();
    let mut stretch_seen = vec![false; spread];
    for &i in &by_order {
        if spread == 0 {
            break;
        }
        let b = stretch(orders[i], spread, span);
        if !stretch_seen[b] {
            stretch_seen[b] = true;
            if !keep.contains(&i) {
                keep.push(i);
            }
        }
    }
    keep.sort_unstable();
    keep
}

/// Which of `n` equal stretches of `0..span` the order falls in.
fn stretch(order: u64, n: usize, span: u64) -> usize {
    let span = span.max(1) as u128;
    ((order.min(span as u64 - 1) as u128 * n as u128 / span) as usize).min(n - 1)
}

/// One anomaly counted, kept compactly whether or not its details are: the
/// run directory's `anomalies.jsonl` lists every one.
#[derive(Clone, Copy, Debug)]
pub struct Counted {
    pub kind: &'static str,
    pub form: Option<&'static str>,
    pub key: Option<u32>,
    /// Its txns: a range of [`Findings::counted_txns`].
    txns: (u32, u32),
}

/// The anomalies found, counted per kind; of each kind `cap` are kept with
/// their explanation: the earliest, and a spread over the run (see
/// [`pick`]), whatever order the analyses find them in, so the examples do
/// not suggest the anomalies started late. Every anomaly counted is also
/// listed compactly ([`Findings::counted`]).
pub struct Findings {
    pub counts: BTreeMap<&'static str, usize>,
    /// Per kind, (order, finding) of those kept.
    kept: BTreeMap<&'static str, Vec<(u64, Finding)>>,
    counted: Vec<Counted>,
    counted_txns: Vec<u32>,
    cap: usize,
    /// One past the last history index: the run the spread is over.
    span: u64,
    /// The order given to the last [`Findings::want`] that said yes: the
    /// next [`Findings::push`] is that finding.
    next: u64,
}

impl Findings {
    pub fn new(cap: usize, span: u64) -> Findings {
        Findings {
            counts: BTreeMap::new(),
            kept: BTreeMap::new(),
            counted: Vec::new(),
            counted_txns: Vec::new(),
            cap,
            span,
            next: 0,
        }
    }

    /// Counts one more anomaly of `kind` (and `form`) naming `txns` (the
    /// first is the one it is about) on `key`; true if its details should
    /// be kept, when it is among the earliest of its kind or the earliest
    /// of its stretch of the run (the following [`Findings::push`] then
    /// keeps it, dropping one that no longer is).
    pub fn want(
        &mut self,
        t: &Txns,
        kind: &'static str,
        form: Option<&'static str>,
        txns: &[u32],
        key: Option<u32>,
    ) -> bool {
        *self.counts.entry(kind).or_insert(0) += 1;
        let from = self.counted_txns.len() as u32;
        self.counted_txns.extend_from_slice(txns);
        self.counted.push(Counted {
            kind,
            form,
            key,
            txns: (from, self.counted_txns.len() as u32),
        });
        let order = txns.iter().map(|&x| at(t, x)).min().unwrap_or(0);
        let kept = self.kept.get(kind).map_or(&[][..], |v| &v[..]);
        // What `pick` would say of the kept ones and this one, without
        // sorting for each of perhaps millions of anomalies: this one is
        // kept if fewer than `cap - spread` kept ones come before it, or
        // none of its stretch does.
        let keep = kept.len() < self.cap || {
            let spread = if self.cap >= 2 * SPREAD {
                SPREAD
            } else {
                self.cap / 4
            };
            let before = kept.iter().filter(|(o, _)| *o <= order).count();
            before < self.cap - spread
                || (spread > 0 && {
                    let b = stretch(order, spread, self.span);
                    !kept
                        .iter()
                        .any(|(o, _)| *o <= order && stretch(*o, spread, self.span) == b)
                })
        };
        if keep {
            self.next = order;
        }
        keep
    }

    /// Keeps the finding [`Findings::want`] just said yes to.
    pub fn push(&mut self, f: Finding) {
        let (cap, span) = (self.cap, self.span);
        let kept = self.kept.entry(f.kind).or_default();
        kept.push((self.next, f));
        if kept.len() > cap {
            let orders: Vec<u64> = kept.iter().map(|(o, _)| *o).collect();
            let keep = pick(&orders, cap, span);
            let mut i = 0;
            kept.retain(|_| {
                i += 1;
                keep.contains(&(i - 1))
            });
        }
    }

    /// The kept findings, earliest first.
    pub fn items(&self) -> Vec<&Finding> {
        let mut v: Vec<&(u64, Finding)> = self.kept.values().flatten().collect();
        v.sort_by_key(|(o, _)| *o);
        v.into_iter().map(|(_, f)| f).collect()
    }

    /// Every anomaly counted, in the order found.
    pub fn counted(&self) -> impl Iterator<Item = (&Counted, &[u32])> {
        self.counted
            .iter()
            .map(|c| (c, &self.counted_txns[c.txns.0 as usize..c.txns.1 as usize]))
    }
}

/// The history index of txn `txn`, the order findings are kept in.
pub fn at(t: &Txns, txn: u32) -> u64 {
    t.txns[txn as usize].index
}

/// "T12" for a txn id.
pub fn tname(t: &Txns, txn: u32) -> String {
    format!("T{}", t.txns[txn as usize].index)
}

/// A list of values in EDN notation: `[1 2 3]`.
pub fn show_list(items: &[Value]) -> String {
    let mut s = String::from("[");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{v}");
    }
    s.push(']');
    s
}

/// Long lists are abbreviated in explanations: `[1 2 ... 40 41]`.
pub fn show_list_short(items: &[Value]) -> String {
    if items.len() <= 12 {
        return show_list(items);
    }
    let mut s = show_list(&items[..4]);
    s.pop();
    let _ = write!(
        s,
        " ...{} more... {}",
        items.len() - 8,
        &show_list(&items[items.len() - 4..])[1..]
    );
    s
}

/// Like [`show_list_short`], for interned elements.
pub fn show_elems_short(names: &Names, items: &[Elem]) -> String {
    let show = |es: &[Elem]| {
        let shown: Vec<String> = es.iter().map(|&e| show_elem(names, e)).collect();
        shown.join(" ")
    };
    if items.len() <= 12 {
        return format!("[{}]", show(items));
    }
    format!(
        "[{} ...{} more... {}]",
        show(&items[..4]),
        items.len() - 8,
        show(&items[items.len() - 4..])
    )
}

pub fn show_elem(names: &Names, e: Elem) -> String {
    names.elem_value(e).to_string()
}

pub fn show_key(names: &Names, k: u32) -> String {
    plain(names.key_value(k))
}

/// Strings and keywords without quotes or colon (keys, micro-op names).
pub fn plain(v: &Value) -> String {
    match v.as_str() {
        Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => s.to_string(),
        _ => v.to_string(),
    }
}

/// A txn's micro-ops as `[append x 1] [r y [1 2]]`.
pub fn show_mops(ops: &Value) -> String {
    let Some(list) = ops.as_list() else {
        return ops.to_string();
    };
    let shown: Vec<String> = list
        .iter()
        .map(|m| match m.as_list() {
            Some(parts) => {
                let mut s = String::from("[");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    match (i, p.as_list()) {
                        (2, Some(items)) => s.push_str(&show_list_short(items)),
                        (0 | 1, _) => s.push_str(&plain(p)),
                        _ => s.push_str(&p.to_string()),
                    }
                }
                s.push(']');
                s
            }
            None => m.to_string(),
        })
        .collect();
    shown.join(" ")
}
