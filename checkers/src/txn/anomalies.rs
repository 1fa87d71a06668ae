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

/// The anomalies found, counted per kind; of each kind the `cap` earliest
/// (by the history index of the first txn they name) are kept, whatever
/// order the analyses find them in, so examples do not suggest the
/// anomalies started late.
pub struct Findings {
    pub counts: BTreeMap<&'static str, usize>,
    /// (order, finding), in the order kept.
    items: Vec<(u64, Finding)>,
    cap: usize,
    /// The order given to the last [`Findings::want`] that said yes: the
    /// next [`Findings::push`] is that finding.
    next: u64,
}

impl Findings {
    pub fn new(cap: usize) -> Findings {
        Findings {
            counts: BTreeMap::new(),
            items: Vec::new(),
            cap,
            next: 0,
        }
    }

    /// Counts one more anomaly of `kind`, at `order` (the history index of
    /// its first txn); true if its details should be kept: fewer than
    /// `cap` of the kind are, or it is earlier than the latest kept one
    /// (which the following [`Findings::push`] then replaces).
    pub fn want(&mut self, kind: &'static str, order: u64) -> bool {
        let c = self.counts.entry(kind).or_insert(0);
        *c += 1;
        let keep = *c <= self.cap || self.latest(kind).is_some_and(|i| order < self.items[i].0);
        if keep {
            self.next = order;
        }
        keep
    }

    /// The kept finding of `kind` latest in the history, by position.
    fn latest(&self, kind: &str) -> Option<usize> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, (_, f))| f.kind == kind)
            .max_by_key(|(_, (o, _))| *o)
            .map(|(i, _)| i)
    }

    /// Keeps the finding [`Findings::want`] just said yes to.
    pub fn push(&mut self, f: Finding) {
        let kept = self.items.iter().filter(|(_, x)| x.kind == f.kind).count();
        if kept >= self.cap {
            if let Some(i) = self.latest(f.kind) {
                self.items.swap_remove(i);
            }
        }
        self.items.push((self.next, f));
    }

    /// The kept findings, earliest first.
    pub fn items(&self) -> Vec<&Finding> {
        let mut v: Vec<&(u64, Finding)> = self.items.iter().collect();
        v.sort_by_key(|(o, _)| *o);
        v.into_iter().map(|(_, f)| f).collect()
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
