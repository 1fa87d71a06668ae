//! Plain-words explanations of dependency edges and cycles, re-derived on
//! demand from the analyses (edges carry no justification of their own, so
//! the graph stays small).

use super::anomalies::{show_elem, show_elems_short, show_key, tname};
use super::graph::{type_name, PROCESS, REALTIME, RW, WR, WW};
use super::list_append::{is_external, ListInfo, DUPLICATE, UNOBSERVED};
use super::rw_register::RegInfo;
use super::txns::{Elem, Mop, MopKind, Txns, NIL};
use super::Fetched;

/// What the explanations can consult.
pub enum Analysis {
    List(ListInfo),
    Register(RegInfo),
}

/// One justified step of a cycle.
pub struct Why {
    pub key: Option<u32>,
    pub value: Option<Elem>,
    pub text: String,
}

pub fn why(ops: &Fetched, t: &Txns, an: &Analysis, a: u32, b: u32, ty: u8) -> Why {
    let (ta, tb) = (tname(t, a), tname(t, b));
    let found = match (ty, an) {
        (PROCESS, _) => {
            let p = t.txns[a as usize].process;
            Some(Why {
                key: None,
                value: None,
                text: format!("{ta} and {tb} ran on process {p}, {ta} first, so {ta} precedes {tb} (process)."),
            })
        }
        (REALTIME, _) => {
            let x = &t.txns[a as usize];
            let done = x.completion().map_or(0, |_| x.index);
            let inv = ops.get(&t.txns[b as usize].invoke).map_or(0, |op| op.index);
            Some(Why {
                key: None,
                value: None,
                text: format!(
                    "{ta} completed (op {done}) before {tb} was invoked (op {inv}), so {ta} precedes {tb} (realtime)."
                ),
            })
        }
        (_, Analysis::List(info)) => list_why(t, info, a, b, ty),
        (_, Analysis::Register(info)) => reg_why(t, info, a, b, ty),
    };
    found.unwrap_or_else(|| Why {
        key: None,
        value: None,
        text: format!("{ta} precedes {tb} ({}).", type_name(ty)),
    })
}

fn appends(t: &Txns, txn: u32) -> impl Iterator<Item = (u32, &Mop)> + '_ {
    let r = t.txns[txn as usize].mops();
    let start = r.start as u32;
    t.mops[r]
        .iter()
        .enumerate()
        .map(move |(i, m)| (start + i as u32, m))
}

fn list_why(t: &Txns, info: &ListInfo, a: u32, b: u32, ty: u8) -> Option<Why> {
    let (ta, tb) = (tname(t, a), tname(t, b));
    let pos = |mop: u32| Some(info.mop_pos[mop as usize]).filter(|&p| p != DUPLICATE);
    match ty {
        WW => {
            // The closest pair of appends a -> b on some key.
            let mut best: Option<(u32, u32, Elem, Elem, u32)> = None;
            for (i, x) in appends(t, a).filter(|(_, m)| m.kind == MopKind::Append) {
                for (j, y) in
                    appends(t, b).filter(|(_, m)| m.kind == MopKind::Append && m.key == x.key)
                {
                    let (Some(px), Some(py)) = (pos(i), pos(j)) else {
                        continue;
                    };
                    if px != UNOBSERVED && px < py {
                        let gap = py.saturating_sub(px);
                        if best.is_none_or(|bst| gap < bst.4) {
                            best = Some((x.key, py, x.val, y.val, gap));
                        }
                    }
                }
            }
            let (k, py, x, y, _) = best?;
            let (ks, xs, ys) = (
                show_key(&t.names, k),
                show_elem(&t.names, x),
                show_elem(&t.names, y),
            );
            let text = if py == UNOBSERVED {
                format!(
                    "{ta} appended {xs} to {ks}; {tb} appended {ys} to {ks}, which no read of {ks} shows although reads show {xs}, so {ys} came later: {ta} precedes {tb} (ww)."
                )
            } else {
                let longest = info.longest[k as usize];
                let lt = tname(t, t.mop_txn[longest as usize]);
                let list = t.list(&t.mops[longest as usize]);
                format!(
                    "{ta} appended {xs} to {ks} and {tb} appended {ys}; {lt} read {ks} = {}, where {xs} comes before {ys}, so {ta} precedes {tb} (ww).",
                    show_elems_short(&t.names, list)
                )
            };
            Some(Why {
                key: Some(k),
                value: Some(y),
                text,
            })
        }
        WR => {
            for (i, m) in appends(t, b) {
                if (m.kind, m.known) != (MopKind::Read, true) {
                    continue;
                }
                let list = t.list(m);
                let Some(&e) = list.last() else { continue };
                if !is_external(t, i) {
                    continue;
                }
                let w = info.writer(t, m.key, e)?;
                if t.mop_txn[w.mop as usize] == a {
                    let ks = show_key(&t.names, m.key);
                    let last = show_elem(&t.names, e);
                    return Some(Why {
                        key: Some(m.key),
                        value: Some(e),
                        text: format!(
                            "{ta} appended {last} to {ks}; {tb} read {ks} = {}, which ends with {last}, so {ta} precedes {tb} (wr).",
                            show_elems_short(&t.names, list)
                        ),
                    });
                }
            }
            None
        }
        RW => {
            for (i, m) in appends(t, a) {
                if (m.kind, m.known) != (MopKind::Read, true) {
                    continue;
                }
                let list = t.list(m);
                if !is_external(t, i) || info.incompatible.contains(&i) {
                    continue;
                }
                let len = list.len() as u32;
                let ks = show_key(&t.names, m.key);
                for (j, y) in
                    appends(t, b).filter(|(_, y)| y.kind == MopKind::Append && y.key == m.key)
                {
                    let Some(py) = pos(j) else {
                        continue;
                    };
                    let ys = show_elem(&t.names, y.val);
                    let shown = show_elems_short(&t.names, list);
                    if py == len {
                        return Some(Why {
                            key: Some(m.key),
                            value: Some(y.val),
                            text: format!(
                                "{ta} read {ks} = {shown}, which does not include {ys}; {tb} appended {ys}, the next element of {ks}, so {ta} read a version before {tb}'s write: {ta} precedes {tb} (rw)."
                            ),
                        });
                    }
                    if py == UNOBSERVED && len == info.order_len(t, m.key) {
                        return Some(Why {
                            key: Some(m.key),
                            value: Some(y.val),
                            text: format!(
                                "{ta} read {ks} = {shown}, which does not include {ys}; {tb} appended {ys} to {ks} and committed, and no read ever shows {ys}, so it came after every version read: {ta} precedes {tb} (rw)."
                            ),
                        });
                    }
                }
            }
            None
        }
        _ => None,
    }
}

