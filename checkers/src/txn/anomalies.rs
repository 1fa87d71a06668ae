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

pub struct Findings {
    pub counts: BTreeMap<&'static str, usize>,
    pub items: Vec<Finding>,
    cap: usize,
}

impl Findings {
    pub fn new(cap: usize) -> Findings {
        Findings {
            counts: BTreeMap::new(),
            items: Vec::new(),
            cap,
        }
    }

    /// Counts one more anomaly of `kind`; true if its details should be kept.
    pub fn want(&mut self, kind: &'static str) -> bool {
        let c = self.counts.entry(kind).or_insert(0);
        *c += 1;
        *c <= self.cap
    }

    pub fn push(&mut self, f: Finding) {
        self.items.push(f);
    }
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