fn reg_why(t: &Txns, info: &RegInfo, a: u32, b: u32, ty: u8) -> Option<Why> {
    let (ta, tb) = (tname(t, a), tname(t, b));
    let ops = |txn: u32| {
        t.mops[t.txns[txn as usize].mops()]
            .iter()
            .enumerate()
            .map(move |(i, m)| (t.txns[txn as usize].start + i as u32, m))
    };
    let writes = |txn: u32| ops(txn).filter(|(_, m)| m.kind == MopKind::Write);
    match ty {
        WR => {
            for (i, m) in ops(b) {
                if m.kind == MopKind::Read && m.known && m.val != NIL && is_external(t, i) {
                    if let Some(&w) = info.writers.get(&(m.key, m.val)) {
                        if t.mop_txn[w as usize] == a {
                            let (ks, vs) = (show_key(&t.names, m.key), show_elem(&t.names, m.val));
                            return Some(Why {
                                key: Some(m.key),
                                value: Some(m.val),
                                text: format!("{ta} wrote {ks} = {vs}; {tb} read {ks} = {vs}, so {ta} precedes {tb} (wr)."),
                            });
                        }
                    }
                }
            }
            None
        }
        WW => {
            for (_, x) in writes(a) {
                for (_, y) in writes(b) {
                    if x.key == y.key && info.versions.contains(&(x.key, x.val, y.val)) {
                        let ks = show_key(&t.names, x.key);
                        return Some(Why {
                            key: Some(x.key),
                            value: Some(y.val),
                            text: format!(
                                "{ta} wrote {ks} = {} and {tb} wrote {ks} = {}, a later version (by the assumed per-key order), so {ta} precedes {tb} (ww).",
                                show_elem(&t.names, x.val), show_elem(&t.names, y.val)
                            ),
                        });
                    }
                }
            }
            None
        }
        RW => {
            for (i, m) in ops(a) {
                if m.kind != MopKind::Read || !m.known || !is_external(t, i) {
                    continue;
                }
                for (_, y) in writes(b).filter(|(_, y)| y.key == m.key) {
                    let ks = show_key(&t.names, m.key);
                    let ys = show_elem(&t.names, y.val);
                    if m.val == NIL {
                        return Some(Why {
                            key: Some(m.key),
                            value: Some(y.val),
                            text: format!(
                                "{ta} read {ks} = nil, the initial version; {tb} wrote {ks} = {ys}, necessarily a later version, so {ta} precedes {tb} (rw)."
                            ),
                        });
                    }
                    if info.versions.contains(&(m.key, m.val, y.val)) {
                        return Some(Why {
                            key: Some(m.key),
                            value: Some(y.val),
                            text: format!(
                                "{ta} read {ks} = {}; {tb} wrote {ks} = {ys}, a later version (by the assumed per-key order), so {ta} precedes {tb} (rw).",
                                show_elem(&t.names, m.val)
                            ),
                        });
                    }
                }
            }
            None
        }
        _ => None,
    }
}
